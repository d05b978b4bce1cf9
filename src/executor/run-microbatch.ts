/**
 * Builds a microbatch model (dbt's `incremental_strategy: microbatch`): its SQL is rendered once
 * per batch (core/event-time.ts says which), with `model.batch` set and the refs and sources that
 * configure event_time filtered to the batch, and each batch replaces the target's rows of its time
 * range (materialize/microbatch.ts). Unlike dbt, whose batches commit one by one, every batch of a
 * build runs in the model's one transaction: a failed batch or a kill leaves the table as it was,
 * as for every other model lake builds. Pre-hooks run before the first batch and post-hooks after
 * the last, as in dbt.
 */
import type { Adapter } from '../adapter/types.js';
import { EngineError } from '../adapter/types.js';
import type { CompiledNode } from '../core/types.js';
import type { Column } from '../core/types.js';
import { batchesOf, boundText, type MicrobatchWindow } from '../core/event-time.js';
import { batchSchemaChange, microbatchConfig, planBatch } from '../materialize/microbatch.js';
import { SCHEMA_CHANGE_LABEL } from '../materialize/common.js';
import type { HookOutcome } from './hooks.js';
import { renderLive, LiveRenderError } from './live-render.js';
import { checkContract } from './contract.js';
import { contractEnforced } from '../materialize/contract.js';
import { engineErrorMessage, existingRelation, NodeError, runHooks, runStatements, stampBatch, type ExistingRelation, type NodeOutcome, type NodeRunContext } from './run-node.js';
import { splitHooks } from '../project/config.js';

/** The batches this build of `compiled` runs. */
export function plannedBatches(compiled: CompiledNode, ctx: NodeRunContext, incremental: boolean): MicrobatchWindow[] {
  const mb = microbatchConfig(compiled);
  return batchesOf({
    batchSize: mb.batchSize, begin: mb.begin, lookback: mb.lookback, incremental,
    eventTimeStart: ctx.eventTime?.start, eventTimeEnd: ctx.eventTime?.end, now: ctx.startedAt ?? new Date(),
  });
}

/**
 * A batch after the first of an incremental build changes the table's columns (on_schema_change):
 * DuckDB cannot commit an ALTER of a table that this transaction already wrote to, so the build
 * starts again with that change made first.
 */
class LaterSchemaChange extends Error {
  constructor(readonly incoming: readonly Column[]) {
    super('a later batch changes the columns');
  }
}

export async function runMicrobatch(db: Adapter, compiled: CompiledNode, ctx: NodeRunContext, existing: ExistingRelation | undefined): Promise<NodeOutcome> {
  let first: readonly Column[] | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return await buildBatches(db, compiled, ctx, existing, first);
    } catch (e) {
      if (!(e instanceof LaterSchemaChange) || attempt >= 20) throw e;
      first = e.incoming;
    }
  }
}

/** One build of the batches; `first`: columns to change the table to before anything is written. */
async function buildBatches(db: Adapter, compiled: CompiledNode, ctx: NodeRunContext, existing: ExistingRelation | undefined, first: readonly Column[] | undefined): Promise<NodeOutcome> {
  if (compiled.landingReads.length || compiled.streamReads.length) {
    const what = compiled.landingReads.length ? `the landing source ${compiled.landingReads[0]!.replace(/^source:/, '')}` : `stream(ref('${compiled.streamReads[0]!.split('.').pop()}'))`;
    throw new NodeError(`${compiled.id}: a microbatch model cannot read ${what}: that read already gives only what is new since the model's last run, which time ranges cannot replay\n  hint: use incremental_strategy 'append' or 'merge' for it, or read the model's parent with ref() (filtered to each batch by its event_time)`);
  }
  const incremental = !!existing && existing.kind === 'table' && !ctx.fullRefresh;
  // --empty: each batch would replace its range with no rows. A table that exists is left alone.
  if (ctx.empty && incremental) return { rows: 0, stats: { batches: 0 } };
  // (--empty building the table: its first batch makes it, the others would add nothing.)
  const planned = plannedBatches(compiled, ctx, incremental);
  const batches = ctx.empty ? planned.slice(0, 1) : planned;
  const outcomes: HookOutcome[] = [];
  try {
    const pre = splitHooks(compiled.config.pre_hook);
    const post = splitHooks(compiled.config.post_hook);
    const before = await runHooks(db, ctx, compiled, pre.outside, incremental, 'pre_hook (outside the transaction)');
    const outcome = await db.transaction(async (tx) => {
      const logs: string[] = [...before];
      if (first && incremental && existing) {
        // The column change a later batch asked for, made before anything else writes to the table.
        const change = batchSchemaChange(compiled, { dialect: tx.dialect, relation: compiled.relation, existing, incoming: first, fullRefresh: false, projectRoot: ctx.projectRoot });
        await runStatements(tx, change);
        existing = await existingRelation(tx, compiled.relation);
      }
      logs.push(...await runHooks(tx, ctx, compiled, pre.inside, incremental, 'pre_hook'));
      let current: ExistingRelation | undefined = incremental ? existing : undefined;
      let rows = 0;
      const stats: Record<string, unknown> = {};
      const contractTypes: { types?: string[] } = {};
      for (const [i, w] of batches.entries()) {
        // The first batch of a first build (or a full refresh) creates the table; the others replace their range in it.
        const rebuild = current === undefined;
        // is_incremental(): the table exists — but never in a full refresh (dbt's, since its fix of that case).
        const isIncremental = !ctx.fullRefresh && !rebuild;
        let node: CompiledNode;
        try {
          node = await renderLive(tx, ctx.compiler, compiled, isIncremental, w);
        } catch (e) {
          if (e instanceof LiveRenderError) throw new NodeError(`${e.message}\n  in batch ${w.id}`);
          throw e;
        }
        logs.push(...node.logs ?? []);
        try {
          let sql = node.sql;
          const mine: HookOutcome[] = [];
          for (const hook of ctx.hooks) {
            const o = await hook.prepare({ tx, node, incremental: isIncremental, fullRefresh: ctx.fullRefresh, runId: ctx.runId, batchId: ctx.batchId, existing: current, projectRoot: ctx.projectRoot, empty: ctx.empty }, sql);
            if (!o) continue;
            mine.push(o);
            outcomes.push(o);
            if (o.sql) sql = o.sql;
          }
          const stamped = stampBatch(sql, await tx.describeQuery(sql), ctx.batchId);
          const config = mine.reduce((c, o) => (o.config ? { ...c, ...o.config } : c), node.config);
          const contract = contractEnforced(node) ? await checkContract(tx, node, stamped.incoming, contractTypes) : undefined;
          const planCtx = {
            dialect: tx.dialect, relation: node.relation, existing: rebuild ? existing : current, incoming: stamped.incoming, fullRefresh: ctx.fullRefresh, projectRoot: ctx.projectRoot,
            ...(contract ? { contract } : {}),
          };
          const statements = planBatch({ ...node, sql: stamped.sql, config }, planCtx, w, rebuild).filter((st) => !(ctx.schemasReady?.has(node.relation.schema) && st.label === 'schema'));
          // A table this build did not create, already written to by an earlier batch: its columns change first, in a new attempt.
          if (!rebuild && incremental && i > 0 && statements.some((st) => SCHEMA_CHANGE_LABEL.test(st.label))) throw new LaterSchemaChange(stamped.incoming);
          const n = (await runStatements(tx, statements)) ?? 0;
          rows += n;
          for (const o of mine) if (o.finalize) await o.finalize(tx, n);
          // Figures of the hooks (expectations' dropped rows...) add up over the batches.
          for (const o of mine) for (const [k, v] of Object.entries(o.stats ?? {})) stats[k] = typeof v === 'number' && typeof stats[k] === 'number' ? (stats[k] as number) + v : v;
        } catch (e) {
          if (e instanceof LaterSchemaChange) throw e;
          if (e instanceof EngineError) throw new NodeError(`${engineErrorMessage(e, node, ctx.compiledPath(compiled.id))}\n  in batch ${w.id} (${boundText(w.start)} to ${boundText(w.end)}); no batch was kept`);
          if (e instanceof NodeError) throw new NodeError(`${e.message}\n  in batch ${w.id}`);
          throw e;
        }
        // The table as this batch left it (created, or with columns on_schema_change changed).
        if (rebuild || compiled.config.on_schema_change !== 'ignore') current = await existingRelation(tx, compiled.relation);
      }
      logs.push(...await runHooks(tx, ctx, compiled, post.inside, incremental, 'post_hook'));
      Object.assign(stats, { batches: batches.length, first_batch: batches[0]!.id, last_batch: batches[batches.length - 1]!.id });
      return { rows, stats, logs };
    });
    const logs = [...outcome.logs, ...await runHooks(db, ctx, compiled, post.outside, incremental, 'post_hook (outside the transaction)')];
    return { rows: outcome.rows, stats: outcome.stats, ...(logs.length ? { logs } : {}) };
  } finally {
    for (const o of outcomes) if (o.cleanup) await o.cleanup().catch(() => undefined);
  }
}
