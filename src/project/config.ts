/**
 * Model configuration: the known keys, their normalisation (strings vs lists, dbt's `+` prefix,
 * `pre-hook` spelling) and the merge order folder defaults < YAML < `config()` in the SQL.
 */
import type { ModelConfig, Materialized } from '../core/types.js';
import { parseEventTime } from '../core/event-time.js';

const MATERIALIZED = new Set<Materialized>(['view', 'table', 'incremental', 'ephemeral', 'external', 'seed', 'snapshot']);
const LIST_KEYS = new Set(['unique_key', 'incremental_predicates', 'sequence_by', 'partition_by', 'tags', 'pre_hook', 'post_hook', 'except_columns', 'merge_update_columns', 'merge_exclude_columns', 'merge_on_using_columns', 'merge_returning_columns']);

/** Keys that are configs (not sub-folders) in folder-config trees. */
export const CONFIG_KEYS = new Set([
  'materialized', 'schema', 'alias', 'enabled', 'tags', 'incremental_strategy', 'unique_key',
  'incremental_predicates', 'on_schema_change', 'sequence_by', 'delete_when', 'scd_type',
  'ignore_null_updates', 'location', 'format', 'partition_by', 'pre_hook', 'post_hook',
  'expectations', 'on_violation', 'docs', 'meta', 'persist_docs', 'full_refresh', 'contract',
  'database', 'column_types', 'quote_columns', 'delimiter', 'grants', 'group', 'access',
  'track_columns', 'except_columns', 'stored_as', 'options', 'merge_update_columns', 'merge_exclude_columns',
  // dbt-duckdb's merge (1.11): conditions on its WHEN clauses, SET expressions, a USING join, RETURNING, whole clauses
  'merge_update_condition', 'merge_insert_condition', 'merge_update_set_expressions', 'merge_on_using_columns', 'merge_returning_columns', 'merge_clauses',
  // dbt snapshots (materialize/snapshot.ts)
  'strategy', 'updated_at', 'check_cols', 'target_schema', 'target_database', 'invalidate_hard_deletes', 'hard_deletes',
  'snapshot_meta_column_names', 'dbt_valid_to_current',
  // dbt's microbatch (materialize/microbatch.ts); event_time also on the models it reads
  'event_time', 'batch_size', 'begin', 'lookback', 'concurrent_batches',
  // dbt's, read by its adapters' materializations (kept for config.get; lake does nothing with them)
  'sql_header', 'quoting', 'on_configuration_change', 'copy_grants', 'constraints',
]);

/**
 * dbt's hooks may be dicts, `{sql: ..., transaction: false}` (what `before_begin()` and
 * `after_commit()` give): such a hook runs outside the model's transaction — a pre-hook before it
 * begins, a post-hook after it commits. Hooks stay text in the config: an outside one opens with
 * this line (a SQL comment, harmless if it ever reaches the engine).
 */
export const OUTSIDE_TRANSACTION = '-- lake: outside the transaction\n';

/** A hook from YAML or config(): its SQL text, marked when it runs outside the transaction. */
function hookText(v: unknown): string {
  if (v && typeof v === 'object' && !Array.isArray(v) && 'sql' in v) {
    const h = v as { sql: unknown; transaction?: unknown };
    return `${h.transaction === false || String(h.transaction).toLowerCase() === 'false' ? OUTSIDE_TRANSACTION : ''}${String(h.sql ?? '')}`;
  }
  return String(v);
}

/** The hooks that run inside the model's transaction, and those outside it (text without the mark). */
export function splitHooks(hooks: readonly string[]): { inside: string[]; outside: string[] } {
  const inside: string[] = [];
  const outside: string[] = [];
  for (const h of hooks) (h.startsWith(OUTSIDE_TRANSACTION) ? outside.push(h.slice(OUTSIDE_TRANSACTION.length)) : inside.push(h));
  return { inside, outside };
}

/**
 * Whether a key of a project file's `models:` (`seeds:`, ...) tree is a config at that level (`+x`,
 * or a config's name with a value that is no folder), not a folder, model or package name.
 */
export function isConfigEntry(key: string, value: unknown): boolean {
  const nk = normaliseKey(key);
  const folderLike = !!value && typeof value === 'object' && !Array.isArray(value);
  return key.startsWith('+') || (CONFIG_KEYS.has(nk) && !folderLike) || nk === 'expectations' || nk === 'meta' || nk === 'column_types';
}

/** `+materialized` → `materialized`, `pre-hook` → `pre_hook`. */
export function normaliseKey(key: string): string {
  let k = key.startsWith('+') ? key.slice(1) : key;
  k = k.replace(/-/g, '_');
  return k;
}

/** Normalise raw config values (from YAML or a `config()` call) into the typed shape. */
export function normaliseConfig(raw: Record<string, unknown>): Partial<ModelConfig> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === '__keywords') continue;
    const k = normaliseKey(key);
    if (k === 'pre_hook' || k === 'post_hook') {
      out[k] = value === undefined || value === null ? [] : Array.isArray(value) ? value.map(hookText) : [hookText(value)];
    } else if (LIST_KEYS.has(k)) {
      out[k] = value === undefined || value === null ? [] : Array.isArray(value) ? value.map(String) : [String(value)];
    } else if (k === 'scd_type') {
      out[k] = Number(value);
    } else {
      out[k] = value;
    }
  }
  return out as Partial<ModelConfig>;
}

/** Merge configs left to right; tags and hooks accumulate like dbt's, others override. */
export function mergeConfig(base: ModelConfig, ...layers: Partial<ModelConfig>[]): ModelConfig {
  const out: ModelConfig = { ...base, tags: [...base.tags], pre_hook: [...base.pre_hook], post_hook: [...base.post_hook] };
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      if (k === 'tags' || k === 'pre_hook' || k === 'post_hook') {
        const list = out[k] as string[];
        for (const x of v as string[]) if (!list.includes(x)) list.push(x);
      } else {
        (out as Record<string, unknown>)[k] = v;
      }
    }
  }
  return out;
}

export function defaultConfig(schema: string): ModelConfig {
  return { materialized: 'view', schema, enabled: true, tags: [], on_schema_change: 'ignore', pre_hook: [], post_hook: [] };
}

const STRATEGIES = new Set(['append', 'merge', 'delete+insert', 'insert_new', 'cdc', 'microbatch']);
// delete+insert without a unique_key only inserts (dbt's get_delete_insert_merge_sql deletes by key alone).
const KEYED_STRATEGIES = new Set(['merge', 'insert_new', 'cdc']);
const SCHEMA_CHANGE = new Set(['ignore', 'append_new_columns', 'sync_all_columns', 'fail']);

/** dbt's macro for an incremental strategy: `get_incremental_<strategy>_sql` (delete+insert: `delete_insert`). */
export function strategyMacroName(strategy: string): string {
  return `get_incremental_${strategy.replace(/\+/g, '_')}_sql`;
}

/**
 * The problem with one value of an enumerated config key (materialized, incremental_strategy,
 * on_schema_change), or undefined when it is fine or the key is not one of those.
 */
export function enumValueProblem(key: string, value: unknown, customStrategy?: (s: string) => boolean): { message: string; hint: string } | undefined {
  if (key === 'incremental_strategy' && customStrategy?.(String(value))) return undefined;
  if (key === 'materialized' && !MATERIALIZED.has(value as Materialized)) return { message: `unknown materialized '${String(value)}'`, hint: 'use one of view, table, incremental, ephemeral, external' };
  if (key === 'incremental_strategy' && !STRATEGIES.has(String(value))) return { message: `unknown incremental_strategy '${String(value)}'`, hint: 'use append, merge, delete+insert, insert_new, cdc or microbatch' };
  if (key === 'on_schema_change' && !SCHEMA_CHANGE.has(String(value))) return { message: `unknown on_schema_change '${String(value)}'`, hint: 'use ignore, append_new_columns, sync_all_columns or fail' };
  return undefined;
}

/** Problems with a final config, as messages (the caller adds file and line). */
export function configProblems(c: ModelConfig, customStrategy?: (s: string) => boolean): { message: string; hint: string }[] {
  // Runs once per model: the common case (a valid view or table) allocates nothing.
  let out: { message: string; hint: string }[] | undefined;
  const add = (message: string, hint: string) => (out ??= []).push({ message, hint });
  if (!MATERIALIZED.has(c.materialized)) {
    add(`unknown materialized '${String(c.materialized)}'`, 'use one of view, table, incremental, ephemeral, external');
  }
  if (c.materialized === 'incremental') {
    const s = c.incremental_strategy ?? (c.unique_key?.length ? 'merge' : 'append');
    // A strategy of the project's own (dbt's get_incremental_<strategy>_sql macro) is known too.
    if (!STRATEGIES.has(s) && !customStrategy?.(s)) add(`unknown incremental_strategy '${s}'`, `use append, merge, delete+insert, insert_new, cdc or microbatch, or define a macro ${strategyMacroName(s)}(arg_dict) for a strategy of your own`);
    const listed = (k: string) => Array.isArray(c[k]) && (c[k] as unknown[]).length > 0;
    // dbt-duckdb's merge joins on merge_on_using_columns (USING) in place of the unique_key.
    if (KEYED_STRATEGIES.has(s) && !c.unique_key?.length && !(s === 'merge' && listed('merge_on_using_columns'))) add(`incremental_strategy '${s}' needs a unique_key`, "add unique_key='id' (or a list) to the model's config");
    if (s === 'cdc' && !c.sequence_by?.length) add("incremental_strategy 'cdc' needs sequence_by", "add sequence_by='updated_at' (the column that orders changes)");
    if (s === 'cdc' && c.incremental_predicates?.length) {
      add("incremental_predicates cannot be used with incremental_strategy 'cdc'", 'remove them: cdc compares every change with the current row of its key, wherever that row is, so that a late change never wins');
    }
    if (c.scd_type !== undefined && c.scd_type !== 1 && c.scd_type !== 2) add(`scd_type must be 1 or 2, not ${String(c.scd_type)}`, 'set scd_type to 1 (overwrite) or 2 (keep history)');
    if (listed('merge_update_columns') && listed('merge_exclude_columns')) add('merge_update_columns and merge_exclude_columns cannot both be set', 'keep one: the columns a match updates, or the columns it leaves alone');
    if ((listed('merge_update_columns') || listed('merge_exclude_columns')) && s !== 'merge') add(`merge_update_columns / merge_exclude_columns apply to incremental_strategy 'merge', not '${s}'`, "set incremental_strategy='merge', or remove them");
    mergeProblems(c, s, add);
    if (s === 'microbatch') microbatchProblems(c, add);
    if (c.track_columns !== undefined) add('track_columns (DLT\'s track_history_column_list) is not supported yet: every change of a non-key column makes a new version', 'remove track_columns; to leave a column out of the history, drop it from the SELECT or list it in except_columns');
  }
  if (c.materialized === 'snapshot') snapshotProblems(c, add);
  const contract = c.contract as { enforced?: unknown } | undefined;
  if (c.materialized === 'incremental' && contract && typeof contract === 'object' && (contract.enforced === true || contract.enforced === 'true') && c.on_schema_change !== 'append_new_columns' && c.on_schema_change !== 'fail') {
    add(`an incremental model with an enforced contract must set on_schema_change to 'append_new_columns' or 'fail' (not '${c.on_schema_change}')`, "set on_schema_change='append_new_columns' (or 'fail'), as dbt requires");
  }
  if (!SCHEMA_CHANGE.has(c.on_schema_change)) add(`unknown on_schema_change '${c.on_schema_change}'`, 'use ignore, append_new_columns, sync_all_columns or fail');
  if (c.materialized === 'external' && !c.location) add("materialized 'external' needs a location", "add location='exports/name.parquet'");
  return out ?? NO_PROBLEMS;
}
const NO_PROBLEMS: { message: string; hint: string }[] = [];

/** dbt-duckdb's merge configs beyond the column lists: their types (its validate_merge_config), and what lake does not do. */
function mergeProblems(c: ModelConfig, strategy: string, add: (message: string, hint: string) => void): void {
  const set = MERGE_KEYS.filter((k) => c[k] !== undefined && c[k] !== null && !(Array.isArray(c[k]) && (c[k] as unknown[]).length === 0));
  if (!set.length) return;
  if (strategy !== 'merge') {
    add(`${set.join(', ')} ${set.length > 1 ? 'apply' : 'applies'} to incremental_strategy 'merge', not '${strategy}'`, "set incremental_strategy='merge', or remove them");
    return;
  }
  for (const k of ['merge_update_condition', 'merge_insert_condition']) {
    if (c[k] !== undefined && c[k] !== null && (typeof c[k] !== 'string' || !(c[k] as string).trim())) add(`${k} must be an SQL condition (a string), not ${JSON.stringify(c[k])}`, `write it over DBT_INTERNAL_SOURCE and DBT_INTERNAL_DEST, e.g. ${k}='DBT_INTERNAL_SOURCE.updated_at > DBT_INTERNAL_DEST.updated_at'`);
  }
  const exprs = c.merge_update_set_expressions;
  if (exprs !== undefined && exprs !== null && (typeof exprs !== 'object' || Array.isArray(exprs) || Object.values(exprs).some((v) => typeof v !== 'string' && typeof v !== 'number'))) {
    add('merge_update_set_expressions must map columns to SQL expressions', "e.g. merge_update_set_expressions={'hits': 'DBT_INTERNAL_DEST.hits + DBT_INTERNAL_SOURCE.hits'}");
  }
  if (c.merge_clauses !== undefined && c.merge_clauses !== null) {
    add("merge_clauses (dbt-duckdb's hand-written WHEN clauses) is not supported by lake", 'use merge_update_condition, merge_insert_condition, merge_update_columns / merge_exclude_columns and merge_update_set_expressions, or a strategy macro of the project (get_incremental_<name>_sql)');
  }
}
const MERGE_KEYS = ['merge_update_condition', 'merge_insert_condition', 'merge_update_set_expressions', 'merge_on_using_columns', 'merge_returning_columns', 'merge_clauses'] as const;

/**
 * Effective incremental strategy: merge with a unique_key, else append (a dbt project's model with a
 * unique_key and no strategy has delete+insert set by the compiler, as dbt-duckdb's default).
 */
export function strategyOf(c: ModelConfig): NonNullable<ModelConfig['incremental_strategy']> {
  return c.incremental_strategy ?? (c.unique_key?.length ? 'merge' : 'append');
}

const BATCH_SIZES = new Set(['hour', 'day', 'month', 'year']);

/** dbt's microbatch: event_time, batch_size and begin are required; lookback is a count of batches. */
function microbatchProblems(c: ModelConfig, add: (message: string, hint: string) => void): void {
  if (typeof c.event_time !== 'string' || !c.event_time.trim()) add("incremental_strategy 'microbatch' needs event_time", "add event_time='<column>': the model's column that says when a row happened (each batch replaces the rows of its time range)");
  if (!BATCH_SIZES.has(String(c.batch_size))) add(c.batch_size === undefined ? "incremental_strategy 'microbatch' needs batch_size" : `batch_size must be hour, day, month or year, not '${String(c.batch_size)}'`, "add batch_size='day' (or hour, month, year): the time range of one batch");
  if (c.begin === undefined || c.begin === null || c.begin === '') add("incremental_strategy 'microbatch' needs begin", "add begin='2024-01-01': where the first build (and --full-refresh) starts");
  else if (parseEventTime(c.begin) === undefined) add(`begin '${String(c.begin)}' is not a date or timestamp`, "write begin='2024-01-01' or begin='2024-01-01 00:00:00' (UTC)");
  if (c.unique_key?.length) add("incremental_strategy 'microbatch' does not take a unique_key", "remove unique_key (each batch replaces the rows of its time range), or use incremental_strategy='merge'");
  if (c.lookback !== undefined && !(Number.isInteger(Number(c.lookback)) && Number(c.lookback) >= 0)) add(`lookback must be a whole number of batches (0 or more), not '${String(c.lookback)}'`, 'e.g. lookback=1 (the default): an incremental run also rebuilds the batch before the current one');
}

const HARD_DELETES = new Set(['ignore', 'invalidate', 'new_record']);

/** A dbt snapshot's config: a strategy, a unique_key, and what the strategy reads. */
function snapshotProblems(c: ModelConfig, add: (message: string, hint: string) => void): void {
  const strategy = c.strategy;
  if (strategy === undefined) add('a snapshot needs a strategy', "add strategy='timestamp' (with updated_at='<column>') or strategy='check' (with check_cols=['<column>', ...] or 'all') to its config");
  else if (strategy !== 'timestamp' && strategy !== 'check') add(`unknown snapshot strategy '${String(strategy)}'`, "use strategy='timestamp' or strategy='check'");
  if (!c.unique_key?.length) add('a snapshot needs a unique_key', "add unique_key='id' (or a list of columns) to its config: the key whose history it keeps");
  if (strategy === 'timestamp' && (typeof c.updated_at !== 'string' || !c.updated_at)) add("strategy 'timestamp' needs updated_at", "add updated_at='<column>': the column that says when a row last changed");
  const cols = c.check_cols;
  if (strategy === 'check' && !(typeof cols === 'string' && cols) && !(Array.isArray(cols) && cols.length > 0 && cols.every((x) => typeof x === 'string'))) {
    add("strategy 'check' needs check_cols", "add check_cols=['<column>', ...] (the columns whose change makes a new version), or check_cols='all'");
  }
  if (c.hard_deletes !== undefined && c.invalidate_hard_deletes !== undefined) add('hard_deletes and invalidate_hard_deletes are both set', "keep hard_deletes (invalidate_hard_deletes: true is hard_deletes: 'invalidate')");
  if (c.hard_deletes !== undefined && !HARD_DELETES.has(String(c.hard_deletes))) add(`unknown hard_deletes '${String(c.hard_deletes)}'`, 'use ignore, invalidate or new_record');
  const names = c.snapshot_meta_column_names;
  if (names !== undefined && (typeof names !== 'object' || names === null || Array.isArray(names))) add('snapshot_meta_column_names must be a mapping', 'e.g. {dbt_valid_from: valid_from, dbt_valid_to: valid_to}');
}
