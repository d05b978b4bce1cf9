/**
 * Turns what the project declares into runnable data tests: the `data_tests:` (or `tests:`) of
 * models, seeds, sources and their columns, custom generic tests written as `{% test %}` macros,
 * and the singular tests in data_tests/*.sql. Every problem (unknown test, missing argument, bad
 * threshold, duplicate name) becomes a diagnostic naming the YAML file and line.
 */
import * as path from 'node:path';
import { genericTestKey, singularTestKey } from './test-keys.js';
import type { Diagnostic } from '../errors/index.js';
import { closest } from '../errors/index.js';
import type { ColumnDoc, CompiledProject, LoadedProject, NodeId, TestDecl } from '../core/types.js';
import { quoteIdent, relationSql, seedRelation, sourceRelationSql } from '../core/types.js';
import { mergeTestConfigLevels } from '../core/store-failures.js';
import type { Compiler } from '../compiler/compile.js';
import { BUILTIN_TESTS, TEST_ALIASES, aliasArguments, dbtTestAlias, synthesizeTestName, type GenericInput } from './generic-tests.js';
import { readTestConfig } from './test-config.js';
import { FAILURES_SCHEMA, type DataTest, type TestConfig } from './types.js';
import { relationValue } from '../template/dbt-compat.js';
import type { RenderResult } from '../template/engine.js';
import type { RenderDatabase } from '../template/introspection.js';

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Where a declared test points: a model, seed or source, and the relation to read. */
interface Target {
  readonly id: NodeId;
  /** Name used in synthesized test names (`users`, or `kafka_bpm` for sources). */
  readonly nameForTests: string;
  readonly prefix: '' | 'source_';
  /** SQL of the relation; undefined with skipReason when there is nothing to read. */
  readonly relation?: string;
  readonly skipReason?: string;
}

export interface CollectedTests {
  readonly tests: DataTest[];
  readonly diagnostics: Diagnostic[];
}

/** The project file's data_tests config for a test declared in `file` (its folder levels included; see load.ts). */
function testDefaultsFor(project: CompiledProject['project'], file: string | undefined): Record<string, unknown> {
  return { ...((file && project.testDefaultsByFile?.[file]) || project.testDefaults || {}) };
}

/** Every enabled data test of the project, with its SQL. Pure: no database. */
export function collectDataTests(compiler: Compiler, compiled: CompiledProject): CollectedTests {
  const diagnostics: Diagnostic[] = [];
  const tests: DataTest[] = [];
  const project = compiled.project;
  const add = (target: Target, decls: readonly TestDecl[], column?: ColumnDoc) => {
    for (const decl of decls) {
      const t = instantiate(compiler, compiled, target, decl, column, diagnostics);
      if (t) tests.push({ ...t, stateKey: genericTestKey(target.id, decl, column?.name), store: storeTarget(project, t.config, t.name) });
    }
  };
  for (const node of compiled.nodes.values()) {
    const eph = node.config.materialized === 'ephemeral';
    const target: Target = {
      id: node.id, nameForTests: node.node.name, prefix: '',
      relation: eph ? `(\n${node.sql}\n) as ${quoteIdent(`__lake_eph__${node.relation.name}`)}` : relationSql(node.relation),
    };
    add(target, node.node.tests);
    for (const c of node.node.columns) add(target, c.tests, c);
  }
  for (const seed of project.seeds.values()) {
    const target: Target = { id: seed.id, nameForTests: seed.name, prefix: '', relation: relationSql(seedRelation(seed)) };
    add(target, seed.tests);
    for (const c of seed.columns) add(target, c.tests, c);
  }
  for (const src of project.sources.values()) {
    const target: Target = {
      id: src.id, nameForTests: `${src.sourceName}_${src.name}`, prefix: 'source_',
      relation: src.landing ? undefined : sourceRelationSql(src),
      skipReason: src.landing ? `source ${src.sourceName}.${src.name} is a landing zone (files, no table): test the bronze model that reads it` : undefined,
    };
    add(target, src.tests);
    // The source's (or table's) quoting.column quotes the columns that do not say (dbt's quote_columns).
    for (const c of src.columns) add(target, c.tests, src.quoteColumns && !c.quote ? { ...c, quote: true } : c);
  }
  for (const [file, text] of project.singularTests) {
    const t = singular(compiler, file, text, diagnostics);
    if (t) tests.push({ ...t, stateKey: singularTestKey(file, text), store: storeTarget(project, t.config, t.name) });
  }
  liveEphemerals(compiler, compiled, tests);
  const seen = new Map<string, DataTest>();
  for (const t of tests) {
    const prev = seen.get(t.name);
    if (prev) {
      diagnostics.push({
        code: 'LAKE-Q009', severity: 'error', file: t.file, line: t.line,
        message: `two data tests are named ${t.name} (the other is at ${prev.file ?? '?'}:${prev.line ?? 1})`,
        hint: 'remove the duplicate, or give one of them a name: (config name: my_test_name)',
      });
    } else seen.set(t.name, t);
  }
  return { tests: tests.filter((t) => seen.get(t.name) === t), diagnostics };
}

/**
 * Where a test's failing rows are stored: in a dbt project dbt's `<target schema>_dbt_test__audit`
 * (or its `schema` config, through generate_schema_name as a model's), else `_lake_tests` (or the
 * `schema` config); the relation is named after the test, or its `alias`.
 */
function storeTarget(project: LoadedProject, cfg: TestConfig, name: string): { schema: string; name: string } {
  const custom = cfg.schema ?? (project.flavor === 'dbt' ? 'dbt_test__audit' : undefined);
  const schema = custom === undefined ? FAILURES_SCHEMA
    : project.customSchema ? project.customSchema(custom, { name, resource_type: 'test' }) : project.customSchemaPrefix + custom;
  return { schema, name: cfg.alias ?? name };
}

/** dbt's built-in generic tests, which a project may override with default__test_<name> (or duckdb__). */
const DBT_DISPATCHED_TESTS = new Set(['not_null', 'unique', 'accepted_values', 'relationships']);

function instantiate(compiler: Compiler, compiled: CompiledProject, target: Target, decl: TestDecl, columnDoc: ColumnDoc | undefined, diags: Diagnostic[]): DataTest | undefined {
  const column = columnDoc?.name;
  const where = { file: decl.file, line: decl.line };
  // Arguments the load left as templates because they call the project's macros (strings, and
  // strings in a list: `values: ["{{ code_a() }}"]`): rendered now.
  const later = (v: unknown): v is string => typeof v === 'string' && /\{[{%]/.test(v) && !/^\s*\{\{\s*(ref|source)\s*\(/.test(v);
  const templated = Object.entries(decl.args).filter(([, v]) => later(v) || (Array.isArray(v) && v.some(later)));
  if (templated.length) {
    const args = { ...decl.args };
    let failed = false;
    const render = (k: string, v: string): string => {
      const r = renderText(compiler, v, decl.file ?? target.id);
      if (r.diagnostics.some((d) => d.severity === 'error')) {
        diags.push(...r.diagnostics.map((d) => ({ ...d, file: decl.file ?? d.file, line: decl.line ?? d.line, message: `test ${decl.name}, argument ${k}: ${d.message}` })));
        failed = true;
      }
      return r.sql;
    };
    for (const [k, v] of templated) args[k] = Array.isArray(v) ? v.map((x) => (later(x) ? render(k, x) : x)) : render(k, v as string);
    if (failed) return undefined;
    decl = { ...decl, args };
  }
  const problems: { message: string; hint: string }[] = [];
  // Config, weakest first: the project file's data_tests:, the test definition's own config()
  // (custom generic tests, below), the test's YAML.
  const defaults = testDefaultsFor(compiled.project, decl.file);
  let cfg = readTestConfig(mergeTestConfigLevels(defaults, decl.config), problems);
  if (!cfg.enabled) return undefined;
  // A column's tags are its tests' too (dbt).
  if (columnDoc?.tags?.length) cfg = { ...cfg, tags: [...new Set([...cfg.tags, ...columnDoc.tags])] };
  const report = (code: string, message: string, hint: string) => diags.push({ code, severity: 'error', ...where, node: target.id, message: `${target.id}: ${message}`, hint });
  for (const p of problems) report('LAKE-Q002', `test ${decl.name}: ${p.message}`, p.hint);

  // The project's own {% test %}; else a dbt_expectations-style name the installed package defines
  // (its own arguments and semantics); else a package-qualified test (dbt_utils.recency) that the
  // installed package defines: the package's macro, as dbt runs it (lake's built-in of that name
  // does not take every argument: ignore_time_component, group_by_columns); else lake's built-in
  // (dbt's four and dbt_utils' own names, dbt_expectations' through aliasArguments); else any
  // installed package's (dbt_utils.x).
  const aliased = TEST_ALIASES[decl.name];
  const packaged = (name: string) => compiler.engine.packageMacro(`test_${name}`, decl.namespace) ?? (decl.namespace ? undefined : compiler.engine.packageMacro(`test_${name}`));
  const qualifiedFromPackage = decl.namespace ? compiler.engine.packageMacro(`test_${decl.name}`, decl.namespace) : undefined;
  // dbt's four dispatch to `duckdb__test_<name>` / `default__test_<name>`: the project's own wins.
  const dispatched = !decl.namespace && DBT_DISPATCHED_TESTS.has(decl.name) ? [`duckdb__test_${decl.name}`, `default__test_${decl.name}`].find((m) => compiler.engine.hasMacro(m)) : undefined;
  const ownTest = compiler.engine.hasMacro(`test_${aliased ?? decl.name}`) ? `test_${aliased ?? decl.name}` : compiler.engine.hasMacro(`test_${decl.name}`) ? `test_${decl.name}` : dispatched;
  const aliasFromPackage = !ownTest && (aliased || qualifiedFromPackage) ? packaged(decl.name) : undefined;
  const testName = aliasFromPackage ? decl.name : aliased ?? decl.name;
  const builtin = ownTest || aliasFromPackage ? undefined : BUILTIN_TESTS.get(testName);
  const fromPackage = aliasFromPackage ?? (ownTest || builtin ? undefined : packaged(decl.name) ?? compiler.engine.packageMacro(`test_${decl.name}`));
  const macro = ownTest ?? fromPackage ?? `test_${testName}`;
  const custom = !!ownTest || !!fromPackage;
  const declaredArgs = decl.args;
  if (builtin && aliased) {
    const a = aliasArguments(decl.name, decl.args);
    for (const p of a.problems) report('LAKE-Q003', `test ${decl.name}: ${p.message}`, p.hint);
    if (a.problems.length) return undefined;
    decl = { ...decl, args: a.args };
    if (a.rowCondition) cfg = { ...cfg, where: cfg.where ? `(${cfg.where}) and (${a.rowCondition})` : a.rowCondition };
  }
  if (!custom && !builtin) {
    const known = [...BUILTIN_TESTS.keys(), ...[...compiler.engine.macroIndex.keys()].map((m) => m.replace(/^\w+\.(?=test_)/, '')).filter((m) => m.startsWith('test_')).map((m) => m.slice(5))];
    const near = closest(decl.name, known);
    report('LAKE-Q001', `unknown test '${decl.name}'`, near.length ? `did you mean ${near.join(' or ')}?` : `use one of ${[...BUILTIN_TESTS.keys()].join(', ')}, or write {% test ${decl.name}(model, column_name) %} ... {% endtest %} in macros/`);
    return undefined;
  }
  // `quote: true`: the tests' SQL names the column quoted (a name with a space, a reserved word).
  const col = column !== undefined ? (columnDoc?.quote ? quoteIdent(column) : column) : (typeof decl.args.column_name === 'string' ? decl.args.column_name : undefined);
  const namingArgs: Record<string, unknown> = { ...declaredArgs };
  if (column) namingArgs.column_name = column;
  const testType = `${decl.namespace ? `${decl.namespace}_` : ''}${target.prefix}${decl.name}`;
  const name = cfg.name ?? synthesizeTestName(testType, target.nameForTests, namingArgs);
  // dbt names the stored failures of a long synthesized name by a short alias (a given name: never).
  const shortAlias = cfg.name || cfg.alias || compiled.project.flavor !== 'dbt' ? undefined : dbtTestAlias(testType, target.nameForTests, name);
  if (shortAlias) cfg = { ...cfg, alias: shortAlias };
  const base = { id: `test.${name}`, name, kind: 'generic' as const, testName, node: target.id, column: col, config: cfg, file: decl.file, line: decl.line };
  if (problems.length) return undefined;
  if (!target.relation) return { ...base, parents: [target.id], sql: '', skipReason: target.skipReason };

  let whereSql = cfg.where;
  if (whereSql && /\{[{%]/.test(whereSql)) {
    const r = renderText(compiler, whereSql, decl.file ?? target.id);
    diags.push(...r.diagnostics);
    whereSql = r.sql;
  }
  const model = whereSql ? `(select * from ${target.relation} where ${whereSql}) dbt_subquery` : target.relation;
  const parents: NodeId[] = [target.id];

  if (builtin) {
    const bad = builtin.check(decl.args);
    for (const p of bad) report('LAKE-Q003', `test ${decl.name}: ${p.message}`, p.hint);
    if (builtin.needsColumn && !col) {
      report('LAKE-Q004', `test ${decl.name} needs a column`, `declare it under the column (columns: - name: x, data_tests: [${decl.name}]) or pass column_name`);
      return undefined;
    }
    if (bad.length) return undefined;
    let to: string | undefined;
    if (testName === 'relationships') {
      const rel = resolveRelationArg(compiler, compiled, decl.args.to, decl.file ?? target.id);
      if ('problem' in rel) {
        // A test of a disabled model is disabled with it, as in dbt (no error).
        if (!DISABLED_REF.test(rel.problem.message)) report('LAKE-Q005', `test relationships: ${rel.problem.message}`, rel.problem.hint);
        return undefined;
      }
      if (rel.skipReason) return { ...base, parents: [target.id], sql: '', skipReason: rel.skipReason };
      to = rel.sql;
      if (rel.id && !parents.includes(rel.id)) parents.push(rel.id);
    }
    const input: GenericInput = { relation: target.relation, model, where: whereSql, column: col, args: decl.args, to, literal };
    const agg = builtin.aggregate?.(input);
    return { ...base, parents, sql: builtin.sql(input), aggregate: agg, batchRelation: agg ? target.relation : undefined };
  }

  // A custom generic test: call the macro with dbt's arguments (model, column_name, the rest).
  const args: Record<string, unknown> = { model: relationValue(model) };
  if (col) args.column_name = col;
  for (const [k, v] of Object.entries(decl.args)) {
    if (k === 'column_name') continue;
    if (typeof v === 'string' && /^\s*(ref|source)\s*\(/.test(v)) {
      const rel = resolveRelationArg(compiler, compiled, v, decl.file ?? target.id);
      if ('problem' in rel) {
        if (!DISABLED_REF.test(rel.problem.message)) report('LAKE-Q005', `test ${decl.name}, argument ${k}: ${rel.problem.message}`, rel.problem.hint);
        return undefined;
      }
      if (rel.skipReason) return { ...base, parents: [target.id], sql: '', skipReason: rel.skipReason };
      args[k] = relationValue(rel.sql);
      if (rel.id && !parents.includes(rel.id)) parents.push(rel.id);
    } else args[k] = v;
  }
  let call = compiler.engine.callMacro(macro, args, { incremental: false, materialized: 'test', file: decl.file ?? target.id, node: base.id });
  // `{{ config(severity='warn', fail_calc=...) }}` in the {% test %} block: the test's defaults
  // (dbt). dbt reads them at parse time (execute false), so a test that queries the database
  // while rendering (dbt_utils.equality's fail_calc) has them from this render too.
  const own = call.result.config as Record<string, unknown>;
  if (Object.keys(own).length) {
    const ownProblems: { message: string; hint: string }[] = [];
    cfg = readTestConfig(mergeTestConfigLevels(defaults, own, decl.config), ownProblems);
    if (shortAlias && !cfg.alias) cfg = { ...cfg, alias: shortAlias };
    for (const p of ownProblems) report('LAKE-Q002', `test ${decl.name} (its config() in the {% test %} block): ${p.message}`, p.hint);
    if (ownProblems.length) return undefined;
    if (!cfg.enabled) return undefined;
    if (cfg.where !== whereSql && cfg.where !== undefined) {
      // A where the definition sets: the macro reads the filtered model.
      let w = cfg.where;
      if (/\{[{%]/.test(w)) {
        const rw = renderText(compiler, w, decl.file ?? target.id);
        diags.push(...rw.diagnostics);
        w = rw.sql;
      }
      args.model = relationValue(`(select * from ${target.relation} where ${w}) dbt_subquery`);
      if (!call.result.introspective) call = compiler.engine.callMacro(macro, args, { incremental: false, materialized: 'test', file: decl.file ?? target.id, node: base.id });
    }
  }
  // A test whose SQL needs the database while rendering (get_columns_in_relation, run_query): that
  // test errors when it runs, with the reason; it must not stop every other test of the project.
  if (call.result.introspective) {
    // Rendered again with the database when it runs (its refs are those of the render without one).
    const r0 = compiler.resolvePlaceholders(call.result, decl.file ?? target.id);
    for (const id of r0.refs) if (!parents.includes(id)) parents.push(id);
    const opts = { incremental: false, materialized: 'test', file: decl.file ?? target.id, node: base.id };
    return { ...base, config: cfg, parents, sql: '', live: (database) => liveSql(compiler, compiler.engine.callMacro(macro, args, { ...opts, database }).result, opts.file) };
  }
  const r = compiler.resolvePlaceholders(call.result, decl.file ?? target.id);
  if (r.diagnostics.length) {
    diags.push(...r.diagnostics.map((d) => ({ ...d, file: d.file ?? decl.file, line: d.line ?? decl.line, message: `test ${decl.name} on ${target.id}: ${d.message}` })));
    if (r.diagnostics.some((d) => d.severity === 'error')) return undefined;
  }
  for (const id of r.refs) if (!parents.includes(id)) parents.push(id);
  for (const s of call.result.sources) if (!parents.includes(s.id)) parents.push(s.id);
  return { ...base, config: cfg, parents, sql: trimSql(r.sql) };
}

/**
 * Tests that read an ephemeral model which queries the database while rendering: when they run,
 * its SQL rendered with the database replaces its render without one (inlined in the test's SQL).
 */
function liveEphemerals(compiler: Compiler, compiled: CompiledProject, tests: DataTest[]): void {
  const ephemerals = [...compiled.nodes.values()].filter((n) => n.config.materialized === 'ephemeral' && n.introspective);
  if (ephemerals.length === 0) return;
  tests.forEach((t, i) => {
    if (t.skipReason || t.errorReason) return;
    const used = ephemerals.filter((e) => t.sql.includes(e.sql) || (t.live && t.parents.includes(e.id)));
    if (used.length === 0) return;
    const own = t.live;
    const live: NonNullable<DataTest['live']> = (database) => {
      let base: { sql: string; error?: string } = { sql: t.sql };
      if (own) {
        const r = own(database);
        if ('pendingQuery' in r) return r;
        base = r.value;
      }
      let sql = base.sql;
      for (const e of used) {
        const x = compiler.compileOne(e.id, false, database);
        if (x.pendingQuery !== undefined) return { pendingQuery: x.pendingQuery };
        if (x.node) sql = sql.split(e.sql).join(x.node.sql);
      }
      return { value: { sql, ...(base.error ? { error: base.error } : {}) } };
    };
    tests[i] = { ...t, live };
  });
}

/** A live render's result as DataTest.live gives it: the query it stopped at, or the SQL (or the error). */
function liveSql(compiler: Compiler, result: RenderResult, file: string): { pendingQuery: string } | { value: { sql: string; error?: string } } {
  if (result.pendingQuery !== undefined) return { pendingQuery: result.pendingQuery };
  const r = compiler.resolvePlaceholders(result, file);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  return { value: errors.length ? { sql: '', error: errors.map((d) => d.message).join('; ') } : { sql: trimSql(r.sql) } };
}

/** A ref() to a model that is disabled (compile.ts's message): the test reading it is disabled too, as in dbt. */
const DISABLED_REF = /\) is a disabled model \(/;

function singular(compiler: Compiler, file: string, text: string, diags: Diagnostic[]): DataTest | undefined {
  const name = path.basename(file, '.sql');
  const r = compiler.engine.render(text, { incremental: false, materialized: 'test', file, node: `test.${name}` });
  const resolved = compiler.resolvePlaceholders(r, file);
  if (resolved.diagnostics.some((d) => d.severity === 'error' && DISABLED_REF.test(d.message))) return undefined;
  diags.push(...resolved.diagnostics);
  if (resolved.diagnostics.some((d) => d.severity === 'error')) return undefined;
  const problems: { message: string; hint: string }[] = [];
  // dbt's order: the project file's, then the YAML properties' (`data_tests: - name: x, config:`), then the SQL's config().
  const props = compiler.project.singularTestProps?.get(name)?.config ?? {};
  const cfg = readTestConfig(mergeTestConfigLevels(testDefaultsFor(compiler.project, file), props, r.config as Record<string, unknown>), problems);
  for (const p of problems) diags.push({ code: 'LAKE-Q002', severity: 'error', file, line: 1, message: `singular test ${name}: ${p.message}`, hint: p.hint });
  if (problems.length || !cfg.enabled) return undefined;
  const parents: NodeId[] = [...resolved.refs];
  for (const s of r.sources) if (!parents.includes(s.id)) parents.push(s.id);
  const landing = r.sources.find((s) => s.landing);
  if (r.introspective) {
    // Rendered again with the database when it runs.
    const live = (database: RenderDatabase) => liveSql(compiler, compiler.engine.render(text, { incremental: false, materialized: 'test', file, node: `test.${name}`, database }), file);
    return { id: `test.${cfg.name ?? name}`, name: cfg.name ?? name, kind: 'singular', testName: name, node: parents[0], parents, config: cfg, sql: '', file, line: 1, live };
  }
  const sql = trimSql(resolved.sql);
  if (!sql) {
    diags.push({ code: 'LAKE-Q006', severity: 'error', file, line: 1, message: `singular test ${name} is empty`, hint: 'write a SELECT that returns the failing rows' });
    return undefined;
  }
  return {
    id: `test.${cfg.name ?? name}`, name: cfg.name ?? name, kind: 'singular', testName: name, node: parents[0], parents, config: cfg, sql, file, line: 1,
    skipReason: landing ? `reads the landing-zone source ${landing.sourceName}.${landing.name}, which has no table: test the bronze model instead` : undefined,
  };
}

/** Render a small template (a `where`, an argument) with refs resolved. */
function renderText(compiler: Compiler, text: string, file: string): { sql: string; diagnostics: Diagnostic[]; refs: NodeId[]; sources: NodeId[]; landing?: string } {
  const r = compiler.engine.render(text, { incremental: false, materialized: 'test', file });
  const out = compiler.resolvePlaceholders(r, file);
  const landing = r.sources.find((s) => s.landing);
  return { ...out, sources: r.sources.map((s) => s.id), landing: landing ? `${landing.sourceName}.${landing.name}` : undefined };
}

type RelationArg = { sql: string; id?: NodeId; skipReason?: string } | { problem: { message: string; hint: string } };

/** `ref('customers')`, `source('crm', 'customers')` or a bare model name → relation SQL. */
function resolveRelationArg(compiler: Compiler, compiled: CompiledProject, value: unknown, file: string): RelationArg {
  if (typeof value !== 'string' || value.trim() === '') return { problem: { message: '`to` must name a model', hint: "write to: ref('customers')" } };
  if (value.includes('(')) {
    // `ref('x')`, or the template dbt also takes (`"{{ ref('x') }}"`).
    const r = renderText(compiler, value.includes('{{') ? value : `{{ ${value} }}`, file);
    const err = r.diagnostics.find((d) => d.severity === 'error');
    if (err) return { problem: { message: err.message, hint: err.hint ?? "write ref('model') or source('source', 'table')" } };
    if (r.landing) return { sql: '', skipReason: `reads the landing-zone source ${r.landing}, which has no table` };
    return { sql: r.sql.trim(), id: r.refs[0] ?? r.sources[0] };
  }
  const res = compiler.resolveRef(value.trim());
  if (!res.id) return { problem: res.problem! };
  return { sql: relationSqlOf(compiler, compiled, res.id), id: res.id };
}

function relationSqlOf(compiler: Compiler, compiled: CompiledProject, id: NodeId): string {
  const node = compiled.nodes.get(id);
  if (node?.config.materialized === 'ephemeral') return `(\n${node.sql}\n) as ${quoteIdent(`__lake_eph__${node.relation.name}`)}`;
  return relationSql(compiler.relationOf(id)!);
}

function trimSql(sql: string): string {
  return sql.trim().replace(/;\s*$/, '');
}
