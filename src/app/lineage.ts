/**
 * Column lineage for a whole project: every model's compiled SQL bound against the real columns of
 * its upstream relations (from the database catalog; for landing-zone sources, their declared
 * columns plus lake's metadata columns). Used by `lake lineage` and `lake docs generate`.
 */
import type { Adapter } from '../adapter/types.js';
import type { SourceNode } from '../core/types.js';
import { modelColumnLineage, parseModelSql, type ColumnLineage } from '../lineage/index.js';
import type { Session } from './session.js';

const LANDING_META = ['_lake_file', '_lake_line', '_lake_batch', '_lake_file_mtime'];
const KAFKA_META = ['_key', '_topic', '_partition', '_offset', '_timestamp'];

function landingColumns(s: SourceNode): string[] | undefined {
  if (!s.landing?.columns) return undefined;
  return [...Object.keys(s.landing.columns), ...(s.landing.format === 'kafka' ? KAFKA_META : []), ...LANDING_META];
}

export interface ProjectLineage {
  readonly models: Map<string, ColumnLineage[]>;
  readonly warnings: Map<string, string[]>;
  /** Columns of a model, seed or source as the database (or a landing source's YAML) has them. */
  readonly columnsOf: (id: string) => readonly string[] | undefined;
}

/** Lineage of every compiled model. */
export async function projectLineage(session: Session, db: Adapter): Promise<ProjectLineage> {
  const catalog = new Map<string, string[]>();
  const rows = await db.query<{ s: string; t: string; c: string }>(
    `select table_schema as s, table_name as t, column_name as c from information_schema.columns order by table_schema, table_name, ordinal_position`,
  );
  for (const r of rows) {
    const k = `${r.s}.${r.t}`;
    const list = catalog.get(k) ?? [];
    list.push(r.c);
    catalog.set(k, list);
  }
  const bySourceTable = new Map<string, string>();
  for (const s of session.project.sources.values()) if (!s.landing) bySourceTable.set(`${s.schema}.${s.identifier}`.toLowerCase(), s.id);
  const schemaOf = (id: string): readonly string[] | undefined => {
    if (id.startsWith('source:')) {
      const s = session.project.sources.get(id);
      if (!s) return undefined;
      return s.landing ? landingColumns(s) : catalog.get(`${s.schema}.${s.identifier}`);
    }
    const rel = session.compiler.relationOf(id);
    return rel ? catalog.get(`${rel.schema}.${rel.name}`) : catalog.get(id);
  };
  const models = new Map<string, ColumnLineage[]>();
  const warnings = new Map<string, string[]>();
  // Ephemeral models too: they have no table, but columns and lineage of their own, and their
  // consumers (which inline them as CTEs) read them.
  // In graph order: an upstream model's struct fields are known when its consumers are bound.
  const order = new Map(session.dag.topoOrder().map((id, i) => [id, i]));
  const todo = [...session.compiled.nodes].sort((a, b) => (order.get(a[0]) ?? 0) - (order.get(b[0]) ?? 0));
  const ephemerals = new Map(todo.filter(([, n]) => n.config.materialized === 'ephemeral').map(([id, n]) => [`__lake_eph__${n.relation.name}`.toLowerCase(), id]));
  const cteModel = ephemerals.size ? (name: string) => ephemerals.get(name.toLowerCase()) : undefined;
  // One parse call for all models: a round trip per model was most of the time on big projects.
  let parsed: Awaited<ReturnType<typeof parseModelSql>> = [];
  try {
    parsed = await parseModelSql(db, todo.map(([, n]) => n.sql));
  } catch {
    // the engine refused the batch as a whole: each model parses on its own below, as before
  }
  const relationId = (schema: string, table: string): string | undefined => bySourceTable.get(`${schema}.${table}`.toLowerCase());
  const fieldsOf = (rel: string, column: string): string[] | undefined => {
    const prefix = `${column.toLowerCase()}.`;
    const names = (models.get(rel) ?? []).map((c) => c.column).filter((c) => c.toLowerCase().startsWith(prefix) && !c.slice(prefix.length).includes('.')).map((c) => c.slice(prefix.length));
    return names.length ? names : undefined;
  };
  for (const [k, [id, n]] of todo.entries()) {
    const r = await modelColumnLineage(db, n.sql, schemaOf, { relationId, parsed: parsed[k], cteModel, fieldsOf });
    // A struct's fields are columns `s.p` here: `lake lineage m.s.p`, and a consumer's `s.p` traces to them.
    const flat = (c: ColumnLineage, prefix: string): ColumnLineage[] => [{ column: prefix, sources: c.sources, kind: c.kind }, ...(c.fields ?? []).flatMap((f) => flat(f, `${prefix}.${f.column}`))];
    models.set(id, r.columns.flatMap((c) => flat(c, c.column)));
    if (r.warnings.length) warnings.set(id, r.warnings);
  }
  return { models, warnings, columnsOf: schemaOf };
}

/** The manifest's `column_lineage` shape: model → column → upstream edges. */
export function lineageForManifest(l: ProjectLineage): Record<string, Record<string, { relation: string; column: string }[]>> {
  const out: Record<string, Record<string, { relation: string; column: string }[]>> = {};
  for (const [id, cols] of l.models) out[id] = Object.fromEntries(cols.map((c) => [c.column, c.sources.map((s) => ({ relation: s.relation, column: s.column }))]));
  return out;
}
