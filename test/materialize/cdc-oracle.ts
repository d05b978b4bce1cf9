/**
 * A plain TypeScript model of the CDC rules (incremental-cdc.ts header) to check the SQL against:
 * one change per (key, sequence) — a delete beats an upsert, then the greater record — then type 1
 * keeps the latest change per key and type 2 turns each upsert into a version ending at the next
 * change. Records are flat objects; `cols` is the order used to compare records at a tie.
 */

export interface Change {
  readonly id: number;
  readonly seq: number;
  readonly op: 'U' | 'D';
  readonly [col: string]: unknown;
}

export interface OracleOptions {
  /** Columns compared at a tie (the target's columns minus key and _lake_batch, in order). */
  readonly tieCols: readonly string[];
  /** Columns that make up a row (the kept columns). */
  readonly rowCols: readonly string[];
  readonly ignoreNulls?: boolean;
}

function cmpValue(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return (a as number | string) < (b as number | string) ? -1 : 1;
}

/** The surviving change of each (key, sequence). */
function dedupe(changes: readonly Change[], o: OracleOptions): Map<number, Change[]> {
  const byKey = new Map<number, Map<number, Change>>();
  for (const c of changes) {
    const m = byKey.get(c.id) ?? new Map<number, Change>();
    byKey.set(c.id, m);
    const prev = m.get(c.seq);
    if (!prev) { m.set(c.seq, c); continue; }
    if (prev.op !== c.op) { if (c.op === 'D') m.set(c.seq, c); continue; }
    if (c.op === 'D') continue;
    for (const col of o.tieCols) {
      const r = cmpValue(c[col], prev[col]);
      if (r !== 0) { if (r > 0) m.set(c.seq, c); break; }
    }
  }
  const out = new Map<number, Change[]>();
  for (const [k, m] of byKey) out.set(k, [...m.values()].sort((a, b) => a.seq - b.seq));
  return out;
}

function project(c: Change, cols: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(cols.map((k) => [k, c[k] ?? null]));
}

/** Fold of a key's ordered changes: the row after each change (undefined after a delete). */
function fold(list: readonly Change[], o: OracleOptions): (Record<string, unknown> | undefined)[] {
  let cur: Record<string, unknown> | undefined;
  return list.map((c) => {
    if (c.op === 'D') return (cur = undefined);
    const next = project(c, o.rowCols);
    if (o.ignoreNulls && cur) for (const k of o.rowCols) if (next[k] === null) next[k] = cur[k];
    return (cur = next);
  });
}

export function scd1(changes: readonly Change[], o: OracleOptions): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const list of dedupe(changes, o).values()) {
    const states = fold(list, o);
    const last = states[states.length - 1];
    if (last) out.push(last);
  }
  return out;
}

export function scd2(changes: readonly Change[], o: OracleOptions): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const list of dedupe(changes, o).values()) {
    const states = fold(list, o);
    list.forEach((c, i) => {
      const row = states[i];
      if (c.op === 'U' && row) out.push({ ...row, valid_from: c.seq, valid_to: list[i + 1]?.seq ?? null });
    });
  }
  return out;
}

/** Deterministic pseudo-random numbers (tests must not depend on Math.random). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Rows sorted by their JSON text, so tables can be compared regardless of row order. */
export function canonical(rows: readonly Record<string, unknown>[], cols: readonly string[]): string[] {
  return rows.map((r) => JSON.stringify(cols.map((c) => (r[c] === undefined ? null : r[c])))).sort();
}
