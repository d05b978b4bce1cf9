/**
 * The strategies against real DuckDB: merge by column name, merge refusing duplicate keys,
 * insert_new, delete+insert, append, on_schema_change modes, incremental_predicates, full refresh,
 * view/table/external, and the table strategy keeping the old table when the new SELECT fails.
 * Planner-level cases use an in-memory database; executor-level ones a tiny project and a Session.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import type { ModelConfig } from '../../src/core/types.js';
import { materializationFor } from '../../src/materialize/index.js';
import { build, columnsOf, compiled, lakeRun, memoryDb, planContext, rows, runPlan, tempDir, withDb, writeProject } from './helpers.js';

let db: DuckDBAdapter;
beforeEach(async () => {
  db = await memoryDb();
  await db.execute('create schema raw; create table raw.src (id integer, name varchar, amount integer, day date)');
});
afterEach(async () => {
  await db.close();
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function feed(values: string): Promise<void> {
  await db.execute(`delete from raw.src; insert into raw.src values ${values}`);
}

const inc = (id: string, config: Partial<ModelConfig>, sql = 'select id, name, amount, day from raw.src') =>
  compiled(id, sql, { materialized: 'incremental', ...config });

describe('merge', () => {
  test('updates and inserts by column name even when the SELECT orders columns differently from the table', async () => {
    await feed(`(1, 'a', 10, '2024-01-01'), (2, 'b', 20, '2024-01-01')`);
    await build(db, inc('gold.m', { unique_key: ['id'] }));
    await feed(`(2, 'B', 21, '2024-01-02'), (3, 'c', 30, '2024-01-02')`);
    const reordered = inc('gold.m', { unique_key: ['id'] }, 'select day, amount, name, id from raw.src');
    const changed = await build(db, reordered);
    expect(changed).toBe(2);
    expect(await rows(db, `select id, name, amount, strftime(day, '%d') as d from gold.m order by id`)).toEqual([
      { id: 1, name: 'a', amount: 10, d: '01' },
      { id: 2, name: 'B', amount: 21, d: '02' },
      { id: 3, name: 'c', amount: 30, d: '02' },
    ]);
    expect((await columnsOf(db, { schema: 'gold', name: 'm' })).map((c) => c.name)).toEqual(['id', 'name', 'amount', 'day']);
  });

  test('a composite key matches on every key column, NULLs included', async () => {
    await feed(`(1, 'a', 10, '2024-01-01'), (1, 'b', 10, null)`);
    await build(db, inc('gold.m', { unique_key: ['id', 'day'] }));
    await feed(`(1, 'a2', 11, '2024-01-01'), (1, 'b2', 11, null), (1, 'c', 12, '2024-01-03')`);
    await build(db, inc('gold.m', { unique_key: ['id', 'day'] }));
    expect(await rows(db, 'select name from gold.m order by name')).toEqual([{ name: 'a2' }, { name: 'b2' }, { name: 'c' }]);
  });

  test('refuses new rows that carry the same key twice and changes nothing', async () => {
    await feed(`(1, 'a', 10, '2024-01-01')`);
    await build(db, inc('gold.m', { unique_key: ['id'] }));
    await feed(`(1, 'x', 1, '2024-01-02'), (2, 'y', 2, '2024-01-02'), (2, 'z', 3, '2024-01-02')`);
    await expect(build(db, inc('gold.m', { unique_key: ['id'] }))).rejects.toThrow(/gold\.m: the new rows carry the same unique_key \(id\) more than once \(e\.g\. id=2, copies=2\); nothing was changed/);
    expect(await rows(db, 'select id, name from gold.m')).toEqual([{ id: 1, name: 'a' }]);
  });

  test('refuses a first build (and a full refresh) whose rows carry a key twice, as the merges after it would', async () => {
    await feed(`(1, 'a', 10, '2024-01-01'), (1, 'b', 11, '2024-01-01'), (2, 'c', 12, '2024-01-01')`);
    await expect(build(db, inc('gold.m', { unique_key: ['id'] }))).rejects.toThrow(/gold\.m: the rows of its first build carry the same unique_key \(id\) more than once \(e\.g\. id=1, copies=2\); nothing was changed/);
    expect(await rows(db, "select count(*)::int as n from duckdb_tables() where table_name like 'm%'")).toEqual([{ n: 0 }]);
  });

  test('merge_update_columns updates only those columns on a match; merge_exclude_columns all but those (dbt)', async () => {
    await feed(`(1, 'a', 10, '2024-01-01')`);
    await build(db, inc('gold.u', { unique_key: ['id'], merge_update_columns: ['name'] }));
    await build(db, inc('gold.x', { unique_key: ['id'], merge_exclude_columns: ['DAY'] }));
    await feed(`(1, 'b', 20, '2024-02-01'), (2, 'c', 30, '2024-02-01')`);
    await build(db, inc('gold.u', { unique_key: ['id'], merge_update_columns: ['name'] }));
    await build(db, inc('gold.x', { unique_key: ['id'], merge_exclude_columns: ['DAY'] }));
    // A new key is inserted whole either way.
    expect(await rows(db, `select id, name, amount, strftime(day, '%m') as m from gold.u order by id`)).toEqual([
      { id: 1, name: 'b', amount: 10, m: '01' }, { id: 2, name: 'c', amount: 30, m: '02' },
    ]);
    expect(await rows(db, `select id, name, amount, strftime(day, '%m') as m from gold.x order by id`)).toEqual([
      { id: 1, name: 'b', amount: 20, m: '01' }, { id: 2, name: 'c', amount: 30, m: '02' },
    ]);
    await expect(build(db, inc('gold.u', { unique_key: ['id'], merge_update_columns: ['nme'] }))).rejects.toThrow(/merge_update_columns names 'nme', which is not a column of the model/);
    await expect(build(db, inc('gold.k', { unique_key: ['nope'] }))).rejects.toThrow(/gold\.k: unique_key 'nope' is not a column of the model's SELECT/);
  });

  test('incremental_predicates limit which target rows can match', async () => {
    await feed(`(1, 'old', 1, '2023-12-31'), (2, 'recent', 2, '2024-01-05')`);
    const m = () => inc('gold.m', { unique_key: ['id'], incremental_predicates: ["DBT_INTERNAL_DEST.day >= date '2024-01-01'"] });
    await build(db, m());
    await feed(`(1, 'old2', 1, '2023-12-31'), (2, 'recent2', 2, '2024-01-05')`);
    await build(db, m());
    // Like dbt: a key outside the predicate's window is not matched, so it is inserted again.
    expect(await rows(db, 'select id, name from gold.m order by id, name')).toEqual([
      { id: 1, name: 'old' }, { id: 1, name: 'old2' }, { id: 2, name: 'recent2' },
    ]);
  });
});

describe('insert_new, delete+insert, append', () => {
  test('insert_new keeps one of duplicates and never touches existing keys', async () => {
    await feed(`(1, 'first', 10, '2024-01-01'), (1, 'dup', 11, '2024-01-01'), (2, 'b', 20, '2024-01-01')`);
    await build(db, inc('gold.n', { incremental_strategy: 'insert_new', unique_key: ['id'] }));
    expect(await rows(db, 'select count(*) as n, count(distinct id) as k from gold.n')).toEqual([{ n: 2, k: 2 }]);
    const before = await rows(db, 'select * from gold.n order by id');
    await feed(`(1, 'changed', 99, '2024-02-01'), (3, 'c', 30, '2024-02-01'), (3, 'c-dup', 31, '2024-02-01'), (3, 'c-dup2', 32, '2024-02-01')`);
    const n = await build(db, inc('gold.n', { incremental_strategy: 'insert_new', unique_key: ['id'] }));
    expect(n).toBe(1);
    const after = await rows(db, 'select * from gold.n order by id');
    expect(after.slice(0, 2)).toEqual(before);
    expect(after.slice(2).map((r) => r.id)).toEqual([3]);
    // Which duplicate is kept is deterministic (ordered by the other columns).
    expect(after[2]!.name).toBe('c');
  });

  test('insert_new matches keys NULL-safely: a key with a NULL part already held is not inserted again', async () => {
    await feed(`(1, 'a', 10, null), (null, 'b', 20, '2024-01-01'), (2, 'c', 30, '2024-01-01')`);
    const m = () => inc('gold.k', { incremental_strategy: 'insert_new', unique_key: ['id', 'day'] });
    await build(db, m());
    // The same three keys again (new names), plus (1, 2024-01-01), (null, null) and (2, null), which are new.
    await feed(`(1, 'a2', 11, null), (null, 'b2', 21, '2024-01-01'), (2, 'c2', 31, '2024-01-01'), (1, 'd', 40, '2024-01-01'), (null, 'e', 50, null), (2, 'f', 60, null)`);
    expect(await build(db, m())).toBe(3);
    expect(await rows(db, `select id, name, strftime(day, '%d') as d from gold.k order by name`)).toEqual([
      { id: 1, name: 'a', d: null }, { id: null, name: 'b', d: '01' }, { id: 2, name: 'c', d: '01' },
      { id: 1, name: 'd', d: '01' }, { id: null, name: 'e', d: null }, { id: 2, name: 'f', d: null },
    ]);
  });

  test('insert_new first build: one row per key, the same as a window over every row, and single rows kept in their order', async () => {
    // 20,000 rows in a known order (seq), ~5% of keys repeated (some parts NULL, some rows exact copies).
    await db.execute(`create table raw.big as
      select i::integer as seq, case when i % 97 = 0 then null else (i * 7919) % 19000 end as id,
        case when i % 89 = 0 then null else date '2024-01-01' + ((i * 31) % 3)::integer end as day,
        'n' || ((i * 13) % 5)::varchar as name, ((i * 17) % 4)::integer as amount
      from range(20000) t(i)`);
    await db.execute(`insert into raw.big select seq + 100000, id, day, name, amount from raw.big where seq % 50 = 0`);
    const sql = 'select seq, id, name, amount, day from raw.big';
    await build(db, inc('gold.u', { incremental_strategy: 'insert_new', unique_key: ['id', 'day'] }, sql));
    const node2 = inc('gold.u2', { incremental_strategy: 'insert_new', unique_key: ['id', 'day'] }, sql);
    const plan = materializationFor('incremental').plan(node2, await planContext(db, node2));
    expect(plan.map((st) => st.sql).join('\n')).toContain('anti join __lake_repeated');
    // The reference: a window over every row, ordered like keepOrder (the other columns).
    const expected = await rows(db, `select * from (${sql}) qualify row_number() over (partition by id, day order by seq, name, amount) = 1 order by seq`);
    expect(await rows(db, 'select * from gold.u order by seq')).toEqual(expected);
    expect(expected.length).toBeGreaterThan(18000);
    // Rows whose key is not repeated come first, in the SELECT's order.
    const single = await rows(db, `select seq from (select seq, rowid as r from gold.u semi join
      (select id, day from raw.big group by all having count(*) = 1) as k on gold.u.id is not distinct from k.id and gold.u.day is not distinct from k.day) order by r`);
    expect(single.length).toBeGreaterThan(15000);
    expect(single.map((r) => r.seq)).toEqual([...single.map((r) => r.seq as number)].sort((a, b) => a - b));
    // Other keys: repeated keys found through blocks of an integer key (id, amount) or, without
    // one, by grouping every row (name, day); the same rows as the window either way.
    for (const [i, keys] of [['day', 'id'], ['name', 'day'], ['day', 'amount'], ['amount', 'name']].entries()) {
      const node = inc(`gold.k${i}`, { incremental_strategy: 'insert_new', unique_key: keys }, sql);
      const text = materializationFor('incremental').plan(node, await planContext(db, node)).map((st) => st.sql).join('\n');
      expect(text.includes('__lake_block')).toBe(keys.some((k) => k === 'id' || k === 'amount'));
      await build(db, node);
      const rest = ['seq', 'id', 'name', 'amount', 'day'].filter((c) => !keys.includes(c)).join(', ');
      expect(await rows(db, `select * from gold.k${i} order by seq`)).toEqual(
        await rows(db, `select * from (${sql}) qualify row_number() over (partition by ${keys.join(', ')} order by ${rest}) = 1 order by seq`));
    }
  });

  test('insert_new first build of a SELECT that may differ between runs (random, limit) uses the window over every row', async () => {
    for (const sql of ['select id, random() as r from raw.src', 'select id, name from raw.src order by name limit 5', 'select id from raw.src using sample 10%']) {
      const node = inc('gold.v', { incremental_strategy: 'insert_new', unique_key: ['id'] }, sql);
      const plan = materializationFor('incremental').plan(node, await planContext(db, node));
      const text = plan.map((st) => st.sql).join('\n');
      expect(text).toContain('qualify row_number() over (partition by "id"');
      expect(text).not.toContain('__lake_repeated');
    }
  });

  test('delete+insert replaces every row of a key present in the new rows', async () => {
    await feed(`(1, 'a', 1, '2024-01-01'), (2, 'b', 2, '2024-01-01'), (3, 'c', 3, '2024-01-02')`);
    const m = () => inc('gold.d', { incremental_strategy: 'delete+insert', unique_key: ['day'] });
    await build(db, m());
    await feed(`(9, 'z', 9, '2024-01-01')`);
    expect(await build(db, m())).toBe(1);
    expect(await rows(db, `select id, strftime(day, '%d') as d from gold.d order by id`)).toEqual([{ id: 3, d: '02' }, { id: 9, d: '01' }]);
  });

  test('delete+insert with incremental_predicates deletes only inside the window', async () => {
    await feed(`(1, 'a', 1, '2023-12-31'), (1, 'b', 2, '2024-01-02')`);
    const m = () => inc('gold.d', { incremental_strategy: 'delete+insert', unique_key: ['id'], incremental_predicates: ["DBT_INTERNAL_DEST.day >= date '2024-01-01'"] });
    await build(db, m());
    await feed(`(1, 'new', 3, '2024-01-03')`);
    await build(db, m());
    expect(await rows(db, 'select name from gold.d order by name')).toEqual([{ name: 'a' }, { name: 'new' }]);
  });

  test('delete+insert without a unique_key inserts the new rows (as dbt: it deletes by key only)', async () => {
    await feed(`(1, 'a', 1, '2024-01-01')`);
    const m = () => inc('gold.d', { incremental_strategy: 'delete+insert', incremental_predicates: ["DBT_INTERNAL_DEST.day >= date '2024-01-01'"] });
    await build(db, m());
    await feed(`(1, 'a', 1, '2024-01-01'), (2, 'b', 2, '2024-01-02')`);
    expect(await build(db, m())).toBe(2);
    expect(await rows(db, 'select id, name from gold.d order by id, name')).toEqual([{ id: 1, name: 'a' }, { id: 1, name: 'a' }, { id: 2, name: 'b' }]);
  });

  test('append adds every new row, duplicates included', async () => {
    await feed(`(1, 'a', 1, '2024-01-01')`);
    await build(db, inc('gold.a', {}));
    await feed(`(1, 'a', 1, '2024-01-01'), (2, 'b', 2, '2024-01-01')`);
    expect(await build(db, inc('gold.a', {}))).toBe(2);
    expect(await rows(db, 'select count(*) as n from gold.a')).toEqual([{ n: 3 }]);
  });

  test('--full-refresh rebuilds from the SELECT alone', async () => {
    await feed(`(1, 'a', 1, '2024-01-01')`);
    await build(db, inc('gold.a', {}));
    await build(db, inc('gold.a', {}));
    expect(await rows(db, 'select count(*) as n from gold.a')).toEqual([{ n: 2 }]);
    expect(await build(db, inc('gold.a', {}), true)).toBe(1);
    expect(await rows(db, 'select count(*) as n from gold.a')).toEqual([{ n: 1 }]);
  });
});

describe('on_schema_change', () => {
  // The table was built with `legacy`; the SELECT now drops it and adds `amount`.
  const next = 'select id, name, amount from raw.src';
  async function setup(id: string): Promise<void> {
    await feed(`(1, 'a', 10, '2024-01-01')`);
    await build(db, inc(id, { unique_key: ['id'] }, `select id, name, 'L' as legacy from raw.src`));
    await feed(`(1, 'a2', 11, '2024-01-01'), (2, 'b', 20, '2024-01-01')`);
  }

  test('ignore: writes the columns the table has; new ones are left out, missing ones stay', async () => {
    await setup('gold.s');
    await build(db, inc('gold.s', { unique_key: ['id'], on_schema_change: 'ignore' }, next));
    expect(await rows(db, 'select * from gold.s order by id')).toEqual([{ id: 1, name: 'a2', legacy: 'L' }, { id: 2, name: 'b', legacy: null }]);
  });

  test('append_new_columns: adds the new column, keeps the old one', async () => {
    await setup('gold.s');
    await build(db, inc('gold.s', { unique_key: ['id'], on_schema_change: 'append_new_columns' }, next));
    expect(await rows(db, 'select * from gold.s order by id')).toEqual([{ id: 1, name: 'a2', legacy: 'L', amount: 11 }, { id: 2, name: 'b', legacy: null, amount: 20 }]);
  });

  test('sync_all_columns: adds the new column and drops the one the SELECT no longer has', async () => {
    await setup('gold.s');
    await build(db, inc('gold.s', { unique_key: ['id'], on_schema_change: 'sync_all_columns' }, next));
    expect(await rows(db, 'select * from gold.s order by id')).toEqual([{ id: 1, name: 'a2', amount: 11 }, { id: 2, name: 'b', amount: 20 }]);
  });

  test('fail: stops with the columns named and changes nothing', async () => {
    await setup('gold.s');
    await expect(build(db, inc('gold.s', { unique_key: ['id'], on_schema_change: 'fail' }, next)))
      .rejects.toThrow(/gold\.s: the columns changed \(added: amount; removed: legacy\) and on_schema_change is 'fail'/);
    expect(await rows(db, 'select * from gold.s')).toEqual([{ id: 1, name: 'a', legacy: 'L' }]);
  });

  test('a column whose type changed: fail stops, sync_all_columns retypes it, append_new_columns keeps the old type', async () => {
    // `v` was INTEGER; the SELECT now gives a DOUBLE (dbt counts a type change as a schema change).
    const before = "select id, 5 as v from raw.src";
    const after = 'select id, 2.7::double as v from raw.src';
    await feed(`(1, 'a', 10, '2024-01-01')`);
    for (const t of ['gold.tf', 'gold.ts', 'gold.ta']) await build(db, inc(t, {}, before));
    await expect(build(db, inc('gold.tf', { on_schema_change: 'fail' }, after)))
      .rejects.toThrow(/gold\.tf: the columns changed \(added: none; removed: none; type changed: v INTEGER -> DOUBLE\) and on_schema_change is 'fail'/);
    expect(await rows(db, 'select v from gold.tf')).toEqual([{ v: 5 }]);
    await build(db, inc('gold.ts', { on_schema_change: 'sync_all_columns' }, after));
    expect(await rows(db, `select data_type as t from information_schema.columns where table_name = 'ts' and column_name = 'v'`)).toEqual([{ t: 'DOUBLE' }]);
    expect(await rows(db, 'select v from gold.ts order by v')).toEqual([{ v: 2.7 }, { v: 5 }]);
    await build(db, inc('gold.ta', { on_schema_change: 'append_new_columns' }, after));
    expect(await rows(db, `select data_type as t from information_schema.columns where table_name = 'ta' and column_name = 'v'`)).toEqual([{ t: 'INTEGER' }]);
  });

  test('append with append_new_columns', async () => {
    await feed(`(1, 'a', 10, '2024-01-01')`);
    await build(db, inc('gold.ap', {}, 'select id from raw.src'));
    await build(db, inc('gold.ap', { on_schema_change: 'append_new_columns' }, 'select id, name from raw.src'));
    expect(await rows(db, 'select * from gold.ap order by name nulls first')).toEqual([{ id: 1, name: null }, { id: 1, name: 'a' }]);
  });
});

describe('view, table, external', () => {
  test('a view replaces a table of the same name; a table replaces a view', async () => {
    await feed(`(1, 'a', 1, '2024-01-01')`);
    await build(db, compiled('gold.x', 'select id from raw.src', { materialized: 'table' }));
    await build(db, compiled('gold.x', 'select id, name from raw.src', { materialized: 'view' }));
    expect(await rows(db, `select table_type as t from information_schema.tables where table_name = 'x'`)).toEqual([{ t: 'VIEW' }]);
    await build(db, compiled('gold.x', 'select id from raw.src', { materialized: 'table' }));
    expect(await rows(db, `select table_type as t from information_schema.tables where table_name = 'x'`)).toEqual([{ t: 'BASE TABLE' }]);
    expect(await rows(db, 'select * from gold.x')).toEqual([{ id: 1 }]);
  });

  test('the table strategy leaves the old table intact when the new SELECT fails', async () => {
    await feed(`(1, 'a', 1, '2024-01-01')`);
    await build(db, compiled('gold.t', 'select id, name from raw.src', { materialized: 'table' }));
    await feed(`(1, 'a', 1, '2024-01-01'), (2, 'not a number', 2, '2024-01-01')`);
    await expect(build(db, compiled('gold.t', 'select id, cast(name as integer) as name from raw.src', { materialized: 'table' }))).rejects.toThrow(/Conversion Error/i);
    expect(await rows(db, 'select * from gold.t')).toEqual([{ id: 1, name: 'a' }]);
    expect(await rows(db, `select table_name from information_schema.tables where table_name like '%lake_tmp%'`)).toEqual([]);
  });

  test('external: parquet file, and a partitioned folder that drops partitions the new result lacks', async () => {
    const root = tempDir();
    dirs.push(root);
    await feed(`(1, 'a', 1, '2024-01-01'), (2, 'b', 2, '2024-01-02')`);
    const file = compiled('gold.e', 'select id, name from raw.src', { materialized: 'external', location: 'out/e.parquet' });
    const ctxRoot = async (n: typeof file) => {
      const ctx = { ...(await planContext(db, n)), projectRoot: root };
      return runPlan(db, materializationFor('external').plan(n, ctx));
    };
    // COPY does not create the parent folder of a single-file location (see the report).
    fs.mkdirSync(path.join(root, 'out'));
    expect(await ctxRoot(file)).toBe(2);
    expect(fs.existsSync(path.join(root, 'out/e.parquet'))).toBe(true);
    expect(await rows(db, 'select * from gold.e order by id')).toEqual([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
    const parts = compiled('gold.p', `select id, name, strftime(day, '%Y%m%d') as day from raw.src`, { materialized: 'external', location: 'out/p', format: 'csv', partition_by: ['day'] });
    await ctxRoot(parts);
    await feed(`(3, 'c', 3, '2024-01-02')`);
    await ctxRoot(parts);
    expect(await rows(db, 'select id, name from gold.p order by id')).toEqual([{ id: 3, name: 'c' }]);
  });
});

describe('through the executor (Session)', () => {
  function project(model: string): string {
    const root = writeProject({
      'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: src\n',
      'models/gold/m.sql': model,
    });
    dirs.push(root);
    return root;
  }
  const load = (root: string, values: string) => withDb(root, async (d) => {
    await d.execute('create schema if not exists raw; create table if not exists raw.src (id integer, name varchar, amount integer)');
    await d.execute(`delete from raw.src; insert into raw.src values ${values}`);
  });

  test('merge refusing duplicate keys names the model and a sample key, and nothing changes', async () => {
    const root = project("{{ config(materialized='incremental', unique_key='id') }}\nselect * from {{ source('raw', 'src') }}");
    await load(root, `(1, 'a', 1)`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success', rows: 1 });
    await load(root, `(1, 'x', 1), (7, 'y', 2), (7, 'z', 3)`);
    const [r] = await lakeRun(root);
    expect(r).toMatchObject({ id: 'gold.m', status: 'error' });
    expect(r!.error ?? r!.message).toMatch(/gold\.m: the new rows carry the same unique_key \(id\) more than once \(e\.g\. id=7, copies=2\); nothing was changed\n  hint: keep one row per key in models\/gold\/m\.sql, e\.g\. qualify row_number\(\) over \(partition by id order by <newest first>\) = 1/);
    expect(await withDb(root, (d) => d.query('select * from gold.m'))).toEqual([{ id: 1, name: 'a', amount: 1 }]);
  });

  test('a table whose new SELECT fails at run time keeps the old rows; the next good run succeeds', async () => {
    const root = project("{{ config(materialized='table') }}\nselect id, cast(name as integer) as n from {{ source('raw', 'src') }}");
    await load(root, `(1, '5', 1)`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success', rows: 1 });
    await load(root, `(1, '6', 1), (2, 'oops', 2)`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'error' });
    expect(await withDb(root, (d) => d.query('select * from gold.m'))).toEqual([{ id: 1, n: 5 }]);
    await load(root, `(1, '6', 1), (2, '7', 2)`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success', rows: 2 });
  });

  test('cdc in a project: batches over several runs, except_columns from YAML, _lake_batch re-stamped per run', async () => {
    const root = writeProject({
      'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: changes\n',
      'models/gold/users.sql': "select * from {{ source('raw', 'changes') }}",
      'models/gold/users.yml': [
        'models:', '  - name: users', '    config:', '      materialized: incremental', '      incremental_strategy: cdc',
        '      unique_key: user_id', '      sequence_by: updated', "      delete_when: \"update_type = 'delete'\"",
        '      except_columns: update_type', '      scd_type: 2', '',
      ].join('\n'),
    });
    dirs.push(root);
    const changes = (values: string) => withDb(root, async (d) => {
      await d.execute('create schema if not exists raw; create table if not exists raw.changes (user_id integer, email varchar, updated integer, update_type varchar, _lake_batch bigint)');
      await d.execute(`delete from raw.changes; insert into raw.changes values ${values}`);
    });
    await changes(`(1, 'a@x', 1, 'new', 0), (2, 'b@x', 1, 'new', 0), (1, 'a2@x', 3, 'update', 0)`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success', rows: 3 });
    await changes(`(1, 'late@x', 2, 'update', 0), (2, null, 4, 'delete', 0), (2, 'b-late@x', 3, 'update', 0)`);
    expect((await lakeRun(root))[0]).toMatchObject({ status: 'success', rows: 3 });
    const out = await withDb(root, (d) => d.query('select user_id, email, valid_from, valid_to, _lake_batch from gold.users order by user_id, valid_from'));
    const batches = await withDb(root, (d) => d.query<{ b: number }>('select distinct _lake_batch as b from gold.users order by b'));
    expect(batches.length).toBe(2);
    const [b1, b2] = batches.map((b) => b.b);
    expect(out).toEqual([
      { user_id: 1, email: 'a@x', valid_from: 1, valid_to: 2, _lake_batch: b2 },
      { user_id: 1, email: 'late@x', valid_from: 2, valid_to: 3, _lake_batch: b2 },
      { user_id: 1, email: 'a2@x', valid_from: 3, valid_to: null, _lake_batch: b1 },
      { user_id: 2, email: 'b@x', valid_from: 1, valid_to: 3, _lake_batch: b2 },
      { user_id: 2, email: 'b-late@x', valid_from: 3, valid_to: 4, _lake_batch: b2 },
    ]);
    expect((await withDb(root, (d) => d.describe({ schema: 'gold', name: 'users' })))!.map((c) => c.name)).not.toContain('update_type');
  });
});
