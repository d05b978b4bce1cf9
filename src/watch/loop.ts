/**
 * The authoring loop behind `lake watch`. It keeps three things for the whole session: the last
 * compiled project that compiled, one open database, and the fingerprint of every node as last
 * built. A debounced batch of file changes goes through one cycle:
 *
 *   classify files → hold files found missing or empty → recompile (ProjectCompiler) →
 *   drop relations whose model is gone → plan (plan.ts: changed nodes; the graph adds
 *   descendants; the selection filters) → Session.run on the open database → SQL errors located
 *   in the model file → preview, tests.
 *
 * A file found missing or empty is usually a save caught halfway (safe-write renames, truncate
 * then write). It is held for a grace period after its latest event and looked at again; only a
 * file still missing (or empty) then counts as deleted (or empty). While any file is held, no
 * cycle compiles — the compiler might read that file mid-save — so changes wait for it.
 *
 * Nothing a user can do to a file ends the loop: a project that does not compile prints its
 * diagnostics and the loop waits for the next save (changes are carried over until one compiles);
 * a model that fails prints its error and the rest goes on. Cycles never overlap: changes that
 * arrive during one are handled right after it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Adapter, Row } from '../adapter/types.js';
import type { NodeId, ProjectPaths } from '../core/types.js';
import { relationId, relationSql } from '../core/types.js';
import { LakeError, type Diagnostic } from '../errors/index.js';
import type { NodeResult, Reporter, RunSummary } from '../reporter/types.js';
import type { RunExtension, Session, SessionOptions } from '../app/session.js';
import type { Selection } from '../graph/index.js';
import { readSettings } from '../project/settings.js';
import { openDatabase, type OpenDatabase } from '../executor/open.js';
import { existingRelation } from '../executor/run-node.js';
import { classify, relPath, watchTargets, type FileChange } from './files.js';
import { FileWatcher } from './file-watcher.js';
import { IncrementalCompiler, type ProjectCompiler } from './project-compiler.js';
import { directlyAffected, fingerprints, removedRelations, testsChanged, type ProjectView, type Removed } from './plan.js';
import { sqlErrorDiagnostic } from './sql-error.js';
import { LandingPoller } from './landing.js';

/**
 * The tests of the nodes a cycle rebuilds, as an extension of its run (`lake watch --test` passes
 * dq's QualityRun in build mode: data tests right after their model, unit tests before it): the
 * tests of `ids` (and the tests named in `ids`), with the models (`build`) or alone (`test`).
 */
export type TestPlanner = (session: Session, ids: readonly string[], reporter: Reporter, mode?: 'build' | 'test') => RunExtension;

export interface WatchOptions extends SessionOptions, Selection {
  /** Show the first N rows of each changed model after it is rebuilt. */
  readonly preview?: number;
  /** Run the tests of rebuilt models with each rebuild. */
  readonly tests?: TestPlanner;
  /** Also poll the landing folders of sources and build the models that read new files. */
  readonly landing?: boolean;
  /** Quiet time that ends a burst of writes (default 10 ms). */
  readonly debounceMs?: number;
  /**
   * How long a file found missing or empty is given to reappear or fill before the watch takes
   * it as deleted or empty (default 100 ms, as chokidar's atomic-write handling). It counts from
   * the file's latest event, and the file is looked at again when it ends.
   */
  readonly graceMs?: number;
  /** Longest a burst is held (default 300 ms). */
  readonly maxWaitMs?: number;
  /** Landing-folder poll interval (default 1000 ms). */
  readonly landingPollMs?: number;
  /**
   * Rebuild models reached by a file change from scratch (default true): after an edit an
   * incremental model must show the new SQL over all its rows, not only over new ones. Builds
   * caused by new landing files stay incremental either way.
   */
  readonly fullRefresh?: boolean;
  /** Build the whole selection when the watch starts (default true). */
  readonly initialBuild?: boolean;
  /**
   * How the project is recompiled after a change (default: IncrementalCompiler — a saved model
   * file is patched into the compiled project, anything else re-loads it).
   */
  readonly compiler?: ProjectCompiler;
  /** Turns preview rows into text (the CLI's table); JSON lines otherwise. */
  readonly formatRows?: (rows: readonly Row[]) => string;
}

/** What one cycle did (for tests, the benchmark and JSON output). */
export interface CycleReport {
  readonly files: readonly FileChange[];
  /** Sources whose landing folders had new files. */
  readonly landing: readonly NodeId[];
  /** The project compiled. */
  readonly compiled: boolean;
  readonly diagnostics: readonly Diagnostic[];
  readonly results: readonly NodeResult[];
  readonly dropped: readonly Removed[];
  /** Files or nodes whose errors are gone. */
  readonly fixed: readonly string[];
  readonly compileMs: number;
  readonly totalMs: number;
}

const viewOf = (s: Session): ProjectView => ({ compiled: s.compiled, macroIndex: s.compiler.engine.macroIndex });

/** JSON-safe copy of preview rows (HUGEINTs come back as bigint). */
function plainRows(rows: readonly Row[]): Row[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v])));
}

/**
 * dq prints a table of every test; in a loop that repeats on each save, a run where every test
 * passed gets one line instead (the table still comes when something fails or warns).
 */
class QuietPassingTests implements Reporter {
  constructor(private readonly r: Reporter) {}
  diagnostics(list: readonly Diagnostic[]): void { this.r.diagnostics(list); }
  runStart(command: string, nodes: number, target: string): void { this.r.runStart(command, nodes, target); }
  nodeStart(id: string, index: number, total: number): void { this.r.nodeStart(id, index, total); }
  nodeEnd(result: NodeResult, index: number, total: number): void { this.r.nodeEnd(result, index, total); }
  runEnd(summary: RunSummary): void { this.r.runEnd(summary); }
  info(text: string): void { this.r.info(text); }
  error(text: string): void { this.r.error(text); }
  record(kind: string, data: Readonly<Record<string, unknown>>, text?: string): void {
    const n = (k: string) => (typeof data[k] === 'number' ? (data[k] as number) : 0);
    if (kind === 'test_summary' && text !== undefined && n('tests') > 0 && n('fail') + n('error') + n('warn') === 0) {
      text = `tests: ${n('pass')} passed${n('skipped') ? `, ${n('skipped')} skipped` : ''}`;
    }
    this.r.record(kind, data, text);
  }
}

/** A file held while it is missing or empty. */
interface Hold {
  /** When it was first found missing or empty. */
  readonly since: number;
  /** The grace period ended with nothing newer: the next look takes the file as it is. */
  expired: boolean;
  readonly timer: NodeJS.Timeout;
}

/**
 * A file as it is now: a signature (size, mtime, inode), its size and, for a model, its text, read
 * through one descriptor so they agree. Undefined when it does not exist; null when it is not a
 * readable file (a folder, no permission: the compiler's own read reports that one).
 */
function observe(abs: string, withText: boolean): { sig: string; size: number; text?: string } | undefined | null {
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : null;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return null;
    const sig = `${st.size}:${st.mtimeMs}:${st.ino}`;
    if (!withText) return { sig, size: st.size };
    const text = fs.readFileSync(fd, 'utf8');
    return { sig, size: text.length, text };
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** `later` over `earlier`, one change per path (the latest wins). */
function mergeChanges(earlier: readonly FileChange[], later: readonly FileChange[]): FileChange[] {
  if (earlier.length === 0) return [...later];
  const byPath = new Map<string, FileChange>();
  for (const c of [...earlier, ...later]) byPath.set(c.path, c);
  return [...byPath.values()];
}

export class Watch {
  private session: Session | undefined;
  private opened: OpenDatabase | undefined;
  private dbPath = '';
  private paths: ProjectPaths;
  private watcher: FileWatcher | undefined;
  private poller: LandingPoller | undefined;
  private readonly compiler: ProjectCompiler;
  /** Fingerprint of each node when it was last built (attempted) in this database. */
  private readonly built = new Map<NodeId, string>();
  private readonly failing = new Set<NodeId>();
  private errorFiles = new Set<string>();
  private broken = false;
  /** Changes not applied yet because the project did not compile. */
  private carried: FileChange[] = [];
  /** Relations dropped while the project did not compile (not to be announced twice). */
  private readonly droppedEarly = new Set<string>();
  private readonly pendingPaths = new Set<string>();
  /** Size, mtime and inode of each file when last handled. */
  private readonly seen = new Map<string, string>();
  /**
   * Files found missing or empty, waiting out the grace period. While any file is held no cycle
   * compiles: a re-load would read it halfway through its save.
   */
  private readonly held = new Map<string, Hold>();
  /** Changes and landing sources that arrived while a file was held, handled once none is. */
  private deferredFiles: FileChange[] = [];
  private deferredSources: NodeId[] = [];
  private readonly pendingSources = new Set<NodeId>();
  private busy: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private stopping = false;
  /** Cycles wait for the initial build: one run at a time on the database. */
  private ready = false;
  private readonly listeners = new Set<(r: CycleReport) => void>();
  /** Where `dbt deps` installs packages (dbt_packages/), and the package folders watched (relative, forward slashes). */
  private packagesPath = 'dbt_packages';
  private packages: string[] = [];

  constructor(private readonly reporter: Reporter, private readonly o: WatchOptions) {
    this.compiler = o.compiler ?? new IncrementalCompiler(o);
    this.paths = { models: [], seeds: [], macros: [], tests: [], target: 'target' };
  }

  /**
   * Folders of installed dbt packages to watch: where `dbt deps` installs them (a new package
   * appears there) and each package the last load found, a `local:` one possibly outside the project.
   */
  private packageFolders(packagesPath: string, s: Session | undefined): string[] {
    const root = this.o.projectDir;
    return [...new Set([packagesPath, ...(s?.project.packages ?? []).map((p) => p.dir)])].map((d) => path.relative(root, path.resolve(root, d)).split(path.sep).join('/'));
  }

  /** Watch the packages of session `s` too, when they differ from those watched. */
  private watchPackagesOf(s: Session | undefined, packagesPath: string): void {
    const next = this.packageFolders(packagesPath, s);
    if (next.join('\0') === this.packages.join('\0')) return;
    this.packages = next;
    this.watcher?.setTargets(watchTargets(this.o.projectDir, this.paths, this.packages));
  }

  /** The database the watch holds open (undefined before start and after stop). */
  get db(): Adapter | undefined {
    return this.opened?.db;
  }

  /** The last session that compiled. */
  get current(): Session | undefined {
    return this.session;
  }

  /** Called after every cycle; returns a function that unsubscribes. */
  onCycle(fn: (r: CycleReport) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Load, open the database, build the selection, then watch. Throws LakeError (exit 2) only for
   * what a save cannot fix: an unreadable project.yml, a bad selector, a locked database.
   */
  async start(): Promise<void> {
    this.starting = this.begin();
    await this.starting;
  }

  private async begin(): Promise<void> {
    const root = this.o.projectDir;
    const settings = readSettings(root, this.o);
    this.paths = settings.paths;
    this.packagesPath = settings.packagesPath;
    this.packages = this.packageFolders(settings.packagesPath, undefined);
    this.dbPath = settings.target.path;
    const targetDir = path.resolve(root, settings.paths.target);
    this.watcher = await FileWatcher.start({
      targets: watchTargets(root, settings.paths, this.packages),
      debounceMs: this.o.debounceMs ?? 10,
      maxWaitMs: this.o.maxWaitMs ?? 300,
      ignored: (p) => {
        if (p === targetDir || p.startsWith(`${targetDir}${path.sep}`)) return true;
        return path.relative(root, p).split(path.sep).some((seg) => seg === 'node_modules' || (seg.startsWith('.') && seg !== '..' && seg !== '.'));
      },
      onBatch: (paths) => {
        for (const p of paths) this.pendingPaths.add(p);
        this.kick();
      },
      onError: (e) => this.reporter.error(`watch: ${e.message}`),
    });
    try {
      try {
        this.session = this.compiler.load();
        this.watchPackagesOf(this.session, this.packagesPath);
        this.reportWarnings(this.session.warnings);
        // A selector that matches nothing is a typo on the command line: say so now, not on every save.
        this.session.select(this.selection());
      } catch (e) {
        if (!(e instanceof LakeError) || e.phase === 'usage') throw e;
        this.compileFailed(e.diagnostics);
      }
      this.opened = await openDatabase(this.dbPath, 'watch');
      if (this.o.landing) {
        this.poller = new LandingPoller(this.o.landingPollMs ?? 1000, (ids) => {
          for (const id of ids) this.pendingSources.add(id);
          this.kick();
        });
        if (this.session) this.poller.setSources(this.session.project.sources.values());
        this.poller.start();
      }
      if (this.session && this.o.initialBuild !== false) {
        const s = this.session;
        const ids = this.inSelection(s, s.dag.topoOrder());
        await this.build(s, ids, new Set(), 'missing');
      } else if (this.session) {
        for (const [id, fp] of fingerprints(this.session.compiled)) this.built.set(id, fp);
      }
    } catch (e) {
      this.stopping = true;
      await this.shutdown();
      throw e;
    }
    if (this.stopping) return;
    this.ready = true;
    const folders = new Set([...this.paths.models, ...this.paths.macros, ...this.paths.seeds]).size;
    this.reporter.record('watch_ready', { folders, landing_sources: this.poller?.count ?? 0 },
      `watching ${folders} folder${folders === 1 ? '' : 's'} and project.yml${this.poller?.count ? ` and ${this.poller.count} landing folder${this.poller.count === 1 ? '' : 's'}` : ''} (Ctrl-C to stop)`);
    // Saves made during the initial build.
    this.kick();
  }

  /** Stop watching, let a running rebuild finish its current nodes, close the database. */
  stop(): Promise<void> {
    this.stopped ??= this.halt();
    return this.stopped;
  }

  private async halt(): Promise<void> {
    this.stopping = true;
    // The initial build checks `stopping` between models; let it end before the database closes.
    await this.starting?.catch(() => undefined);
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.poller?.stop();
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
    await this.watcher?.close();
    this.watcher = undefined;
    await this.busy;
    const opened = this.opened;
    this.opened = undefined;
    await opened?.release();
  }

  private selection(): { select?: readonly string[]; exclude?: readonly string[] } {
    return { select: this.o.select, exclude: this.o.exclude };
  }

  private kick(): void {
    if (this.busy || this.stopping || !this.ready) return;
    this.busy = this.drain().finally(() => { this.busy = undefined; });
  }

  private async drain(): Promise<void> {
    while (!this.stopping && (this.pendingPaths.size || this.pendingSources.size)) {
      const paths = [...this.pendingPaths];
      const sources = [...this.pendingSources];
      this.pendingPaths.clear();
      this.pendingSources.clear();
      try {
        await this.cycle(paths, sources);
      } catch (e) {
        // Nothing ends the user's session, not even a bug of ours: say what happened and go on.
        if (e instanceof LakeError) this.reporter.diagnostics(e.diagnostics);
        else this.reporter.error(`watch: internal error: ${(e as Error).message}`);
      }
    }
  }

  private async cycle(absPaths: readonly string[], arrived: readonly NodeId[]): Promise<void> {
    const t0 = performance.now();
    const root = this.o.projectDir;
    const fresh: FileChange[] = [];
    for (const abs of absPaths) {
      const rel = relPath(root, abs);
      const kind = classify(rel, this.paths, this.packages);
      const now = kind ? observe(abs, kind === 'model') : null;
      if (!kind || now === null) {
        this.release(rel);
        continue;
      }
      const sig = now ? now.sig : 'deleted';
      // The same write reported twice (raw event, then chokidar's) is handled once; so is a
      // deletion already taken, when a late event about it comes.
      if (this.seen.get(rel) === sig) {
        this.release(rel);
        continue;
      }
      if (!now || now.size === 0) {
        // A save caught halfway looks like this: a safe-write's rename dance leaves the file missing
        // for a moment, a truncate-then-write leaves it empty. Look again after a grace period.
        if (!this.confirmed(rel, abs)) continue;
      } else {
        this.release(rel);
      }
      this.seen.set(rel, sig);
      fresh.push(now?.text !== undefined ? { path: rel, kind, deleted: false, text: now.text } : { path: rel, kind, deleted: !now });
    }
    const files = mergeChanges(this.deferredFiles, fresh);
    const sources = [...new Set([...this.deferredSources, ...arrived])];
    if (files.length === 0 && sources.length === 0) return;
    if (this.held.size > 0) {
      // Another file is mid-save: compiling now would read it as deleted or empty. Its grace
      // period ends within graceMs and starts the next cycle.
      this.deferredFiles = files;
      this.deferredSources = sources;
      return;
    }
    this.deferredFiles = [];
    this.deferredSources = [];
    if (files.length) {
      const text = files.map((f) => (f.deleted ? `${f.path} (deleted)` : f.path)).join(', ');
      this.reporter.record('watch_change', { files: files.map((f) => ({ path: f.path, kind: f.kind, deleted: f.deleted })) }, `\nchanged: ${text}`);
    }
    if (sources.length) this.reporter.record('watch_landing', { sources }, `\nnew landing files: ${sources.map((s) => s.replace(/^source:/, '')).join(', ')}`);
    const byPath = new Map<string, FileChange>();
    for (const c of [...this.carried, ...files]) byPath.set(c.path, c);
    const changes = [...byPath.values()];

    const tc = performance.now();
    let next: Session | undefined;
    let failure: readonly Diagnostic[] = [];
    try {
      next = this.compiler.update(this.session, changes);
    } catch (e) {
      if (!(e instanceof LakeError)) {
        // Reported by drain; the changes still count once something compiles.
        this.carried = changes;
        throw e;
      }
      failure = e.diagnostics;
    }
    const compileMs = performance.now() - tc;
    const prev = this.session;
    const deleted = new Set(changes.filter((c) => c.deleted).map((c) => c.path));
    const report = (r: Partial<CycleReport>) => {
      const full: CycleReport = { files, landing: sources, compiled: !!next, diagnostics: failure, results: [], dropped: [], fixed: [], compileMs, totalMs: performance.now() - t0, ...r };
      this.reporter.record('watch_cycle', { files: full.files.length, compiled: full.compiled, rebuilt: full.results.length, compile_ms: Math.round(compileMs), total_ms: Math.round(full.totalMs) });
      for (const l of this.listeners) l(full);
    };

    if (!next) {
      this.carried = changes;
      this.compileFailed(failure);
      // A deleted model's relation goes now, even though something else does not compile.
      const dropped = prev ? await this.drop(removedRelations(viewOf(prev), undefined, deleted).filter((r) => !this.droppedEarly.has(relationId(r.relation))), deleted) : [];
      for (const d of dropped) this.droppedEarly.add(relationId(d.relation));
      report({ dropped });
      return;
    }

    const fixed: string[] = [];
    if (this.broken) {
      fixed.push(...this.errorFiles);
      this.reporter.record('fixed', { files: [...this.errorFiles] }, `fixed${this.errorFiles.size ? `: ${[...this.errorFiles].join(', ')}` : ''}`);
      this.broken = false;
      this.errorFiles.clear();
    }
    this.carried = [];
    const touched = new Set(changes.map((c) => c.path));
    this.reportWarnings(next.warnings.filter((d) => !d.file || touched.has(d.file) || changes.some((c) => c.kind === 'project')));

    // project.yml may move folders or the database.
    if (changes.some((c) => c.kind === 'project')) {
      this.paths = next.project.paths;
      this.packagesPath = readSettings(root, this.o).packagesPath;
      this.packages = this.packageFolders(this.packagesPath, next);
      this.watcher?.setTargets(watchTargets(root, next.project.paths, this.packages));
      if (next.project.target.path !== this.dbPath) {
        this.reporter.info(`target database is now ${next.project.target.path}`);
        await this.opened?.release();
        this.opened = undefined;
        this.dbPath = next.project.target.path;
        this.built.clear();
      }
    } else {
      // A load that failed at start found no packages yet.
      this.watchPackagesOf(next, this.packagesPath);
    }

    const removed = prev ? removedRelations(viewOf(prev), viewOf(next), deleted).filter((r) => !this.droppedEarly.has(relationId(r.relation))) : [];
    const dropped = await this.drop(removed, deleted);
    this.droppedEarly.clear();
    for (const r of removed) this.built.delete(r.id);

    const direct = directlyAffected(prev ? viewOf(prev) : undefined, viewOf(next), changes, this.built);
    const landed = new Set<NodeId>();
    for (const src of sources) {
      for (const n of next.compiled.nodes.values()) if (n.landingReads.includes(src)) landed.add(n.id);
    }
    this.session = next;
    this.poller?.setSources(next.project.sources.values());

    const reach = (start: ReadonlySet<NodeId>) => new Set([...start, ...next.dag.descendants([...start].filter((id) => next.dag.has(id)))]);
    let fileIds: NodeId[] = [];
    let landingIds: NodeId[] = [];
    try {
      const order = next.dag.topoOrder();
      const fromFiles = reach(direct);
      const fromLanding = reach(landed);
      fileIds = this.inSelection(next, order.filter((id) => fromFiles.has(id)));
      landingIds = this.inSelection(next, order.filter((id) => fromLanding.has(id) && !fromFiles.has(id)));
      // An edited model or seed outside the selection is not rebuilt: say so, since what the
      // selection reads from it is its table as it was.
      const saved = new Set(changes.filter((c) => (c.kind === 'model' || c.kind === 'seed') && !c.deleted).map((c) => c.path));
      const edited = [...next.compiled.nodes.values()].filter((n) => saved.has(n.node.path)).map((n) => n.id)
        .concat([...next.project.seeds.values()].filter((x) => saved.has(x.path)).map((x) => x.id));
      const kept = new Set(this.inSelection(next, edited));
      const outside = edited.filter((id) => !kept.has(id));
      if (outside.length) {
        const names = outside.map((id) => next.compiled.nodes.get(id)?.node.path ?? next.project.seeds.get(id)?.path ?? id);
        this.reporter.record('watch_outside', { nodes: outside }, `not rebuilt (outside the selection): ${names.join(', ')}; models in the selection read ${outside.length === 1 ? 'its table' : 'their tables'} as ${outside.length === 1 ? 'it is' : 'they are'}`);
      }
    } catch (e) {
      if (!(e instanceof LakeError)) throw e;
      this.reporter.diagnostics(e.diagnostics);
    }
    // --test: tests edited in YAML (or a unit test, or a singular test file) run again on their
    // own when their model is not rebuilt anyway.
    let retest: string[] = [];
    if (this.o.tests) {
      const rebuilt = new Set([...fileIds, ...landingIds]);
      const nodes = this.inSelection(next, [...testsChanged(prev ? viewOf(prev) : undefined, viewOf(next))]).filter((id) => !rebuilt.has(id));
      const singular = changes.filter((c) => c.kind === 'test' && !c.deleted && c.path.endsWith('.sql')).map((c) => path.basename(c.path, '.sql'));
      retest = [...nodes, ...singular];
    }
    if (fileIds.length === 0 && landingIds.length === 0 && retest.length === 0) {
      this.reporter.record('watch_idle', {}, 'nothing in the selection to rebuild');
      report({ dropped, fixed });
      return;
    }
    const results: NodeResult[] = [];
    if (fileIds.length) {
      // A seed built before is here because it changed: reload it. Seeds never built load if missing.
      const reload = fileIds.some((id) => next.project.seeds.has(id) && this.built.has(id));
      // New SQL over all rows: an incremental model rebuilt incrementally would show its old rows.
      const out = await this.build(next, fileIds, direct, reload ? 'all' : 'missing', this.o.fullRefresh !== false);
      results.push(...out.results);
      fixed.push(...out.fixed);
    }
    if (landingIds.length) {
      // New files are new rows: the incremental path is the point.
      const out = await this.build(next, landingIds, landed, 'missing', false);
      results.push(...out.results);
      fixed.push(...out.fixed);
    }
    if (retest.length) results.push(...await this.testOnly(next, retest));
    report({ dropped, fixed, results });
  }

  /**
   * Whether `rel`, found missing or empty, is to be taken as it is now. Not the first time: the
   * file is held and looked at again `graceMs` after its latest event (each event while it is
   * held starts the grace period again, so a slow save is seen through to its end). Yes once a
   * grace period has ended with nothing newer, or when the file has stayed in flux for five grace
   * periods (a file emptied over and over is empty).
   */
  private confirmed(rel: string, abs: string): boolean {
    const h = this.held.get(rel);
    if (h) clearTimeout(h.timer);
    const grace = this.o.graceMs ?? 100;
    const now = performance.now();
    if (h && (h.expired || now - h.since >= grace * 5)) {
      this.held.delete(rel);
      return true;
    }
    const entry: Hold = { since: h?.since ?? now, expired: false, timer: setTimeout(() => {
      // Only this entry's own timer may end it (a file held again has a new entry).
      if (this.held.get(rel) !== entry) return;
      entry.expired = true;
      this.pendingPaths.add(abs);
      this.kick();
    }, grace) };
    entry.timer.unref();
    this.held.set(rel, entry);
    return false;
  }

  /** `rel` is back (or no longer watched): stop holding it. */
  private release(rel: string): void {
    const h = this.held.get(rel);
    if (!h) return;
    clearTimeout(h.timer);
    this.held.delete(rel);
  }

  /** `ids` that are models or seeds within the user's selection, in the given order. */
  private inSelection(s: Session, ids: readonly NodeId[]): NodeId[] {
    const chosen = new Set(s.select(this.selection()));
    return ids.filter((id) => chosen.has(id) && (s.compiled.nodes.has(id) || s.project.seeds.has(id)));
  }

  private compileFailed(diagnostics: readonly Diagnostic[]): void {
    this.broken = true;
    this.reporter.diagnostics(diagnostics);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    this.errorFiles = new Set(errors.map((d) => d.file).filter((f): f is string => !!f));
    this.reporter.record('watch_waiting', { errors: errors.length }, `${errors.length} error${errors.length === 1 ? '' : 's'}; still watching — save a fix to rebuild`);
  }

  private reportWarnings(list: readonly Diagnostic[]): void {
    if (list.length) this.reporter.diagnostics(list);
  }

  /** Drop relations whose model or seed is gone, saying so first. */
  private async drop(removed: readonly Removed[], deleted: ReadonlySet<string>): Promise<Removed[]> {
    const db = this.opened?.db;
    if (!db) return [];
    const done: Removed[] = [];
    for (const r of removed) {
      const existing = await existingRelation(db, r.relation);
      if (!existing) continue;
      const why = deleted.has(r.path) ? `${r.path} was deleted` : `${r.path} no longer builds it`;
      this.reporter.record('drop', { id: r.id, relation: relationId(r.relation), kind: existing.kind, path: r.path }, `${why}: dropping ${existing.kind} ${relationId(r.relation)}`);
      try {
        await db.execute(`drop ${existing.kind} if exists ${relationSql(r.relation)}`);
        done.push(r);
      } catch (e) {
        this.reporter.diagnostics([{ code: 'LAKE-X051', severity: 'error', message: `could not drop ${relationId(r.relation)}: ${(e as Error).message.split('\n')[0]}`, file: r.path, hint: `drop it by hand: drop ${existing.kind} ${relationSql(r.relation)}` }]);
      }
    }
    return done;
  }

  /**
   * Build `ids` (in order) on the open database. `changed` are the nodes changed directly (for
   * --preview); seeds load when missing ('missing') or always ('all'); `fullRefresh` rebuilds
   * incremental models from scratch.
   */
  private async build(s: Session, ids: readonly NodeId[], changed: ReadonlySet<NodeId>, seeds: 'missing' | 'all', fullRefresh = false): Promise<{ results: NodeResult[]; fixed: string[] }> {
    if (!this.opened) {
      // The target moved (project.yml) and its database could not be opened last time: try again.
      try {
        this.opened = await openDatabase(this.dbPath, 'watch');
      } catch (e) {
        if (!(e instanceof LakeError)) throw e;
        this.reporter.diagnostics(e.diagnostics);
        return { results: [], fixed: [] };
      }
    }
    const db = this.opened.db;
    const now = fingerprints(s.compiled);
    let results: NodeResult[] = [];
    let extend: RunExtension | undefined;
    if (this.o.tests) {
      try {
        extend = this.o.tests(s, ids, new QuietPassingTests(this.reporter));
      } catch (e) {
        // Broken test declarations must not stop the models from building.
        if (!(e instanceof LakeError)) throw e;
        this.reporter.diagnostics(e.diagnostics);
      }
    }
    try {
      const out = await s.run(this.reporter, { select: ids, db, command: 'watch', seeds, fullRefresh, threads: this.o.threads, stopRequested: () => this.stopping, extend });
      results = out.results;
    } catch (e) {
      if (!(e instanceof LakeError)) throw e;
      this.reporter.diagnostics(e.diagnostics);
      return { results, fixed: [] };
    }
    for (const id of ids) {
      const fp = now.get(id);
      if (fp !== undefined) this.built.set(id, fp);
    }
    const fixed: string[] = [];
    const located: Diagnostic[] = [];
    for (const r of results) {
      if (r.status === 'error') {
        this.failing.add(r.id);
        const node = s.compiled.nodes.get(r.id);
        if (node && r.error && r.error.includes('compiled SQL:')) located.push(await sqlErrorDiagnostic(db, node, r.error, s.compiledPath(r.id)));
      } else if (r.status === 'success' && this.failing.delete(r.id)) {
        fixed.push(r.id);
      }
    }
    if (located.length) this.reporter.diagnostics(located);
    if (fixed.length) this.reporter.record('fixed', { nodes: fixed }, `fixed: ${fixed.join(', ')}`);
    const ok = results.filter((r) => r.status === 'success').map((r) => r.id);
    if (this.o.preview && this.o.preview > 0) await this.preview(db, s, ok.filter((id) => changed.has(id)), this.o.preview);
    return { results, fixed };
  }

  /** Run the tests of `select` (node ids and test names) without building anything. */
  private async testOnly(s: Session, select: readonly string[]): Promise<NodeResult[]> {
    if (!this.opened || !this.o.tests) return [];
    try {
      const extend = this.o.tests(s, select, new QuietPassingTests(this.reporter), 'test');
      const out = await s.run(this.reporter, { db: this.opened.db, command: 'watch', seeds: 'none', threads: this.o.threads, stopRequested: () => this.stopping, extend });
      return out.results;
    } catch (e) {
      if (!(e instanceof LakeError)) throw e;
      this.reporter.diagnostics(e.diagnostics);
      return [];
    }
  }

  private async preview(db: Adapter, s: Session, ids: readonly NodeId[], limit: number): Promise<void> {
    for (const id of ids) {
      const rel = s.compiler.relationOf(id);
      if (!rel || s.compiled.nodes.get(id)?.config.materialized === 'ephemeral') continue;
      try {
        const rows = plainRows(await db.query(`select * from ${relationSql(rel)} limit ${Math.floor(limit)}`));
        const text = this.o.formatRows ? this.o.formatRows(rows) : rows.map((r) => JSON.stringify(r)).join('\n');
        this.reporter.record('preview', { id, rows }, `${id} (first ${limit} rows):\n${text}`);
      } catch (e) {
        this.reporter.error(`preview of ${id}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }
}
