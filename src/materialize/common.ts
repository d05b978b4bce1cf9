/**
 * SQL building blocks shared by the strategies: temp names, column lists, the build-and-swap and
 * on_schema_change.
 */
import type { Column, CompiledNode, Relation } from '../core/types.js';
import type { Dialect } from '../adapter/types.js';
import type { PlanContext, Statement } from './types.js';
import { PlanError } from './types.js';
import { contractTableSql } from './contract.js';

export const exec = (sql: string, label: string, countRows = false): Statement => ({ kind: 'exec', sql, label, countRows });

export function tempRelation(rel: Relation): Relation {
  return { schema: rel.schema, name: `${rel.name}__lake_tmp` };
}

/** Temp (connection-local) table holding a model's new rows. */
export function stageName(rel: Relation): string {
  return `__lake_new__${rel.schema}__${rel.name}`;
}

export function cols(d: Dialect, columns: readonly (Column | string)[], prefix = ''): string {
  return columns.map((c) => `${prefix}${d.quote(typeof c === 'string' ? c : c.name)}`).join(', ');
}

export function createSchema(d: Dialect, rel: Relation): Statement {
  return exec(`create schema if not exists ${d.quote(rel.schema)}`, 'schema');
}

export function dropExisting(ctx: PlanContext): Statement[] {
  if (!ctx.existing) return [];
  const what = ctx.existing.kind === 'view' ? 'view' : 'table';
  return [exec(`drop ${what} if exists ${ctx.dialect.relation(ctx.relation)}`, `drop old ${what}`)];
}

/**
 * Build the full result under a temporary name, then drop the old relation and rename the new one.
 * The executor runs all of it in one transaction, so a failure or a kill leaves the old table.
 */
export function buildAndSwap(ctx: PlanContext, selectSql: string): Statement[] {
  const d = ctx.dialect;
  const tmp = tempRelation(ctx.relation);
  return [
    createSchema(d, ctx.relation),
    exec(`drop table if exists ${d.relation(tmp)}`, 'drop stale temp'),
    ...(ctx.contract
      // An enforced contract: the table's columns, types and constraints are the contract's; the rows come after.
      ? [exec(`create table ${d.relation(tmp)} (\n  ${contractTableSql(d, ctx.contract)}\n)`, 'build from contract'),
        exec(`insert into ${d.relation(tmp)} (${cols(d, ctx.contract.columns)})\nselect ${cols(d, ctx.contract.columns)} from (\n${selectSql}\n) as __lake_src`, 'build')]
      : [exec(`create table ${d.relation(tmp)} as\n${selectSql}`, 'build')]),
    { kind: 'count', sql: `select count(*) as n from ${d.relation(tmp)}`, label: 'count' },
    ...dropExisting(ctx),
    exec(`alter table ${d.relation(tmp)} rename to ${d.quote(ctx.relation.name)}`, 'swap'),
  ];
}

/** `a = b and ...` over key columns (NULL-safe: keys that are NULL still match each other). */
export function keyMatch(d: Dialect, keys: readonly string[], left: string, right: string): string {
  return keys.map((k) => `${left}.${d.quote(k)} is not distinct from ${right}.${d.quote(k)}`).join(' and ');
}

/** Case-insensitive column lookup (DuckDB identifiers are case-insensitive). */
export function hasColumn(columns: readonly Column[], name: string): boolean {
  const n = name.toLowerCase();
  return columns.some((c) => c.name.toLowerCase() === n);
}

/**
 * A unique_key entry as the column it names: a column of the SELECT, a name as written, or a
 * double-quoted one unquoted (`"Id"`, which dbt-duckdb pastes into its SQL as is; lake's cdc reads its
 * unique_key, sequence_by and except_columns the same way). Anything else is
 * an SQL expression over the model's columns (`id || '-' || k2`): undefined.
 */
export function keyColumn(key: string, incoming: readonly Column[] = []): string | undefined {
  if (hasColumn(incoming, key)) return key;
  const k = key.trim();
  if (/^[A-Za-z_][A-Za-z0-9_$]*$/.test(k)) return k;
  const quoted = /^"((?:[^"]|"")+)"$/.exec(k);
  return quoted ? quoted[1]!.replace(/""/g, '"') : undefined;
}

/**
 * Landing order within a batch: the file's mtime and name (the order lake discovers files in),
 * then the line. Rows that carry these columns can be put in the order they landed, whatever run
 * they landed in (insert_new keeps the first of a key, cdc lets the last of a key win at a tie).
 */
export const LANDING_ORDER: readonly string[] = ['_lake_file_mtime', '_lake_file', '_lake_line'];

/** The column a SELECT's row order is numbered in (`row_number() over ()`) when that order is arrival order. */
export const ARRIVAL = '__lake_arrival';

/**
 * Whether ties go by the SELECT's own row order: the PlanContext says it is arrival order
 * (`arrivalOrder`: a model that reads a landing source) and the rows carry no file mtime and name
 * of their own.
 */
export function byArrival(incoming: readonly Column[], arrival: boolean): boolean {
  return arrival && !(hasColumn(incoming, '_lake_file_mtime') && hasColumn(incoming, '_lake_file'));
}

/** The SELECT with its row order as a column (DuckDB keeps the order through an empty OVER). */
export function numbered(d: Dialect, sql: string): string {
  return `select *, row_number() over () as ${d.quote(ARRIVAL)} from (\n${sql}\n) as __lake_arriving`;
}

/** A type as DuckDB names it, for comparing spellings (`int` and `INTEGER` are one type). */
function normalType(t: string): string {
  const u = t.trim().toUpperCase().replace(/\s+/g, ' ');
  const alias: Record<string, string> = { INT: 'INTEGER', INT4: 'INTEGER', INT8: 'BIGINT', LONG: 'BIGINT', INT2: 'SMALLINT', SHORT: 'SMALLINT', INT1: 'TINYINT', FLOAT8: 'DOUBLE', FLOAT4: 'FLOAT', REAL: 'FLOAT', STRING: 'VARCHAR', TEXT: 'VARCHAR', BOOL: 'BOOLEAN', DATETIME: 'TIMESTAMP', NUMERIC: 'DECIMAL(18,3)', DECIMAL: 'DECIMAL(18,3)' };
  return alias[u] ?? u;
}

/** Columns in incoming but not in the target, and the reverse (names compared case-insensitively). */
export function schemaDiff(existing: readonly Column[], incoming: readonly Column[]): { added: Column[]; removed: Column[] } {
  return {
    added: incoming.filter((c) => !hasColumn(existing, c.name)),
    removed: existing.filter((c) => !hasColumn(incoming, c.name)),
  };
}

/** The labels of schemaChange's statements (the executor names them in errors, microbatch builds by them). */
export const SCHEMA_CHANGE_LABEL = /^(add|drop|retype) column /;

/** Columns both sides have, with another type (as dbt counts it: a schema change). */
export function retypedColumns(existing: readonly Column[], desired: readonly Column[]): { name: string; from: string; to: string }[] {
  return desired.flatMap((c) => {
    const e = existing.find((x) => x.name.toLowerCase() === c.name.toLowerCase());
    return e && normalType(e.type) !== normalType(c.type) ? [{ name: c.name, from: e.type, to: c.type }] : [];
  });
}

/**
 * on_schema_change for an existing table: the ALTERs to run, and which of `desired` the new rows
 * may write. `existing` and `desired` are the columns the strategy compares (CDC leaves out the
 * valid_from/valid_to it manages itself).
 */
export function schemaChange(
  node: CompiledNode, ctx: PlanContext, existing: readonly Column[], desired: readonly Column[],
): { statements: Statement[]; columns: Column[] } {
  const d = ctx.dialect;
  const { added, removed } = schemaDiff(existing, desired);
  const retyped = retypedColumns(existing, desired);
  const mode = node.config.on_schema_change;
  const rel = d.relation(ctx.relation);
  if (added.length === 0 && removed.length === 0 && retyped.length === 0) return { statements: [], columns: [...desired] };
  if (mode === 'fail') {
    const types = retyped.length ? `; type changed: ${retyped.map((c) => `${c.name} ${c.from} -> ${c.to}`).join(', ')}` : '';
    throw new PlanError({
      code: 'LAKE-X010', severity: 'error', node: node.id, file: node.node.path,
      message: `${node.id}: the columns changed (added: ${added.map((c) => c.name).join(', ') || 'none'}; removed: ${removed.map((c) => c.name).join(', ') || 'none'}${types}) and on_schema_change is 'fail'`,
      hint: 'run with --full-refresh, or set on_schema_change to append_new_columns or sync_all_columns',
    });
  }
  const statements: Statement[] = [];
  if (mode === 'append_new_columns' || mode === 'sync_all_columns') {
    for (const c of added) statements.push(exec(`alter table ${rel} add column ${d.quote(c.name)} ${c.type}`, `add column ${c.name}`));
  }
  if (mode === 'sync_all_columns') {
    for (const c of removed) statements.push(exec(`alter table ${rel} drop column ${d.quote(c.name)}`, `drop column ${c.name}`));
    // The table takes the new type (its rows are cast; one that does not fit fails the build).
    for (const c of retyped) statements.push(exec(`alter table ${rel} alter column ${d.quote(c.name)} set data type ${c.to}`, `retype column ${c.name}`));
  }
  const writable = mode === 'ignore' ? desired.filter((c) => hasColumn(existing, c.name)) : [...desired];
  return { statements, columns: writable };
}
