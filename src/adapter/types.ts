/**
 * The engine boundary. Every database call in lake goes through an Adapter; one folder per engine
 * implements it (DuckDB first). Dialect holds quoting and capability flags, separate from the
 * connection, so planners can produce SQL without a live database.
 */
import type { Column, Relation } from '../core/types.js';

export interface Dialect {
  readonly name: string;
  quote(identifier: string): string;
  relation(rel: Relation): string;
  /** A SQL string literal. */
  literal(value: string): string;
  readonly supportsMerge: boolean;
  readonly transactionalDdl: boolean;
}

/** What `queryTable` returns: column names may repeat; values as in `Row`, except DECIMAL and TIME values, as the engine writes them (text). */
export interface ResultTable {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
  /** Rows the statement changed (an INSERT, UPDATE, DELETE), else 0. */
  readonly rowsChanged: number;
}

/** A row returned by `query`: BIGINTs that fit are numbers, timestamps are Dates. */
export type Row = Record<string, unknown>;

export interface Adapter {
  readonly dialect: Dialect;
  /** Run one or more statements; returns rows changed by the last one (0 for DDL). */
  execute(sql: string): Promise<number>;
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** A statement's result as a table: its columns (names and types, even with no rows) and its rows in order. */
  queryTable(sql: string): Promise<ResultTable>;
  /** Columns of a table or view, or undefined when it does not exist. */
  describe(rel: Relation): Promise<Column[] | undefined>;
  /** Columns a SELECT would return, without running it. */
  describeQuery(sql: string): Promise<Column[]>;
  /** BEGIN ... COMMIT around fn; ROLLBACK when fn throws (and rethrow). */
  transaction<T>(fn: (tx: Adapter) => Promise<T>): Promise<T>;
  /** Another connection to the same database (for concurrent threads). */
  fork(): Promise<Adapter>;
  /** Cancel the statement running on this connection, if any. */
  interrupt(): void;
  close(): Promise<void>;
}

/** Error from the engine, with the statement that failed. */
export class EngineError extends Error {
  /** What lake was doing when the statement failed (a materialization step, a hook), if not running the model's SQL. */
  step?: string;
  /** What the person should do, when lake knows more than the engine's message says. */
  hint?: string;
  constructor(message: string, readonly sql: string) {
    super(message);
    this.name = 'EngineError';
  }
}
