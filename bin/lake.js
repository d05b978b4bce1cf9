#!/usr/bin/env node
// Entry point: loads the compiled CLI. Only this file calls process.exit.
import { main } from '../dist/src/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err && err.stack ? err.stack : String(err)); process.exitCode = 2; },
);
