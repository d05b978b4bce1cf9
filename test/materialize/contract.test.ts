/**
 * dbt's model contracts through the `lake` CLI: a SELECT whose columns differ from the contract
 * fails with dbt's table of mismatches and builds nothing; a table (or an incremental model's
 * first build) is created from the contract — its declared types and constraints — so DuckDB
 * rejects a row that breaks one, leaving the table as it was; a view's contract is checked too.
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { lake, projectYml, query, writeProject } from '../core/helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const yml = (extra = '') => `models:
  - name: people
    config:
      contract: {enforced: true}
    constraints:
      - type: primary_key
        columns: [id]
      - type: check
        expression: "age >= 0"
    columns:
      - name: id
        data_type: int
      - name: name
        data_type: text
        constraints: [{type: not_null}]
      - name: age
        data_type: double
${extra}`;

function project(sql: string, materialized = 'table', extraYml = ''): string {
  const dir = writeProject({
    'project.yml': projectYml(),
    'models/silver/people.sql': `{{ config(materialized='${materialized}') }}\n${sql}\n`,
    'models/silver/people.yml': yml(extraYml),
  });
  dirs.push(dir);
  return dir;
}

const db = (dir: string) => `${dir}/target/t.duckdb`;
const good = "select 1 as id, 'ann' as name, 12.5::double as age union all select 2, 'bob', 40.0";

describe('model contracts', () => {
  test("a SELECT that does not match fails with dbt's table of mismatches, and nothing is built", async () => {
    const dir = project("select '1' as id, 'ann' as name, 3 as extra");
    const r = lake(dir, ['run']);
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain('silver.people: this model has an enforced contract that failed (models/silver/people.sql)');
    expect(out).toMatch(/\| id +\| VARCHAR +\| INTEGER +\| data type mismatch +\|/);
    expect(out).toMatch(/\| age +\| +\| DOUBLE +\| missing in definition \|/);
    expect(out).toMatch(/\| extra +\| INTEGER +\| +\| missing in contract +\|/);
    expect(await query(db(dir), "select count(*)::int as n from information_schema.tables where table_name = 'people'")).toEqual([{ n: 0 }]);
  });

  test('the table is created from the contract: its types and constraints; a row breaking one fails the build and keeps the old table', async () => {
    const dir = project(good);
    expect(lake(dir, ['run']).code).toBe(0);
    const [t] = await query<{ sql: string }>(db(dir), "select sql from duckdb_tables() where table_name = 'people'");
    expect(t!.sql).toMatch(/"name" VARCHAR NOT NULL/);
    expect(t!.sql).toMatch(/PRIMARY KEY ?\(id\)/);
    expect(t!.sql).toMatch(/CHECK\(\(age >= 0\)\)/);
    expect(await query(db(dir), 'select id, name, age from silver.people order by id')).toEqual([{ id: 1, name: 'ann', age: 12.5 }, { id: 2, name: 'bob', age: 40 }]);
    for (const [bad, error] of [
      ["select 1 as id, 'ann' as name, 12.5::double as age union all select 1, 'dup', 1.0", /PRIMARY KEY or UNIQUE constraint violat|Duplicate key/i],
      ["select 1 as id, 'ann' as name, -1.0::double as age", /CHECK constraint failed/i],
      ["select 3 as id, null::varchar as name, 1.0::double as age", /NOT NULL constraint failed/i],
    ] as const) {
      fs.writeFileSync(`${dir}/models/silver/people.sql`, `{{ config(materialized='table') }}\n${bad}\n`);
      const r = lake(dir, ['run']);
      expect(r.code, bad).toBe(1);
      expect(r.stdout + r.stderr).toMatch(error);
      expect((await query(db(dir), 'select count(*)::int as n from silver.people'))[0]).toEqual({ n: 2 });
    }
  });

  test("an incremental model's table keeps the contract's constraints on later runs; a view's contract is checked", async () => {
    const dir = project(`{{ config(on_schema_change='append_new_columns') }}{% if is_incremental() %}select 3 as id, null::varchar as name, 1.0::double as age{% else %}${good}{% endif %}`, 'incremental');
    expect(lake(dir, ['run']).code).toBe(0);
    const r = lake(dir, ['run']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/NOT NULL constraint failed/i);
    const view = project("select 1 as id, 'ann' as name", 'view');
    const v = lake(view, ['run']);
    expect(v.code).toBe(1);
    expect(v.stdout + v.stderr).toMatch(/\| age +\| +\| DOUBLE +\| missing in definition \|/);
  });

  test("numeric is DuckDB's DECIMAL(18,3): a DECIMAL(20,4) column does not match it (it would be rounded); an incremental contract needs on_schema_change append_new_columns or fail", () => {
    const dir = project("select 1 as id, 'ann' as name, 123.4567::decimal(20,4) as age");
    fs.writeFileSync(`${dir}/models/silver/people.yml`, yml().replace('data_type: double', 'data_type: numeric'));
    const r = lake(dir, ['run']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/\| age +\| DECIMAL\(20,4\) +\| DECIMAL\(18,3\) +\| data type mismatch \|/);
    const inc = project(good, 'incremental');
    fs.writeFileSync(`${inc}/models/silver/people.sql`, `{{ config(materialized='incremental', on_schema_change='ignore') }}\n${good}\n`);
    const c = lake(inc, ['compile']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain("an incremental model with an enforced contract must set on_schema_change to 'append_new_columns' or 'fail' (not 'ignore')");
  });

  test('state:modified (and state:modified.contract) sees a change of a contracted data_type or constraint', () => {
    const dir = project(good);
    expect(lake(dir, ['compile']).code).toBe(0);
    fs.cpSync(`${dir}/target`, `${dir}/prod-target`, { recursive: true });
    const ls = (sel: string) => lake(dir, ['ls', '-s', sel, '--state', 'prod-target']).stdout.trim();
    expect(ls('state:modified')).toBe('');
    fs.writeFileSync(`${dir}/models/silver/people.yml`, yml().replace('data_type: text', 'data_type: varchar(20)'));
    expect(ls('state:modified.contract')).toBe('silver.people');
    fs.writeFileSync(`${dir}/models/silver/people.yml`, yml().replace('      - name: age\n', '      - name: age\n        constraints: [{type: not_null}]\n'));
    expect(ls('state:modified')).toBe('silver.people');
    expect(ls('state:modified.body')).toBe('');
    // A model-level constraint is the contract's too.
    fs.writeFileSync(`${dir}/models/silver/people.yml`, yml().replace('        expression: "age >= 0"\n', '        expression: "age >= 1"\n'));
    expect(ls('state:modified.contract')).toBe('silver.people');
  });

  test('a contracted column without a data_type, or with one DuckDB does not know, is named', () => {
    const dir = project("select 1 as id, 'ann' as name, 1.0 as age, 1 as x", 'table', '      - name: x\n');
    let r = lake(dir, ['run']);
    expect(r.stdout + r.stderr).toContain("silver.people: its contract is enforced (contract: {enforced: true}), but 'x' has no data_type");
    fs.writeFileSync(`${dir}/models/silver/people.yml`, yml('      - name: x\n        data_type: wholenumber\n'));
    r = lake(dir, ['run']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('but a data_type is not a type DuckDB knows');
  });
});
