/**
 * Helpers for the materialization tests: compiled nodes built by hand (planners are pure), a
 * runner that applies a plan in one transaction with the executor's statement semantics, expected-
 * SQL files (regenerated with LAKE_UPDATE_EXPECTED=1), and tiny projects run through a Session.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import type { Adapter } from '../../src/adapter/types.js';
import type { Column, CompiledNode, ModelConfig, Relation } from '../../src/core/types.js';
import { materializationFor, type PlanContext, type Statement } from '../../src/materialize/index.js';
import { Session } from '../../src/app/session.js';
import { MemoryReporter } from '../../src/reporter/reporters.js';
import type { NodeResult } from '../../src/reporter/types.js';
import { runStatements } from '../../src/executor/run-node.js';

export type Row = Record<string, unknown>;

/** A compiled node as the compiler would hand it to a planner. */
export function compiled(id: string, sql: string, config: Partial<ModelConfig>): CompiledNode {
  const [schema, name] = id.split('.') as [string, string];
  const cfg: ModelConfig = { materialized: 'incremental', schema, enabled: true, tags: [], on_schema_change: 'ignore', pre_hook: [], post_hook: [], ...config };
  return {
    id,
    node: { kind: 'model', id, name, path: `models/${schema}/${name}.sql`, absPath: `/project/models/${schema}/${name}.sql`, rawSql: sql, config: cfg, columns: [], tests: [] },
    config: cfg,
    relation: { schema, name },
    sql,
    dependsOn: { nodes: [], sources: [], macros: [] },
    landingReads: [],
    streamReads: [],
    checksum: 'x',
    renderedIncremental: false,
  };
}

export async function memoryDb(): Promise<DuckDBAdapter> {
  return DuckDBAdapter.open(':memory:');
}

/** What the executor knows before planning: the existing relation and the SELECT's columns. */
export async function planContext(db: Adapter, node: CompiledNode, fullRefresh = false): Promise<PlanContext> {
  const rel = node.relation;
  const kinds = await db.query<{ t: string }>(`select table_type as t from information_schema.tables where table_schema = $1 and table_name = $2`, [rel.schema, rel.name]);
  const existing = kinds.length ? { kind: kinds[0]!.t === 'VIEW' ? 'view' as const : 'table' as const, columns: (await db.describe(rel)) ?? [] } : undefined;
  return { dialect: db.dialect, relation: rel, existing, incoming: await db.describeQuery(node.sql), fullRefresh, projectRoot: '/project' };
}

/** Run statements as the executor does (exec / count / assert-empty), in one transaction. */
export async function runPlan(db: Adapter, statements: readonly Statement[]): Promise<number | undefined> {
  return db.transaction((tx) => runStatements(tx, statements));
}

/** Plan `node` against the database as it is now and run the plan. */
export async function build(db: Adapter, node: CompiledNode, fullRefresh = false): Promise<number | undefined> {
  const ctx = await planContext(db, node, fullRefresh);
  return runPlan(db, materializationFor(node.config.materialized).plan(node, ctx));
}

export async function rows(db: Adapter, sql: string): Promise<Row[]> {
  return db.query(sql);
}

export async function columnsOf(db: Adapter, rel: Relation): Promise<Column[]> {
  return (await db.describe(rel)) ?? [];
}

/** Collapse whitespace so expected files can be laid out for reading. */
export function normaliseSql(sql: string): string {
  return sql.replace(/\s+/g, ' ').replace(/\(\s+/g, '(').replace(/\s+\)/g, ')').trim();
}

/** A plan as an expected-SQL file: one `-- label [kind]` header per statement. */
export function planText(statements: readonly Statement[]): string {
  return statements.map((s) => `-- ${s.label} [${s.kind}${s.countRows ? ', rows' : ''}]${s.message ? `\n-- message: ${s.message}` : ''}\n${s.sql};\n`).join('\n');
}

export const EXPECTED_DIR = path.join(path.dirname(new URL(import.meta.url).pathname), 'expected');

/**
 * Compare with test/materialize/expected/<name>.sql (whitespace-normalised). With
 * LAKE_UPDATE_EXPECTED=1 the file is (re)written instead: review the diff before committing it.
 */
export function expectedSql(name: string, actual: string): { actual: string; expected: string } {
  const file = path.join(EXPECTED_DIR, `${name}.sql`);
  if (process.env.LAKE_UPDATE_EXPECTED === '1') {
    fs.mkdirSync(EXPECTED_DIR, { recursive: true });
    fs.writeFileSync(file, actual);
  }
  if (!fs.existsSync(file)) throw new Error(`missing ${path.relative(process.cwd(), file)}: run with LAKE_UPDATE_EXPECTED=1 and review it`);
  return { actual: normaliseSql(actual), expected: normaliseSql(fs.readFileSync(file, 'utf8')) };
}

/** A temp folder that is removed at the end of the test file. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lake-'));
}

/** Write a tiny project (file map relative to the root) with a DuckDB file target. */
export function writeProject(files: Record<string, string>): string {
  const root = tempDir();
  const all: Record<string, string> = {
    'project.yml': 'name: t\ntargets:\n  dev:\n    type: duckdb\n    path: target/lake.duckdb\n    threads: 1\n',
    ...files,
  };
  for (const [rel, text] of Object.entries(all)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
  }
  return root;
}

/** `lake run` on the project (fresh load + compile each time, as a new process would). */
export async function lakeRun(root: string, opts: { fullRefresh?: boolean; select?: string[] } = {}): Promise<NodeResult[]> {
  const session = Session.open({ projectDir: root });
  const reporter = new MemoryReporter();
  const out = await session.run(reporter, { fullRefresh: opts.fullRefresh, select: opts.select, seeds: 'all' });
  return out.results;
}

/** Open the project's database (after a run has released it), run `fn`, close it. */
export async function withDb<T>(root: string, fn: (db: Adapter) => Promise<T>): Promise<T> {
  fs.mkdirSync(path.join(root, 'target'), { recursive: true });
  const db = await DuckDBAdapter.open(path.join(root, 'target', 'lake.duckdb'));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
