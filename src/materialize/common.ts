/** SQL building blocks shared by the strategies: temp names, column lists, the build-and-swap. */
import type { Column, Relation } from '../core/types.js';
import type { Dialect } from '../adapter/types.js';
import type { PlanContext, Statement } from './types.js';

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
    exec(`create table ${d.relation(tmp)} as\n${selectSql}`, 'build'),
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
