/**
 * dbt's macros that lake writes for DuckDB itself: the cross-database ones (`dbt.dateadd`...), and
 * the package macros it uses in place of an installed package's (those that query the database to
 * write their SQL). All take Jinja keyword arguments by their dbt parameter names.
 */
import { bindArgs } from './call-args.js';
import { toList } from './python-repr.js';

type Fn = (...args: unknown[]) => unknown;

/**
 * dbt's cross-database macros (`dbt.<name>(...)`, also callable as `dbt_utils.<name>` in older
 * projects would be a package: not these), written for DuckDB.
 */
export function crossDatabaseMacros(): Record<string, Fn> {
  const s = (v: unknown) => String(v);
  return {
    current_timestamp: () => 'now()',
    current_timestamp_in_utc_backcompat: () => "(now() at time zone 'UTC')",
    type_string: () => 'varchar',
    type_timestamp: () => 'timestamp',
    type_int: () => 'integer',
    type_bigint: () => 'bigint',
    // dbt's default__type_float: translate_type('float'), which dbt-duckdb leaves as float (DuckDB's 4-byte REAL).
    type_float: () => 'float',
    type_numeric: () => 'numeric(28,6)',
    type_boolean: () => 'boolean',
    // dbt-duckdb's duckdb__dateadd: the interval cast to bigint, a quarter as 3 months, a week as 7 days.
    dateadd: (datepart, interval, from_date_or_timestamp) => {
      const [unit, from, n] = [s(datepart).toLowerCase(), s(from_date_or_timestamp), `cast(${s(interval)} as bigint)`];
      return unit === 'quarter' ? `(${from} + (${n} * 3) * interval 1 month)` : unit === 'week' ? `(${from} + (${n} * 7) * interval 1 day)` : `(${from} + ${n} * interval 1 ${unit})`;
    },
    // dbt-duckdb's duckdb__datediff: both sides as timestamps (text dates work), weeks counted its way.
    datediff: (first_date, second_date, datepart) => {
      const [a, b] = [s(first_date), s(second_date)];
      if (s(datepart) !== 'week') return `(date_diff('${s(datepart)}', (${a})::timestamp, (${b})::timestamp))`;
      return `((date_diff('day', (${a})::timestamp, (${b})::timestamp)) // 7 + case when date_part('dow', (${a})::timestamp) <= date_part('dow', (${b})::timestamp) then case when ${a} <= ${b} then 0 else -1 end else case when ${a} <= ${b} then 1 else 0 end end)`;
    },
    date_trunc: (datepart, date) => `date_trunc('${s(datepart)}', ${s(date)})`,
    // dbt's default__last_day: a DATE.
    last_day: (date, datepart) => `cast(date_trunc('${s(datepart)}', ${s(date)}) + interval 1 ${s(datepart)} - interval 1 day as date)`,
    concat: (fields) => (Array.isArray(fields) ? fields.map(s).join(' || ') : s(fields)),
    hash: (field) => `md5(cast(${s(field)} as varchar))`,
    // dbt's default__safe_cast (dbt-duckdb has no own): a plain cast.
    safe_cast: (field, type) => `cast(${s(field)} as ${s(type)})`,
    cast: (field, type) => `cast(${s(field)} as ${s(type)})`,
    // dbt-duckdb's duckdb__split_part: a part past the end is NULL (DuckDB's split_part gives '').
    split_part: (string_text, delimiter_text, part_number) => `string_split(${s(string_text)}, ${s(delimiter_text)})[${s(part_number)}]`,
    // dbt-duckdb's duckdb__date.
    date: (year, month, day) => `make_date(${s(year)}, ${s(month)}, ${s(day)})`,
    // dbt 1.9's default__equals without the enable_truthy_nulls_equals_macro behaviour flag (off by default).
    equals: (expr1, expr2) => `(${s(expr1)} = ${s(expr2)})`,
    get_powers_of_two: (upper_bound) => {
      if (Number(upper_bound) <= 0) throw new Error('upper bound must be positive');
      for (let i = 1; i < 100; i++) if (Number(upper_bound) <= 2 ** i) return i;
      return undefined;
    },
    position: (substring_text, string_text) => `position(${s(substring_text)} in ${s(string_text)})`,
    length: (expression) => `length(${s(expression)})`,
    right: (string_text, length_expression) => `right(${s(string_text)}, ${s(length_expression)})`,
    replace: (field, old_chars, new_chars) => `replace(${s(field)}, ${s(old_chars)}, ${s(new_chars)})`,
    // dbt's order_by_clause is a whole clause ("order by n"); limit_num keeps the first n values.
    listagg: (measure, delimiter_text, order_by_clause, limit_num) => {
      const delim = delimiter_text === undefined || delimiter_text === null ? "','" : s(delimiter_text);
      const order = order_by_clause ? ` ${/^\s*order\s+by\b/i.test(s(order_by_clause)) ? s(order_by_clause) : `order by ${s(order_by_clause)}`}` : '';
      return limit_num ? `array_to_string((array_agg(${s(measure)}${order}))[1:${s(limit_num)}], ${delim})` : `string_agg(${s(measure)}, ${delim}${order})`;
    },
    // dbt's date_spine: one row per datepart from start (included) to end (excluded), as date_<datepart>.
    // dbt's: as many periods from the start as date_diff counts boundaries between start and end,
    // those on or before the end (a start off the datepart's boundary keeps its offset).
    date_spine: (datepart, start_date, end_date) => {
      const [dp, start, end] = [s(datepart), `cast(${s(start_date)} as timestamp)`, `cast(${s(end_date)} as timestamp)`];
      return `select * from (select unnest(generate_series(${start}, ${start} + (date_diff('${dp}', ${start}, ${end}) - 1) * interval 1 ${dp}, interval 1 ${dp})) as date_${dp}) where date_${dp} <= ${end}`;
    },
    generate_series: (upper_bound) => `select unnest(generate_series(1, ${s(upper_bound)})) as generated_number`,
    any_value: (expression) => `any_value(${s(expression)})`,
    bool_or: (expression) => `bool_or(${s(expression)})`,
    cast_bool_to_text: (field) => `cast(${s(field)} as varchar)`,
    escape_single_quotes: (expression) => s(expression).replace(/'/g, "''"),
    string_literal: (value) => `'${s(value).replace(/'/g, "''")}'`,
    except: () => 'except',
    intersect: () => 'intersect',
    array_construct: (inputs) => `[${toList(inputs).map(s).join(', ')}]`,
    array_append: (array, new_element) => `list_append(${s(array)}, ${s(new_element)})`,
    array_concat: (array_1, array_2) => `list_concat(${s(array_1)}, ${s(array_2)})`,
  };
}

/**
 * A function of positional parameters that also takes Jinja keyword arguments (Nunjucks passes
 * them as a last object marked `__keywords`): `dbt.date_spine(datepart="day", start_date=...)`.
 * The names are the function's own parameter names.
 */
export function keywordCallable(fn: Fn): Fn {
  const params = /^\s*(?:function\s*\w*\s*)?\(([^)]*)\)/.exec(fn.toString())?.[1]?.split(',').map((p) => p.trim().replace(/\s*=.*$/, '')).filter(Boolean) ?? [];
  if (params.length === 0) return fn;
  return (...args: unknown[]) => fn(...bindArgs(args, params));
}

/**
 * Package macros lake writes itself, used in place of the installed package's: those that query
 * the database to write their SQL, done with DuckDB's own star expressions instead (`* EXCLUDE`,
 * `COLUMNS(...) AS`, `UNION ALL BY NAME`), and date_spine (dbt_utils counts its periods with a query).
 * Each also answers for its `default__` / `duckdb__` implementation.
 */
export function packageBuiltIns(): Record<string, Record<string, Fn>> {
  const s = (v: unknown) => String(v);
  const q = (c: unknown) => `"${s(c).replace(/"/g, '""')}"`;
  const lit = (v: unknown) => `'${s(v).replace(/'/g, "''")}'`;
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v]);
  const spine = crossDatabaseMacros().date_spine!;
  // dbt_utils.star: the columns of `from` but `except`, optionally qualified and renamed. Without
  // relation_alias it is the query's `*` (dbt lists `from`'s columns: the same in a query over
  // `from` alone; over a join, give relation_alias).
  const star = (from: unknown, relation_alias?: unknown, except?: unknown, prefix?: unknown, suffix?: unknown) => {
    const ex = list(except);
    const all = `${relation_alias ? `${s(relation_alias)}.` : ''}*${ex.length ? ` exclude (${ex.map(q).join(', ')})` : ''}`;
    const [p, x] = [prefix ? s(prefix) : '', suffix ? s(suffix) : ''];
    return p || x ? `columns(${all}) as ${lit(`${p}\\0${x}`)}` : all;
  };
  // dbt_utils.union_relations: every relation's rows under the union of their columns (missing
  // ones NULL), with the relation's name in source_column_name.
  const unionRelations = (relations: unknown, column_override?: unknown, include?: unknown, exclude?: unknown, source_column_name?: unknown, where?: unknown) => {
    const inc = list(include).map((c) => s(c).toLowerCase());
    const exc = list(exclude).map((c) => s(c).toLowerCase());
    const cols = inc.length ? `columns(lambda c: lower(c) in (${inc.map(lit).join(', ')}))`
      : exc.length ? `columns(lambda c: lower(c) not in (${exc.map(lit).join(', ')}))` : '*';
    const src = source_column_name === undefined ? '_dbt_source_relation' : source_column_name;
    return list(relations).map((r) => `select ${src ? `cast(${lit(r)} as varchar) as ${q(src)}, ` : ''}${cols}\nfrom ${s(r)}${where ? `\nwhere ${s(where)}` : ''}`).join('\nunion all by name\n');
  };
  const dates = { date_spine: keywordCallable(spine) };
  return {
    dbt_utils: { ...dates, star: keywordCallable(star), union_relations: keywordCallable(unionRelations) },
    dbt_date: dates,
  };
}
