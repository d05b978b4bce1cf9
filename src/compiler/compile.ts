/**
 * LoadedProject → CompiledProject: renders every model, merges `config()` calls into its config,
 * resolves refs (with "did you mean" diagnostics), inlines ephemeral models as CTEs and computes
 * checksums. Pure: never opens a database.
 *
 * The Compiler keeps what it rendered, so the authoring loop can patch one file in cheaply:
 *
 *   const compiler = new Compiler(loadProject(root));
 *   compiler.compileAll();
 *   // a model file changed (text undefined: it was deleted)
 *   const u = compiler.updateModel('models/silver/users.sql', fs.readFileSync(file, 'utf8'));
 *   u.changed        // ids whose compiled node changed (the edited model, models inlining it if
 *                    // it is ephemeral, models whose refs now resolve differently), to rebuild
 *                    // along with their descendants
 *   u.graphChanged   // refs or the set of models changed: rebuild the DAG from compiler.result()
 *   compiler.result() // the CompiledProject now (same shape compileAll returns)
 *
 * Only model `.sql` files go through updateModel; a change to YAML, macros, seeds or project.yml
 * needs a fresh loadProject + compileAll (they can change every model).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from '../errors/index.js';
import { closest } from '../errors/index.js';
import type { CompiledNode, CompiledProject, LoadedProject, ModelConfig, ModelNode, NodeId, Relation } from '../core/types.js';
import { compareVersions, preferredRef, refKeysOf, refText, relationSql, quoteIdent, seedRelation, splitRefKey, streamViewName } from '../core/types.js';
import { emptyRelation, filteredRelation, windowCondition, type MicrobatchWindow } from '../core/event-time.js';
import { TemplateEngine, REF_PLACEHOLDER, THIS_PLACEHOLDER, type RenderResult } from '../template/engine.js';
import type { RenderDatabase } from '../template/introspection.js';
import { locate } from '../template/errors.js';
import { CONFIG_KEYS, mergeConfig, configProblems, strategyMacroName, strategyOf } from '../project/config.js';
import { checksum, modelFactory, withModels, duplicateModel } from '../project/load.js';
import { RenderCache, contentHash } from './render-cache.js';

export interface CompileOptions {
  /** is_incremental() per model (the executor knows which relations exist); default false. */
  readonly incremental?: (id: NodeId) => boolean;
  readonly runStartedAt?: Date;
  /** Render through the template fast path where it applies (default true). */
  readonly fastPath?: boolean;
  /**
   * Folder for the render cache (render-cache.ts): renders of unchanged models are reused from
   * the last compile. Unset (the default): no cache is read or written.
   */
  readonly cacheDir?: string;
  /**
   * How the render cache file is written, when the caller has a better way than writing it
   * (atomically) on this thread before compileAll returns — `lake compile` hands it to the
   * thread that writes the compiled files.
   */
  readonly writeCacheFile?: (file: string, text: string) => void;
  /** dbt's --empty: every ref and source reads zero rows (`.render()` opts out). No render cache. */
  readonly empty?: boolean;
  /** dbt's `flags` for templates (FULL_REFRESH, WHICH, ...). */
  readonly flags?: Readonly<Record<string, unknown>>;
}

/** What `updateModel` changed. */
export interface ModelUpdate {
  /**
   * False when the update was refused (the file's new id clashes with another model's): the
   * compiler kept the project as it was, so it no longer mirrors the file on disk, and
   * `diagnostics` says why. True when the compiler now reflects the file.
   */
  readonly applied: boolean;
  /** Ids whose compiled node changed (SQL, config or dependencies), the edited model first. */
  readonly changed: readonly NodeId[];
  /** Ids that appeared (a new file, or the edited model's id changed). */
  readonly added: readonly NodeId[];
  /** Ids that are gone (a deleted file, or the edited model's old id). */
  readonly removed: readonly NodeId[];
  /** Some model's dependencies or the set of models changed: the DAG must be rebuilt. */
  readonly graphChanged: boolean;
  /** Every diagnostic of the project now (as compileAll would report them). */
  readonly diagnostics: readonly Diagnostic[];
}

interface Rendered {
  readonly node: ModelNode;
  readonly result: RenderResult;
  readonly config: ModelConfig;
  readonly relation: Relation;
  /** Template and config problems of this render. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Keeps the template engine, the renders and the name indexes so single models can be re-rendered cheaply. */
export class Compiler {
  readonly engine: TemplateEngine;
  private current: LoadedProject;
  private rendered = new Map<NodeId, Rendered>();
  private idByPath = new Map<string, NodeId>();
  private byName = new Map<string, NodeId[]>();
  /** The installed package of each package node (root project's nodes are absent). */
  private readonly packageOf = new Map<NodeId, string>();
  private relations = new Map<NodeId, Relation>();
  /** `"schema"."name"` per id (quoted once, not once per ref). */
  private relationSqls = new Map<NodeId, string>();
  private compiled = new Map<NodeId, CompiledNode>();
  /** Ref-resolution diagnostics per node (from finish). */
  private finishDiags = new Map<NodeId, Diagnostic[]>();
  /** Nodes being finished (guards ephemeral cycles; the DAG reports the cycle). */
  private finishing = new Set<NodeId>();
  /** Models disabled by a config() call in their own file: name and id → path (for ref errors). */
  private disabled = new Map<string, string>();
  /** Of those, the ones a folder or YAML config disables (the load leaves them out). */
  private disabledByConfig = new Set<string>();

  constructor(project: LoadedProject, private readonly opts: CompileOptions = {}) {
    this.current = project;
    this.engine = new TemplateEngine(project, opts.runStartedAt, { fastPath: opts.fastPath, empty: opts.empty, flags: opts.flags });
  }

  /** dbt's --empty: refs and sources render as zero rows. */
  get empty(): boolean {
    return !!this.opts.empty;
  }

  /** The project as last compiled (models follow updateModel). */
  get project(): LoadedProject {
    return this.current;
  }

  /**
   * Render and finish every model. `onNode`, when given, sees each compiled node as soon as its
   * SQL is known — most of them while later models still render, so their compiled files can be
   * written meanwhile — and again whenever what it saw turns out to be stale; the last call for an
   * id carries the node of the result. (Every node of the result is passed at least once.)
   */
  compileAll(onNode?: (node: CompiledNode) => void): CompiledProject {
    this.rendered.clear();
    this.idByPath.clear();
    this.compiled.clear();
    this.finishDiags.clear();
    this.disabled.clear();
    for (const [name, file] of this.current.disabledModels ?? []) this.disabled.set(name, file);
    this.disabledByConfig = new Set(this.current.disabledModels?.keys());
    const dupes: Diagnostic[] = [];
    const cache = this.opts.cacheDir && !this.opts.empty ? RenderCache.open(this.opts.cacheDir, this.cacheKey()) : undefined;
    this.cache = cache;
    // Finishing a model (resolving its refs) needs every model's id and relation, which config()
    // calls can change, so it normally waits for all renders. With onNode, models are finished
    // early against the ids and relations the load predicts (as good as always right); the first
    // render that contradicts the prediction ends this, and everything is finished again at the
    // end, reporting the nodes whose SQL came out different.
    let early = onNode ? this.predictIndexes() : undefined;
    const emitted = new Map<NodeId, string>();
    for (const node of this.current.models.values()) {
      const incremental = this.opts.incremental?.(node.id) ?? false;
      let r: Rendered;
      if (cache && !incremental) {
        const k = `${contentHash(node.rawSql)}|${node.id}|${node.config.materialized}`;
        const kept = cache.get(node.path, k, this.current.sources);
        r = kept ? this.renderedFrom(node, kept) : this.renderNode(node, false);
        if (!kept) cache.set(node.path, k, r.result);
      } else {
        r = this.renderNode(node, incremental);
      }
      const id = idOf(r);
      if (r.config.enabled === false) {
        // `{{ config(enabled=false) }}` in the file: the model is not part of the project (as a
        // folder or YAML config saying so); refs to it were maybe finished early: not any more.
        this.disabled.set(node.name, node.path).set(id, node.path);
        early = undefined;
        continue;
      }
      const prev = this.rendered.get(id);
      if (prev) {
        dupes.push({ code: 'LAKE-C011', severity: 'error', message: `two models resolve to ${id}: ${prev.node.path} and ${node.path}`, file: node.path, line: 1, hint: 'rename one of them or change its schema' });
        early = undefined;
        continue;
      }
      this.rendered.set(id, r);
      this.idByPath.set(node.path, id);
      if (early) {
        if (id !== node.id || !early.matches(node, r)) {
          early = undefined;
        } else if (early.canFinish(r)) {
          const c = this.finishNode(id);
          if (c) {
            emitted.set(id, c.sql);
            onNode!(c);
          }
        }
      }
    }
    if (!early) {
      // The prediction failed (or was not made): nothing finished so far can be trusted.
      this.compiled.clear();
      this.finishDiags.clear();
    }
    this.buildIndexes();
    for (const id of this.rendered.keys()) this.finishNode(id);
    this.rerenderGraphReaders();
    this.extraDiags = dupes;
    cache?.save(this.opts.writeCacheFile);
    if (onNode) {
      for (const [id, c] of this.compiled) {
        const sent = emitted.get(id);
        if (sent === undefined || sent !== c.sql) onNode(c);
      }
    }
    return this.result();
  }

  /**
   * Models that read dbt's `graph` rendered before every model's depends_on was known: rendered
   * again now that it is (dbt's graph has it when models execute).
   */
  private rerenderGraphReaders(): void {
    const readers = [...this.rendered].filter(([, r]) => r.result.readsGraph);
    if (readers.length === 0) return;
    this.engine.setGraphRendered((id) => {
      const c = this.compiled.get(id);
      return c ? [...c.dependsOn.nodes, ...c.dependsOn.sources] : undefined;
    }, (id) => this.rendered.get(id)?.config as unknown as Readonly<Record<string, unknown>> | undefined);
    for (const [id, prev] of readers) {
      const r = this.renderNode(prev.node, this.opts.incremental?.(id) ?? false);
      if (idOf(r) !== id) continue;
      this.rendered.set(id, r);
      this.compiled.delete(id);
      this.finishDiags.delete(id);
      this.finishNode(id);
    }
  }

  /**
   * Name indexes as the loaded project predicts them (each model's id, relation and whether it
   * is ephemeral before any config() call), installed as the compiler's own for early finishing.
   */
  private predictIndexes(): { matches(node: ModelNode, r: Rendered): boolean; canFinish(r: Rendered): boolean } {
    const add = this.clearIndexes();
    const ephemeral = new Set<NodeId>();
    const relationOf = (node: ModelNode): Relation => ({ schema: node.config.schema, name: (node.config.alias as string | undefined) ?? node.name });
    for (const node of this.current.models.values()) {
      for (const key of refKeysOf(node)) add(key, node.id, node.package);
      this.relations.set(node.id, relationOf(node));
      if (node.config.materialized === 'ephemeral') ephemeral.add(node.id);
    }
    // Seeds come after models, as in buildIndexes (the order of ambiguous candidates).
    for (const sd of this.current.seeds.values()) {
      add(sd.name, sd.id, sd.package);
      this.relations.set(sd.id, seedRelation(sd));
    }
    return {
      // The render agrees with the prediction in everything other models see.
      matches: (node, r) => {
        const want = this.relations.get(node.id)!;
        return r.relation.schema === want.schema && r.relation.name === want.name
          && (r.config.materialized === 'ephemeral') === ephemeral.has(node.id);
      },
      // An ephemeral ref inlines the target's finished SQL, which may not be rendered yet: left for the end.
      canFinish: (r) => ephemeral.size === 0 || r.result.refs.every((name) => {
        const res = this.resolveRef(name, r.node.package);
        return !res.id || !ephemeral.has(res.id);
      }),
    };
  }

  /** The render cache of the last compileAll (hits and misses, for benchmarks), if one was used. */
  cache: RenderCache | undefined;

  /**
   * Everything besides a model's own text, id and materialization that a render depends on: the
   * project's name, target, vars, sources and macros (packages': and vars), and lake's own rendering code (its files'
   * sizes and times, so a new lake never reads an old cache).
   */
  private cacheKey(): string {
    const p = this.current;
    const here = fileURLToPath(import.meta.url);
    const ext = path.extname(here);
    const code = [here, `../template/engine${ext}`, `../template/fast${ext}`, `../project/config${ext}`].map((f) => {
      try {
        const st = fs.statSync(path.resolve(path.dirname(here), f));
        return `${st.size}:${st.mtimeMs}`;
      } catch {
        return 'missing';
      }
    });
    return checksum(JSON.stringify({
      code, name: p.name, flavor: p.flavor, target: p.target, prefix: p.customSchemaPrefix, vars: p.vars,
      sources: [...p.sources.values()].map((x) => [x.id, x.schema, x.identifier, !!x.landing]),
      macros: [...p.macroFiles],
      ...(p.packages?.length ? { packages: p.packages.map((x) => [x.name, [...x.macroFiles], x.vars ?? {}]) } : {}),
      ...(p.dispatch?.length ? { dispatch: p.dispatch } : {}),
    }));
  }

  private extraDiags: Diagnostic[] = [];

  /** The compiled project as it stands (after compileAll and any updateModel calls). */
  result(): CompiledProject {
    const nodes = new Map<NodeId, CompiledNode>();
    for (const id of this.rendered.keys()) {
      const c = this.compiled.get(id);
      if (c) nodes.set(id, c);
    }
    return { project: this.current, nodes, diagnostics: this.diagnostics() };
  }

  /** Every diagnostic of the project now: loading, macros, then per model in project order. */
  diagnostics(): Diagnostic[] {
    const out: Diagnostic[] = [...this.current.diagnostics, ...this.engine.macroDiagnostics];
    for (const [id, r] of this.rendered) {
      for (const d of r.diagnostics) out.push(d);
      for (const d of this.finishDiags.get(id) ?? []) out.push(d);
    }
    out.push(...this.extraDiags);
    return out;
  }

  /** The compiled node of a model id, if it compiled. */
  compiledNode(id: NodeId): CompiledNode | undefined {
    return this.compiled.get(id);
  }

  /**
   * `--defer`: refs to these nodes name another database's relation (the SQL given), for every
   * render from now on (compileOne, the incremental re-render of a run).
   */
  deferRelations(relations: ReadonlyMap<NodeId, string>): void {
    this.deferred = new Map(relations);
    for (const [id, sql] of relations) this.relationSqls.set(id, sql);
    // Ephemeral models are inlined as finished: finish them again over the deferred relations.
    const ephemeral = [...this.rendered].filter(([, r]) => r.config.materialized === 'ephemeral').map(([id]) => id);
    for (const id of ephemeral) this.compiled.delete(id);
    for (const id of ephemeral) this.finishNode(id);
  }

  private deferred = new Map<NodeId, string>();

  /**
   * Re-render one model (e.g. with is_incremental() true) after compileAll(). With `database`, a
   * model that queries the database while rendering renders live (introspection.ts); when it stops
   * at a query not answered yet, `pendingQuery` says which, and there is no node.
   */
  compileOne(id: NodeId, incremental: boolean, database?: RenderDatabase, batch?: MicrobatchWindow): { node?: CompiledNode; diagnostics: Diagnostic[]; pendingQuery?: string } {
    const prev = this.rendered.get(id);
    if (!prev) return { diagnostics: [{ code: 'LAKE-C020', severity: 'error', message: `unknown model ${id}` }] };
    const r = this.renderNode(prev.node, incremental, database, batch);
    if (r.result.pendingQuery !== undefined) return { diagnostics: [], pendingQuery: r.result.pendingQuery };
    const diagnostics: Diagnostic[] = [...r.result.diagnostics];
    try {
      const node = this.finish(id, { ...r, config: prev.config, relation: prev.relation }, diagnostics, incremental, database, batch);
      return { node, diagnostics };
    } catch (e) {
      if (e instanceof PendingInEphemeral) return { diagnostics: [], pendingQuery: e.sql };
      throw e;
    }
  }

  /**
   * A model file was edited, added (`text` is its content) or deleted (`text` undefined): re-read
   * and re-render it, re-resolve the models its change can reach, and say which ids changed.
   * `file` is absolute or relative to the project root. Call after compileAll().
   */
  updateModel(file: string, text: string | undefined): ModelUpdate {
    const root = this.current.root;
    const rel = (path.isAbsolute(file) ? path.relative(root, file) : file).split(path.sep).join('/');
    const factory = modelFactory(this.current);
    if (!factory) throw new Error('updateModel needs a project from loadProject()');
    if (!factory.isModelPath(rel)) throw new Error(`updateModel: ${rel} is not a model file of this project`);
    const oldId = this.idByPath.get(rel);
    const old = oldId ? this.rendered.get(oldId) : undefined;
    const oldCompiled = new Map<NodeId, CompiledNode | undefined>();
    const touched = new Set<NodeId>();
    const added: NodeId[] = [];
    const removed: NodeId[] = [];

    let next: Rendered | undefined;
    let node: ModelNode | undefined;
    if (text !== undefined) {
      node = factory.build(rel, text);
      if (node.config.enabled === false) node = undefined;
    }
    const models = new Map(this.current.models);
    if (old) models.delete(old.node.id);
    if (node) {
      const clash = models.get(node.id);
      if (clash && clash.path !== rel) {
        // Keep the project as it was and report the clash, like a fresh load would.
        return { applied: false, changed: [], added: [], removed: [], graphChanged: false, diagnostics: [...this.diagnostics(), duplicateModel(node.id, clash.path, rel)] };
      }
      models.set(node.id, node);
      next = this.renderNode(node, this.opts.incremental?.(node.id) ?? false);
      if (next.config.enabled === false) {
        this.disabled.set(node.name, rel).set(idOf(next), rel);
        next = undefined;
      } else {
        this.disabled.delete(node.name);
        this.disabled.delete(idOf(next));
      }
    }
    const newId = next ? idOf(next) : undefined;
    if (newId && newId !== oldId && this.rendered.has(newId)) {
      const other = this.rendered.get(newId)!;
      return { applied: false, changed: [], added: [], removed: [], graphChanged: false, diagnostics: [...this.diagnostics(), { code: 'LAKE-C011', severity: 'error', message: `two models resolve to ${newId}: ${other.node.path} and ${rel}`, file: rel, line: 1, hint: 'rename one of them or change its schema' }] };
    }
    // What loading said about this file (e.g. it clashed with another file's name) described its
    // old text: the file as it is now is in the project, so those diagnostics no longer hold.
    // Likewise a YAML entry that documented this model while it had no file (LAKE-P022).
    const undocumented = node ? `YAML documents model '${node.name}',` : undefined;
    const stale = (d: Diagnostic) => d.file === rel || (undocumented !== undefined && d.code === 'LAKE-P022' && d.message.startsWith(undocumented));
    const loadDiags = this.current.diagnostics.some(stale) ? this.current.diagnostics.filter((d) => !stale(d)) : undefined;
    this.current = withModels(this.current, models, loadDiags);

    // Does anything that other models see change: the id, the relation, being ephemeral?
    const identityChanged = !old || !next || oldId !== newId
      || relationSql(old.relation) !== relationSql(next.relation)
      || (old.config.materialized === 'ephemeral') !== (next.config.materialized === 'ephemeral');
    const remember = (id: NodeId) => {
      if (!oldCompiled.has(id)) oldCompiled.set(id, this.compiled.get(id));
      touched.add(id);
    };
    if (oldId) remember(oldId);
    if (old && oldId) {
      this.rendered.delete(oldId);
      this.idByPath.delete(rel);
      this.compiled.delete(oldId);
      this.finishDiags.delete(oldId);
      if (oldId !== newId) removed.push(oldId);
    }
    if (next && newId) {
      remember(newId);
      this.rendered.set(newId, next);
      this.idByPath.set(rel, newId);
      if (newId !== oldId) added.push(newId);
    }
    if (identityChanged) this.buildIndexes();

    // Models to re-finish: the edited one; models that ref its old or new names (when what they see
    // changed); models inlining it (when it is ephemeral), transitively through ephemerals.
    const redo = new Set<NodeId>();
    if (newId) redo.add(newId);
    if (identityChanged) {
      // Models that ref the old or the new name (as written: `users` or `silver.users`).
      const names = new Set<string>();
      for (const r of [old, next]) if (r) for (const n of [...refKeysOf(r.node), r.node.name, idOf(r)]) names.add(n);
      for (const [id, r] of this.rendered) if (r.result.refs.some((n) => names.has(n))) redo.add(id);
    }
    // An ephemeral model's SQL lives inside its consumers: follow ephemerals down to the first
    // non-ephemeral consumers (consumers as compiled before this change).
    const queue = [...redo];
    if (oldId && old?.config.materialized === 'ephemeral') queue.push(oldId);
    const seen = new Set(queue);
    while (queue.length) {
      const cur = queue.pop()!;
      const eph = this.rendered.get(cur)?.config.materialized === 'ephemeral' || (cur === oldId && old?.config.materialized === 'ephemeral');
      if (!eph) continue;
      for (const [id, c] of this.compiled) {
        if (seen.has(id) || !c.dependsOn.nodes.includes(cur)) continue;
        seen.add(id);
        redo.add(id);
        queue.push(id);
      }
    }
    for (const id of redo) {
      if (!this.rendered.has(id)) continue;
      remember(id);
      this.compiled.delete(id);
    }
    for (const id of redo) if (this.rendered.has(id)) this.finishNode(id);

    const changed: NodeId[] = [];
    let graphChanged = added.length > 0 || removed.length > 0;
    for (const id of touched) {
      const before = oldCompiled.get(id);
      const after = this.compiled.get(id);
      if (!after) continue;
      const depsChanged = !before || !sameList(before.dependsOn.nodes, after.dependsOn.nodes) || !sameList(before.dependsOn.sources, after.dependsOn.sources);
      if (depsChanged) graphChanged = true;
      if (!before || depsChanged || before.sql !== after.sql || before.checksum !== after.checksum) changed.push(id);
    }
    changed.sort((a, b) => (a === newId ? -1 : b === newId ? 1 : 0));
    return { applied: true, changed, added, removed, graphChanged, diagnostics: this.diagnostics() };
  }

  private renderNode(node: ModelNode, incremental: boolean, database?: RenderDatabase, batch?: MicrobatchWindow): Rendered {
    return this.renderedFrom(node, this.engine.render(node.rawSql, { incremental, materialized: node.config.materialized, file: node.path, node: node.id, ...(database ? { database } : {}), ...(batch ? { batch } : {}) }));
  }

  /** Merge a render's config() calls into the model's config and check it. */
  private renderedFrom(node: ModelNode, result: RenderResult): Rendered {
    const sqlConfig = { ...result.config };
    const resourceType = node.resourceType ?? 'model';
    if (typeof sqlConfig.schema === 'string') sqlConfig.schema = this.current.customSchema ? this.current.customSchema(sqlConfig.schema, { name: node.name, resource_type: resourceType, path: node.path }) : this.current.customSchemaPrefix + sqlConfig.schema;
    if (node.resourceType === 'snapshot' && sqlConfig.materialized !== undefined) sqlConfig.materialized = 'snapshot';
    let config = Object.keys(sqlConfig).length ? mergeConfig(node.config, sqlConfig) : node.config;
    // dbt's target_schema, wherever it is set, is a snapshot's schema as written (over any `schema`).
    if (node.resourceType === 'snapshot' && typeof config.target_schema === 'string' && config.target_schema && config.schema !== config.target_schema) config = { ...config, schema: config.target_schema };
    const relation = { schema: config.schema, name: (config.alias as string | undefined) ?? node.name };
    // dbt-duckdb's default location of an external model: <external_root>/<name>.<format>.
    if (config.materialized === 'external' && !config.location) {
      config = { ...config, location: `${(this.current.target.externalRoot ?? '.').replace(/\/$/, '')}/${relation.name}.${typeof config.format === 'string' && config.format ? config.format : 'parquet'}` };
    }
    // dbt-duckdb's default strategy (get_incremental_default_sql) is delete+insert: with a unique_key,
    // a dbt project's model that names no strategy deletes the keys it brings and inserts every new row.
    if (this.current.flavor === 'dbt' && config.materialized === 'incremental' && config.incremental_strategy === undefined && config.unique_key?.length) {
      config = { ...config, incremental_strategy: 'delete+insert' };
    }
    const diagnostics: Diagnostic[] = [...result.diagnostics];
    const customStrategy = (s: string) => this.engine.hasMacro(strategyMacroName(s)) || !!this.engine.packageMacro(strategyMacroName(s));
    for (const p of configProblems(config, customStrategy)) {
      // A bad enumerated value the project file's folder config gave (and this model's own
      // config() and YAML left alone) is reported once, at its line there, by the load.
      if (this.fromFolderConfig(node, sqlConfig, p.message)) continue;
      // No config() call: the SQL's first line (a YAML-defined snapshot's is its entry's line).
      // A custom materialization the project or a package defines: say so (lake runs its own only).
      const custom = p.message.startsWith('unknown materialized') ? this.engine.materializations.get(String(config.materialized)) : undefined;
      const hint = custom ? `'${String(config.materialized)}' is a custom materialization ({% materialization %} in ${custom}), which lake does not run: use one of view, table, incremental, ephemeral, external` : p.hint;
      diagnostics.push({ code: 'LAKE-C010', severity: 'error', message: `${config.schema}.${node.name}: ${p.message}`, file: node.path, node: `${config.schema}.${node.name}`, ...(locate(node.rawSql, /config\s*\(/) ?? locate(node.rawSql, /\S/) ?? { line: 1 }), hint });
    }
    // A config() key that is nearly a known one is a typo (uniqe_key): it would be ignored silently.
    for (const key of Object.keys(sqlConfig)) {
      if (CONFIG_KEYS.has(key)) continue;
      const near = closest(key, CONFIG_KEYS, 1);
      if (near.length) {
        diagnostics.push({ code: 'LAKE-C013', severity: 'warn', message: `${config.schema}.${node.name}: unknown config key '${key}'`, file: node.path, node: `${config.schema}.${node.name}`, ...(locate(node.rawSql, new RegExp(`\\b${key}\\s*=`)) ?? locate(node.rawSql, /config\s*\(/) ?? { line: 1 }), hint: `did you mean ${near[0]}?` });
      }
    }
    // (Without the database, a model that queries it may render to nothing, as in dbt's parse: its run's render is checked.)
    if (!result.diagnostics.some((d) => d.severity === 'error') && !result.parsed) {
      const shape = statementShape(result.sql);
      const id = `${config.schema}.${node.name}`;
      if (shape.empty) diagnostics.push({ code: 'LAKE-C012', severity: 'error', message: `${id}: the model's SQL is empty`, file: node.path, node: id, line: 1, hint: 'write the SELECT the model builds (or delete the file)' });
      else if (shape.secondAt !== undefined) {
        const line = result.sql.slice(0, shape.secondAt).split('\n').length;
        diagnostics.push({ code: 'LAKE-C012', severity: 'error', message: `${id}: the model's SQL holds more than one statement (a ';' ends the first on line ${line})`, file: node.path, node: id, line, hint: 'a model is one SELECT: remove the second statement, or move it to a pre_hook / post_hook' });
      }
    }
    return { node, result, config, relation, diagnostics };
  }

  private fromFolderConfig(node: ModelNode, sqlConfig: Record<string, unknown>, message: string): boolean {
    for (const key of ['materialized', 'incremental_strategy', 'on_schema_change']) {
      if (key in sqlConfig || !message.startsWith(`unknown ${key} `)) continue;
      const reported = this.current.diagnostics.some((d) => d.code === 'LAKE-C010' && d.message.endsWith(`: ${message}`) && d.file !== node.path && !d.node);
      if (reported) return true;
    }
    return false;
  }

  /** Empty the name and relation indexes; returns the function that adds a name's id. */
  private clearIndexes(): (name: string, id: NodeId, pkg?: string) => void {
    this.byName.clear();
    this.relations.clear();
    this.relationSqls.clear();
    this.packageOf.clear();
    for (const [id, sql] of this.deferred) this.relationSqls.set(id, sql);
    const push = (name: string, id: NodeId) => {
      const list = this.byName.get(name);
      if (list) list.push(id);
      else this.byName.set(name, [id]);
    };
    return (name, id, pkg) => {
      push(name, id);
      // dbt's two-argument ref('package', 'name').
      if (pkg !== undefined) {
        push(`${pkg}.${name}`, id);
        this.packageOf.set(id, pkg);
      }
    };
  }

  private buildIndexes(): void {
    const add = this.clearIndexes();
    for (const [id, r] of this.rendered) {
      for (const key of refKeysOf(r.node)) add(key, id, r.node.package);
      this.relations.set(id, r.relation);
    }
    for (const s of this.current.seeds.values()) {
      add(s.name, s.id, s.package);
      this.relations.set(s.id, seedRelation(s));
    }
  }

  /**
   * Resolve `ref('x')` / `ref('schema.x')` / `ref('package', 'x')` (as `package.x`) / `ref('x', v=2)`
   * (the key `x@v2`) to a node id,
   * or a diagnostic. A name several nodes have is, as dbt resolves it, the root project's node,
   * else the one of `from` (the package of the node that refs it).
   */
  resolveRef(name: string, from?: string): { id?: NodeId; problem?: { message: string; hint: string } } {
    if (this.relations.has(name)) return { id: name };
    const ids = this.byName.get(name) ?? [];
    if (ids.length === 1) return { id: ids[0] };
    const preferred = preferredRef(ids.map((id) => ({ id, package: this.packageOf.get(id) })), from);
    if (preferred) return { id: preferred.id };
    if (ids.length > 1) {
      const spell = (i: NodeId) => (this.packageOf.has(i) ? `ref('${this.packageOf.get(i)}', '${name}')` : `ref('${i}')`);
      return { problem: { message: `${refText(name)} is ambiguous: ${ids.join(', ')}`, hint: `write ${ids.map(spell).join(' or ')} to choose one` } };
    }
    const off = this.disabled.get(name);
    if (off) {
      const how = this.disabledByConfig.has(name) ? `enabled: false in a folder or YAML config; its file is ${off}` : `config(enabled=false) in ${off}`;
      return { problem: { message: `ref('${name}') is a disabled model (${how})`, hint: `enable it, or stop referring to it (dbt: "depends on a node named '${name}' which is disabled")` } };
    }
    const versioned = this.versionProblem(name);
    if (versioned) return { problem: versioned };
    const near = closest(name, this.relations.keys());
    return { problem: { message: `${refText(name)} matches no model or seed`, hint: near.length ? `did you mean ${near.map((n) => `ref('${n}')`).join(' or ')}? If not, ${this.missingFileHint(name)}` : this.missingFileHint(name) } };
  }

  /** Where the file of a model or seed named `name` would be (under the project's model-paths and seed-paths). */
  private missingFileHint(name: string): string {
    if (!/^[\w$-]+$/.test(name)) return 'check the model file name (a model is named after its file)';
    const { models, seeds } = this.current.paths;
    const one = (dirs: readonly string[], file: string) => dirs.map((d) => `${d.replace(/\/+$/, '')}/${file}`).join(' or ');
    return `a model is named after its file (${one(models, `**/${name}.sql`)}), a seed after its CSV file (${one(seeds, `${name}.csv`)}): check the name, or add the file`;
  }

  /**
   * Why a ref to a versioned model (or to a version) finds nothing: an unknown version, a latest
   * version without a file, a version named by its relation (`m_v1`, which dbt does not ref).
   */
  private versionProblem(key: string): { message: string; hint: string } | undefined {
    const { name, v } = splitRefKey(key);
    const versions = [...this.rendered.values()].map((r) => r.node).filter((n) => n.version && (n.version.model === name || n.name === name));
    if (versions.length === 0) {
      return v === undefined ? undefined : { message: `${refText(key)}: ${name} is not a versioned model`, hint: `write ref('${name}') (versions are declared in the model's YAML: versions: [{v: 1}, ...])` };
    }
    const model = versions[0]!.version!;
    const known = versions.map((n) => n.version!.v).sort(compareVersions);
    if (model.model !== name) return { message: `ref('${name}') names a version's relation: dbt refs it as ref('${model.model}', v=${versions.find((n) => n.name === name)!.version!.v})`, hint: `write ref('${model.model}', v=${versions.find((n) => n.name === name)!.version!.v}) (or ref('${model.model}') for its latest version)` };
    if (v !== undefined) return { message: `${refText(key)}: model ${name} has no version ${v} (its versions: ${known.join(', ')})`, hint: `use one of v=${known.join(', v=')}, or declare version ${v} in the model's YAML with its file` };
    return { message: `${refText(key)}: the latest version of model ${name} (${model.latest}) has no model file (its versions: ${known.join(', ')})`, hint: `add ${name}_v${model.latest}.sql (or defined_in), or set latest_version to one of ${known.join(', ')}` };
  }

  /** Replace ref/this placeholders in an ad-hoc render (see renderAdhoc). */
  resolvePlaceholders(r: RenderResult, file: string, self?: CompiledNode): { sql: string; diagnostics: Diagnostic[]; refs: NodeId[] } {
    const diagnostics: Diagnostic[] = [...r.diagnostics];
    const refs: NodeId[] = [];
    const ids = r.refs.map((name) => {
      const res = this.resolveRef(name, self?.node.package);
      if (res.problem) diagnostics.push({ code: 'LAKE-C001', severity: 'error', message: res.problem.message, file, hint: res.problem.hint });
      else if (!refs.includes(res.id!)) refs.push(res.id!);
      return res.id;
    });
    // An ephemeral model has no relation: a query gets it as a CTE (as a model would), any other
    // statement (a hook's CREATE or INSERT) as a subquery.
    const ephemeral = this.ephemeralsOf(refs);
    const asQuery = ephemeral.length > 0 && LEADING_QUERY.test(r.sql);
    let sql = r.sql.replace(REF_PLACEHOLDER, (_m, _kind: string, n: string) => {
      const id = ids[Number(n)];
      if (!id) return '"__unresolved_ref__"';
      if (ephemeral.includes(id)) return asQuery ? quoteIdent(`__lake_eph__${this.relations.get(id)!.name}`) : `(\n${this.finishNode(id)?.sql ?? 'select 1'}\n)`;
      return relationSql(this.relations.get(id)!);
    });
    if (self) sql = sql.split(THIS_PLACEHOLDER).join(relationSql(self.relation));
    if (asQuery) sql = this.inlineEphemerals(ephemeral, sql);
    return { sql, diagnostics, refs };
  }

  /** The relation a model or seed id builds. */
  relationOf(id: NodeId): Relation | undefined {
    return this.relations.get(id);
  }

  /** Finish `id` once (ephemeral dependencies first, as their SQL is inlined). */
  private finishNode(id: NodeId): CompiledNode | undefined {
    const done = this.compiled.get(id);
    if (done) return done;
    const r = this.rendered.get(id);
    if (!r || this.finishing.has(id)) return undefined;
    this.finishing.add(id);
    try {
      const diags: Diagnostic[] = [];
      const c = this.finish(id, r, diags, this.opts.incremental?.(id) ?? false);
      if (diags.length) this.finishDiags.set(id, diags);
      else this.finishDiags.delete(id);
      if (c) this.compiled.set(id, c);
      return c;
    } finally {
      this.finishing.delete(id);
    }
  }

  private finish(id: NodeId, r: Rendered, diagnostics: Diagnostic[], incremental: boolean, database?: RenderDatabase, batch?: MicrobatchWindow): CompiledNode | undefined {
    const deps: NodeId[] = [];
    const refIds: (NodeId | undefined)[] = r.result.refs.map((name) => {
      const res = this.resolveRef(name, r.node.package);
      if (res.problem) {
        const short = splitRefKey(name).name.split('.').pop()!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        // ref('a.b'), ref('b'), or the two-argument ref('a', 'b') as written.
        const at = locate(r.node.rawSql, new RegExp(`ref\\s*\\(\\s*(['"][^'"]*['"]\\s*,\\s*)?['"]([^'"]*\\.)?${short}['"]`));
        diagnostics.push({ code: 'LAKE-C001', severity: 'error', message: res.problem.message, file: r.node.path, node: id, ...at, hint: res.problem.hint });
        return undefined;
      }
      if (res.id === id) {
        diagnostics.push({ code: 'LAKE-C003', severity: 'error', message: `${id} refs itself`, file: r.node.path, node: id, ...locate(r.node.rawSql, /ref\s*\(/), hint: 'use {{ this }} to read the model\'s own table' });
        return undefined;
      }
      if (!deps.includes(res.id!)) {
        deps.push(res.id!);
        const dep = deprecatedRead(id, r.node, this.rendered.get(res.id!)?.node, this.opts.runStartedAt ?? new Date());
        if (dep) diagnostics.push(dep);
      }
      return res.id;
    });
    const streamReads: NodeId[] = [];
    let sql = r.result.refs.length === 0 ? r.result.sql : r.result.sql.replace(REF_PLACEHOLDER, (_m, kind: string, n: string) => {
      const target = refIds[Number(n)];
      if (!target) return '"__unresolved_ref__"';
      const rel = this.relations.get(target)!;
      if (kind === 'stream' && this.opts.empty && !r.result.unfilteredRefs?.has(Number(n))) {
        // --empty: no rows, and no watermark moves (nothing was read).
        return emptyRelation(this.relationSqls.get(target) ?? relationSql(rel));
      }
      if (kind === 'stream') {
        if (!streamReads.includes(target)) streamReads.push(target);
        const up = this.rendered.get(target)?.config;
        if (up?.materialized === 'incremental' && strategyOf(up as ModelConfig) === 'cdc' && up.delete_when && !streamReads.slice(0, -1).includes(target)) {
          // stream() reads the rows written since this model's last run (a merged row is written
          // again with the run's batch), but a row a CDC target deletes is gone: the delete would
          // never arrive (DLT refuses a streaming read of an APPLY CHANGES target for this reason).
          diagnostics.push({
            code: 'LAKE-C021', severity: 'error', file: r.node.path, node: id, ...locate(r.node.rawSql, /stream\s*\(/),
            message: `stream(ref('${this.rendered.get(target)!.node.name}')) reads the rows written to ${target} since ${id} last ran, but ${target} deletes rows (incremental_strategy='cdc' with delete_when): ${id} would never see the deletes`,
            hint: `read it with ref() (as a table, or an incremental model merging on its key from ref()), or stream() the change feed ${target} reads and apply the deletes in ${id} too`,
          });
        }
        return quoteIdent(streamViewName(rel));
      }
      const up = this.rendered.get(target)?.config;
      if (up?.materialized === 'ephemeral') return quoteIdent(`__lake_eph__${rel.name}`);
      let quoted = this.relationSqls.get(target);
      if (quoted === undefined) this.relationSqls.set(target, (quoted = relationSql(rel)));
      // A batch of a microbatch model reads a model with event_time filtered to the batch (dbt's), unless `.render()` opted out.
      if (this.opts.empty && !r.result.unfilteredRefs?.has(Number(n))) return emptyRelation(quoted);
      const eventTime = up ? up.event_time : this.current.seeds.get(target)?.eventTime;
      if (batch && typeof eventTime === 'string' && eventTime && !r.result.unfilteredRefs?.has(Number(n))) return filteredRelation(quoted, eventTime, batch);
      return quoted;
    });
    if (sql.includes(THIS_PLACEHOLDER)) sql = sql.split(THIS_PLACEHOLDER).join(relationSql(r.relation));
    sql = this.inlineEphemerals(deps, sql, database, batch);
    // An inlined ephemeral's stream() reads are this model's: relative to its watermark.
    for (const dep of deps) {
      if (this.rendered.get(dep)?.config.materialized !== 'ephemeral') continue;
      for (const up of this.finishNode(dep)?.streamReads ?? []) if (!streamReads.includes(up)) streamReads.push(up);
    }
    // A view is all of what it streams: the relation itself (a stored view must not name the temp
    // view that exists only while a run builds a model).
    if (r.config.materialized === 'view' && streamReads.length) {
      for (const up of streamReads.splice(0)) {
        const rel = this.relations.get(up)!;
        sql = sql.split(quoteIdent(streamViewName(rel))).join(relationSql(rel));
      }
    }
    const landingReads = r.result.sources.filter((s) => s.landing).map((s) => s.id);
    const sourceIds = r.result.sources.map((s) => s.id);
    // `this` in an incremental predicate (dbt projects write `this ~ ".dt >= ..."` for
    // delete+insert) is the target table, which every strategy's statements alias DBT_INTERNAL_DEST.
    const preds = r.config.incremental_predicates;
    const config = preds?.some((p) => p.includes(THIS_PLACEHOLDER))
      ? { ...r.config, incremental_predicates: preds.map((p) => p.split(THIS_PLACEHOLDER).join('DBT_INTERNAL_DEST')) }
      : r.config;
    return {
      id, node: r.node, config, relation: r.relation, sql: trimSql(sql),
      dependsOn: { nodes: deps, sources: sourceIds, macros: r.result.macros },
      landingReads, streamReads,
      checksum: checksum(r.node.rawSql, JSON.stringify(r.config)),
      renderedIncremental: r.result.usedIncremental && incremental,
      ...(r.result.executeError ? { executeError: r.result.executeError } : {}),
      ...(r.result.logs?.some((l) => l.info) ? { logs: r.result.logs.filter((l) => l.info).map((l) => l.message) } : {}),
      // An ephemeral model it inlines that queries the database makes it one too (rendered at run time).
      ...(r.result.introspective || deps.some((d) => this.rendered.get(d)?.config.materialized === 'ephemeral' && this.finishNode(d)?.introspective) ? { introspective: true } : {}),
    };
  }

  /** Prepend `__lake_eph__x as (...)` CTEs for ephemeral refs; an ephemeral body carries its own nested ones. */
  private inlineEphemerals(deps: readonly NodeId[], sql: string, database?: RenderDatabase, batch?: MicrobatchWindow): string {
    const ctes: string[] = [];
    for (const dep of deps) {
      const r = this.rendered.get(dep);
      if (!r || r.config.materialized !== 'ephemeral') continue;
      let body = this.finishNode(dep)?.sql ?? 'select 1';
      if (database && this.finishNode(dep)?.introspective) {
        // It queries the database: rendered with it too, within the render of the model inlining it.
        const live = this.renderNode(r.node, false, database);
        if (live.result.pendingQuery !== undefined) throw new PendingInEphemeral(live.result.pendingQuery);
        body = this.finish(dep, { ...live, config: r.config, relation: r.relation }, [], false, database)?.sql ?? body;
      }
      // In a batch of a microbatch model, an ephemeral model with event_time is read filtered to the batch, as dbt's.
      const eventTime = r.config.event_time;
      if (batch && !this.opts.empty && typeof eventTime === 'string' && eventTime) body = `select * from (\n${body}\n) as __lake_eph_rows where ${windowCondition(eventTime, batch)}`;
      ctes.push(`${quoteIdent(`__lake_eph__${r.relation.name}`)} as (\n${body}\n)`);
    }
    if (ctes.length === 0) return sql;
    // The query's own WITH, after any leading comments: the CTEs join it (a second WITH is a syntax error).
    const m = LEADING_WITH.exec(sql);
    if (m) return `${m[1]}with ${m[2] ?? ''}${ctes.join(',\n')},\n${sql.slice(m[0].length)}`;
    return `with ${ctes.join(',\n')}\n${sql}`;
  }

  /** Ids of `refs` that are ephemeral models. */
  private ephemeralsOf(refs: readonly NodeId[]): NodeId[] {
    return refs.filter((id) => this.rendered.get(id)?.config.materialized === 'ephemeral');
  }
}

/** An ephemeral model inlined by a live render stopped at a query (compileOne says which). */
class PendingInEphemeral extends Error {
  constructor(readonly sql: string) {
    super('an inlined ephemeral model needs a query answered');
  }
}

/** Leading blanks and comments (group 1), then `with` and an optional `recursive` (group 2). */
const LEADING_WITH = /^((?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*)with\s+(recursive\s+)?/i;

/** Does this SQL (after leading comments) start a query, rather than a statement such as CREATE or INSERT? */
const LEADING_QUERY = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*(?:(?:with|select|from|values|table)\b|\()/i;

/**
 * Is the SQL empty (blanks and comments only), and where does a second statement start (a ';'
 * outside strings, quoted names and comments, followed by more than blanks, comments and ';')?
 * One pass over the text: a model is run inside CREATE ... AS, where a second statement would run
 * too (a `drop` after the SELECT dropped a table while the run said OK).
 */
export function statementShape(sql: string): { empty: boolean; secondAt?: number } {
  // The common case, cheaply: no ';' at all, so only leading blanks and comments need reading.
  if (sql.indexOf(';') < 0) {
    const lead = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/.exec(sql)![0].length;
    return { empty: lead >= sql.length };
  }
  let content = false;
  let endedAt: number | undefined;
  const n = sql.length;
  for (let i = 0; i < n; i++) {
    const c = sql.charCodeAt(i);
    if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      const e = sql.indexOf('\n', i);
      i = e < 0 ? n : e;
      continue;
    }
    if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      const e = sql.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 1;
      continue;
    }
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    if (c === 59 /* ; */) {
      if (content && endedAt === undefined) endedAt = i;
      continue;
    }
    if (endedAt !== undefined) return { empty: false, secondAt: endedAt };
    content = true;
    if (c === 39 /* ' */ || c === 34 /* " */) {
      // 'it''s' and "a""b": a doubled quote stays inside.
      for (i++; i < n; i++) {
        if (sql.charCodeAt(i) === c) {
          if (sql.charCodeAt(i + 1) === c) i++;
          else break;
        }
      }
    } else if (c === 36 /* $ */) {
      // $$...$$ or $tag$...$tag$
      const m = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const e = sql.indexOf(m[0], i + m[0].length);
        i = e < 0 ? n : e + m[0].length - 1;
      }
    }
  }
  return { empty: !content };
}

/**
 * dbt's warning for a model that reads one with a `deprecation_date`: deprecated already, or
 * slated for deprecation (naming the latest version to move to).
 */
function deprecatedRead(id: NodeId, reader: ModelNode, dep: ModelNode | undefined, now: Date): Diagnostic | undefined {
  if (!dep?.deprecationDate) return undefined;
  const name = dep.version ? `${dep.version.model}.v${dep.version.v}` : dep.name;
  const past = Date.parse(dep.deprecationDate) < now.getTime();
  const newer = dep.version && dep.version.v !== dep.version.latest ? dep.version : undefined;
  return {
    code: 'LAKE-C030', severity: 'warn', file: reader.path, node: id, ...locate(reader.rawSql, /ref\s*\(/),
    message: `${id} reads ${name}, which ${past ? 'was deprecated on' : 'is slated for deprecation on'} ${dep.deprecationDate}`,
    hint: newer ? `move to its latest version: {{ ref('${newer.model}', v=${newer.latest}) }}` : `stop reading ${name} before then`,
  };
}

function idOf(r: Rendered): NodeId {
  return `${r.config.schema}.${r.node.name}`;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Trim whitespace and one trailing semicolon (without a regex that rescans long SQL). */
function trimSql(sql: string): string {
  let s = sql.trim();
  if (s.endsWith(';')) s = s.slice(0, -1).trimEnd();
  return s;
}

/** Compile the whole project (convenience over `new Compiler(project).compileAll()`). */
export function compileProject(project: LoadedProject, opts: CompileOptions = {}): CompiledProject {
  return new Compiler(project, opts).compileAll();
}

/**
 * Render an ad-hoc SQL template (hooks, data tests, singular tests) against a compiled project:
 * refs resolve to relations, `this` to `self` when given. Template problems come back as diagnostics.
 */
export function renderAdhoc(compiler: Compiler, text: string, file: string, self?: CompiledNode, extra?: Record<string, unknown>, incremental = false, database?: RenderDatabase): { sql: string; diagnostics: Diagnostic[]; refs: NodeId[]; pendingQuery?: string; logs?: string[] } {
  // A model's hooks render in its context: is_incremental() answers as in the model's SQL.
  const r = compiler.engine.render(text, { incremental, materialized: self?.config.materialized ?? 'view', file, node: self?.id, extra, ...(database ? { database } : {}) });
  if (r.pendingQuery !== undefined) return { sql: '', diagnostics: [], refs: [], pendingQuery: r.pendingQuery };
  const info = r.logs?.filter((l) => l.info).map((l) => l.message);
  return { ...compiler.resolvePlaceholders(r, file, self), ...(info?.length ? { logs: info } : {}) };
}
