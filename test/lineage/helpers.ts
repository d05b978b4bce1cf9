/**
 * Test helpers: a real in-memory DuckDB holding the upstream relations of a test case, so that
 * each case can check lake's column names against what DuckDB itself creates from the same SQL.
 */
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { modelColumnLineage, type ModelLineage } from '../../src/lineage/index.js';
import { landingViewName, streamViewName } from '../../src/core/types.js';

/** relation id -> column definitions, e.g. `{ 'silver.users': 'id int, name varchar' }`. */
export type Catalog = Record<string, string>;

function sqlName(id: string): string {
  if (id.startsWith('source:')) {
    const [src, table] = id.slice('source:'.length).split('.') as [string, string];
    return `"${landingViewName(src, table)}"`;
  }
  const [schema, name] = id.split('.') as [string, string];
  return `"${schema}"."${name}"`;
}

/** Create the catalog's relations (plus a stream temp view over each model relation). */
export async function setup(adapter: DuckDBAdapter, catalog: Catalog): Promise<void> {
  for (const [id, cols] of Object.entries(catalog)) {
    if (!id.startsWith('source:')) await adapter.execute(`create schema if not exists "${id.split('.')[0]}"`);
    await adapter.execute(`create or replace table ${sqlName(id)} (${cols})`);
    if (!id.startsWith('source:')) {
      const [schema, name] = id.split('.') as [string, string];
      await adapter.execute(`create or replace view "${streamViewName({ schema, name })}" as select * from ${sqlName(id)}`);
    }
  }
}

/** schemaOf from the live catalog, as the manifest builder does it. */
export function schemaOfFrom(catalog: Catalog): (id: string) => readonly string[] | undefined {
  const cache = new Map<string, string[]>();
  return (id) => {
    const def = catalog[id];
    if (def === undefined) return undefined;
    if (!cache.has(id)) cache.set(id, splitTopLevel(def).map((c) => c.trim().match(/^("(?:[^"]|"")+"|\S+)/)![1]!.replace(/^"|"$/g, '')));
    return cache.get(id);
  };
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

/** Column names DuckDB gives the relation created from `sql`. */
export async function duckdbNames(adapter: DuckDBAdapter, sql: string): Promise<string[]> {
  await adapter.execute(`create or replace temp view __lake_lineage_check as ${sql}`);
  const rows = await adapter.query<{ column_name: string }>(`select column_name from (describe __lake_lineage_check)`);
  return rows.map((r) => r.column_name);
}

/** Run lineage for `sql` against `catalog`, and check its column names match DuckDB's. */
export async function lineage(adapter: DuckDBAdapter, catalog: Catalog, sql: string, opts: { checkNames?: boolean } = {}): Promise<ModelLineage & { duckdb?: string[] }> {
  const result = await modelColumnLineage(adapter, sql, schemaOfFrom(catalog));
  if (opts.checkNames === false) return result;
  await setup(adapter, catalog);
  return { ...result, duckdb: await duckdbNames(adapter, sql) };
}
