/**
 * Builds one model (or seed) on one connection: decides is_incremental(), runs hooks, plans with
 * the model's materialization and runs the plan — all in one transaction, so a failure or a kill
 * leaves the previous table as it was. The exception is a view that is one statement with nothing
 * around it (`quickViewSql`): that statement is atomic by itself, and the scheduler may send
 * several of them to the engine in one call.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Adapter, Dialect } from '../adapter/types.js';
import { EngineError } from '../adapter/types.js';
import type { CompiledNode, Relation, SeedNode, Column, Materialized } from '../core/types.js';
import { relationSql, seedRelation } from '../core/types.js';
import { LakeError, formatDiagnostic } from '../errors/index.js';
import { dbtSeedTypes, dbtSeedTypesSql, materializationFor, planSeed, PlanError, seedAsText, type Statement } from '../materialize/index.js';
import { unclosedQuote } from '../core/csv-text.js';
import { retypedColumns, SCHEMA_CHANGE_LABEL } from '../materialize/common.js';
import type { Compiler } from '../compiler/compile.js';
import { enginePosition, locateInRaw, type EnginePosition } from '../compiler/source-position.js';
import type { NodeHook, HookOutcome } from './hooks.js';
import { renderAdhocLive, renderLive, LiveRenderError } from './live-render.js';
import { runMicrobatch } from './run-microbatch.js';
import { checkContract } from './contract.js';
import { contractEnforced, type Contract } from '../materialize/contract.js';
import { splitHooks, strategyMacroName, strategyOf } from '../project/config.js';
import { relationValue } from '../template/dbt-compat.js';
import type { PlanContext } from '../materialize/types.js';

export interface NodeRunContext {
  readonly compiler: Compiler;
  readonly hooks: readonly NodeHook[];
  readonly fullRefresh: boolean;
  readonly runId: string;
  readonly batchId: number;
  readonly projectRoot: string;
  readonly compiledPath: (id: string) => string;
  /**
   * The catalog as the run found it (one query for the whole run, `CatalogSnapshot.read`). Valid
   * for a run because each node is built once and changes only its own relation. Without it (a
   * standalone build, e.g. dq's unit tests) each node looks its relation up itself.
   */
  readonly catalog?: CatalogSnapshot;
  /** Schemas the caller created before the run: the plans' `create schema if not exists` for them is skipped. */
  readonly schemasReady?: ReadonlySet<string>;
  /**
   * True when none of `hooks` can apply to the node (the caller knows its hooks). A view whose plan
   * is then one statement runs it in autocommit, without BEGIN/COMMIT; anything else keeps the
   * transaction (landing reads, stream reads and expectations always do: exactly-once needs it).
   */
  readonly hookFree?: (node: CompiledNode) => boolean;
  /** A model rendered again with the database (introspective): its compiled SQL is this now. */
  readonly recordCompiled?: (node: CompiledNode) => void;
  /** --event-time-start / --event-time-end: the range microbatch models build (else from their config). */
  readonly eventTime?: { readonly start: Date; readonly end: Date };
  /** When the run started: the end of a microbatch model's last batch (default: now). */
  readonly startedAt?: Date;
  /** dbt's --empty (the compiler reads refs and sources as zero rows; hooks read no files). */
  readonly empty?: boolean;
}

export interface NodeOutcome {
  readonly rows?: number;
  readonly stats?: Record<string, unknown>;
  /** What its template's log(..., info=True) and print() said (as rendered for this build). */
  readonly logs?: readonly string[];
}

/** A node failure with a message for a person. */
export class NodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeError';
  }
}

/** A relation as it exists in the database. */
export interface ExistingRelation {
  readonly kind: 'table' | 'view';
  readonly columns: Column[];
}

/** What a run reads of the catalog: the schemas it builds into, and the relations whose columns it needs. */
export interface CatalogScope {
  readonly schemas: Iterable<string>;
  readonly relations: Iterable<Relation>;
}

/** Above this many relations a scoped read takes the columns of whole schemas (one catalog scan). */
const COLUMNS_ONE_BY_ONE = 32;

/**
 * Tables and views of the current database with their columns, read once for a run: either the
 * whole database in one query, or a scope (`CatalogScope`): which relations exist in some schemas,
 * and the columns of the scope's relations. The scoped read avoids `duckdb_columns()` for small
 * runs: its first call in a process binds every system view (information_schema, pg_catalog) to
 * list their columns, ~8 ms of a ~100 ms incremental run; `pragma_table_info` of the few relations
 * a run builds costs ~1 ms. Types are DuckDB's type names, as information_schema shows them.
 */
export class CatalogSnapshot {
  private constructor(
    private readonly rels: ReadonlyMap<string, ExistingRelation>,
    private readonly schemas: ReadonlySet<string> | undefined,
    /** Relations whose columns were read (undefined: all of those in `rels`). */
    private readonly withColumns: ReadonlySet<string> | undefined,
  ) {}

  static async read(db: Adapter, scope?: CatalogScope): Promise<CatalogSnapshot> {
    if (!scope) return new CatalogSnapshot(await CatalogSnapshot.columnsOfSchemas(db, undefined), undefined, undefined);
    const schemas = new Set(scope.schemas);
    const wanted = new Map<string, Relation>();
    for (const r of scope.relations) if (schemas.has(r.schema)) wanted.set(CatalogSnapshot.key(r.schema, r.name), r);
    if (schemas.size === 0) return new CatalogSnapshot(new Map(), schemas, new Set());
    const d = db.dialect;
    const inSchemas = `schema_name in (${[...schemas].map((x) => d.literal(x)).join(', ')})`;
    // The current catalog only: ingest attaches a scratch database.
    const kinds = await db.query<{ s: string; n: string; v: boolean }>(
      `select schema_name as s, table_name as n, false as v from duckdb_tables() where database_name = current_database() and ${inSchemas}
       union all select schema_name, view_name, true from duckdb_views() where database_name = current_database() and ${inSchemas}`,
    );
    const rels = new Map<string, ExistingRelation>();
    for (const k of kinds) rels.set(CatalogSnapshot.key(k.s, k.n), { kind: k.v ? 'view' : 'table', columns: [] });
    const existing = [...wanted].filter(([key]) => rels.has(key));
    if (existing.length > COLUMNS_ONE_BY_ONE) {
      // Many relations: one scan of the catalog costs less than a pragma each.
      return new CatalogSnapshot(await CatalogSnapshot.columnsOfSchemas(db, inSchemas), schemas, undefined);
    }
    if (existing.length > 0) {
      const pragma = (r: Relation, i: number) => `select ${i} as k, cid, name as c, type as ty, "notnull" as nn from pragma_table_info(${d.literal(d.relation(r))})`;
      let rows: { k: number; c: string; ty: string; nn: boolean }[];
      try {
        rows = await db.query(existing.map(([, r], i) => pragma(r, i)).join('\nunion all ') + '\norder by k, cid');
      } catch {
        // A view that no longer binds (its upstream lost a column it reads) fails pragma_table_info,
        // and with it the whole read: read them one by one; such a view is there with no known
        // columns, and its build replaces it.
        rows = [];
        for (const [i, [, r]] of existing.entries()) rows.push(...await db.query<{ k: number; c: string; ty: string; nn: boolean }>(pragma(r, i)).catch(() => []));
      }
      for (const r of rows) rels.get(existing[r.k]![0])!.columns.push({ name: r.c, type: r.ty, nullable: !r.nn });
    }
    return new CatalogSnapshot(rels, schemas, new Set(existing.map(([key]) => key)));
  }

  /** Relations with their columns, of the whole current database or of the schemas `inSchemas` selects. */
  private static async columnsOfSchemas(db: Adapter, inSchemas: string | undefined): Promise<Map<string, ExistingRelation>> {
    const where = inSchemas ? ` and ${inSchemas}` : '';
    // duckdb_columns() rather than information_schema (a view over it, joined with tables and views:
    // measured 2-4x dearer); its data_type is the column information_schema shows.
    const rows = await db.query<{ s: string; n: string; v: boolean; c: string; ty: string; nl: boolean }>(
      `select schema_name as s, table_name as n, column_name as c, data_type as ty, is_nullable as nl,
         table_oid in (select view_oid from duckdb_views() where database_name = current_database()${where}) as v
       from duckdb_columns() where database_name = current_database()${where}
       order by schema_name, table_name, column_index`,
    );
    const rels = new Map<string, ExistingRelation>();
    for (const r of rows) {
      const key = CatalogSnapshot.key(r.s, r.n);
      let rel = rels.get(key);
      if (!rel) rels.set(key, (rel = { kind: r.v ? 'view' : 'table', columns: [] }));
      rel.columns.push({ name: r.c, type: r.ty, nullable: r.nl });
    }
    return rels;
  }

  private static key(schema: string, name: string): string {
    return `${schema}\u0000${name}`;
  }

  /**
   * True when the snapshot answers for `rel`: its schema was read, and it either does not exist or
   * its columns were read. Otherwise look it up (`existingRelation`).
   */
  covers(rel: Relation): boolean {
    if (this.schemas && !this.schemas.has(rel.schema)) return false;
    const key = CatalogSnapshot.key(rel.schema, rel.name);
    return !this.withColumns || !this.rels.has(key) || this.withColumns.has(key);
  }

  /** Whether a relation exists (tables and views, without their columns) when its schema was read, else undefined. */
  exists(rel: Relation): boolean | undefined {
    if (this.schemas && !this.schemas.has(rel.schema)) return undefined;
    return this.rels.has(CatalogSnapshot.key(rel.schema, rel.name));
  }

  /**
   * The relation as the snapshot found it, undefined when it does not exist; its kind is right
   * whenever its schema was read, its columns only when `covers(rel)`.
   */
  get(rel: Relation): ExistingRelation | undefined {
    return this.rels.get(CatalogSnapshot.key(rel.schema, rel.name));
  }
}

/** The relation from the run's snapshot when it covers it, else looked up. */
async function lookUp(db: Adapter, rel: Relation, catalog: CatalogSnapshot | undefined): Promise<ExistingRelation | undefined> {
  return catalog?.covers(rel) ? catalog.get(rel) : existingRelation(db, rel);
}

export async function existingRelation(db: Adapter, rel: Relation): Promise<ExistingRelation | undefined> {
  const rows = await db.query<{ t: string }>(`select table_type as t from information_schema.tables where table_schema = $1 and table_name = $2`, [rel.schema, rel.name]);
  if (rows.length === 0) return undefined;
  const columns = (await db.describe(rel)) ?? [];
  return { kind: rows[0]!.t === 'VIEW' ? 'view' : 'table', columns };
}

/** Run a plan's statements (exec / count / assert-empty) on `tx`; returns the node's row count. */
export async function runStatements(tx: Adapter, statements: readonly Statement[]): Promise<number | undefined> {
  let rows: number | undefined;
  for (const st of statements) {
    if (st.kind === 'exec') {
      let n: number;
      try {
        n = await tx.execute(st.sql);
      } catch (e) {
        // A step lake wrote (retyping a column of the existing table...), not the model's SELECT.
        if (e instanceof EngineError && SCHEMA_CHANGE_LABEL.test(st.label)) e.step = `${st.label} of the existing table (on_schema_change)`;
        throw e;
      }
      if (st.countRows) rows = (rows ?? 0) + n;
    } else if (st.kind === 'count') {
      const [r] = await tx.query<{ n: number }>(st.sql);
      rows = Number(r?.n ?? 0);
    } else {
      const found = await tx.query(st.sql);
      if (found.length > 0) {
        // Dates as ISO text (String() of a Date is JavaScript's long form, in the machine's zone).
        const sample = Object.entries(found[0]!).map(([k, v]) => `${k}=${v instanceof Date ? v.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '') : String(v)}`).join(', ');
        throw new NodeError(`${st.message ?? 'check failed'} (e.g. ${sample}); nothing was changed${st.hint ? `\n  hint: ${st.hint}` : ''}`);
      }
    }
  }
  return rows;
}

/**
 * Loads a seed in one transaction. Its pre- and post-hooks (dbt's, `{{ this }}` the seed's table)
 * run in that transaction around the load, those marked outside it (before_begin, after_commit)
 * before it begins and after it commits; they render with the database, as a model's do.
 */
export async function runSeed(db: Adapter, seed: SeedNode, catalog?: CatalogSnapshot, compiler?: Compiler): Promise<NodeOutcome> {
  const open = unclosedQuote(fs.readFileSync(seed.absPath, 'utf8'));
  if (open !== undefined) {
    throw new NodeError(`seed ${seed.path}:${open}: a quoted value opens on this line and is never closed; nothing was loaded\n  hint: close the quote (a quote inside a quoted value is written twice: "")`);
  }
  try {
    const rel = seedRelation(seed);
    const existing = await lookUp(db, rel, catalog);
    let inferred: { name: string; type: string }[] | undefined;
    if (seed.typing === 'dbt') {
      // dbt's agate rules, from the file read as text (one query), for the columns it does not declare.
      const columns = (await db.describeQuery(`select * from ${seedAsText(seed, db.dialect)}`)).map((c) => c.name);
      const [row] = await db.query(dbtSeedTypesSql(seed, db.dialect, columns));
      inferred = dbtSeedTypes(columns, row ?? {});
    }
    const pre = splitHooks(seed.preHook ?? []);
    const post = splitHooks(seed.postHook ?? []);
    const hook = async (conn: Adapter, hooks: readonly string[], step: string) => {
      if (hooks.length && !compiler) throw new NodeError(`seed ${seed.path}: its hooks cannot render here (no project compiler)`);
      const self = { file: seed.path, label: seed.id, extra: { this: relationValue(relationSql(seedRelation(seed))) } };
      for (const [i, text] of hooks.entries()) await runHookText(conn, compiler!, text, { ...self, step: `${step}${hooks.length > 1 ? ` #${i + 1}` : ''}` });
    };
    await hook(db, pre.outside, 'pre_hook (outside the transaction)');
    const out = await db.transaction(async (tx) => {
      await hook(tx, pre.inside, 'pre_hook');
      const rows = await runStatements(tx, planSeed(seed, tx.dialect, existing ? { kind: existing.kind, columns: [] } : undefined, inferred));
      await hook(tx, post.inside, 'post_hook');
      return { rows };
    });
    await hook(db, post.outside, 'post_hook (outside the transaction)');
    return out;
  } catch (e) {
    if (e instanceof EngineError) {
      // DuckDB's advice names read_csv options (types=..., sample_size=...), which a seed sets
      // through column_types: say that instead.
      const first = e.message.split('\n').filter((l) => !/^\s*(Possible fixes|\*|\s*$)/.test(l)).slice(0, 3).join('\n  ');
      const csv = /CSV Error|Conversion Error|Could not convert/i.test(e.message);
      throw new NodeError(`seed ${seed.path}: ${e.step ? `${e.step}: ` : ''}${first}${csv && !e.step ? `\n  hint: declare the column's type for this seed (column_types, e.g. seeds: {${seed.name}: {+column_types: {col: varchar}}} in the project file, or config: column_types: in its YAML)` : ''}`);
    }
    throw e;
  }
}

/** DuckDB reports optimistic-concurrency conflicts between transactions; the whole build is retried. */
const CONFLICT = /TransactionContext Error: .*[Cc]onflict/;

export async function runModel(db: Adapter, compiled: CompiledNode, ctx: NodeRunContext): Promise<NodeOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runModelOnce(db, compiled, ctx);
    } catch (e) {
      if (attempt >= 4 || !(e instanceof NodeError) || !CONFLICT.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/** The materialization's plan, without the schema statements the caller already ran. */
function planModel(d: Dialect, mat: Materialized, node: CompiledNode, existing: ExistingRelation | undefined, incoming: readonly Column[], ctx: NodeRunContext, contract?: Contract, strategySql?: PlanContext['strategySql'], arrivalOrder?: boolean): Statement[] {
  const statements = materializationFor(mat).plan(node, {
    dialect: d, relation: node.relation, existing, incoming, fullRefresh: ctx.fullRefresh, projectRoot: ctx.projectRoot,
    ...(mat === 'snapshot' ? { snapshotAt: new Date() } : {}), ...(contract ? { contract } : {}), ...(strategySql ? { strategySql } : {}),
    ...(arrivalOrder ? { arrivalOrder } : {}),
  });
  // The plan stays complete on its own (standalone builds need it); the session has created these schemas.
  return ctx.schemasReady?.has(node.relation.schema) ? statements.filter((st) => st.label !== 'schema') : statements;
}

/**
 * The one statement that builds a view with nothing around it (no pre/post hooks, no node hook
 * applies, no render with the database or log lines to give, no contract to check, known catalog,
 * a plan of one statement: no old table to drop), or undefined. Such a statement is atomic on its own: it needs no BEGIN/COMMIT of its own, may run in autocommit, and
 * the scheduler may send several at once. A view needs no incoming columns (no DESCRIBE): it
 * stores no rows, so nothing is compared or stamped with `_lake_batch`.
 */
export function quickViewSql(compiled: CompiledNode, ctx: NodeRunContext, d: Dialect): string | undefined {
  const c = compiled.config;
  if (c.materialized !== 'view' || compiled.introspective || compiled.logs || contractEnforced(compiled) || !ctx.catalog?.covers(compiled.relation) || c.pre_hook.length > 0 || c.post_hook.length > 0 || !ctx.hookFree?.(compiled)) return undefined;
  const statements = planModel(d, 'view', compiled, ctx.catalog!.get(compiled.relation), [], ctx);
  return statements.length === 1 && statements[0]!.kind === 'exec' ? statements[0]!.sql : undefined;
}

/**
 * The run's context as this model sees it: dbt's `full_refresh` config wins over the flag —
 * `false` protects a table that cannot be rebuilt (history over archived landing files) from
 * `--full-refresh`, `true` rebuilds it on every run.
 */
function forModel(compiled: CompiledNode, ctx: NodeRunContext): NodeRunContext {
  const own = compiled.config.full_refresh;
  return typeof own === 'boolean' && own !== ctx.fullRefresh ? { ...ctx, fullRefresh: own } : ctx;
}

async function runModelOnce(db: Adapter, compiled: CompiledNode, runCtx: NodeRunContext): Promise<NodeOutcome> {
  const ctx = forModel(compiled, runCtx);
  const mat = compiled.config.materialized;
  if (mat === 'ephemeral') return {};
  try {
    const existing = await lookUp(db, compiled.relation, ctx.catalog);
    if (mat === 'incremental' && strategyOf(compiled.config) === 'microbatch') return await runMicrobatch(db, compiled, ctx, existing);
    const incremental = mat === 'incremental' && !!existing && existing.kind === 'table' && !ctx.fullRefresh;
    let node = compiled;
    if (compiled.introspective || incremental) {
      // Rendered again with the database (run_query and the like get real answers now), or with
      // is_incremental() true (whose branch may query the database too).
      try {
        node = await renderLive(db, ctx.compiler, compiled, incremental);
      } catch (e) {
        if (e instanceof LiveRenderError) throw new NodeError(e.message);
        throw e;
      }
      if (node.introspective) ctx.recordCompiled?.(node);
    }
    const quick = quickViewSql(node, ctx, db.dialect);
    if (quick !== undefined) {
      await db.execute(quick);
      return { stats: {}, ...(node.logs ? { logs: node.logs } : {}) };
    }
    const outcomes: HookOutcome[] = [];
    const pre = splitHooks(node.config.pre_hook);
    const post = splitHooks(node.config.post_hook);
    // dbt's before_begin() pre-hooks, before the transaction (autocommit).
    const before = await runHooks(db, ctx, node, pre.outside, incremental, 'pre_hook (outside the transaction)');
    try {
      const outcome = await db.transaction(async (tx) => {
        // Log lines of the pre-hooks, the model's render and the post-hooks, in that order.
        const logs: string[] = [...before];
        logs.push(...await runHooks(tx, ctx, node, pre.inside, incremental, 'pre_hook'));
        logs.push(...node.logs ?? []);
        let sql = node.sql;
        for (const hook of ctx.hooks) {
          const o = await hook.prepare({ tx, node, incremental, fullRefresh: ctx.fullRefresh, runId: ctx.runId, batchId: ctx.batchId, existing, projectRoot: ctx.projectRoot, empty: ctx.empty }, sql);
          if (!o) continue;
          outcomes.push(o);
          if (o.sql) sql = o.sql;
        }
        // Views store no rows: their incoming columns are neither compared nor stamped.
        let incoming: readonly Column[] = [];
        if (mat !== 'view') ({ sql, incoming } = stampBatch(sql, await tx.describeQuery(sql), ctx.batchId));
        const config = outcomes.reduce((c, o) => (o.config ? { ...c, ...o.config } : c), node.config);
        // dbt's enforced contract: checked against the SELECT's columns (a view's too), then the table is made from it.
        const contract = (mat === 'table' || mat === 'incremental' || mat === 'view') && contractEnforced(node)
          ? await checkContract(tx, node, mat === 'view' ? await tx.describeQuery(sql) : incoming) : undefined;
        // The project's own SQL for an incremental strategy (dbt's strategy macros), rendered over the staged new rows.
        const strategySql = mat === 'incremental' && incremental && existing ? await renderStrategyMacro(tx, ctx, { ...node, sql, config }, existing, incoming) : undefined;
        const statements = planModel(tx.dialect, mat, { ...node, sql, config }, existing, incoming, ctx, mat === 'view' ? undefined : contract, strategySql, outcomes.some((o) => o.arrivalOrder));
        const partitioned = mat === 'external' && !!node.config.location && !!node.config.partition_by?.length;
        const externalDir = partitioned ? path.resolve(ctx.projectRoot, String(node.config.location)) : undefined;
        if (mat === 'external' && node.config.location) {
          // COPY does not create the parent folder of a single-file location.
          const loc = path.resolve(ctx.projectRoot, String(node.config.location));
          if (externalDir) claimExternalFolder(externalDir, node.id);
          fs.mkdirSync(partitioned ? loc : path.dirname(loc), { recursive: true });
        }
        let rows: number | undefined;
        try {
          rows = await runStatements(tx, statements);
        } catch (e) {
          // New rows that do not fit a column whose type the model changed, kept by on_schema_change.
          if (e instanceof EngineError && incremental && existing && /Conversion Error|Could not convert/i.test(e.message) && (config.on_schema_change === 'ignore' || config.on_schema_change === 'append_new_columns')) {
            const changed = retypedColumns(existing.columns, incoming);
            if (changed.length) {
              e.hint = `${changed.map((c) => `column ${c.name} is ${c.from} in the table but ${c.to} in the model's SQL`).join('; ')}, and on_schema_change '${config.on_schema_change}' keeps the table's types: rebuild it with --full-refresh, or set on_schema_change: sync_all_columns${node.landingReads.length ? ' (a landing source\'s column types are in its YAML declaration)' : ''}`;
            }
          }
          throw e;
        }
        // The folder is this model's now (COPY ... overwrite emptied it): say so for the next build.
        if (externalDir) fs.writeFileSync(path.join(externalDir, EXTERNAL_MARK), `${JSON.stringify({ model: node.id })}\n`);
        for (const o of outcomes) if (o.finalize) await o.finalize(tx, rows ?? 0);
        logs.push(...await runHooks(tx, ctx, node, post.inside, incremental, 'post_hook'));
        const stats: Record<string, unknown> = {};
        for (const o of outcomes) Object.assign(stats, o.stats ?? {});
        return { rows: mat === 'view' ? undefined : rows, stats, logs };
      });
      // dbt's after_commit() post-hooks, once the model's rows are committed.
      const logs = [...outcome.logs, ...await runHooks(db, ctx, node, post.outside, incremental, 'post_hook (outside the transaction)')];
      return { rows: outcome.rows, stats: outcome.stats, ...(logs.length ? { logs } : {}) };
    } finally {
      // After commit or rollback: hooks release what they held for the build (ingest's scratch tables).
      for (const o of outcomes) if (o.cleanup) await o.cleanup().catch(() => undefined);
    }
  } catch (e) {
    if (e instanceof EngineError) throw new NodeError(engineErrorMessage(e, compiled, ctx.compiledPath(compiled.id)));
    if (e instanceof PlanError) throw new NodeError(formatDiagnostic(e.diagnostic));
    if (e instanceof LakeError) throw new NodeError(e.message);
    throw e;
  }
}

/**
 * A model's engine error for a person: DuckDB's message, the line of the model file it points at
 * (when the engine gave a position inside the model's own SQL and that line is found again in the
 * template), and the compiled file with its line.
 */
export function engineErrorMessage(e: EngineError, compiled: CompiledNode, compiledPath: string): string {
  if (e.step) {
    const hint = e.step.startsWith('its ') ? `the hook is in the config of ${compiled.node.path}` : 'the existing rows do not fit the new type: --full-refresh rebuilds the table from the model';
    return `${compiled.id}: ${e.message.split('\n')[0]}\n  while running ${e.step}\n  hint: ${hint}`;
  }
  const pos = compiledPosition(e, compiled.sql);
  const at = pos ? locateInRaw(compiled, e.message, pos) : undefined;
  return `${compiled.id}: ${e.message.split('\n')[0]}${at ? `\n  at ${compiled.node.path}:${at.line}:${at.col}` : ''}\n  compiled SQL: ${compiledPath}${pos ? `:${pos.line}` : ''}${e.hint ? `\n  hint: ${e.hint}` : ''}`;
}

/**
 * Where in the compiled SQL an engine error points. DuckDB's `LINE n` counts lines of the
 * statement it ran, which holds the compiled SQL after a prefix (`create table ... as`); undefined
 * when the position is outside the compiled SQL (a statement lake wrote around it) or not given.
 */
function compiledPosition(e: EngineError, compiledSql: string): EnginePosition | undefined {
  const at = e.sql.indexOf(compiledSql);
  const pos = at >= 0 ? enginePosition(e.message, e.sql) : undefined;
  if (!pos) return undefined;
  const before = e.sql.slice(0, at);
  const offset = before.split('\n').length - 1;
  const line = pos.line - offset;
  if (line < 1 || line > compiledSql.split('\n').length) return undefined;
  // On the compiled SQL's first line, columns count from where it starts in the statement's line.
  const shift = line === 1 ? before.length - before.lastIndexOf('\n') - 1 : 0;
  const col = pos.col !== undefined && pos.col - shift >= 1 ? pos.col - shift : undefined;
  return col !== undefined ? { line, col } : { line };
}

/**
 * A model's SELECT and its columns, with `_lake_batch` (when it has one) set to this run's batch:
 * rows written now belong to it, and that is what stream() consumers read by.
 */
export function stampBatch(sql: string, incoming: readonly Column[], batchId: number): { sql: string; incoming: readonly Column[] } {
  if (!incoming.some((c) => c.name === '_lake_batch')) return { sql, incoming };
  return {
    sql: `select * replace (${batchId}::bigint as _lake_batch) from (\n${sql}\n) as __lake_batch_src`,
    incoming: incoming.map((c) => (c.name === '_lake_batch' ? { ...c, type: 'BIGINT' } : c)),
  };
}

/** Marks a partitioned external model's folder as written by lake for that model. */
const EXTERNAL_MARK = '.lake-external.json';

/**
 * A partitioned external model's COPY empties its folder first (DuckDB's `overwrite`): refuse a
 * folder that holds anything lake did not write there for this model — another model's output, a
 * README, a nested model's folder — instead of deleting it.
 */
function claimExternalFolder(dir: string, id: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return; // not there yet
  }
  if (entries.length === 0) return;
  let owner: string | undefined;
  try {
    owner = (JSON.parse(fs.readFileSync(path.join(dir, EXTERNAL_MARK), 'utf8')) as { model?: string }).model;
  } catch { /* no mark: not written by lake */ }
  const nested = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f !== EXTERNAL_MARK && path.basename(f) === EXTERNAL_MARK);
  if (owner !== id || nested.length) {
    const what = owner && owner !== id ? `the output of ${owner}` : nested.length ? `another model's output (${nested[0]})` : `files lake did not write (${entries.filter((e) => e !== EXTERNAL_MARK).slice(0, 3).join(', ')})`;
    throw new NodeError(`${id}: its location ${dir} holds ${what}, and writing partitions there would delete them\n  hint: point location at a folder of its own (new or empty)`);
  }
}

/** dbt's macros behind its built-in strategies, which a project may override (same arguments as dbt passes). */
const STRATEGY_SQL_MACROS: Readonly<Record<string, string>> = { merge: 'get_merge_sql', 'delete+insert': 'get_delete_insert_merge_sql', append: 'get_insert_into_sql' };

/**
 * dbt's incremental strategy macros, where the project has them: a strategy of its own
 * (`get_incremental_<name>_sql(arg_dict)`, also overriding a built-in one), or its override of the
 * SQL behind a built-in strategy (`get_merge_sql`, `get_delete_insert_merge_sql`,
 * `get_insert_into_sql`). The new rows are staged in a temp table `<name>__dbt_tmp` (as dbt's
 * temp_relation) and the macro is rendered with the database, with dbt's arguments: the target
 * (`this`), the temp relation, unique_key as configured, dest_columns (the target's columns once
 * on_schema_change has applied) and incremental_predicates. Undefined: lake plans the strategy.
 */
async function renderStrategyMacro(tx: Adapter, ctx: NodeRunContext, node: CompiledNode, existing: ExistingRelation, incoming: readonly Column[]): Promise<PlanContext['strategySql']> {
  const s = strategyOf(node.config);
  if (s === 'cdc' || s === 'insert_new' || s === 'microbatch') return undefined;
  const engine = ctx.compiler.engine;
  const own = strategyMacroName(s);
  const inner = STRATEGY_SQL_MACROS[s];
  const callable = (m: string) => (engine.hasMacro(m) ? m : engine.packageMacro(m));
  const ownName = callable(own);
  const innerName = ownName || !inner ? undefined : callable(inner);
  if (!ownName && !innerName) return undefined;
  const temp = `${node.relation.name}__dbt_tmp`;
  await tx.execute(`create or replace temp table ${tx.dialect.quote(temp)} as\n${node.sql}`);
  const mode = node.config.on_schema_change;
  const has = (cs: readonly Column[], n: string) => cs.some((c) => c.name.toLowerCase() === n.toLowerCase());
  const dest = mode === 'sync_all_columns' ? incoming : mode === 'append_new_columns' ? [...existing.columns, ...incoming.filter((c) => !has(existing.columns, c.name))] : existing.columns;
  const keys = node.config.unique_key ?? [];
  const extra = {
    __lake_temp: relationValue(tx.dialect.quote(temp)),
    __lake_key: keys.length === 0 ? null : keys.length === 1 ? keys[0] : keys,
    __lake_columns: dest.map((c) => ({ name: c.name, column: c.name, quoted: tx.dialect.quote(c.name), data_type: c.type, dtype: c.type })),
    __lake_predicates: node.config.incremental_predicates?.length ? node.config.incremental_predicates : null,
  };
  const call = ownName
    ? `${ownName}({'target_relation': this, 'temp_relation': __lake_temp, 'unique_key': __lake_key, 'dest_columns': __lake_columns, 'incremental_predicates': __lake_predicates})`
    : s === 'append' ? `${innerName}(this, __lake_temp, __lake_columns)` : `${innerName}(this, __lake_temp, __lake_key, __lake_columns, __lake_predicates)`;
  let r: Awaited<ReturnType<typeof renderAdhocLive>>;
  try {
    r = await renderAdhocLive(tx, ctx.compiler, `{{ ${call} }}`, node.node.path, `${node.id} (incremental strategy)`, node, extra, true);
  } catch (e) {
    if (e instanceof LiveRenderError) throw new NodeError(e.message);
    throw e;
  }
  if (r.diagnostics.some((d) => d.severity === 'error')) throw new NodeError(r.diagnostics.map(formatDiagnostic).join('\n'));
  if (!r.sql.trim()) throw new NodeError(`${node.id}: the macro ${ownName ?? innerName} gave no SQL for incremental_strategy '${s}'\n  hint: it must return the statements that move the new rows (in ${temp}) into ${node.relation.schema}.${node.relation.name}`);
  return { sql: r.sql, temp };
}

/** Hooks of one kind in order, each labelled (`pre_hook #2`) for its errors; their log lines. */
export async function runHooks(conn: Adapter, ctx: NodeRunContext, node: CompiledNode, hooks: readonly string[], incremental: boolean, step: string): Promise<string[]> {
  const logs: string[] = [];
  for (const [i, hook] of hooks.entries()) logs.push(...await runHookSql(conn, ctx, node, hook, incremental, `${step}${hooks.length > 1 ? ` #${i + 1}` : ''}`));
  return logs;
}

/** Runs one of a model's hooks; gives its log(..., info=True) and print() lines. */
export function runHookSql(tx: Adapter, ctx: NodeRunContext, node: CompiledNode, text: string, incremental: boolean, step: string): Promise<readonly string[]> {
  return runHookText(tx, ctx.compiler, text, { file: node.node.path, label: node.id, self: node, incremental, step });
}

/**
 * One hook's text rendered with the database (a hook may run_query, as in dbt) — in its node's
 * context (`self`), or with `extra` (a seed's `this`) — and run on `conn`; its log lines.
 */
async function runHookText(conn: Adapter, compiler: Compiler, text: string, at: { file: string; label: string; step: string; self?: CompiledNode; extra?: Record<string, unknown>; incremental?: boolean }): Promise<readonly string[]> {
  let r: Awaited<ReturnType<typeof renderAdhocLive>>;
  try {
    r = await renderAdhocLive(conn, compiler, text, at.file, `${at.label} (${at.step})`, at.self, at.extra, at.incremental ?? false);
  } catch (e) {
    if (e instanceof LiveRenderError) throw new NodeError(e.message);
    throw e;
  }
  if (r.diagnostics.some((d) => d.severity === 'error')) throw new NodeError(r.diagnostics.map(formatDiagnostic).join('\n'));
  if (r.sql.trim()) {
    try {
      await conn.execute(r.sql);
    } catch (e) {
      if (e instanceof EngineError) e.step = `its ${at.step}: ${r.sql.trim().split('\n')[0]!.slice(0, 120)}`;
      throw e;
    }
  }
  return r.logs ?? [];
}
