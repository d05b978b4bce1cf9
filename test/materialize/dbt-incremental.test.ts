/**
 * Incremental models of a dbt project (dbt_project.yml + profiles.yml) built as dbt 1.9 with
 * dbt-duckdb builds them: the default strategy, unique_key spellings (a quoted name, an
 * expression) and the aliases incremental_predicates are written against. Each case was run side
 * by side with dbt-duckdb 1.9 first; the expected rows are what dbt left in its table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { lakeRun, withDb, writeProject } from './helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A dbt project whose source raw.src is a table in the target database. */
function dbtProject(model: string): string {
  const root = writeProject({
    'dbt_project.yml': 'name: t\nprofile: t\nversion: "1.0"\nconfig-version: 2\n',
    'profiles.yml': 't:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/lake.duckdb\n      threads: 1\n',
    'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: src\n',
    'models/m.sql': model,
  });
  fs.rmSync(path.join(root, 'project.yml'));
  dirs.push(root);
  return root;
}

const load = (root: string, values: string) => withDb(root, async (d) => {
  await d.execute('create schema if not exists raw; create table if not exists raw.src (id integer, k2 varchar, val varchar)');
  await d.execute(`delete from raw.src; insert into raw.src values ${values}`);
});
const table = (root: string) => withDb(root, (d) => d.query('select id, k2, val from main.m order by all'));

describe('a dbt project\'s incremental models, as dbt-duckdb builds them', () => {
  test('with a unique_key and no incremental_strategy, the strategy is delete+insert (dbt-duckdb\'s default): new rows repeating a key are all kept', async () => {
    const root = dbtProject("{{ config(materialized='incremental', unique_key='id') }}\nselect * from {{ source('raw', 'src') }}");
    await load(root, `(1, 'a', 'x'), (2, 'b', 'y')`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success', rows: 2 });
    await load(root, `(2, 'b', 'y2'), (2, 'c', 'y3'), (3, 'a', 'z')`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success' });
    expect(await table(root)).toEqual([
      { id: 1, k2: 'a', val: 'x' }, { id: 2, k2: 'b', val: 'y2' }, { id: 2, k2: 'c', val: 'y3' }, { id: 3, k2: 'a', val: 'z' },
    ]);
  });

  test('a unique_key written as a quoted name ("Id") is that column, as in dbt-duckdb\'s SQL', async () => {
    const root = dbtProject(`{{ config(materialized='incremental', incremental_strategy='merge', unique_key='"Id"') }}\nselect id as "Id", k2, val from {{ source('raw', 'src') }}`);
    await load(root, `(1, 'a', 'x'), (2, 'b', 'y')`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success', rows: 2 });
    await load(root, `(2, 'b', 'y2'), (3, 'a', 'z')`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success' });
    expect(await withDb(root, (d) => d.query('select "Id", val from main.m order by all'))).toEqual([{ Id: 1, val: 'x' }, { Id: 2, val: 'y2' }, { Id: 3, val: 'z' }]);
  });

  test('delete+insert (also as the default) matches on a unique_key that is an expression over the columns', async () => {
    const root = dbtProject(`{{ config(materialized='incremental', unique_key="id::varchar || '-' || k2") }}\nselect * from {{ source('raw', 'src') }}`);
    await load(root, `(1, 'a', 'x'), (1, 'b', 'y')`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success', rows: 2 });
    await load(root, `(1, 'a', 'x2'), (2, 'a', 'z')`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success' });
    expect(await table(root)).toEqual([{ id: 1, k2: 'a', val: 'x2' }, { id: 1, k2: 'b', val: 'y' }, { id: 2, k2: 'a', val: 'z' }]);
  });

  test('a merge on an expression unique_key fails on its first build, naming the key (dbt-duckdb\'s MERGE fails on the next run)', async () => {
    const root = dbtProject(`{{ config(materialized='incremental', incremental_strategy='merge', unique_key="id || '-' || k2") }}\nselect * from {{ source('raw', 'src') }}`);
    await load(root, `(1, 'a', 'x')`);
    const [r] = await lakeRun(root);
    expect(r).toMatchObject({ status: 'error' });
    expect(r!.error ?? r!.message).toMatch(/main\.m: unique_key 'id \|\| '-' \|\| k2' is an expression, which only incremental_strategy 'delete\+insert' matches on/);
  });

  test('incremental_predicates of a delete+insert may name the target DBT_INCREMENTAL_TARGET, as dbt-duckdb\'s list-key delete calls it', async () => {
    const root = dbtProject(`{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['id', 'k2'], incremental_predicates=["DBT_INCREMENTAL_TARGET.val <> 'keep'"]) }}\nselect * from {{ source('raw', 'src') }}`);
    await load(root, `(1, 'a', 'keep'), (2, 'b', 'y')`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success', rows: 2 });
    await load(root, `(1, 'a', 'new1'), (2, 'b', 'new2')`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success' });
    expect(await table(root)).toEqual([{ id: 1, k2: 'a', val: 'keep' }, { id: 1, k2: 'a', val: 'new1' }, { id: 2, k2: 'b', val: 'new2' }]);
  });
});
