/**
 * target/catalog.json: what the database holds now — column types and row counts per node, and
 * per landing-zone source the files and rows ingested (from the `_lake.files` ledger).
 */
import type { Adapter } from '../adapter/types.js';
import type { Session } from './session.js';

export interface CatalogJson {
  nodes: Record<string, { columns: { name: string; type: string }[]; rows?: number }>;
  sources: Record<string, { files?: number; rows?: number; bad_records?: number; columns?: { name: string; type: string }[] }>;
}

export async function buildCatalog(session: Session, db: Adapter): Promise<CatalogJson> {
  const cols = await db.query<{ s: string; t: string; c: string; ty: string }>(
    `select table_schema as s, table_name as t, column_name as c, data_type as ty from information_schema.columns order by table_schema, table_name, ordinal_position`,
  );
  const byRel = new Map<string, { name: string; type: string }[]>();
  for (const r of cols) {
    const k = `${r.s}.${r.t}`;
    const list = byRel.get(k) ?? [];
    list.push({ name: r.c, type: r.ty });
    byRel.set(k, list);
  }
  const sizes = new Map<string, number>();
  for (const r of await db.query<{ s: string; t: string; n: number }>(`select schema_name as s, table_name as t, estimated_size as n from duckdb_tables()`)) sizes.set(`${r.s}.${r.t}`, Number(r.n));
  const nodes: CatalogJson['nodes'] = {};
  const ids = [...session.compiled.nodes.keys(), ...session.project.seeds.keys()];
  for (const id of ids) {
    const rel = session.compiler.relationOf(id);
    if (!rel) continue;
    const k = `${rel.schema}.${rel.name}`;
    const columns = byRel.get(k);
    if (columns) nodes[id] = { columns, rows: sizes.get(k) };
  }
  const sources: CatalogJson['sources'] = {};
  // A source over an existing table has its real column types in the database, like a model.
  // (No row count: the docs read `rows` on a source as landing-zone ingestion figures.)
  for (const s of session.project.sources.values()) {
    if (s.landing) continue;
    const columns = byRel.get(`${s.schema}.${s.identifier}`);
    if (columns) sources[s.id] = { columns };
  }
  const ledger = await db.query(`select 1 from information_schema.tables where table_schema = '_lake' and table_name = 'files'`);
  if (ledger.length) {
    try {
      const rows = await db.query<{ src: string; files: number; n: number; bad: number }>(
        `select source as src, count(distinct path) as files, sum(rows) as n, sum(bad_rows) as bad from _lake.files group by source`,
      );
      for (const r of rows) {
        const id = r.src.startsWith('source:') ? r.src : `source:${r.src}`;
        sources[id] = { ...sources[id], files: Number(r.files), rows: Number(r.n ?? 0), bad_records: Number(r.bad ?? 0) };
      }
    } catch {
      // An older ledger layout: the docs show no file counts rather than failing.
    }
  }
  return { nodes, sources };
}
