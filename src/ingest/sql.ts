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

/** Microseconds since the epoch of a file's mtime (what the ledger stores and compares). */
export function mtimeMicros(mtimeMs: number): number {
  return Math.round(mtimeMs * 1000);
}
