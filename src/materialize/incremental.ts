/**
 * Incremental models: the first build (and --full-refresh) is a table build; afterwards new rows
 * are applied with the configured strategy. Schema changes are handled per on_schema_change before
 * the rows are applied. The `cdc` strategy lives in incremental-cdc.ts.
 */
import type { Column, CompiledNode } from '../core/types.js';
import type { Dialect } from '../adapter/types.js';
import { strategyMacroName, strategyOf } from '../project/config.js';

/** The strategies lake plans itself; any other is the project's own macro (ctx.strategySql). */
const STRATEGY_NAMES = new Set(['append', 'merge', 'delete+insert', 'insert_new', 'cdc', 'microbatch']);
import type { Materialization, PlanContext, Statement } from './types.js';
import { PlanError } from './types.js';
import { ARRIVAL, buildAndSwap, byArrival, cols, createSchema, exec, hasColumn, keyColumn, keyMatch, LANDING_ORDER, numbered, schemaChange, stageName, tempRelation } from './common.js';
import { planCdc } from './incremental-cdc.js';

/** Stage the new rows in a temp table (strategies that read them more than once). */
export function stage(d: Dialect, node: CompiledNode, ctx: PlanContext): { name: string; statements: Statement[] } {
  const name = d.quote(stageName(ctx.relation));
  return {
    name,
    statements: [exec(`create or replace temp table ${name} as\n${node.sql}`, 'stage new rows')],
  };
}

export function dropStage(name: string): Statement {
  return exec(`drop table if exists ${name}`, 'drop stage');
}

/** Fails the node when the new rows carry a key twice (MERGE would apply both silently). */
export function duplicateKeyCheck(d: Dialect, node: CompiledNode, staged: string, keys: readonly string[]): Statement {
  const k = cols(d, keys);
  return {
    kind: 'assert-empty',
    sql: `select ${k}, count(*) as copies from ${staged} group by ${k} having count(*) > 1 limit 1`,
    label: 'check duplicate keys',
    message: `${node.id}: the new rows carry the same unique_key (${keys.join(', ')}) more than once`,
    hint: `keep one row per key in ${node.node.path}, e.g. qualify row_number() over (partition by ${keys.join(', ')} order by <newest first>) = 1`,
  };
}

/**
 * Row-order for keeping one row per key deterministically: landing order when the rows carry it —
 * batch, then the file's mtime and name (the order lake discovers files in: a file's place among
 * the files of one batch), then line —, else the SELECT's own row order when the PlanContext says
 * it is arrival order (`arrivalOrder`: a model that reads a landing source and drops `_lake_*`),
 * else the values.
 */
export function keepOrder(d: Dialect, incoming: readonly Column[], keys: readonly string[], arrival = false): string {
  if (byArrival(incoming, arrival)) return d.quote(ARRIVAL);
  const meta = ['_lake_batch', ...LANDING_ORDER].filter((m) => hasColumn(incoming, m));
  const rest = incoming.map((c) => c.name).filter((n) => !keys.includes(n) && !meta.includes(n));
  return [...meta, ...rest].map((c) => d.quote(c)).join(', ') || '1';
}

/**
 * A SELECT's rows with one row per key (keys match NULL-safely): of the rows sharing a key, the
 * first by `order`. For a SELECT that gives the same rows each time it runs in a transaction
 * (`repeatable`), the rows whose key is not repeated are kept as they come, in the SELECT's own
 * order, and only the few with a repeated key go through the window that picks one; those come
 * last. A window over every row (the fallback) hashes them into partitions and writes them in that
 * order, which scatters a table appended in time order: each row group of silver.heart_rate
 * spanned the whole 84 days of the reference zone, so a later insert_new (or any filter on time)
 * could skip none of them by their min/max. Kept in order, a row group spans ~4 days; an
 * incremental run of the reference project went from 2.48 to 2.00 s on tables in order. The
 * SELECT runs three or four times (`repeatedKeys`, then the single rows and the repeated rows),
 * which measured no slower than the window: 10.3M readings 2.4-3.2 s either way, the 8.4M-row
 * workout join 3.1-3.6 -> 2.1-2.4 s (before the blocks of `repeatedKeys`).
 */
export function firstOfEachKey(d: Dialect, sql: string, keys: readonly string[], order: string, incoming: readonly Column[]): string {
  const window = `qualify row_number() over (partition by ${cols(d, keys)} order by ${order}) = 1`;
  if (!repeatable(sql)) return `select * from (\n${sql}\n) as __lake_src\n${window}`;
  const on = keys.map((c) => `s.${d.quote(c)} is not distinct from r.${d.quote(c)}`).join(' and ');
  return `with __lake_repeated as materialized (
${repeatedKeys(d, sql, keys, incoming)}
)
select s.* from (\n${sql}\n) as s anti join __lake_repeated as r on ${on}
union all
select * from (select s.* from (\n${sql}\n) as s semi join __lake_repeated as r on ${on}) as __lake_src
${window}`;
}

const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT']);

/**
 * The keys `sql` holds more than once (NULL-safe). Grouping every row by its key is most of the
 * cost when there are millions of keys; with an integer key (the last one: typically a time),
 * rows are first grouped by the other keys and a block of 64 consecutive values of it
 * (`>> 6`), with a count and the OR of one bit per value (`& 63`): a block holds a repeated key
 * exactly when its count exceeds the bits set (a NULL sets none, so a block with one is always
 * looked at). Only the rows of those blocks are then grouped by key. On the reference zone's
 * 8.4M-row workout join: 2.7-2.9 -> 2.1-2.3 s for the whole first build, the same rows.
 */
function repeatedKeys(d: Dialect, sql: string, keys: readonly string[], incoming: readonly Column[]): string {
  const k = cols(d, keys);
  const typeOf = (c: string) => incoming.find((x) => x.name === c)?.type.toUpperCase();
  const blockKey = [...keys].reverse().find((c) => INTEGER_TYPES.has(typeOf(c) ?? ''));
  if (!blockKey) return `  select ${k} from (\n${sql}\n) as __lake_src group by ${k} having count(*) > 1`;
  const b = d.quote(blockKey);
  const rest = keys.filter((c) => c !== blockKey);
  const on = [...rest.map((c) => `s.${d.quote(c)} is not distinct from b.${d.quote(c)}`), `(s.${b} >> 6) is not distinct from b.__lake_block`].join(' and ');
  return `  select ${keys.map((c) => `s.${d.quote(c)}`).join(', ')} from (\n${sql}\n) as s semi join (
    select ${[...rest.map((c) => d.quote(c)), `${b} >> 6 as __lake_block`].join(', ')} from (\n${sql}\n) as __lake_src group by all
    having count(*) <> coalesce(bit_count(bit_or(1::ubigint << (${b} & 63)::ubigint)), 0)
  ) as b on ${on}
  group by all having count(*) > 1`;
}

/**
 * Whether a SELECT gives the same rows each time it runs in one transaction, as far as its text
 * tells: no volatile function (random, uuid, nextval, ...) and no LIMIT or SAMPLE, whose rows
 * may differ between runs (ties, sampling). now() is the transaction's start and repeats.
 */
function repeatable(sql: string): boolean {
  return !/\b(random|uuid|uuidv4|uuidv7|gen_random_uuid|nextval|currval|setseed)\s*\(|\b(limit|sample|tablesample)\b/i.test(sql);
}

/**
 * The target's rows that can match a new row's key: those equal on every key (a semi join whose
 * build side is the new rows, so DuckDB pushes their keys' min/max into the target's scan and
 * skips its row groups by zone maps — an incremental batch of recent rows then reads a sliver of a
 * large target instead of hashing all of it: 10M-row target, 130k new rows, 100 ms -> 20 ms), plus
 * any row with a NULL key (keys match NULL-safely; row groups without NULLs are skipped by their
 * statistics). A superset of the rows `keyMatch` pairs, so `not exists` over it is unchanged.
 */
function targetRowsMatching(d: Dialect, rel: string, staged: string, keys: readonly string[]): string {
  const eq = keys.map((k) => `t.${d.quote(k)} = n.${d.quote(k)}`).join(' and ');
  const nulls = keys.map((k) => `t.${d.quote(k)} is null`).join(' or ');
  return `(select t.* from ${rel} as t semi join ${staged} as n on ${eq}\n  union all select t.* from ${rel} as t where ${nulls})`;
}

/**
 * The columns a merge's match updates: dbt's `merge_update_columns` (only these) or
 * `merge_exclude_columns` (all but these), else every non-key column; the columns
 * `merge_update_set_expressions` sets are left to it. Names compare case-insensitively (a quoted
 * `"Id"` is Id); a key column may be named (dbt-duckdb sets it to itself: no change); a name the
 * target does not have fails the plan.
 */
function updatedColumns(node: CompiledNode, columns: readonly Column[], keys: readonly string[]): Column[] {
  const bare = (n: string) => (keyColumn(n) ?? n).toLowerCase();
  const isKey = (c: Column) => keys.some((k) => k.toLowerCase() === c.name.toLowerCase());
  const nonKey = columns.filter((c) => !isKey(c));
  const only = node.config.merge_update_columns as string[] | undefined;
  const except = node.config.merge_exclude_columns as string[] | undefined;
  const named = only?.length ? only : except?.length ? except : undefined;
  const setByExpression = new Set(Object.keys(setExpressions(node)).map(bare));
  if (!named) return nonKey.filter((c) => !setByExpression.has(c.name.toLowerCase()));
  const key = only?.length ? 'merge_update_columns' : 'merge_exclude_columns';
  const lower = new Set(named.map(bare));
  const unknown = named.filter((n) => !columns.some((c) => c.name.toLowerCase() === bare(n)));
  if (unknown.length) throw new PlanError({ code: 'LAKE-X013', severity: 'error', node: node.id, file: node.node.path, message: `${node.id}: ${key} names ${unknown.map((u) => `'${u}'`).join(', ')}, which is not a column of the model`, hint: `use columns of the SELECT: ${columns.map((c) => c.name).join(', ')}` });
  return nonKey.filter((c) => lower.has(c.name.toLowerCase()) === (key === 'merge_update_columns') && !setByExpression.has(c.name.toLowerCase()));
}

/** dbt-duckdb's merge_update_set_expressions: column -> SQL expression its match sets it to. */
function setExpressions(node: CompiledNode): Record<string, string> {
  const v = node.config.merge_update_set_expressions;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, e]) => [k, String(e)]));
}

/** A merge's WHEN condition from the config (dbt-duckdb's merge_update_condition, merge_insert_condition), else `true`. */
function mergeCondition(node: CompiledNode, key: 'merge_update_condition' | 'merge_insert_condition'): string {
  const v = node.config[key];
  return typeof v === 'string' && v.trim() ? `(${v})` : 'true';
}

/**
 * delete+insert's DELETE of the target rows whose key the new rows hold. Key columns match
 * NULL-safely by name; a key that is an expression (dbt-duckdb's `where (expr) in (select (expr)
 * from <new rows>)`) is computed over the new rows, and over the target row inside the correlated
 * subquery, whose own columns are only the computed keys. The target's alias is dbt-duckdb's for
 * the predicates that name it: DBT_INCREMENTAL_TARGET (its list-key DELETE) when they do, else
 * DBT_INTERNAL_DEST (its MERGE's, which lake's predicates have always been written against).
 */
function deleteMatching(d: Dialect, node: CompiledNode, rel: string, staged: string, keys: readonly string[], incoming: readonly Column[]): string {
  const target = (node.config.incremental_predicates ?? []).some((p) => /\bDBT_INCREMENTAL_TARGET\b/i.test(p)) ? 'DBT_INCREMENTAL_TARGET' : 'DBT_INTERNAL_DEST';
  const columns = keys.map((k) => keyColumn(k, incoming));
  if (columns.every((c) => c !== undefined)) {
    return `delete from ${rel} as ${target} where exists (select 1 from ${staged} as DBT_INTERNAL_SOURCE where ${keyMatch(d, columns as string[], target, 'DBT_INTERNAL_SOURCE')})${predicates(node)}`;
  }
  const sqlOf = (k: string, i: number) => (columns[i] !== undefined ? `${target}.${d.quote(columns[i]!)}` : `(${k})`);
  const computed = keys.map((k, i) => `${columns[i] !== undefined ? d.quote(columns[i]!) : `(${k})`} as __lake_key_${i}`).join(', ');
  const match = keys.map((k, i) => `DBT_INTERNAL_SOURCE.__lake_key_${i} is not distinct from ${sqlOf(k, i)}`).join(' and ');
  return `delete from ${rel} as ${target} where exists (select 1 from (select ${computed} from ${staged}) as DBT_INTERNAL_SOURCE where ${match})${predicates(node)}`;
}

function predicates(node: CompiledNode): string {
  return (node.config.incremental_predicates ?? []).map((p) => ` and (${p})`).join('');
}

export const incrementalStrategy: Materialization = {
  name: 'incremental',
  validate: () => [],
  plan(node, ctx) {
    const d = ctx.dialect;
    const strategy = strategyOf(node.config);
    // dbt-duckdb's merge joins on merge_on_using_columns (USING) when they are given, not on the unique_key.
    const using = strategy === 'merge' ? (node.config.merge_on_using_columns as string[] | undefined) : undefined;
    const written = using?.length ? using : (node.config.unique_key ?? []);
    // Only delete+insert matches on an expression (as dbt-duckdb: its MERGE fails on one).
    const expression = strategy === 'append' || strategy === 'delete+insert' || ctx.strategySql ? undefined : written.find((k) => keyColumn(k, ctx.incoming) === undefined);
    if (expression !== undefined) {
      throw new PlanError({ code: 'LAKE-X016', severity: 'error', node: node.id, file: node.node.path, message: `${node.id}: unique_key '${expression}' is an expression, which only incremental_strategy 'delete+insert' matches on`, hint: `give the key a column in the SELECT (${expression} as row_key) and use unique_key='row_key', or set incremental_strategy='delete+insert'` });
    }
    // Keys as the columns they name (a quoted name unquoted); delete+insert keeps its expressions.
    const keys = written.map((k) => keyColumn(k, ctx.incoming) ?? k);
    // A key the SELECT does not give fails as a config problem, not as the engine's Binder Error.
    const missingKey = strategy === 'append' ? undefined : keys.find((k, i) => keyColumn(written[i]!, ctx.incoming) !== undefined && !hasColumn(ctx.incoming, k));
    if (missingKey !== undefined && ctx.incoming.length) {
      throw new PlanError({ code: 'LAKE-X014', severity: 'error', node: node.id, file: node.node.path, message: `${node.id}: unique_key '${missingKey}' is not a column of the model's SELECT`, hint: `use columns it gives: ${ctx.incoming.map((c) => c.name).slice(0, 12).join(', ')}` });
    }
    // CDC plans its first build itself (same rules for the initial rows) and its own schema change.
    if (strategy === 'cdc') return planCdc(node, ctx, ctx.incoming);
    const rebuild = !ctx.existing || ctx.fullRefresh || ctx.existing.kind === 'view';
    if (rebuild && strategy === 'insert_new') {
      const order = keepOrder(d, ctx.incoming, keys, ctx.arrivalOrder);
      if (!byArrival(ctx.incoming, !!ctx.arrivalOrder)) return buildAndSwap(ctx, firstOfEachKey(d, node.sql, keys, order, ctx.incoming));
      const first = firstOfEachKey(d, numbered(d, node.sql), keys, order, ctx.incoming);
      return buildAndSwap(ctx, `select * exclude (${d.quote(ARRIVAL)}) from (\n${first}\n) as __lake_first`);
    }
    if (rebuild && strategy === 'merge' && keys.length) {
      // The first build (or a full refresh) refuses a repeated key as every later merge does: kept,
      // the copies would both be updated by each later merge, and one run over a landing zone
      // would not give the table that micro-batches give.
      const plan = buildAndSwap(ctx, node.sql);
      const check = duplicateKeyCheck(d, node, d.relation(tempRelation(ctx.relation)), keys);
      plan.splice(plan.findIndex((st) => st.label === 'build') + 1, 0, { ...check, message: check.message?.replace('the new rows carry', 'the rows of its first build carry') });
      return plan;
    }
    if (rebuild) return buildAndSwap(ctx, node.sql);
    if (!STRATEGY_NAMES.has(strategy) && !ctx.strategySql) {
      throw new PlanError({ code: 'LAKE-X015', severity: 'error', node: node.id, file: node.node.path, message: `${node.id}: incremental_strategy '${strategy}' has no macro ${strategyMacroName(strategy)} in the project`, hint: `define {% macro ${strategyMacroName(strategy)}(arg_dict) %} (it gives the SQL that moves the rows of arg_dict.temp_relation into arg_dict.target_relation), or use a strategy lake has` });
    }
    const rel = d.relation(ctx.relation);
    const change = schemaChange(node, ctx, ctx.existing!.columns, ctx.incoming);
    const columns = change.columns;
    const list = cols(d, columns);
    const out: Statement[] = [createSchema(d, ctx.relation), ...change.statements];
    if (ctx.strategySql) {
      // The project's own SQL for the strategy (the executor rendered it), over the new rows it staged.
      out.push(exec(ctx.strategySql.sql, 'incremental strategy macro', true), exec(`drop table if exists ${d.quote(ctx.strategySql.temp)}`, 'drop new rows'));
      return out;
    }
    switch (strategy) {
      case 'append':
        out.push(exec(`insert into ${rel} (${list})\nselect ${list} from (\n${node.sql}\n) as __lake_src`, 'append', true));
        return out;
      case 'merge': {
        const s = stage(d, node, ctx);
        // dbt-duckdb's merge configs: SET expressions first (pasted as written), then the updated columns.
        const set = [
          ...Object.entries(setExpressions(node)).map(([c, e]) => `${d.quote(keyColumn(c) ?? c)} = ${e}`),
          ...updatedColumns(node, columns, keys).map((c) => `${d.quote(c.name)} = DBT_INTERNAL_SOURCE.${d.quote(c.name)}`),
        ].join(', ');
        out.push(...s.statements, duplicateKeyCheck(d, node, s.name, keys));
        out.push(exec(
          `merge into ${rel} as DBT_INTERNAL_DEST using ${s.name} as DBT_INTERNAL_SOURCE\n` +
          `on ${keyMatch(d, keys, 'DBT_INTERNAL_DEST', 'DBT_INTERNAL_SOURCE')}${predicates(node)}\n` +
          (set ? `when matched and ${mergeCondition(node, 'merge_update_condition')} then update set ${set}\n` : '') +
          `when not matched and ${mergeCondition(node, 'merge_insert_condition')} then insert (${list}) values (${cols(d, columns, 'DBT_INTERNAL_SOURCE.')})`,
          'merge', true));
        out.push(dropStage(s.name));
        return out;
      }
      case 'delete+insert': {
        const s = stage(d, node, ctx);
        out.push(...s.statements);
        if (keys.length) out.push(exec(deleteMatching(d, node, rel, s.name, keys, ctx.incoming), 'delete matching keys'));
        out.push(exec(`insert into ${rel} (${list}) select ${list} from ${s.name}`, 'insert', true));
        out.push(dropStage(s.name));
        return out;
      }
      case 'insert_new': {
        // Staged with its row order as a column when that is arrival order (the stage's columns are
        // listed in the insert: the number stays behind).
        const s = stage(d, byArrival(ctx.incoming, !!ctx.arrivalOrder) ? { ...node, sql: numbered(d, node.sql) } : node, ctx);
        out.push(...s.statements);
        out.push(exec(
          `insert into ${rel} (${list})\nselect ${list} from ${s.name} as DBT_INTERNAL_SOURCE\n` +
          `where not exists (select 1 from ${targetRowsMatching(d, rel, s.name, keys)} as DBT_INTERNAL_DEST where ${keyMatch(d, keys, 'DBT_INTERNAL_DEST', 'DBT_INTERNAL_SOURCE')}${predicates(node)})\n` +
          `qualify row_number() over (partition by ${cols(d, keys)} order by ${keepOrder(d, ctx.incoming, keys, ctx.arrivalOrder)}) = 1`,
          'insert new keys', true));
        out.push(dropStage(s.name));
        return out;
      }
      case 'microbatch':
        // Built batch by batch, each planned by planBatch (microbatch.ts) with its time range.
        throw new Error(`${node.id}: a microbatch model is planned one batch at a time (planBatch)`);
    }
  },
};

