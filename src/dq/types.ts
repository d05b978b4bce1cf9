/**
 * The shapes data quality works with: a data test ready to run (its failing-rows SQL and, when it
 * can share a scan with the other tests of its model, an aggregate), its configuration, and the
 * result of running it. Unit tests and expectations have their own modules; their results use
 * the same `TestResult` shape so one table and one run_results array hold them all.
 */
import type { NodeId } from '../core/types.js';
import type { RenderDatabase } from '../template/introspection.js';

/** `warn_if` / `error_if`: a comparison against the number of failures (`>10`, `!=0`). */
export interface Threshold {
  /** A comparison with `value`; `between` (value and `to`) or `in` (`values`), `negate` for their `not`. */
  readonly op: '>' | '>=' | '<' | '<=' | '=' | '!=' | 'between' | 'in';
  readonly value: number;
  readonly to?: number;
  readonly values?: readonly number[];
  readonly negate?: boolean;
  /** As written, for messages. */
  readonly text: string;
}

export type Severity = 'error' | 'warn';

/** The schema that stored failures go to by default in a lake project (a dbt project: dbt's). */
export const FAILURES_SCHEMA = '_lake_tests';

export interface TestConfig {
  readonly severity: Severity;
  readonly warnIf: Threshold;
  readonly errorIf: Threshold;
  readonly limit?: number;
  readonly storeFailures: boolean;
  /** store_failures (or store_failures_as) is set on the test: it wins over the --store-failures flag. */
  readonly storeFailuresSet?: boolean;
  /** dbt's store_failures_as: the failing rows kept as a table (default) or a view; `ephemeral` keeps nothing. */
  readonly storeAs?: 'table' | 'view' | 'ephemeral';
  readonly where?: string;
  readonly tags: readonly string[];
  /** dbt's fail_calc: the SQL aggregate over the failing rows that is the number of failures (default count(*)). */
  readonly failCalc?: string;
  /** The schema (custom, as a model's `schema`) and relation name its stored failures go to. */
  readonly schema?: string;
  readonly alias?: string;
}

/** One failure count computed inside the shared scan of a model's batch query. */
export interface BatchAggregate {
  /** A SQL expression over the tested relation that yields a count. */
  readonly expr: string;
  /**
   * true: the count is the test's number of failures. false: 0 means pass, anything else means
   * "failing, count unknown" (e.g. `unique` counts surplus rows, dbt counts duplicated values),
   * so the runner asks the test's own query for the exact count.
   */
  readonly exact: boolean;
}

export type DataTestKind = 'generic' | 'singular';

/** A data test with its SQL, ready to run against the warehouse. */
export interface DataTest {
  /** `test.<name>`, as in run_results. */
  readonly id: string;
  /** dbt-style name: `unique_users_user_id`, `source_not_null_kafka_bpm_id`, or the file name. */
  readonly name: string;
  readonly kind: DataTestKind;
  /** unique, not_null, ... or the custom test's name; the file name for singular tests. */
  readonly testName: string;
  /** The node the test is declared on (singular tests: their first parent, if any). */
  readonly node?: NodeId;
  /** Every node the test reads. */
  readonly parents: readonly NodeId[];
  readonly column?: string;
  readonly config: TestConfig;
  /** The query returning the failing rows (where already applied, limit not). */
  readonly sql: string;
  /** Present when the test can share one scan of `batchRelation` with the model's other tests. */
  readonly aggregate?: BatchAggregate;
  /** The relation the aggregate reads (SQL text). */
  readonly batchRelation?: string;
  /** Set when the test cannot run at all (e.g. on a landing-zone source); it is reported skipped. */
  readonly skipReason?: string;
  /**
   * Set when the test's SQL cannot be written without querying the database (a package test that
   * calls get_columns_in_relation or run_query): it is reported as an error, the others still run.
   */
  readonly errorReason?: string;
  /** Its declaration's key (dq/test-keys.ts), for `state:` selection. */
  readonly stateKey?: string;
  /**
   * For a test whose SQL queries the database while it renders (run_query...): its render with
   * the database (the runner answers the queries, executor/live-render.ts); `sql` is then empty.
   */
  readonly live?: (database: RenderDatabase) => { pendingQuery: string } | { value: { sql: string; error?: string } };
  /** Where its failing rows go when stored (store_failures): schema and relation name. */
  readonly store?: { readonly schema: string; readonly name: string };
  readonly file?: string;
  readonly line?: number;
}

export type TestStatus = 'pass' | 'warn' | 'fail' | 'error' | 'skipped';

/** The outcome of one data test or unit test. */
export interface TestResult {
  readonly id: string;
  readonly name: string;
  readonly kind: 'generic' | 'singular' | 'unit';
  readonly node?: NodeId;
  readonly column?: string;
  readonly status: TestStatus;
  readonly failures: number;
  readonly severity: Severity;
  readonly durationMs: number;
  /** Why it failed, errored or was skipped; the unit-test diff. */
  readonly message?: string;
  /** Counted in the model's shared scan. */
  readonly batched?: boolean;
  /** Where the failing rows were stored. */
  readonly storedIn?: string;
  readonly compiledPath?: string;
}
