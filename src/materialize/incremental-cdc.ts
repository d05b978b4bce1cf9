/**
 * CDC upserts with the semantics of DLT's APPLY CHANGES (`incremental_strategy: cdc`).
 *
 * Config: `unique_key` (column or list), `sequence_by` (column or list: orders the changes of one
 * key), `delete_when` (SQL condition on a change record), `scd_type` 1 (default) or 2,
 * `ignore_null_updates`, `except_columns` (change-record columns not to keep, e.g. `op`).
 *
 * What is written:
 * - the target `<schema>.<name>`: the change records' columns minus `except_columns`, in the
 *   SELECT's order. Type 2 adds `valid_from` and `valid_to`, typed like the sequence (a STRUCT of
 *   the sequence columns when sequence_by is a list); `valid_to` is NULL for the current version.
 *   A `_lake_batch` column, when the records carry one, holds the batch that last wrote the row.
 * - the state table `<schema>.<name>__lake_cdc_state` (`<key columns>, _lake_sequence,
 *   _lake_deleted`), written in the same transaction. Type 1: one row per key ever seen, with the
 *   sequence of the change the target holds for it; `_lake_deleted` marks a tombstone (the key's
 *   latest change was a delete). Type 2: one row per delete event. It is what lets a late, older
 *   update lose against a delete that came before it, and type 1 compare sequences even when
 *   `except_columns` drops the sequence column. If it is lost, it is recreated empty: type 1 then
 *   lets the next change of each key win, type 2 forgets earlier deletes; --full-refresh rebuilds it.
 *
 * Rules (the first build applies them to the initial rows in the same way):
 * - Per key, changes are ordered by sequence; a change with a NULL sequence fails the node.
 * - Ties (same key and sequence): a delete beats an upsert; between upserts the one that landed
 *   last wins — by `_lake_file_mtime`, `_lake_file`, `_lake_line` (those the records carry: the
 *   order lake discovers files in, the same landing order insert_new keeps the first of), or, for
 *   a model that reads a landing source and drops them, by batch and then the SELECT's row order
 *   (landing order, see PlanContext.arrivalOrder); then the greater record (compared column by
 *   column, `_lake_batch` ignored); and what the target holds already beats an identical record.
 *   The file columns are compared as stored, not by batch, so files landed in one run or one per
 *   run give the same rows even when a file with an older mtime lands in a later run. (DLT asks
 *   for one distinct update per key and sequence and leaves ties unspecified; AUTO CDC's
 *   SYSTEM SEQUENCE BY is a second ordering column, which landing order plays here.)
 * - Type 1: the key's row is its latest change, or absent when that change is a delete. A change
 *   older than what the target holds (row or tombstone) never replaces it.
 * - Type 2: each upsert is a version from its sequence to the sequence of the key's next change
 *   (upsert or delete); a late change is put into history where its sequence belongs (splitting
 *   the version it falls in) and never becomes current when something newer exists. Only the tail
 *   of an affected key's history (from the version holding the batch's oldest change) is rewritten.
 * - `ignore_null_updates`: a NULL in an upsert keeps the value of the previous state of the key
 *   (since its last delete). Exact within a batch and for batches that arrive in sequence order;
 *   a late change (older than what is held) only fills values no newer change has set, and
 *   type 2 versions after it keep the values they were stored with (raw changes are not kept).
 * Without `ignore_null_updates`, applying a set of changes in one batch or in any split into
 * batches gives the same rows (up to `_lake_batch`).
 *
 * The merge is delete/insert or a MERGE with a condition on every WHEN clause (DuckDB quirks) and
 * explicit column lists; the result has one row per key by construction.
 */
import type { Column, CompiledNode, Relation } from '../core/types.js';
import type { Dialect } from '../adapter/types.js';
import type { PlanContext, Statement } from './types.js';
import { PlanError } from './types.js';
import { ARRIVAL, byArrival, cols, createSchema, dropExisting, exec, hasColumn, keyColumn, keyMatch, LANDING_ORDER, numbered, schemaChange, stageName } from './common.js';

/** The sibling table holding per-key sequences and tombstones. */
export function cdcStateRelation(rel: Relation): Relation {
  return { schema: rel.schema, name: `${rel.name}__lake_cdc_state` };
}

/** Temp table holding the rows to write for the affected keys. */
function resultName(rel: Relation): string {
  return `__lake_cdc__${rel.schema}__${rel.name}`;
}

const VALID_FROM = 'valid_from';
const VALID_TO = 'valid_to';

function asList(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

const lower = (s: string) => s.toLowerCase();
const isKey = (keys: readonly string[], c: string) => keys.some((k) => lower(k) === lower(c));

interface CdcSpec {
  readonly keys: string[];
  readonly sequence: string[];
  readonly scd: 1 | 2;
  readonly ignoreNulls: boolean;
  readonly deleteWhen?: string;
  /** Columns of the change records that the target keeps (incoming minus except_columns). */
  readonly kept: Column[];
}

function fail(node: CompiledNode, message: string, hint: string): never {
  throw new PlanError({ code: 'LAKE-X020', severity: 'error', node: node.id, file: node.node.path, message: `${node.id}: ${message}`, hint });
}

/** Checks the config against the change records' columns; names resolve case-insensitively. */
function spec(node: CompiledNode, columns: readonly Column[]): CdcSpec {
  const c = node.config;
  const names = columns.map((x) => x.name).join(', ');
  // A name resolves as merge's unique_key does: as written, or double-quoted ('"Id"') unquoted.
  const resolve = (name: string, what: string): string => {
    const bare = keyColumn(name, columns) ?? name;
    const found = columns.find((x) => lower(x.name) === lower(bare));
    if (!found) fail(node, `${what} '${name}' is not a column of the change records (${names})`, `fix ${what.split(' ')[0]} in the model's config, or select the column`);
    return found.name;
  };
  const keys = asList(c.unique_key).map((k) => resolve(k, 'unique_key column'));
  if (keys.length === 0) fail(node, "incremental_strategy 'cdc' needs a unique_key", "add unique_key='id' (or a list) to the model's config");
  const sequence = asList(c.sequence_by).map((k) => resolve(k, 'sequence_by column'));
  if (sequence.length === 0) fail(node, "incremental_strategy 'cdc' needs sequence_by", "add sequence_by='updated_at' (the column that orders the changes of a key)");
  const except = asList(c.except_columns).map((k) => resolve(k, 'except_columns entry'));
  const keyHit = except.find((e) => isKey(keys, e));
  if (keyHit) fail(node, `except_columns drops the unique_key column '${keyHit}'`, 'keep the key columns in the target');
  const scd = c.scd_type === undefined ? 1 : Number(c.scd_type);
  if (scd !== 1 && scd !== 2) fail(node, `scd_type must be 1 or 2, not ${String(c.scd_type)}`, 'set scd_type to 1 (overwrite) or 2 (keep history)');
  const kept = columns.filter((x) => !isKey(except, x.name));
  if (scd === 2) {
    const clash = kept.find((x) => [VALID_FROM, VALID_TO].includes(lower(x.name)));
    if (clash) fail(node, `scd_type 2 writes '${VALID_FROM}' and '${VALID_TO}', but the change records already have a column '${clash.name}'`, 'rename it in the SELECT, or list it in except_columns');
  }
  const internal = kept.find((x) => lower(x.name).startsWith('__lake_'));
  if (internal) fail(node, `column '${internal.name}' uses the reserved prefix __lake_`, 'rename it in the SELECT');
  const deleteWhen = typeof c.delete_when === 'string' && c.delete_when.trim() ? c.delete_when : undefined;
  return { keys, sequence, scd: scd as 1 | 2, ignoreNulls: c.ignore_null_updates === true || String(c.ignore_null_updates) === 'true', deleteWhen, kept };
}

/** The sequence as one comparable value: the column, or a STRUCT of the columns (compared in order). */
function sequenceExpr(d: Dialect, s: CdcSpec): string {
  if (s.sequence.length === 1) return d.quote(s.sequence[0]!);
  return `{${s.sequence.map((c) => `${d.literal(c)}: ${d.quote(c)}`).join(', ')}}`;
}

/**
 * Tie-break between changes of one key at one sequence (first = winner): a delete; then the upsert
 * that landed last (`arrival`: new changes after stored ones, then the SELECT's row order); then
 * the greater record; then what is stored.
 */
function tieOrder(d: Dialect, content: readonly string[], keys: readonly string[], arrival: boolean): string {
  const rest = content.filter((c) => !isKey(keys, c) && lower(c) !== '_lake_batch');
  const landing = LANDING_ORDER.flatMap((m) => rest.filter((c) => lower(c) === m));
  const others = rest.filter((c) => !landing.includes(c));
  // Deletes: a stored tombstone beats a repeated delete (their record content does not matter).
  return ['"__lake_delete" desc', 'case when "__lake_delete" then "__lake_origin" end',
    ...(arrival ? ['"__lake_origin" desc', `${d.quote(ARRIVAL)} desc nulls last`] : []),
    ...[...landing, ...others].map((c) => `${d.quote(c)} desc nulls last`), '"__lake_origin"'].join(', ');
}

/**
 * Plan a CDC build. Called for the first build (ctx.existing undefined, a view, or --full-refresh)
 * and for incremental runs; `columns` are the change records' columns (the model's SELECT).
 */
export function planCdc(node: CompiledNode, ctx: PlanContext, columns: readonly Column[]): Statement[] {
  const d = ctx.dialect;
  const s = spec(node, columns);
  const rebuild = !ctx.existing || ctx.fullRefresh || ctx.existing.kind === 'view';
  const target = d.relation(ctx.relation);
  const state = d.relation(cdcStateRelation(ctx.relation));
  const stage = d.quote(stageName(ctx.relation));
  const result = d.quote(resultName(ctx.relation));
  const keyList = cols(d, s.keys);
  const seq = sequenceExpr(d, s);
  // Ties go by the SELECT's row order (landing order) when the rows do not carry their file's mtime and name.
  const arrival = byArrival(columns, !!ctx.arrivalOrder);

  // Columns of the target besides valid_from/valid_to, and those the change records fill.
  let content: Column[] = s.kept;
  let written: Column[] = s.kept;
  const ddl: Statement[] = [];
  if (!rebuild) {
    const existing = ctx.existing!.columns;
    const hasValidity = hasColumn(existing, VALID_FROM) && hasColumn(existing, VALID_TO);
    if (s.scd === 2 && !hasValidity) {
      fail(node, `scd_type is 2 but the existing table has no ${VALID_FROM}/${VALID_TO} columns (was it built with scd_type 1?)`, 'run it once with --full-refresh to rebuild the history');
    }
    if (s.scd === 1 && hasValidity) {
      fail(node, `scd_type is 1 but the existing table has ${VALID_FROM}/${VALID_TO} columns (was it built with scd_type 2?)`, 'run it once with --full-refresh, or set scd_type back to 2');
    }
    const current = s.scd === 2 ? existing.filter((c) => ![VALID_FROM, VALID_TO].includes(lower(c.name))) : existing;
    const change = schemaChange(node, ctx, current, s.kept);
    ddl.push(...change.statements);
    written = change.columns;
    const mode = node.config.on_schema_change;
    content = mode === 'sync_all_columns' ? s.kept : [...current, ...(mode === 'append_new_columns' ? s.kept.filter((c) => !hasColumn(current, c.name)) : [])];
    const missingKey = s.keys.find((k) => !hasColumn(content, k));
    if (missingKey) fail(node, `the existing table has no unique_key column '${missingKey}'`, 'run it once with --full-refresh');
  }
  const contentNames = content.map((c) => c.name);
  const writtenNames = written.map((c) => c.name);
  const hasBatch = writtenNames.some((c) => lower(c) === '_lake_batch');

  const out: Statement[] = [createSchema(d, ctx.relation)];
  const deleteExpr = s.deleteWhen ? `coalesce((${s.deleteWhen}), false)` : 'false';
  out.push(exec(
    `create or replace temp table ${stage} as\n` +
    `select *, ${seq} as "__lake_seq", ${deleteExpr} as "__lake_delete"\nfrom (\n${arrival ? numbered(d, node.sql) : node.sql}\n) as __lake_src`,
    'stage changes'));
  out.push({
    kind: 'assert-empty',
    sql: `select ${keyList}, ${cols(d, s.sequence)} from ${stage} where ${s.sequence.map((c) => `${d.quote(c)} is null`).join(' or ')} limit 1`,
    label: 'check sequence not null',
    message: `${node.id}: a change record has a NULL sequence_by (${s.sequence.join(', ')}), so it cannot be ordered`,
  });

  if (rebuild) {
    out.push(...dropExisting(ctx));
    out.push(exec(`drop table if exists ${state}`, 'drop old state'));
    const validity = s.scd === 2 ? `, "__lake_seq" as ${d.quote(VALID_FROM)}, "__lake_seq" as ${d.quote(VALID_TO)}` : '';
    out.push(exec(`create table ${target} as\nselect ${cols(d, written)}${validity} from ${stage} limit 0`, 'create target'));
    out.push(exec(`create table ${state} as\nselect ${keyList}, "__lake_seq" as "_lake_sequence", "__lake_delete" as "_lake_deleted" from ${stage} limit 0`, 'create state'));
  } else {
    out.push(...ddl);
    out.push(exec(`create table if not exists ${state} as\nselect ${keyList}, "__lake_seq" as "_lake_sequence", "__lake_delete" as "_lake_deleted" from ${stage} limit 0`, 'create state if missing'));
  }

  const inKeys = (alias: string) => `exists (select 1 from ${stage} as n where ${keyMatch(d, s.keys, alias, 'n')})`;
  const newChanges = `select ${cols(d, written)}, "__lake_seq", "__lake_delete", 1 as "__lake_origin"${arrival ? `, ${d.quote(ARRIVAL)}` : ''} from ${stage}`;
  const nonKey = contentNames.filter((c) => !isKey(s.keys, c));
  const tie = tieOrder(d, contentNames, s.keys, arrival);
  const batchNow = `(select max("_lake_batch") from ${stage})`;

  if (s.scd === 1) {
    const changes =
      `  ${newChanges}\n  union all by name\n` +
      `  select ${cols(d, content, 't.')}, s."_lake_sequence" as "__lake_seq", false as "__lake_delete", 0 as "__lake_origin"\n` +
      `  from ${target} as t left join ${state} as s on ${keyMatch(d, s.keys, 't', 's')}\n  where ${inKeys('t')}\n  union all by name\n` +
      `  select ${cols(d, s.keys, 's.')}, s."_lake_sequence" as "__lake_seq", true as "__lake_delete", 0 as "__lake_origin"\n` +
      `  from ${state} as s\n  where s."_lake_deleted" and ${inKeys('s')}`;
    let body: string;
    if (!s.ignoreNulls) {
      body =
        `with changes as (\n${changes}\n),\n` +
        `ranked as (\n  select *, row_number() over (partition by ${keyList} order by "__lake_seq" desc nulls last, ${tie}) as "__lake_rank"\n  from changes\n)\n` +
        `select * exclude ("__lake_rank") from ranked\nwhere "__lake_rank" = 1 and "__lake_origin" = 1`;
    } else {
      // Every row of the result is written now, also one whose last change is an older stored row.
      const replace = hasBatch ? ` replace (${batchNow} as "_lake_batch")` : '';
      body = foldSql(d, s, changes, nonKey, tie) +
        `\nselect * exclude ("__lake_last", "__lake_changed")${replace} from folded\nwhere "__lake_last" = 1 and "__lake_changed"`;
    }
    out.push(exec(`create or replace temp table ${result} as\n${body}`, 'resolve changes'));
    const set = writtenNames.filter((c) => !isKey(s.keys, c)).map((c) => `${d.quote(c)} = r.${d.quote(c)}`).join(', ');
    out.push(exec(
      `merge into ${target} as t using ${result} as r\non ${keyMatch(d, s.keys, 't', 'r')}\n` +
      `when matched and r."__lake_delete" then delete\n` +
      (set ? `when matched and not r."__lake_delete" then update set ${set}\n` : '') +
      `when not matched and not r."__lake_delete" then insert (${cols(d, written)}) values (${cols(d, written, 'r.')})`,
      'apply changes'));
    out.push(exec(`delete from ${state} as s where exists (select 1 from ${result} as r where ${keyMatch(d, s.keys, 's', 'r')})`, 'state: drop old'));
    out.push(exec(`insert into ${state} (${keyList}, "_lake_sequence", "_lake_deleted")\nselect ${keyList}, "__lake_seq", "__lake_delete" from ${result}`, 'state: record'));
    out.push({ kind: 'count', sql: `select count(*) as n from ${result}`, label: 'count' });
  } else {
    // Tail of each affected key: versions that end after (or contain) the batch's oldest change.
    const bounds = `(select ${keyList}, min("__lake_seq") as "__lake_from" from ${stage} group by ${keyList})`;
    const tail = `t.${d.quote(VALID_TO)} is null or t.${d.quote(VALID_TO)} > b."__lake_from"`;
    const changes =
      `  ${newChanges}\n  union all by name\n` +
      `  select ${cols(d, content, 't.')}, t.${d.quote(VALID_FROM)} as "__lake_seq", false as "__lake_delete", 0 as "__lake_origin", t.${d.quote(VALID_TO)} as "__lake_old_to"\n` +
      `  from ${target} as t join ${bounds} as b on ${keyMatch(d, s.keys, 't', 'b')}\n  where ${tail}\n  union all by name\n` +
      `  select ${cols(d, s.keys, 's.')}, s."_lake_sequence" as "__lake_seq", true as "__lake_delete", 0 as "__lake_origin"\n` +
      `  from ${state} as s join ${bounds} as b on ${keyMatch(d, s.keys, 's', 'b')}\n  where s."_lake_sequence" >= b."__lake_from"`;
    let body: string;
    if (!s.ignoreNulls) {
      body =
        `with changes as (\n${changes}\n),\n` +
        `deduped as (\n  select * exclude ("__lake_rank") from (\n    select *, row_number() over (partition by ${keyList}, "__lake_seq" order by ${tie}) as "__lake_rank"\n    from changes\n  ) where "__lake_rank" = 1\n),\n` +
        `versions as (\n  select *, "__lake_origin" = 1 as "__lake_changed" from deduped\n)`;
    } else {
      body = foldSql(d, s, changes, nonKey, tie) + `,\nversions as (\n  select * exclude ("__lake_last") from folded\n)`;
    }
    const restamp = hasBatch
      ? `, case when "__lake_changed" or "__lake_old_to" is distinct from "__lake_next" then ${batchNow} else "_lake_batch" end as "_lake_batch"`
      : '';
    body +=
      `,\nlinked as (\n  select *, lead("__lake_seq") over (partition by ${keyList} order by "__lake_seq") as "__lake_next" from versions\n)\n` +
      `select * exclude ("__lake_next", "__lake_old_to", "__lake_changed"${hasBatch ? ', "_lake_batch"' : ''})${restamp}, "__lake_seq" as ${d.quote(VALID_FROM)}, "__lake_next" as ${d.quote(VALID_TO)}\nfrom linked`;
    out.push(exec(`create or replace temp table ${result} as\n${body}`, 'resolve changes'));
    out.push(exec(`delete from ${target} as t using ${bounds} as b\nwhere ${keyMatch(d, s.keys, 't', 'b')} and (${tail})`, 'remove rewritten tail'));
    const all = [...contentNames, VALID_FROM, VALID_TO];
    out.push(exec(`insert into ${target} (${cols(d, all)})\nselect ${cols(d, all)} from ${result} where not "__lake_delete"`, 'insert versions'));
    out.push(exec(`insert into ${state} (${keyList}, "_lake_sequence", "_lake_deleted")\nselect ${keyList}, "__lake_seq", true from ${result} where "__lake_delete" and "__lake_origin" = 1`, 'state: record deletes'));
    out.push({ kind: 'count', sql: `select count(*) as n from ${result} where "__lake_origin" = 1`, label: 'count' });
  }
  out.push(exec(`drop table if exists ${result}`, 'drop result'), exec(`drop table if exists ${stage}`, 'drop stage'));
  return out;
}

/**
 * ignore_null_updates: one change per (key, sequence), then each non-key column takes its last
 * non-NULL value since the key's last delete (a delete starts a new segment and carries no values).
 * Yields CTE `folded` with `__lake_last` (1 = latest change of the key) and `__lake_changed` (a new
 * change, or a stored row whose values the fold changed).
 */
function foldSql(d: Dialect, s: CdcSpec, changes: string, nonKey: readonly string[], tie: string): string {
  const keyList = cols(d, s.keys);
  const frame = `partition by ${keyList}, "__lake_segment" order by "__lake_seq" nulls first rows between unbounded preceding and current row`;
  const valued = nonKey.filter((c) => lower(c) !== '_lake_batch');
  const folded = nonKey.map((c) =>
    lower(c) === '_lake_batch'
      ? d.quote(c) // not folded: the caller stamps the rows it writes
      : `last_value(case when not "__lake_delete" then ${d.quote(c)} end ignore nulls) over w as ${d.quote(c)}`);
  // Inside the inner SELECT a name binds to the input column, so this struct holds the stored values.
  const asStruct = valued.length ? `{${valued.map((c) => `${d.literal(c)}: ${d.quote(c)}`).join(', ')}}` : 'null';
  return (
    `with changes as (\n${changes}\n),\n` +
    `deduped as (\n  select * exclude ("__lake_rank") from (\n    select *, row_number() over (partition by ${keyList}, "__lake_seq" order by ${tie}) as "__lake_rank"\n    from changes\n  ) where "__lake_rank" = 1\n),\n` +
    `segmented as (\n  select *, sum(case when "__lake_delete" then 1 else 0 end) over (partition by ${keyList} order by "__lake_seq" nulls first rows between unbounded preceding and current row) as "__lake_segment"\n  from deduped\n),\n` +
    `folded as (\n  select * exclude ("__lake_stored"), "__lake_origin" = 1 or "__lake_stored" is distinct from ${asStruct} as "__lake_changed"\n  from (\n` +
    `    select ${keyList}, "__lake_seq", "__lake_delete", "__lake_origin"${s.scd === 2 ? ', "__lake_old_to"' : ''},\n      ` +
    [...folded,
      `${asStruct} as "__lake_stored"`,
      `row_number() over (partition by ${keyList} order by "__lake_seq" desc nulls last) as "__lake_last"`].join(',\n      ') +
    `\n    from segmented\n    window w as (${frame})\n  )\n)`
  );
}
