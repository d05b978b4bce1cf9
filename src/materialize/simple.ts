/** The non-incremental strategies: view, table, ephemeral, external. */
import * as path from 'node:path';
import type { CompiledNode } from '../core/types.js';
import type { Materialization, PlanContext, Statement } from './types.js';
import { buildAndSwap, createSchema, exec } from './common.js';

export const viewStrategy: Materialization = {
  name: 'view',
  validate: () => [],
  plan(node: CompiledNode, ctx: PlanContext): Statement[] {
    const d = ctx.dialect;
    const out: Statement[] = [createSchema(d, ctx.relation)];
    if (ctx.existing?.kind === 'table') out.push(exec(`drop table ${d.relation(ctx.relation)}`, 'drop old table'));
    out.push(exec(`create or replace view ${d.relation(ctx.relation)} as\n${node.sql}`, 'create view'));
    return out;
  },
};

export const tableStrategy: Materialization = {
  name: 'table',
  validate: () => [],
  plan: (node, ctx) => buildAndSwap(ctx, node.sql),
};

/** Ephemeral models are inlined as CTEs by the compiler; nothing is built. */
export const ephemeralStrategy: Materialization = {
  name: 'ephemeral',
  validate: () => [],
  plan: () => [],
};

/** COPY the result to parquet/csv files at `location`, and a view over them for downstream refs. */
export const externalStrategy: Materialization = {
  name: 'external',
  validate: () => [],
  plan(node, ctx) {
    const d = ctx.dialect;
    const c = node.config;
    const format = c.format ?? (String(c.location).endsWith('.csv') ? 'csv' : 'parquet');
    const location = path.resolve(ctx.projectRoot, String(c.location));
    const opts = [`format ${format}`];
    // `overwrite` empties the folder first: with overwrite_or_ignore, partitions the new result no
    // longer has would keep their old files and still show through the view.
    if (c.partition_by?.length) opts.push(`partition_by (${c.partition_by.map((p) => d.quote(p)).join(', ')})`, 'overwrite');
    if (format === 'csv') opts.push('header');
    const reader = format === 'csv' ? 'read_csv_auto' : 'read_parquet';
    const glob = c.partition_by?.length ? `${location}/**/*.${format}` : location;
    // Partition columns read back with the model's own types (DuckDB would guess from the folder
    // names: zip codes '12345' came back as BIGINT).
    const partTypes = (c.partition_by ?? []).map((p) => [p, ctx.incoming.find((col) => col.name.toLowerCase() === p.toLowerCase())?.type] as const).filter(([, t]) => t);
    const hive = c.partition_by?.length ? `, hive_partitioning = true${partTypes.length ? `, hive_types = {${partTypes.map(([p, t]) => `${d.literal(p)}: ${t}`).join(', ')}}` : ''}` : '';
    const out: Statement[] = [createSchema(d, ctx.relation)];
    if (ctx.existing?.kind === 'table') out.push(exec(`drop table ${d.relation(ctx.relation)}`, 'drop old table'));
    out.push(
      exec(`copy (\n${node.sql}\n) to ${d.literal(location)} (${opts.join(', ')})`, 'copy', true),
      exec(`create or replace view ${d.relation(ctx.relation)} as select * from ${reader}(${d.literal(glob)}${hive})`, 'view over files'),
    );
    return out;
  },
};
