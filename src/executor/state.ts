/**
 * lake's own state in the target database, schema `_lake`: runs, node runs, stream watermarks.
 * (The landing-zone ledger `_lake.files` is owned by ingest/.)
 */
import type { Adapter } from '../adapter/types.js';
import type { NodeResult } from '../reporter/types.js';
import type { CatalogSnapshot } from './run-node.js';
import { INGEST_DDL } from '../ingest/ledger.js';
import { ATTACH_SCRATCH } from '../ingest/sql.js';

export const STATE_DDL = [
  `create schema if not exists _lake`,
  `create table if not exists _lake.runs (run_id varchar primary key, batch_id bigint not null, command varchar, started_at timestamp, finished_at timestamp, status varchar, args varchar, lake_version varchar)`,
  `create table if not exists _lake.node_runs (run_id varchar, node_id varchar, status varchar, materialized varchar, rows bigint, started_at timestamp, duration_ms double, error varchar, message varchar, stats json)`,
  `create table if not exists _lake.watermarks (consumer varchar, upstream varchar, batch_id bigint, updated_at timestamp, primary key (consumer, upstream))`,
  // Written by dq's expectations hook inside model transactions; created here, once, so parallel models never race to create it.
  `create table if not exists _lake.expectation_results (run_id varchar, batch_id bigint, node_id varchar, expectation varchar, condition varchar, action varchar, passed bigint, failed bigint, recorded_at timestamp)`,
  // The landing-zone ledger and ingestion state (ingest/ledger.ts), created once for the same reason.
  ...INGEST_DDL,
];

/**
 * Create lake's state tables if missing: one call and one commit (on a fresh database a commit
 * per statement costs more than the statements; on an existing one they change nothing).
 * `catalog`, when it covers `_lake`, answers whether they are there without a query of its own.
 */
export async function ensureState(db: Adapter, catalog?: CatalogSnapshot): Promise<void> {
  // Usually every table is there already: a catalog lookup instead of a write transaction and
  // its commit. The scratch database is attached either way (it lives only as long as the instance).
  let present: number;
  if (catalog && catalog.exists({ schema: '_lake', name: 'runs' }) !== undefined) {
    present = STATE_TABLES.filter((name) => catalog.get({ schema: '_lake', name })?.kind === 'table').length;
  } else {
    const tables = STATE_TABLES.map((t) => `'${t}'`).join(', ');
    const [row] = await db.query<{ n: number }>(
      `select count(*) as n from duckdb_tables() where database_name = current_database() and schema_name = '_lake' and table_name in (${tables})`,
    );
    present = Number(row?.n ?? 0);
  }
  if (present === STATE_TABLES.length) {
    await db.execute(ATTACH_SCRATCH);
    return;
  }
  await db.transaction((tx) => tx.execute(STATE_DDL.join(';\n')));
}

/** The tables STATE_DDL creates in `_lake` (derived from it, so the two cannot drift). */
const STATE_TABLES = STATE_DDL.flatMap((sql) => {
  const m = /^create table if not exists _lake\.(\w+)/.exec(sql);
  return m ? [m[1]!] : [];
});

/** Start a run: a new batch id, one higher than any before (monotonic across runs). */
export async function beginRun(db: Adapter, runId: string, command: string, args: string, version: string): Promise<number> {
  // One statement (atomic on its own): no begin/commit round trips around a read and a write.
  const [row] = await db.query<{ b: number }>(
    `insert into _lake.runs select $1, coalesce(max(batch_id), 0) + 1, $2, now()::timestamp, null, 'running', $3, $4 from _lake.runs returning batch_id as b`,
    [runId, command, args, version],
  );
  return Number(row!.b);
}

/**
 * Start a run and read its catalog snapshot (`read`, on `db`) at the same time: the run's row is
 * inserted on a second connection meanwhile, so its commit (a WAL sync) costs the run no time of
 * its own. On a new database that insert fails (no `_lake.runs` yet) and is made again once
 * `ensureState` has created lake's tables.
 */
export async function startRun(db: Adapter, read: () => Promise<CatalogSnapshot>, runId: string, command: string, args: string, version: string): Promise<{ batchId: number; catalog: CatalogSnapshot }> {
  const side = await db.fork();
  const begun = beginRun(side, runId, command, args, version).then((b) => b, () => undefined);
  try {
    const catalog = await read();
    const early = await begun;
    await ensureState(db, catalog);
    return { batchId: early ?? await beginRun(db, runId, command, args, version), catalog };
  } finally {
    // Never close a connection with its statement still running (`begun` does not reject).
    await begun;
    await side.close();
  }
}

export async function endRun(db: Adapter, runId: string, status: string): Promise<void> {
  await db.query(`update _lake.runs set finished_at = now()::timestamp, status = $2 where run_id = $1`, [runId, status]);
  await db.query(ABANDONED, [runId]);
}

/** Record node results, 500 per statement (a round trip per node costs more than the node for small views). */
export async function recordNodes(db: Adapter, runId: string, results: readonly NodeResult[]): Promise<void> {
  for (let i = 0; i < results.length; i += 500) await recordChunk(db, runId, results.slice(i, i + 500));
}

/**
 * The end of a run in one transaction and one call: its node results and its status (instead of a
 * commit for each; literals, since a call of several statements takes no parameters).
 */
export async function finishRun(db: Adapter, runId: string, status: string, results: readonly NodeResult[]): Promise<void> {
  // NUL cannot be in a SQL literal; an error message holding one loses it.
  const lit = (v: string | null | undefined) => (v === null || v === undefined ? 'null' : db.dialect.literal(v.replace(/\0/g, '')));
  const num = (v: number | undefined) => (v === undefined || v === null || !Number.isFinite(v) ? 'null' : String(v));
  const statements: string[] = [];
  for (let i = 0; i < results.length; i += 500) {
    const rows = results.slice(i, i + 500).map((r) => `(${[
      lit(runId), lit(r.id), lit(r.status), lit(r.materialized), num(r.rows), `${lit(stamp(r.startedAt))}::timestamp`,
      num(r.durationMs), lit(r.error), lit(r.message), `${lit(JSON.stringify(r.stats ?? {}))}::json`,
    ].join(', ')})`);
    statements.push(`insert into _lake.node_runs values ${rows.join(', ')}`);
  }
  statements.push(`update _lake.runs set finished_at = now()::timestamp, status = ${lit(status)} where run_id = ${lit(runId)}`);
  statements.push(ABANDONED.replace('$1', lit(runId)));
  await db.transaction((tx) => tx.execute(statements.join(';\n')));
}

/**
 * Runs still 'running' while this one ends were cut short (killed, or aborted by a second Ctrl-C)
 * in a process that is gone: only one run holds the database at a time.
 */
const ABANDONED = `update _lake.runs set status = 'aborted', finished_at = coalesce(finished_at, now()::timestamp) where status = 'running' and run_id <> $1`;

/** An ISO instant as a TIMESTAMP literal's text (UTC, as the session's time zone). */
function stamp(iso: string): string {
  return iso.replace('T', ' ').replace('Z', '');
}

async function recordChunk(db: Adapter, runId: string, results: readonly NodeResult[]): Promise<void> {
  if (results.length === 0) return;
  const params: unknown[] = [];
  const rows = results.map((r) => {
    const base = params.length;
    params.push(runId, r.id, r.status, r.materialized, r.rows ?? null, stamp(r.startedAt), r.durationMs, r.error ?? null, r.message ?? null, JSON.stringify(r.stats ?? {}));
    const p = (i: number) => `$${base + i}`;
    return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}::timestamp, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}::json)`;
  });
  await db.query(`insert into _lake.node_runs values ${rows.join(', ')}`, params);
}

export async function getWatermark(db: Adapter, consumer: string, upstream: string): Promise<number> {
  const rows = await db.query<{ b: number }>(`select batch_id as b from _lake.watermarks where consumer = $1 and upstream = $2`, [consumer, upstream]);
  return rows.length ? Number(rows[0]!.b) : 0;
}

export function setWatermarkSql(consumer: string, upstream: string, batch: number): string {
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return `insert or replace into _lake.watermarks values (${q(consumer)}, ${q(upstream)}, ${batch}, now()::timestamp)`;
}
