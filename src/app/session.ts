/**
 * One session per command: loads and compiles the project, builds the graph, resolves the
 * selection, and runs nodes against the target database. The CLI and `lake watch` drive it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Diagnostic } from '../errors/index.js';
import { LakeError, closest, codeFrame } from '../errors/index.js';
import { locate } from '../template/errors.js';
import { catalogName } from '../template/dbt-compat.js';
import { graphNodesById } from '../template/graph-context.js';
import type { CompiledNode, CompiledProject, LoadedProject, NodeId, Relation } from '../core/types.js';
import { pathInProject, quoteIdent, relationId, runHooks, seedRelation, type ProjectHook } from '../core/types.js';
import { loadProject, type LoadOptions } from '../project/load.js';
import { Compiler } from '../compiler/compile.js';
import type { RenderResult } from '../template/engine.js';
import { Dag, select, type DagNode, type Selection } from '../graph/index.js';
import type { SelectorState } from '../graph/state.js';
import { readSelectorState } from './selector-state.js';
import { lastTestsFile } from './run-history.js';
import { DEFER_DB, planDefer } from './defer.js';
import type { Adapter } from '../adapter/types.js';
import type { NodeResult, Reporter } from '../reporter/types.js';
import type { OpenDatabase } from '../executor/open.js';
import { startRun, endRun, finishRun, recordNodes } from '../executor/state.js';
import { schedule, type Job } from '../executor/scheduler.js';
import { runModel, runSeed, quickViewSql, CatalogSnapshot, type NodeRunContext } from '../executor/run-node.js';
import type { NodeHook } from '../executor/hooks.js';
import { streamHook } from '../executor/stream-hook.js';
import { answerQueries, renderAdhocLive, renderLive, LiveRenderError } from '../executor/live-render.js';
import { buildManifest, compiledPathOf, runResultsJson, writeCompiled, writeJson, type Manifest } from './artifacts.js';
import { writeCompiledFiles } from './compiled-files.js';
import { VERSION } from './version.js';
import { landingHook, landingSourcesOf } from '../ingest/hook.js';
import { expectationsHook } from '../dq/expectations-hook.js';

export interface SessionOptions extends LoadOptions {
  readonly projectDir: string;
  /** dbt's --empty: refs and sources read as zero rows for this session's renders (no render cache). */
  readonly empty?: boolean;
  /** dbt's `flags` as templates see them (WHICH, FULL_REFRESH, ...). */
  readonly flags?: Readonly<Record<string, unknown>>;
}

export interface RunOptions extends Selection {
  readonly fullRefresh?: boolean;
  /** --event-time-start / --event-time-end: the time range microbatch models build. */
  readonly eventTime?: { readonly start: Date; readonly end: Date };
  readonly failFast?: boolean;
  readonly threads?: number;
  readonly command?: string;
  /** Seeds: 'missing' loads only seeds whose table does not exist (lake run), 'all' reloads (lake seed). */
  readonly seeds?: 'missing' | 'all' | 'none';
  /**
   * Snapshots: 'missing' takes the first snapshot of those whose table does not exist (lake run, so
   * that the models reading them build), 'all' snapshots again (lake snapshot, lake build).
   */
  readonly snapshots?: 'missing' | 'all' | 'none';
  readonly stopRequested?: () => boolean;
  /** A micro-batch after the first of one invocation: the project's on_run_start hooks already ran. */
  readonly laterBatch?: boolean;
  /** `--defer`: unselected parents not built in this target are read from the `--state` database. */
  readonly defer?: boolean;
  /** The command line's own flags (target, vars...), recorded in run_results.json's `args`. */
  readonly invocation?: Readonly<Record<string, unknown>>;
  /** Keep the database open afterwards (watch); the caller closes it. */
  readonly db?: Adapter;
  /** More nodes to schedule with the models (tests: `lake build`, `lake test`). */
  readonly extend?: RunExtension;
  /**
   * For the later micro-batches of `runAvailableNow` (a landing zone with files left over): the
   * extension of a micro-batch over these selectors (`lake build`: their tests). Without it, later
   * micro-batches build models only.
   */
  readonly extendMicroBatch?: (select: readonly string[]) => RunExtension;
}

/** Adds nodes (tests) to a run's schedule: how `lake build` and `lake test` reuse `run`. */
export interface RunExtension {
  /** Once the model jobs are made: add (or remove) jobs; returns the graph and the order to schedule. */
  prepare(p: { readonly db: Adapter; readonly jobs: Map<NodeId, Job>; readonly order: readonly NodeId[]; readonly ctx: NodeRunContext }): Promise<{ dag: Dag; order: NodeId[] }>;
  /** After the run: the results run_results.json lists as nodes, and extra top-level fields (they win). */
  finish(results: readonly NodeResult[]): Promise<{ results: NodeResult[]; extra: Record<string, unknown> }>;
  /** on_run_end's `results` for a job of the extension's (one per test, as dbt's), or undefined for a model's. */
  endResults?(r: NodeResult): Record<string, unknown>[] | undefined;
}

export interface RunOutcome {
  readonly results: NodeResult[];
  readonly runId: string;
  readonly batchId: number;
  /** What this run wrote to target/run_results.json. */
  readonly runResults: Record<string, unknown>;
  /** A stop (Ctrl-C, SIGTERM) left nodes unbuilt. */
  readonly interrupted?: boolean;
}

export class Session {
  readonly project: LoadedProject;
  readonly compiler: Compiler;
  readonly compiled: CompiledProject;
  readonly dag: Dag;
  readonly targetDir: string;
  private stateDir?: string;
  private selectorState?: SelectorState;
  /** Files land while runs go on (`lake run --continuous`): sources without min_file_age hold young files back. */
  liveLanding = false;
  /** The run in progress, for `abortRunResults`. */
  private live?: { command: string; runId: string; startedAt: Date; args: Record<string, unknown>; batchId: number };

  private constructor(project: LoadedProject, compiler: Compiler, compiled: CompiledProject, dag: Dag) {
    this.project = project;
    this.compiler = compiler;
    this.compiled = compiled;
    this.dag = dag;
    this.targetDir = path.resolve(project.root, project.paths.target);
  }

  /** Load + compile; throws LakeError with every error diagnostic (warnings go to `warnings`). */
  static open(opts: SessionOptions, runStartedAt = new Date()): Session {
    const project = loadProject(opts.projectDir, opts);
    // Renders of unchanged models are reused from the last run (target/.lake/render-cache.json).
    // LAKE_RENDER_CACHE=0 turns it off (benchmarks use it to show the cost without it).
    const cacheDir = process.env.LAKE_RENDER_CACHE === '0' ? undefined : path.join(path.resolve(project.root, project.paths.target), '.lake');
    const compiler = new Compiler(project, { runStartedAt, cacheDir, ...(opts.empty ? { empty: true } : {}), ...(opts.flags ? { flags: opts.flags } : {}) });
    return Session.fromCompiler(compiler, compiler.compileAll());
  }

  /**
   * A session over a compiler as it stands — e.g. after `compiler.updateModel(file, text)` in the
   * authoring loop, which costs milliseconds where `open` re-reads the whole project. Same checks
   * as `open`: throws LakeError with every error diagnostic and every cycle.
   */
  static fromCompiler(compiler: Compiler, compiled: CompiledProject = compiler.result()): Session {
    const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
    const dag = buildDag(compiled);
    // Unresolved refs have no edge, so the graph exists even with errors: report cycles along with them.
    const cycles = dag.cycleDiagnostics().map((d) => withRefLine(compiled, d));
    if (errors.length || cycles.length) throw new LakeError('compile', [...compiled.diagnostics, ...cycles]);
    return new Session(compiler.project, compiler, compiled, dag);
  }

  get warnings(): Diagnostic[] {
    return this.compiled.diagnostics.filter((d) => d.severity === 'warn');
  }

  /**
   * Compare with an earlier invocation's artifacts (`--state <dir>`) in `state:` and `result:`
   * selectors. The files are read at the first selector that needs them, before this session
   * writes its own artifacts (so `--state target` means the previous invocation).
   */
  useState(dir: string): void {
    this.stateDir = dir;
    this.selectorState = undefined;
  }

  select(sel: { select?: readonly string[]; exclude?: readonly string[] }): NodeId[] {
    const needs = this.stateDir !== undefined && [...sel.select ?? [], ...sel.exclude ?? []].some((x) => /(^|[\s,@+])(state|result):/.test(x));
    return select(this.dag, needs ? { ...sel, state: this.loadState(), project: this.project.name } : { ...sel, project: this.project.name });
  }

  /**
   * The test-declaration keys of the `--state` manifest.json (dq/test-keys.ts): a test whose key
   * is not there is new or modified. Undefined without --state, or with a manifest that has none.
   */
  previousTestKeys(): ReadonlySet<string> | undefined {
    return this.stateDir === undefined ? undefined : this.loadState().previous?.tests;
  }

  /** The tests that had `status` (pass, warn, fail...) in the `--state` run_results.json; undefined without one. */
  previousTests(status: string): Set<string> | undefined {
    const st = this.stateDir === undefined ? undefined : this.loadState();
    if (!st?.results) return undefined;
    return new Set(st.results.filter((r) => r.test !== undefined && r.status === status).map((r) => r.test!));
  }

  private loadState(): SelectorState {
    return (this.selectorState ??= readSelectorState(this.stateDir!, () => this.manifest()));
  }

  compiledPath(id: NodeId): string {
    return path.relative(process.cwd(), compiledPathOf(this.targetDir, id)) || compiledPathOf(this.targetDir, id);
  }

  manifest(lineage?: Manifest['column_lineage']): Manifest {
    return buildManifest(this.compiled, this.dag, this.compiler.engine.macroIndex, lineage);
  }

  /**
   * target/compiled/** and target/manifest.json (no database). A model that queries the database
   * while rendering keeps the compiled file its last build wrote (its render without the database
   * is not what it builds); it is written only when there is none yet. A model whose render fails
   * (CompiledNode.executeError) has none: a file left from before is removed.
   */
  writeArtifacts(ids: Iterable<NodeId> = this.compiled.nodes.keys()): void {
    const keep = (id: NodeId) => this.compiled.nodes.get(id)?.introspective && fs.existsSync(compiledPathOf(this.targetDir, id));
    const all = [...ids];
    this.removeFailedCompiled(all);
    writeCompiled(this.targetDir, this.compiled, all.filter((id) => !keep(id) && !this.compiled.nodes.get(id)?.executeError));
    // Compact: for 10,000 models the indented manifest is 20% bigger and slower to write, and only programs read it.
    writeJson(path.join(this.targetDir, 'manifest.json'), this.manifest(), true, true);
  }

  /** Remove the compiled files of these models whose render fails (CompiledNode.executeError). */
  removeFailedCompiled(ids: Iterable<NodeId>): void {
    for (const id of ids) if (this.compiled.nodes.get(id)?.executeError) fs.rmSync(compiledPathOf(this.targetDir, id), { force: true });
  }

  /**
   * When the process is about to exit in the middle of a run (a second Ctrl-C): run_results.json
   * says so (status cancelled, aborted), so `lake retry` runs the command again instead of
   * reading the previous run's results. Synchronous: nothing else will run.
   */
  abortRunResults(): void {
    const r = this.live;
    if (!r) return;
    this.writeRunResults(runResultsJson(r.command, r.runId, r.startedAt, [], { batch_id: r.batchId, args: r.args, status: 'cancelled', aborted: true }));
  }

  /** target/run_results.json (a run writes its own; several micro-batches' are merged by the caller). */
  writeRunResults(runResults: Record<string, unknown>): void {
    writeJson(path.join(this.targetDir, 'run_results.json'), runResults);
    // The docs show the last test results even after a later run that tested nothing.
    if (Array.isArray(runResults.tests) && runResults.tests.length) writeJson(lastTestsFile(this.targetDir), { finished_at: runResults.finished_at, tests: runResults.tests });
  }

  /**
   * `--defer`: attach the `--state` database and point the refs of the models in `order` to the
   * parents it builds that this target lacks; returns those models compiled again.
   */
  private async deferParents(db: Adapter, order: readonly NodeId[], reporter: Reporter): Promise<Map<NodeId, CompiledNode>> {
    if (this.stateDir === undefined) {
      throw new LakeError('usage', { code: 'LAKE-U041', severity: 'error', message: '--defer needs --state <dir>: the run whose database holds the models this one does not build', hint: 'e.g. lake run -s state:modified+ --state prod-target --defer' });
    }
    const previous = this.loadState().previous;
    if (!previous) throw new LakeError('usage', { code: 'LAKE-G104', severity: 'error', message: `--state ${this.stateDir} holds no manifest.json`, hint: 'point --state at a target/ folder that `lake run` wrote' });
    const nodeOf = (id: NodeId) => {
      const relation = this.compiler.relationOf(id);
      const c = this.compiled.nodes.get(id);
      const path = c?.node.path ?? this.project.seeds.get(id)?.path;
      return relation && path ? { relation, path, ephemeral: c?.config.materialized === 'ephemeral' } : undefined;
    };
    const plan = await planDefer(db, this.dag, order, nodeOf, previous, this.stateDir, this.project.target.path);
    const out = new Map<NodeId, CompiledNode>();
    if (!plan) return out;
    await db.execute(`attach if not exists ${db.dialect.literal(plan.path)} as ${quoteIdent(DEFER_DB)} (read_only)`);
    this.compiler.deferRelations(plan.relations);
    // Every model of the run again (a ref may reach a deferred parent through an ephemeral one).
    for (const id of order) {
      if (!this.compiled.nodes.has(id)) continue;
      const re = this.compiler.compileOne(id, false);
      if (re.node) out.set(id, re.node);
    }
    reporter.record('defer', { path: plan.path, nodes: [...plan.relations.keys()] }, `deferring to ${plan.path}: ${[...plan.relations.keys()].join(', ')}`);
    return out;
  }

  /**
   * The SQL of model `id` rendered with the database (a model that queries it while rendering:
   * CompiledNode.introspective), as a run would build it now. Throws a LakeError for a person.
   */
  async renderLive(db: Adapter, id: NodeId): Promise<string> {
    const node = this.compiled.nodes.get(id);
    if (!node) throw new Error(`renderLive: unknown model ${id}`);
    try {
      return (await renderLive(db, this.compiler, node, false)).sql;
    } catch (e) {
      if (e instanceof LiveRenderError) throw new LakeError('execute', { code: 'LAKE-X041', severity: 'error', message: e.message }, 1);
      throw e;
    }
  }

  /**
   * dbt's run-operation: macro `name` (`package.macro` too) called with `args`, rendered with the
   * database on `db` in one transaction (its statements commit together, or not at all when it
   * fails). Gives what its log(..., info=True) and print() calls said.
   */
  async runOperation(db: Adapter, name: string, args: Record<string, unknown>): Promise<{ logs: string[] }> {
    const engine = this.compiler.engine;
    const [pkg, bare] = name.includes('.') ? [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)] : [undefined, name];
    if (!(pkg ? engine.packageMacro(bare!, pkg) : engine.hasMacro(name) || engine.packageMacro(name))) {
      const near = closest(name, engine.macroIndex.keys());
      throw new LakeError('usage', { code: 'LAKE-U020', severity: 'error', message: `no macro ${name} in the project or its packages`, hint: near.length ? `did you mean ${near.join(' or ')}?` : 'define it with {% macro name(...) %} in a file under macros/' });
    }
    const macro = pkg ? name : engine.hasMacro(name) ? name : engine.packageMacro(name)!;
    const opts = { incremental: false, materialized: 'operation', file: `run-operation ${name}` };
    try {
      return await db.transaction(async (tx) => {
        const r = await answerQueries<RenderResult>(tx, (database) => {
          const x = engine.callMacro(macro, args, { ...opts, database }).result;
          return x.pendingQuery !== undefined ? { pendingQuery: x.pendingQuery } : { value: x };
        }, { id: `run-operation ${name}`, path: engine.macroIndex.get(macro)?.path ?? 'macros/' });
        const errors = r.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) throw new LakeError('execute', errors, 1);
        return { logs: (r.logs ?? []).filter((l) => l.info).map((l) => l.message) };
      });
    } catch (e) {
      if (e instanceof LiveRenderError) throw new LakeError('execute', { code: 'LAKE-X042', severity: 'error', message: e.message }, 1);
      throw e;
    }
  }

  /** An ad-hoc query (`lake show --inline`) rendered with the database, as dbt show renders it. */
  async renderInlineLive(db: Adapter, text: string): Promise<string> {
    try {
      const r = await renderAdhocLive(db, this.compiler, text, '--inline', '--inline');
      if (r.diagnostics.length) throw new LakeError('template', r.diagnostics);
      return r.sql;
    } catch (e) {
      if (e instanceof LiveRenderError) throw new LakeError('execute', { code: 'LAKE-X041', severity: 'error', message: e.message }, 1);
      throw e;
    }
  }

  /** The project's on_run_start hooks (commands that read the database without a run: source freshness). */
  async runStartHooks(db: Adapter): Promise<void> {
    for (const hook of runHooks(this.project, 'start')) await runProjectHook(this, db, hook, 'on_run_start');
  }

  async openDb(command: string): Promise<OpenDatabase> {
    // Loaded on demand: the DuckDB binding costs ~100 ms to load, which `lake compile` and `lake ls` never need.
    const { openDatabase } = await import('../executor/open.js');
    return openDatabase(this.project.target.path, command);
  }

  hooks(): NodeHook[] {
    const rel = (id: string) => this.compiler.relationOf(id);
    // Order matters: sources first (they define views the SQL reads), expectations last (they wrap the final SELECT).
    return [landingHook(this), streamHook(rel), expectationsHook(this)];
  }

  /**
   * True when none of `hooks()` applies to the node: no landing source, no stream() read, no
   * expectations (what each hook checks before doing anything).
   */
  hookFree(node: CompiledNode): boolean {
    return node.streamReads.length === 0 && node.config.expectations === undefined
      && landingSourcesOf(this.project, node.landingReads, node.sql).length === 0;
  }

  /** Build the selected models (and seeds) in graph order. */
  async run(reporter: Reporter, o: RunOptions = {}): Promise<RunOutcome> {
    const startedAt = new Date();
    const command = o.command ?? 'run';
    const ids = this.select(o).filter((id) => !id.startsWith('source:'));
    this.writeArtifacts();
    const opened = o.db ? undefined : await this.openDb(command);
    const db = o.db ?? opened!.db;
    const runId = randomUUID();
    try {
      // One catalog query for the run instead of a lookup per node: each node is built once and changes
      // only its own relation. Only the schemas the selection builds into, and `_lake` (which says
      // whether lake's state tables need creating).
      const relations = ids.map((id) => this.compiler.relationOf(id)).filter((r): r is Relation => !!r);
      const readCatalog = () => CatalogSnapshot.read(db, { schemas: [...relations.map((r) => r.schema), '_lake'], relations });
      // `args`: in _lake.runs, and in run_results.json for `lake retry` to run the same command again.
      const args = { select: o.select ?? [], exclude: o.exclude ?? [], full_refresh: !!o.fullRefresh, fail_fast: !!o.failFast, ...o.invocation };
      const started = await startRun(db, readCatalog, runId, command, JSON.stringify(args), VERSION);
      const batchId = started.batchId;
      this.live = { command, runId, startedAt, args, batchId };
      let catalog = started.catalog;
      const startHooks = runHooks(this.project, 'start');
      try {
        if (!o.laterBatch) for (const hook of startHooks) await runProjectHook(this, db, hook, 'on_run_start', undefined, (line) => reporter.info(line));
      } catch (e) {
        // The run ends here, recorded as failed (not left 'running'), and run_results.json says why.
        await endRun(db, runId, 'error');
        this.writeRunResults(runResultsJson(command, runId, startedAt, [], { batch_id: batchId, args, status: 'error', hook_error: { hook: 'on_run_start', message: errorText(e) } }));
        throw e;
      }
      // on_run_start hooks may create or drop relations.
      if (startHooks.length > 0 && !o.laterBatch) catalog = await readCatalog();
      const seedMode = o.seeds ?? 'missing';
      // --empty never snapshots an existing history: zero rows would record every row as deleted.
      const snapshotMode = this.compiler.empty && o.snapshots === 'all' ? 'missing' : o.snapshots ?? 'missing';
      const order = ids.filter((id) => {
        const seed = this.project.seeds.get(id);
        if (seed) {
          if (seedMode === 'none') return false;
          return seedMode === 'all' || !!o.fullRefresh || !catalog.exists(seedRelation(seed));
        }
        const c = this.compiled.nodes.get(id);
        if (c?.node.resourceType !== 'snapshot') return true;
        // --full-refresh does not make a snapshot again: its history exists nowhere else.
        return snapshotMode === 'all' || (snapshotMode === 'missing' && !catalog.exists(c.relation));
      });
      // Schemas up front: concurrent `create schema` in several transactions is a catalog conflict in DuckDB.
      const schemas = new Set(order.map((id) => this.compiler.relationOf(id)?.schema).filter((x): x is string => !!x));
      // A schema holding one of the selected relations already exists (the usual re-run): no statement for it.
      const present = new Set(order.map((id) => this.compiler.relationOf(id)).filter((r) => !!r && !!catalog.exists(r)).map((r) => r!.schema));
      for (const schema of schemas) if (!present.has(schema)) await db.execute(`create schema if not exists ${db.dialect.quote(schema)}`);
      const ctx: NodeRunContext = {
        compiler: this.compiler, hooks: this.hooks(), fullRefresh: !!o.fullRefresh, runId, batchId,
        startedAt, ...(o.eventTime ? { eventTime: o.eventTime } : {}), ...(this.compiler.empty ? { empty: true } : {}),
        projectRoot: this.project.root, compiledPath: (id) => this.compiledPath(id),
        recordCompiled: (n) => writeCompiledFiles(this.targetDir, [n]),
        catalog, schemasReady: schemas, hookFree: (node) => this.hookFree(node),
      };
      const deferred = o.defer ? await this.deferParents(db, order, reporter) : new Map<NodeId, CompiledNode>();
      const jobs = new Map<NodeId, Job>();
      for (const id of order) {
        const seed = this.project.seeds.get(id);
        if (seed) {
          jobs.set(id, { id, materialized: 'seed', run: (conn) => runSeed(conn, seed, catalog, this.compiler) });
        } else {
          const node = deferred.get(id) ?? this.compiled.nodes.get(id)!;
          jobs.set(id, { id, materialized: node.config.materialized, compiledPath: this.compiledPath(id), run: (conn) => runModel(conn, node, ctx), batchSql: (conn) => quickViewSql(node, ctx, conn.dialect) });
        }
      }
      let dag = this.dag;
      let runOrder = order;
      if (o.extend) ({ dag, order: runOrder } = await o.extend.prepare({ db, jobs, order, ctx }));
      reporter.runStart(command, runOrder.length, this.project.target.name);
      const results = await schedule({
        db, dag, jobs, order: runOrder, threads: o.threads ?? this.project.target.threads, failFast: !!o.failFast,
        reporter, stopRequested: o.stopRequested,
      });
      // Stopped by Ctrl-C / SIGTERM before every node ran: not a success.
      const interrupted = results.some((r) => r.status === 'skipped' && r.message === 'skipped: interrupted');
      let status = results.some((r) => r.status === 'error') ? 'error' : interrupted ? 'cancelled' : 'success';
      let hookError: unknown;
      // on_run_end once per invocation, as dbt: after the micro-batch that leaves no file unread.
      const moreBatches = results.some((r) => r.status === 'success' && Number(r.stats?.pending_files ?? 0) > 0);
      const endHooks = runHooks(this.project, 'end');
      if (endHooks.length === 0 || moreBatches) {
        await finishRun(db, runId, status, results);
      } else {
        // The hooks may read this run's node results: recorded before them.
        await recordNodes(db, runId, results);
        // dbt's on-run-end context: the run's results and the schemas it built into.
        const endContext = onRunEndContext(this, results, o.extend);
        try {
          for (const hook of endHooks) await runProjectHook(this, db, hook, 'on_run_end', endContext, (line) => reporter.info(line));
        } catch (e) {
          // Thrown after the run is recorded and its results written (as dbt writes run_results.json).
          hookError = e;
          status = 'error';
        }
        await endRun(db, runId, status);
      }
      const fin = o.extend ? await o.extend.finish(results) : { results, extra: {} };
      reporter.runEnd({ command, runId, elapsedMs: Date.now() - startedAt.getTime(), results });
      const statusExtra = status === 'success' ? {} : { status };
      const hookExtra = hookError ? { hook_error: { hook: 'on_run_end', message: errorText(hookError) } } : {};
      const runResults = runResultsJson(command, runId, startedAt, fin.results, { batch_id: batchId, args, ...fin.extra, ...statusExtra, ...hookExtra });
      this.writeRunResults(runResults);
      if (hookError) throw hookError;
      return { results, runId, batchId, runResults, interrupted };
    } finally {
      this.live = undefined;
      await opened?.release();
    }
  }
}

/**
 * `results` (one per node: status, message, time, rows and the node as `graph.nodes` holds it —
 * dbt's unique_id, name, resource_type, package_name, database, schema, alias, fqn, tags, config,
 * depends_on) and `schemas` for on_run_end.
 */
function onRunEndContext(s: Session, results: readonly NodeResult[], extend?: RunExtension): Record<string, unknown> {
  const schemas = new Set<string>();
  let graph: Map<NodeId, Record<string, unknown>> | undefined;
  const graphNode = (id: NodeId) => (graph ??= graphNodesById(s.project, (x) => (s.dag.has(x) ? s.dag.parents(x) : undefined), (x) => s.compiled.nodes.get(x)?.config as Readonly<Record<string, unknown>> | undefined)).get(id);
  const out = results.flatMap((r) => {
    const tests = extend?.endResults?.(r);
    if (tests) return tests;
    const c = s.compiled.nodes.get(r.id);
    const seed = c ? undefined : s.project.seeds.get(r.id);
    const schema = c?.relation.schema ?? seed?.schema ?? r.id.split('.')[0] ?? '';
    if (r.status === 'success' && ((c && c.config.materialized !== 'ephemeral') || seed)) schemas.add(schema);
    const g = graphNode(r.id);
    return {
      status: r.status, message: r.error ?? r.message ?? null, execution_time: r.durationMs / 1000,
      adapter_response: r.rows === undefined || r.rows === null ? {} : { rows_affected: r.rows },
      node: { unique_id: r.id, ...g, name: c?.node.name ?? r.id.split('.').slice(1).join('.'), schema, resource_type: c ? c.node.resourceType ?? 'model' : 'seed', config: { ...g?.config as Record<string, unknown> | undefined, materialized: r.materialized } },
    };
  });
  // dbt's database_schemas: (database, schema) pairs, the database as dbt-duckdb names the file.
  const database = catalogName(s.project.target.path);
  const sorted = [...schemas].sort();
  return { results: out, schemas: sorted, database_schemas: sorted.map((x) => [database, x]) };
}

async function runProjectHook(s: Session, db: Adapter, hook: ProjectHook, what: string, extra?: Record<string, unknown>, say?: (line: string) => void): Promise<void> {
  const text = hook.sql;
  const file = hook.package ? `${hook.package.dir}/dbt_project.yml` : s.project.flavor === 'dbt' ? 'dbt_project.yml' : 'project.yml';
  // Rendered with the database: a hook may run_query (dbt's on-run-end grants loop over schemas).
  // A package's hook sees the package's vars (engine.ts: __package).
  let r: Awaited<ReturnType<typeof renderAdhocLive>>;
  try {
    r = await renderAdhocLive(db, s.compiler, text, `${hook.package ? file : 'project.yml'} (${what})`, what, undefined, hook.package ? { ...extra, __package: hook.package.name } : extra);
  } catch (e) {
    if (e instanceof LiveRenderError) throw new LakeError('execute', { code: 'LAKE-X030', severity: 'error', message: e.message }, 1);
    throw e;
  }
  if (r.diagnostics.some((d) => d.severity === 'error')) throw new LakeError('execute', r.diagnostics);
  // Its log(..., info=True) and print() lines (an on-run-end hook summarizing `results`).
  for (const line of r.logs ?? []) say?.(line);
  if (r.sql.trim()) {
    try {
      await db.execute(r.sql);
    } catch (e) {
      throw new LakeError('execute', { code: 'LAKE-X030', severity: 'error', message: `${what} hook${hook.package ? ` of package ${hook.package.name}` : ''} failed: ${(e as Error).message}`, file, line: hookLine(path.join(s.project.root, file), text), hint: 'fix the SQL of the hook' }, 1);
    }
  }
}

/**
 * Point a cycle diagnostic at the line of the first node's SQL that refs the node before it in
 * the cycle (`a > b > a`: a reads b), with a code frame.
 */
function withRefLine(compiled: CompiledProject, d: Diagnostic): Diagnostic {
  const path = /^cycle: (.*)$/.exec(d.message)?.[1]?.split(' > ');
  const first = d.node ? compiled.nodes.get(d.node) : undefined;
  if (!path || path.length < 2 || !first) return d;
  const read = path[path.length - 2]!;
  const name = read.slice(read.lastIndexOf('.') + 1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const at = locate(first.node.rawSql, new RegExp(`ref\\s*\\(\\s*['"]([\\w]+\\.)?${name}['"]`));
  return at ? { ...d, line: at.line, col: at.col, frame: codeFrame(first.node.rawSql, at.line, at.col) } : d;
}

/** Graph of models, seeds and sources from a compiled project. */
export function buildDag(compiled: CompiledProject): Dag {
  const nodes: DagNode[] = [];
  const edges: [NodeId, NodeId][] = [];
  const p = compiled.project;
  // A package's node: its package, and its fqn (the package, its folders, its name) for dbt's selectors.
  const pkg = (n: { readonly path: string; readonly name: string; readonly package?: string }) => (n.package ? { package: n.package, fqn: [n.package, ...pathInProject(p, n).split('/').slice(1, -1), n.name] } : {});
  for (const s of p.sources.values()) nodes.push({ id: s.id, kind: 'source', name: s.name, schema: s.sourceName, path: s.path, tags: s.tags, config: {}, ...(s.package ? { package: s.package } : {}) });
  for (const s of p.seeds.values()) nodes.push({ id: s.id, kind: 'seed', name: s.name, schema: s.schema, path: s.path, tags: s.tags, config: { materialized: 'seed', ...(s.eventTime ? { event_time: s.eventTime } : {}) }, ...pkg(s) });
  const known = new Set(nodes.map((n) => n.id));
  for (const n of compiled.nodes.values()) {
    nodes.push({ id: n.id, kind: n.node.resourceType ?? 'model', name: n.node.name, schema: n.relation.schema, path: n.node.path, ...(n.node.patchPath ? { patchPath: n.node.patchPath } : {}), tags: n.config.tags, config: n.config, ...(n.node.version ? { version: n.node.version } : {}), ...pkg(n.node) });
    known.add(n.id);
  }
  // A source declared over a seed's table (dbt projects often declare their seeds as sources) comes
  // after the seed, and so does what reads it (a run schedules by direct parents; a source is no job).
  // Those edges only order: dbt's graph has none, so `-s seed+` does not select the source (Dag).
  const after: [NodeId, NodeId][] = [];
  const seedByRelation = new Map([...p.seeds.values()].map((s) => [relationId(seedRelation(s)).toLowerCase(), s.id]));
  const seedOf = new Map<NodeId, NodeId>();
  for (const s of p.sources.values()) {
    const seed = !s.landing && !s.database ? seedByRelation.get(`${s.schema}.${s.identifier}`.toLowerCase()) : undefined;
    if (seed) {
      seedOf.set(s.id, seed);
      after.push([seed, s.id]);
    }
  }
  for (const n of compiled.nodes.values()) {
    for (const d of [...n.dependsOn.nodes, ...n.dependsOn.sources]) {
      if (!known.has(d)) continue;
      edges.push([d, n.id]);
      const seed = seedOf.get(d);
      if (seed && !n.dependsOn.nodes.includes(seed)) after.push([seed, n.id]);
    }
  }
  return new Dag(nodes, edges, after);
}

/** A hook's error as one line of text (a LakeError's first diagnostic). */
function errorText(e: unknown): string {
  const d = (e as LakeError).diagnostics?.[0];
  return d ? d.message : (e as Error).message ?? String(e);
}

/** The line of the project file where a hook's text starts (its first line found there). */
function hookLine(file: string, text: string): number | undefined {
  const first = text.trim().split('\n')[0]!.trim();
  if (!first) return undefined;
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes(first) || l.includes(first.replace(/"/g, '\\"')));
    return i >= 0 ? i + 1 : undefined;
  } catch {
    return undefined;
  }
}
