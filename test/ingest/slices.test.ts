/**
 * A large batch staged in slices of files (LAKE_INGEST_SLICE_BYTES, tiny here) gives the same
 * tables, quarantine, ledger and offsets as the batch staged at once.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { makeProject, writeFile, run, query, plain, clock } from './helpers.js';

const SOURCES = `sources:\n  - name: raw\n    landing: landing\n    format: kafka\n    schema_evolution: add_new_columns\n    bad_records: quarantine\n    infer_types: true\n    tables:\n      - name: bpm\n        files: bpm/*.jsonl\n        columns: { device_id: BIGINT, heartrate: DOUBLE }\n`;

const env = (topic: string, offset: number, value: unknown) => JSON.stringify({ key: String(offset), value, topic, partition: 0, offset });

/** Four files: a malformed line, a wrong type, redeliveries across files, a new field (one value of which does not fit its type). */
function land(dir: string): void {
  const t = clock();
  writeFile(dir, 'landing/bpm/1.jsonl', [env('t', 1, { device_id: 1, heartrate: 60 }), '{"key": "broken', env('t', 2, { device_id: 2, heartrate: 61 })].join('\n') + '\n', t());
  writeFile(dir, 'landing/bpm/2.jsonl', [env('t', 2, { device_id: 2, heartrate: 61 }), env('t', 3, { device_id: 1, heartrate: 'abc' }), env('t', 4, { device_id: 3, heartrate: 62 })].join('\n') + '\n', t());
  writeFile(dir, 'landing/bpm/3.jsonl', [env('t', 5, { device_id: 1, heartrate: 63, battery: 90 }), '{"key":"6","value":{"device_id":2,"heartrate":64,"battery":18446744073709551615},"topic":"t","partition":0,"offset":6}'].join('\n') + '\n', t());
  writeFile(dir, 'landing/bpm/4.jsonl', [env('t', 7, { device_id: 3, heartrate: 65, battery: -1 }), env('t', 5, { device_id: 1, heartrate: 63, battery: 90 }), env('t', 1, { device_id: 1, heartrate: 60 })].join('\n') + '\n', t());
}

async function tables(dir: string): Promise<Record<string, unknown[]>> {
  return {
    bronze: plain(await query(dir, 'select * exclude (_lake_batch) from bronze.bpm order by _offset, _lake_file')),
    quarantine: plain(await query(dir, 'select source, file, line, raw, reason from bronze.bpm__quarantine order by file, line').catch(() => [])),
    ledger: plain(await query(dir, 'select consumer, source, path, rows, bad_rows from _lake.files order by all')),
    offsets: plain(await query(dir, 'select * exclude (batch) from _lake.ingest_offsets order by all').catch(() => [])),
  };
}

describe('staging a batch in slices of files', () => {
  const before = process.env.LAKE_INGEST_SLICE_BYTES;
  afterEach(() => {
    if (before === undefined) delete process.env.LAKE_INGEST_SLICE_BYTES;
    else process.env.LAKE_INGEST_SLICE_BYTES = before;
  });

  it('gives the same tables as staging it at once', async () => {
    const files = { 'models/sources.yml': SOURCES, 'models/bronze/bpm.sql': `{{ config(materialized='incremental') }}\nselect * from {{ source('raw', 'bpm') }}` };
    const whole = makeProject(files);
    const sliced = makeProject(files);
    land(whole);
    land(sliced);
    process.env.LAKE_INGEST_SLICE_BYTES = String(1e12); // one slice, whatever the environment says
    const r1 = await run(whole);
    process.env.LAKE_INGEST_SLICE_BYTES = '200'; // about one file per slice
    const r2 = await run(sliced);
    expect(r1.node('bronze.bpm').stats).toMatchObject({ slices: 1, files: 4, duplicates: 3 });
    expect(Number(r2.node('bronze.bpm').stats?.slices)).toBeGreaterThanOrEqual(3);
    expect(r2.node('bronze.bpm').stats).toMatchObject({ files: 4, bad_records: 3, duplicates: 3, new_columns: ['battery'] });
    const a = await tables(whole);
    const b = await tables(sliced);
    expect(a.bronze.map((r) => r._offset)).toEqual(['1', '2', '4', '5', '7'].map(Number));
    expect(a.quarantine.map((r) => r.reason)).toEqual([
      expect.stringMatching(/./), 'column heartrate: "abc" is not a valid DOUBLE', 'column battery: 18446744073709551615 is not a valid BIGINT',
    ]);
    expect(b).toEqual(a);
  });

  it('types a field that appears mid-batch from the slices that had it so far, as micro-batches do', async () => {
    const sources = (extra: string) => `sources:\n  - name: raw\n    landing: landing\n    format: kafka\n    schema_evolution: add_new_columns\n    bad_records: quarantine\n    infer_types: true\n    tables:\n      - name: bpm\n        files: bpm/*.jsonl\n        columns: { device_id: BIGINT }\n${extra}`;
    const model = { 'models/bronze/bpm.sql': `{{ config(materialized='incremental') }}\nselect * from {{ source('raw', 'bpm') }}` };
    const land3 = (dir: string) => {
      const t = clock();
      writeFile(dir, 'landing/bpm/1.jsonl', `${env('t', 1, { device_id: 1 })}\n`, t());
      writeFile(dir, 'landing/bpm/2.jsonl', `${env('t', 2, { device_id: 2, battery: 5 })}\n`, t());
      writeFile(dir, 'landing/bpm/3.jsonl', `${env('t', 3, { device_id: 3, battery: 'full' })}\n${env('t', 4, { device_id: 4, battery: 6 })}\n`, t());
    };
    const sliced = makeProject({ 'models/sources.yml': sources(''), ...model });
    const batches = makeProject({ 'models/sources.yml': sources('        max_files_per_trigger: 1\n'), ...model });
    land3(sliced);
    land3(batches);
    process.env.LAKE_INGEST_SLICE_BYTES = '50'; // one file per slice
    const r = await run(sliced);
    expect(r.node('bronze.bpm').stats).toMatchObject({ slices: 3, new_columns: ['battery'], bad_records: 1 });
    await run(batches);
    const a = await tables(sliced);
    expect(a.bronze.map((x) => [x.device_id, x.battery])).toEqual([[1, null], [2, 5], [4, 6]]);
    expect(a.quarantine.map((x) => x.reason)).toEqual(['column battery: "full" is not a valid BIGINT']);
    const b = await tables(batches);
    expect({ bronze: b.bronze, quarantine: b.quarantine }).toEqual({ bronze: a.bronze, quarantine: a.quarantine });
  });

  // A slice is settled once complete (bad records to the quarantine table, rescued fields, raw
  // and payload columns dropped): every mode must still give what the batch in one piece gives.
  for (const [evolution, bad] of [['rescue', 'quarantine'], ['none', 'drop'], ['add_new_columns', 'drop']] as const) {
    it(`gives the same tables with schema_evolution ${evolution} and bad_records ${bad}`, async () => {
      const files = {
        'models/sources.yml': SOURCES.replace('add_new_columns', evolution).replace('quarantine', bad),
        'models/bronze/bpm.sql': `{{ config(materialized='incremental') }}\nselect * from {{ source('raw', 'bpm') }}`,
      };
      const whole = makeProject(files);
      const sliced = makeProject(files);
      land(whole);
      land(sliced);
      process.env.LAKE_INGEST_SLICE_BYTES = String(1e12);
      const r1 = await run(whole);
      process.env.LAKE_INGEST_SLICE_BYTES = '200';
      const r2 = await run(sliced);
      expect(Number(r2.node('bronze.bpm').stats?.slices)).toBeGreaterThanOrEqual(3);
      // The figures, but for the number of slices (also in the per-source breakdown).
      const figures = (r: typeof r1) => JSON.parse(JSON.stringify(r.node('bronze.bpm').stats).replace(/"slices":\d+/g, '"slices":0')) as Record<string, unknown>;
      const s1 = figures(r1);
      expect(figures(r2)).toEqual(s1);
      expect(s1).toMatchObject({ files: 4, duplicates: 3 });
      const a = await tables(whole);
      // Rescued or ignored, the battery that does not fit a BIGINT is not a bad record; rescued, the
      // heartrate 'abc' that does not fit its DOUBLE is not one either (Auto Loader's rescued data).
      expect(a.bronze.map((r) => r._offset)).toEqual((evolution === 'add_new_columns' ? [1, 2, 4, 5, 7] : evolution === 'rescue' ? [1, 2, 3, 4, 5, 6, 7] : [1, 2, 4, 5, 6, 7]));
      if (evolution === 'rescue') {
        expect(a.bronze.map((r) => r._rescued_data)).toEqual([null, null, '{"heartrate":"abc"}', null, '{"battery":90}', '{"battery":18446744073709551615}', '{"battery":-1}']);
        expect(a.bronze.map((r) => r.heartrate)).toEqual([60, 61, null, 62, 63, 64, 65]);
      }
      expect(a.quarantine.map((r) => r.line)).toEqual(bad === 'quarantine' ? (evolution === 'rescue' ? [2] : [2, 2]) : []);
      expect(await tables(sliced)).toEqual(a);
    });
  }

  for (const [evolution, bad, message] of [
    ['fail', 'quarantine', /new field 'battery'/],
    ['add_new_columns', 'fail', /bad record in source raw\.bpm: .*bad_records is fail/],
  ] as const) {
    it(`fails as the batch in one piece does with schema_evolution ${evolution} and bad_records ${bad}`, async () => {
      const files = {
        'models/sources.yml': SOURCES.replace('add_new_columns', evolution).replace('quarantine', bad),
        'models/bronze/bpm.sql': `{{ config(materialized='incremental') }}\nselect * from {{ source('raw', 'bpm') }}`,
      };
      const errors: string[] = [];
      for (const bytes of [String(1e12), '200']) {
        const dir = makeProject(files);
        land(dir);
        process.env.LAKE_INGEST_SLICE_BYTES = bytes;
        const r = await run(dir);
        expect(r.node('bronze.bpm').status).toBe('error');
        errors.push(String(r.node('bronze.bpm').error));
      }
      expect(errors[0]).toMatch(message);
      expect(errors[1]).toBe(errors[0]);
    });
  }
});
