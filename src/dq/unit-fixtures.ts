/**
 * Unit-test fixtures: rows given as YAML maps, as CSV text (inline or a file), or as a SQL query,
 * turned into typed tables of an in-memory DuckDB. Column types come from the input's real
 * schema when lake can derive it (so '2024-01-01 10:00' given for a TIMESTAMP column is a
 * timestamp, and columns left out are NULL); otherwise from the values themselves.
 */
import type { Adapter } from '../adapter/types.js';
import type { Column } from '../core/types.js';
import { quoteIdent } from '../core/types.js';

export type FixtureFormat = 'dict' | 'csv' | 'sql';

/** Rows as written: maps of column → value (CSV values arrive as strings, '' as NULL), or a query. */
export interface Fixture {
  readonly format: FixtureFormat;
  readonly columns: readonly string[];
  readonly rows: readonly Readonly<Record<string, unknown>>[];
  readonly sql?: string;
}

/** Parse CSV text (RFC 4180 quoting; first line is the header). Empty and unquoted `null` cells are NULL. */
export function parseCsv(text: string): { columns: string[]; rows: Record<string, unknown>[] } {
  const records: { cells: string[]; quoted: boolean[] }[] = [];
  let cells: string[] = [];
  let quoted: boolean[] = [];
  let cell = '';
  let wasQuoted = false;
  let inQuotes = false;
  const endCell = () => { cells.push(cell); quoted.push(wasQuoted); cell = ''; wasQuoted = false; };
  const endRecord = () => {
    endCell();
    if (!(cells.length === 1 && cells[0]!.trim() === '' && !quoted[0])) records.push({ cells, quoted });
    cells = [];
    quoted = [];
  };
  const src = text.replace(/\r\n?/g, '\n');
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (inQuotes) {
      if (ch === '"' && src[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') inQuotes = false;
      else cell += ch;
    } else if (ch === '"' && cell.trim() === '') { inQuotes = true; wasQuoted = true; cell = ''; }
    else if (ch === ',') endCell();
    else if (ch === '\n') endRecord();
    else cell += ch;
  }
  if (cell !== '' || cells.length) endRecord();
  const [head, ...body] = records;
  const columns = (head?.cells ?? []).map((c) => c.trim());
  const rows = body.map((r) => {
    const row: Record<string, unknown> = {};
    columns.forEach((c, i) => {
      const raw = r.cells[i];
      const v = r.quoted[i] ? raw : raw?.trim();
      row[c] = v === undefined || (!r.quoted[i] && (v === '' || v.toLowerCase() === 'null')) ? null : v;
    });
    return row;
  });
  return { columns, rows };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$/;
const INT = /^[+-]?\d{1,18}$/;
const FLOAT = /^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/;

/** A column type from values alone. CSV cells are all strings, so numbers are read from them too. */
export function inferType(values: readonly unknown[], fromCsv: boolean): string {
  const kinds = new Set<string>();
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'boolean') kinds.add('BOOLEAN');
    else if (typeof v === 'number') kinds.add(Number.isInteger(v) ? 'BIGINT' : 'DOUBLE');
    else if (typeof v === 'string') {
      if (fromCsv && INT.test(v)) kinds.add('BIGINT');
      else if (fromCsv && FLOAT.test(v)) kinds.add('DOUBLE');
      else if (fromCsv && /^(true|false)$/i.test(v)) kinds.add('BOOLEAN');
      else if (DATE.test(v)) kinds.add('DATE');
      else if (TIMESTAMP.test(v)) kinds.add('TIMESTAMP');
      else if (TIMESTAMPTZ.test(v)) kinds.add('TIMESTAMPTZ');
      else kinds.add('VARCHAR');
    } else kinds.add('JSON');
  }
  if (kinds.size === 0) return 'VARCHAR';
  if (kinds.size === 1) return [...kinds][0]!;
  if ([...kinds].every((k) => k === 'BIGINT' || k === 'DOUBLE')) return 'DOUBLE';
  if ([...kinds].every((k) => k === 'DATE' || k === 'TIMESTAMP')) return 'TIMESTAMP';
  return 'VARCHAR';
}

/** A value as SQL text (before the cast to its column type). */
export function valueSql(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `'${String(v)}'`;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return `'${v.toISOString().replace('T', ' ').replace('Z', '')}'`;
  if (typeof v === 'object') return `'${JSON.stringify(v).replace(/'/g, "''")}'`;
  return `'${String(v).replace(/'/g, "''")}'`;
}

/**
 * The types of a fixture's columns: the known schema where it has the column, else inferred. A
 * column the known schema does not have is an error (dbt's "invalid column name"): the model
 * would never read it, and a test that passes without it proves nothing.
 */
export function fixtureColumns(f: Fixture, known?: readonly Column[]): Column[] {
  const out: Column[] = [];
  const byName = new Map((known ?? []).map((c) => [c.name.toLowerCase(), c]));
  const unknown = known?.length ? f.columns.filter((c) => !byName.has(c.toLowerCase())) : [];
  if (unknown.length) {
    throw new Error(`${unknown.map((c) => `'${c}'`).join(', ')} ${unknown.length === 1 ? 'is not a column' : 'are not columns'} of it (it has ${known!.map((c) => c.name).join(', ')})`);
  }
  for (const c of known ?? []) out.push(c);
  for (const name of f.columns) {
    if (byName.has(name.toLowerCase())) continue;
    out.push({ name, type: inferType(f.rows.map((r) => r[name]), f.format === 'csv') });
  }
  return out;
}

/**
 * Create `target` (a quoted relation) from a fixture. With `known` columns the table has the real
 * schema: given values are cast to it and columns the fixture leaves out are NULL.
 */
export async function createFixtureTable(db: Adapter, target: string, f: Fixture, known?: readonly Column[]): Promise<void> {
  if (f.format === 'sql' && !known?.length) {
    await db.execute(`create table ${target} as\n${f.sql}`);
    return;
  }
  const columns = f.format === 'sql' ? [...known!] : fixtureColumns(f, known);
  await db.execute(`create table ${target} (${columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})`);
  await insertFixture(db, target, f, columns);
}

/** Insert a fixture's rows into an existing table whose columns are `columns` (values cast to their types). */
export async function insertFixture(db: Adapter, target: string, f: Fixture, columns: readonly Column[]): Promise<void> {
  if (f.format === 'sql') {
    await db.execute(`insert into ${target} by name\n${f.sql}`);
    return;
  }
  if (f.rows.length === 0 || f.columns.length === 0) return;
  const typeOf = new Map(columns.map((c) => [c.name.toLowerCase(), c.type]));
  const unknown = f.columns.filter((c) => !typeOf.has(c.toLowerCase()));
  if (unknown.length) throw new Error(`${unknown.map((c) => `'${c}'`).join(', ')} ${unknown.length === 1 ? 'is not a column' : 'are not columns'} of the table (it has ${columns.map((c) => c.name).join(', ')})`);
  const given = f.columns;
  const values = f.rows.map((r) => `(${given.map((c) => `cast(${valueSql(r[c])} as ${typeOf.get(c.toLowerCase())})`).join(', ')})`);
  await db.execute(`insert into ${target} (${given.map((c) => quoteIdent(c)).join(', ')}) values\n${values.join(',\n')}`);
}
