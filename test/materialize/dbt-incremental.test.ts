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
import { lake } from '../core/helpers.js';
import { configProblems, defaultConfig } from '../../src/project/config.js';

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

  // dbt-duckdb 1.11's merge configs; the rows are those dbt 1.9 + dbt-duckdb 1.11.1 left (two runs).
  const loadMerge = (root: string, values: string) => withDb(root, async (d) => {
    await d.execute('create schema if not exists raw; create or replace table raw.src (id integer, updated_at integer, val varchar, cnt integer)');
    await d.execute(`insert into raw.src values ${values}`);
  });
  const mergeRuns = async (config: string): Promise<unknown[]> => {
    const root = dbtProject(`{{ config(materialized='incremental', incremental_strategy='merge', ${config}) }}\nselect id, updated_at, val, cnt from {{ source('raw', 'src') }}`);
    await loadMerge(root, `(1, 10, 'a', 1), (2, 10, 'b', 1), (3, 10, 'c', 1)`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success' });
    await loadMerge(root, `(1, 20, 'a2', 5), (2, 5, 'b_old', 5), (3, 30, 'del', 5), (4, 1, 'skip', 1), (5, 1, 'e', 1)`);
    const second = (await lakeRun(root))[0];
    expect(second, JSON.stringify(second)).toMatchObject({ status: 'success' });
    return withDb(root, (d) => d.query('select id, updated_at, val, cnt from main.m order by all'));
  };

  test("merge_update_condition and merge_insert_condition guard the merge's WHEN MATCHED / WHEN NOT MATCHED, as dbt-duckdb's", async () => {
    expect(await mergeRuns(`unique_key='id', merge_update_condition='DBT_INTERNAL_SOURCE.updated_at > DBT_INTERNAL_DEST.updated_at', merge_insert_condition="DBT_INTERNAL_SOURCE.val <> 'skip'"`)).toEqual([
      { id: 1, updated_at: 20, val: 'a2', cnt: 5 }, { id: 2, updated_at: 10, val: 'b', cnt: 1 }, { id: 3, updated_at: 30, val: 'del', cnt: 5 }, { id: 5, updated_at: 1, val: 'e', cnt: 1 },
    ]);
  });

  test('merge_update_set_expressions set their columns, with merge_exclude_columns (a key column may be listed), as dbt-duckdb\'s', async () => {
    expect(await mergeRuns(`unique_key='id', merge_update_set_expressions={'cnt': 'DBT_INTERNAL_DEST.cnt + DBT_INTERNAL_SOURCE.cnt'}, merge_exclude_columns=['id', 'updated_at']`)).toEqual([
      { id: 1, updated_at: 10, val: 'a2', cnt: 6 }, { id: 2, updated_at: 10, val: 'b_old', cnt: 6 }, { id: 3, updated_at: 10, val: 'del', cnt: 6 },
      { id: 4, updated_at: 1, val: 'skip', cnt: 1 }, { id: 5, updated_at: 1, val: 'e', cnt: 1 },
    ]);
  });

  test('merge_on_using_columns is the join of a merge without a unique_key, as dbt-duckdb\'s USING', async () => {
    expect(await mergeRuns(`merge_on_using_columns=['id']`)).toEqual([
      { id: 1, updated_at: 20, val: 'a2', cnt: 5 }, { id: 2, updated_at: 5, val: 'b_old', cnt: 5 }, { id: 3, updated_at: 30, val: 'del', cnt: 5 },
      { id: 4, updated_at: 1, val: 'skip', cnt: 1 }, { id: 5, updated_at: 1, val: 'e', cnt: 1 },
    ]);
  });

  test('merge_clauses is refused with a config error naming the model and what to use instead', async () => {
    const root = dbtProject(`{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', merge_clauses={'when_matched': [{'action': 'delete'}]}) }}\nselect 1 as id`);
    const r = lake(root, ['run']);
    expect(r.code).toBe(2);
    const problems = (c: Record<string, unknown>) => configProblems({ ...defaultConfig('main'), materialized: 'incremental', unique_key: ['id'], ...c }).map((p) => p.message);
    expect(problems({ incremental_strategy: 'merge', merge_update_condition: ['x'] })).toEqual(['merge_update_condition must be an SQL condition (a string), not ["x"]']);
    expect(problems({ incremental_strategy: 'merge', merge_update_set_expressions: 'cnt + 1' })).toEqual(['merge_update_set_expressions must map columns to SQL expressions']);
    expect(problems({ incremental_strategy: 'delete+insert', merge_insert_condition: 'true' })).toEqual(["merge_insert_condition applies to incremental_strategy 'merge', not 'delete+insert'"]);
    expect(r.stdout + r.stderr).toMatch(/models\/m\.sql:1:\d+: error LAKE-C010: main\.m: merge_clauses \(dbt-duckdb's hand-written WHEN clauses\) is not supported by lake/);
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
