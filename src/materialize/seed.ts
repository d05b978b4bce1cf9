/**
 * Seeds: a CSV file loaded into a table with read_csv (declared column_types win over detection).
 * In a lake project DuckDB's sniffer types the other columns; in a dbt project dbt's agate rules
 * do (`dbtSeedTypesSql` finds them, `planSeed` casts to them), so a seed gets the table dbt-duckdb
 * would create: `02134` an INTEGER, `01/05/2024` and `yes` text, an all-empty column an INTEGER.
 */
import type { SeedNode } from '../core/types.js';
import { seedRelation } from '../core/types.js';
import type { Dialect } from '../adapter/types.js';
import type { Statement } from './types.js';
import { buildAndSwap } from './common.js';

/** `inferred`: the column types dbt's rules gave (`dbtSeedTypes`), for a seed with `typing: 'dbt'`. */
export function planSeed(seed: SeedNode, d: Dialect, existing: { kind: 'table' | 'view'; columns: [] } | undefined, inferred?: readonly { name: string; type: string }[]): Statement[] {
  const types = Object.entries(seed.columnTypes);
  const typeArg = types.length ? `, types = {${types.map(([k, v]) => `${d.literal(k)}: ${d.literal(v)}`).join(', ')}}` : '';
  let select = `select * from read_csv(${d.literal(seed.absPath)}, header = true, auto_detect = true, sample_size = -1${typeArg})`;
  if (inferred) {
    // Text as written (an empty field is NULL), the rest cast as dbt-duckdb's COPY would (`null` read as NULL too).
    const declared = new Set(types.map(([k]) => k));
    const cols = inferred.map((c) => {
      const q = d.quote(c.name);
      if (declared.has(c.name) || c.type === 'VARCHAR') return q;
      return `cast(case when lower(trim(${q})) in ('', 'null') then null else trim(${q}) end as ${c.type}) as ${q}`;
    });
    select = `select ${cols.join(', ')} from ${seedAsText(seed, d, typeArg)}`;
  }
  return buildAndSwap({ dialect: d, relation: seedRelation(seed), existing, incoming: [], fullRefresh: true, projectRoot: '' }, select);
}

/**
 * One query over a seed read as text whose row gives, per column, the tests of dbt's agate type
 * tester (`c<i>_<test>`): every value (other than '' and 'null') a number, one with decimals (a
 * non-zero digit after the point: agate reads `3.0` as 3, so `3.0` and `4` are INTEGER), the
 * largest magnitude, a `%Y-%m-%d` date, a `%Y-%m-%d %H:%M:%S` time, an ISO 8601 date-time, `true`
 * or `false`. `columns` are the seed's column names (from DESCRIBE of the same read).
 */
export function dbtSeedTypesSql(seed: SeedNode, d: Dialect, columns: readonly string[]): string {
  const parts = columns.flatMap((name, i) => {
    const v = `nullif(lower(trim(${d.quote(name)})), 'null')`;
    const ok = (test: string) => `coalesce(bool_and(${v} = '' or ${v} is null or (${test})), true)`;
    return [
      `${ok(`regexp_full_match(${v}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)(e[+-]?[0-9]+)?')`)} as c${i}_number`,
      `coalesce(bool_or(regexp_matches(${v}, '[.][0-9]*[1-9]|e-[0-9]')), false) as c${i}_decimals`,
      `max(abs(try_cast(${v} as double))) as c${i}_magnitude`,
      `${ok(`regexp_full_match(${v}, '[0-9]{4}-[0-9]{2}-[0-9]{2}') and try_strptime(${v}, '%Y-%m-%d') is not null`)} as c${i}_date`,
      `${ok(`regexp_full_match(${v}, '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}') and try_strptime(${v}, '%Y-%m-%d %H:%M:%S') is not null`)} as c${i}_datetime`,
      `${ok(`regexp_full_match(${v}, '[0-9]{4}-?[0-9]{2}-?[0-9]{2}t[0-9]{2}(:?[0-9]{2}(:?[0-9]{2}([.,][0-9]+)?)?)?(z|[+-][0-9]{2}(:?[0-9]{2})?)?') and try_cast(trim(${d.quote(name)}) as timestamp) is not null`)} as c${i}_iso`,
      `${ok(`${v} in ('true', 'false')`)} as c${i}_boolean`,
    ];
  });
  return `select ${parts.join(',\n  ')}\nfrom ${seedAsText(seed, d)}`;
}

/** The seed's file read with every column as text (`typeArg`: its declared column_types). */
export function seedAsText(seed: SeedNode, d: Dialect, typeArg = ''): string {
  return `read_csv(${d.literal(seed.absPath)}, header = true, auto_detect = true, sample_size = -1, all_varchar = true${typeArg})`;
}

/**
 * The column types of dbt's agate rules from `dbtSeedTypesSql`'s row: the first of number (INTEGER,
 * BIGINT past its range, DOUBLE with decimals), date, timestamp, boolean and text that every value
 * fits; a column of no value at all is INTEGER (agate's Number).
 */
export function dbtSeedTypes(columns: readonly string[], row: Readonly<Record<string, unknown>>): { name: string; type: string }[] {
  return columns.map((name, i) => {
    const t = (k: string) => row[`c${i}_${k}`] === true;
    let type = 'VARCHAR';
    if (t('number')) {
      const magnitude = Number(row[`c${i}_magnitude`] ?? 0);
      type = t('decimals') ? 'DOUBLE' : magnitude <= 2147483647 ? 'INTEGER' : magnitude <= 9.2e18 ? 'BIGINT' : 'DOUBLE';
    } else if (t('date')) type = 'DATE';
    else if (t('datetime') || t('iso')) type = 'TIMESTAMP';
    else if (t('boolean')) type = 'BOOLEAN';
    return { name, type };
  });
}

