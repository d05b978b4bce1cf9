/**
 * What the docs site shows as each node's last run and each test's last result when the last
 * invocation did not build it (a `lake test` after `lake run`, a `lake run -s one_model`): the
 * latest build of each node from `_lake.node_runs`, and the tests of the last invocation that
 * ran tests (target/.lake/last_tests.json, written with run_results.json).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Adapter } from '../adapter/types.js';
import type { NodeResult, RunResults, TestResult } from '../docs/inputs.js';

const BUILDS = "('run', 'build', 'seed')";

export interface BuildHistory {
  /** The last finished run, build or seed. */
  readonly run: { run_id: string; command: string; started_at: string; finished_at: string; elapsed_ms: number; status: string };
  /** Each node's latest result in a run, build or seed, with the run it came from. */
  readonly results: readonly (NodeResult & { run_id: string })[];
}

/** A TIMESTAMP lake wrote in UTC ('2026-11-21 20:40:01.123') as an ISO instant. */
const iso = (v: unknown): string => `${String(v).replace(' ', 'T')}Z`;

export async function buildHistory(db: Adapter): Promise<BuildHistory | undefined> {
  const has = await db.query(`select 1 from duckdb_tables() where schema_name = '_lake' and table_name = 'node_runs' and database_name = current_database()`);
  if (has.length === 0) return undefined;
  const [run] = await db.query<{ run_id: string; command: string; s: string; f: string; status: string }>(
    `select run_id, command, started_at::varchar as s, finished_at::varchar as f, status from _lake.runs where command in ${BUILDS} and finished_at is not null order by started_at desc limit 1`);
  if (!run) return undefined;
  const rows = await db.query<{ run_id: string; node_id: string; status: string; rows: number | null; s: string; duration_ms: number; error: string | null; message: string | null; stats: string | null }>(
    `select run_id, node_id, status, rows, started_at::varchar as s, duration_ms, error, message, stats::varchar as stats from (
       select n.*, row_number() over (partition by n.node_id order by n.started_at desc) as k
       from _lake.node_runs n join _lake.runs r using (run_id)
       where r.command in ${BUILDS} and n.node_id not like 'test:%' and n.node_id not like 'unit:%' and n.status <> 'skipped'
     ) where k = 1`);
  const results = rows.map((r) => {
    let stats: Record<string, unknown> = {};
    try {
      stats = r.stats ? JSON.parse(r.stats) as Record<string, unknown> : {};
    } catch { /* not JSON: no figures */ }
    return {
      run_id: r.run_id, id: r.node_id, status: r.status, rows: r.rows === null ? null : Number(r.rows), started_at: iso(r.s),
      duration_ms: Number(r.duration_ms), error: r.error, message: r.message,
      ...(typeof stats.files === 'number' ? { files: stats.files } : {}), ...(typeof stats.bad_records === 'number' ? { bad_records: stats.bad_records } : {}),
    };
  });
  const started = iso(run.s);
  const finished = iso(run.f);
  return { run: { run_id: run.run_id, command: run.command, started_at: started, finished_at: finished, elapsed_ms: Date.parse(finished) - Date.parse(started), status: run.status }, results };
}

/**
 * run_results.json completed with the history: after a `lake test`, the last build's run and every
 * node's latest result; after a partial run, the nodes it did not build with their latest result
 * (without a start time: they are not on this run's timeline).
 */
export function withHistory(rr: RunResults | undefined, h: BuildHistory | undefined): RunResults | undefined {
  if (!h) return rr;
  const builds = (c: string | undefined) => c === 'run' || c === 'build' || c === 'seed';
  if (!rr || !builds(rr.command)) {
    const results = h.results.map(({ run_id, ...r }) => (run_id === h.run.run_id ? r : { ...r, started_at: undefined }));
    return { ...h.run, results, ...(rr?.tests ? { tests: rr.tests } : {}) };
  }
  const have = new Set((rr.results ?? []).map((r) => r.id));
  const older = h.results.filter((r) => !have.has(r.id)).map(({ run_id: _r, ...r }) => ({ ...r, started_at: undefined }));
  return { ...rr, results: [...(rr.results ?? []), ...older] };
}

export function lastTestsFile(targetDir: string): string {
  return path.join(targetDir, '.lake', 'last_tests.json');
}

/** The tests of the last invocation that ran tests, when run_results.json has none. */
export function lastTests(targetDir: string, rr: RunResults | undefined): readonly TestResult[] | undefined {
  if (rr?.tests) return undefined;
  try {
    const v = JSON.parse(fs.readFileSync(lastTestsFile(targetDir), 'utf8')) as { tests?: TestResult[] };
    return Array.isArray(v.tests) ? v.tests : undefined;
  } catch {
    return undefined;
  }
}
