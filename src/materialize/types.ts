/**
 * The contract of a materialization strategy: validate a compiled node, then plan the statements
 * that build it. Planning is pure (no database); the executor runs the plan in one transaction.
 */
import type { Diagnostic } from '../errors/index.js';
import type { Column, CompiledNode, Relation } from '../core/types.js';
import type { Dialect } from '../adapter/types.js';
import type { Contract } from './contract.js';

export type StatementKind =
  /** Run it; its changed-row count adds to the node's rows when `countRows` is set. */
  | 'exec'
  /** A query that must return no rows; otherwise the node fails with `message` and the first row. */
  | 'assert-empty'
  /** A query returning one row with column `n`: the node's row count. */
  | 'count';

export interface Statement {
  readonly kind: StatementKind;
  readonly sql: string;
  /** Short description for logs and expected-SQL tests. */
  readonly label: string;
  readonly countRows?: boolean;
  readonly message?: string;
  /** What to do when an assert-empty statement finds rows. */
  readonly hint?: string;
}

export interface PlanContext {
  readonly dialect: Dialect;
  readonly relation: Relation;
  /** The target as it exists now (undefined: it does not exist). */
  readonly existing?: { readonly kind: 'table' | 'view'; readonly columns: readonly Column[] };
  /** Columns of the model's SELECT (from DESCRIBE, without running it). */
  readonly incoming: readonly Column[];
  readonly fullRefresh: boolean;
  /** Absolute project root (external locations are relative to it). */
  readonly projectRoot: string;
  /** When a snapshot's versions start and end (its build's time; now when absent). */
  readonly snapshotAt?: Date;
  /** The model's enforced contract: a new table is created from it, then filled (contract.ts). */
  readonly contract?: Contract;
  /**
   * An incremental run's SQL from the project's own strategy macro (dbt's get_incremental_<name>_sql,
   * or its override of get_merge_sql...), over the new rows in the temp table `temp`: it replaces
   * the strategy's own statements.
   */
  readonly strategySql?: { readonly sql: string; readonly temp: string };
  /**
   * The SELECT gives its rows in arrival order (it reads landing sources, whose rows come as the
   * files landed): insert_new keeps the first of a key in that order, and cdc lets the last win
   * at equal sequence, when the rows do not carry `_lake_file_mtime` and `_lake_file` to order
   * them by.
   */
  readonly arrivalOrder?: boolean;
}

/** A planning failure that is the user's to fix (e.g. on_schema_change: fail). */
export class PlanError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
    this.name = 'PlanError';
  }
}

export interface Materialization {
  readonly name: string;
  validate(node: CompiledNode): Diagnostic[];
  plan(node: CompiledNode, ctx: PlanContext): Statement[];
}
