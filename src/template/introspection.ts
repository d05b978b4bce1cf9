/**
 * dbt's functions that query the database while a template renders: `run_query`, the
 * `{% call statement(...) %}` block with `load_result`, `adapter.get_columns_in_relation`,
 * `adapter.get_relation` / `load_relation`, `adapter.execute`; and `api.Relation.create`.
 *
 * Rendering is synchronous and the database is not, so a render never waits for one: it asks the
 * render's `RenderDatabase` for the answer to its next query and, when that is not known yet,
 * stops there (`NeedsQuery`). Its caller runs the query and renders again from the start, the
 * queries already run being answered from their results in order (executor/live-render.ts): each
 * query runs once, in the order the template asks them, as in dbt.
 *
 * Three modes, as the engine sets them per render:
 * - `live` (a model built by `lake run`): `execute` is true and the queries run;
 * - `compile` (no database: `lake compile`, and any render before a run): the first query stops
 *   the render, which the engine then does again in
 * - `parse` mode, dbt's parse phase: `execute` is false, `run_query` gives none, `statement`
 *   runs nothing, `load_result` gives none, `get_columns_in_relation` an empty list,
 *   `get_relation` none. The model's refs and config come from that render, as in dbt; such a model
 *   is marked introspective and rendered again, live, when it is built.
 */
import { splitKwargs } from './call-args.js';
import { relationValue } from './dbt-compat.js';
import { pyDate, pyDelta } from './python-datetime.js';
import { markTuple, printable, pyNumber } from './python-repr.js';

/** A query's result as a render sees it (the adapter's ResultTable). */
export interface QueryAnswer {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
  readonly rowsChanged: number;
}

/**
 * Answers a live render's queries: the `index`-th query (from 0) a render of `channel` (a model,
 * a test, a hook) asks gets the answer that position got when it ran, whatever its text this time
 * (a template that prints the clock asks a new text each time: it still runs once); undefined
 * while that position has not run yet.
 */
export interface RenderDatabase {
  answer(channel: string, index: number, sql: string): QueryAnswer | undefined;
}

export type IntrospectionMode = 'compile' | 'parse' | 'live';

/** What one render knows about its database access. */
export interface IntrospectionState {
  readonly mode: IntrospectionMode;
  readonly database?: RenderDatabase;
  /** Whose queries these are (RenderDatabase's channel). */
  readonly channel: string;
  /** Queries asked so far by this render. */
  asked: number;
  /** A database function was called. */
  introspective: boolean;
  /** The query a live render stopped at (its answer was not known). */
  pending?: string;
  /** `statement` results by name, for `load_result`. */
  readonly results: Map<string, unknown>;
}

/** Thrown to stop a render at a query it cannot answer now. */
export class NeedsQuery extends Error {
  constructor(readonly sql: string) {
    super('lake: this render needs the database (it is rendered again)');
  }
}

/** What the engine gives these functions. */
export interface IntrospectionHost {
  /** The render under way (throws outside one). */
  state(): IntrospectionState;
  /** schema and identifier (and database, when given) of what a template passes as a relation. */
  relationParts(rel: unknown): { database?: string; schema?: string; identifier: string } | undefined;
  /** SQL as the database must see it: ref() and this placeholders replaced by their relations. */
  resolve(sql: string): string;
  /** Calls a `{% call %}` block's caller: its text, or `{ returned }` when its body called return(). */
  callCaller(caller: () => unknown): { text: string } | { returned: unknown };
  /** Make the macro being run return `value` (dbt's return() raised out of a call block). */
  propagateReturn(value: unknown): void;
  /** Print a line as log(..., info=True) does (agate's print_table). */
  log(message: string): void;
  /** The target's catalog name (relations' database): queries read it as the current database. */
  readonly database: string;
}

function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A query's answer, or undefined in parse mode; stops the render when it is not known yet. */
function ask(host: IntrospectionHost, sql: string): QueryAnswer | undefined {
  const st = host.state();
  st.introspective = true;
  if (st.mode === 'parse') return undefined;
  if (st.mode === 'live') sql = host.resolve(sql);
  const a = st.mode === 'live' ? st.database?.answer(st.channel, st.asked++, sql) : undefined;
  if (a === undefined) {
    st.pending = sql;
    throw new NeedsQuery(sql);
  }
  return a;
}

/**
 * A value as dbt's agate gives it: dates and timestamps as Python's; DECIMAL and floating values
 * as Decimal (printing `1.50`, `3.0`); an INTERVAL as a timedelta (a month: 30 days); TIME as its text.
 */
function pyValue(v: unknown, type: string): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return type === 'DATE' ? pyDate(v, true) : /WITH TIME ZONE|TIMESTAMPTZ/i.test(type) ? pyDate(v, false, true, true) : pyDate(v);
  if (/^(DECIMAL|NUMERIC)/i.test(type) && typeof v === 'string') return pyNumber(Number(v), v);
  if (/^(DOUBLE|FLOAT|REAL)$/i.test(type) && typeof v === 'number') return pyNumber(v, floatText(v));
  if (type === 'INTERVAL' && typeof v === 'object') {
    // As DuckDB's Python client converts one: a timedelta, a month counted as 30 days.
    const iv = v as { months?: number; days?: number; micros?: number | bigint };
    return pyDelta((Number(iv.months ?? 0) * 30 + Number(iv.days ?? 0)) * 86400000 + Number(iv.micros ?? 0) / 1000);
  }
  return v;
}

/** Python's repr of a float: `3.0`, `0.1`, `1e-07`, `1e+21`. */
function floatText(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return `${n}.0`;
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

const ARRAY_NAMES = new Set(Object.getOwnPropertyNames(Array.prototype));

function hidden(target: object, name: string | symbol, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: false, configurable: true, writable: true });
}

/**
 * An object of attributes and methods (a Column): tagged so that it is not a plain dict to the
 * Jinja runtime, whose dict methods (`values()`, `items()`...) would stand in for its own.
 */
function attributes(tag: string, fields: Record<string, unknown>): Record<string, unknown> {
  hidden(fields, Symbol.toStringTag, tag);
  return fields;
}

/** A row of agate's Table: a tuple (row[0]) whose values also go by column name (row['id'], row.id). */
function agateRow(names: readonly string[], values: unknown[]): unknown[] {
  const row = markTuple(values);
  names.forEach((n, i) => {
    if (!ARRAY_NAMES.has(n) && !/^\d+$/.test(n) && !Object.prototype.hasOwnProperty.call(row, n)) hidden(row, n, values[i]);
  });
  hidden(row, 'keys', () => markTuple([...names]));
  hidden(row, 'values', () => markTuple([...values]));
  hidden(row, 'items', () => names.map((n, i) => markTuple([n, values[i]])));
  hidden(row, 'dict', () => Object.fromEntries(names.map((n, i) => [n, values[i]])));
  hidden(row, 'get', (k: unknown, d: unknown = null) => {
    const i = typeof k === 'number' ? k : names.indexOf(String(k));
    return i >= 0 && i < values.length ? values[i] : d;
  });
  return row;
}

/**
 * What run_query gives: agate's Table as dbt's templates read it — `table.columns[0].values()`,
 * `table.columns['name']`, `table.rows[0][0]`, `table.rows[0]['name']`, `table.column_names`,
 * `for row in table`, `table | length` — as a list of rows with those attributes.
 */
export function agateTable(a: QueryAnswer, host?: IntrospectionHost): unknown[] {
  const names = a.columns.map((c) => c.name);
  const rows = a.rows.map((r) => agateRow(names, r.map((v, i) => pyValue(v, a.columns[i]?.type ?? ''))));
  const table = [...rows];
  // An agate Column is a sequence of its values (column[0], `| list`, `for v in column`) with a name.
  const columns = a.columns.map((c, i) => {
    const values = rows.map((r) => r[i]);
    const col = markTuple([...values]);
    hidden(col, 'name', c.name);
    hidden(col, 'data_type', c.type);
    hidden(col, 'values', () => markTuple([...values]));
    hidden(col, 'values_distinct', () => markTuple([...new Set(values)]));
    hidden(col, 'values_without_nulls', () => markTuple(values.filter((v) => v !== null && v !== undefined)));
    return col;
  });
  // Table.columns is a mapping of them by name too: columns['id'], keys(), values(), items().
  columns.forEach((col, i) => {
    const n = names[i]!;
    if (!ARRAY_NAMES.has(n) && !/^\d+$/.test(n) && !Object.prototype.hasOwnProperty.call(columns, n)) hidden(columns, n, col);
  });
  hidden(columns, 'keys', () => markTuple([...names]));
  hidden(columns, 'values', () => markTuple([...columns]));
  hidden(columns, 'items', () => columns.map((col, i) => markTuple([names[i], col])));
  hidden(columns, 'get', (k: unknown, d: unknown = null) => {
    const i = typeof k === 'number' ? k : names.indexOf(String(k));
    return i >= 0 && i < columns.length ? columns[i] : d;
  });
  hidden(table, 'rows', rows);
  hidden(table, 'columns', columns);
  hidden(table, 'column_names', markTuple([...names]));
  hidden(table, 'column_types', markTuple(a.columns.map((c) => c.type)));
  // agate prints these to the console (and returns None): lake prints them as info logs.
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(printable(v)));
  hidden(table, 'print_table', (maxRows: unknown = 20) => {
    const shown = rows.slice(0, typeof maxRows === 'number' ? maxRows : 20).map((r) => r.map(cell));
    const widths = names.map((n, i) => Math.max(n.length, 1, ...shown.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    host?.log([line(names), line(widths.map((w) => '-'.repeat(w))), ...shown.map(line), ...(rows.length > shown.length ? ['...'] : [])].join('\n'));
    return null;
  });
  hidden(table, 'print_csv', () => {
    host?.log([names.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n'));
    return null;
  });
  return table;
}

// dbt-duckdb's Column: its integer and float type names; dbt's base Column's string and numeric ones.
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'integer', 'bigint', 'hugeint', 'utinyint', 'usmallint', 'uinteger', 'ubigint', 'int1', 'int2', 'int4', 'int8', 'short', 'int', 'signed', 'long']);
const FLOAT_TYPES = new Set(['real', 'float', 'float4', 'float8', 'double']);
const STRING_TYPES = new Set(['text', 'character varying', 'character', 'varchar']);
const NUMERIC_TYPES = new Set(['numeric', 'decimal']);

/** dbt's Column (dbt-duckdb's), as adapter.get_columns_in_relation gives them. */
export function columnObject(name: string, type: string): Record<string, unknown> {
  const t = type.toLowerCase();
  const isString = STRING_TYPES.has(t);
  const isNumeric = NUMERIC_TYPES.has(t);
  const isNumber = INTEGER_TYPES.has(t) || FLOAT_TYPES.has(t) || isNumeric;
  // dbt's data_type: a string column's is `character varying(256)`; the rest as the engine names them.
  const dataType = isString ? 'character varying(256)' : type;
  const col = attributes('Column', {
    name, column: name, dtype: type, data_type: dataType, quoted: `"${name.replace(/"/g, '""')}"`,
    char_size: null, numeric_precision: null, numeric_scale: null,
  });
  hidden(col, 'is_string', () => isString);
  hidden(col, 'is_integer', () => INTEGER_TYPES.has(t));
  hidden(col, 'is_float', () => FLOAT_TYPES.has(t));
  hidden(col, 'is_numeric', () => isNumeric);
  hidden(col, 'is_number', () => isNumber);
  hidden(col, 'is_struct', () => t.startsWith('struct'));
  hidden(col, 'string_size', () => 256);
  hidden(col, 'toString', () => `<Column ${name} (${dataType})>`);
  return col;
}

/** dbt's load_result value of a statement: dbt-duckdb's response (it prints `OK`), the rows as a list of tuples, the table. */
function statementResult(a: QueryAnswer, fetch: boolean, host?: IntrospectionHost): Record<string, unknown> {
  const table = agateTable(fetch ? a : { columns: a.columns, rows: [], rowsChanged: a.rowsChanged }, host);
  const response = attributes('AdapterResponse', { _message: 'OK', code: null, rows_affected: null });
  hidden(response, 'toString', () => 'OK');
  return { response, data: (table as unknown as { rows: unknown[][] }).rows.map((r) => markTuple([...r])), table };
}

/** The relation of `schema.identifier` as the catalog has it (table or view), or none. */
function getRelation(host: IntrospectionHost, database: unknown, schema: unknown, identifier: unknown): unknown {
  if (identifier === null || identifier === undefined) return null;
  const db = database === null || database === undefined || database === 'main' || database === host.database ? undefined : String(database);
  const where = `${db ? `database_name = ${lit(db)}` : 'database_name = current_database()'} and schema_name = ${lit(String(schema ?? 'main'))}`;
  const a = ask(host, `select schema_name, table_name, 'table' as type from duckdb_tables() where ${where} and table_name = ${lit(String(identifier))}
union all select schema_name, view_name, 'view' from duckdb_views() where ${where} and view_name = ${lit(String(identifier))}`);
  const row = a?.rows[0];
  if (!row) return null;
  return relationOf(db, String(row[0]), String(row[1]), String(row[2]));
}

function quote(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** A relation object that prints as its SQL and has dbt's Relation attributes. */
function relationOf(database: string | undefined, schema: string | undefined, identifier: string, type: string | null): unknown {
  const sql = [database, schema, identifier].filter((x): x is string => !!x).map(quote).join('.');
  const rel = relationValue(sql) as unknown as Record<string, unknown>;
  rel.type = type;
  rel.is_table = type === 'table';
  rel.is_view = type === 'view';
  return rel;
}

/** Installs the functions into a Nunjucks environment's globals (`adapter` and `api` are extended, not replaced). */
export function installIntrospection(globals: Record<string, unknown>, host: IntrospectionHost): void {
  globals.run_query = (sql: unknown) => {
    const a = ask(host, String(sql));
    return a ? agateTable(a, host) : null;
  };
  globals.statement = (...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const name = kw.name ?? pos[0] ?? null;
    const fetch = !!(kw.fetch_result ?? pos[1] ?? false);
    const caller = kw.caller as (() => unknown) | undefined;
    const st = host.state();
    st.introspective = true;
    // dbt's statement renders its body only when executing.
    if (st.mode === 'parse' || !caller) return '';
    const body = host.callCaller(caller);
    if ('returned' in body) {
      host.propagateReturn(body.returned);
      return '';
    }
    const a = ask(host, body.text)!;
    if (name !== null && name !== undefined) st.results.set(String(name), statementResult(a, fetch, host));
    return '';
  };
  globals.load_result = (name: unknown) => host.state().results.get(String(name)) ?? null;
  const loadRelation = (rel: unknown) => {
    const p = host.relationParts(rel);
    if (!p) {
      host.state().introspective = true;
      return null;
    }
    return getRelation(host, p.database, p.schema, p.identifier);
  };
  globals.load_relation = loadRelation;
  const adapter = (globals.adapter ?? {}) as Record<string, unknown>;
  globals.adapter = {
    ...adapter,
    get_columns_in_relation: (rel: unknown) => {
      const p = host.relationParts(rel);
      const st = host.state();
      if (st.mode === 'parse' || !p) {
        st.introspective = true;
        return [];
      }
      const db = p.database === undefined || p.database === 'main' || p.database === host.database ? undefined : p.database;
      const a = ask(host, `select column_name, data_type from duckdb_columns() where ${db ? `database_name = ${lit(db)}` : 'database_name = current_database()'} and schema_name = ${lit(p.schema ?? 'main')} and table_name = ${lit(p.identifier)} order by column_index`);
      return (a?.rows ?? []).map((r) => columnObject(String(r[0]), String(r[1])));
    },
    get_relation: (...args: unknown[]) => {
      const { pos, kw } = splitKwargs(args);
      return getRelation(host, kw.database ?? pos[0], kw.schema ?? pos[1], kw.identifier ?? pos[2]);
    },
    load_relation: loadRelation,
    execute: (...args: unknown[]) => {
      const { pos, kw } = splitKwargs(args);
      const fetch = !!(kw.fetch ?? pos[2] ?? false);
      const a = ask(host, String(kw.sql ?? pos[0]));
      const empty: QueryAnswer = { columns: [], rows: [], rowsChanged: 0 };
      const res = statementResult(a ?? empty, fetch, host);
      return markTuple([res.response, res.table]);
    },
  };
  const api = (globals.api ?? {}) as Record<string, unknown>;
  globals.api = {
    ...api,
    Relation: {
      create: (...args: unknown[]) => {
        const { pos, kw } = splitKwargs(args);
        const [database, schema, identifier, type] = [kw.database ?? pos[0], kw.schema ?? pos[1], kw.identifier ?? pos[2], kw.type ?? pos[3]];
        const s = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
        return relationOf(s(database) === 'main' ? undefined : s(database), s(schema), s(identifier) ?? '', s(type) ?? null);
      },
    },
    Column: { create: (name: unknown, type: unknown) => columnObject(String(name), String(type)) },
  };
}
