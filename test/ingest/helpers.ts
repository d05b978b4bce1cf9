/**
 * Tiny real projects for the ingestion tests: files written to a temp folder, `lake run` done
 * in-process through a Session (memory reporter), and the resulting DuckDB file read back.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Session } from '../../src/app/session.js';
import { runAvailableNow, type AvailableNowOutcome } from '../../src/app/continuous.js';
import { MemoryReporter } from '../../src/reporter/reporters.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import type { NodeResult } from '../../src/reporter/types.js';

export type Row = Record<string, unknown>;

const PROJECT_YML = 'name: ingest_test\ntargets:\n  dev:\n    type: duckdb\n    path: target/lake.duckdb\n    threads: 2\n';

export function makeProject(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-ingest-'));
  for (const [rel, text] of Object.entries({ 'project.yml': PROJECT_YML, ...files })) writeFile(dir, rel, text);
  return dir;
}

/** Write a file; `ageMs` sets its mtime that far in the past (files are ordered by mtime). */
export function writeFile(dir: string, rel: string, text: string | Buffer, mtime?: Date): void {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  if (mtime) fs.utimesSync(file, mtime, mtime);
}

/** Distinct, increasing mtimes for files written in one test (oldest first). */
export function clock(start = Date.UTC(2024, 0, 1)): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

export interface RunResult extends AvailableNowOutcome {
  readonly reporter: MemoryReporter;
  node(id: string): NodeResult;
}

/** `lake run` in-process (every micro-batch). */
export async function run(dir: string, opts: { select?: string[]; fullRefresh?: boolean } = {}): Promise<RunResult> {
  const s = Session.open({ projectDir: dir });
  const reporter = new MemoryReporter();
  const out = await runAvailableNow(s, reporter, { select: opts.select, fullRefresh: opts.fullRefresh, threads: 2 });
  return {
    ...out, reporter,
    node(id: string) {
      const r = out.results.find((x) => x.id === id);
      if (!r) throw new Error(`no result for ${id}`);
      return r;
    },
  };
}

/**
 * Land `files` in groups of `sizes` files (in order), with a `lake run` after each group: the same
 * files grouped into runs in different ways ([n]: all in one run; [1, 1, ...]: one per run).
 * Returns each run's result.
 */
export async function runInGroups<F>(dir: string, files: readonly F[], sizes: readonly number[], land: (dir: string, f: F) => void): Promise<RunResult[]> {
  const out: RunResult[] = [];
  let next = 0;
  for (const n of sizes) {
    for (const f of files.slice(next, next + n)) land(dir, f);
    next += n;
    out.push(await run(dir));
  }
  return out;
}

/** For each grouping (sizes of runs, see runInGroups), a fresh project (`make`) with `files` landed that way. */
export async function inGroupings<F>(make: () => string, files: readonly F[], groupings: readonly (readonly number[])[], land: (dir: string, f: F) => void): Promise<{ dir: string; runs: RunResult[] }[]> {
  const out: { dir: string; runs: RunResult[] }[] = [];
  for (const sizes of groupings) {
    const dir = make();
    out.push({ dir, runs: await runInGroups(dir, files, sizes, land) });
  }
  return out;
}

/** Query the project's database (opened and closed around the call). */
export async function query(dir: string, sql: string): Promise<Row[]> {
  const db = await DuckDBAdapter.open(path.join(dir, 'target/lake.duckdb'));
  try {
    return await db.query(sql);
  } finally {
    await db.close();
  }
}

/** Rows as JSON-safe values (Dates → ISO, bigints → strings) for deep equality. */
export function plain(rows: readonly Row[]): Row[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? v.toString() : v])));
}

/** JSON lines from objects. */
export function jsonl(records: readonly unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** Kafka envelopes around payloads: offsets from `first`, one partition. */
export function envelopes(payloads: readonly unknown[], o: { topic?: string; partition?: number; first?: number; asString?: boolean } = {}): unknown[] {
  return payloads.map((p, i) => ({
    key: String(i), value: o.asString ? JSON.stringify(p) : p, topic: o.topic ?? 'bpm', partition: o.partition ?? 0,
    offset: (o.first ?? 0) + i, timestamp: 1_700_000_000_000 + i * 1000,
  }));
}
