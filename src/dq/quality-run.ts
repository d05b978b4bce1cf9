/**
 * `lake test` and `lake build` as one extension of a session's run: data tests and unit tests
 * become jobs in the same scheduler as the models, on a graph where
 *   - a model's data tests depend on the model (and on every other node they read), and the
 *     model's children depend on its tests — so an error-severity failure skips the descendants;
 *   - a model's unit tests come before it (they need no warehouse), so a failing unit test skips
 *     the model, as in dbt.
 * For `lake test` the model jobs are dropped and only tests run. Tests of one model run as one
 * job (one shared scan, see run-data-tests.ts); a test reading several models gets its own job,
 * which waits for all of them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Adapter } from '../adapter/types.js';
import type { NodeId } from '../core/types.js';
import { LakeError, type Diagnostic } from '../errors/index.js';
import { Dag, fileMatcher, glob, pathMatcher, type DagNode } from '../graph/index.js';
import type { NodeResult, Reporter } from '../reporter/types.js';
import type { Job } from '../executor/scheduler.js';
import type { RunExtension, Session } from '../app/session.js';
import { collectDataTests } from './collect.js';
import { collectUnitTests, UnitTestRunner, type UnitTestDef } from './unit-tests.js';
import { ensureFailuresSchema, failuresTarget, runDataTests } from './run-data-tests.js';
import type { DataTest, TestConfig, TestResult } from './types.js';

export interface QualityOptions {
  readonly mode: 'build' | 'test';
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** Keep the failing rows of every test (`--store-failures`). */
  readonly storeFailures?: boolean;
  /** dbt's --warn-error: a test that would warn fails (and what depends on it is skipped). */
  readonly warnError?: boolean;
  readonly reporter: Reporter;
  /** Plan only (lake ls): write no compiled test SQL. */
  readonly listOnly?: boolean;
  /**
   * dbt's --indirect-selection: which tests of the selected nodes come with them — `eager` (a test
   * reading any selected node, the default), `cautious` (every node it reads selected),
   * `buildable` (every node it reads selected or an ancestor of one), `empty` (only tests selected
   * themselves).
   */
  readonly indirectSelection?: IndirectSelection;
  /** The selection as keys (`TestSelector.keys`), instead of select/exclude: a YAML selector's. */
  readonly chosen?: ReadonlySet<string>;
}

export type IndirectSelection = 'eager' | 'cautious' | 'buildable' | 'empty';

/** What a selection picks: tests, and the nodes (selectors for the run, and the ids). */
interface Picked {
  readonly data: DataTest[];
  readonly unit: UnitTestDef[];
  readonly nodeIds: ReadonlySet<NodeId>;
  readonly nodeSelect: string[];
  readonly nodeExclude: string[];
  /** Tests were selected by test selectors alone: no node to build. */
  readonly testsOnly: boolean;
}

export interface TestSelector {
  pick(opts: Pick<QualityOptions, 'select' | 'exclude' | 'indirectSelection'>): Picked;
  /** What one selection picks, as keys: node ids, and `selectionKey(test id)` for tests. */
  keys(opts: Pick<QualityOptions, 'select' | 'exclude' | 'indirectSelection'>): Set<string>;
  /** A selection given as keys (a YAML selector's result): those nodes and tests, nothing more. */
  explicit(chosen: ReadonlySet<string>): Picked;
}

/** Tests' keys in a set of selected node ids and tests (a test id could spell a node id). */
const TEST_KEY = '\u0000';
export function selectionKey(testId: string): string {
  return TEST_KEY + testId;
}

type TestFilter = (t: { id: string; stateKey?: string; name: string; kind: 'generic' | 'singular' | 'unit'; testName?: string; nodes: readonly NodeId[]; tags: readonly string[]; config?: TestConfig; file?: string }) => boolean;

/** A data test's config value as dbt's `config.<key>:<value>` selector compares it (undefined: not a test config key). */
function testConfigValue(c: TestConfig, key: string): string | undefined {
  switch (key) {
    case 'severity': return c.severity;
    case 'store_failures': return String(c.storeFailures);
    case 'store_failures_as': return c.storeAs ?? 'table';
    case 'warn_if': return c.warnIf.text;
    case 'error_if': return c.errorIf.text;
    case 'where': return c.where ?? '';
    case 'limit': return c.limit === undefined ? '' : String(c.limit);
    default: return undefined;
  }
}
const TEST_CONFIG_KEYS = new Set(['severity', 'store_failures', 'store_failures_as', 'warn_if', 'error_if', 'where', 'limit']);

/** What the selectors of tests look at besides the tests themselves. */
interface TestIndex {
  readonly names: ReadonlySet<string>;
  /** Tags some test carries (`tag:critical` then selects those tests). */
  readonly tags: ReadonlySet<string>;
  /** Does a model or seed carry this tag (then `tag:x` also selects nodes, as dbt does)? */
  readonly nodeTag: (tag: string) => boolean;
  /** Names of the tests that had a status in the `--state` run_results (undefined without one). */
  readonly previous: (status: string) => ReadonlySet<string> | undefined;
  /** The test keys of the `--state` manifest (undefined without one). */
  readonly previousKeys: () => ReadonlySet<string> | undefined;
  /** Files that declare tests (singular tests' .sql, YAML files). */
  readonly files: readonly string[];
  /** Does this path selector select some node (its file, or the YAML documenting it)? */
  readonly nodePath: (sel: string) => boolean;
  /** Installed packages' folders by name (`-s <package>` selects the tests a package declares). */
  readonly packageDirs?: ReadonlyMap<string, string>;
}

/** A selector only tests understand: `test_type:unit`, `test_name:unique`, or a test's own name. */
function testOnly(sel: string, testNames: ReadonlySet<string>, previous: TestIndex['previous']): TestFilter | undefined {
  // `result:fail` (and warn, pass) with --state: the tests that had that status, not their models'
  // other tests. `result:error`/`skipped` are node statuses too: node selection handles them.
  const status = /^result:(fail|warn|pass)$/.exec(sel)?.[1];
  const had = status ? previous(status) : undefined;
  if (had) return (t) => had.has(t.name);
  if (sel.startsWith('test_type:')) {
    const v = sel.slice('test_type:'.length);
    return (t) => v === t.kind || (v === 'data' && t.kind !== 'unit');
  }
  // `config.severity:warn` and the other keys only tests have: the tests with that value.
  const cfg = /^config\.(\w+):(.+)$/.exec(sel);
  if (cfg && TEST_CONFIG_KEYS.has(cfg[1]!)) {
    const [, key, value] = cfg;
    return (t) => t.config !== undefined && testConfigValue(t.config, key!) === value;
  }
  if (sel.startsWith('test_name:')) {
    const v = sel.slice('test_name:'.length);
    return (t) => t.testName === v || t.name === v;
  }
  // dbt's resource types of tests, and its unit_test method (a unit test by name, or a pattern).
  if (sel === 'resource_type:test') return (t) => t.kind !== 'unit';
  if (sel === 'resource_type:unit_test') return (t) => t.kind === 'unit';
  if (sel.startsWith('unit_test:')) {
    const v = sel.slice('unit_test:'.length);
    const g = glob(v);
    // A versioned model's unit test also by its YAML name, as dbt names it (`my_test`, not `my_test_v2`).
    return (t) => t.kind === 'unit' && (g(t.name) || (t.testName !== undefined && g(t.testName)) || t.id === v);
  }
  if (testNames.has(sel)) return (t) => t.name === sel || t.id === sel || (t.kind === 'unit' && t.testName === sel);
  return undefined;
}

/**
 * Selectors only tests understand are split off. An intersection that mixes them with node
 * selectors (`orders,test_name:not_null`) becomes one filter: tests of those nodes of that kind.
 */
function splitSelection(items: readonly string[] | undefined, index: TestIndex, nodesOf: (sel: string) => ReadonlySet<NodeId>): { nodes: string[]; filters: TestFilter[] } {
  const nodes: string[] = [];
  const filters: TestFilter[] = [];
  for (const item of items ?? []) {
    const keep: string[] = [];
    for (const sel of item.split(/\s+/).filter(Boolean)) {
      // `state:modified` (new, old, unmodified; with graph operators): the nodes, and also the
      // tests whose own declaration is new or changed (a pull request that only changes tests).
      const st = /^(?:\d*\+)?state:(new|old|modified|unmodified)(?:\.\w+)?(?:\+\d*)?$/.exec(sel)?.[1];
      const keys = st ? index.previousKeys() : undefined;
      if (st && keys) {
        const changed = st === 'new' || st === 'modified';
        filters.push((t) => t.stateKey !== undefined && keys.has(t.stateKey) !== changed);
        keep.push(sel);
        continue;
      }
      // An installed package's name: its nodes (whose tests come with them), and every test it
      // declares — its sources' too —, as dbt's fqn of a test starts with its package's name.
      const pkgDir = index.packageDirs?.get(sel);
      if (pkgDir !== undefined) {
        filters.push((t) => t.file !== undefined && t.file.startsWith(`${pkgDir}/`));
        keep.push(sel);
        continue;
      }
      // `path:x` (or a bare path) naming a test's file: the tests declared there — a singular
      // test's .sql, the YAML of generic and unit tests — and the nodes there, if any.
      // `file:x` likewise, by the file's name (dbt's file method).
      const p = /^path:(.+)$/.exec(sel)?.[1] ?? (!sel.includes(':') && /\/|\.(sql|ya?ml)$/.test(sel) ? sel : undefined);
      const f = /^file:(.+)$/.exec(sel)?.[1];
      if (p !== undefined || f !== undefined) {
        // A file or folder (or a shell pattern of them), as `path:` selects nodes.
        const matches = p !== undefined ? pathMatcher(p) : fileMatcher(f!);
        const under = (f: string | undefined) => f !== undefined && matches(f);
        if (index.files.some(under)) {
          filters.push((t) => under(t.file));
          if (index.nodePath(sel)) keep.push(sel);
          continue;
        }
      }
      // `tag:x` alone: the tests tagged x, and the nodes tagged x (whose tests come with them).
      const tag = /^tag:(.+)$/.exec(sel)?.[1];
      if (tag !== undefined && index.tags.has(tag)) {
        filters.push((t) => t.tags.includes(tag));
        if (index.nodeTag(tag)) keep.push(sel);
        continue;
      }
      const parts = sel.split(',');
      const tests = parts.map((p): TestFilter | undefined => {
        // In an intersection, a tag some test carries: tests tagged so, or tests of nodes tagged so.
        const t = /^tag:(.+)$/.exec(p)?.[1];
        if (t !== undefined && parts.length > 1 && index.tags.has(t)) {
          const nodes = index.nodeTag(t) ? nodesOf(p) : new Set<NodeId>();
          return (x) => x.tags.includes(t) || x.nodes.some((n) => nodes.has(n));
        }
        // In an intersection, `file:`/`path:` naming only files that declare tests (a YAML file):
        // the tests declared there (`file:schema.yml,resource_type:unit_test`), as dbt's file method.
        const fp = /^(path|file):(.+)$/.exec(p);
        if (fp && parts.length > 1) {
          const matches = fp[1] === 'path' ? pathMatcher(fp[2]!) : fileMatcher(fp[2]!);
          const declared = (f: string | undefined) => f !== undefined && matches(f);
          if (index.files.some(declared) && !index.nodePath(p)) return (x) => declared(x.file);
        }
        return testOnly(p, index.names, index.previous);
      });
      if (tests.every((f) => f === undefined)) {
        keep.push(sel);
        continue;
      }
      const nodePart = parts.filter((_p, i) => tests[i] === undefined).join(',');
      const chosen = nodePart ? nodesOf(nodePart) : undefined;
      const testFilters = tests.filter((f): f is TestFilter => f !== undefined);
      filters.push((t) => testFilters.every((f) => f(t)) && (!chosen || t.nodes.some((n) => chosen.has(n))));
    }
    if (keep.length) nodes.push(keep.join(' '));
  }
  return { nodes, filters };
}

/** The planned tests of one command, the jobs that run them, and their results. */
export class QualityRun implements RunExtension {
  /** Model selection to hand to `Session.run` (test-only selectors removed). */
  readonly nodeSelect: string[];
  readonly nodeExclude: string[];
  readonly dataTests: DataTest[];
  readonly unitTests: UnitTestDef[];
  private readonly results = new Map<string, TestResult>();
  private readonly groups = new Map<string, { data: DataTest[]; unit: UnitTestDef[] }>();
  private runner?: UnitTestRunner;

  private constructor(private readonly session: Session, private readonly opts: QualityOptions, data: DataTest[], unit: UnitTestDef[], nodeSelect: string[], nodeExclude: string[], private readonly buildModels: boolean) {
    this.dataTests = data;
    this.unitTests = unit;
    this.nodeSelect = nodeSelect;
    this.nodeExclude = nodeExclude;
  }

  /**
   * Collect, validate and select the tests (no database). Throws LakeError('test') with every
   * problem in the project's tests; warnings go to the reporter.
   */
  static plan(session: Session, opts: QualityOptions, selector: TestSelector = QualityRun.selector(session, opts.reporter)): QualityRun {
    const picked = opts.chosen ? selector.explicit(opts.chosen) : selector.pick(opts);
    // Only test selectors (`lake build -s test_type:unit`): run those tests, build no model.
    const buildModels = opts.mode === 'build' && !picked.testsOnly;
    const q = new QualityRun(session, opts, picked.data, picked.unit, picked.nodeSelect, picked.nodeExclude, buildModels);
    if (!opts.listOnly) q.writeCompiled();
    return q;
  }

  /**
   * The project's tests, collected and validated once (throws LakeError('test') with every
   * problem; warnings go to the reporter), and what a selection picks of them and of the nodes.
   * dbt's YAML selectors evaluate each leaf of a definition with this (its own indirect selection),
   * then combine the keys (`selectionKey`) with set operations and hand them to `plan` as `chosen`.
   */
  static selector(session: Session, reporter: Reporter): TestSelector {
    const data = collectDataTests(session.compiler, session.compiled);
    const unit = collectUnitTests(session.project, session.compiler, session.compiled);
    const diags: Diagnostic[] = [...data.diagnostics, ...unit.diagnostics];
    if (diags.some((d) => d.severity === 'error')) throw new LakeError('test', diags);
    if (diags.length) reporter.diagnostics(diags);

    const index: TestIndex = {
      // Names, and ids (`test.unique_orders_id`, `unit_test.orders.my_test`) as lake ls prints them.
      names: new Set([...data.tests.flatMap((t) => [t.name, t.id]), ...unit.tests.flatMap((t) => [t.name, t.id, t.yamlName])]),
      tags: new Set([...data.tests.flatMap((t) => t.config.tags), ...unit.tests.flatMap((t) => t.tags)]),
      previous: (status) => session.previousTests(status),
      previousKeys: () => session.previousTestKeys(),
      nodeTag: (tag) => [...session.compiled.nodes.values()].some((n) => n.config.tags.includes(tag)) || [...session.project.seeds.values()].some((n) => n.tags.includes(tag)),
      files: [...new Set([...data.tests.map((t) => t.file), ...unit.tests.map((t) => t.file)].filter((f): f is string => !!f))],
      nodePath: (sel) => { try { return session.select({ select: [sel] }).length > 0; } catch { return false; } },
      packageDirs: new Map((session.project.packages ?? []).map((p) => [p.name, p.dir])),
    };
    const nodesOf = (x: string) => new Set(session.select({ select: [x] }));
    const pick = (opts: Pick<QualityOptions, 'select' | 'exclude' | 'indirectSelection'>): Picked => {
      const sel = splitSelection(opts.select, index, nodesOf);
      const exc = splitSelection(opts.exclude, index, nodesOf);
      const anySelection = (opts.select ?? []).some((s) => s.trim() !== '');
      // Nodes chosen by node selectors; with no selector at all, every node; with test selectors alone, none.
      const nodeIds = sel.nodes.length || !sel.filters.length ? new Set(session.select({ select: sel.nodes, exclude: exc.nodes })) : new Set<NodeId>();
      const excluded = exc.nodes.length ? new Set(session.select({ select: exc.nodes })) : new Set<NodeId>();
      const matches = (filters: TestFilter[], t: Parameters<TestFilter>[0]) => filters.some((f) => f(t));
      // Tests that come with the selected nodes (dbt's indirect selection).
      const mode = opts.indirectSelection ?? 'eager';
      let buildable: Set<NodeId> | undefined;
      const indirect = (parents: readonly NodeId[]): boolean => {
        if (mode === 'empty') return false;
        if (mode === 'eager') return parents.some((p) => nodeIds.has(p));
        if (mode === 'cautious') return parents.every((p) => nodeIds.has(p));
        buildable ??= new Set([...nodeIds, ...session.dag.ancestors([...nodeIds], Infinity, { reads: true })]);
        return parents.some((p) => nodeIds.has(p)) && parents.every((p) => buildable!.has(p));
      };
      const pickData = data.tests.filter((test) => {
        const t = { ...test, nodes: test.parents, tags: test.config.tags };
        // dbt's eager indirect selection: excluding a node excludes every test that reads it.
        if (matches(exc.filters, t) || t.parents.some((p) => excluded.has(p))) return false;
        if (matches(sel.filters, t)) return true;
        if (sel.filters.length && !sel.nodes.length) return false;
        if (t.parents.length === 0) return !anySelection;
        if (!anySelection) return true;
        return indirect(t.parents);
      });
      const pickUnit = unit.tests.filter((t) => {
        const u = { id: t.id, stateKey: t.stateKey, name: t.name, testName: t.yamlName, kind: 'unit' as const, nodes: [t.model], tags: t.tags, file: t.file };
        if (matches(exc.filters, u) || excluded.has(t.model)) return false;
        if (matches(sel.filters, u)) return true;
        if (sel.filters.length && !sel.nodes.length) return false;
        // A unit test is selected with its model whatever the indirect selection (dbt: its fqn is the
        // model's, so the model's selector picks it; `empty` drops only data tests).
        return !anySelection || nodeIds.has(t.model);
      });
      return { data: pickData, unit: pickUnit, nodeIds, nodeSelect: sel.nodes, nodeExclude: exc.nodes, testsOnly: sel.filters.length > 0 && !sel.nodes.length };
    };
    return {
      pick,
      keys: (opts) => {
        const p = pick(opts);
        return new Set([...p.nodeIds, ...p.data.map((t) => selectionKey(t.id)), ...p.unit.map((t) => selectionKey(t.id))]);
      },
      explicit: (chosen) => {
        const nodeIds = new Set([...chosen].filter((k) => !k.startsWith(TEST_KEY)));
        return {
          data: data.tests.filter((t) => chosen.has(selectionKey(t.id))),
          unit: unit.tests.filter((t) => chosen.has(selectionKey(t.id))),
          nodeIds,
          nodeSelect: nodeIds.size ? [[...nodeIds].join(' ')] : [],
          nodeExclude: [],
          testsOnly: nodeIds.size === 0,
        };
      },
    };
  }

  /** Any test failed or errored (exit code 1). */
  failed(): boolean {
    return [...this.results.values()].some((r) => r.status === 'fail' || r.status === 'error');
  }

  /** Results so far, sorted by node then name. */
  testResults(): TestResult[] {
    return [...this.results.values()].sort((a, b) => (a.node ?? '').localeCompare(b.node ?? '') || a.name.localeCompare(b.name));
  }

  private compiledPathOf(t: DataTest): string {
    const abs = path.join(this.session.targetDir, 'compiled', '_tests', fileName(t));
    return path.relative(process.cwd(), abs) || abs;
  }

  /**
   * target/compiled/_tests/<test>.sql for each test, as dbt writes one for every test it runs. A test
   * that queries the database while it renders has its SQL only when it runs: written then
   * (`writeTestSql`, from runDataTests).
   */
  private writeCompiled(): void {
    if (this.dataTests.length === 0) return;
    fs.mkdirSync(path.join(this.session.targetDir, 'compiled', '_tests'), { recursive: true });
    for (const t of this.dataTests) if (t.sql) this.writeTestSql(t, t.sql);
  }

  private writeTestSql(t: DataTest, sql: string, mkdir = false): void {
    if (mkdir) fs.mkdirSync(path.join(this.session.targetDir, 'compiled', '_tests'), { recursive: true });
    fs.writeFileSync(path.join(this.session.targetDir, 'compiled', '_tests', fileName(t)), `${sql}\n`);
  }

  async prepare(p: { readonly db: Adapter; readonly jobs: Map<NodeId, Job>; readonly order: readonly NodeId[] }): Promise<{ dag: Dag; order: NodeId[] }> {
    const base = this.session.dag;
    const build = this.opts.mode === 'build';
    if (!this.buildModels) p.jobs.clear();
    const storing = this.dataTests.filter((t) => (t.config.storeFailuresSet ? t.config.storeFailures : this.opts.storeFailures));
    if (storing.length) await ensureFailuresSchema(p.db, storing.map((t) => failuresTarget(t).schema));

    const nodes: DagNode[] = base.nodes();
    const edges: [NodeId, NodeId][] = [];
    for (const id of base.ids()) for (const parent of base.parents(id)) edges.push([parent, id]);
    const add = (id: string, path: string) => nodes.push({ id, kind: 'model', name: id, schema: 'test', path, tags: [], config: { materialized: 'test' } });

    for (const t of this.dataTests) {
      const key = build && t.parents.length > 1 ? `test:${t.node}:${t.name}` : `test:${t.node ?? '(no model)'}`;
      const g = this.groups.get(key) ?? { data: [], unit: [] };
      g.data.push(t);
      this.groups.set(key, g);
    }
    for (const u of this.unitTests) {
      const key = `unit:${u.model}`;
      const g = this.groups.get(key) ?? { data: [], unit: [] };
      g.unit.push(u);
      this.groups.set(key, g);
    }
    for (const [key, g] of this.groups) {
      add(key, g.data[0]?.file ?? g.unit[0]?.file ?? '');
      if (g.unit.length) {
        const model = g.unit[0]!.model;
        // Before the model, after its parents (as dbt orders them): a unit test may read a parent's
        // built relation for the columns its given rows leave out.
        if (build && base.has(model)) {
          edges.push([key, model]);
          for (const parent of base.parents(model)) edges.push([parent, key]);
        }
        continue;
      }
      const parents = [...new Set(g.data.flatMap((t) => t.parents))].filter((x) => base.has(x));
      for (const parent of parents) edges.push([parent, key]);
      // A source is no job: a test of it waits for what the source comes after (the seed it is declared over).
      for (const parent of parents) if (parent.startsWith('source:')) for (const up of base.parents(parent)) edges.push([up, key]);
      const attached = g.data[0]!.node;
      if (build && parents.length > 1) {
        // A test of several models (relationships, a singular test's refs) holds back, as in dbt,
        // only the models downstream of all of them (directly or through other models): a reader
        // of one of them alone does not wait for the test — whichever model the test was declared
        // on. An edge to the first such models on each path is enough: their descendants follow.
        const below = parents.map((x) => new Set(base.descendants([x])));
        const held = new Set([...below[0]!].filter((d) => below.every((s) => s.has(d))));
        for (const d of held) if (!base.parents(d).some((up) => held.has(up))) edges.push([key, d]);
      } else if (build && attached && base.has(attached)) {
        // The model's readers wait for its tests — unless a reader is upstream of what the tests read (a cycle).
        const upstream = new Set([...base.ancestors(parents), ...parents]);
        for (const child of base.children(attached)) if (!upstream.has(child)) edges.push([key, child]);
      }
    }
    if (build) {
      // A model's unit tests run with it (dbt): a test that holds the model back holds them back too,
      // so they are skipped with it when that test fails.
      const unitJobOf = new Map([...this.groups].filter(([, g]) => g.unit.length).map(([key, g]) => [g.unit[0]!.model, key]));
      for (const [from, to] of [...edges]) {
        const unitJob = unitJobOf.get(to);
        if (unitJob && from !== unitJob && this.groups.has(from)) edges.push([from, unitJob]);
      }
    }
    const dag = new Dag(nodes, edges);
    for (const [key, g] of this.groups) {
      p.jobs.set(key, { id: key, materialized: g.unit.length ? 'unit test' : 'test', run: (conn) => this.runGroup(conn, g) });
    }
    const models = new Set(p.order);
    const order = dag.topoOrder().filter((id) => p.jobs.has(id) && (this.groups.has(id) || models.has(id)));
    return { dag, order };
  }

  private async runGroup(conn: Adapter, g: { data: DataTest[]; unit: UnitTestDef[] }): Promise<{ stats: Record<string, unknown> }> {
    const out: TestResult[] = [];
    if (g.data.length) {
      out.push(...await runDataTests(conn, g.data, { storeFailures: this.opts.storeFailures, warnError: this.opts.warnError, compiledPath: (t) => this.compiledPathOf(t), recordCompiled: (t, sql) => this.writeTestSql(t, sql, true) }));
    }
    if (g.unit.length) {
      this.runner ??= new UnitTestRunner(this.session.project, this.session.compiler, this.session.compiled);
      for (const u of g.unit) out.push(await this.runner.run(u, conn));
    }
    for (const r of out) this.results.set(r.id, r);
    const bad = out.filter((r) => r.status === 'fail' || r.status === 'error');
    if (bad.length) {
      const first = bad.slice(0, 5).map((r) => `${r.name} (${r.status === 'error' ? 'error' : `${r.failures} failure${r.failures === 1 ? '' : 's'}`})`);
      throw new Error(`${bad.length} of ${out.length} test${out.length === 1 ? '' : 's'} failed: ${first.join(', ')}${bad.length > 5 ? ', ...' : ''}`);
    }
    return { stats: { tests: out.length, test_warnings: out.filter((r) => r.status === 'warn').length } };
  }

  async finish(results: readonly NodeResult[]): Promise<{ results: NodeResult[]; extra: Record<string, unknown> }> {
    await this.runner?.close();
    for (const r of results) {
      const g = this.groups.get(r.id);
      if (!g || r.status !== 'skipped') continue;
      const message = r.message?.replace(/^skipped: /, '').replace(/^unit:(\S+) failed$/, 'a unit test of $1 failed').replace(/^test:(\S+?)(:\S+)? failed$/, 'a test of $1 failed');
      for (const t of g.data) this.results.set(t.id, { id: t.id, name: t.name, kind: t.kind, node: t.node, column: t.column, status: 'skipped', failures: 0, severity: t.config.severity, durationMs: 0, message });
      for (const u of g.unit) this.results.set(u.id, { id: u.id, name: u.name, kind: 'unit', node: u.model, status: 'skipped', failures: 0, severity: 'error', durationMs: 0, message });
    }
    const tests = this.testResults();
    this.report(tests);
    const models = results.filter((r) => !this.groups.has(r.id));
    const failed = models.some((r) => r.status === 'error') || this.failed();
    return {
      results: models,
      extra: {
        status: failed ? 'error' : 'success',
        tests: tests.map((t) => ({
          id: t.id, name: t.name, kind: t.kind, node: t.node ?? null, column: t.column ?? null, status: t.status, failures: t.failures,
          severity: t.severity, duration_ms: Math.round(t.durationMs * 10) / 10, message: t.message ?? null, batched: !!t.batched,
          stored_in: t.storedIn ?? null,
        })),
      },
    };
  }

  /**
   * on_run_end's results for a job of tests: one per test, as dbt's (status pass / warn / fail /
   * error / skipped, failures, message; the node a test with `resource_type` test or unit_test).
   */
  endResults(r: NodeResult): Record<string, unknown>[] | undefined {
    const g = this.groups.get(r.id);
    if (!g) return undefined;
    const p = this.session.project;
    // dbt's test unique id has the package of what it tests (an installed package's model or source: the package's name).
    const packageOf = (id: NodeId | undefined) => (id ? this.session.compiled.nodes.get(id)?.node.package ?? p.seeds.get(id)?.package ?? p.sources.get(id)?.package : undefined) ?? p.name;
    const one = (id: string, name: string, type: 'test' | 'unit_test', schema: string, project: string) => {
      const t = this.results.get(id);
      const status = t?.status ?? (r.status === 'skipped' ? 'skipped' : 'error');
      return {
        status, message: t?.message ?? (r.status === 'skipped' ? r.message ?? null : null), failures: t ? t.failures : null,
        execution_time: (t?.durationMs ?? 0) / 1000, adapter_response: {},
        node: { unique_id: `${type}.${project}.${name}`, name, schema, resource_type: type, config: { materialized: type === 'test' ? 'test' : 'unit' } },
      };
    };
    const schemaOf = (id: NodeId | undefined) => (id ? this.session.compiled.nodes.get(id)?.relation.schema ?? id.split('.')[0] ?? '' : '');
    return [...g.data.map((t) => one(t.id, t.name, 'test', schemaOf(t.node), packageOf(t.node))), ...g.unit.map((u) => one(u.id, u.name, 'unit_test', schemaOf(u.model), p.name))];
  }

  private report(tests: readonly TestResult[]): void {
    const rep = this.opts.reporter;
    // `kind` names the record in JSON lines, so the test's own kind travels as test_kind.
    for (const { kind, ...t } of tests) rep.record('test_result', { ...t, test_kind: kind });
    if (tests.length === 0) {
      rep.record('test_summary', { tests: 0 }, 'no tests selected');
      return;
    }
    rep.record('test_summary', summaryCounts(tests), formatResults(tests));
  }
}

/** A test's compiled-SQL file name (a configured `name:` may hold any character). */
function fileName(t: DataTest): string {
  return `${t.name.replace(/[^\w.-]+/g, '_')}.sql`;
}

function summaryCounts(tests: readonly TestResult[]): Record<string, number> {
  const n = (s: string) => tests.filter((t) => t.status === s).length;
  return { tests: tests.length, pass: n('pass'), warn: n('warn'), fail: n('fail'), error: n('error'), skipped: n('skipped') };
}

const STATUS: Record<string, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', error: 'ERROR', skipped: 'SKIP' };

/** The results table, then the details of everything that did not pass, then counts. */
export function formatResults(tests: readonly TestResult[]): string {
  const rows = tests.map((t) => [STATUS[t.status]!, t.name, t.node ?? '', t.status === 'skipped' ? '' : String(t.failures), `${Math.round(t.durationMs)} ms`]);
  const head = ['status', 'test', 'node', 'failures', 'time'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (r: string[]) => r.map((c, i) => fit(c, widths[i]!)).join(' | ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(line)];
  const details = tests.filter((t) => t.status !== 'pass' && t.status !== 'skipped' && t.message);
  if (details.length) {
    out.push('');
    for (const t of details) out.push(`${STATUS[t.status]} ${t.name}: ${t.message!.split('\n').join('\n    ')}`);
  }
  const c = summaryCounts(tests);
  out.push('', `Tests: ${c.pass} passed, ${c.warn} warned, ${c.fail} failed, ${c.error} errored, ${c.skipped} skipped (of ${c.tests})`);
  return out.join('\n');
}
