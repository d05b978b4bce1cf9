/**
 * dbt's `graph` context variable: the project's models, seeds and sources as dbt's manifest nodes
 * (`graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')`), built from the
 * loaded project when a template first reads it. What lake knows before rendering: names,
 * relations, paths, configs from files and YAML, tags, descriptions, columns; and `depends_on`
 * and each config with its config() calls once every model has rendered (`dependsOn`,
 * `configOf`: the compiler renders again the models that read the graph, with them; before that
 * depends_on is left out rather than empty).
 */
import { modelUniqueId, pathInProject, sourceUniqueId, versionFields, type ColumnDoc, type LoadedProject, type NodeId } from '../core/types.js';
import { catalogName } from './dbt-compat.js';

export interface GraphContext {
  readonly nodes: Record<string, Record<string, unknown>>;
  readonly sources: Record<string, Record<string, unknown>>;
  readonly exposures: Record<string, never>;
  readonly metrics: Record<string, never>;
  readonly groups: Record<string, never>;
  readonly semantic_models: Record<string, never>;
}

function columns(cols: readonly ColumnDoc[]): Record<string, Record<string, unknown>> {
  return Object.fromEntries(cols.map((c) => [c.name, { name: c.name, description: c.description ?? '', data_type: c.dataType ?? null, meta: c.meta ?? {} }]));
}

export function graphContext(project: LoadedProject, dependsOn?: (id: NodeId) => readonly NodeId[] | undefined, configOf?: (id: NodeId) => Readonly<Record<string, unknown>> | undefined): GraphContext {
  return buildGraph(project, dependsOn, configOf).graph;
}

/** Each model's, seed's and source's node as `graph` holds it (dbt's unique_id and the rest), by lake's id. */
export function graphNodesById(project: LoadedProject, dependsOn?: (id: NodeId) => readonly NodeId[] | undefined, configOf?: (id: NodeId) => Readonly<Record<string, unknown>> | undefined): Map<NodeId, Record<string, unknown>> {
  const { graph, uniqueIds } = buildGraph(project, dependsOn, configOf);
  return new Map([...uniqueIds].map(([id, u]) => [id, graph.nodes[u] ?? graph.sources[u]!]));
}

function buildGraph(project: LoadedProject, dependsOn?: (id: NodeId) => readonly NodeId[] | undefined, configOf?: (id: NodeId) => Readonly<Record<string, unknown>> | undefined): { graph: GraphContext; uniqueIds: Map<NodeId, string> } {
  const nodes: Record<string, Record<string, unknown>> = {};
  // lake's ids (`silver.users`, `source:crm.users`) as dbt's unique ids, for depends_on.
  const uniqueIds = new Map<NodeId, string>();
  const names = new Map<string, number>();
  for (const m of project.models.values()) names.set(`${m.package ?? project.name}.${m.name}`, (names.get(`${m.package ?? project.name}.${m.name}`) ?? 0) + 1);
  for (const m of project.models.values()) {
    // dbt's unique id; two lake models of one name (in two schemas) keep theirs apart by schema.
    const type = m.resourceType ?? 'model';
    const pkg = m.package ?? project.name;
    const id = names.get(`${pkg}.${m.name}`)! > 1 ? `${type}.${pkg}.${m.id}` : modelUniqueId(pkg, m);
    const file = pathInProject(project, m);
    const folders = file.split('/').slice(1, -1);
    // With its config() calls once every model has rendered (as dbt's graph has them), else from files and YAML.
    const cfg = (configOf?.(m.id) ?? m.config) as unknown as Record<string, unknown>;
    nodes[id] = {
      unique_id: id, name: m.name, resource_type: type, package_name: pkg, database: catalogName(project.target.path), schema: m.id.split('.')[0],
      alias: typeof cfg.alias === 'string' ? cfg.alias : m.name, identifier: typeof cfg.alias === 'string' ? cfg.alias : m.name,
      path: file.split('/').slice(1).join('/'), original_file_path: file, fqn: [pkg, ...folders, ...(m.version ? [m.version.model, `v${m.version.v}`] : [m.name])],
      tags: Array.isArray(cfg.tags) ? cfg.tags : [], config: { ...cfg }, description: m.description ?? '', columns: columns(m.columns),
      raw_code: m.rawSql, language: 'sql', meta: (cfg.meta as Record<string, unknown> | undefined) ?? {},
      // dbt's name of a version is its model's, with version and latest_version.
      version: null, latest_version: null, ...versionFields(m),
    };
    uniqueIds.set(m.id, id);
  }
  for (const s of project.seeds.values()) {
    const pkg = s.package ?? project.name;
    const id = `seed.${pkg}.${s.name}`;
    const file = pathInProject(project, s);
    nodes[id] = {
      unique_id: id, name: s.name, resource_type: 'seed', package_name: pkg, database: catalogName(project.target.path), schema: s.schema, alias: s.alias ?? s.name, identifier: s.alias ?? s.name,
      path: file, original_file_path: file, fqn: [pkg, s.name], tags: [...s.tags], config: { column_types: { ...s.columnTypes } },
      description: s.description ?? '', columns: columns(s.columns),
    };
    uniqueIds.set(s.id, id);
  }
  const sources: Record<string, Record<string, unknown>> = {};
  for (const s of project.sources.values()) {
    const pkg = s.package ?? project.name;
    const id = sourceUniqueId(project.name, s);
    sources[id] = {
      unique_id: id, name: s.name, source_name: s.sourceName, resource_type: 'source', package_name: pkg,
      database: s.database ?? catalogName(project.target.path), schema: s.schema, identifier: s.identifier, loaded_at_field: s.loadedAtField ?? null,
      fqn: [pkg, s.sourceName, s.name], tags: [...s.tags], description: s.description ?? '', columns: columns(s.columns),
      original_file_path: pathInProject(project, s),
    };
    uniqueIds.set(s.id, id);
  }
  if (dependsOn) {
    for (const m of project.models.values()) {
      const deps = dependsOn(m.id);
      const node = nodes[uniqueIds.get(m.id)!];
      if (deps && node) node.depends_on = { nodes: deps.map((d) => uniqueIds.get(d)).filter((x): x is string => !!x), macros: [] };
    }
  }
  return { graph: { nodes, sources, exposures: {}, metrics: {}, groups: {}, semantic_models: {} }, uniqueIds };
}
