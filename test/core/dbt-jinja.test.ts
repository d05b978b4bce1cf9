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

describe("dbt's Jinja context", () => {
  it('gives modules.itertools as dbt does: product, chain(.from_iterable), combinations, permutations, islice, zip_longest, accumulate, compress, tee, starmap', async () => {
    const { db, out, code } = runDbt({
      it: [
        '{% set it = modules.itertools %}',
        "select $${{ it.product([1, 2], ['a']) | list }}$$ as pr, $${{ it.product('ab', repeat=2) | list }}$$ as pr2,",
        "$${{ it.chain([1], [2, 3]) | list }}|{{ it.chain.from_iterable([[1], [2, 3]]) | list }}$$ as ch,",
        "$${{ it.combinations([1, 2, 3], 2) | list }}|{{ it.combinations([1, 2], 3) | list }}$$ as co,",
        "$${{ it.combinations_with_replacement('ab', 2) | list }}$$ as cr,",
        "$${{ it.permutations([1, 2, 3], 2) | list }}|{{ it.permutations('ab') | list }}$$ as pe,",
        "$${{ it.islice([1, 2, 3, 4, 5], 1, 4) | list }}|{{ it.islice('abcdef', 2) | list }}$$ as sl,",
        "$${{ it.zip_longest([1, 2, 3], 'ab', fillvalue='-') | list }}$$ as zl,",
        "$${{ it.accumulate([1, 2, 3]) | list }}|{{ it.compress('abc', [1, 0, 1]) | list }}|{{ it.repeat('x', 2) | list }}|{{ it.tee([1, 2]) | length }}$$ as mi",
      ].join('\n'),
    });
    expect(code, out).toBe(0);
    // What dbt compile gives for the same model.
    expect(await query(db, 'select * from main.it')).toEqual([{
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
});
