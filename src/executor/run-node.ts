/**
 * Builds one model (or seed) on one connection: decides is_incremental(), runs hooks, plans with
 * the model's materialization and runs the plan — all in one transaction, so a failure or a kill
 * leaves the previous table as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Adapter } from '../adapter/types.js';
import { EngineError } from '../adapter/types.js';
import type { CompiledNode, Relation, SeedNode, Column } from '../core/types.js';
import { LakeError, formatDiagnostic } from '../errors/index.js';
import { materializationFor, planSeed, PlanError, type Statement } from '../materialize/index.js';
import type { Compiler } from '../compiler/compile.js';
import { renderAdhoc } from '../compiler/compile.js';
import type { NodeHook, HookOutcome } from './hooks.js';

export interface NodeRunContext {
  readonly compiler: Compiler;
  readonly hooks: readonly NodeHook[];
  readonly fullRefresh: boolean;
  readonly runId: string;
  readonly batchId: number;
  readonly projectRoot: string;
  readonly compiledPath: (id: string) => string;
}

export interface NodeOutcome {
  readonly rows?: number;
  readonly stats?: Record<string, unknown>;
}

/** A node failure with a message for a person. */
export class NodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeError';
  }
}

export async function existingRelation(db: Adapter, rel: Relation): Promise<{ kind: 'table' | 'view'; columns: Column[] } | undefined> {
  const rows = await db.query<{ t: string }>(`select table_type as t from information_schema.tables where table_schema = $1 and table_name = $2`, [rel.schema, rel.name]);
  if (rows.length === 0) return undefined;
  const columns = (await db.describe(rel)) ?? [];
  return { kind: rows[0]!.t === 'VIEW' ? 'view' : 'table', columns };
}

async function runStatements(tx: Adapter, statements: readonly Statement[]): Promise<number | undefined> {
  let rows: number | undefined;
  for (const st of statements) {
    if (st.kind === 'exec') {
      const n = await tx.execute(st.sql);
      if (st.countRows) rows = (rows ?? 0) + n;
    } else if (st.kind === 'count') {
      const [r] = await tx.query<{ n: number }>(st.sql);
      rows = Number(r?.n ?? 0);
    } else {
      const found = await tx.query(st.sql);
      if (found.length > 0) {
        const sample = Object.entries(found[0]!).map(([k, v]) => `${k}=${String(v)}`).join(', ');
        throw new NodeError(`${st.message ?? 'check failed'} (e.g. ${sample}); nothing was changed`);
      }
    }
  }
  return rows;
}

export async function runSeed(db: Adapter, seed: SeedNode): Promise<NodeOutcome> {
  try {
    const existing = await existingRelation(db, { schema: seed.schema, name: seed.name });
    return await db.transaction(async (tx) => ({ rows: await runStatements(tx, planSeed(seed, tx.dialect, existing ? { kind: existing.kind, columns: [] } : undefined)) }));
  } catch (e) {
    if (e instanceof EngineError) throw new NodeError(`seed ${seed.path}: ${e.message}`);
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

async function runModelOnce(db: Adapter, compiled: CompiledNode, ctx: NodeRunContext): Promise<NodeOutcome> {
  const mat = compiled.config.materialized;
  if (mat === 'ephemeral') return {};
  try {
    const existing = await existingRelation(db, compiled.relation);
    const incremental = mat === 'incremental' && !!existing && existing.kind === 'table' && !ctx.fullRefresh;
    let node = compiled;
    if (incremental) {
      const re = ctx.compiler.compileOne(compiled.id, true);
      if (!re.node || re.diagnostics.some((d) => d.severity === 'error')) throw new NodeError(re.diagnostics.map(formatDiagnostic).join('\n'));
      node = re.node;
    }
    const outcomes: HookOutcome[] = [];
    try {
      return await db.transaction(async (tx) => {
        for (const hook of node.config.pre_hook) await runHookSql(tx, ctx, node, hook);
        let sql = node.sql;
        for (const hook of ctx.hooks) {
          const o = await hook.prepare({ tx, node, incremental, fullRefresh: ctx.fullRefresh, runId: ctx.runId, batchId: ctx.batchId, existing, projectRoot: ctx.projectRoot }, sql);
          if (!o) continue;
          outcomes.push(o);
          if (o.sql) sql = o.sql;
        }
        let incoming = await tx.describeQuery(sql);
        if (incoming.some((c) => c.name === '_lake_batch')) {
          // Rows written now belong to this run's batch: that is what stream() consumers read by.
          sql = `select * replace (${ctx.batchId}::bigint as _lake_batch) from (\n${sql}\n) as __lake_batch_src`;
          incoming = incoming.map((c) => (c.name === '_lake_batch' ? { ...c, type: 'BIGINT' } : c));
        }
        const config = outcomes.reduce((c, o) => (o.config ? { ...c, ...o.config } : c), node.config);
        const statements = materializationFor(mat).plan({ ...node, sql, config }, {
          dialect: tx.dialect, relation: node.relation, existing, incoming, fullRefresh: ctx.fullRefresh, projectRoot: ctx.projectRoot,
        });
        if (mat === 'external' && node.config.location) {
          // COPY does not create the parent folder of a single-file location.
          const loc = path.resolve(ctx.projectRoot, String(node.config.location));
          fs.mkdirSync(node.config.partition_by?.length ? loc : path.dirname(loc), { recursive: true });
        }
        const rows = await runStatements(tx, statements);
        for (const o of outcomes) if (o.finalize) await o.finalize(tx, rows ?? 0);
        for (const hook of node.config.post_hook) await runHookSql(tx, ctx, node, hook);
        const stats: Record<string, unknown> = {};
        for (const o of outcomes) Object.assign(stats, o.stats ?? {});
        return { rows: mat === 'view' ? undefined : rows, stats };
      });
    } finally {
      // After commit or rollback: hooks release what they held for the build (ingest's scratch tables).
      for (const o of outcomes) if (o.cleanup) await o.cleanup().catch(() => undefined);
    }
  } catch (e) {
    if (e instanceof EngineError) throw new NodeError(`${compiled.id}: ${e.message.split('\n')[0]}\n  compiled SQL: ${ctx.compiledPath(compiled.id)}`);
    if (e instanceof PlanError) throw new NodeError(formatDiagnostic(e.diagnostic));
    if (e instanceof LakeError) throw new NodeError(e.message);
    throw e;
  }
}

async function runHookSql(tx: Adapter, ctx: NodeRunContext, node: CompiledNode, text: string): Promise<void> {
  const r = renderAdhoc(ctx.compiler, text, node.node.path, node);
  if (r.diagnostics.some((d) => d.severity === 'error')) throw new NodeError(r.diagnostics.map(formatDiagnostic).join('\n'));
  if (r.sql.trim()) await tx.execute(r.sql);
}
