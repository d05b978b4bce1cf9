/**
 * Ingestion benchmark (issue 3): 1,000,000 Kafka envelope records in 100 JSON-lines files,
 * ingested by lake into a bronze model (declared columns, bad-record checking on: quarantine,
 * envelope dedupe, ledger), against the same bytes loaded by one bare DuckDB
 * `INSERT ... SELECT * FROM read_json(...)` in the same process. Then 1% more files (one file of
 * 10,000 records) and lake's incremental run.
 *
 * Timed (wall clock, and CPU time of the process — steadier on a shared machine), median of
 * --runs (default 3), each on a fresh database file, after one warm-up of each:
 *  - lake full: Session.open + `lake run` (runAvailableNow) in this process — discovery, ledger,
 *    reading, checks, dedupe, the model's insert, quarantine, ledger and offsets, commit;
 *  - bare: `insert into t select * from read_json('<dir>/*.jsonl')` into a table created empty
 *    beforehand (autocommit), then CHECKPOINT (lake's run ends by closing the database, which
 *    checkpoints; without it the bare load would not be on disk yet);
 *  - lake incremental: after a full run, one new file, `lake run` again;
 *  - the same two as whole processes (`node bin/lake.js run`, wall time of the child: Node's start,
 *    loading lake and DuckDB, the run, closing the database), in the same rounds (`process`).
 *
 * `node dist/bench/ingest.js [--records 1000000] [--files 100] [--runs 3] [--value object|string] [--keep]`
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Session } from '../src/app/session.js';
import { runAvailableNow } from '../src/app/continuous.js';
import { MemoryReporter } from '../src/reporter/reporters.js';
import { DuckDBAdapter } from '../src/adapter/duckdb/adapter.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const RECORDS = Number(arg('records', '1000000'));
const FILES = Number(arg('files', '100'));
const RUNS = Number(arg('runs', '3'));
const VALUE = arg('value', 'object');
const KEEP = process.argv.includes('--keep');
const PER = Math.ceil(RECORDS / FILES);
const T0 = Date.UTC(2024, 0, 1);
const LAKE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'lake.js');

function envelopeFile(file: number): string {
  const lines: string[] = [];
  for (let i = 0; i < PER; i++) {
    const n = file * PER + i;
    const v = { device_id: n % 1000, time: new Date(T0 + n * 1000).toISOString(), heartrate: 60 + (n % 80) + 0.5, user_id: `u${n % 5000}` };
    lines.push(JSON.stringify({ key: String(n % 1000), value: VALUE === 'string' ? JSON.stringify(v) : v, topic: 'bpm', partition: n % 4, offset: Math.floor(n / 4), timestamp: T0 + n * 1000 }));
  }
  return `${lines.join('\n')}\n`;
}

function writeLanding(dir: string, file: number): void {
  const f = path.join(dir, 'landing/bpm', `part-${String(file).padStart(5, '0')}.jsonl`);
  fs.writeFileSync(f, envelopeFile(file));
  const t = new Date(T0 + file * 1000);
  fs.utimesSync(f, t, t);
}

function project(dir: string): void {
  fs.mkdirSync(path.join(dir, 'landing/bpm'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'models/bronze'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'project.yml'), 'name: bench_ingest\ntargets:\n  dev: { type: duckdb, path: target/lake.duckdb, threads: 2 }\n');
  fs.writeFileSync(path.join(dir, 'models/bronze/sources.yml'), `sources:
  - name: kafka
    landing: landing
    format: kafka
    tables:
      - name: bpm
        files: bpm/*.jsonl
        columns: { device_id: BIGINT, time: TIMESTAMP, heartrate: DOUBLE, user_id: VARCHAR }
        bad_records: quarantine
        schema_evolution: add_new_columns
`);
  fs.writeFileSync(path.join(dir, 'models/bronze/bpm.sql'), `{{ config(materialized='incremental') }}\nselect * from {{ source('kafka', 'bpm') }}\n`);
  for (let f = 0; f < FILES; f++) writeLanding(dir, f);
}

function freshDb(dir: string): void {
  fs.rmSync(path.join(dir, 'target'), { recursive: true, force: true });
}

/** CPU time of this process (all DuckDB threads included), ms: steadier than wall time on a shared machine. */
function cpuMs(since?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

async function lakeRun(dir: string): Promise<{ ms: number; cpu: number; modelMs: number; rows: number; files: number; bad: number }> {
  const t = performance.now();
  const u = process.cpuUsage();
  const s = Session.open({ projectDir: dir });
  const out = await runAvailableNow(s, new MemoryReporter(), { threads: 2 });
  const ms = performance.now() - t;
  const cpu = cpuMs(u);
  const r = out.results.find((x) => x.id === 'bronze.bpm');
  if (!r || r.status !== 'success') throw new Error(`lake run failed: ${r?.error}`);
  return { ms, cpu, modelMs: r.durationMs, rows: r.rows ?? 0, files: Number(r.stats?.files ?? 0), bad: Number(r.stats?.bad_records ?? 0) };
}

/** `lake run` as a child process: its wall time, from spawn to exit. */
function lakeProcess(dir: string): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [LAKE_BIN, 'run', '--project-dir', dir, '--threads', '2'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`lake run (process) failed: ${r.stdout}\n${r.stderr}`);
  return ms;
}

async function bare(dir: string): Promise<{ ms: number; cpu: number; insertMs: number; insertCpu: number }> {
  const file = path.join(dir, 'bare.duckdb');
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.wal`, { force: true });
  const db = await DuckDBAdapter.open(file);
  try {
    const glob = `${path.join(dir, 'landing/bpm')}/*.jsonl`;
    await db.execute(`create table t as select * from read_json('${glob}') limit 0`);
    const t = performance.now();
    const u = process.cpuUsage();
    await db.execute(`insert into t select * from read_json('${glob}')`);
    const insertMs = performance.now() - t;
    const insertCpu = cpuMs(u);
    // Written to the database file, as lake's run is when it closes the database.
    await db.execute('checkpoint');
    return { ms: performance.now() - t, cpu: cpuMs(u), insertMs, insertCpu };
  } finally {
    await db.close();
    fs.rmSync(file, { force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-bench-ingest-'));
  const tGen = performance.now();
  project(dir);
  const genMs = performance.now() - tGen;
  const load = os.loadavg()[0]!;
  try {
    // Warm-up: file cache, DuckDB's first-query costs.
    await bare(dir);
    freshDb(dir);
    await lakeRun(dir);
    lakeProcess(dir);
    const lakeMs: number[] = [];
    const procFull: number[] = [];
    const procInc: number[] = [];
    const bareMs: number[] = [];
    const incMs: number[] = [];
    const lakeCpu: number[] = [];
    const bareCpu: number[] = [];
    const insertMs: number[] = [];
    const insertCpu: number[] = [];
    const modelFull: number[] = [];
    const modelInc: number[] = [];
    const incCpu: number[] = [];
    let rows = 0;
    let bad = 0;
    for (let i = 0; i < RUNS; i++) {
      const b0 = await bare(dir);
      bareMs.push(b0.ms);
      bareCpu.push(b0.cpu);
      insertMs.push(b0.insertMs);
      insertCpu.push(b0.insertCpu);
      freshDb(dir);
      const full = await lakeRun(dir);
      lakeMs.push(full.ms);
      lakeCpu.push(full.cpu);
      modelFull.push(full.modelMs);
      rows = full.rows;
      bad = full.bad;
      // 1% more files, then the incremental run.
      writeLanding(dir, FILES + i);
      const inc = await lakeRun(dir);
      if (inc.files !== 1) throw new Error(`the incremental run read ${inc.files} files, not 1`);
      incMs.push(inc.ms);
      incCpu.push(inc.cpu);
      modelInc.push(inc.modelMs);
      fs.rmSync(path.join(dir, 'landing/bpm', `part-${String(FILES + i).padStart(5, '0')}.jsonl`));
      // The same two as whole processes.
      freshDb(dir);
      procFull.push(lakeProcess(dir));
      writeLanding(dir, FILES + i);
      procInc.push(lakeProcess(dir));
      fs.rmSync(path.join(dir, 'landing/bpm', `part-${String(FILES + i).padStart(5, '0')}.jsonl`));
    }
    const lake = median(lakeMs);
    const b = median(bareMs);
    const inc = median(incMs);
    console.log(JSON.stringify({
      bench: 'ingest', records: RECORDS, files: FILES, value: VALUE, rows, bad_records: bad, runs: RUNS,
      lake_full_ms: Math.round(lake), bare_read_json_ms: Math.round(b), ratio: Number((lake / b).toFixed(2)),
      lake_incremental_ms: Math.round(inc), incremental_share: Number((inc / lake).toFixed(3)),
      // The bronze model's own build (its transaction, ingestion included), without the run around it.
      model_full_ms: Math.round(median(modelFull)), model_incremental_ms: Math.round(median(modelInc)),
      model_incremental_share: Number((median(modelInc) / median(modelFull)).toFixed(3)),
      bare_without_checkpoint_ms: Math.round(median(insertMs)), ratio_without_checkpoint: Number((lake / median(insertMs)).toFixed(2)),
      cpu: {
        lake_full_ms: Math.round(median(lakeCpu)), bare_ms: Math.round(median(bareCpu)), ratio: Number((median(lakeCpu) / median(bareCpu)).toFixed(2)),
        bare_without_checkpoint_ms: Math.round(median(insertCpu)), ratio_without_checkpoint: Number((median(lakeCpu) / median(insertCpu)).toFixed(2)),
        lake_incremental_ms: Math.round(median(incCpu)), incremental_share: Number((median(incCpu) / median(lakeCpu)).toFixed(3)),
      },
      process: {
        lake_full_ms: Math.round(median(procFull)), lake_incremental_ms: Math.round(median(procInc)),
        incremental_share: Number((median(procInc) / median(procFull)).toFixed(3)),
        all: { full: procFull.map(Math.round), incremental: procInc.map(Math.round) },
      },
      goal: { ratio: 1.5, incremental_share: 0.05 },
      ok: lake / b <= 1.5 && inc / lake <= 0.05,
      all: { lake: lakeMs.map(Math.round), bare: bareMs.map(Math.round), bare_without_checkpoint: insertMs.map(Math.round), incremental: incMs.map(Math.round) },
      generate_ms: Math.round(genMs), load_1min: Number(load.toFixed(1)), node: process.version,
    }));
  } finally {
    if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
