/**
 * Compares the rows a unit test expected with the rows the model produced, ignoring order, and
 * explains the difference the way a person reads it: rows that differ in a few cells (paired by
 * the model's unique_key, else by most cells in common) show `expected → got` per cell; the rest
 * are missing (expected, not produced) or unexpected (produced, not expected).
 */

/** A row as text: one cell per compared column, NULL as null. */
export type TextRow = readonly (string | null)[];

export interface CellDiff {
  readonly column: string;
  readonly expected: string | null;
  readonly actual: string | null;
}

export interface RowDiff {
  readonly columns: readonly string[];
  readonly missing: TextRow[];
  readonly unexpected: TextRow[];
  /** Pairs of an expected and a produced row that differ in some cells. */
  readonly differing: { readonly expected: TextRow; readonly actual: TextRow; readonly cells: CellDiff[] }[];
}

/** Multiset difference of expected and actual rows, then pairing of near misses. */
export function diffRows(columns: readonly string[], expected: readonly TextRow[], actual: readonly TextRow[], keyColumns: readonly string[] = []): RowDiff {
  const key = (r: TextRow) => JSON.stringify(r);
  const pool = new Map<string, number>();
  for (const r of actual) pool.set(key(r), (pool.get(key(r)) ?? 0) + 1);
  const missing: TextRow[] = [];
  for (const r of expected) {
    const n = pool.get(key(r)) ?? 0;
    if (n > 0) pool.set(key(r), n - 1);
    else missing.push(r);
  }
  const remaining = new Map(pool);
  const unexpected: TextRow[] = [];
  for (const r of actual) {
    const n = remaining.get(key(r)) ?? 0;
    if (n > 0) {
      remaining.set(key(r), n - 1);
      unexpected.push(r);
    }
  }
  const differing: RowDiff['differing'] = [];
  const keyIdx = keyColumns.map((k) => columns.findIndex((c) => c.toLowerCase() === k.toLowerCase()));
  const byKey = keyIdx.length > 0 && keyIdx.every((i) => i >= 0);
  const stillMissing: TextRow[] = [];
  const used = new Set<number>();
  for (const m of missing) {
    let best = -1;
    let bestScore = 0;
    unexpected.forEach((u, j) => {
      if (used.has(j)) return;
      if (byKey) {
        if (keyIdx.every((i) => m[i] === u[i])) { best = j; bestScore = Infinity; }
        return;
      }
      const same = m.filter((v, i) => v === u[i]).length;
      if (same > bestScore) { best = j; bestScore = same; }
    });
    const enough = byKey ? best >= 0 : best >= 0 && columns.length > 1 && bestScore * 2 >= columns.length;
    if (!enough) {
      stillMissing.push(m);
      continue;
    }
    used.add(best);
    const u = unexpected[best]!;
    const cells = columns.flatMap((c, i) => (m[i] !== u[i] ? [{ column: c, expected: m[i]!, actual: u[i]! }] : []));
    differing.push({ expected: m, actual: u, cells });
  }
  return { columns, missing: stillMissing, unexpected: unexpected.filter((_, j) => !used.has(j)), differing };
}

export function diffCount(d: RowDiff): number {
  return d.missing.length + d.unexpected.length + d.differing.length;
}

const show = (v: string | null): string => (v === null ? 'NULL' : v === '' ? "''" : v);

/**
 * A table of the difference:
 *   ~ differing row, cells as `expected → got`;  - expected but missing;  + produced, not expected.
 */
export function formatDiff(d: RowDiff): string {
  const lines: string[][] = [];
  const marks: string[] = [];
  for (const x of d.differing) {
    marks.push('~');
    lines.push(d.columns.map((_, i) => (x.expected[i] === x.actual[i] ? show(x.expected[i]!) : `${show(x.expected[i]!)} → ${show(x.actual[i]!)}`)));
  }
  for (const r of d.missing) { marks.push('-'); lines.push(r.map(show)); }
  for (const r of d.unexpected) { marks.push('+'); lines.push(r.map(show)); }
  const widths = d.columns.map((c, i) => Math.min(60, Math.max(c.length, ...lines.map((l) => l[i]!.length))));
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const row = (vals: readonly string[]) => vals.map((v, i) => fit(v, widths[i]!)).join(' | ').trimEnd();
  const parts: string[] = [];
  if (d.differing.length) parts.push(`${d.differing.length} differing`);
  if (d.missing.length) parts.push(`${d.missing.length} missing`);
  if (d.unexpected.length) parts.push(`${d.unexpected.length} unexpected`);
  const out = [
    `${parts.join(', ')} row${diffCount(d) === 1 ? '' : 's'}`,
    `    ${row(d.columns)}`,
    `    ${widths.map((w) => '-'.repeat(w)).join('-+-')}`,
    ...lines.map((l, i) => `  ${marks[i]} ${row(l)}`),
    '  (~ differs: expected → got; - expected, missing; + got, not expected)',
  ];
  return out.join('\n');
}
