/**
 * What a batch of file changes means for the database, decided without touching it: which nodes
 * to rebuild first (the graph adds their descendants) and which relations to drop because their
 * model is gone. Pure, so the rules are tested on their own.
 *
 * The rules, from the narrowest change to the widest:
 * - a saved model or seed rebuilds itself (even when the text is the same: saving is how people ask);
 * - a macro file rebuilds every model that called a macro defined in it, before or after the edit
 *   (the manifest's depends_on.macros);
 * - a YAML, macro or project file can change any model's config, sources or rendered SQL, so after
 *   one of those every model whose fingerprint (SQL, config, sources read) differs from the one
 *   last built is rebuilt too;
 * - a node the watch has never built (new file, newly selected, or broken until now) is built.
 * A model whose SQL differs on every compile (`run_started_at`, `env_var`) is rebuilt by every
 * "wide" change; saving a model file alone does not compare fingerprints, so it is left alone then.
 */
import type { CompiledNode, CompiledProject, NodeId, Relation } from '../core/types.js';
import { relationId, seedRelation } from '../core/types.js';
import type { FileChange } from './files.js';

/** The parts of a compiled session the planner reads. */
export interface ProjectView {
  readonly compiled: CompiledProject;
  /** Macro name → the file defining it (TemplateEngine.macroIndex). */
  readonly macroIndex: ReadonlyMap<string, { readonly path: string }>;
}

/** What decides whether a built model is out of date: its SQL, final config and the sources it reads. */
export function fingerprint(n: CompiledNode, compiled: CompiledProject): string {
  const sources = n.dependsOn.sources.map((id) => {
    const s = compiled.project.sources.get(id);
    // Not the YAML line or description: moving a declaration down a file changes nothing built.
    return s ? [s.id, s.schema, s.identifier, s.landing ?? null] : [id];
  });
  return JSON.stringify([n.sql, n.config, sources]);
}

/** Fingerprints of every model and seed of a compiled project. */
export function fingerprints(compiled: CompiledProject): Map<NodeId, string> {
  const out = new Map<NodeId, string>();
  for (const n of compiled.nodes.values()) out.set(n.id, fingerprint(n, compiled));
  for (const s of compiled.project.seeds.values()) out.set(s.id, s.checksum);
  return out;
}

/**
 * Nodes a batch of changes rebuilds directly (before descendants and selection are applied).
 * `built` holds the fingerprint each node had when the watch last built it.
 */
export function directlyAffected(prev: ProjectView | undefined, next: ProjectView, changes: readonly FileChange[], built: ReadonlyMap<NodeId, string>): Set<NodeId> {
  const out = new Set<NodeId>();
  const { nodes } = next.compiled;
  const seeds = next.compiled.project.seeds;
  const now = fingerprints(next.compiled);
  let wide = false;
  for (const ch of changes) {
    switch (ch.kind) {
      case 'model':
        for (const n of nodes.values()) if (n.node.path === ch.path) out.add(n.id);
        // A model added or removed can change what other refs resolve to.
        if (ch.deleted || !prev || ![...prev.compiled.nodes.values()].some((n) => n.node.path === ch.path)) wide = true;
        break;
      case 'seed':
        for (const s of seeds.values()) if (s.path === ch.path) out.add(s.id);
        if (ch.deleted) wide = true;
        break;
      case 'macro': {
        const names = new Set<string>();
        for (const view of [prev, next]) {
          for (const [name, m] of view?.macroIndex ?? []) if (m.path === ch.path) names.add(name);
        }
        const users = (view: ProjectView | undefined) => [...(view?.compiled.nodes.values() ?? [])].filter((n) => n.dependsOn.macros.some((m) => names.has(m))).map((n) => n.id);
        for (const id of [...users(prev), ...users(next)]) if (nodes.has(id)) out.add(id);
        wide = true;
        break;
      }
      case 'yaml':
      case 'project':
        wide = true;
        break;
      case 'test':
        break;
    }
  }
  for (const [id, fp] of now) {
    const was = built.get(id);
    if (was === undefined || (wide && was !== fp)) out.add(id);
  }
  return out;
}

/** A relation that no longer has a model or seed behind it. */
export interface Removed {
  readonly id: NodeId;
  readonly relation: Relation;
  /** The file that defined it. */
  readonly path: string;
}

function relationsOf(view: ProjectView): Map<string, Removed> {
  const out = new Map<string, Removed>();
  for (const n of view.compiled.nodes.values()) {
    if (n.config.materialized === 'ephemeral') continue;
    out.set(relationId(n.relation), { id: n.id, relation: n.relation, path: n.node.path });
  }
  for (const s of view.compiled.project.seeds.values()) {
    const relation = seedRelation(s);
    out.set(relationId(relation), { id: s.id, relation, path: s.path });
  }
  return out;
}

/**
 * Relations to drop. With a new compiled project: those the previous one built and the new one
 * does not. Without one (the project does not compile): those whose file was deleted.
 */
export function removedRelations(prev: ProjectView, next: ProjectView | undefined, deletedPaths: ReadonlySet<string>): Removed[] {
  const before = relationsOf(prev);
  if (next) {
    const after = relationsOf(next);
    return [...before].filter(([rel]) => !after.has(rel)).map(([, r]) => r);
  }
  return [...before.values()].filter((r) => deletedPaths.has(r.path));
}

/**
 * What a node's tests are: its YAML data tests (model and columns), the custom generic test
 * macros they call (`{% test name %}`, with what those call), and the unit tests of it.
 */
function testsOf(view: ProjectView, id: NodeId): string {
  const compiled = view.compiled;
  const n = compiled.nodes.get(id);
  const seed = n ? undefined : compiled.project.seeds.get(id);
  const owner = n?.node ?? seed;
  if (!owner) return '';
  const macro = (name: string) => (view.macroIndex.get(`test_${name}`) as { checksum?: string } | undefined)?.checksum ?? null;
  const strip = (t: { name: string; args: unknown; config: unknown; namespace?: string }) => [t.namespace ?? null, t.name, t.args, t.config, macro(t.name)];
  const units = n ? compiled.project.unitTests.filter((u) => u.model === n.node.name || u.model === n.id).map((u) => Object.fromEntries(Object.entries(u).filter(([k]) => k !== '__line'))) : [];
  return JSON.stringify([owner.tests.map(strip), owner.columns.map((c) => [c.name, c.tests.map(strip)]), units]);
}

/**
 * Nodes whose tests changed between two compiles (a test added, removed or edited in YAML, a unit
 * test changed): `lake watch --test` runs their tests again without rebuilding them.
 */
export function testsChanged(prev: ProjectView | undefined, next: ProjectView): Set<NodeId> {
  const out = new Set<NodeId>();
  if (!prev) return out;
  const ids = [...next.compiled.nodes.keys(), ...next.compiled.project.seeds.keys()];
  for (const id of ids) if (testsOf(prev, id) !== testsOf(next, id)) out.add(id);
  return out;
}

