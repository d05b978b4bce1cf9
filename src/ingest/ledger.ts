/**
 * Ingestion state in `_lake`, always written inside the consuming model's transaction:
 * - `_lake.files`: the ledger of consumed files per consumer and source (exactly once);
 * - `_lake.ingest_schemas`: the columns a consumer holds from a source (schema evolution);
 * - `_lake.ingest_offsets`: the Kafka offsets a consumer holds, as merged ranges per partition
 *   (envelope dedupe across files and runs; ranges stay few because offsets are mostly contiguous).
 */
import type { Adapter } from '../adapter/types.js';
import type { Column } from '../core/types.js';
import { lit, ATTACH_SCRATCH } from './sql.js';

/** Created by the executor's state setup (executor/state.ts) before any model runs. */
export const INGEST_DDL = [
  `create schema if not exists _lake`,
  `create table if not exists _lake.files (consumer varchar not null, source varchar not null, path varchar not null, size bigint, mtime timestamp, rows bigint, bad_rows bigint, batch bigint, ingested_at timestamp, primary key (consumer, source, path))`,
  `create table if not exists _lake.ingest_schemas (consumer varchar not null, source varchar not null, columns json, batch bigint, updated_at timestamp, primary key (consumer, source))`,
  `create table if not exists _lake.ingest_offsets (consumer varchar not null, source varchar not null, topic varchar, "partition" integer, lo bigint, hi bigint)`,
  // The scratch database, attached once per run before models start (not by each, in parallel).
  ATTACH_SCRATCH,
];

/** One consumed file as the ledger remembers it. */
export interface LedgerEntry {
  readonly path: string;
  readonly size: number;
  /** Microseconds since the epoch. */
  readonly mtimeUs: number;
}

/** The files a consumer has consumed from a source, by path. */
export async function readLedger(tx: Adapter, consumer: string, source: string): Promise<Map<string, LedgerEntry>> {
  const rows = await tx.query<{ path: string; size: number; us: number }>(
    `select path, size, epoch_us(mtime) as us from _lake.files where consumer = $1 and source = $2`, [consumer, source],
  );
  return new Map(rows.map((r) => [r.path, { path: r.path, size: Number(r.size), mtimeUs: Number(r.us) }]));
}

/** The schema a consumer holds from a source, or undefined before its first read. */
export async function readSchema(tx: Adapter, consumer: string, source: string): Promise<Column[] | undefined> {
  const rows = await tx.query<{ c: string }>(`select columns::varchar as c from _lake.ingest_schemas where consumer = $1 and source = $2`, [consumer, source]);
  if (!rows.length) return undefined;
  return JSON.parse(rows[0]!.c) as Column[];
}

export function writeSchemaSql(consumer: string, source: string, columns: readonly Column[], batch: number): string {
  const json = JSON.stringify(columns.map((c) => ({ name: c.name, type: c.type })));
  return `insert or replace into _lake.ingest_schemas values (${lit(consumer)}, ${lit(source)}, ${lit(json)}::json, ${batch}, now()::timestamp)`;
}

/** Forget what a consumer read from a source (first build, full refresh, table rebuilds). */
export function resetSql(consumer: string, source: string, what: 'files' | 'offsets' | 'schema'): string {
  const table = what === 'files' ? 'files' : what === 'offsets' ? 'ingest_offsets' : 'ingest_schemas';
  return `delete from _lake.${table} where consumer = ${lit(consumer)} and source = ${lit(source)}`;
}
