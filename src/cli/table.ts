/** A plain aligned text table for previews (`lake show`, `lake test` results). */

function cell(v: unknown, type?: string): string {
  if (v === null || v === undefined) return 'NULL';
  if (v instanceof Date) return type === 'DATE' ? v.toISOString().slice(0, 10) : v.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '');
  if (typeof v === 'object') return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

/** `types` (column → engine type) lets DATE values print as dates, not midnight timestamps. */
export function formatTable(rows: readonly Record<string, unknown>[], columns?: readonly string[], types: Readonly<Record<string, string>> = {}): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return '(no rows)';
  const body = rows.map((r) => cols.map((c) => cell(r[c], types[c])));
  const widths = cols.map((c, i) => Math.min(40, Math.max(c.length, ...body.map((b) => b[i]!.length))));
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (vals: string[]) => vals.map((v, i) => fit(v, widths[i]!)).join(' | ');
  const out = [line([...cols]), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)];
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n');
}
