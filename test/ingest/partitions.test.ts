/**
 * Hive-style partition folders (`date=2024-01-01/hour=07/`) as columns, as Auto Loader reads them
 * (cloudFiles.partitionColumns): the same for every format, text unless declared, over
 * incremental micro-batches; `partition_columns` names them or turns them off.
 */
import { describe, it, expect } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeProject, writeFile, run, query, clock, plain } from './helpers.js';

/** An incremental bronze model of every row of source raw.<table>. */
const incremental = (table: string) => `{{ config(materialized='incremental') }}\nselect * from {{ source('raw', '${table}') }}`;

function sources(tables: string): string {
  return `sources:\n  - name: raw\n    landing: landing\n    tables:\n${tables}`;
}

async function columns(dir: string, table: string): Promise<string[]> {
  const rows = await query(dir, `select column_name as c, data_type as t from information_schema.columns where table_schema = 'bronze' and table_name = '${table}' order by ordinal_position`);
  return rows.map((r) => `${r.c}:${r.t}`);
}

describe('partition columns', () => {
  it('reads key=value folders below the glob as columns, for JSON lines, CSV and parquet alike, across micro-batches', async () => {
    const t = clock();
    const dir = makeProject({
      'models/bronze/sources.yml': sources([
        '      - name: ev',
        '        files: "ev/**/*.jsonl"',
        '        columns: { id: BIGINT, day: DATE }',
        '      - name: cs',
        '        format: csv',
        '        files: "cs/**/*.csv"',
        '      - name: pq',
        '        format: parquet',
        '        files: "pq/**/*.parquet"',
        '',
      ].join('\n')),
      'models/bronze/ev.sql': incremental('ev'),
      'models/bronze/cs.sql': incremental('cs'),
      'models/bronze/pq.sql': incremental('pq'),
    });
    // `day` is declared (DATE) and `hour` is not (text); `%20` is decoded; Hive's default partition is NULL.
    writeFile(dir, 'landing/ev/day=2024-01-01/hour=07/a.jsonl', '{"id": 1}\n{"id": 2}\n', t());
    writeFile(dir, 'landing/ev/day=2024-01-02/hour=__HIVE_DEFAULT_PARTITION__/b.jsonl', '{"id": 3}\n', t());
    writeFile(dir, 'landing/cs/region=eu%20west/a.csv', 'id,v\n1,x\n', t());
    const db = await DuckDBAdapter.open(':memory:');
    fs.mkdirSync(path.join(dir, 'landing/pq/year=2024'), { recursive: true });
    await db.execute(`copy (select 1 as id) to '${path.join(dir, 'landing/pq/year=2024/a.parquet')}' (format parquet)`);
    await db.close();
    const r = await run(dir);
    expect(r.failed).toBe(false);
    expect(await columns(dir, 'ev')).toEqual(['_lake_file:VARCHAR', '_lake_line:BIGINT', '_lake_batch:BIGINT', '_lake_file_mtime:TIMESTAMP', 'id:BIGINT', 'day:DATE', 'hour:VARCHAR']);
    expect(plain(await query(dir, 'select id, day::varchar as day, hour from bronze.ev order by id'))).toEqual([
      { id: 1, day: '2024-01-01', hour: '07' }, { id: 2, day: '2024-01-01', hour: '07' }, { id: 3, day: '2024-01-02', hour: null },
    ]);
    // DuckDB's own hive_partitioning (CSV and parquet only, and typed for parquet) is off: the same text column for every format.
    expect(await columns(dir, 'cs')).toEqual(['_lake_file:VARCHAR', '_lake_line:BIGINT', '_lake_batch:BIGINT', '_lake_file_mtime:TIMESTAMP', 'id:VARCHAR', 'v:VARCHAR', 'region:VARCHAR']);
    expect(await query(dir, 'select region from bronze.cs')).toEqual([{ region: 'eu west' }]);
    expect(await columns(dir, 'pq')).toEqual(['_lake_file:VARCHAR', '_lake_line:BIGINT', '_lake_batch:BIGINT', '_lake_file_mtime:TIMESTAMP', 'id:INTEGER', 'year:VARCHAR']);

    // A later micro-batch: a folder of a new day, and a file with no partition folders at all.
    writeFile(dir, 'landing/ev/day=2024-01-03/hour=09/c.jsonl', '{"id": 4}\n', t());
    writeFile(dir, 'landing/ev/loose.jsonl', '{"id": 5}\n', t());
    expect((await run(dir)).failed).toBe(false);
    expect(plain(await query(dir, 'select id, day::varchar as day, hour from bronze.ev where id > 3 order by id'))).toEqual([
      { id: 4, day: '2024-01-03', hour: '09' }, { id: 5, day: null, hour: null },
    ]);
  });

  it('partition_columns names the folders read (a value in the records yields to the folder\'s) or, empty, none', async () => {
    const t = clock();
    const dir = makeProject({
      'models/bronze/sources.yml': sources([
        '      - name: named',
        '        files: "named/**/*.jsonl"',
        '        partition_columns: "country"',
        '      - name: off',
        '        files: "off/**/*.jsonl"',
        '        partition_columns: []',
        '      - name: later',
        '        files: "later/**/*.jsonl"',
        '        partition_columns: [day]',
        '',
      ].join('\n')),
      'models/bronze/named.sql': "select * from {{ source('raw', 'named') }}",
      // Named partition columns are columns of every batch, before their first folder too.
      'models/bronze/later.sql': "{{ config(materialized='incremental') }}\nselect id, day from {{ source('raw', 'later') }}",
      'models/bronze/off.sql': "select * from {{ source('raw', 'off') }}",
    });
    writeFile(dir, 'landing/named/country=fr/city=paris/a.jsonl', '{"id": 1, "country": "xx"}\n', t());
    writeFile(dir, 'landing/off/country=fr/a.jsonl', '{"id": 1}\n', t());
    writeFile(dir, 'landing/later/a.jsonl', '{"id": 1}\n', t());
    expect((await run(dir)).failed).toBe(false);
    writeFile(dir, 'landing/later/day=2024-01-02/b.jsonl', '{"id": 2}\n', t());
    expect((await run(dir)).failed).toBe(false);
    expect(await query(dir, 'select id, day from bronze.later order by id')).toEqual([{ id: '1', day: null }, { id: '2', day: '2024-01-02' }]);
    expect(await query(dir, 'select id, country from bronze.named')).toEqual([{ id: '1', country: 'fr' }]);
    expect(await columns(dir, 'off')).toEqual(['_lake_file:VARCHAR', '_lake_line:BIGINT', '_lake_batch:BIGINT', '_lake_file_mtime:TIMESTAMP', 'id:VARCHAR']);
  });

  it('keeps partition columns over batches without their folders, matches keys whatever their case, reads _key= folders, and lets the folder win', async () => {
    const t = clock();
    const dir = makeProject({
      'models/bronze/sources.yml': sources([
        '      - name: ev',
        '        files: "ev/**/*.jsonl"',
        '        columns: { id: BIGINT, day: DATE }',
        '      - name: cs',
        '        format: csv',
        '        header: false',
        '        files: "cs/**/*.csv"',
        '        columns: { id: BIGINT, v: VARCHAR, day: DATE }',
        '',
      ].join('\n')),
      'models/bronze/ev.sql': "{{ config(materialized='incremental', on_schema_change='fail') }}\nselect id, day, hour, _src from {{ source('raw', 'ev') }}",
      'models/bronze/cs.sql': "select id, v, day from {{ source('raw', 'cs') }}",
    });
    writeFile(dir, 'landing/ev/day=2024-01-01/Hour=07/_src=a/a.jsonl', '{"id": 1, "day": "1999-09-09"}\n', t());
    writeFile(dir, 'landing/ev/day=__HIVE_DEFAULT_PARTITION__/hour=08/_src=b/b.jsonl', '{"id": 2, "day": "1999-09-09"}\n', t());
    writeFile(dir, 'landing/cs/day=2024-01-05/a.csv', '1,a\n2,b\n', t());
    expect((await run(dir)).failed).toBe(false);
    // One hour column (Hour= and hour=), _src= is a partition folder (not a hidden one), the folder's day over the record's, NULL for Hive's default.
    expect(plain(await query(dir, 'select id, day::varchar as day, hour as hour, _src from bronze.ev order by id'))).toEqual([
      { id: 1, day: '2024-01-01', hour: '07', _src: 'a' }, { id: 2, day: null, hour: '08', _src: 'b' },
    ]);
    // A headerless CSV's declared partition column is not one of its fields.
    expect(plain(await query(dir, 'select id, v, day::varchar as day from bronze.cs order by id'))).toEqual([{ id: 1, v: 'a', day: '2024-01-05' }, { id: 2, v: 'b', day: '2024-01-05' }]);
    // A run with nothing new and a run with a file in no partition folder: the same columns (on_schema_change fail would say otherwise).
    expect((await run(dir)).failed).toBe(false);
    writeFile(dir, 'landing/ev/flat.jsonl', '{"id": 3}\n', t());
    const flat = await run(dir);
    expect(flat.node('bronze.ev').status).toBe('success');
    expect(plain(await query(dir, 'select id, hour as hour, _src from bronze.ev where id = 3'))).toEqual([{ id: 3, hour: null, _src: null }]);
    // A folder value that does not fit the declared type stops the build, naming the file.
    writeFile(dir, 'landing/ev/day=2024-13-45/c.jsonl', '{"id": 4}\n', t());
    const bad = await run(dir);
    expect(bad.node('bronze.ev').error).toContain('the folder day=2024-13-45 of landing/ev/day=2024-13-45/c.jsonl is not a valid DATE, the declared type of day');
  });
});
