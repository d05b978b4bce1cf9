/**
 * dbt's --empty on `lake run`, `lake build` and `lake compile`, and dbt's `flags` in templates:
 * every ref and source reads zero rows (`.render()` reads it whole), the tables are created with
 * their columns, and nothing that stands for data consumed moves — no landing file enters the
 * ledger, no stream() watermark advances, an existing incremental table keeps its rows, an existing
 * snapshot is not taken — so the next normal run builds exactly what it would have without it.
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { lake, projectYml, query, writeProject } from './helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const record = (offset: number, device: number, rate: number) =>
  JSON.stringify({ key: String(device), topic: 'bpm', partition: 0, offset, timestamp: 1700000000000 + offset, value: { device_id: device, heartrate: rate } });

function project(): string {
  const dir = writeProject({
    'project.yml': projectYml(),
    'landing/bpm/a.jsonl': [record(0, 1, 60), record(1, 2, 70), record(2, 1, 80)].join('\n') + '\n',
    'models/bronze/sources.yml': `sources:
  - name: kafka
    landing: landing
    format: kafka
    tables:
      - name: bpm
        files: bpm/*.jsonl
        columns: { device_id: BIGINT, heartrate: DOUBLE }
`,
    'models/bronze/bpm.sql': "{{ config(materialized='incremental') }}\nselect * from {{ source('kafka', 'bpm') }}\n",
    'models/silver/devices.sql': `{{ config(materialized='incremental', unique_key='device_id') }}
-- which={{ flags.WHICH }} empty={{ flags.EMPTY }} full_refresh={{ flags.FULL_REFRESH }}
select device_id, max(heartrate) as top, max(_lake_batch) as _lake_batch from {{ stream(ref('bpm')) }} group by device_id
`,
    'models/gold/summary.sql': `{{ config(materialized='table') }}
select count(*) as devices, (select count(*) from {{ ref('bpm').render() }}) as readings_whole from {{ ref('devices') }}
`,
    'snapshots/devices_history.sql': `{% snapshot devices_history %}
{{ config(unique_key='device_id', strategy='check', check_cols='all', hard_deletes='invalidate', target_schema='snapshots') }}
select device_id, top from {{ ref('devices') }}
{% endsnapshot %}
`,
  });
  dirs.push(dir);
  return dir;
}

const db = (dir: string) => `${dir}/target/t.duckdb`;
const count = async (dir: string, sql: string) => Number((await query<{ n: number }>(db(dir), `select (${sql}) as n`))[0]!.n);

describe('--empty', () => {
  test('a first build from zero rows: every table with its columns, no file in the ledger, no watermark; the next run reads everything', async () => {
    const dir = project();
    const r = lake(dir, ['build', '--empty']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/bronze\.bpm +incremental 0 rows/);
    expect(await count(dir, 'select count(*) from bronze.bpm')).toBe(0);
    expect((await query<{ column_name: string }>(db(dir), "select column_name from information_schema.columns where table_schema = 'silver' and table_name = 'devices' order by ordinal_position")).map((c) => c.column_name)).toEqual(['device_id', 'top', '_lake_batch']);
    expect(await count(dir, 'select count(*) from _lake.files')).toBe(0);
    expect(await count(dir, 'select count(*) from _lake.watermarks')).toBe(0);
    // The template saw the command's flags.
    expect(fs.readFileSync(`${dir}/target/compiled/silver/devices.sql`, 'utf8')).toContain('which=build empty=True full_refresh=False');
    const normal = lake(dir, ['build']);
    expect(normal.code).toBe(0);
    expect(await count(dir, 'select count(*) from bronze.bpm')).toBe(3);
    expect(await query(db(dir), 'select device_id, top from silver.devices order by 1')).toEqual([{ device_id: 1, top: 80 }, { device_id: 2, top: 70 }]);
    expect(await query(db(dir), 'select devices, readings_whole from gold.summary')).toEqual([{ devices: 2, readings_whole: 3 }]);
    expect(await count(dir, 'select count(*) from _lake.files')).toBe(1);
  });

  test('over built tables: incremental tables and snapshots keep their rows, tables are rebuilt empty, .render() reads whole', async () => {
    const dir = project();
    expect(lake(dir, ['build']).code).toBe(0);
    fs.writeFileSync(`${dir}/landing/bpm/b.jsonl`, `${record(3, 3, 90)}\n`);
    const r = lake(dir, ['build', '--empty']);
    expect(r.code).toBe(0);
    expect(await count(dir, 'select count(*) from bronze.bpm')).toBe(3);
    expect(await count(dir, 'select count(*) from silver.devices')).toBe(2);
    expect(await count(dir, 'select count(*) from snapshots.devices_history where dbt_valid_to is null')).toBe(2);
    expect(await query(db(dir), 'select devices, readings_whole from gold.summary')).toEqual([{ devices: 0, readings_whole: 3 }]);
    // The new file waits for the next normal run, which reads it once.
    expect(lake(dir, ['run']).code).toBe(0);
    expect(await count(dir, 'select count(*) from bronze.bpm')).toBe(4);
    expect(await query(db(dir), 'select device_id, top from silver.devices order by 1')).toEqual([{ device_id: 1, top: 80 }, { device_id: 2, top: 70 }, { device_id: 3, top: 90 }]);
  });

  test('unit tests read their given rows under --empty, as dbt', () => {
    const dir = writeProject({
      'project.yml': projectYml(),
      'models/silver/a.sql': 'select 1 as id',
      'models/silver/u.sql': "select id * 2 as dbl from {{ ref('a') }}",
      'models/silver/u.yml': "unit_tests:\n  - name: ut_dbl\n    model: u\n    given:\n      - input: ref('a')\n        rows: [{id: 1}, {id: 2}]\n    expect:\n      rows: [{dbl: 2}, {dbl: 4}]\n",
    });
    dirs.push(dir);
    const r = lake(dir, ['build', '--empty']);
    expect(r.stdout).toMatch(/PASS +\| ut_dbl/);
    expect(r.code).toBe(0);
  });

  test('lake compile --empty writes each ref and source as zero rows; --empty does not go with --continuous', () => {
    const dir = project();
    expect(lake(dir, ['compile', '--empty']).code).toBe(0);
    const summary = fs.readFileSync(`${dir}/target/compiled/gold/summary.sql`, 'utf8');
    expect(summary).toContain('from (select * from "silver"."devices" where false limit 0)');
    expect(summary).toContain('(select count(*) from "bronze"."bpm")');
    expect(fs.readFileSync(`${dir}/target/compiled/silver/devices.sql`, 'utf8')).toContain('from (select * from "bronze"."bpm" where false limit 0)');
    // Without the flag, the next compile is the usual SQL (no render cached with --empty).
    expect(lake(dir, ['compile']).code).toBe(0);
    expect(fs.readFileSync(`${dir}/target/compiled/gold/summary.sql`, 'utf8')).toContain('from "silver"."devices"');
    const u = lake(dir, ['run', '--empty', '--continuous']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('--empty does not go with --continuous');
  });
});
