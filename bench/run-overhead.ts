/**
 * Per-model run overhead (issue 2): `lake run` of a generated project of N trivial views (default
 * 500; chains of ten, each view reading the one before) against the same compiled statements
 * (`create schema if not exists` + `create or replace view ... as <compiled SQL>`, in graph order)
 * executed directly through @duckdb/node-api by one script. Both run in fresh processes on fresh
 * database files; median wall time of --runs (default 3) each, interleaved. The ratio lake /
 * direct is lake's cost per model (planning, transactions, state rows, reporting) on top of the
 * engine's. Goal: at most 1.2. Also reported: the same script with all statements in one
 * transaction (`ratio_vs_one_tx`), the floor for a run that commits once.
 *
 * `node dist/bench/run-overhead.js [--models 500] [--runs 3] [--threads 4] [--keep]`
 * Prints one JSON line of figures on stdout (details on stderr).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const lakeBin = path.join(repoRoot, 'bin', 'lake.js');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** N trivial view models in chains of ten (model i reads model i-1 unless i is a multiple of ten). */
export function writeViewsProject(dir: string, n: number, threads: number): void {
  fs.mkdirSync(path.join(dir, 'models', 'silver'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'project.yml'), `name: overhead\ntargets:\n  dev: { type: duckdb, path: target/lake.duckdb, threads: ${threads} }\nmodels:\n  materialized: view\n`);
  for (let i = 0; i < n; i++) {
    const name = `v_${String(i).padStart(4, '0')}`;
    const body = i % 10 === 0 ? `select ${i} as id, 'x' as label` : `select id + 1 as id, label from {{ ref('v_${String(i - 1).padStart(4, '0')}') }}`;
    fs.writeFileSync(path.join(dir, 'models', 'silver', `${name}.sql`), `${body}\n`);
  }
}

/** The direct baseline: one script, one connection, the same statements in graph order. */
const DIRECT_SCRIPT = `
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(path.join(repoRoot, 'package.json'))});
const { DuckDBInstance } = require('@duckdb/node-api');
const [dbFile, stmtFile, mode] = process.argv.slice(2);
const statements = JSON.parse(fs.readFileSync(stmtFile, 'utf8'));
const instance = await DuckDBInstance.create(dbFile);
const conn = await instance.connect();
if (mode === 'tx') await conn.run('begin transaction');
for (const sql of statements) await conn.run(sql);
if (mode === 'tx') await conn.run('commit');
conn.closeSync();
instance.closeSync();
`;

function timed(args: string[], cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return ms;
}

async function main(): Promise<void> {
  const n = Number(arg('models', '500'));
  const runs = Number(arg('runs', '3'));
  const threads = Number(arg('threads', '4'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-bench-overhead-'));
  try {
    writeViewsProject(dir, n, threads);
    // The statements lake runs for these views, from its own compile (so both sides run the same SQL).
    const c = spawnSync(process.execPath, [lakeBin, 'compile'], { cwd: dir, encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`lake compile failed: ${c.stderr}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'target', 'manifest.json'), 'utf8')) as { nodes: Record<string, { compiled_sql: string; schema: string; alias: string }> };
    const ids = Object.keys(manifest.nodes).sort();
    const statements = ['create schema if not exists "silver"', ...ids.map((id) => {
      const node = manifest.nodes[id]!;
      return `create or replace view "${node.schema}"."${node.alias}" as\n${node.compiled_sql}`;
    })];
    const stmtFile = path.join(dir, 'statements.json');
    fs.writeFileSync(stmtFile, JSON.stringify(statements));
    const script = path.join(dir, 'direct.mjs');
    fs.writeFileSync(script, DIRECT_SCRIPT);

    const lakeMs: number[] = [];
    const directMs: number[] = [];
    const directTxMs: number[] = [];
    // One untimed round of each warms the OS caches (binary, node_modules).
    for (let k = -1; k < runs; k++) {
      fs.rmSync(path.join(dir, 'target', 'lake.duckdb'), { force: true });
      fs.rmSync(path.join(dir, 'target', 'lake.duckdb.wal'), { force: true });
      for (const f of ['direct.duckdb', 'direct.duckdb.wal', 'direct-tx.duckdb', 'direct-tx.duckdb.wal']) fs.rmSync(path.join(dir, f), { force: true });
      const l = timed([lakeBin, 'run'], dir);
      const d = timed([script, path.join(dir, 'direct.duckdb'), stmtFile, 'each'], dir);
      const dt = timed([script, path.join(dir, 'direct-tx.duckdb'), stmtFile, 'tx'], dir);
      if (k >= 0) { lakeMs.push(l); directMs.push(d); directTxMs.push(dt); }
    }
    // What a process costs before any model: `lake --version` and an empty DuckDB script.
    const lake = median(lakeMs);
    const direct = median(directMs);
    const directTx = median(directTxMs);
    const result = {
      bench: 'run-overhead', models: n, threads, runs,
      lake_ms: Math.round(lake), direct_ms: Math.round(direct), ratio: +(lake / direct).toFixed(2),
      lake_per_model_ms: +((lake - direct) / n).toFixed(2),
      // The same script with every statement in one transaction (one commit): the engine's floor.
      direct_one_tx_ms: Math.round(directTx), ratio_vs_one_tx: +(lake / directTx).toFixed(2),
      goal: 'ratio <= 1.2', ok: lake / direct <= 1.2,
      lake_runs_ms: lakeMs.map(Math.round), direct_runs_ms: directMs.map(Math.round), direct_one_tx_runs_ms: directTxMs.map(Math.round),
      load: +os.loadavg()[0]!.toFixed(1),
    };
    console.error(`run overhead, ${n} views: lake run ${result.lake_ms} ms, direct ${result.direct_ms} ms, ratio ${result.ratio} (${result.lake_per_model_ms} ms per model on top); direct in one transaction ${result.direct_one_tx_ms} ms, ratio ${result.ratio_vs_one_tx}`);
    console.log(JSON.stringify(result));
  } finally {
    if (process.argv.includes('--keep')) console.error(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error((e as Error).stack ?? String(e));
    process.exitCode = 1;
  });
}
