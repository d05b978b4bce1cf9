/**
 * Column-level lineage of compiled model SQL (DuckDB dialect). DuckDB parses
 * (`json_serialize_sql`); lake's binder resolves names against the real upstream schemas; the
 * graph helpers walk the result across models.
 */
import type { Adapter } from '../adapter/types.js';
import { Binder, type BoundColumn } from './binder.js';
import { DuckDbSql, type ParseResult } from './duckdb-ast.js';
import type { ColumnLineage, ModelLineage } from './types.js';

export type { ColumnLineage, LineageEdge, LineageHop, LineageKind, ModelLineage } from './types.js';
export type { ParseResult } from './duckdb-ast.js';
export { downstreamOf, upstreamOf, lineageTreeLines, type LineageMap } from './graph.js';
export { relationIdOf } from './binder.js';

/** Options for `modelColumnLineage`. */
export interface LineageOptions {
  /**
   * Map a table as written in the SQL (`schema` is '' when unqualified) to a lake relation id,
   * e.g. a source over an existing table (`"raw"."bpm"` → `source:kafka.bpm`). Return undefined
   * for the default mapping (`schema.name`, the executor's temp views, `main.name`).
   */
  readonly relationId?: (schema: string, table: string) => string | undefined;
  /** `sql` already parsed by `parseModelSql` (saves one engine round trip per model). */
  readonly parsed?: ParseResult;
  /** The model a CTE stands for (lake inlines ephemeral models as `__lake_eph__<name>` CTEs). */
  readonly cteModel?: (cteName: string) => string | undefined;
  /** The fields of an upstream model's struct column, when its lineage has them (`s.p` columns). */
  readonly fieldsOf?: (relationId: string, column: string) => readonly string[] | undefined;
}

/**
 * Parse many models' SQL in one engine call per few hundred models, for `options.parsed` of
 * `modelColumnLineage`: same results as its own parse, in the order of `sqls`.
 */
export function parseModelSql(adapter: Adapter, sqls: readonly string[]): Promise<ParseResult[]> {
  return new DuckDbSql(adapter).parseMany(sqls);
}

/**
 * Lineage of each output column of one model's compiled SELECT.
 *
 * Relations in the SQL are `"schema"."name"` (or unquoted); the executor's temp views
 * `__lake_stream__<schema>__<name>` and `__lake_source__<source>__<table>` map to `<schema>.<name>`
 * and `source:<source>.<table>`. `schemaOf(relationId)` gives a relation's real columns, or
 * undefined when it is unknown: then a warning is added and the lineage goes on with what can be
 * known. SQL DuckDB cannot parse, or that the binder cannot follow, gives no columns and a
 * warning: this never throws for bad SQL (only when the adapter itself fails).
 *
 * `adapter` is only used to parse (any connection will do, `:memory:` included).
 */
export async function modelColumnLineage(
  adapter: Adapter,
  sql: string,
  schemaOf: (relationId: string) => readonly string[] | undefined,
  options: LineageOptions = {},
): Promise<ModelLineage> {
  const duck = new DuckDbSql(adapter);
  const parsed = options.parsed ?? (await duck.parse(sql));
  if ('error' in parsed) return { columns: [], warnings: [`cannot parse the model SQL: ${parsed.error}`] };
  const binder = new Binder(duck, await duck.functions(), schemaOf, options.relationId, options.cteModel, options.fieldsOf);
  if (parsed.extraStatements > 0) binder.warnings.add('the SQL holds more than one statement: only the first is traced');
  try {
    const cols = await binder.bindQuery(parsed.node, new Map(), undefined);
    // A struct column whose fields are known carries each field's lineage.
    const out = (c: BoundColumn, name: string): ColumnLineage => ({
      column: name, sources: c.sources, kind: c.kind,
      ...(c.fields?.size ? { fields: [...c.fields.values()].map((f) => out(f, f.name)) } : {}),
    });
    return {
      columns: cols.map((c) => out(c, c.name)),
      warnings: [...binder.warnings],
    };
  } catch (err) {
    // A parse tree shape the binder does not know must not stop a whole manifest from being built.
    return { columns: [], warnings: [...binder.warnings, `cannot trace column lineage: ${(err as Error).message.split('\n')[0]}`] };
  }
}
