/**
 * `lake run` as a user runs it, in child processes: killed with SIGKILL at random moments during
 * ingestion and merges (a normal run afterwards must give exactly the tables of an uninterrupted
 * run), and `lake run --continuous` picking up files as they land and stopping cleanly on a signal.
 *
 * The CLI is compiled into a folder of this run's own under test-artifacts/ (not dist/, which
 * others rebuild while they work; not a shared folder, which a second test run compiling at the
 * same time would rewrite under this one's feet) and started through a copy of bin/lake.js.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { plain, jsonl, envelopes } from './helpers.js';
import { randomStream } from '../../tools/generate/prng.js';

const ROOT = path.resolve(__dirname, '../..');
// Inside the repository, so the compiled code finds node_modules.
const OUT = path.join(ROOT, 'test-artifacts', `ingest-cli-${process.pid}`);
const BIN = path.join(OUT, 'bin/lake.js');

beforeAll(() => {
  fs.mkdirSync(path.join(OUT, 'bin'), { recursive: true });
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', path.join(OUT, 'dist')], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    // Type errors in files others are editing still emit JavaScript; a missing CLI fails below.
  }
  fs.copyFileSync(path.join(ROOT, 'bin/lake.js'), BIN);
  expect(fs.existsSync(path.join(OUT, 'dist/src/cli/main.js'))).toBe(true);
}, 180_000);

afterAll(() => {
  fs.rmSync(OUT, { recursive: true, force: true });
});

function writeFile(dir: string, rel: string, text: string, mtime?: Date): void {
  const f = path.join(dir, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  if (mtime) fs.utimesSync(f, mtime, mtime);
}

const T0 = Date.UTC(2024, 0, 1);

/** bronze (kafka, 2 files per trigger) → silver merge + silver append via stream() → gold table. */
function crashProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-crash-'));
  writeFile(dir, 'project.yml', 'name: crash\ntargets:\n  dev: { type: duckdb, path: target/lake.duckdb, threads: 2 }\n');
  writeFile(dir, 'models/sources.yml', 'sources:\n  - name: kafka\n    landing: landing\n    format: kafka\n    tables:\n      - name: bpm\n        files: bpm/*.jsonl\n        columns: { device_id: BIGINT, heartrate: DOUBLE }\n        max_files_per_trigger: 2\n');
  writeFile(dir, 'models/bronze/bpm.sql', `{{ config(materialized='incremental') }}\nselect * from {{ source('kafka', 'bpm') }}`);
  writeFile(dir, 'models/silver/latest.sql', `{{ config(materialized='incremental', unique_key='device_id') }}
select device_id, heartrate, _offset, _lake_batch from {{ stream(ref('bpm')) }}
qualify row_number() over (partition by device_id order by _partition desc, _offset desc) = 1`);
  writeFile(dir, 'models/silver/readings.sql', `{{ config(materialized='incremental') }}\nselect device_id, heartrate, _partition, _offset, _lake_batch from {{ stream(ref('bpm')) }}`);
  writeFile(dir, 'models/gold/summary.sql', `{{ config(materialized='table') }}\nselect device_id, count(*) as readings, sum(heartrate) as total_hr from {{ ref('readings') }} group by device_id`);
  let offset = 0;
  for (let f = 0; f < 4; f++) {
    const lines: string[] = [];
    for (let i = 0; i < 25; i++, offset++) {
      lines.push(JSON.stringify({ key: String(offset % 7), value: { device_id: offset % 7, heartrate: 60 + (offset % 50) }, topic: 'bpm', partition: offset % 2, offset: offset >> 1, timestamp: T0 + offset }));
    }
    // A redelivery of an earlier record, and (every other file) two bad lines.
    if (f > 0) lines.unshift(lines[3]!);
    if (f > 0) lines.unshift(JSON.stringify({ key: 'r', value: { device_id: (offset - 30) % 7, heartrate: 60 + ((offset - 30) % 50) }, topic: 'bpm', partition: (offset - 30) % 2, offset: (offset - 30) >> 1, timestamp: T0 }));
    if (f % 2 === 1) lines.push('{"key": "x", "value": {"device_id": "oops"}, "topic": "bpm", "partition": 0, "offset": 99999}', '{"truncated": ');
    writeFile(dir, `landing/bpm/part-${f}.jsonl`, `${lines.join('\n')}\n`, new Date(T0 + f * 1000));
  }
  return dir;
}

async function snapshot(dir: string): Promise<Record<string, unknown[]>> {
  const db = await DuckDBAdapter.open(path.join(dir, 'target/lake.duckdb'));
  try {
    const q = async (sql: string) => plain(await db.query(sql));
    return {
      bronze: await q('select * exclude (_lake_batch) from bronze.bpm order by _partition, _offset'),
      latest: await q('select * exclude (_lake_batch) from silver.latest order by device_id'),
      readings: await q('select * exclude (_lake_batch) from silver.readings order by _partition, _offset'),
      summary: await q('select * from gold.summary order by device_id'),
      quarantine: await q('select source, file, line, raw, reason from bronze.bpm__quarantine order by file, line'),
      ledger: await q('select consumer, source, path, size, rows, bad_rows from _lake.files order by all'),
      offsets: await q('select consumer, source, topic, "partition", lo, hi from _lake.ingest_offsets order by all'),
    };
  } finally {
    await db.close();
  }
}

/** How many landing files bronze has consumed (after a kill, before recovery). */
async function consumed(dir: string): Promise<number> {
  if (!fs.existsSync(path.join(dir, 'target/lake.duckdb'))) return 0;
  const db = await DuckDBAdapter.open(path.join(dir, 'target/lake.duckdb'));
  try {
    return Number((await db.query<{ n: number }>(`select count(*) as n from _lake.files where consumer = 'bronze.bpm'`).catch(() => [{ n: 0 }]))[0]!.n);
  } finally {
    await db.close();
  }
}

function lake(dir: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function exitOf(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  let out = '';
  let err = '';
  p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve) => p.on('close', (code, signal) => resolve({ code, signal, out, err })));
}

/** Seeded, so a failing sequence of kill moments can be replayed. */
const prng = randomStream;

describe('crash safety', () => {
  it('SIGKILL at 22 random moments during ingestion and merges never loses or repeats a row', async () => {
    const ref = crashProject();
    const first = await exitOf(lake(ref, ['run']));
    expect(first.code, first.err).toBe(0);
    const expected = await snapshot(ref);
    expect(expected.bronze.length).toBe(100);
    expect(expected.quarantine.length).toBe(4);

    const seed = Number(process.env.LAKE_CRASH_SEED ?? Date.now() % 100_000);
    const rand = prng(seed);
    // Kill moments are placed by progress, not by clock: after the L-th line of output (run
    // headers and node lines: each says a step just committed) plus a random 0-40 ms, so they
    // fall all over the micro-batches, whatever the machine's speed.
    const lines = first.out.split('\n').filter((l) => l.trim()).length;
    const kills = 22;
    let midway = 0;
    const one = async (k: number) => {
      const dir = crashProject();
      // One or two crashes in a row, then a normal run.
      const crashes = 1 + (k % 2);
      const moments: string[] = [];
      for (let c = 0; c < crashes; c++) {
        const after = 1 + Math.floor(rand() * (lines - 1));
        const delay = Math.floor(rand() * 40);
        moments.push(`line ${after} + ${delay} ms`);
        const p = lake(dir, ['run']);
        let seen = 0;
        let timer: NodeJS.Timeout | undefined;
        p.stdout!.on('data', (d: Buffer) => {
          seen += d.toString().split('\n').length - 1;
          if (seen >= after && !timer) timer = setTimeout(() => p.kill('SIGKILL'), delay);
        });
        await exitOf(p);
        if (timer) clearTimeout(timer);
        const n = await consumed(dir);
        if (n > 0 && n < 4) midway++;
      }
      const rec = await exitOf(lake(dir, ['run']));
      expect(rec.code, `seed ${seed}, kill ${k} at ${moments.join('; ')}: ${rec.err}`).toBe(0);
      expect(await snapshot(dir), `seed ${seed}, kill ${k} at ${moments.join('; ')}`).toEqual(expected);
      fs.rmSync(dir, { recursive: true, force: true });
    };
    // Two at a time (the machine has two cores).
    for (let k = 0; k < kills; k += 2) await Promise.all([one(k), one(k + 1)]);
    // The kills did land in the middle of ingestion (some files consumed, not all), not only before or after it.
    expect(midway, `seed ${seed}`).toBeGreaterThanOrEqual(3);
  }, 170_000);
});

describe('lake run --continuous', () => {
  function project(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-cont-'));
    writeFile(dir, 'project.yml', 'name: cont\ntargets:\n  dev: { type: duckdb, path: target/lake.duckdb, threads: 2 }\n');
    writeFile(dir, 'models/sources.yml', 'sources:\n  - name: kafka\n    landing: landing\n    format: kafka\n    tables:\n      - name: bpm\n        files: bpm/*.jsonl\n        columns: { device_id: BIGINT, heartrate: DOUBLE }\n');
    writeFile(dir, 'models/bronze/bpm.sql', `{{ config(materialized='incremental') }}\nselect * from {{ source('kafka', 'bpm') }}`);
    writeFile(dir, 'models/silver/readings.sql', `{{ config(materialized='incremental') }}\nselect device_id, heartrate, _offset, _lake_batch from {{ stream(ref('bpm')) }}`);
    writeFile(dir, 'models/other.sql', `{{ config(materialized='table') }}\nselect 1 as x`);
    // Landed a minute ago: a continuous run holds back files younger than 1 s (still being written?).
    writeFile(dir, 'landing/bpm/a.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 60 }, { device_id: 2, heartrate: 70 }])), new Date(Date.now() - 60_000));
    return dir;
  }

  async function waitFor(get: () => string, re: RegExp, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!re.test(get())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${re} in:\n${get()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('runs the models downstream of sources that receive files, prints a line per batch, and stops on SIGTERM with exit 0', async () => {
    const dir = project();
    const p = lake(dir, ['run', '--continuous', '--interval', '200ms']);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const done = exitOf(p);
    await waitFor(() => out, /batch 1 .*kafka\.bpm: \+1 file, \+2 rows/);
    // Landed whole, as a producer should (written under a hidden name, then renamed: discovery skips
    // names starting with '.'); a continuous run also holds a file back until it is 1 s old.
    writeFile(dir, 'landing/bpm/.b.jsonl.tmp', jsonl(envelopes([{ device_id: 3, heartrate: 80 }], { first: 2 })));
    fs.renameSync(path.join(dir, 'landing/bpm/.b.jsonl.tmp'), path.join(dir, 'landing/bpm/b.jsonl'));
    await waitFor(() => out, /batch 2 .*2 nodes.*kafka\.bpm: \+1 file, \+1 row, lag/);
    p.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/SIGTERM: finishing the current batch/);
    const db = await DuckDBAdapter.open(path.join(dir, 'target/lake.duckdb'));
    try {
      expect((await db.query('select device_id from silver.readings order by 1')).map((x) => x.device_id)).toEqual([1, 2, 3]);
      // Batch 2 ran the models downstream of the source, not the unrelated one.
      const batch2 = await db.query(`select node_id from _lake.node_runs where run_id = (select run_id from _lake.runs order by batch_id limit 1 offset 1) order by 1`);
      expect(batch2.map((x) => x.node_id)).toEqual(['bronze.bpm', 'silver.readings']);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('--max-batches stops by itself; a signal in the middle of a batch lets it commit', async () => {
    const dir = project();
    const r1 = await exitOf(lake(dir, ['run', '--continuous', '--interval', '100ms', '--max-batches', '1']));
    expect(r1.code, r1.err).toBe(0);
    expect(r1.out).toMatch(/batch 1 /);
    // Nothing new: the first batch received no files, so it does not count; the next file does.
    const p0 = lake(dir, ['run', '--continuous', '--interval', '100ms', '--max-batches', '1']);
    let out0 = '';
    p0.stdout!.on('data', (d: Buffer) => { out0 += d.toString(); });
    const done0 = exitOf(p0);
    await waitFor(() => out0, /batch 1 .*\+0 files/);
    await new Promise((r) => setTimeout(r, 400));
    expect(p0.exitCode).toBeNull();
    writeFile(dir, 'landing/bpm/.c.jsonl.tmp', jsonl(envelopes([{ device_id: 9, heartrate: 90 }], { first: 5 })));
    fs.renameSync(path.join(dir, 'landing/bpm/.c.jsonl.tmp'), path.join(dir, 'landing/bpm/c.jsonl'));
    const r0 = await done0;
    expect(r0.code, r0.err).toBe(0);
    expect(r0.out).toMatch(/kafka\.bpm: \+1 file, \+1 row/);
    // Many files, one per trigger: SIGINT arrives while micro-batches run; the running one commits.
    writeFile(dir, 'models/sources.yml', 'sources:\n  - name: kafka\n    landing: landing\n    format: kafka\n    tables:\n      - name: bpm\n        files: bpm/*.jsonl\n        max_files_per_trigger: 1\n        columns: { device_id: BIGINT, heartrate: DOUBLE }\n');
    for (let i = 0; i < 8; i++) writeFile(dir, `landing/bpm/n${i}.jsonl`, jsonl(envelopes([{ device_id: 10 + i, heartrate: i }], { first: 10 + i })), new Date(Date.now() - 60_000 + i * 1000));
    const p = lake(dir, ['run', '--continuous', '--interval', '100ms']);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const done = exitOf(p);
    await waitFor(() => out, /batch 2 /);
    p.kill('SIGINT');
    const r = await done;
    expect(r.code, r.err).toBe(0);
    const db = await DuckDBAdapter.open(path.join(dir, 'target/lake.duckdb'));
    try {
      const [b] = await db.query<{ n: number }>('select count(*) as n from bronze.bpm');
      const [l] = await db.query<{ n: number }>(`select coalesce(sum(rows), 0) as n from _lake.files where consumer = 'bronze.bpm'`);
      const [s] = await db.query<{ n: number }>('select count(*) as n from silver.readings');
      // Whatever was committed is whole: the ledger matches the rows, downstream has them all.
      expect(Number(b!.n)).toBe(Number(l!.n));
      expect(Number(s!.n)).toBe(Number(b!.n));
      expect(Number(b!.n)).toBeLessThan(10);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('a node that keeps failing is retried with a growing wait, then the run stops with exit 1 (a stop request does not hide the failure)', async () => {
    const dir = project();
    writeFile(dir, 'models/sources.yml', 'sources:\n  - name: kafka\n    landing: landing\n    format: kafka\n    tables:\n      - name: bpm\n        files: bpm/*.jsonl\n        bad_records: fail\n        columns: { device_id: BIGINT, heartrate: DOUBLE }\n');
    writeFile(dir, 'landing/bpm/bad.jsonl', '{"broken\n', new Date(Date.now() - 60_000));
    const t0 = Date.now();
    const r = await exitOf(lake(dir, ['run', '--continuous', '--interval', '100ms']));
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain('stopping: 5 batches in a row had a failed node');
    // Waits of 200, 400, 800 and 1600 ms between the five attempts.
    expect(Date.now() - t0).toBeGreaterThan(3000);
    expect((r.out.match(/bad record in source kafka\.bpm/g) ?? []).length + (r.err.match(/bad record in source kafka\.bpm/g) ?? []).length).toBe(5);
    // Stopped by a signal after a failed batch: exit 1 too.
    const p = lake(dir, ['run', '--continuous', '--interval', '100ms']);
    let err = '';
    p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const done = exitOf(p);
    await waitFor(() => err, /bad record in source kafka\.bpm/);
    p.kill('SIGTERM');
    expect((await done).code).toBe(1);
  }, 60_000);
});
