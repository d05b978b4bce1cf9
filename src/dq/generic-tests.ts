/**
 * lake's built-in generic data tests (dbt's four plus the dbt_utils ones people use most): for
 * each, the arguments it needs, the query returning its failing rows (the same SQL dbt runs, so
 * failure counts match), and — where the check is a per-row condition or a plain aggregate — an
 * expression that counts its failures inside one shared scan of the model.
 */
import { createHash } from 'node:crypto';
import type { BatchAggregate } from './types.js';

/** What a generic test is instantiated with. */
export interface GenericInput {
  /** The tested relation (`"silver"."users"`). */
  readonly relation: string;
  /** The relation with `where` applied: dbt's `(select * from R where w) dbt_subquery`, or R. */
  readonly model: string;
  /** The rendered `where` config, if any. */
  readonly where?: string;
  readonly column?: string;
  readonly args: Readonly<Record<string, unknown>>;
  /** SQL of a related relation (relationships' `to`), resolved by the caller. */
  readonly to?: string;
  /** A SQL string literal. */
  literal(s: string): string;
}

export interface Problem {
  readonly message: string;
  readonly hint: string;
}

export interface BuiltinTest {
  readonly name: string;
  /** Needs `column_name` (declared under a column, or given as an argument). */
  readonly needsColumn: boolean;
  check(args: Readonly<Record<string, unknown>>): Problem[];
  sql(t: GenericInput): string;
  aggregate?(t: GenericInput): BatchAggregate;
}

/*
 * Aggregates avoid FILTER clauses on purpose: in DuckDB 1.5 a SELECT with hundreds of
 * `count(*) filter (where ...)` slows down quadratically (800 of them over 1M rows: 13.6 s),
 * while the same counts as `count_if(...)` take 0.15 s. count_if of no true row is NULL, hence
 * the coalesce. A NULL condition counts as not failing, as in the tests' own queries.
 */

/** Rows where `cond` holds, within the test's `where`. */
function countWhere(t: GenericInput, cond: string): string {
  return `coalesce(count_if(${t.where ? `(${t.where}) and ` : ''}(${cond})), 0)`;
}

/** `expr` for rows within the test's `where`, NULL for the others (for count / count distinct / max). */
function within(t: GenericInput, expr: string): string {
  return t.where ? `case when (${t.where}) then ${expr} end` : expr;
}

function rowsWithin(t: GenericInput): string {
  return t.where ? `coalesce(count_if(${t.where}), 0)` : 'count(*)';
}

const num = (v: unknown): number | undefined => (v === undefined || v === null || v === '' ? undefined : Number(v));

function first(args: Readonly<Record<string, unknown>>, ...keys: string[]): unknown {
  for (const k of keys) if (args[k] !== undefined && args[k] !== null) return args[k];
  return undefined;
}

/** `current_date`, `'2024-01-01'`, 10: dbt_utils inserts bounds verbatim, so do we. */
const bound = (v: unknown): string => String(v);

function rangeCondition(t: GenericInput): string {
  const min = first(t.args, 'min_value', 'min');
  const max = first(t.args, 'max_value', 'max');
  const inclusive = t.args.inclusive !== false && t.args.inclusive !== 'false';
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${t.column} ${inclusive ? '>=' : '>'} ${bound(min)}`);
  if (max !== undefined) parts.push(`${t.column} ${inclusive ? '<=' : '<'} ${bound(max)}`);
  return parts.join(' and ');
}

function valuesList(t: GenericInput): string {
  const values = Array.isArray(t.args.values) ? t.args.values : [];
  const quote = t.args.quote !== false && t.args.quote !== 'false';
  return values.map((v) => (quote ? t.literal(String(v)) : String(v))).join(', ');
}

function rowCountBounds(args: Readonly<Record<string, unknown>>): { min?: number; max?: number } {
  const exact = num(first(args, 'equals', 'expected', 'value'));
  if (exact !== undefined) return { min: exact, max: exact };
  return { min: num(first(args, 'min_value', 'min')), max: num(first(args, 'max_value', 'max')) };
}

function rowCountViolation(count: string, args: Readonly<Record<string, unknown>>): string {
  const { min, max } = rowCountBounds(args);
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${count} < ${min}`);
  if (max !== undefined) parts.push(`${count} > ${max}`);
  return parts.join(' or ');
}

const UNITS: Record<string, string> = {
  s: 'second', sec: 'second', secs: 'second', second: 'second', seconds: 'second',
  m: 'minute', min: 'minute', mins: 'minute', minute: 'minute', minutes: 'minute',
  h: 'hour', hr: 'hour', hrs: 'hour', hour: 'hour', hours: 'hour',
  d: 'day', day: 'day', days: 'day', w: 'week', week: 'week', weeks: 'week',
  mo: 'month', mon: 'month', month: 'month', months: 'month', y: 'year', year: 'year', years: 'year',
};

/** `1 day`, `12h`, `30 minutes`, or dbt_utils' `datepart: day, interval: 1` → `'1 day'` for DuckDB. */
export function maxAgeInterval(args: Readonly<Record<string, unknown>>): string | undefined {
  const raw = first(args, 'max_age');
  if (raw === undefined) {
    const part = first(args, 'datepart');
    const n = num(first(args, 'interval'));
    if (typeof part !== 'string' || n === undefined || !Number.isFinite(n) || !UNITS[part.toLowerCase()]) return undefined;
    return `${n} ${UNITS[part.toLowerCase()]}`;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(String(raw));
  if (!m || !UNITS[m[2]!.toLowerCase()]) return undefined;
  return `${m[1]} ${UNITS[m[2]!.toLowerCase()]}`;
}

function recencyField(t: GenericInput): string {
  return String(first(t.args, 'field') ?? t.column);
}

function recencyThreshold(t: GenericInput): string {
  return `now()::timestamp - interval ${t.literal(maxAgeInterval(t.args) ?? '1 day')}`;
}

function combination(args: Readonly<Record<string, unknown>>): string[] {
  const c = first(args, 'combination_of_columns', 'columns');
  return Array.isArray(c) ? c.map(String) : [];
}

const need = (ok: boolean, message: string, hint: string): Problem[] => (ok ? [] : [{ message, hint }]);

export const BUILTIN_TESTS: ReadonlyMap<string, BuiltinTest> = new Map<string, BuiltinTest>([
  ['not_null', {
    name: 'not_null', needsColumn: true, check: () => [],
    sql: (t) => `select *\nfrom ${t.model}\nwhere ${t.column} is null`,
    aggregate: (t) => ({ expr: countWhere(t, `${t.column} is null`), exact: true }),
  }],
  ['unique', {
    name: 'unique', needsColumn: true, check: () => [],
    sql: (t) => `select ${t.column} as unique_field, count(*) as n_records\nfrom ${t.model}\nwhere ${t.column} is not null\ngroup by ${t.column}\nhaving count(*) > 1`,
    // Surplus rows, not duplicated values (dbt's count): zero exactly when the column is unique.
    aggregate: (t) => ({ expr: `count(${within(t, t.column!)}) - count(distinct ${within(t, t.column!)})`, exact: false }),
  }],
  ['accepted_values', {
    name: 'accepted_values', needsColumn: true,
    check: (a) => need(Array.isArray(a.values) && a.values.length > 0, 'accepted_values needs a list of values', 'write accepted_values: {values: [a, b, c]}'),
    sql: (t) => `with all_values as (\n  select ${t.column} as value_field, count(*) as n_records\n  from ${t.model}\n  group by ${t.column}\n)\nselect *\nfrom all_values\nwhere value_field not in (${valuesList(t)})`,
    // Failing rows, not dbt's failing distinct values: zero exactly when the test passes, and a
    // count distinct per test is what makes a shared scan slow. A failing test is recounted exactly.
    aggregate: (t) => ({ expr: countWhere(t, `${t.column} not in (${valuesList(t)})`), exact: false }),
  }],
  ['relationships', {
    name: 'relationships', needsColumn: true,
    check: (a) => [
      ...need(a.to !== undefined && a.to !== null && a.to !== '', 'relationships needs `to` (the parent model)', "write relationships: {to: ref('customers'), field: id}"),
      ...need(typeof a.field === 'string' && a.field !== '', 'relationships needs `field` (the parent column)', "write relationships: {to: ref('customers'), field: id}"),
    ],
    sql: (t) => `with child as (\n  select ${t.column} as from_field\n  from ${t.model}\n  where ${t.column} is not null\n),\nparent as (\n  select ${String(t.args.field)} as to_field\n  from ${t.to}\n)\nselect from_field\nfrom child\nleft join parent on child.from_field = parent.to_field\nwhere parent.to_field is null`,
  }],
  ['expression_is_true', {
    name: 'expression_is_true', needsColumn: false,
    check: (a) => need(typeof a.expression === 'string' && a.expression.trim() !== '', 'expression_is_true needs an expression', "write expression_is_true: {expression: 'amount >= 0'}"),
    sql: (t) => `select *\nfrom ${t.model}\nwhere not (${t.column ? `${t.column} ` : ''}${String(t.args.expression)})`,
    aggregate: (t) => ({ expr: countWhere(t, `not (${t.column ? `${t.column} ` : ''}${String(t.args.expression)})`), exact: true }),
  }],
  ['unique_combination_of_columns', {
    name: 'unique_combination_of_columns', needsColumn: false,
    check: (a) => need(combination(a).length > 0, 'unique_combination_of_columns needs combination_of_columns', 'write unique_combination_of_columns: {combination_of_columns: [user_id, workout_id]}'),
    sql: (t) => {
      const c = combination(t.args).join(', ');
      return `select ${c}, count(*) as n_records\nfrom ${t.model}\ngroup by ${c}\nhaving count(*) > 1`;
    },
    aggregate: (t) => ({ expr: `${rowsWithin(t)} - count(distinct ${within(t, `(${combination(t.args).join(', ')})`)})`, exact: false }),
  }],
  ['accepted_range', {
    name: 'accepted_range', needsColumn: true,
    check: (a) => need(first(a, 'min_value', 'min', 'max_value', 'max') !== undefined, 'accepted_range needs min, max or both', 'write accepted_range: {min: 0, max: 250} (inclusive unless inclusive: false)'),
    sql: (t) => `select *\nfrom ${t.model}\nwhere not (${rangeCondition(t)})`,
    aggregate: (t) => ({ expr: countWhere(t, `not (${rangeCondition(t)})`), exact: true }),
  }],
  ['row_count', {
    name: 'row_count', needsColumn: false,
    check: (a) => {
      const { min, max } = rowCountBounds(a);
      const bad = [min, max].some((v) => v !== undefined && !Number.isFinite(v));
      return need(!bad && (min !== undefined || max !== undefined), 'row_count needs a numeric min, max or both', 'write row_count: {min: 1, max: 1000000}');
    },
    sql: (t) => `select count(*) as row_count\nfrom ${t.model}\nhaving ${rowCountViolation('count(*)', t.args)}`,
    aggregate: (t) => ({ expr: `case when ${rowCountViolation(rowsWithin(t), t.args)} then 1 else 0 end`, exact: true }),
  }],
  ['recency', {
    name: 'recency', needsColumn: false,
    check: (a) => [
      ...need(maxAgeInterval(a) !== undefined, 'recency needs max_age (like 1 day, 12 hours) or datepart and interval', "write recency: {field: updated_at, max_age: '1 day'}"),
    ],
    sql: (t) => `select max(${recencyField(t)}) as most_recent, ${recencyThreshold(t)} as threshold\nfrom ${t.model}\nhaving max(${recencyField(t)}) is null or max(${recencyField(t)}) < ${recencyThreshold(t)}`,
    aggregate: (t) => {
      const m = `max(${within(t, recencyField(t))})`;
      return { expr: `case when ${m} is null or ${m} < ${recencyThreshold(t)} then 1 else 0 end`, exact: true };
    },
  }],
]);

/**
 * A dbt_expectations test run as lake's built-in (when that package is not installed): its
 * arguments in the built-in's words, `row_condition` as a filter on the rows tested, and a problem
 * for any argument the built-in cannot honour (a wrong result would be worse than a refusal).
 */
export function aliasArguments(name: string, args: Readonly<Record<string, unknown>>): { args: Record<string, unknown>; rowCondition?: string; problems: Problem[] } {
  const out: Record<string, unknown> = {};
  const problems: Problem[] = [];
  let rowCondition: string | undefined;
  const rename: Readonly<Record<string, Readonly<Record<string, string>>>> = {
    expect_column_values_to_be_in_set: { value_set: 'values', quote_values: 'quote' },
    expect_column_values_to_be_between: { min_value: 'min_value', max_value: 'max_value' },
    expect_table_row_count_to_be_between: { min_value: 'min_value', max_value: 'max_value' },
    expect_compound_columns_to_be_unique: { column_list: 'combination_of_columns' },
  };
  for (const [k, v] of Object.entries(args)) {
    if (k === 'column_name' || v === undefined || v === null) continue;
    if (k === 'row_condition') { rowCondition = String(v); continue; }
    if (k === 'strictly' && name === 'expect_column_values_to_be_between') { if (v === true || v === 'true') out.inclusive = false; continue; }
    if (k === 'ignore_row_if' && name === 'expect_compound_columns_to_be_unique' && v === 'any_value_is_missing') { out.__skip_any_missing = true; continue; }
    if (k === 'ignore_row_if' && name === 'expect_compound_columns_to_be_unique' && v === 'all_values_are_missing') continue;
    const to = rename[name]?.[k];
    if (to) { out[to] = v; continue; }
    problems.push({ message: `argument ${k} of dbt_expectations.${name} is not one lake's built-in version of the test honours`, hint: 'install dbt_expectations (dbt deps: lake then runs the package\'s own test), or leave the argument out' });
  }
  if (name === 'expect_compound_columns_to_be_unique') {
    // dbt_expectations leaves out rows whose columns are all (or, asked, any) missing.
    const cols = Array.isArray(out.combination_of_columns) ? out.combination_of_columns.map(String) : [];
    if (cols.length) {
      const missing = cols.map((c) => `${c} is null`).join(out.__skip_any_missing ? ' or ' : ' and ');
      rowCondition = rowCondition ? `(${rowCondition}) and not (${missing})` : `not (${missing})`;
    }
    delete out.__skip_any_missing;
  }
  return { args: out, ...(rowCondition ? { rowCondition } : {}), problems };
}

/** dbt_utils' and dbt_expectations' spellings of the same tests. */
export const TEST_ALIASES: Readonly<Record<string, string>> = {
  expect_column_values_to_not_be_null: 'not_null',
  expect_column_values_to_be_unique: 'unique',
  expect_column_values_to_be_in_set: 'accepted_values',
  expect_column_values_to_be_between: 'accepted_range',
  expect_table_row_count_to_be_between: 'row_count',
  expect_compound_columns_to_be_unique: 'unique_combination_of_columns',
};

/**
 * dbt's synthesized test name: test name, target name, then every argument (sorted by key,
 * lists and maps flattened) with non-word characters turned into `_`, joined by `__`.
 */
export function synthesizeTestName(testType: string, targetName: string, args: Readonly<Record<string, unknown>>): string {
  const flat: string[] = [];
  for (const key of Object.keys(args).sort()) {
    if (key === 'model') continue;
    const v = args[key];
    const parts = Array.isArray(v) ? v : v !== null && typeof v === 'object' ? Object.values(v) : [v];
    flat.push(...parts.map(pyStr));
  }
  const unique = flat.map((a) => a.replace(/[^0-9a-zA-Z_]+/g, '_')).join('__');
  return `${testType}_${targetName}_${unique}`;
}

/**
 * dbt's alias for a test whose synthesized name (`fullName`, of `testType` on `targetName`) has 64
 * characters or more: the first 30 of `<testType>_<targetName>`, `_` and the md5 of the full name
 * (dbt's synthesize_generic_test_names; the relation its failures are stored in). Shorter names
 * are their own alias: undefined.
 */
export function dbtTestAlias(testType: string, targetName: string, fullName: string): string | undefined {
  if (fullName.length < 64) return undefined;
  return `${`${testType}_${targetName}`.slice(0, 30)}_${createHash('md5').update(fullName).digest('hex')}`;
}

/** Python's str() for the values YAML produces (dbt builds names in Python). */
function pyStr(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
