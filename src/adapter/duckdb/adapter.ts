/**
 * DuckDB adapter over @duckdb/node-api (the only module that imports it). One instance per
 * database file; `fork()` opens another connection to the same instance for parallel threads.
 */
import { createRequire } from 'node:module';
import type { DuckDBConnection, DuckDBInstance as DuckDBInstanceType, DuckDBValue } from '@duckdb/node-api';
import type { Adapter, ResultTable, Row } from '../types.js';
import { EngineError } from '../types.js';
import type { Column, Relation } from '../../core/types.js';
import { duckdbDialect } from './dialect.js';

// Loaded with require, not import: importing this CommonJS package from ESM makes Node pre-parse
// every file it re-exports (cjs-module-lexer) to find named exports, ~50-60 ms per process on our
// machines — a third of a small `lake run`. require loads the same code without that pass.
const { DuckDBInstance } = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');
type DuckDBInstance = DuckDBInstanceType;

/**
 * `LAKE_SQL_TRACE=1` (or its older name `LAKE_INGEST_TRACE=1`): every statement of every
 * connection on stderr, with when it started (ms since the process started), the connection, its
 * wall time and the process's CPU time while it ran (DuckDB's threads included) — for profiling a
 * run statement by statement. `LAKE_SQL_TRACE_CHARS` sets how much of the SQL is shown (160).
 */
const TRACE = process.env.LAKE_SQL_TRACE === '1' || process.env.LAKE_INGEST_TRACE === '1';
let connections = 0;

/** Runs a statement; with tracing off it is the statement's own promise (no wrapper on the hot path). */
const traced: <T>(conn: number, sql: string, run: () => Promise<T>) => Promise<T> = TRACE ? timed : (_conn, _sql, run) => run();

async function timed<T>(conn: number, sql: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  try {
    return await run();
  } finally {
    const c = process.cpuUsage(c0);
    const text = sql.replace(/\s+/g, ' ').slice(0, Number(process.env.LAKE_SQL_TRACE_CHARS ?? process.env.LAKE_INGEST_TRACE_CHARS ?? 160));
    process.stderr.write(`[sql @${t0.toFixed(0)} c${conn} ${(performance.now() - t0).toFixed(1)} ms, cpu ${((c.user + c.system) / 1000).toFixed(0)} ms] ${text}\n`);
  }
}

function toJs(v: unknown): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(toJs);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJs(x);
    return out;
  }
  return v;
}

export class DuckDBAdapter implements Adapter {
  readonly dialect = duckdbDialect;
  private closed = false;
  private readonly id = ++connections;

  private constructor(private readonly instance: DuckDBInstance, private readonly conn: DuckDBConnection, private readonly owner: boolean) {}

  /** Open (or create) a database file, or ':memory:'. */
  static async open(path: string): Promise<DuckDBAdapter> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path);
    } catch (e) {
      throw new EngineError((e as Error).message, `open ${path}`);
    }
    const conn = await instance.connect();
    // Lakehouse dates are UTC: the same files give the same tables on every machine.
    await conn.run(`set TimeZone = 'UTC'`);
    return new DuckDBAdapter(instance, conn, true);
  }

  async fork(): Promise<Adapter> {
    const conn = await this.instance.connect();
    await conn.run(`set TimeZone = 'UTC'`);
    return new DuckDBAdapter(this.instance, conn, false);
  }

  async execute(sql: string): Promise<number> {
    try {
      const r = await traced(this.id, sql, () => this.conn.run(sql));
      return Number(r.rowsChanged);
    } catch (e) {
      throw new EngineError((e as Error).message, sql);
    }
  }

  async query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    try {
      const reader = await traced(this.id, sql, () => (params && params.length
        ? this.conn.runAndReadAll(sql, params as DuckDBValue[])
        : this.conn.runAndReadAll(sql)));
      return reader.getRowObjectsJS().map((r) => toJs(r) as R);
    } catch (e) {
      throw new EngineError((e as Error).message, sql);
    }
  }

  async queryTable(sql: string): Promise<ResultTable> {
    try {
      const reader = await traced(this.id, sql, () => this.conn.runAndReadAll(sql));
      const names = reader.columnNames();
      const types = reader.columnTypes().map(String);
      // DECIMAL and TIME as DuckDB writes them (a JavaScript number would round a DECIMAL(38,10)).
      const asText = types.map((t) => /^(DECIMAL|TIME$|TIME WITH TIME ZONE)/.test(t));
      const raw = asText.some(Boolean) ? reader.getRows() : undefined;
      return {
        columns: names.map((name, i) => ({ name, type: types[i]! })),
        rows: reader.getRowsJS().map((r, j) => r.map((v, i) => (asText[i] && v !== null ? String(raw![j]![i]) : toJs(v)))),
        rowsChanged: Number(reader.rowsChanged ?? 0),
      };
    } catch (e) {
      throw new EngineError((e as Error).message, sql);
    }
  }

  async describe(rel: Relation): Promise<Column[] | undefined> {
    // Not information_schema.columns: the first read of it (or of duckdb_columns()) in an instance
    // binds every system view to list their columns, ~8 ms. Which database holds the relation
    // (the current one first), then its columns; pragma_table_info errors on a missing relation,
    // which would abort the caller's transaction, hence the lookup first.
    const [hit] = await this.query<{ d: string }>(
      `select d from (select database_name as d from duckdb_tables() where schema_name = $1 and table_name = $2
         union all select database_name from duckdb_views() where schema_name = $1 and view_name = $2)
       order by d = current_database() desc, d limit 1`,
      [rel.schema, rel.name],
    );
    if (!hit) return undefined;
    const d = this.dialect;
    const rows = await this.query<{ name: string; type: string; nn: boolean }>(
      `select name, type, "notnull" as nn from pragma_table_info(${d.literal(`${d.quote(hit.d)}.${d.relation(rel)}`)}) order by cid`,
    );
    return rows.length === 0 ? undefined : rows.map((r) => ({ name: r.name, type: r.type, nullable: !r.nn }));
  }

  async describeQuery(sql: string): Promise<Column[]> {
    const rows = await this.query<{ column_name: string; column_type: string; null: string }>(`describe ${sql}`);
    return rows.map((r) => ({ name: r.column_name, type: r.column_type, nullable: r.null !== 'NO' }));
  }

  async transaction<T>(fn: (tx: Adapter) => Promise<T>): Promise<T> {
    await this.execute('begin transaction');
    try {
      const out = await fn(this);
      await this.execute('commit');
      return out;
    } catch (e) {
      try { await this.execute('rollback'); } catch { /* already rolled back by the engine */ }
      throw e;
    }
  }

  interrupt(): void {
    try { this.conn.interrupt(); } catch { /* nothing running */ }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.conn.closeSync();
    // Closing the instance checkpoints the database file.
    if (this.owner) await traced(this.id, 'close (checkpoint)', async () => this.instance.closeSync());
  }
}
