/**
 * dbt's microbatch incremental strategy: the model's SQL is written for one batch (a time range
 * of `batch_size`, core/event-time.ts), and a build runs it once per batch, each batch replacing
 * the target's rows of its range (delete where `event_time` is in the range, then insert), as
 * dbt-duckdb does. Its refs (and sources) that configure `event_time` are read filtered to the
 * batch's range. Planning only; the executor renders and runs the batches (executor/run-microbatch.ts).
 */
import type { CompiledNode } from '../core/types.js';
import type { BatchSize, MicrobatchWindow } from '../core/event-time.js';
import { parseEventTime, windowCondition } from '../core/event-time.js';
import { buildAndSwap, createSchema, cols, exec, schemaChange, stageName } from './common.js';
import type { PlanContext, Statement } from './types.js';

/** The microbatch config of a model, read (configProblems has checked it). */
export function microbatchConfig(node: CompiledNode): { eventTime: string; batchSize: BatchSize; begin: Date; lookback: number } {
  const c = node.config;
  return {
    eventTime: String(c.event_time),
    batchSize: String(c.batch_size) as BatchSize,
    begin: parseEventTime(c.begin)!,
    lookback: c.lookback === undefined ? 1 : Number(c.lookback),
  };
}

/** The statements that change the target's columns before a batch (on_schema_change), if any. */
export function batchSchemaChange(node: CompiledNode, ctx: PlanContext): Statement[] {
  return ctx.existing ? schemaChange(node, ctx, ctx.existing.columns, ctx.incoming).statements : [];
}

/**
 * The statements of one batch. Only the rows of the batch's range are kept (by the model's
 * event_time, as dbt-duckdb inserts them), so an input that is not filtered (one without
 * event_time, a `.render()`) is never written twice. The first batch of a first build (or a full
 * refresh) builds the table from them; every other batch stages them first — its SELECT reads
 * `{{ this }}` as it was before the batch — then deletes the target's rows of its range (and those
 * the model's incremental_predicates name) and inserts the staged ones, after on_schema_change.
 */
export function planBatch(node: CompiledNode, ctx: PlanContext, w: MicrobatchWindow, rebuild: boolean): Statement[] {
  const d = ctx.dialect;
  const { eventTime } = microbatchConfig(node);
  const rows = `select * from (\n${node.sql}\n) as __lake_batch_rows where ${windowCondition(eventTime, w)}`;
  if (rebuild) return buildAndSwap(ctx, rows);
  const rel = d.relation(ctx.relation);
  const change = schemaChange(node, ctx, ctx.existing!.columns, ctx.incoming);
  const list = cols(d, change.columns);
  const preds = (node.config.incremental_predicates ?? []).map((p) => ` and (${p})`).join('');
  const staged = d.quote(stageName(ctx.relation));
  return [
    createSchema(d, ctx.relation), ...change.statements,
    exec(`create or replace temp table ${staged} as\n${rows}`, `stage batch ${w.id}`),
    exec(`delete from ${rel} as DBT_INTERNAL_DEST where ${windowCondition(eventTime, w)}${preds}`, `delete batch ${w.id}`),
    exec(`insert into ${rel} (${list})\nselect ${list} from ${staged}`, `insert batch ${w.id}`, true),
    exec(`drop table if exists ${staged}`, 'drop stage'),
  ];
}
