#!/usr/bin/env node
/**
 * Command line of the landing-zone generator:
 *   npm run generate -- --users N --days D --seed S --out DIR [--arrivals K] [--follow]
 * Exit codes: 0 done (or stopped by SIGINT/SIGTERM in --follow), 2 bad arguments or output folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_START_DATE, LandingGenerator } from './generator.js';
import type { ArrivalInfo } from './generator.js';

const USAGE = `usage: npm run generate -- --users N --days D --seed S --out DIR [options]

  --users N          number of users (required)
  --days D           number of simulated days (required)
  --seed S           random seed; the same seed gives the same files (required)
  --out DIR          landing-zone folder; batch/ and stream/ are written in it (required)
  --arrivals K       split the days into K arrival batches (default 1)
  --start-date DATE  first simulated day, YYYY-MM-DD UTC (default ${DEFAULT_START_DATE})
  --follow           after the K arrivals, write one more arrival (one simulated hour) every second until Ctrl-C
  --clean            delete DIR/batch and DIR/stream first
  --help             show this help`;

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

function wholeNumber(name: string, text: string | undefined): number {
  if (text === undefined) throw new Error(`--${name} is required`);
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`--${name} must be a whole number of at least 1 (got "${text}")`);
  return Number(text);
}

function describe(info: ArrivalInfo): string {
  return `arrival ${info.index}: ${info.lines} lines in ${info.files.length} files`;
}

/** Runs the generator CLI with the given arguments; resolves to the exit code. */
export async function runGenerateCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let gen: LandingGenerator;
  let follow = false;
  let out = '';
  // Usage helps with a wrong command line, not with a folder that is in the way.
  let showUsage = true;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        users: { type: 'string' },
        days: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        arrivals: { type: 'string' },
        'start-date': { type: 'string' },
        follow: { type: 'boolean', default: false },
        clean: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (values.seed === undefined || values.seed === '') throw new Error('--seed is required');
    if (values.out === undefined || values.out === '') throw new Error('--out is required');
    out = values.out;
    follow = values.follow === true;
    const users = wholeNumber('users', values.users);
    const days = wholeNumber('days', values.days);
    const arrivals = values.arrivals === undefined ? 1 : wholeNumber('arrivals', values.arrivals);
    showUsage = false;
    if (values.clean) {
      for (const sub of ['batch', 'stream']) fs.rmSync(path.join(out, sub), { recursive: true, force: true });
    }
    gen = new LandingGenerator({ users, days, seed: values.seed, out, arrivals, startDate: values['start-date'] });
  } catch (e) {
    io.err(`generate: ${(e as Error).message}`);
    if (showUsage) io.err(USAGE);
    return 2;
  }

  let total = 0;
  for (let k = 0; k < gen.arrivals; k++) {
    const info = gen.writeArrival(k);
    total += info.lines;
    io.out(describe(info));
  }
  io.out(`wrote ${total} lines to ${out}`);
  if (!follow) return 0;

  io.out('following: one new arrival every second (one simulated hour each); Ctrl-C to stop');
  return new Promise<number>((resolve) => {
    const timer = setInterval(() => {
      const info = gen.writeArrival(gen.next);
      total += info.lines;
      io.out(describe(info));
    }, 1000);
    const stop = (): void => {
      clearInterval(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.out(`stopped after arrival ${gen.next - 1}: ${total} lines in ${out}`);
      resolve(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href) {
  runGenerateCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`generate: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
