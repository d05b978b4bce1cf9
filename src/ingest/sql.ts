/**
 * Small SQL text helpers for ingestion: literals, identifiers, lists. Kept here so every reader
 * quotes the same way.
 */
import { quoteIdent } from '../core/types.js';

/** A SQL string literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** `"name"` */
export const qi = quoteIdent;

/** `['a', 'b']` */
export function listLit(values: readonly string[]): string {
  return values.length ? `[${values.map(lit).join(', ')}]` : `[]::VARCHAR[]`;
}

/**
 * The rows of several tables with the same role as one relation (a table alone stays itself): a
 * stage built in slices is one table per slice, and columns one slice lacks (dropped once it was
 * settled, or added by a later slice) read as NULL.
 */
export function unionOf(tables: readonly string[]): string {
  return tables.length === 1 ? tables[0]! : `(${tables.map((t) => `select * from ${t}`).join(' union all by name ')})`;
}

/** Microseconds since the epoch of a file's mtime (what the ledger stores and compares). */
export function mtimeMicros(mtimeMs: number): number {
  return Math.round(mtimeMs * 1000);
}

/**
 * The in-memory database (attached to the instance, so every connection sees it) where ingestion
 * stages what it reads. Tables there are scratch: built and committed on a separate connection
 * before the model reads them — a table created inside the model's own transaction would be
 * scanned by one thread only — and dropped afterwards; the ledger and the rows stay in the model's
 * transaction.
 */
export const SCRATCH = '__lake_scratch';
export const ATTACH_SCRATCH = `attach if not exists ':memory:' as ${SCRATCH}`;

/** `__lake_scratch.main."name"` */
export function scratchTable(name: string): string {
  return `${SCRATCH}.main.${quoteIdent(name)}`;
}
