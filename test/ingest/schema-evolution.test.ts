/**
 * schema_evolution modes with real files: a second file brings a field the consumer does not hold.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { makeProject, writeFile, run, query, jsonl, clock, plain } from './helpers.js';

function project(mode: string, format = 'jsonl', materialized = 'incremental', declare = true): string {
  const cols = declare ? '        columns: { id: BIGINT, name: VARCHAR }\n' : '';
  return makeProject({
    'models/bronze/sources.yml': `sources:\n  - name: raw\n    landing: landing\n    format: ${format}\n    schema_evolution: ${mode}\n    infer_types: true\n    tables:\n      - name: ev\n        files: ev/*\n${cols}`,
    'models/bronze/ev.sql': `{{ config(materialized='${materialized}') }}\nselect * from {{ source('raw', 'ev') }}`,
  });
}

async function columns(dir: string): Promise<string[]> {
  return (await query(dir, `select column_name as c from information_schema.columns where table_schema = 'bronze' and table_name = 'ev' order by ordinal_position`)).map((r) => String(r.c));
}

describe('schema evolution', () => {
  it('add_new_columns: a new field becomes a column of the target (ALTER TABLE), typed from its values', async () => {
    const t = clock();
    const dir = project('add_new_columns');
    writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1, name: 'a' }]), t());
    await run(dir);
    expect(await columns(dir)).toEqual(['_lake_file', '_lake_line', '_lake_batch', '_lake_file_mtime', 'id', 'name']);
    writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ id: 2, name: 'b', score: 7 }, { id: 3, name: 'c', score: 8, meta: { k: 'v' } }]), t());
    const r = await run(dir);
    expect(r.node('bronze.ev').stats).toMatchObject({ new_columns: ['score', 'meta'] });
    expect(await columns(dir)).toEqual(['_lake_file', '_lake_line', '_lake_batch', '_lake_file_mtime', 'id', 'name', 'score', 'meta']);
    const types = await query(dir, `select column_name as c, data_type as t from information_schema.columns where table_name = 'ev' and column_name in ('score', 'meta') order by 1`);
    expect(types).toEqual([{ c: 'meta', t: 'JSON' }, { c: 'score', t: 'BIGINT' }]);
    expect(plain(await query(dir, 'select id, score, meta::varchar as meta from bronze.ev order by id'))).toEqual([
      { id: 1, score: null, meta: null }, { id: 2, score: 7, meta: null }, { id: 3, score: 8, meta: '{"k":"v"}' },
    ]);
    // The column is now part of what the consumer holds: a later value of another type is a bad record.
    writeFile(dir, 'landing/ev/3.jsonl', jsonl([{ id: 4, score: 'high' }]), t());
    const r3 = await run(dir);
    expect(r3.node('bronze.ev').stats).toMatchObject({ bad_records: 1, new_columns: [] });
  });

  it('without infer_types, columns nobody declared are VARCHAR: one run and two give the same table (JSON lines and CSV)', async () => {
    for (const format of ['jsonl', 'csv']) {
      const files = format === 'jsonl'
        ? [jsonl([{ id: 20, v: 1, m: 5 }]), jsonl([{ id: 21, m: 'abc' }, { id: 22, m: 7.5 }, { id: 23, m: 8, o: { k: 1 } }])]
        : ['id,zip\n2,75001\n', 'id,zip\n1,01234\n3,2A004\n'];
      const ext = format === 'jsonl' ? 'jsonl' : 'csv';
      const tables: unknown[] = [];
      for (const runs of [1, 2]) {
        const t = clock();
        const dir = makeProject({
          'models/bronze/sources.yml': `sources:\n  - name: raw\n    landing: landing\n    format: ${format}\n    tables:\n      - name: ev\n        files: ev/*\n`,
          'models/bronze/ev.sql': `{{ config(materialized='incremental') }}\nselect * exclude (_lake_batch, _lake_file, _lake_line, _lake_file_mtime) from {{ source('raw', 'ev') }}`,
        });
        writeFile(dir, `landing/ev/1.${ext}`, files[0]!, t());
        if (runs === 2) await run(dir);
        writeFile(dir, `landing/ev/2.${ext}`, files[1]!, t());
        const r = await run(dir);
        expect(r.node('bronze.ev').stats).toMatchObject({ bad_records: 0 });
        const types = await query(dir, `select column_name as c, data_type as t from information_schema.columns where table_name = 'ev' order by ordinal_position`);
        tables.push({ types, rows: plain(await query(dir, 'select * from bronze.ev order by id')) });
      }
      expect(tables[1]).toEqual(tables[0]);
      const only = tables[0] as { types: { t: string }[]; rows: Record<string, unknown>[] };
      expect(new Set(only.types.map((x) => x.t))).toEqual(new Set(['VARCHAR']));
      if (format === 'csv') expect(only.rows.map((x) => x.zip)).toEqual(['01234', '75001', '2A004']);
      else expect(only.rows.map((x) => [x.m, x.o])).toEqual([['5', null], ['abc', null], ['7.5', null], ['8', '{"k":1}']]);
    }
  });

  it('add_new_columns: a record whose new field does not fit the inferred type is quarantined with its raw line', async () => {
    const dir = makeProject({
      'models/bronze/sources.yml': `sources:\n  - name: raw\n    landing: landing\n    format: kafka\n    schema_evolution: add_new_columns\n    bad_records: quarantine\n    infer_types: true\n    tables:\n      - name: ev\n        files: ev/*\n        columns: { id: BIGINT }\n`,
      'models/bronze/ev.sql': `{{ config(materialized='incremental') }}\nselect * from {{ source('raw', 'ev') }}`,
    });
    // BIGINT and UBIGINT values make a BIGINT column; 2^64 - 1 does not fit it. `value` as a JSON
    // string (the second line) and as an object (the others) take the same path.
    const lines = [
      JSON.stringify({ key: 'a', value: { id: 1, big: 5 }, topic: 't', partition: 0, offset: 1 }),
      JSON.stringify({ key: 'b', value: JSON.stringify({ id: 2, big: -6 }), topic: 't', partition: 0, offset: 2 }),
      '{"key":"c","value":{"id":3,"big":18446744073709551615},"topic":"t","partition":0,"offset":3}',
      JSON.stringify({ key: 'd', value: { id: 4 }, topic: 't', partition: 0, offset: 4 }),
    ];
    writeFile(dir, 'landing/ev/1.jsonl', `${lines.join('\n')}\n`);
    const r = await run(dir);
    expect(r.node('bronze.ev').stats).toMatchObject({ rows: 3, bad_records: 1, new_columns: ['big'] });
    expect(plain(await query(dir, 'select id, big from bronze.ev order by id'))).toEqual([{ id: 1, big: 5 }, { id: 2, big: -6 }, { id: 4, big: null }]);
    expect(plain(await query(dir, 'select line, raw, reason from bronze.ev__quarantine'))).toEqual([
      { line: 3, raw: lines[2], reason: 'column big: 18446744073709551615 is not a valid BIGINT' },
    ]);
  });

  it('add_new_columns works for csv (types as DuckDB detects them)', async () => {
    const t = clock();
    const dir = project('add_new_columns', 'csv');
    writeFile(dir, 'landing/ev/1.csv', 'id,name\n1,a\n', t());
    await run(dir);
    writeFile(dir, 'landing/ev/2.csv', 'id,name,qty\n2,b,5\n', t());
    await run(dir);
    expect(plain(await query(dir, 'select id, name, qty from bronze.ev order by id'))).toEqual([{ id: 1, name: 'a', qty: null }, { id: 2, name: 'b', qty: 5 }]);
  });

  it('rescue: unknown fields are kept in _rescued_data as JSON', async () => {
    const t = clock();
    const dir = project('rescue');
    writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1, name: 'a' }]), t());
    await run(dir);
    writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ id: 2, name: 'b', score: 7, tags: ['x', 'y'] }]), t());
    await run(dir);
    expect(await columns(dir)).toEqual(['_lake_file', '_lake_line', '_lake_batch', '_lake_file_mtime', 'id', 'name', '_rescued_data']);
    const rows = await query(dir, 'select id, _rescued_data::varchar as r from bronze.ev order by id');
    expect(rows[0]).toEqual({ id: 1, r: null });
    expect(JSON.parse(String(rows[1]!.r))).toEqual({ score: 7, tags: ['x', 'y'] });
  });

  it('rescue without declared columns: the first read sets the schema, later fields are rescued', async () => {
    const t = clock();
    const dir = project('rescue', 'jsonl', 'incremental', false);
    writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1, name: 'a' }]), t());
    await run(dir);
    writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ id: 2, extra: true }]), t());
    await run(dir);
    const rows = await query(dir, 'select id, name, _rescued_data::varchar as r from bronze.ev order by id');
    expect(rows).toEqual([{ id: 1, name: 'a', r: null }, { id: 2, name: null, r: '{"extra":true}' }]);
  });

  for (const mode of ['rescue', 'none']) {
    it(`${mode}: a column added to the declaration later becomes a column of the target, with the values of the files read from then on`, async () => {
      const t = clock();
      const dir = project(mode);
      writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1, name: 'a', q: 3 }]), t());
      await run(dir);
      const yml = path.join(dir, 'models/bronze/sources.yml');
      fs.writeFileSync(yml, fs.readFileSync(yml, 'utf8').replace('name: VARCHAR }', 'name: VARCHAR, q: BIGINT }'));
      writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ id: 41, name: 'b', q: 4 }]), t());
      const r = await run(dir);
      expect(r.node('bronze.ev').status).toBe('success');
      expect(await columns(dir)).toEqual(['_lake_file', '_lake_line', '_lake_batch', '_lake_file_mtime', 'id', 'name', ...(mode === 'rescue' ? ['_rescued_data'] : []), 'q']);
      const rows = plain(await query(dir, `select id, q${mode === 'rescue' ? ', _rescued_data::varchar as r' : ''} from bronze.ev order by id`));
      expect(rows).toEqual(mode === 'rescue' ? [{ id: 1, q: null, r: '{"q":3}' }, { id: 41, q: 4, r: null }] : [{ id: 1, q: null }, { id: 41, q: 4 }]);
    });
  }

  it('a declared column whose type changes: new rows that do not fit say which column and what to do', async () => {
    const t = clock();
    const dir = project('add_new_columns');
    writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1, name: 'a' }]), t());
    await run(dir);
    const yml = path.join(dir, 'models/bronze/sources.yml');
    fs.writeFileSync(yml, fs.readFileSync(yml, 'utf8').replace('id: BIGINT', 'id: VARCHAR'));
    writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ id: 'x-2', name: 'b' }]), t());
    const r = await run(dir);
    expect(r.node('bronze.ev').status).toBe('error');
    expect(r.node('bronze.ev').error).toContain("hint: column id is BIGINT in the table but VARCHAR in the model's SQL, and on_schema_change 'append_new_columns' keeps the table's types: rebuild it with --full-refresh, or set on_schema_change: sync_all_columns");
    expect((await query(dir, 'select id from bronze.ev')).map((x) => String(x.id))).toEqual(['1']);
  });

  it('fail: stops with the file:line that introduced the field, and changes nothing', async () => {
    const t = clock();
    const dir = project('fail');
    writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1, name: 'a' }]), t());
    await run(dir);
    writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ id: 2, name: 'b' }, { id: 3, name: 'c', score: 1 }]), t());
    const r = await run(dir);
    expect(r.node('bronze.ev').status).toBe('error');
    expect(r.node('bronze.ev').error).toContain('landing/ev/2.jsonl:2');
    expect(r.node('bronze.ev').error).toContain("new field 'score'");
    expect((await query(dir, 'select id from bronze.ev')).map((x) => x.id)).toEqual([1]);
    expect(await columns(dir)).toEqual(['_lake_file', '_lake_line', '_lake_batch', '_lake_file_mtime', 'id', 'name']);
  });

  it('fail also holds for a table model, against the schema it read before', async () => {
    const t = clock();
    const dir = project('fail', 'jsonl', 'table', false);
    writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1, name: 'a' }]), t());
    expect((await run(dir)).node('bronze.ev').status).toBe('success');
    writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ id: 2, zip: '1000' }]), t());
    const r = await run(dir);
    expect(r.node('bronze.ev').error).toContain('landing/ev/2.jsonl:1');
  });

  it('none: unknown fields are ignored', async () => {
    const t = clock();
    const dir = project('none');
    writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1, name: 'a', score: 3 }]), t());
    writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ id: 2, name: 'b', other: 'x' }]), t());
    const r = await run(dir);
    expect(r.node('bronze.ev').stats).toMatchObject({ rows: 2, bad_records: 0, new_columns: [] });
    expect(await columns(dir)).toEqual(['_lake_file', '_lake_line', '_lake_batch', '_lake_file_mtime', 'id', 'name']);
  });

  it('an explicit on_schema_change: fail on the model still wins over add_new_columns', async () => {
    const t = clock();
    const dir = makeProject({
      'models/bronze/sources.yml': `sources:\n  - name: raw\n    landing: landing\n    tables:\n      - name: ev\n        files: ev/*\n        columns: { id: BIGINT }\n`,
      'models/bronze/ev.sql': `{{ config(materialized='incremental', on_schema_change='fail') }}\nselect * from {{ source('raw', 'ev') }}`,
    });
    writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1 }]), t());
    await run(dir);
    writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ id: 2, more: 1 }]), t());
    const r = await run(dir);
    expect(r.node('bronze.ev').status).toBe('error');
    expect(r.node('bronze.ev').error).toMatch(/on_schema_change is 'fail'/);
  });

  it('add_new_columns: a new field spelt in several cases in one batch is one column holding every value, as when the files come one by one', async () => {
    const t = clock();
    const once = project('add_new_columns', 'jsonl', 'incremental', true);
    writeFile(once, 'landing/ev/1.jsonl', jsonl([{ id: 1, Foo: 'one' }]), t());
    writeFile(once, 'landing/ev/2.jsonl', jsonl([{ id: 2, foo: 'two' }, { id: 3, FOO: 7 }]), t());
    const r = await run(once);
    expect(r.node('bronze.ev').stats).toMatchObject({ rows: 3, bad_records: 0, new_columns: ['Foo'] });
    const expected = [{ id: 1, Foo: 'one' }, { id: 2, Foo: 'two' }, { id: 3, Foo: '7' }];
    expect(plain(await query(once, 'select id, "Foo"::varchar as "Foo" from bronze.ev order by id'))).toEqual(expected);
    const apart = project('add_new_columns', 'jsonl', 'incremental', true);
    writeFile(apart, 'landing/ev/1.jsonl', jsonl([{ id: 1, Foo: 'one' }]), t());
    await run(apart);
    writeFile(apart, 'landing/ev/2.jsonl', jsonl([{ id: 2, foo: 'two' }, { id: 3, FOO: 7 }]), t());
    await run(apart);
    expect(plain(await query(apart, 'select id, "Foo"::varchar as "Foo" from bronze.ev order by id'))).toEqual(expected);
  });

  // Field names match the declared columns whatever their case, as in Spark; a field that only
  // differs in case is neither a new column nor rescued, and a wrong-typed one is a bad record —
  // but for rescue, where it is kept in _rescued_data under its own spelling (Auto Loader's).
  for (const mode of ['add_new_columns', 'rescue', 'none'] as const) {
    it(`a field named in another case fills the column (${mode}), for JSON lines and CSV headers`, async () => {
      const dir = project(mode);
      writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ id: 1, name: 'a' }, { Id: 2, NAME: 'b' }, { ID: 'x', name: 'c' }, { id: 4 }]));
      const r = await run(dir);
      expect(r.node('bronze.ev').stats).toMatchObject({ rows: mode === 'rescue' ? 4 : 3, bad_records: mode === 'rescue' ? 0 : 1, new_columns: [] });
      const extra = mode === 'rescue' ? ', _rescued_data' : '';
      expect(plain(await query(dir, `select id, name${extra} from bronze.ev order by id nulls last`))).toEqual(mode === 'rescue'
        ? [{ id: 1, name: 'a', _rescued_data: null }, { id: 2, name: 'b', _rescued_data: null }, { id: 4, name: null, _rescued_data: null }, { id: null, name: 'c', _rescued_data: '{"ID":"x"}' }]
        : [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 4, name: null }]);
      if (mode !== 'rescue') expect(plain(await query(dir, 'select line, reason from bronze.ev__quarantine'))).toEqual([{ line: 3, reason: 'column id: "x" is not a valid BIGINT' }]);
      const csv = project(mode, 'csv');
      writeFile(csv, 'landing/ev/1.csv', 'ID,Name\n10,x\n');
      await run(csv);
      expect(plain(await query(csv, 'select id, name from bronze.ev'))).toEqual([{ id: 10, name: 'x' }]);
    });
  }
});
