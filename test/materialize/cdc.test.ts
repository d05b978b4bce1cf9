/**
 * incremental_strategy: cdc against real DuckDB: APPLY CHANGES rules for SCD type 1 and 2 —
 * out-of-order changes within and across batches, deletes and late updates after them, ties,
 * sequence_by lists, ignore_null_updates, except_columns — and the same changes in one batch or
 * many giving the same table (checked against the TypeScript model in cdc-oracle.ts as well).
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import type { ModelConfig } from '../../src/core/types.js';
import { PlanError } from '../../src/materialize/index.js';
import { build, compiled, memoryDb, planContext, rows, columnsOf } from './helpers.js';
import { materializationFor } from '../../src/materialize/index.js';
import { configProblems, defaultConfig } from '../../src/project/config.js';
import { canonical, rng, scd1, scd2, type Change } from './cdc-oracle.js';

let db: DuckDBAdapter;
beforeEach(async () => {
  db = await memoryDb();
  await db.execute('create table src (id integer, seq integer, op varchar, name varchar, amount integer)');
});
afterEach(async () => {
  await db.close();
});

const lit = (v: unknown) => (v === null || v === undefined ? 'null' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);

/** Replace the change feed with `changes` (id, seq, op, name, amount). */
async function feed(changes: readonly Change[], table = 'src'): Promise<void> {
  await db.execute(`delete from ${table}`);
  if (changes.length === 0) return;
  const values = changes.map((c) => `(${[c.id, c.seq, c.op, c.name, c.amount].map(lit).join(', ')})`).join(', ');
  await db.execute(`insert into ${table} values ${values}`);
}

const U = (id: number, seq: number, name: string | null, amount: number | null = null): Change => ({ id, seq, op: 'U', name, amount });
/** A delete; `name`/`amount` model a before-image that some feeds put on delete records. */
const D = (id: number, seq: number, name: string | null = null, amount: number | null = null): Change => ({ id, seq, op: 'D', name, amount });

function cdcNode(id: string, config: Partial<ModelConfig> = {}, sql = 'select * from src') {
  return compiled(id, sql, {
    incremental_strategy: 'cdc', unique_key: ['id'], sequence_by: ['seq'], delete_when: "op = 'D'", except_columns: ['op'], ...config,
  });
}

/** Apply batches in order; returns the changed-row count of each. */
async function apply(node: ReturnType<typeof cdcNode>, batches: readonly (readonly Change[])[]): Promise<(number | undefined)[]> {
  const counts: (number | undefined)[] = [];
  for (const b of batches) {
    await feed(b);
    counts.push(await build(db, node));
  }
  return counts;
}

const t1 = (table: string) => rows(db, `select id, seq, name, amount from ${table} order by id`);
const t2 = (table: string) => rows(db, `select id, seq, name, amount, valid_from, valid_to from ${table} order by id, valid_from`);

describe('cdc scd type 1', () => {
  test('within a batch, the highest sequence per key wins whatever the arrival order', async () => {
    const node = cdcNode('gold.users');
    await apply(node, [[U(1, 3, 'c'), U(1, 1, 'a'), U(2, 1, 'x'), U(1, 2, 'b')]]);
    expect(await t1('gold.users')).toEqual([
      { id: 1, seq: 3, name: 'c', amount: null },
      { id: 2, seq: 1, name: 'x', amount: null },
    ]);
    // except_columns: the change record's `op` is not kept.
    expect((await columnsOf(db, node.relation)).map((c) => c.name)).toEqual(['id', 'seq', 'name', 'amount']);
  });

  test('across batches a late, older change never overwrites; a newer one does', async () => {
    const node = cdcNode('gold.users');
    const counts = await apply(node, [[U(1, 5, 'five')], [U(1, 3, 'three')], [U(1, 7, 'seven'), U(2, 1, 'new')]]);
    expect(await t1('gold.users')).toEqual([
      { id: 1, seq: 7, name: 'seven', amount: null },
      { id: 2, seq: 1, name: 'new', amount: null },
    ]);
    expect(counts).toEqual([1, 0, 2]);
  });

  test('a delete removes the row and a late, older update does not bring it back', async () => {
    const node = cdcNode('gold.users');
    await apply(node, [[U(1, 1, 'a'), U(2, 1, 'b')], [D(1, 3)]]);
    expect(await t1('gold.users')).toEqual([{ id: 2, seq: 1, name: 'b', amount: null }]);
    await apply(node, [[U(1, 2, 'late')]]);
    expect(await t1('gold.users')).toEqual([{ id: 2, seq: 1, name: 'b', amount: null }]);
    expect(await rows(db, 'select id, _lake_sequence, _lake_deleted from gold.users__lake_cdc_state order by id')).toEqual([
      { id: 1, _lake_sequence: 3, _lake_deleted: true },
      { id: 2, _lake_sequence: 1, _lake_deleted: false },
    ]);
    // A change newer than the delete brings the key back.
    await apply(node, [[U(1, 4, 'back')]]);
    expect(await t1('gold.users')).toEqual([
      { id: 1, seq: 4, name: 'back', amount: null },
      { id: 2, seq: 1, name: 'b', amount: null },
    ]);
  });

  test('a delete that arrives before the (older) insert it follows still wins, in one batch and across two', async () => {
    const one = cdcNode('gold.one');
    await apply(one, [[D(1, 2), U(1, 1, 'a')]]);
    expect(await t1('gold.one')).toEqual([]);
    const two = cdcNode('gold.two');
    await apply(two, [[D(1, 2)], [U(1, 1, 'a')]]);
    expect(await t1('gold.two')).toEqual([]);
  });

  test('ties: a delete beats an upsert at the same sequence, the greater record beats another, a re-delivery changes nothing', async () => {
    const node = cdcNode('gold.users');
    const counts = await apply(node, [[U(1, 1, 'a'), D(1, 1), U(2, 1, 'b'), U(2, 1, 'c')], [U(2, 1, 'a')], [U(2, 1, 'c')]]);
    expect(await t1('gold.users')).toEqual([{ id: 2, seq: 1, name: 'c', amount: null }]);
    expect(counts.slice(1)).toEqual([0, 0]);
    // Same ties split the other way round across batches: same table.
    const other = cdcNode('gold.other');
    await apply(other, [[U(2, 1, 'c')], [U(2, 1, 'b'), U(1, 1, 'a')], [D(1, 1), U(2, 1, 'a')]]);
    expect(await t1('gold.other')).toEqual(await t1('gold.users'));
  });

  test('sequence_by as a list orders by the first column, then the next', async () => {
    await db.execute('create table src2 (id integer, epoch integer, "offset" integer, op varchar, name varchar)');
    await db.execute(`insert into src2 values (1, 2, 1, 'U', 'e2o1'), (1, 1, 9, 'U', 'e1o9'), (1, 2, 0, 'U', 'e2o0'), (2, 1, 1, 'U', 'x'), (2, 1, 2, 'D', null)`);
    const node = cdcNode('gold.lst', { sequence_by: ['epoch', 'offset'] }, 'select * from src2');
    await build(db, node);
    expect(await rows(db, 'select id, name from gold.lst order by id')).toEqual([{ id: 1, name: 'e2o1' }]);
    await db.execute(`delete from src2; insert into src2 values (1, 1, 99, 'U', 'late'), (2, 1, 1, 'U', 'late'), (1, 3, 0, 'U', 'e3o0')`);
    await build(db, node);
    expect(await rows(db, 'select id, name from gold.lst order by id')).toEqual([{ id: 1, name: 'e3o0' }]);
    const state = await columnsOf(db, { schema: 'gold', name: 'lst__lake_cdc_state' });
    expect(state.find((c) => c.name === '_lake_sequence')?.type).toMatch(/^STRUCT\("?epoch"? INTEGER, "?offset"? INTEGER\)$/);
  });

  test('ignore_null_updates keeps the stored value for a NULL, and a delete starts afresh', async () => {
    const node = cdcNode('gold.users', { ignore_null_updates: true });
    await apply(node, [[U(1, 1, 'a', 10), U(1, 2, null, 20), U(2, 1, 'b', 5)]]);
    expect(await t1('gold.users')).toEqual([
      { id: 1, seq: 2, name: 'a', amount: 20 },
      { id: 2, seq: 1, name: 'b', amount: 5 },
    ]);
    await apply(node, [[U(1, 3, 'z', null), U(2, 2, null, null)]]);
    expect(await t1('gold.users')).toEqual([
      { id: 1, seq: 3, name: 'z', amount: 20 },
      { id: 2, seq: 2, name: 'b', amount: 5 },
    ]);
    await apply(node, [[D(1, 4, 'before-image', 50), U(1, 5, null, 7)]]);
    expect(await t1('gold.users')).toEqual([
      { id: 1, seq: 5, name: null, amount: 7 },
      { id: 2, seq: 2, name: 'b', amount: 5 },
    ]);
    // A late change fills only what no newer change set; a late change that fills nothing is no change.
    const counts = await apply(node, [[U(1, 2, 'late-name', 99)], [U(2, 1, 'older', 1)]]);
    expect(await t1('gold.users')).toEqual([
      { id: 1, seq: 5, name: 'late-name', amount: 7 },
      { id: 2, seq: 2, name: 'b', amount: 5 },
    ]);
    expect(counts).toEqual([1, 0]);
  });

  test('without ignore_null_updates a NULL overwrites', async () => {
    const node = cdcNode('gold.users');
    await apply(node, [[U(1, 1, 'a', 10)], [U(1, 2, null, 20)]]);
    expect(await t1('gold.users')).toEqual([{ id: 1, seq: 2, name: null, amount: 20 }]);
  });

  test('the sequence column may be excluded: the state table still orders late changes', async () => {
    const node = cdcNode('gold.users', { except_columns: ['op', 'seq'] });
    await apply(node, [[U(1, 5, 'five')], [U(1, 3, 'three')]]);
    expect(await rows(db, 'select * from gold.users')).toEqual([{ id: 1, name: 'five', amount: null }]);
  });

  test('a change with a NULL sequence fails the node and changes nothing', async () => {
    const node = cdcNode('gold.users');
    await apply(node, [[U(1, 1, 'a')]]);
    await feed([U(1, 2, 'b'), { id: 2, seq: null as unknown as number, op: 'U', name: 'x', amount: null }]);
    await expect(build(db, node)).rejects.toThrow(/gold\.users: a change record has a NULL sequence_by \(seq\)/);
    expect(await t1('gold.users')).toEqual([{ id: 1, seq: 1, name: 'a', amount: null }]);
  });
});

describe('cdc scd type 2', () => {
  test('every version is kept; out-of-order changes in a batch are put in sequence order', async () => {
    const node = cdcNode('gold.hist', { scd_type: 2 });
    await apply(node, [[U(1, 3, 'c'), U(1, 1, 'a'), U(1, 2, 'b'), U(2, 1, 'x')]]);
    expect(await t2('gold.hist')).toEqual([
      { id: 1, seq: 1, name: 'a', amount: null, valid_from: 1, valid_to: 2 },
      { id: 1, seq: 2, name: 'b', amount: null, valid_from: 2, valid_to: 3 },
      { id: 1, seq: 3, name: 'c', amount: null, valid_from: 3, valid_to: null },
      { id: 2, seq: 1, name: 'x', amount: null, valid_from: 1, valid_to: null },
    ]);
  });

  test('valid_from and valid_to are typed like the sequence column', async () => {
    await db.execute('create table tsrc (id integer, changed_at timestamp, op varchar, name varchar)');
    await db.execute(`insert into tsrc values (1, '2024-01-01 10:00:00', 'U', 'a'), (1, '2024-01-02 10:00:00', 'U', 'b')`);
    const node = cdcNode('gold.ts', { scd_type: 2, sequence_by: ['changed_at'] }, 'select * from tsrc');
    await build(db, node);
    const types = Object.fromEntries((await columnsOf(db, node.relation)).map((c) => [c.name, c.type]));
    expect(types).toMatchObject({ valid_from: 'TIMESTAMP', valid_to: 'TIMESTAMP' });
    const hist = await rows(db, `select name, valid_to is null as current, strftime(valid_from, '%d') as d from gold.ts order by valid_from`);
    expect(hist).toEqual([{ name: 'a', current: false, d: '01' }, { name: 'b', current: true, d: '02' }]);
  });

  test('a delete closes the current version; a late update after it lands in history, not as current', async () => {
    const node = cdcNode('gold.hist', { scd_type: 2 });
    await apply(node, [[U(1, 1, 'a'), U(2, 1, 'x')], [D(1, 4)]]);
    expect(await t2('gold.hist')).toEqual([
      { id: 1, seq: 1, name: 'a', amount: null, valid_from: 1, valid_to: 4 },
      { id: 2, seq: 1, name: 'x', amount: null, valid_from: 1, valid_to: null },
    ]);
    await apply(node, [[U(1, 2, 'late')]]);
    expect(await t2('gold.hist')).toEqual([
      { id: 1, seq: 1, name: 'a', amount: null, valid_from: 1, valid_to: 2 },
      { id: 1, seq: 2, name: 'late', amount: null, valid_from: 2, valid_to: 4 },
      { id: 2, seq: 1, name: 'x', amount: null, valid_from: 1, valid_to: null },
    ]);
    expect(await rows(db, 'select count(*) as n from gold.hist where id = 1 and valid_to is null')).toEqual([{ n: 0 }]);
  });

  test('deletes without a version in between are remembered too', async () => {
    const node = cdcNode('gold.hist', { scd_type: 2 });
    // 1: a@1, delete@3, delete@5, b@6; then a late c@4 must end at the delete@5.
    await apply(node, [[U(1, 1, 'a'), D(1, 3)], [D(1, 5), U(1, 6, 'b')], [U(1, 4, 'c')]]);
    expect(await t2('gold.hist')).toEqual([
      { id: 1, seq: 1, name: 'a', amount: null, valid_from: 1, valid_to: 3 },
      { id: 1, seq: 4, name: 'c', amount: null, valid_from: 4, valid_to: 5 },
      { id: 1, seq: 6, name: 'b', amount: null, valid_from: 6, valid_to: null },
    ]);
  });

  test('a late version splits the version it falls in; a late change older than everything goes first', async () => {
    const node = cdcNode('gold.hist', { scd_type: 2 });
    const counts = await apply(node, [[U(1, 2, 'b'), U(1, 6, 'f')], [U(1, 4, 'd')], [U(1, 0, 'zero')]]);
    expect((await t2('gold.hist')).map((r) => [r.name, r.valid_from, r.valid_to])).toEqual([
      ['zero', 0, 2], ['b', 2, 4], ['d', 4, 6], ['f', 6, null],
    ]);
    expect(counts).toEqual([2, 1, 1]);
  });

  test('sequence_by list: valid_from/valid_to are STRUCTs of the sequence columns', async () => {
    await db.execute('create table src2 (id integer, epoch integer, n integer, op varchar, name varchar)');
    await db.execute(`insert into src2 values (1, 2, 1, 'U', 'second'), (1, 1, 9, 'U', 'first')`);
    const node = cdcNode('gold.lst', { scd_type: 2, sequence_by: ['epoch', 'n'] }, 'select * from src2');
    await build(db, node);
    const types = Object.fromEntries((await columnsOf(db, node.relation)).map((c) => [c.name, c.type]));
    expect(types.valid_from).toMatch(/^STRUCT\("?epoch"? INTEGER, "?n"? INTEGER\)$/);
    expect(await rows(db, 'select name, valid_from.epoch as e, valid_to.n as n from gold.lst order by valid_from')).toEqual([
      { name: 'first', e: 1, n: 1 }, { name: 'second', e: 2, n: null },
    ]);
  });

  test('ignore_null_updates fills each version from the previous one', async () => {
    const node = cdcNode('gold.hist', { scd_type: 2, ignore_null_updates: true });
    await apply(node, [[U(1, 1, 'a', 10), U(1, 2, null, 20)], [U(1, 3, 'c', null), D(1, 4, 'before-image', 50), U(1, 5, null, 1)]]);
    expect((await t2('gold.hist')).map((r) => [r.name, r.amount, r.valid_from, r.valid_to])).toEqual([
      ['a', 10, 1, 2], ['a', 20, 2, 3], ['c', 20, 3, 4], [null, 1, 5, null],
    ]);
  });

  test('a re-delivered batch changes nothing', async () => {
    const node = cdcNode('gold.hist', { scd_type: 2 });
    const batch = [U(1, 1, 'a'), U(1, 2, 'b'), D(2, 1)];
    const counts = await apply(node, [batch, batch]);
    expect(counts).toEqual([3, 0]);
    expect((await t2('gold.hist')).length).toBe(2);
    expect(await rows(db, 'select count(*) as n from gold.hist__lake_cdc_state')).toEqual([{ n: 1 }]);
  });
});

describe('cdc: one batch or many gives the same table', () => {
  const rowCols = ['id', 'seq', 'name', 'amount'];
  const oracle = { rowCols, tieCols: ['seq', 'name', 'amount'] };

  /** Changes over a few keys with colliding sequences (ties), deletes and NULLs. */
  function changes(seed: number, n: number): Change[] {
    const r = rng(seed);
    const names = ['a', 'b', 'c', null];
    return Array.from({ length: n }, () => {
      const id = 1 + Math.floor(r() * 6);
      const seq = Math.floor(r() * 15);
      if (r() < 0.2) return D(id, seq, r() < 0.5 ? 'x' : null, 9);
      return U(id, seq, names[Math.floor(r() * names.length)]!, r() < 0.3 ? null : Math.floor(r() * 4));
    });
  }

  /** Split into batches in a shuffled order (late and out-of-order changes across batches). */
  function shuffledBatches(list: readonly Change[], seed: number, k: number): Change[][] {
    const r = rng(seed);
    const shuffled = [...list].sort(() => r() - 0.5);
    const out: Change[][] = Array.from({ length: k }, () => []);
    shuffled.forEach((c, i) => out[Math.floor((i * k) / shuffled.length)]!.push(c));
    return out;
  }

  for (const scd of [1, 2] as const) {
    test(`scd type ${scd}: shuffled batches = one batch = the rules`, async () => {
      const cols = scd === 1 ? rowCols : [...rowCols, 'valid_from', 'valid_to'];
      for (const seed of [1, 2, 3]) {
        const all = changes(seed, 60);
        const one = cdcNode(`gold.one_${scd}_${seed}`, { scd_type: scd });
        await apply(one, [all]);
        const oneRows = canonical(await rows(db, `select * from ${one.id}`), cols);
        const expected = canonical(scd === 1 ? scd1(all, oracle) : scd2(all, oracle), cols);
        expect(oneRows).toEqual(expected);
        for (const k of [2, 5, 12]) {
          const many = cdcNode(`gold.many_${scd}_${seed}_${k}`, { scd_type: scd });
          await apply(many, shuffledBatches(all, seed * 100 + k, k));
          expect(canonical(await rows(db, `select * from ${many.id}`), cols)).toEqual(oneRows);
        }
      }
    });

    test(`scd type ${scd} with ignore_null_updates: batches in sequence order = one batch = the rules`, async () => {
      const cols = scd === 1 ? rowCols : [...rowCols, 'valid_from', 'valid_to'];
      const all = changes(7, 60);
      const one = cdcNode(`gold.inu_one_${scd}`, { scd_type: scd, ignore_null_updates: true });
      await apply(one, [all]);
      const oneRows = canonical(await rows(db, `select * from ${one.id}`), cols);
      const o = { ...oracle, ignoreNulls: true };
      expect(oneRows).toEqual(canonical(scd === 1 ? scd1(all, o) : scd2(all, o), cols));
      // Batches by sequence range, each batch's rows shuffled.
      const many = cdcNode(`gold.inu_many_${scd}`, { scd_type: scd, ignore_null_updates: true });
      const ranges = [[0, 4], [5, 9], [10, 14]] as const;
      await apply(many, ranges.map(([lo, hi]) => [...all].reverse().filter((c) => c.seq >= lo && c.seq <= hi)));
      expect(canonical(await rows(db, `select * from ${many.id}`), cols)).toEqual(oneRows);
    });
  }
});

describe('cdc: configuration and schema', () => {
  test('full refresh rebuilds from the current changes only (state included)', async () => {
    const node = cdcNode('gold.users');
    await apply(node, [[U(1, 1, 'a'), D(2, 9)]]);
    await feed([U(2, 1, 'b')]);
    await build(db, node, true);
    expect(await t1('gold.users')).toEqual([{ id: 2, seq: 1, name: 'b', amount: null }]);
    expect(await rows(db, 'select id from gold.users__lake_cdc_state')).toEqual([{ id: 2 }]);
  });

  test('an existing view is replaced by the table', async () => {
    await db.execute('create schema gold; create view gold.users as select 1 as x');
    const node = cdcNode('gold.users');
    await apply(node, [[U(1, 1, 'a')]]);
    expect(await t1('gold.users')).toEqual([{ id: 1, seq: 1, name: 'a', amount: null }]);
  });

  test('except_columns given as a string works, and an unknown one is a plan error naming the model', async () => {
    await apply(cdcNode('gold.a', { except_columns: 'op' as unknown as string[] }), [[U(1, 1, 'a')]]);
    expect((await columnsOf(db, { schema: 'gold', name: 'a' })).map((c) => c.name)).not.toContain('op');
    const bad = cdcNode('gold.b', { except_columns: ['opp'] });
    const err = await build(db, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).diagnostic).toMatchObject({ node: 'gold.b', file: 'models/gold/b.sql' });
    expect((err as PlanError).message).toMatch(/except_columns entry 'opp' is not a column of the change records \(id, seq, op, name, amount\)/);
  });

  test('a unique_key (or sequence_by, except_columns) written as a quoted name ("Id") is that column, as merge and delete+insert read it', async () => {
    await db.execute('create table qsrc as select id as "Id", seq as "Seq", op, name from src');
    const node = cdcNode('gold.q', { unique_key: ['"Id"'], sequence_by: ['"Seq"'], except_columns: ['"op"'] }, 'select * from qsrc');
    for (const batch of [[U(1, 1, 'a'), U(2, 1, 'b')], [U(1, 2, 'a2'), D(2, 2), U(3, 1, 'c')]]) {
      await feed(batch);
      await db.execute('delete from qsrc; insert into qsrc select id, seq, op, name from src');
      await build(db, node);
    }
    expect(await rows(db, 'select "Id", "Seq", name from gold.q order by all')).toEqual([{ Id: 1, Seq: 2, name: 'a2' }, { Id: 3, Seq: 1, name: 'c' }]);
    expect((await columnsOf(db, node.relation)).map((c) => c.name)).toEqual(['Id', 'Seq', 'name']);
  });

  test('incremental_predicates with cdc is a config error (a late change must meet its key\'s current row)', () => {
    const cfg = (extra: Partial<ModelConfig>) => ({ ...defaultConfig('gold'), materialized: 'incremental' as const, incremental_strategy: 'cdc' as const, unique_key: ['id'], sequence_by: ['seq'], ...extra });
    expect(configProblems(cfg({}))).toEqual([]);
    expect(configProblems(cfg({ incremental_predicates: ["DBT_INTERNAL_DEST.day > date '2024-01-01'"] })).map((p) => p.message))
      .toEqual(["incremental_predicates cannot be used with incremental_strategy 'cdc'"]);
  });

  test('config mistakes are plan errors with a hint', async () => {
    const ctx = await planContext(db, cdcNode('gold.x'));
    const plan = (c: Partial<ModelConfig>) => () => materializationFor('incremental').plan(cdcNode('gold.x', c), ctx);
    expect(plan({ except_columns: ['id'] })).toThrow(/except_columns drops the unique_key column 'id'/);
    expect(plan({ sequence_by: ['nope'] })).toThrow(/sequence_by column 'nope' is not a column/);
    expect(plan({ unique_key: [] })).toThrow(/needs a unique_key/);
    await db.execute('create table vsrc (id int, seq int, valid_from int)');
    const clash = cdcNode('gold.v', { scd_type: 2, except_columns: [] }, 'select * from vsrc');
    expect(() => materializationFor('incremental').plan(clash, { ...ctx, relation: clash.relation, incoming: [{ name: 'id', type: 'INTEGER' }, { name: 'seq', type: 'INTEGER' }, { name: 'valid_from', type: 'INTEGER' }] }))
      .toThrow(/already have a column 'valid_from'/);
  });

  test('switching scd_type needs a full refresh', async () => {
    await apply(cdcNode('gold.users'), [[U(1, 1, 'a')]]);
    await expect(build(db, cdcNode('gold.users', { scd_type: 2 }))).rejects.toThrow(/scd_type is 2 but the existing table has no valid_from\/valid_to/);
    await build(db, cdcNode('gold.users', { scd_type: 2 }), true);
    await expect(build(db, cdcNode('gold.users', { scd_type: 1 }))).rejects.toThrow(/scd_type is 1 but the existing table has valid_from\/valid_to/);
  });

  test('on_schema_change: a new column is added (append_new_columns), kept out (ignore), refused (fail); type 2 keeps valid_from/valid_to', async () => {
    for (const scd of [1, 2] as const) {
      await feed([U(1, 1, 'a')]);
      const base = (mode: ModelConfig['on_schema_change'], sql = 'select * from src') => cdcNode(`gold.s${scd}`, { scd_type: scd, on_schema_change: mode }, sql);
      await build(db, base('append_new_columns'));
      const wider = "select *, 'x' as extra from src";
      await feed([U(1, 2, 'b')]);
      await build(db, base('ignore', wider));
      expect((await columnsOf(db, { schema: 'gold', name: `s${scd}` })).map((c) => c.name)).not.toContain('extra');
      await feed([U(1, 3, 'c')]);
      const failing = base('fail', wider);
      const ctx = await planContext(db, failing);
      expect(() => materializationFor('incremental').plan(failing, ctx)).toThrow(/columns changed \(added: extra; removed: none\) and on_schema_change is 'fail'/);
      await build(db, base('append_new_columns', wider));
      await build(db, base('sync_all_columns', wider));
      const names = (await columnsOf(db, { schema: 'gold', name: `s${scd}` })).map((c) => c.name);
      expect(names).toEqual(scd === 1 ? ['id', 'seq', 'name', 'amount', 'extra'] : ['id', 'seq', 'name', 'amount', 'valid_from', 'valid_to', 'extra']);
      const current = await rows(db, `select name, extra from gold.s${scd} ${scd === 2 ? 'where valid_to is null' : ''}`);
      expect(current).toEqual([{ name: 'c', extra: 'x' }]);
    }
  });
});
