/**
 * `npm run bench`: runs every benchmark in dist/bench/ (each `bench/<name>.ts`, compiled), one
 * after the other in its own process, then prints a summary. A benchmark prints its figures as
 * JSON on stdout (the last JSON value printed is its result; details go to stderr); the summary
 * shows, for each, its wall time, whether it exited cleanly, and the figures that say how it did:
 * every `ratio`, `goal` and `ok` field, and the other top-level numbers.
 *
 *   node dist/bench/run.js                 # all of them
 *   node dist/bench/run.js compile dq      # some of them, by name
 *   node dist/bench/run.js --list          # what would run
 *
 * Writes the collected results to bench/out/results.json (git-ignored; --out FILE to change).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Files in dist/bench/ that are not benchmarks (this runner, helpers loaded by benchmarks). */
const NOT_BENCHMARKS = new Set(['run', 'rss-probe']);

/** Benchmarks that exist, by name, in a stable order (the quick ones first). */
export function benchmarks(dir = here): string[] {
  const order = ['compile', 'run-overhead'];
  const names = fs.readdirSync(dir)
    .filter((f) => f.endsWith('.js') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .filter((n) => !NOT_BENCHMARKS.has(n));
  return names.sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || a.localeCompare(b);
  });
}

/** The last JSON object printed on `stdout` (one line, or a pretty-printed block at the end). */
export function lastJson(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.startsWith('{')) continue;
    for (const candidate of [line, lines.slice(i).join('\n')]) {
      try {
        const v = JSON.parse(candidate) as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      } catch { /* not this one */ }
    }
  }
  return undefined;
}

/** `key=value` pairs worth showing: ratios, goals and verdicts wherever they are, then plain numbers. */
export function highlights(result: Record<string, unknown>): string[] {
  const out: string[] = [];
  const visit = (v: unknown, prefix: string, depth: number) => {
    if (!v || typeof v !== 'object' || Array.isArray(v) || depth > 2) return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (/(^|_)(ratio|goal|ok)$|^ratio/.test(k) && (typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean')) out.push(`${key}=${String(x)}`);
      else if (x && typeof x === 'object' && !Array.isArray(x)) visit(x, key, depth + 1);
    }
  };
  visit(result, '', 0);
  if (out.length === 0) {
    for (const [k, x] of Object.entries(result)) if (typeof x === 'number') out.push(`${k}=${x}`);
  }
  return out;
}

interface Outcome {
  readonly name: string;
  readonly code: number | null;
  readonly wallMs: number;
  readonly result?: Record<string, unknown>;
  readonly tail: string;
}

function runOne(name: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(here, `${name}.js`)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      process.stdout.write(d);
    });
    child.on('close', (code) => {
      const tail = stdout.trim().split('\n').slice(-1)[0] ?? '';
      resolve({ name, code, wallMs: performance.now() - t0, result: lastJson(stdout), tail });
    });
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const outIdx = argv.indexOf('--out');
  const outFile = outIdx >= 0 ? argv[outIdx + 1]! : path.resolve(here, '..', '..', 'bench', 'out', 'results.json');
  const wanted = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--out');
  const all = benchmarks();
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}; there are: ${all.join(', ')}`);
    return 2;
  }
  const names = wanted.length ? wanted : all;
  if (argv.includes('--list')) {
    console.log(names.join('\n'));
    return 0;
  }
  const outcomes: Outcome[] = [];
  for (const name of names) {
    console.error(`\n=== bench ${name} (${new Date().toISOString()}) ===`);
    outcomes.push(await runOne(name));
  }
  console.log('\n=== summary ===');
  for (const o of outcomes) {
    const status = o.code === 0 ? 'ok   ' : `FAIL(${o.code})`;
    const figures = o.result ? highlights(o.result).join('  ') : o.tail;
    console.log(`${o.name.padEnd(14)} ${status} ${(o.wallMs / 1000).toFixed(1).padStart(6)} s  ${figures}`);
  }
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify({ at: new Date().toISOString(), node: process.version, results: outcomes.map((o) => ({ name: o.name, exit: o.code, wall_ms: Math.round(o.wallMs), result: o.result ?? null })) }, null, 2)}\n`);
  console.log(`(results in ${outFile})`);
  return outcomes.every((o) => o.code === 0) ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    console.error((e as Error).stack ?? String(e));
    process.exitCode = 1;
  });
}
