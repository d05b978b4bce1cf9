/**
 * Exactly once per consuming model, across runs and micro-batches; changed and young files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { makeProject, writeFile, run, query, jsonl, envelopes, clock, plain } from './helpers.js';
import { PrettyReporter } from '../../src/reporter/reporters.js';

const SOURCES = (extra = '') => `sources:\n  - name: kafka\n    landing: landing\n    format: kafka\n    tables:\n      - name: bpm\n        files: bpm/*.jsonl\n        columns: { device_id: BIGINT, heartrate: DOUBLE }\n${extra}`;

/** bronze (incremental append) → silver (stream + merge: latest reading per device) → gold (table). */
function pipeline(maxFiles: number, extra = ''): Record<string, string> {
  return {
    'models/sources.yml': SOURCES(`        max_files_per_trigger: ${maxFiles}\n${extra}`),
    'models/bronze/bpm.sql': `{{ config(materialized='incremental') }}\nselect * from {{ source('kafka', 'bpm') }}`,
    'models/silver/latest.sql': `{{ config(materialized='incremental', unique_key='device_id') }}
select device_id, heartrate, _offset, _lake_batch from {{ stream(ref('bpm')) }}
qualify row_number() over (partition by device_id order by _offset desc) = 1`,
    'models/silver/readings.sql': `{{ config(materialized='incremental') }}\nselect device_id, heartrate, _offset, _lake_batch from {{ stream(ref('bpm')) }}`,
    'models/gold/summary.sql': `{{ config(materialized='table') }}
select device_id, count(*) as readings, avg(heartrate) as avg_hr, max(_offset) as last_offset from {{ ref('readings') }} group by device_id`,
  };
}

/** 7 files of kafka records over 4 devices, with redeliveries across files. */
function landFiles(dir: string): void {
  const t = clock();
  let offset = 0;
  for (let f = 0; f < 7; f++) {
    const payloads = Array.from({ length: 6 }, (_, i) => ({ device_id: (f * 6 + i) % 4, heartrate: 60 + f * 6 + i }));
    const recs = envelopes(payloads, { first: offset });
    offset += payloads.length;
    // Each file after the first also redelivers the last two records of the file before it.
    const redelivered = f > 0 ? envelopes(Array.from({ length: 2 }, (_, i) => ({ device_id: (f * 6 - 2 + i) % 4, heartrate: 60 + f * 6 - 2 + i })), { first: offset - 8 }) : [];
    writeFile(dir, `landing/bpm/part-${f}.jsonl`, jsonl([...redelivered, ...recs]), t());
  }
}

async function tables(dir: string): Promise<Record<string, unknown[]>> {
  return {
    bronze: plain(await query(dir, 'select * exclude (_lake_batch) from bronze.bpm order by _partition, _offset')),
    latest: plain(await query(dir, 'select * exclude (_lake_batch) from silver.latest order by device_id')),
    readings: plain(await query(dir, 'select * exclude (_lake_batch) from silver.readings order by _offset')),
    summary: plain(await query(dir, 'select * from gold.summary order by device_id')),
    ledger: plain(await query(dir, 'select consumer, source, path, rows, bad_rows from _lake.files order by all')),
  };
}

describe('exactly once', () => {
  it('micro-batches of max_files_per_trigger give the same tables as one run', async () => {
    const one = makeProject(pipeline(1000));
    const micro = makeProject(pipeline(2));
    landFiles(one);
    landFiles(micro);
    const r1 = await run(one);
    const r2 = await run(micro);
    expect(r1.runs.length).toBe(1);
    expect(r2.runs.length).toBe(4); // 7 files, 2 per trigger
    expect(r2.runs.map((r) => r.results.find((x) => x.id === 'bronze.bpm')?.stats?.files)).toEqual([2, 2, 2, 1]);
    const a = await tables(one);
    const b = await tables(micro);
    expect(a.bronze.length).toBe(42);
    expect(b).toEqual(a);
    // The downstream incremental model consumed every bronze batch exactly once.
    expect(b.readings.length).toBe(42);
  });

  it('a field that first appears in a later micro-batch gives the same table, column order included', async () => {
    const make = (maxFiles: number) => {
      const t = clock();
      const dir = makeProject({
        'models/sources.yml': `sources:\n  - name: raw\n    landing: landing\n    tables:\n      - name: ev\n        files: ev/*.jsonl\n        max_files_per_trigger: ${maxFiles}\n`,
        'models/bronze/ev.sql': `{{ config(materialized='incremental') }}\nselect * from {{ source('raw', 'ev') }}`,
      });
      writeFile(dir, 'landing/ev/1.jsonl', jsonl([{ a: 1, b: 'x' }]), t());
      writeFile(dir, 'landing/ev/2.jsonl', jsonl([{ a: 2, b: 'y', c: 2.5 }]), t());
      writeFile(dir, 'landing/ev/3.jsonl', jsonl([{ a: 3, d: true, c: 1 }]), t());
      return dir;
    };
    const one = make(1000);
    const micro = make(1);
    await run(one);
    expect((await run(micro)).runs.length).toBe(3);
    const shape = async (dir: string) => ({
      columns: await query(dir, `select column_name, data_type from information_schema.columns where table_name = 'ev' order by ordinal_position`),
      rows: plain(await query(dir, 'select * exclude (_lake_batch) from bronze.ev order by a')),
    });
    const a = await shape(one);
    expect(a.columns.map((c) => c.column_name)).toEqual(['_lake_file', '_lake_line', '_lake_batch', '_lake_file_mtime', 'a', 'b', 'c', 'd']);
    expect(await shape(micro)).toEqual(a);
  });

  it('a second run without new files reads nothing and changes nothing; new files are read once', async () => {
    const t = clock(Date.UTC(2025, 0, 1));
    const dir = makeProject(pipeline(1000));
    landFiles(dir);
    await run(dir);
    const before = await tables(dir);
    const again = await run(dir);
    expect(again.node('bronze.bpm').stats).toMatchObject({ files: 0, rows: 0 });
    expect(await tables(dir)).toEqual(before);
    writeFile(dir, 'landing/bpm/late.jsonl', jsonl(envelopes([{ device_id: 9, heartrate: 99 }], { first: 1000 })), t());
    const late = await run(dir);
    expect(late.node('bronze.bpm').stats).toMatchObject({ files: 1, rows: 1 });
    const after = await tables(dir);
    expect(after.bronze.length).toBe(before.bronze.length + 1);
    expect(after.readings.length).toBe(before.readings.length + 1);
  });

  it('a consumed file that changes is reported, not read again', async () => {
    const t = clock();
    const dir = makeProject(pipeline(1000));
    writeFile(dir, 'landing/bpm/a.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 1 }])), t());
    await run(dir);
    writeFile(dir, 'landing/bpm/a.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 1 }, { device_id: 2, heartrate: 2 }], { first: 0 })), t());
    const r = await run(dir);
    expect(r.node('bronze.bpm').stats).toMatchObject({ files: 0, changed_files: ['landing/bpm/a.jsonl'] });
    const warned = r.reporter.events.filter((e) => e.kind === 'diagnostics').flatMap((e) => e.data as { severity: string; message: string }[]);
    expect(warned.some((d) => d.severity === 'warn' && d.message.includes('landing/bpm/a.jsonl changed after bronze.bpm consumed it'))).toBe(true);
    expect((await query(dir, 'select device_id from bronze.bpm')).map((x) => x.device_id)).toEqual([1]);
  });

  it('allow_overwrites: a changed file is read again (and its already-held offsets are still dropped)', async () => {
    const t = clock();
    const dir = makeProject(pipeline(1000, '        allow_overwrites: true\n'));
    writeFile(dir, 'landing/bpm/a.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 1 }])), t());
    await run(dir);
    writeFile(dir, 'landing/bpm/a.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 1 }, { device_id: 2, heartrate: 2 }])), t());
    const r = await run(dir);
    expect(r.node('bronze.bpm').stats).toMatchObject({ files: 1, rows: 1, duplicates: 1 });
    expect((await query(dir, 'select device_id from bronze.bpm order by 1')).map((x) => x.device_id)).toEqual([1, 2]);
    expect(await query(dir, `select rows from _lake.files where consumer = 'bronze.bpm'`)).toEqual([{ rows: 1 }]);
  });

  it('files younger than min_file_age wait for a later run', async () => {
    const t = clock();
    const dir = makeProject(pipeline(1000, '        min_file_age: 1h\n'));
    writeFile(dir, 'landing/bpm/old.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 1 }])), t());
    writeFile(dir, 'landing/bpm/new.jsonl', jsonl(envelopes([{ device_id: 2, heartrate: 2 }], { first: 1 })));
    const r = await run(dir);
    expect(r.node('bronze.bpm').stats).toMatchObject({ files: 1, waiting_files: 1 });
    // The run's line says so ("0 rows" alone reads as if nothing had arrived).
    let line = '';
    new PrettyReporter((x) => { line += x; }, () => undefined, false).nodeEnd({ id: 'bronze.bpm', status: 'success', materialized: 'incremental', rows: 6, startedAt: '', durationMs: 5, stats: r.node('bronze.bpm').stats }, 1, 1);
    expect(line).toMatch(/6 rows \(1 file, 1 file younger than min_file_age waits\)/);
    writeFile(dir, 'landing/bpm/new.jsonl', jsonl(envelopes([{ device_id: 2, heartrate: 2 }], { first: 1 })), new Date(Date.now() - 2 * 3600_000));
    const r2 = await run(dir);
    expect(r2.node('bronze.bpm').stats).toMatchObject({ files: 1, waiting_files: 0 });
    expect((await query(dir, 'select device_id from bronze.bpm order by 1')).map((x) => x.device_id)).toEqual([1, 2]);
  });

  it('--full-refresh reads every file again, once', async () => {
    const dir = makeProject(pipeline(3));
    landFiles(dir);
    await run(dir);
    const before = await tables(dir);
    const r = await run(dir, { fullRefresh: true });
    expect(r.runs.length).toBe(3);
    expect(await tables(dir)).toEqual(before);
  });

  it('full_refresh=false keeps a model\'s table through --full-refresh (its files may be gone); full_refresh=true rebuilds it every run', async () => {
    const dir = makeProject({
      'models/sources.yml': SOURCES(),
      'models/bronze/history.sql': `{{ config(materialized='incremental', full_refresh=false) }}\nselect device_id, heartrate from {{ source('kafka', 'bpm') }}`,
      'models/bronze/always.sql': `{{ config(materialized='incremental', full_refresh=true) }}\nselect device_id, heartrate from {{ source('kafka', 'bpm') }}`,
    });
    const t = clock();
    writeFile(dir, 'landing/bpm/a.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 60 }, { device_id: 2, heartrate: 61 }])), t());
    await run(dir);
    // The file is archived away; a new one arrives.
    fs.rmSync(path.join(dir, 'landing/bpm/a.jsonl'));
    writeFile(dir, 'landing/bpm/b.jsonl', jsonl(envelopes([{ device_id: 3, heartrate: 62 }], { first: 2 })), t());
    await run(dir, { fullRefresh: true });
    expect(plain(await query(dir, 'select device_id from bronze.history order by 1'))).toEqual([{ device_id: 1 }, { device_id: 2 }, { device_id: 3 }]);
    // full_refresh=true: rebuilt from what is there now, on a run without the flag too.
    expect(plain(await query(dir, 'select device_id from bronze.always order by 1'))).toEqual([{ device_id: 3 }]);
    writeFile(dir, 'landing/bpm/c.jsonl', jsonl(envelopes([{ device_id: 4, heartrate: 63 }], { first: 3 })), t());
    await run(dir);
    expect(plain(await query(dir, 'select device_id from bronze.always order by 1'))).toEqual([{ device_id: 3 }, { device_id: 4 }]);
    expect(plain(await query(dir, 'select device_id from bronze.history order by 1'))).toEqual([{ device_id: 1 }, { device_id: 2 }, { device_id: 3 }, { device_id: 4 }]);
  });

  it('a stream() consumer of an upstream rebuilt alone stops instead of reading every row again; its own full refresh heals it', async () => {
    const dir = makeProject(pipeline(1000));
    landFiles(dir);
    await run(dir);
    const before = await tables(dir);
    await run(dir, { select: ['bpm'], fullRefresh: true });
    const r = await run(dir);
    expect(r.node('silver.readings')).toMatchObject({ status: 'error' });
    expect(String(r.node('silver.readings').error)).toContain('bronze.bpm was rebuilt since silver.readings last read it with stream()');
    expect(await tables(dir)).toEqual(before); // nothing read twice
    await run(dir, { select: ['readings', 'latest'], fullRefresh: true });
    expect(await tables(dir)).toEqual(before);
    // Later runs read only what arrives.
    writeFile(dir, 'landing/bpm/part-9.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 99 }], { first: 100 })));
    const r2 = await run(dir);
    expect(r2.node('silver.readings')).toMatchObject({ status: 'success', rows: 1 });
  });

  it('renaming the model a stream() consumer reads stops the consumer instead of reading everything again', async () => {
    const dir = makeProject(pipeline(1000));
    landFiles(dir);
    await run(dir);
    const before = await tables(dir);
    // bronze.bpm renamed bronze.bpm_v2: a new consumer of the landing zone, so it reads every file again.
    fs.renameSync(path.join(dir, 'models/bronze/bpm.sql'), path.join(dir, 'models/bronze/bpm_v2.sql'));
    for (const f of ['models/silver/latest.sql', 'models/silver/readings.sql']) {
      fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(dir, f), 'utf8').replace("ref('bpm')", "ref('bpm_v2')"));
    }
    const r = await run(dir);
    expect(r.node('silver.readings')).toMatchObject({ status: 'error' });
    expect(String(r.node('silver.readings').error)).toContain('silver.readings has never read bronze.bpm_v2 with stream() and no longer reads bronze.bpm');
    const after = await tables(dir);
    expect(after.readings).toEqual(before.readings); // nothing read twice
    await run(dir, { select: ['readings', 'latest'], fullRefresh: true });
    expect((await tables(dir)).readings).toEqual(before.readings);
    // The old read is forgotten: later runs read only what arrives.
    writeFile(dir, 'landing/bpm/part-9.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 99 }], { first: 100 })));
    const r2 = await run(dir);
    expect(r2.node('silver.readings')).toMatchObject({ status: 'success', rows: 1 });
    expect(await query(dir, "select upstream from _lake.watermarks where consumer = 'silver.readings'")).toEqual([{ upstream: 'bronze.bpm_v2' }]);
  });

  it('stream() in a view is the whole upstream (a stored view cannot read the run\'s temp view); in an ephemeral, its consumer\'s stream', async () => {
    const dir = makeProject({
      ...pipeline(1000),
      'models/silver/all_readings.sql': "{{ config(materialized='view') }}\nselect device_id, heartrate from {{ stream(ref('bpm')) }}",
      'models/silver/eph.sql': "{{ config(materialized='ephemeral') }}\nselect device_id, heartrate, _lake_batch from {{ stream(ref('bpm')) }}",
      'models/silver/via_eph.sql': "{{ config(materialized='incremental') }}\nselect * from {{ ref('eph') }}",
    });
    landFiles(dir);
    const r = await run(dir);
    expect(r.node('silver.all_readings').status).toBe('success');
    expect(r.node('silver.via_eph')).toMatchObject({ status: 'success' });
    const n = (await query(dir, 'select count(*) as n from bronze.bpm'))[0]!.n;
    // Read after the run (no temp view exists now).
    expect(await query(dir, 'select count(*) as n from silver.all_readings')).toEqual([{ n }]);
    expect(await query(dir, 'select count(*) as n from silver.via_eph')).toEqual([{ n }]);
    writeFile(dir, 'landing/bpm/part-9.jsonl', jsonl(envelopes([{ device_id: 1, heartrate: 99 }], { first: 100 })));
    const r2 = await run(dir);
    expect(r2.node('silver.via_eph')).toMatchObject({ status: 'success', rows: 1 });
    expect(await query(dir, 'select count(*) as n from silver.all_readings')).toEqual([{ n: Number(n) + 1 }]);
  });

  it('an incremental stream() of a model without _lake_batch fails on its first build, at the line of the call', async () => {
    const dir = makeProject({
      'models/x.sql': "{{ config(materialized='table') }} select 1 as i",
      'models/y.sql': "{{ config(materialized='incremental') }}\nselect i\nfrom {{ stream(ref('x')) }}",
    });
    const r = await run(dir);
    expect(r.node('main.y').status).toBe('error');
    expect(String(r.node('main.y').error)).toMatch(/models\/y\.sql:3.*stream\(ref\('main\.x'\)\) needs a _lake_batch column in main\.x/);
  });

  it('each consuming model keeps its own ledger', async () => {
    const dir = makeProject({
      ...pipeline(1000),
      'models/bronze/bpm_copy.sql': `{{ config(materialized='incremental') }}\nselect device_id from {{ source('kafka', 'bpm') }}`,
    });
    landFiles(dir);
    await run(dir, { select: ['bronze.bpm'] });
    expect(await query(dir, `select count(distinct consumer) as n from _lake.files`)).toEqual([{ n: 1 }]);
    const r = await run(dir, { select: ['bronze.bpm_copy'] });
    expect(r.node('bronze.bpm_copy').stats).toMatchObject({ files: 7, rows: 42 });
    expect(await query(dir, `select consumer, count(*) as files from _lake.files group by 1 order by 1`)).toEqual([
      { consumer: 'bronze.bpm', files: 7 }, { consumer: 'bronze.bpm_copy', files: 7 },
    ]);
  });

  it('two models reading the same source at once (two threads) each get every record once', async () => {
    const dir = makeProject({
      ...pipeline(3),
      'models/bronze/bpm_copy.sql': `{{ config(materialized='incremental') }}\nselect device_id, _offset from {{ source('kafka', 'bpm') }}`,
    });
    landFiles(dir);
    const r = await run(dir);
    expect(r.results.filter((x) => x.status !== 'success').map((x) => x.error)).toEqual([]);
    expect(await query(dir, 'select count(*) as n, count(distinct _offset) as d from bronze.bpm_copy')).toEqual([{ n: 42, d: 42 }]);
    expect(await query(dir, 'select count(*) as n from bronze.bpm')).toEqual([{ n: 42 }]);
    expect(await query(dir, `select consumer, count(*) as files, sum(rows) as rows from _lake.files group by 1 order by 1`)).toEqual([
      { consumer: 'bronze.bpm', files: 7, rows: 42 }, { consumer: 'bronze.bpm_copy', files: 7, rows: 42 },
    ]);
  });
});

describe('files still being written', () => {
  it('lake run --continuous holds back a file younger than 1 s when the source sets no min_file_age (a one-shot run reads it)', async () => {
    const { Session } = await import('../../src/app/session.js');
    const { runAvailableNow } = await import('../../src/app/continuous.js');
    const { MemoryReporter } = await import('../../src/reporter/reporters.js');
    const dir = makeProject({
      'models/bronze/sources.yml': 'sources:\n  - name: raw\n    landing: landing\n    tables:\n      - name: ev\n        columns: { id: BIGINT }\n',
      'models/bronze/ev.sql': "{{ config(materialized='incremental') }}\nselect id from {{ source('raw', 'ev') }}",
    });
    writeFile(dir, 'landing/ev/old.jsonl', jsonl([{ id: 1 }]), new Date(Date.now() - 60_000));
    writeFile(dir, 'landing/ev/new.jsonl', jsonl([{ id: 2 }]));
    // As runContinuous sets it for its duration.
    const s = Session.open({ projectDir: dir });
    s.liveLanding = true;
    const out = await runAvailableNow(s, new MemoryReporter(), { threads: 2 });
    expect(out.results.find((r) => r.id === 'bronze.ev')!.stats).toMatchObject({ files: 1, waiting_files: 1 });
    expect((await query(dir, 'select id from bronze.ev')).map((r) => Number(r.id))).toEqual([1]);
    await run(dir);
    expect((await query(dir, 'select id from bronze.ev order by id')).map((r) => Number(r.id))).toEqual([1, 2]);
  });
});
