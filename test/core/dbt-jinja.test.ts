/**
 * The Jinja of dbt models, checked against what real `dbt compile` / `dbt run` (dbt 1.9,
 * dbt-duckdb) give for the same model: each case builds a small dbt project with `lake run` and
 * reads the table back from DuckDB.
 */
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { lake, query, writeProject } from './helpers.js';

/** A dbt project of `models` (name → SQL) and `macros`, built with `lake run`; the database file. */
function runDbt(models: Record<string, string>, extra: Record<string, string> = {}): { dir: string; db: string; out: string; code: number } {
  const files: Record<string, string> = {
    'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nmodels:\n  p:\n    +materialized: table\n',
    'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
    ...extra,
  };
  for (const [name, sql] of Object.entries(models)) files[`models/${name}.sql`] = sql;
  const dir = writeProject(files);
  const r = lake(dir, ['run']);
  return { dir, db: path.join(dir, 'p.duckdb'), out: r.stdout + r.stderr, code: r.code };
}

/** The rows of model `name` (its lines of SQL) once `lake run` has built it (which must succeed). */
async function built(name: string, lines: string[]): Promise<Record<string, unknown>[]> {
  const { db, out, code } = runDbt({ [name]: lines.join('\n') });
  expect(code, out).toBe(0);
  return query(db, `select * from main.${name}`);
}

describe("dbt's Jinja context", () => {
  it('gives modules.itertools as dbt does: product, chain(.from_iterable), combinations, permutations, islice, zip_longest, accumulate, compress, tee, starmap', async () => {
    // What dbt compile gives for the same model.
    expect(await built('it', [
      '{% set it = modules.itertools %}',
      "select $${{ it.product([1, 2], ['a']) | list }}$$ as pr, $${{ it.product('ab', repeat=2) | list }}$$ as pr2,",
      "$${{ it.chain([1], [2, 3]) | list }}|{{ it.chain.from_iterable([[1], [2, 3]]) | list }}$$ as ch,",
      "$${{ it.combinations([1, 2, 3], 2) | list }}|{{ it.combinations([1, 2], 3) | list }}$$ as co,",
      "$${{ it.combinations_with_replacement('ab', 2) | list }}$$ as cr,",
      "$${{ it.permutations([1, 2, 3], 2) | list }}|{{ it.permutations('ab') | list }}$$ as pe,",
      "$${{ it.islice([1, 2, 3, 4, 5], 1, 4) | list }}|{{ it.islice('abcdef', 2) | list }}$$ as sl,",
      "$${{ it.zip_longest([1, 2, 3], 'ab', fillvalue='-') | list }}$$ as zl,",
      "$${{ it.accumulate([1, 2, 3]) | list }}|{{ it.compress('abc', [1, 0, 1]) | list }}|{{ it.repeat('x', 2) | list }}|{{ it.tee([1, 2]) | length }}$$ as mi",
    ])).toEqual([{
      pr: "[(1, 'a'), (2, 'a')]", pr2: "[('a', 'a'), ('a', 'b'), ('b', 'a'), ('b', 'b')]",
      ch: '[1, 2, 3]|[1, 2, 3]',
      co: '[(1, 2), (1, 3), (2, 3)]|[]',
      cr: "[('a', 'a'), ('a', 'b'), ('b', 'b')]",
      pe: "[(1, 2), (1, 3), (2, 1), (2, 3), (3, 1), (3, 2)]|[('a', 'b'), ('b', 'a')]",
      sl: "[2, 3, 4]|['a', 'b']",
      zl: "[(1, 'a'), (2, 'b'), (3, '-')]",
      mi: "[1, 3, 6]|['a', 'c']|['x', 'x']|2",
    }]);
  });

  it('says that an endless modules.itertools.count() is not available, at the model', () => {
    const { out, code } = runDbt({ endless: "select 1 as x\n{% for a, b in zip(['x'], modules.itertools.count()) %}{% endfor %}" });
    expect(code).toBe(2);
    expect(out).toContain('models/endless.sql:2:50: error LAKE-T001');
    expect(out).toContain('modules.itertools.count() without an end is not available in lake');
  });

  it("formats str.format's fields as Python: format specs, None/True/lists, !r, {0.attr}/{k[0]}, a date's strftime spec, half-way floats to even", async () => {
    // What dbt compile gives for the same model.
    expect(await built('fmt', [
      '{% set d = modules.datetime.datetime(2024, 3, 5, 7, 8, 9) %}',
      `select \$\${{ "{:>5}|{:<5}|{:^7}|{:*^7}".format("r", "l", "c", "s") }}$$ as al,`,
      `\$\${{ "{:05d}|{:+d}|{:,}|{:_}|{:x}|{:#x}|{:o}|{:#b}".format(42, 5, 1234567, 1234567, 255, 255, 8, 5) }}$$ as ints,`,
      `\$\${{ "{:.2f}|{:8.3f}|{:e}|{:.2e}|{:g}|{:.3g}|{:.1%}|{:,.2f}|{:010.3f}|{:-^10.1f}".format(3.14159, 2.5, 12345.678, 0.000123, 0.0001, 1234.5, 0.256, 1234567.891, -3.14159, 2.25) }}$$ as floats,`,
      `\$\${{ "{}|{}|{}|{}|{!r}|{}".format(none, true, [1, 'a'], {'k': 1}, 'x', 2.0) }}$$ as objs,`,
      `\$\${{ "{0}{1}{0}|{a[0]}|{b.k}|{2:%Y-%m-%d %H:%M}".format('x', 'y', d, a=[5], b={'k': 'v'}) }}$$ as fields,`,
      `\$\${{ "{:>{w}}|{:.3}|{:10}|".format("z", "abcdef", 12, w=4) }}$$ as nested,`,
      `\$\${{ "%r|%s|%.1f" % ('q', none, 2.25) }}$$ as pct`,
    ])).toEqual([{
      al: '    r|l    |   c   |***s***',
      ints: '00042|+5|1,234,567|1_234_567|ff|0xff|10|0b101',
      floats: '3.14|   2.500|1.234568e+04|1.23e-04|0.0001|1.23e+03|25.6%|1,234,567.89|-00003.142|---2.2----',
      objs: "None|True|[1, 'a']|{'k': 1}|'x'|2.0",
      fields: 'xyx|5|v|2024-03-05 07:08',
      nested: '   z|abc|        12|',
      pct: "'q'|None|2.2",
    }]);
  });

  it("stops at str.format's errors as Python does: '{}' beside '{0}', a field without its argument", () => {
    const mixed = runDbt({ mixed: `select 1 as x\n{% set s = "{0}-{}".format(1, 2) %}` });
    expect(mixed.code).toBe(2);
    expect(mixed.out).toContain('models/mixed.sql:2');
    expect(mixed.out).toContain("'{0}-{}'.format(...): cannot switch from manual field specification to automatic field numbering");
    const missing = runDbt({ missing: `select '{{ "{a}-{b}".format(a=1) }}' as x` });
    expect(missing.code).toBe(2);
    expect(missing.out).toContain("'{a}-{b}'.format(...): no argument for {b} (Python raises KeyError)");
  });

  it("reads and writes YAML and JSON as dbt does: fromyaml is YAML 1.1, toyaml is PyYAML's safe_dump, tojson takes sort_keys and keeps floats", async () => {
    // What dbt compile gives for the same model.
    expect(await built('y', [
      `{% set y = fromyaml("a: yes\nc: 1.0\ne: 0o17\ni: 010\nj: on\nk: 'no'\n") %}`,
      "{% set d = {'name': 'm', 'cols': [{'name': 'id', 'tests': ['unique', 'not_null']}], 'empty': [], 'num': 1.5, 'q': 'yes', 'colon': 'a: b', 'digits': '123', 'blank': '', 'multi': 'l1\\nl2', 'uni': 'café'} %}",
      `select \$\${{ y }}|{{ fromyaml("[1, 2") }}|{{ fromjson("{bad") }}|{{ fromyaml("[1", default="d") }}$$ as fy,`,
      `\$\${{ toyaml(d) }}$$ as ty, \$\${{ toyaml({'b': 1, 'a': [[1, 2]]}, sort_keys=true) }}|{{ toyaml('abc') }}$$ as ty2,`,
      `\$\${{ tojson({'b': 2.0, 'a': [1.5, none]}) }}|{{ tojson({'b': 1, 'a': 2}, sort_keys=true) }}$$ as tj`,
    ])).toEqual([{
      fy: "{'a': True, 'c': 1.0, 'e': '0o17', 'i': 8, 'j': True, 'k': 'no'}|None|None|d",
      ty: "name: m\ncols:\n- name: id\n  tests:\n  - unique\n  - not_null\nempty: []\nnum: 1.5\nq: 'yes'\ncolon: 'a: b'\ndigits: '123'\nblank: ''\nmulti: 'l1\n\n  l2'\nuni: \"caf\\xE9\"\n",
      ty2: 'a:\n- - 1\n  - 2\nb: 1\n|abc\n...\n',
      tj: '{"b": 2.0, "a": [1.5, null]}|{"a": 2, "b": 1}',
    }]);
  });

  it("writes dbt's cross-database macros as dbt-duckdb does: datediff of text dates and by weeks, dateadd's whole intervals, split_part past the end, type_float, date, equals", async () => {
    // What dbt run (dbt-duckdb) builds from the same model.
    expect(await built('x', [
      "with t as (select '2024-01-15 10:00:00' as s1, '2024-01-17 08:30:00' as s2, date '2024-01-01' as d1, 'a-b-c' as txt)",
      "select {{ dbt.datediff('s1', 's2', 'day') }} as dd_text, {{ dbt.datediff('d1', \"date '2024-03-01'\", 'hour') }} as dd_hour,",
      "{{ dbt.datediff(\"date '2024-01-07'\", \"date '2024-01-08'\", 'week') }} as wk1, {{ dbt.datediff(\"date '2024-01-08'\", \"date '2024-01-07'\", 'week') }} as wk2,",
      "{{ dbt.datediff(\"'2024-01-01'\", \"'2024-02-20'\", 'week') }} as wk3,",
      "{{ dbt.dateadd('day', '1.6', 'd1') }} as da_frac, {{ dbt.dateadd('quarter', 1, 'd1') }} as da_q, {{ dbt.dateadd('week', 2, 'd1') }} as da_w,",
      "{{ dbt.split_part('txt', \"'-'\", 5) }} as sp5, {{ dbt.split_part('txt', \"'-'\", -1) }} as sp_last,",
      "cast(1.5 as {{ dbt.type_float() }}) as f, typeof(cast(1.5 as {{ dbt.type_float() }})) as ft, {{ dbt.date(2024, 2, 29) }} as dte, {{ dbt.equals('1', 'null') }} as eq, {{ dbt.get_powers_of_two(5) }} as p2",
      'from t',
    ])).toEqual([{
      dd_text: 2, dd_hour: 1440, wk1: 0, wk2: 0, wk3: 7,
      da_frac: '2024-01-03T00:00:00.000Z', da_q: '2024-04-01T00:00:00.000Z', da_w: '2024-01-15T00:00:00.000Z',
      sp5: null, sp_last: 'c', f: 1.5, ft: 'FLOAT', dte: '2024-02-29T00:00:00.000Z', eq: null, p2: 3,
    }]);
  });

  it("unpacks {% set a, b = ... %} as Jinja does, and takes float's default, batch's fill_with, center's fill and tojson's indent", async () => {
    // What dbt compile gives for the same model.
    expect(await built('u', [
      '{% set a, b = [1, 2] %}{% set c, d = 3, 4 %}{%- set x, y, z = "xyz" -%}',
      "select $${{ a }}{{ b }}{{ c }}{{ d }}{{ z }}{% for i in [1] %}{% set p, q = (i, 5) %}{{ p + q }}{% endfor %}$$ as un,",
      "$${{ 'x' | float }}|{{ 'x' | float(1.5) }}|{{ [1, 2, 3, 4, 5] | batch(2, 0) | list }}|{{ 'ab'.center(6, '-') }}|{{ 'a'.center(4, '*') }}$$ as fi,",
      "$${{ {'b': [1, 2], 'a': {}} | tojson(indent=2) }}$$ as tj",
    ])).toEqual([{
      un: '1234z6',
      fi: '0.0|1.5|[[1, 2], [3, 4], [5, 0]]|--ab--|*a**',
      tj: '{\n  "a": {},\n  "b": [\n    1,\n    2\n  ]\n}',
    }]);
  });
});
