/**
 * Unit tests (YAML `unit_tests:`): a model, its inputs given as rows, and the rows expected. Each
 * runs in its own in-memory DuckDB — never the warehouse: the given inputs become tables under the
 * real relation names, `this` (if given) is the model's current table, and the model is built by
 * the executor's real path (hooks, is_incremental() re-render, the materialization's plan). So for
 * an incremental model `expect` is the FINAL table after the change is applied — append, merge,
 * insert_new, delete+insert or cdc — not only the new rows. In a dbt project (dbt_project.yml)
 * an incremental-mode test means what it means in dbt: `expect` is what the model's SELECT gives
 * against the given `this` (the rows the strategy would apply), so dbt's tests move over as they are.
 *
 * Input schemas: lake derives the columns of a ref'd model (its SQL over its own inputs' schemas,
 * recursively, in a scratch in-memory database), of a seed (its CSV) and of a documented source;
 * given values are cast to those types and left-out columns are NULL, like dbt. When a schema
 * cannot be derived the types come from the values.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from '../errors/index.js';
import { formatDiagnostic } from '../errors/index.js';
import type { Column, CompiledNode, CompiledProject, LoadedProject, NodeId, Relation } from '../core/types.js';
import { landingViewName, quoteIdent, relationSql, streamViewName, versionedRefKey } from '../core/types.js';
import type { Adapter } from '../adapter/types.js';
import { DuckDBAdapter } from '../adapter/duckdb/adapter.js';
import { Compiler } from '../compiler/compile.js';
import { runModel, type NodeRunContext } from '../executor/run-node.js';
import { unitTestKey } from './test-keys.js';
import { ensureState } from '../executor/state.js';
import { expectationsHook } from './expectations-hook.js';
import { createFixtureTable, insertFixture, parseCsv, valueSql, type Fixture } from './unit-fixtures.js';
import { cdcStateRelation, keyColumn, snapshotShapeSql } from '../materialize/index.js';
import { strategyOf } from '../project/config.js';
import { diffCount, diffRows, formatDiff, type TextRow } from './unit-diff.js';
import type { TestResult } from './types.js';

/** What a `given` entry feeds: the model's own table, a model or seed, or a source. */
export type InputRef = { readonly kind: 'this' } | { readonly kind: 'node' | 'source'; readonly id: NodeId };

export interface GivenInput {
  readonly input: InputRef;
  /** As written (`ref('users')`), for messages. */
  readonly label: string;
  readonly fixture: Fixture;
  /** Neither rows nor a fixture file: a seed then gives its own rows (dbt). */
  readonly noRows?: boolean;
}

export interface UnitTestDef {
  /** `unit_test.<model name>.<test name>` */
  readonly id: string;
  readonly name: string;
  /** The name its YAML gives: for a versioned model's test, `name` without the `_v<v>` (dbt's name). */
  readonly yamlName: string;
  readonly model: NodeId;
  readonly file: string;
  readonly line?: number;
  readonly description?: string;
  readonly given: readonly GivenInput[];
  readonly expect: Fixture;
  readonly vars?: Readonly<Record<string, unknown>>;
  /** overrides.env_vars: what env_var() gives while the model renders for this test. */
  readonly envVars?: Readonly<Record<string, string>>;
  /** overrides: is_incremental (or overrides.macros.is_incremental, dbt's spelling). */
  readonly isIncremental?: boolean;
  /** overrides.macros other than is_incremental: what each macro gives, whatever its arguments. */
  readonly macros?: Readonly<Record<string, unknown>>;
  /** Its YAML entry's key (dq/test-keys.ts), for `state:` selection. */
  readonly stateKey: string;
  readonly tags: readonly string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse and validate the project's `unit_tests:` entries. */
export function collectUnitTests(project: LoadedProject, compiler: Compiler, compiled: CompiledProject): { tests: UnitTestDef[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const tests: UnitTestDef[] = [];
  const seen = new Set<string>();
  for (const raw of project.unitTests) for (const target of versionTargets(raw, compiled)) {
    const file = String(raw.__file ?? 'unit_tests');
    const line = typeof raw.__line === 'number' ? raw.__line : undefined;
    const problems: { message: string; hint: string }[] = [];
    const bad = (message: string, hint: string) => problems.push({ message, hint });
    if (target.problem) bad(target.problem.message, target.problem.hint);
    // A unit test of a versioned model is one test per version, named <name>_v<v> (dbt's).
    const name = typeof raw.name === 'string' && raw.name ? `${raw.name}${target.suffix}` : '';
    if (!name) bad('a unit test needs a name', 'write `- name: test_valid_emails`');
    const label = name || '(unnamed)';
    const enabled = !(isRecord(raw.config) && raw.config.enabled === false);
    let model: CompiledNode | undefined;
    if (typeof raw.model !== 'string' || !raw.model) bad(`unit test ${label} needs a model`, 'write `model: users` (the model under test)');
    else {
      const res = compiler.resolveRef(target.model ?? raw.model);
      model = res.id ? compiled.nodes.get(res.id) : undefined;
      if (!res.id) bad(`unit test ${label}: ${res.problem!.message.replace(/^ref\('(.*?)'\)/, "model '$1'")}`, res.problem!.hint);
      else if (!model) bad(`unit test ${label}: ${res.id} is a seed, not a model`, 'unit tests test models');
    }
    const given: GivenInput[] = [];
    if (raw.given !== undefined && !Array.isArray(raw.given)) bad(`unit test ${label}: given must be a list`, "write given: [{input: ref('users'), rows: [{id: 1}]}]");
    const reads = model ? readsOf(compiled, model.id) : [];
    for (const [i, g] of (Array.isArray(raw.given) ? raw.given : []).entries()) {
      if (!isRecord(g) || typeof g.input !== 'string') {
        bad(`unit test ${label}: given #${i + 1} needs an input`, "write - input: ref('users') (or source('crm', 'users'), or this)");
        continue;
      }
      const input = parseInput(g.input, compiler, project);
      if ('problem' in input) {
        bad(`unit test ${label}: given ${g.input}: ${input.problem.message}`, input.problem.hint);
        continue;
      }
      // An ephemeral model the model inlines may be given too (its CTE then reads the fixture).
      const ephs = model ? ephemeralsOf(compiled, model.id) : new Map<NodeId, string>();
      if (input.kind !== 'this' && model && !reads.some((r) => r.id === input.id) && !ephs.has(input.id)) {
        bad(`unit test ${label}: given ${g.input}, but ${model.id} does not read it`, `the model reads ${[...reads.map((r) => r.label), ...ephs.values()].join(', ') || 'nothing'}`);
        continue;
      }
      const fx = parseFixture(g, project, `given ${g.input}`);
      if ('problem' in fx) bad(`unit test ${label}: ${fx.problem.message}`, fx.problem.hint);
      else given.push({ input, label: g.input, fixture: fx, ...(g.rows === undefined && g.fixture === undefined ? { noRows: true } : {}) });
    }
    let expect: Fixture | undefined;
    if (!isRecord(raw.expect)) bad(`unit test ${label} needs expect: with rows`, 'write expect: {rows: [{id: 1, name: a}]}');
    else {
      const fx = parseFixture(raw.expect, project, 'expect');
      if ('problem' in fx) bad(`unit test ${label}: ${fx.problem.message}`, fx.problem.hint);
      else expect = fx;
    }
    const ov = isRecord(raw.overrides) ? raw.overrides : {};
    const macros = isRecord(ov.macros) ? ov.macros : {};
    const inc = ov.is_incremental ?? macros.is_incremental;
    const otherMacros = Object.fromEntries(Object.entries(macros).filter(([k]) => k !== 'is_incremental'));
    for (const k of Object.keys(otherMacros)) {
      if (!compiler.engine.hasMacro(k) && !/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$/.test(k)) bad(`unit test ${label}: overrides.macros.${k} is not a macro name`, 'write overrides: {macros: {my_macro: "the SQL it should give"}}');
    }
    if (ov.vars !== undefined && !isRecord(ov.vars)) bad(`unit test ${label}: overrides.vars must be a map`, 'write overrides: {vars: {min_bpm: 20}}');
    if (ov.env_vars !== undefined && !isRecord(ov.env_vars)) bad(`unit test ${label}: overrides.env_vars must be a map`, 'write overrides: {env_vars: {REGION: us}}');
    for (const k of Object.keys(ov)) if (!['vars', 'env_vars', 'macros', 'is_incremental'].includes(k)) bad(`unit test ${label}: overrides.${k} is not known`, 'use overrides.vars, overrides.env_vars or overrides.macros.is_incremental');
    const id = model ? `unit_test.${model.node.name}.${name}` : '';
    if (model && seen.has(id)) bad(`unit test ${name} of ${model.id} is defined twice`, 'give each unit test of a model its own name');
    seen.add(id);
    for (const p of problems) diagnostics.push({ code: 'LAKE-Q101', severity: 'error', file, line, message: p.message, hint: p.hint });
    if (problems.length || !model || !expect || !enabled) continue;
    tests.push({
      id, name, yamlName: String(raw.name), model: model.id, file, line, given, expect,
      description: typeof raw.description === 'string' ? raw.description : undefined,
      vars: isRecord(ov.vars) ? ov.vars : undefined,
      macros: Object.keys(otherMacros).length ? otherMacros : undefined,
      envVars: isRecord(ov.env_vars) ? Object.fromEntries(Object.entries(ov.env_vars).map(([k, v]) => [k, String(v)])) : undefined,
      isIncremental: inc === undefined ? undefined : inc === true || inc === 'true',
      tags: isRecord(raw.config) && Array.isArray(raw.config.tags) ? raw.config.tags.map(String) : [],
      stateKey: unitTestKey(raw),
    });
  }
  return { tests, diagnostics };
}

const REF = /^\s*ref\s*\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?(?:,\s*(?:v|version)\s*=\s*['"]?([\w.]+)['"]?\s*)?\)\s*$/;

/**
 * The models a unit test tests: its model; for a versioned model every version, or those of its
 * `versions: {include: [...]}` / `{exclude: [...]}` (dbt's), each as a ref key and a name suffix.
 */
function versionTargets(raw: Readonly<Record<string, unknown>>, compiled: CompiledProject): { model?: string; suffix: string; problem?: { message: string; hint: string } }[] {
  const model = typeof raw.model === 'string' ? raw.model : undefined;
  const versions = model ? [...compiled.nodes.values()].map((n) => n.node.version).filter((v) => v?.model === model) : [];
  const sel = isRecord(raw.versions) ? raw.versions : undefined;
  const list = (x: unknown) => (Array.isArray(x) ? x : x === undefined || x === null ? [] : [x]).map((v) => String(v));
  if (versions.length === 0) {
    return [{ suffix: '', ...(sel && (sel.include !== undefined || sel.exclude !== undefined) ? { problem: { message: `unit test ${String(raw.name)}: versions: is given, but ${model} is not a versioned model`, hint: 'remove versions:, or test a model with versions' } } : {}) }];
  }
  const chosen = versions.filter((v) => (sel?.exclude !== undefined ? !list(sel.exclude).includes(v!.v) : sel?.include !== undefined ? list(sel.include).includes(v!.v) : true));
  if (chosen.length === 0) return [{ suffix: '', problem: { message: `unit test ${String(raw.name)} tests no version of ${model} (its versions: ${versions.map((v) => v!.v).join(', ')})`, hint: 'name existing versions under versions: include / exclude' } }];
  return chosen.map((v) => ({ model: versionedRefKey(v!.model, v!.v), suffix: `_v${v!.v}` }));
}
const SOURCE = /^\s*source\s*\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)\s*$/;

function parseInput(text: string, compiler: Compiler, project: LoadedProject): InputRef | { problem: { message: string; hint: string } } {
  if (/^\s*(this|\{\{\s*this\s*\}\})\s*$/.test(text)) return { kind: 'this' };
  const r = REF.exec(text);
  if (r) {
    const name = r[2] ? `${r[1]}.${r[2]}` : r[1]!;
    const res = compiler.resolveRef(r[3] ? versionedRefKey(name, r[3]) : name);
    return res.id ? { kind: 'node', id: res.id } : { problem: res.problem! };
  }
  const s = SOURCE.exec(text);
  if (s) {
    const id = `source:${s[1]}.${s[2]}`;
    return project.sources.has(id) ? { kind: 'source', id } : { problem: { message: `unknown source '${s[1]}.${s[2]}'`, hint: 'declare it under sources: in a YAML file' } };
  }
  return { problem: { message: 'not an input', hint: "write ref('model'), source('source', 'table') or this" } };
}

function parseFixture(g: Record<string, unknown>, project: LoadedProject, what: string): Fixture | { problem: { message: string; hint: string } } {
  const format = String(g.format ?? 'dict');
  let rows = g.rows;
  if (g.fixture !== undefined) {
    const ext = format === 'sql' ? '.sql' : '.csv';
    const name = String(g.fixture);
    const file = name.endsWith(ext) ? name : `${name}${ext}`;
    const candidates = project.paths.tests.map((t) => path.join(project.root, t, 'fixtures', file));
    // Directly in a fixtures folder, or in a folder under it (dbt looks through them all).
    const nested = () => project.paths.tests.flatMap((t) => {
      const dir = path.join(project.root, t, 'fixtures');
      try {
        return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => path.basename(f) === path.basename(file)).sort().map((f) => path.join(dir, f));
      } catch {
        return [];
      }
    });
    const direct = candidates.find((c) => fs.existsSync(c));
    const deep = direct ? [] : nested();
    // Two fixtures of one name in different folders: dbt refuses the project (which one is meant?).
    if (deep.length > 1) return { problem: { message: `${what}: fixture '${name}' is in more than one folder (${deep.map((f) => path.relative(project.root, f)).join(', ')})`, hint: 'give the fixture files different names' } };
    const found = direct ?? deep[0];
    if (!found) return { problem: { message: `${what}: fixture '${name}' not found`, hint: `put it in ${path.relative(project.root, candidates[0] ?? 'data_tests/fixtures')}` } };
    rows = fs.readFileSync(found, 'utf8');
  }
  if (format === 'dict') {
    if (rows === undefined || rows === null) rows = [];
    if (!Array.isArray(rows) || !rows.every(isRecord)) return { problem: { message: `${what}: rows must be a list of maps`, hint: 'write rows: [{id: 1, name: a}] (or format: csv with CSV text)' } };
    const columns: string[] = [];
    for (const r of rows as Record<string, unknown>[]) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
    return { format, columns, rows: rows as Record<string, unknown>[] };
  }
  if (format === 'csv') {
    if (typeof rows !== 'string') return { problem: { message: `${what}: with format: csv, rows must be CSV text`, hint: 'write rows: |\n  id,name\n  1,a' } };
    const csv = parseCsv(rows);
    return { format, columns: csv.columns, rows: csv.rows };
  }
  if (format === 'sql') {
    if (typeof rows !== 'string' || !rows.trim()) return { problem: { message: `${what}: with format: sql, rows must be a query`, hint: "write rows: select 1 as id, 'a' as name" } };
    return { format, columns: [], rows: [], sql: rows.trim().replace(/;\s*$/, '') };
  }
  return { problem: { message: `${what}: unknown format '${format}'`, hint: 'use dict (the default), csv or sql' } };
}

/** A relation a model reads, seen through ephemeral models (which are inlined as CTEs). */
interface Read {
  readonly kind: 'node' | 'source';
  readonly id: NodeId;
  readonly label: string;
  readonly stream: boolean;
}

/** The ephemeral models `id` inlines (through other ephemerals too), with their ref() labels. */
function ephemeralsOf(compiled: CompiledProject, id: NodeId, out = new Map<NodeId, string>()): Map<NodeId, string> {
  for (const dep of compiled.nodes.get(id)?.dependsOn.nodes ?? []) {
    const up = compiled.nodes.get(dep);
    if (up?.config.materialized !== 'ephemeral' || out.has(dep)) continue;
    out.set(dep, `ref('${up.node.name}')`);
    ephemeralsOf(compiled, dep, out);
  }
  return out;
}

/**
 * `sql` with the CTEs of the `mocked` ephemeral models reading their given tables instead of
 * their own SQL (the compiler inlines `"__lake_eph__<name>" as (\n<its SQL>\n)`).
 */
function mockEphemerals(sql: string, compiled: CompiledProject, mocked: ReadonlySet<NodeId>): string {
  for (const id of mocked) {
    const n = compiled.nodes.get(id)!;
    const cte = `${quoteIdent(`__lake_eph__${n.relation.name}`)} as (\n`;
    const body = `${cte}${n.sql}\n)`;
    if (!sql.includes(body)) throw new UnitTestError(`given ref('${n.node.name}'): its SQL is not inlined as lake writes it; give the models it reads instead`);
    sql = sql.split(body).join(`${cte}select * from ${relationSql(n.relation)}\n)`);
  }
  return sql;
}

export function readsOf(compiled: CompiledProject, id: NodeId, seen = new Set<NodeId>(), mocked: ReadonlySet<NodeId> = new Set()): Read[] {
  const node = compiled.nodes.get(id);
  if (!node) return [];
  const out: Read[] = [];
  const push = (r: Read) => {
    const prev = out.findIndex((x) => x.id === r.id);
    if (prev < 0) out.push(r);
    else if (r.stream && !out[prev]!.stream) out[prev] = r;
  };
  for (const dep of node.dependsOn.nodes) {
    const up = compiled.nodes.get(dep);
    if (up?.config.materialized === 'ephemeral' && !mocked.has(dep)) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      for (const r of readsOf(compiled, dep, seen, mocked)) push(r);
    } else push({ kind: 'node', id: dep, label: `ref('${up?.node.name ?? dep.slice(dep.indexOf('.') + 1)}')`, stream: node.streamReads.includes(dep) });
  }
  for (const s of node.dependsOn.sources) {
    const src = compiled.project.sources.get(s);
    push({ kind: 'source', id: s, label: src ? `source('${src.sourceName}', '${src.name}')` : s, stream: false });
  }
  return out;
}

class UnitTestError extends Error {}

/** Runs unit tests; keeps a scratch database for deriving input schemas across tests. */
export class UnitTestRunner {
  private scratch?: Adapter;
  private readonly scratchMade = new Map<NodeId, Column[] | null>();
  private lock: Promise<unknown> = Promise.resolve();
  private readonly compilers = new Map<string, { compiler: Compiler; compiled: CompiledProject }>();

  constructor(private readonly project: LoadedProject, private readonly compiler: Compiler, private readonly compiled: CompiledProject) {}

  async close(): Promise<void> {
    await this.scratch?.close();
    this.scratch = undefined;
  }

  /**
   * Run one unit test in a fresh in-memory database. Never throws: problems are an `error` result.
   * `warehouse`: the target database, whose relations give the columns of an input lake cannot
   * work out from the project (dbt reads them there too: the given rows may omit columns).
   */
  async run(def: UnitTestDef, warehouse?: Adapter): Promise<TestResult> {
    const t0 = performance.now();
    const base = { id: def.id, name: def.name, kind: 'unit' as const, node: def.model, severity: 'error' as const };
    const where = `${def.file}${def.line ? `:${def.line}` : ''}`;
    let db: Adapter | undefined;
    try {
      db = await DuckDBAdapter.open(':memory:');
      const out = await this.execute(db, def, warehouse);
      const n = diffCount(out);
      return {
        // dbt counts a failed unit test as one failure (the differing rows are in the message).
        ...base, failures: n === 0 ? 0 : 1, status: n === 0 ? 'pass' : 'fail', durationMs: performance.now() - t0,
        message: n === 0 ? undefined : `unit test ${def.name} of ${def.model} (${where}): ${formatDiff(out)}`,
      };
    } catch (e) {
      const msg = e instanceof UnitTestError ? e.message : (e as Error).message.split('\n').slice(0, 3).join('\n');
      return { ...base, failures: 0, status: 'error', durationMs: performance.now() - t0, message: `unit test ${def.name} of ${def.model} (${where}): ${msg}` };
    } finally {
      await db?.close();
    }
  }

  private compilerFor(vars: Readonly<Record<string, unknown>> | undefined, env: Readonly<Record<string, string>> | undefined, macros?: Readonly<Record<string, unknown>>): { compiler: Compiler; compiled: CompiledProject } {
    const noVars = !vars || Object.keys(vars).length === 0;
    const noEnv = !env || Object.keys(env).length === 0;
    // Under --empty the session's compiler reads every ref as zero rows: a unit test's given rows must be read (dbt's).
    if (noVars && noEnv && !macros && !this.compiler.empty) return { compiler: this.compiler, compiled: this.compiled };
    const key = JSON.stringify([vars ?? {}, env ?? {}, macros ?? {}]);
    let c = this.compilers.get(key);
    if (!c) {
      // A project macro overridden with SQL text gets that text as its body, so that every call of it
      // gives it — also one from another macro of the same file, which Jinja binds to the definition.
      const overridden = withMacroBodies(this.project.macroFiles, macros);
      const project = overridden === this.project.macroFiles ? this.project : { ...this.project, macroFiles: overridden };
      const base = new Compiler(noVars ? project : { ...project, vars: { ...project.vars, ...vars } });
      for (const [name, value] of Object.entries(macros ?? {})) {
        if (!base.engine.overrideMacro(name, value)) throw new UnitTestError(`overrides.macros.${name}: there is no macro or function ${name}`);
      }
      // env_var() reads the environment while a model renders (synchronously): the overrides hold
      // only for those moments, so nothing else running meanwhile sees them.
      const compiler = noEnv ? base : Object.create(base) as Compiler;
      if (!noEnv) compiler.compileOne = (id, incremental, database) => withEnv(env, () => base.compileOne(id, incremental, database));
      const compiled = withEnv(env, () => base.compileAll());
      const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length) throw new UnitTestError(`with overrides.${macros ? 'macros' : noVars ? 'env_vars' : 'vars'} the project does not compile:\n${errors.map(formatDiagnostic).join('\n')}`);
      c = { compiler, compiled };
      this.compilers.set(key, c);
    }
    return c;
  }

  private async execute(db: Adapter, def: UnitTestDef, warehouse?: Adapter) {
    await ensureState(db);
    const { compiler, compiled } = this.compilerFor(def.vars, def.envVars, def.macros);
    const node = compiled.nodes.get(def.model);
    if (!node) throw new UnitTestError(`${def.model} is not enabled with these vars`);

    // Given ephemeral models: tables with the fixtures, read by their CTEs in the model's SQL.
    const mocked = new Set(def.given.filter((g) => g.input.kind === 'node' && compiled.nodes.get(g.input.id)?.config.materialized === 'ephemeral').map((g) => (g.input as { id: NodeId }).id));
    const mock = (sql: string) => (mocked.size ? mockEphemerals(sql, compiled, mocked) : sql);
    for (const r of readsOf(compiled, node.id, new Set(), mocked)) {
      const given = def.given.find((g) => g.input.kind !== 'this' && g.input.id === r.id);
      // As dbt: every input the model reads is given (a seed may be given without rows: its CSV).
      if (!given) {
        throw new UnitTestError(`the model reads ${r.label}, which the unit test does not give; add it under given: (${r.kind === 'source' ? `input: source(...)` : `input: ref(...)`}, with rows: [] for an empty input${this.project.seeds.has(r.id) ? ', or without rows for the seed\'s own CSV' : ''})`);
      }
      // The input's columns as the database holds them (dbt reads them there: a seed's INTEGER stays
      // INTEGER), else as lake works them out from the project (an input not built yet).
      const known = (await warehouse?.describe(this.inputRelation(r.kind, r.id)).catch(() => undefined)) ?? (await this.knownColumns(r.kind, r.id));
      const rel = this.inputRelation(r.kind, r.id);
      await db.execute(`create schema if not exists ${quoteIdent(rel.schema)}`);
      // A seed given without rows is its own CSV (dbt: "we will use the seed as the input").
      const seed = r.kind === 'node' && given.noRows ? this.project.seeds.get(r.id) : undefined;
      const fixture: Fixture = seed ? { format: 'csv', ...parseCsv(fs.readFileSync(seed.absPath, 'utf8')) } : given.fixture ?? { format: 'dict', columns: [], rows: [] };
      try {
        await createFixtureTable(db, relationSql(rel), fixture, known ?? undefined);
      } catch (e) {
        throw new UnitTestError(`given ${r.label}: ${(e as Error).message.split('\n')[0]}`);
      }
      if (r.stream) await db.execute(`create view ${quoteIdent(streamViewName(rel))} as select * from ${relationSql(rel)}`);
    }

    const mat = node.config.materialized;
    const thisGiven = def.given.find((g) => g.input.kind === 'this');
    const incremental = def.isIncremental ?? thisGiven !== undefined;
    if (thisGiven || (mat === 'incremental' && incremental)) {
      try {
        await this.createThis(db, node, thisGiven?.fixture ?? { format: 'dict', columns: [], rows: [] });
      } catch (e) {
        throw new UnitTestError(`given this: ${(e as Error).message.split('\n')[0]}`);
      }
    }

    let actualSql: string;
    if (mat === 'ephemeral' || mat === 'external') {
      // Nothing to build in memory (external would write files): the model's rows are its SELECT.
      actualSql = mock(node.sql);
    } else if (this.project.flavor === 'dbt' && mat === 'incremental' && incremental) {
      // A dbt project's unit tests mean dbt's semantics: in incremental mode `expect` is what the
      // model's SELECT gives (the rows to merge or insert), read against the given `this`.
      const re = compiler.compileOne(node.id, true);
      const errors = re.diagnostics.filter((d) => d.severity === 'error');
      if (!re.node || errors.length) throw new UnitTestError(`the model does not compile in incremental mode: ${errors.map((d) => d.message).join('; ')}`);
      actualSql = mock(re.node.sql);
    } else {
      const ctx: NodeRunContext = {
        compiler: withoutModelHooks(compiler), hooks: [expectationsHook()], fullRefresh: mat === 'incremental' && !incremental,
        runId: `unit-test:${def.id}`, batchId: 1, projectRoot: this.project.root, compiledPath: () => node.node.path,
      };
      try {
        await runModel(db, mocked.size ? { ...stripHooks(node), sql: mock(node.sql) } : stripHooks(node), ctx);
      } catch (e) {
        const msg = (e as Error).message.split('\n')[0]!;
        const hint = /not found|does not have a column|Referenced column/i.test(msg) ? '\n  (a column the model reads is missing from the given rows: add it, or document the input\'s columns)' : '';
        throw new UnitTestError(`the model failed: ${msg}${hint}`);
      }
      actualSql = `select * from ${relationSql(node.relation)}`;
    }
    return this.compare(db, def, node, actualSql);
  }

  /**
   * The model's current table. For an incremental model the real first build (over no rows) makes
   * it, so it has exactly the columns the strategy keeps (scd 2's valid_from/valid_to, no
   * except_columns) and the CDC state table exists; the given rows are then inserted.
   */
  private async createThis(db: Adapter, node: CompiledNode, fixture: Fixture): Promise<void> {
    const rel = relationSql(node.relation);
    await db.execute(`create schema if not exists ${quoteIdent(node.relation.schema)}`);
    let built = false;
    if (node.config.materialized === 'incremental') {
      const empty = { ...stripHooks(node), sql: `select * from (\n${node.sql}\n) as __lake_empty limit 0` };
      try {
        await runModel(db, empty, {
          compiler: this.compiler, hooks: [], fullRefresh: true, runId: 'unit-test', batchId: 0, projectRoot: this.project.root, compiledPath: () => node.node.path,
        });
        built = true;
      } catch { /* e.g. the first-build SQL reads {{ this }}: fall back to the given rows' own columns */ }
    }
    if (!built) {
      let cols: Column[] | undefined;
      try {
        cols = await db.describeQuery(node.sql);
      } catch { /* reads {{ this }} */ }
      await createFixtureTable(db, rel, fixture, cols);
      return;
    }
    await insertFixture(db, rel, fixture, (await db.describe(node.relation)) ?? []);
    await seedCdcState(db, node);
  }

  private async compare(db: Adapter, def: UnitTestDef, node: CompiledNode, actualSql: string) {
    const actualCols = await db.describeQuery(actualSql);
    const byName = new Map(actualCols.map((c) => [c.name.toLowerCase(), c]));
    let expectSql: string | undefined;
    let columns: string[];
    if (def.expect.format === 'sql') {
      expectSql = def.expect.sql!;
      try {
        columns = (await db.describeQuery(expectSql)).map((c) => c.name);
      } catch (e) {
        throw new UnitTestError(`expect: ${(e as Error).message.split('\n')[0]}`);
      }
    } else columns = [...def.expect.columns];
    const unknown = columns.filter((c) => !byName.has(c.toLowerCase()));
    if (unknown.length) {
      throw new UnitTestError(`expect names ${unknown.map((c) => `'${c}'`).join(', ')}, which the model does not return (it returns ${actualCols.map((c) => c.name).join(', ')})`);
    }
    if (columns.length === 0) columns = actualCols.map((c) => c.name);
    const cast = (c: string) => `cast(${quoteIdent(c)} as varchar) as ${quoteIdent(c)}`;
    const actual = await db.query(`select ${columns.map(cast).join(', ')} from (\n${actualSql}\n) as __lake_actual`);
    let expected: Record<string, unknown>[] = [];
    try {
      if (expectSql) expected = await db.query(`select ${columns.map(cast).join(', ')} from (\n${expectSql}\n) as __lake_expect`);
      else if (def.expect.rows.length) {
        const cells = def.expect.rows.map((r) => `(${columns.map((c) => `cast(cast(${valueSql(r[c])} as ${byName.get(c.toLowerCase())!.type}) as varchar)`).join(', ')})`);
        expected = await db.query(`select * from (values ${cells.join(',\n')}) as __lake_expect(${columns.map((c) => quoteIdent(c)).join(', ')})`);
      }
    } catch (e) {
      throw new UnitTestError(`expect: a value does not fit the model's column type: ${(e as Error).message.split('\n')[0]}`);
    }
    const text = (rows: Record<string, unknown>[]): TextRow[] => rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? null : String(r[c]))));
    return diffRows(columns, text(expected), text(actual), node.config.unique_key ?? []);
  }

  private inputRelation(kind: 'node' | 'source', id: NodeId): Relation {
    if (kind === 'source') {
      const s = this.project.sources.get(id)!;
      return s.landing ? { schema: 'main', name: landingViewName(s.sourceName, s.name) } : { schema: s.schema, name: s.identifier };
    }
    return this.compiler.relationOf(id)!;
  }

  /** Columns of an input, derived without the warehouse; undefined when lake cannot tell. */
  private async knownColumns(kind: 'node' | 'source', id: NodeId): Promise<Column[] | undefined> {
    const run = this.lock.then(() => this.derive(kind, id, new Set()));
    this.lock = run.catch(() => undefined);
    return (await run) ?? undefined;
  }

  private async derive(kind: 'node' | 'source', id: NodeId, visiting: Set<NodeId>): Promise<Column[] | null> {
    if (this.scratchMade.has(id)) return this.scratchMade.get(id)!;
    if (visiting.has(id)) return null;
    visiting.add(id);
    this.scratch ??= await DuckDBAdapter.open(':memory:');
    const db = this.scratch;
    const rel = this.inputRelation(kind, id);
    let cols: Column[] | null = null;
    try {
      if (kind === 'source') {
        const s = this.project.sources.get(id)!;
        if (s.columns.length) cols = s.columns.map((c) => ({ name: c.name, type: c.dataType ?? 'VARCHAR' }));
      } else if (this.project.seeds.has(id)) {
        const seed = this.project.seeds.get(id)!;
        const types = Object.entries(seed.columnTypes);
        const typeArg = types.length ? `, types = {${types.map(([k, v]) => `'${k}': '${v}'`).join(', ')}}` : '';
        cols = await db.describeQuery(`select * from read_csv('${seed.absPath.replace(/'/g, "''")}', header = true, auto_detect = true${typeArg})`);
      } else {
        const node = this.compiled.nodes.get(id);
        if (node) {
          let ok = true;
          for (const r of readsOf(this.compiled, id)) if (!(await this.derive(r.kind, r.id, visiting))) ok = false;
          // A snapshot's table has its query's columns and dbt's meta columns (dbt_valid_to...).
          if (ok) cols = await db.describeQuery(node.config.materialized === 'snapshot' ? snapshotShapeSql(node) : node.sql);
        }
      }
      if (cols) {
        await db.execute(`create schema if not exists ${quoteIdent(rel.schema)}`);
        await db.execute(`create or replace table ${relationSql(rel)} (${cols.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})`);
        if (kind === 'node') await db.execute(`create or replace view ${quoteIdent(streamViewName(rel))} as select * from ${relationSql(rel)}`);
      }
    } catch {
      cols = null;
    }
    this.scratchMade.set(id, cols);
    return cols;
  }
}

/**
 * CDC type 1 keeps each key's sequence in a state table; seeded from the given `this`, so a late
 * change older than a given row loses against it as it would in the warehouse.
 */
async function seedCdcState(db: Adapter, node: CompiledNode): Promise<void> {
  const c = node.config;
  if (strategyOf(c) !== 'cdc' || Number(c.scd_type ?? 1) !== 1) return;
  const state = cdcStateRelation(node.relation);
  if (!(await db.describe(state))) return;
  const have = new Set(((await db.describe(node.relation)) ?? []).map((x) => x.name.toLowerCase()));
  // Names as the cdc strategy reads them (a quoted '"id"' is the column id).
  const seq = (c.sequence_by ?? []).map((x) => keyColumn(x) ?? x);
  const keys = (c.unique_key ?? []).map((x) => keyColumn(x) ?? x);
  if (!seq.length || !keys.length || ![...seq, ...keys].every((x) => have.has(x.toLowerCase()))) return;
  const q = quoteIdent;
  const seqExpr = seq.length === 1 ? q(seq[0]!) : `{${seq.map((x) => `'${x.replace(/'/g, "''")}': ${q(x)}`).join(', ')}}`;
  await db.execute(`insert into ${relationSql(state)} select ${keys.map(q).join(', ')}, ${seqExpr}, false from ${relationSql(node.relation)}`);
}

/** `fn()` with the environment variables `env` set, restored after. */
function withEnv<T>(env: Readonly<Record<string, string>> | undefined, fn: () => T): T {
  if (!env) return fn();
  const saved = Object.keys(env).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * The model as a unit test builds it: without its hooks, and a microbatch model as one append of
 * its whole SELECT (as dbt unit-tests one: its inputs are the given rows, no batch filters them).
 */
function stripHooks(n: CompiledNode): CompiledNode {
  const microbatch = n.config.incremental_strategy === 'microbatch' ? { incremental_strategy: 'append' as const } : {};
  return { ...n, config: { ...n.config, pre_hook: [], post_hook: [], ...microbatch } };
}

/** The compiler as the executor sees it, minus the model's pre/post hooks (unit tests test the SELECT and its materialization). */
function withoutModelHooks(c: Compiler): Compiler {
  const w = Object.create(c) as Compiler;
  w.compileOne = (id, incremental, database) => {
    const r = c.compileOne(id, incremental, database);
    return r.node ? { ...r, node: stripHooks(r.node) } : r;
  };
  return w;
}

/** Macro files with the macros that `overrides` gives SQL text for (a string) defined with that text as their body. */
function withMacroBodies(files: ReadonlyMap<string, string>, overrides: Readonly<Record<string, unknown>> | undefined): ReadonlyMap<string, string> {
  const texts = Object.entries(overrides ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string' && /^\w+$/.test(e[0]));
  if (texts.length === 0) return files;
  const out = new Map(files);
  for (const [file, text] of files) {
    let changed = text;
    for (const [name, value] of texts) {
      const def = new RegExp(`(\\{%-?\\s*macro\\s+${name}\\s*\\([\\s\\S]*?-?%\\})[\\s\\S]*?(\\{%-?\\s*endmacro\\b[^%]*%\\})`, 'g');
      changed = changed.replace(def, (_m, head: string, end: string) => `${head}{% raw %}${value.replace(/\{% endraw %\}/g, '')}{% endraw %}${end}`);
    }
    if (changed !== text) out.set(file, changed);
  }
  return out;
}
