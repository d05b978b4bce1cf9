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
import { pyDate } from './python-datetime.js';
import { markTuple } from './python-repr.js';

/** A query's result as a render sees it (the adapter's ResultTable). */
export interface QueryAnswer {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
  readonly rowsChanged: number;
}

/** Answers a live render's queries: undefined while a query has not run yet. */
export interface RenderDatabase {
  answer(sql: string): QueryAnswer | undefined;
}

export type IntrospectionMode = 'compile' | 'parse' | 'live';

/** What one render knows about its database access. */
export interface IntrospectionState {
  readonly mode: IntrospectionMode;
  readonly database?: RenderDatabase;
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
  const a = st.mode === 'live' ? st.database?.answer(sql) : undefined;
  if (a === undefined) {
    st.pending = sql;
    throw new NeedsQuery(sql);
  }
  return a;
}

/** A value as dbt's agate gives it: dates and timestamps as Python's, the rest as the adapter reads it. */
function pyValue(v: unknown, type: string): unknown {
  if (v instanceof Date) return pyDate(v, type === 'DATE', /WITH TIME ZONE|TIMESTAMPTZ/i.test(type));
  return v;
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
export function agateTable(a: QueryAnswer): unknown[] {
  const names = a.columns.map((c) => c.name);
  const rows = a.rows.map((r) => agateRow(names, r.map((v, i) => pyValue(v, a.columns[i]?.type ?? ''))));
  const table = [...rows];
  const columns = a.columns.map((c, i) => {
    const col = attributes('Column', { name: c.name, data_type: c.type });
    hidden(col, 'values', () => markTuple(rows.map((r) => r[i])));
    hidden(col, 'values_distinct', () => markTuple([...new Set(rows.map((r) => r[i]))]));
    hidden(col, 'values_without_nulls', () => markTuple(rows.map((r) => r[i]).filter((v) => v !== null && v !== undefined)));
    hidden(col, 'toString', () => c.name);
    return col;
  });
  columns.forEach((col, i) => {
    const n = names[i]!;
    if (!ARRAY_NAMES.has(n) && !/^\d+$/.test(n) && !Object.prototype.hasOwnProperty.call(columns, n)) hidden(columns, n, col);
  });
  hidden(table, 'rows', rows);
  hidden(table, 'columns', columns);
  hidden(table, 'column_names', markTuple([...names]));
  hidden(table, 'column_types', markTuple(a.columns.map((c) => c.type)));
  hidden(table, 'print_table', () => '');
  hidden(table, 'print_csv', () => '');
  return table;
}

const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|INT[1248]|LONG|SHORT|SIGNED)$/i;
const FLOAT_TYPES = /^(FLOAT|DOUBLE|REAL|FLOAT[48])$/i;
const NUMERIC_TYPES = /^(DECIMAL|NUMERIC)(\(.*\))?$/i;
const STRING_TYPES = /^(VARCHAR|TEXT|STRING|CHAR|BPCHAR|NVARCHAR)(\(.*\))?$/i;

/** dbt's Column, as adapter.get_columns_in_relation gives them. */
export function columnObject(name: string, type: string): Record<string, unknown> {
  const precision = /^(?:DECIMAL|NUMERIC)\((\d+)\s*,\s*(\d+)\)/i.exec(type);
  const col = attributes('Column', {
    name, column: name, dtype: type, data_type: type, quoted: `"${name.replace(/"/g, '""')}"`,
    char_size: null, numeric_precision: precision ? Number(precision[1]) : null, numeric_scale: precision ? Number(precision[2]) : null,
  });
  hidden(col, 'is_string', () => STRING_TYPES.test(type));
  hidden(col, 'is_integer', () => INTEGER_TYPES.test(type));
  hidden(col, 'is_float', () => FLOAT_TYPES.test(type));
  hidden(col, 'is_numeric', () => NUMERIC_TYPES.test(type));
  hidden(col, 'is_number', () => INTEGER_TYPES.test(type) || FLOAT_TYPES.test(type) || NUMERIC_TYPES.test(type));
  hidden(col, 'string_size', () => 256);
  hidden(col, 'toString', () => name);
  return col;
}

/** dbt's load_result value of a statement. */
function statementResult(a: QueryAnswer, fetch: boolean): Record<string, unknown> {
  const table = agateTable(fetch ? a : { columns: a.columns, rows: [], rowsChanged: a.rowsChanged });
  return {
    response: { _message: 'OK', code: 'OK', rows_affected: a.rowsChanged },
    data: markTuple((table as unknown as { rows: unknown[][] }).rows.map((r) => markTuple([...r]))),
    table,
  };
}

/** The relation of `schema.identifier` as the catalog has it (table or view), or none. */
function getRelation(host: IntrospectionHost, database: unknown, schema: unknown, identifier: unknown): unknown {
  if (identifier === null || identifier === undefined) return null;
  const db = database === null || database === undefined || database === 'main' ? undefined : String(database);
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
    return a ? agateTable(a) : null;
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
    if (name !== null && name !== undefined) st.results.set(String(name), statementResult(a, fetch));
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
      const db = p.database === undefined || p.database === 'main' ? undefined : p.database;
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
      const res = statementResult(a ?? empty, fetch);
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
