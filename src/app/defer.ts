/**
 * `--defer` (dbt's): a selected model that refs a model or seed which is not selected and not
 * built in this target reads it from the database the `--state` manifest was built in (attached
 * read-only), so a CI run can build only what changed (`-s state:modified+ --defer`).
 */
import * as fs from 'node:fs';
import type { Adapter } from '../adapter/types.js';
import type { NodeId } from '../core/types.js';
import { quoteIdent, relationSql } from '../core/types.js';
import { LakeError } from '../errors/index.js';
import type { Dag } from '../graph/dag.js';
import type { StateEntry, StateManifest } from '../graph/state.js';

export const DEFER_DB = '__lake_defer';

export interface DeferPlan {
  /** Node id → the relation in the deferred database, as SQL. */
  readonly relations: ReadonlyMap<NodeId, string>;
  /** The database file to attach. */
  readonly path: string;
}

/**
 * The parents of `ids` to read from the state's database: models and seeds outside `ids` whose
 * relation is not in the current database (`relationOf` gives where this target would build
 * them) but is in the state's manifest.
 */
export async function planDefer(db: Adapter, dag: Dag, ids: readonly NodeId[], node: (id: NodeId) => { relation: { schema: string; name: string }; path: string; ephemeral: boolean } | undefined, previous: StateManifest, stateDir: string, targetPath: string): Promise<DeferPlan | undefined> {
  const chosen = new Set(ids);
  const parents = new Set<NodeId>();
  // Through ephemeral parents (inlined, no relation) to the relations they read.
  const visit = (id: NodeId, seen: Set<NodeId>) => {
    for (const p of dag.parents(id)) {
      if (chosen.has(p) || p.startsWith('source:') || seen.has(p)) continue;
      seen.add(p);
      if (node(p)?.ephemeral) visit(p, seen);
      else parents.add(p);
    }
  };
  const seen = new Set<NodeId>();
  for (const id of ids) visit(id, seen);
  if (parents.size === 0) return undefined;
  // A node of another target has another schema, so another id: the same file is the same node.
  const byPath = new Map<string, StateEntry>();
  for (const e of previous.entries.values()) if (e.path && e.resource_type !== 'source') byPath.set(e.path, e);
  const here = new Set((await db.query<{ s: string; n: string }>(
    `select schema_name as s, table_name as n from duckdb_tables() where database_name = current_database()
     union all select schema_name, view_name from duckdb_views() where database_name = current_database() and not internal`)).map((r) => `${r.s}.${r.n}`.toLowerCase()));
  const relations = new Map<NodeId, string>();
  for (const p of parents) {
    const n = node(p);
    const rel = n?.relation;
    if (!rel || here.has(`${rel.schema}.${rel.name}`.toLowerCase())) continue;
    const e = previous.entries.get(p) ?? byPath.get(n.path);
    if (!e?.schema || (e.resource_type !== 'model' && e.resource_type !== 'seed')) continue;
    relations.set(p, `${quoteIdent(DEFER_DB)}.${relationSql({ schema: e.schema, name: e.alias ?? rel.name })}`);
  }
  if (relations.size === 0) return undefined;
  const path = previous.targetPath;
  if (!path || path === ':memory:') {
    throw new LakeError('usage', { code: 'LAKE-U041', severity: 'error', message: `--defer: the manifest in ${stateDir} names no database file to read ${[...relations.keys()].join(', ')} from`, hint: 'point --state at the target/ folder of a run on a file database (its manifest records where it built)' });
  }
  if (path === targetPath) {
    throw new LakeError('usage', { code: 'LAKE-U041', severity: 'error', message: `--defer: ${stateDir} was built in this target's own database, which lacks ${[...relations.keys()].slice(0, 3).join(', ')}`, hint: 'point --state at the target/ folder of another target (e.g. a copy of production\'s)' });
  }
  if (!fs.existsSync(path)) {
    throw new LakeError('usage', { code: 'LAKE-U041', severity: 'error', message: `--defer: the database of ${stateDir}, ${path}, does not exist`, hint: `make it available at that path (read-only is enough) to read ${[...relations.keys()].slice(0, 3).join(', ')} from it` });
  }
  return { relations, path };
}
