/**
 * Runs data tests against the warehouse. Tests of one relation that reduce to a count (not_null,
 * accepted_values, accepted_range, expression_is_true, row_count, recency, and a fast check for
 * unique / unique_combination_of_columns) share ONE scan: a single SELECT with one filtered
 * aggregate per test. Everything else — relationships, custom and singular tests, a fast check
 * that found a problem, store_failures — runs its own failing-rows query.
 */
import type { Adapter } from '../adapter/types.js';
import { quoteIdent } from '../core/types.js';
import { closest } from '../errors/index.js';
import { statusFor } from './test-config.js';
import { answerQueries, LiveRenderError } from '../executor/live-render.js';
import { FAILURES_SCHEMA, type DataTest, type TestResult } from './types.js';

export interface RunDataTestsOptions {
  /** `--store-failures`: keep the failing rows of every test. */
  readonly storeFailures?: boolean;
  /** Where the test's compiled SQL was written (for error messages). */
  readonly compiledPath?: (t: DataTest) => string | undefined;
  /** dbt's --warn-error: a test that would warn fails. */
  readonly warnError?: boolean;
  /** Called with the SQL of a test that queries the database while it renders, once rendered (its compiled file). */
  readonly recordCompiled?: (t: DataTest, sql: string) => void;
}

/** Create the schemas for stored failures once, before tests run on several connections. */
export async function ensureFailuresSchema(db: Adapter, schemas: Iterable<string>): Promise<void> {
  for (const s of new Set(schemas)) await db.execute(`create schema if not exists ${quoteIdent(s)}`);
}

/** Where a test's failing rows are stored (collect.ts sets it; `_lake_tests.<test name>` by default). */
export function failuresTarget(t: DataTest): { schema: string; name: string } {
  return t.store ?? { schema: FAILURES_SCHEMA, name: t.name };
}

/** `"<schema>"."<name>"` of the stored failures. */
export function failuresRelation(t: DataTest): string {
  const f = failuresTarget(t);
  return `${quoteIdent(f.schema)}.${quoteIdent(f.name)}`;
}

/** The query that counts a test's failures (dbt's: failing rows, capped by `limit`, or its fail_calc over them). */
export function countSql(t: DataTest): string {
  return `select ${failureCount(t)} as failures from (\n${limited(t)}\n) as dbt_internal_test`;
}

/** The number of failures over the failing rows: count(*), or the test's fail_calc (NULL over no rows is 0). */
function failureCount(t: DataTest): string {
  return t.config.failCalc ? `coalesce(${t.config.failCalc}, 0)` : 'count(*)';
}

function limited(t: DataTest): string {
  return t.config.limit !== undefined ? `select * from (\n${t.sql}\n) as __lake_failing limit ${t.config.limit}` : t.sql;
}

/** The single-scan query for tests of one relation: one aggregate per test, `f0`, `f1`, ... */
export function batchSql(relation: string, tests: readonly DataTest[]): string {
  return `select\n${tests.map((t, i) => `  ${t.aggregate!.expr} as f${i}`).join(',\n')}\nfrom ${relation}`;
}

/** Run tests on one connection; results come back in the order of `tests`. */
export async function runDataTests(db: Adapter, tests: readonly DataTest[], opts: RunDataTestsOptions = {}): Promise<TestResult[]> {
  const out = new Map<DataTest, TestResult>();
  const store = (t: DataTest) => (t.config.storeFailuresSet ? t.config.storeFailures : !!opts.storeFailures);
  const base = (t: DataTest) => ({
    id: t.id, name: t.name, kind: t.kind, node: t.node, column: t.column, severity: t.config.severity, compiledPath: opts.compiledPath?.(t),
  });
  const finish = (t: DataTest, failures: number, durationMs: number, extra: Partial<TestResult> = {}) => {
    const found = statusFor(failures, t.config);
    const threshold = found === 'fail' ? t.config.errorIf : t.config.warnIf;
    const status = found === 'warn' && opts.warnError ? 'fail' : found;
    // dbt's words (its run_results message); with --warn-error, dbt's "configured to fail if <warn_if>".
    const message = found === 'pass' ? undefined : `Got ${failures} result${failures === 1 ? '' : 's'}, configured to ${status} if ${threshold.text}`;
    // A test that passes records no failures, whatever rows its threshold allowed (dbt's run_results).
    out.set(t, { ...base(t), status, failures: status === 'pass' ? 0 : failures, durationMs, message, ...extra });
  };
  const individual: DataTest[] = [];
  const byRelation = new Map<string, DataTest[]>();
  for (const t of tests) {
    if (t.skipReason) out.set(t, { ...base(t), status: 'skipped', failures: 0, durationMs: 0, message: t.skipReason });
    else if (t.errorReason) out.set(t, { ...base(t), status: 'error', failures: 0, durationMs: 0, message: t.errorReason });
    else if (t.aggregate && t.batchRelation && !t.config.failCalc && !t.live) {
      const list = byRelation.get(t.batchRelation) ?? [];
      list.push(t);
      byRelation.set(t.batchRelation, list);
    } else individual.push(t);
  }

  for (const [relation, group] of byRelation) {
    const t0 = performance.now();
    let row: Record<string, unknown>;
    try {
      [row] = (await db.query(batchSql(relation, group))) as [Record<string, unknown>];
    } catch {
      // One bad test (a typo in a column) must not hide the others: run each on its own to say which.
      individual.push(...group);
      continue;
    }
    const share = (performance.now() - t0) / group.length;
    for (let i = 0; i < group.length; i++) {
      const t = group[i]!;
      const n = Number(row[`f${i}`] ?? 0);
      if ((n > 0 && !t.aggregate!.exact) || store(t)) {
        individual.push(t);
        continue;
      }
      finish(t, t.config.limit !== undefined ? Math.min(n, t.config.limit) : n, share, { batched: true });
    }
  }

  for (const given of individual) {
    const t0 = performance.now();
    let t = given;
    try {
      if (t.live) {
        // Its SQL queries the database while it renders: rendered now, with the answers.
        const live = await answerQueries(db, t.live, { id: t.id, path: t.file ?? t.id });
        if (live.error) throw new LiveRenderError(`${t.id}: ${live.error}`);
        t = { ...t, sql: live.sql };
        opts.recordCompiled?.(t, live.sql);
      }
      let failures: number;
      if (store(t)) {
        // As a view (store_failures_as: view) or a table; the other kind under that name goes first.
        const view = t.config.storeAs === 'view';
        // (DuckDB refuses `drop view if exists x` when x is a table: ask what is there first.)
        const [other] = await db.query<{ n: number }>(`select count(*) as n from ${view ? 'duckdb_tables()' : 'duckdb_views()'} where schema_name = $1 and ${view ? 'table_name' : 'view_name'} = $2 and database_name = current_database()`, [failuresTarget(t).schema, failuresTarget(t).name]);
        if (Number(other?.n ?? 0) > 0) await db.execute(`drop ${view ? 'table' : 'view'} ${failuresRelation(t)}`);
        await db.execute(`create or replace ${view ? 'view' : 'table'} ${failuresRelation(t)} as\n${limited(t)}`);
        const [r] = await db.query<{ n: number }>(`select ${failureCount(t)} as n from ${failuresRelation(t)}`);
        failures = Number(r?.n ?? 0);
      } else {
        const [r] = await db.query<{ failures: number }>(countSql(t));
        failures = Number(r?.failures ?? 0);
      }
      finish(given, failures, performance.now() - t0, store(t) ? { storedIn: `${failuresTarget(t).schema}.${failuresTarget(t).name}` } : {});
    } catch (e) {
      if (e instanceof LiveRenderError) {
        out.set(given, { ...base(given), status: 'error', failures: 0, durationMs: performance.now() - t0, message: e.message });
        continue;
      }
      const where = opts.compiledPath?.(t);
      const full = (e as Error).message;
      const first = full.split('\n')[0]!;
      const missing = /does not exist/i.test(first) ? missingParent(first, t) : undefined;
      // A column the model lacks (a YAML typo): DuckDB's candidates are the columns it may mean.
      const unknown = /Referenced column "([^"]+)" not found in FROM clause/.exec(first)?.[1];
      const candidates = unknown ? (/\nCandidate bindings: ([^\n]+)/.exec(full)?.[1] ?? '').split(', ').map((c) => c.replace(/^"|"$/g, '').replace(/^.*\./, '')).filter(Boolean) : [];
      const meant = unknown ? closest(unknown, candidates, 2) : [];
      const hint = meant.length ? `\n  hint: did you mean ${meant.map((c) => `"${c}"`).join(' or ')}?`
        : !missing ? '' : missing.startsWith('source:') ? `\n  hint: the table of ${missing} is not in the database` : `\n  hint: has ${missing} been built? run lake build -s ${missing}`;
      // Where a YAML test is declared: the line to fix.
      const declared = t.kind !== 'singular' && t.file && t.line ? `\n  declared at ${t.file}:${t.line}` : '';
      out.set(given, {
        ...base(given), status: 'error', failures: 0, durationMs: performance.now() - t0,
        message: `${first}${where ? `\n  compiled SQL: ${where}` : ''}${declared}${hint}`,
      });
    }
  }
  return tests.map((t) => out.get(t)!);
}

/**
 * The parent of `t` whose relation an engine error says does not exist ("Table with name x does
 * not exist"): the one named in the message, else the test's only parent.
 */
function missingParent(message: string, t: DataTest): string | undefined {
  const m = /with name "?([\w.]+?)"? does not exist/i.exec(message);
  const name = m?.[1]?.toLowerCase();
  const parents = t.parents.length ? t.parents : t.node ? [t.node] : [];
  const named = name ? parents.find((p) => { const id = p.toLowerCase(); return id === name || id.endsWith(`.${name}`); }) : undefined;
  return named ?? (parents.length === 1 ? parents[0] : undefined);
}
