/**
 * `lake build` reads a landing zone to the end like `lake run`: micro-batches of at most
 * max_files_per_trigger files, each with the tests of the models it rebuilt.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, lake, query, writeProject } from './helpers.js';
import { envelopes, jsonl } from '../ingest/helpers.js';

describe('lake build over a landing zone', () => {
  it('runs micro-batches until no file is left, testing each batch; a failing test in a later batch fails the build', async () => {
    const dir = writeProject({
      'project.yml': 'name: loop\ntargets:\n  dev: { type: duckdb, path: target/lake.duckdb, threads: 2 }\n',
      'models/sources.yml': 'sources:\n  - name: kafka\n    landing: landing\n    format: kafka\n    tables:\n      - name: bpm\n        files: bpm/*.jsonl\n        max_files_per_trigger: 1\n        columns: { device_id: BIGINT, heartrate: DOUBLE }\n',
      'models/bronze/bpm.sql': "{{ config(materialized='incremental') }}\nselect * from {{ source('kafka', 'bpm') }}",
      'models/silver/latest.sql': 'select count(*) as n from {{ ref("bpm") }}',
      'models/schema.yml': 'models:\n  - name: bpm\n    columns:\n      - name: heartrate\n        tests: [not_null]\n',
      'landing/bpm/a.jsonl': jsonl(envelopes([{ device_id: 1, heartrate: 60 }])),
      'landing/bpm/b.jsonl': jsonl(envelopes([{ device_id: 2, heartrate: 70 }], { first: 1 })),
      'landing/bpm/c.jsonl': jsonl(envelopes([{ device_id: 3, heartrate: 80 }], { first: 2 })),
    });
    const r = lake(dir, ['build', '--log-format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const db = path.join(dir, 'target/lake.duckdb');
    expect((await query<{ device_id: number }>(db, 'select device_id from bronze.bpm order by 1')).map((x) => x.device_id)).toEqual([1, 2, 3]);
    const runs = await query<{ command: string; n: number }>(db, 'select command, count(*)::int as n from _lake.runs group by 1');
    expect(runs).toEqual([{ command: 'build', n: 3 }]);
    // The model's test ran in every micro-batch.
    const tests = jsonLines(r.stdout).filter((e) => e.kind === 'test_result' && String(e.name).startsWith('not_null'));
    expect(tests.map((t) => t.status)).toEqual(['pass', 'pass', 'pass']);

    // Two more files, the second with a NULL heart rate: its batch's test fails, and so does the build.
    fs.writeFileSync(path.join(dir, 'landing/bpm/d.jsonl'), jsonl(envelopes([{ device_id: 4, heartrate: 90 }], { first: 3 })));
    fs.writeFileSync(path.join(dir, 'landing/bpm/e.jsonl'), jsonl(envelopes([{ device_id: 5, heartrate: null }], { first: 4 })));
    const r2 = lake(dir, ['build', '--log-format', 'json']);
    expect(r2.code).toBe(1);
    const tests2 = jsonLines(r2.stdout).filter((e) => e.kind === 'test_result' && String(e.name).startsWith('not_null'));
    expect(tests2.map((t) => t.status)).toEqual(['pass', 'fail']);
    expect((await query<{ n: number }>(db, 'select count(*)::int as n from bronze.bpm'))[0]!.n).toBe(5);
  });
});
