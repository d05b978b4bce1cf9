/**
 * dbt's microbatch incremental strategy: which batches a build runs (dbt's MicrobatchBuilder
 * rules, checked on dbt's own documented examples), and real builds through the `lake` CLI —
 * refs and sources with event_time filtered per batch (and `.render()` opting out), model.batch,
 * is_incremental() per batch, --event-time-start/--event-time-end backfills replacing only their
 * range, lookback from now, --full-refresh from begin, a failing batch leaving the table as it
 * was, and the configuration errors.
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { batchesOf, ceiling, offset, parseEventTime, truncate, type BatchSize } from '../../src/core/event-time.js';
import { lake, projectYml, query, writeProject } from '../core/helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const utc = (s: string) => parseEventTime(s)!;
const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');

describe('batch ranges (dbt MicrobatchBuilder)', () => {
  test('truncate, offset and ceiling per batch size', () => {
    const t = utc('2024-09-17 16:06:00');
    const cases: [BatchSize, string, string, string, string][] = [
      ['hour', '2024-09-17T16:00:00Z', '2024-09-17T15:00:00Z', '2024-09-17T17:00:00Z', '2024-09-17T17:00:00Z'],
      ['day', '2024-09-17T00:00:00Z', '2024-09-16T00:00:00Z', '2024-09-18T00:00:00Z', '2024-09-18T00:00:00Z'],
      ['month', '2024-09-01T00:00:00Z', '2024-08-01T00:00:00Z', '2024-10-01T00:00:00Z', '2024-10-01T00:00:00Z'],
      ['year', '2024-01-01T00:00:00Z', '2023-01-01T00:00:00Z', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'],
    ];
    for (const [size, trunc, before, after, ceil] of cases) {
      expect([iso(truncate(t, size)), iso(offset(t, size, -1)), iso(offset(t, size, 1)), iso(ceiling(t, size))], size).toEqual([trunc, before, after, ceil]);
    }
    // A boundary is its own ceiling; month offsets cross year ends and month lengths.
    expect(iso(ceiling(utc('2024-09-01'), 'month'))).toBe('2024-09-01T00:00:00Z');
    expect(iso(offset(utc('2024-01-31'), 'month', -2))).toBe('2023-11-01T00:00:00Z');
  });

  test("dbt's documented incremental run: run on Oct 1 with lookback 3 builds Sep 28 to Oct 1", () => {
    const b = batchesOf({ batchSize: 'day', begin: utc('2020-01-01'), lookback: 3, incremental: true, now: utc('2024-10-01 10:15:00') });
    expect(b.map((x) => x.id)).toEqual(['20240928', '20240929', '20240930', '20241001']);
    expect(iso(b[3]!.end)).toBe('2024-10-02T00:00:00Z');
  });

  test('a first build starts at begin; the default lookback is 1; ids per batch size', () => {
    const now = utc('2024-10-01 10:15:00');
    expect(batchesOf({ batchSize: 'day', begin: utc('2024-09-29 12:00'), lookback: 1, incremental: false, now }).map((x) => x.id)).toEqual(['20240929', '20240930', '20241001']);
    expect(batchesOf({ batchSize: 'day', begin: utc('2020-01-01'), lookback: 1, incremental: true, now }).map((x) => x.id)).toEqual(['20240930', '20241001']);
    expect(batchesOf({ batchSize: 'hour', begin: utc('2024-10-01 08:30'), lookback: 0, incremental: false, now }).map((x) => x.id)).toEqual(['20241001T08', '20241001T09', '20241001T10']);
    expect(batchesOf({ batchSize: 'month', begin: utc('2024-08-15'), lookback: 1, incremental: false, now }).map((x) => x.id)).toEqual(['202408', '202409', '202410']);
    expect(batchesOf({ batchSize: 'year', begin: utc('2023-06-01'), lookback: 1, incremental: false, now }).map((x) => x.id)).toEqual(['2023', '2024']);
  });

  test('--event-time-start/--event-time-end win over begin and lookback; the end moves up to a boundary', () => {
    const b = batchesOf({ batchSize: 'day', begin: utc('2020-01-01'), lookback: 5, incremental: true, now: utc('2030-01-01'), eventTimeStart: utc('2024-09-01 06:00'), eventTimeEnd: utc('2024-09-03 00:00') });
    expect(b.map((x) => [x.id, iso(x.start), iso(x.end)])).toEqual([
      ['20240901', '2024-09-01T00:00:00Z', '2024-09-02T00:00:00Z'],
      ['20240902', '2024-09-02T00:00:00Z', '2024-09-03T00:00:00Z'],
    ]);
    // A start after the end (a begin in the future): one batch that holds nothing, as dbt builds it.
    expect(batchesOf({ batchSize: 'day', begin: utc('2031-01-01'), lookback: 1, incremental: false, now: utc('2030-01-01') }).map((x) => [x.id, iso(x.start), iso(x.end)])).toEqual([['20310101', '2031-01-01T00:00:00Z', '2031-01-01T00:00:00Z']]);
  });

  test('parseEventTime: dates, timestamps, offsets; impossible dates refused', () => {
    expect(iso(utc('2024-01-02'))).toBe('2024-01-02T00:00:00Z');
    expect(iso(utc('2024-01-02T03:04:05'))).toBe('2024-01-02T03:04:05Z');
    expect(iso(utc('2024-01-02 03:04+02:00'))).toBe('2024-01-02T01:04:00Z');
    expect(iso(utc('2024-01-02 03:04:05Z'))).toBe('2024-01-02T03:04:05Z');
    for (const bad of ['2024-02-30', '2024-13-01', 'yesterday', '', '2024-01-02 25:00']) expect(parseEventTime(bad), bad).toBeUndefined();
  });
});

/** Readings across four days, their event time `ts`; a daily microbatch model summing them. */
function project(extraModels: Record<string, string> = {}, daily?: string): string {
  const dir = writeProject({
    'project.yml': projectYml(),
    'models/bronze/readings.sql': `{{ config(materialized='table') }}
select * from (values
  (1, timestamp '2024-01-01 10:00', 5),
  (2, timestamp '2024-01-01 23:59:59', 7),
  (3, timestamp '2024-01-02 00:00', 1),
  (4, timestamp '2024-01-03 12:00', 2),
  (5, timestamp '2024-01-04 08:00', 3)
) as t(id, ts, v)
`,
    'models/bronze/readings.yml': 'models:\n  - name: readings\n    config:\n      event_time: ts\n',
    'models/silver/daily.sql': daily ?? `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='day', batch_size='day', begin='2024-01-01') }}
{{ log('batch ' ~ model.batch.id ~ ' from ' ~ model.batch.event_time_start ~ ' incremental=' ~ is_incremental(), info=True) }}
select date_trunc('day', ts)::timestamp as day, count(*) as n, sum(v) as total,
  (select count(*) from {{ ref('readings').render() }}) as all_readings
from {{ ref('readings') }}
group by 1
`,
    ...extraModels,
  });
  dirs.push(dir);
  return dir;
}

const db = (dir: string) => `${dir}/target/t.duckdb`;
const daily = (dir: string) => query<{ day: string; n: number; total: number; all_readings: number }>(db(dir), "select strftime(day, '%Y-%m-%d') as day, n::int as n, total::int as total, all_readings::int as all_readings from silver.daily order by day");

describe('microbatch builds', () => {
  test('each batch reads its own day of a ref with event_time; .render() reads it whole; model.batch and is_incremental() per batch', async () => {
    const dir = project();
    const r = lake(dir, ['run', '--event-time-start', '2024-01-01', '--event-time-end', '2024-01-04']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('batch 20240101 from 2024-01-01 00:00:00+00:00 incremental=False');
    expect(r.stdout).toContain('batch 20240102 from 2024-01-02 00:00:00+00:00 incremental=True');
    expect(r.stdout).toMatch(/silver\.daily +incremental 3 rows \(3 batches 20240101\.\.20240103\)/);
    expect(await daily(dir)).toEqual([
      { day: '2024-01-01', n: 2, total: 12, all_readings: 5 },
      { day: '2024-01-02', n: 1, total: 1, all_readings: 5 },
      { day: '2024-01-03', n: 1, total: 2, all_readings: 5 },
    ]);
  });

  test('a backfill replaces the rows of its range only, and running it again changes nothing', async () => {
    const dir = project();
    expect(lake(dir, ['run', '--event-time-start', '2024-01-01', '--event-time-end', '2024-01-05']).code).toBe(0);
    // The upstream changes on every day; only Jan 2-3 are rebuilt.
    fs.writeFileSync(`${dir}/models/bronze/readings.sql`, fs.readFileSync(`${dir}/models/bronze/readings.sql`, 'utf8').replace(/, (\d)\)/g, (_m, v: string) => `, ${Number(v) * 10})`));
    expect(lake(dir, ['run', '-s', 'readings']).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const r = lake(dir, ['run', '-s', 'daily', '--event-time-start', '2024-01-02', '--event-time-end', '2024-01-04']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/2 batches 20240102\.\.20240103/);
      expect((await daily(dir)).map((x) => [x.day, x.total])).toEqual([['2024-01-01', 12], ['2024-01-02', 10], ['2024-01-03', 20], ['2024-01-04', 3]]);
    }
  });

  test('an incremental run rebuilds the current batch and lookback batches before it; --full-refresh starts again at begin', async () => {
    // Readings relative to now: today, yesterday, 2 and 5 days ago (hourly batches would be too many for a test).
    const models = {
      'models/bronze/recent.sql': `{{ config(materialized='table', event_time='ts') }}
select * from (values (1, 0), (2, 1), (3, 2), (4, 5)) as t(id, days_ago), lateral (select date_trunc('day', now()::timestamp) - days_ago * interval 1 day + interval 1 minute as ts)
`,
      'models/gold/recent_daily.sql': `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts', batch_size='day', begin=(modules.datetime.datetime.utcnow() - modules.datetime.timedelta(days=3)).strftime('%Y-%m-%d'), lookback=1) }}
select id, ts, '{{ model.batch.id }}' as built_in from {{ ref('recent') }}
`,
    };
    const dir = project(models);
    let r = lake(dir, ['run', '-s', 'recent', 'recent_daily']);
    expect(r.code).toBe(0);
    // begin is 3 days ago: the reading of 5 days ago is outside every batch.
    expect(r.stdout).toMatch(/gold\.recent_daily +incremental 3 rows \(4 batches/);
    const first = await query<{ id: number; built_in: string }>(db(dir), 'select id, built_in from gold.recent_daily order by id');
    expect(first.map((x) => x.id)).toEqual([1, 2, 3]);
    // Mark the stored rows, run again: today and yesterday are rebuilt (their rows new), the day before is kept.
    await query(db(dir), "update gold.recent_daily set built_in = 'old'");
    r = lake(dir, ['run', '-s', 'recent_daily']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 rows \(2 batches/);
    expect((await query<{ id: number; built_in: string }>(db(dir), 'select id, built_in from gold.recent_daily order by id')).map((x) => [x.id, x.built_in === 'old'])).toEqual([[1, false], [2, false], [3, true]]);
    r = lake(dir, ['run', '-s', 'recent_daily', '--full-refresh']);
    expect(r.stdout).toMatch(/3 rows \(4 batches/);
    expect((await query<{ n: number }>(db(dir), "select count(*)::int as n from gold.recent_daily where built_in = 'old'"))[0]!.n).toBe(0);
  });

  test('a source with event_time is filtered per batch too', async () => {
    const dir = project({
      'models/gold/src.yml': 'sources:\n  - name: raw\n    schema: bronze\n    tables:\n      - name: readings\n        config: { event_time: ts }\n',
      'models/gold/from_source.sql': `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts', batch_size='day', begin='2024-01-01') }}
select id, ts from {{ source('raw', 'readings') }}
`,
    });
    expect(lake(dir, ['run', '-s', 'readings']).code).toBe(0);
    const r = lake(dir, ['run', '-s', 'from_source', '--event-time-start', '2024-01-02', '--event-time-end', '2024-01-04']);
    expect(r.code).toBe(0);
    expect((await query<{ id: number }>(db(dir), 'select id from gold.from_source order by id')).map((x) => x.id)).toEqual([3, 4]);
  });

  test('a seed with event_time is filtered per batch', async () => {
    const dir = project({
      'seeds/visits.csv': 'id,ts\n1,2024-01-01 08:00:00\n2,2024-01-02 09:00:00\n3,2024-01-03 10:00:00\n',
      'seeds/visits.yml': 'seeds:\n  - name: visits\n    config: { event_time: ts }\n',
      'models/gold/visits_daily.sql': `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts', batch_size='day', begin='2024-01-01') }}
select id, ts, '{{ model.batch.id }}' as batch from {{ ref('visits') }}
`,
    });
    const r = lake(dir, ['run', '-s', 'visits', 'visits_daily', '--event-time-start', '2024-01-02', '--event-time-end', '2024-01-04']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await query(db(dir), 'select id, batch from gold.visits_daily order by id')).toEqual([{ id: 2, batch: '20240102' }, { id: 3, batch: '20240103' }]);
    // Its event_time is a config of the seed: in the manifest, and for config selectors.
    expect(lake(dir, ['ls', '-s', 'config.event_time:ts']).stdout.trim().split('\n').sort()).toEqual(['bronze.readings', 'gold.visits_daily', 'seeds.visits']);
    const manifest = JSON.parse(fs.readFileSync(`${dir}/target/manifest.json`, 'utf8')) as { nodes: Record<string, { config: Record<string, unknown> }> };
    expect(Object.values(manifest.nodes).find((n) => n.config.materialized === 'seed')!.config.event_time).toBe('ts');
  });

  test('a batch keeps only the rows of its range, whatever its inputs give (an input without event_time, a .render())', async () => {
    const dir = project({
      'models/silver/plain.sql': "{{ config(materialized='table') }}\nselect * from (values (0, timestamp '2024-01-01 10:00'), (1, timestamp '2024-01-02 10:00'), (2, timestamp '2024-01-03 10:00')) as t(id, ts)\n",
      'models/gold/copied.sql': `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts', batch_size='day', begin='2024-01-01') }}
select id, ts from {{ ref('plain') }} union all select id + 100, ts from {{ ref('readings').render() }}
`,
    });
    const r = lake(dir, ['run', '-s', '+copied', '--event-time-start', '2024-01-01', '--event-time-end', '2024-01-04']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gold\.copied +incremental 7 rows \(3 batches/);
    expect((await query<{ id: number }>(db(dir), 'select id from gold.copied order by id')).map((x) => x.id)).toEqual([0, 1, 2, 101, 102, 103, 104]);
  });

  test("a batch's SELECT reads {{ this }} as it was before the batch; a later batch may add a column (on_schema_change)", async () => {
    const dir = project({}, `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='day', batch_size='day', begin='2024-01-01', on_schema_change='append_new_columns') }}
{% set bid = model.batch.id if model.batch else '' %}
select date_trunc('day', r.ts)::timestamp as day, count(*) as n, sum(v) as total,
  {% if is_incremental() %}coalesce(max(t.all_readings), {{ var('run', 1) }}){% else %}{{ var('run', 1) }}{% endif %} as all_readings
  {% if var('run', 1) == 2 and bid >= '20240103' %}, 'new' as extra{% endif %}
from {{ ref('readings') }} as r
{% if is_incremental() %}left join {{ this }} as t on t.day = date_trunc('day', r.ts){% endif %}
group by 1
`);
    expect(lake(dir, ['run', '--event-time-start', '2024-01-01', '--event-time-end', '2024-01-05']).code).toBe(0);
    // Run 2 rebuilds Jan 2-4: each day's first run (1) is read back from the row the batch replaces; Jan 3 on get the new column.
    const r = lake(dir, ['run', '-s', 'daily', '--event-time-start', '2024-01-02', '--event-time-end', '2024-01-05', '--vars', '{run: 2}']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await query(db(dir), "select strftime(day, '%d') as d, all_readings::int as first_run, extra from silver.daily order by day")).toEqual([
      { d: '01', first_run: 1, extra: null }, { d: '02', first_run: 1, extra: null }, { d: '03', first_run: 1, extra: 'new' }, { d: '04', first_run: 1, extra: 'new' },
    ]);
  });

  test('--full-refresh: is_incremental() is false in every batch; a unique_key is refused', () => {
    const dir = project();
    const r = lake(dir, ['run', '--full-refresh', '--event-time-start', '2024-01-01', '--event-time-end', '2024-01-04']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('incremental=True');
    expect(r.stdout.match(/incremental=False/g)).toHaveLength(3);
    const keyed = project({}, `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='day', batch_size='day', begin='2024-01-01', unique_key='day') }}
select 1 as day
`);
    const k = lake(keyed, ['compile']);
    expect(k.code).toBe(2);
    expect(k.stderr).toContain("incremental_strategy 'microbatch' does not take a unique_key");
  });

  test('a dbt project: event_time of seeds and sources in dbt_project.yml, and of an ephemeral model, filter each batch', async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nseeds:\n  p:\n    +event_time: ts\nsources:\n  p:\n    +event_time: ts\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'seeds/s.csv': 'id,ts\n1,2024-01-01 08:00:00\n2,2024-01-02 08:00:00\n3,2024-01-03 08:00:00\n',
      'models/sources.yml': 'sources:\n  - name: raw\n    schema: main\n    tables:\n      - name: s\n',
      'models/eph.sql': "{{ config(materialized='ephemeral', event_time='ts') }}\nselect id, ts from {{ ref('s') }}",
      ...Object.fromEntries(['ref', 'eph', 'src'].map((k) => [`models/mb_${k}.sql`, `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts', batch_size='day', begin='2024-01-01') }}
-- how many input rows each batch reads (its own output is stamped with the batch's start)
select count(*) as n, '{{ model.batch.event_time_start if model.batch else "2024-01-01" }}'::timestamptz::timestamp as ts, '{{ model.batch.id if model.batch else "" }}' as batch from ${k === 'ref' ? "{{ ref('s') }}" : k === 'eph' ? "{{ ref('eph') }}" : "{{ source('raw', 's') }}"}
`])),
    });
    dirs.push(dir);
    expect(lake(dir, ['seed']).code).toBe(0);
    const r = lake(dir, ['run', '--event-time-start', '2024-01-01', '--event-time-end', '2024-01-04']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const m of ['mb_ref', 'mb_eph', 'mb_src']) {
      expect(await query(`${dir}/p.duckdb`, `select n::int as n, batch from main.${m} order by batch`), m).toEqual([{ n: 1, batch: '20240101' }, { n: 1, batch: '20240102' }, { n: 1, batch: '20240103' }]);
    }
  });

  test('--empty builds the table from zero rows; a begin in the future builds one empty batch', async () => {
    const dir = project();
    const r = lake(dir, ['build', '--empty']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/silver\.daily +incremental 0 rows \(1 batch 20240101\)/);
    expect(await query(db(dir), 'select count(*)::int as n from silver.daily')).toEqual([{ n: 0 }]);
    fs.writeFileSync(`${dir}/models/silver/daily.sql`, fs.readFileSync(`${dir}/models/silver/daily.sql`, 'utf8').replace("begin='2024-01-01'", "begin='2099-01-01'"));
    const future = lake(dir, ['run', '-s', 'daily', '--full-refresh']);
    expect(future.code, future.stdout + future.stderr).toBe(0);
    expect(future.stdout).toMatch(/0 rows \(1 batch 20990101\)/);
  });

  test('a failing batch fails the model and keeps no batch: the table is as it was', async () => {
    const dir = project({}, `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='day', batch_size='day', begin='2024-01-01') }}
select date_trunc('day', ts)::timestamp as day, count(*) as n, sum(v) as total, 0 as all_readings
from {{ ref('readings') }}
{% if model.batch.id == '20240103' and var('fail', false) %}where error('batch three fails') is null{% endif %}
group by 1
`);
    expect(lake(dir, ['run', '--event-time-start', '2024-01-01', '--event-time-end', '2024-01-05']).code).toBe(0);
    const before = await daily(dir);
    await query(db(dir), 'update silver.daily set total = -1');
    const r = lake(dir, ['run', '-s', 'daily', '--event-time-start', '2024-01-01', '--event-time-end', '2024-01-05', '--vars', '{fail: true}']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/batch three fails[\s\S]*in batch 20240103 \(2024-01-03 00:00:00\+00:00 to 2024-01-04 00:00:00\+00:00\); no batch was kept/);
    expect((await daily(dir)).map((x) => x.total)).toEqual(before.map(() => -1));
  });

  test('a unit test of a microbatch model reads its given rows whole (no batch filters them)', () => {
    const dir = project({
      'models/silver/unit.yml': `unit_tests:
  - name: daily_counts
    model: daily
    given:
      - input: ref('readings')
        rows:
          - {id: 1, ts: '2024-01-01 10:00:00', v: 2}
          - {id: 2, ts: '2024-01-01 11:00:00', v: 3}
          - {id: 3, ts: '2023-03-01 11:00:00', v: 4}
    expect:
      rows:
        - {day: '2024-01-01 00:00:00', n: 2, total: 5, all_readings: 3}
        - {day: '2023-03-01 00:00:00', n: 1, total: 4, all_readings: 3}
`,
    });
    const r = lake(dir, ['test', '-s', 'daily']);
    expect(r.stdout).toMatch(/PASS +\| daily_counts/);
    expect(r.code).toBe(0);
  });

  test('configuration errors name the model and what to add; the event-time flags go together', () => {
    const dir = project({}, `{{ config(materialized='incremental', incremental_strategy='microbatch', batch_size='week') }}
select 1 as day
`);
    const r = lake(dir, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("silver.daily: incremental_strategy 'microbatch' needs event_time");
    expect(r.stderr).toContain("silver.daily: batch_size must be hour, day, month or year, not 'week'");
    expect(r.stderr).toContain("silver.daily: incremental_strategy 'microbatch' needs begin");
    const ok = project();
    let u = lake(ok, ['run', '--event-time-start', '2024-01-01']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('--event-time-start needs --event-time-end too');
    u = lake(ok, ['build', '--event-time-start', '2024-01-03', '--event-time-end', '2024-01-01']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('--event-time-start (2024-01-03) must be before --event-time-end (2024-01-01)');
  });
});
