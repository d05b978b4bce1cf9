/**
 * `lake retry` and the run_results.json it reads: one file for the whole invocation, even when a
 * landing zone is read in several micro-batches. Real child processes, real DuckDB.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lake, lakeChild, query, waitForLine, writeProject } from './helpers.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';

const readResults = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'target/run_results.json'), 'utf8')) as {
  command: string; status: string; micro_batches?: number; aborted?: boolean; args: Record<string, unknown>;
  results: { id: string; status: string; rows: number | null; files?: number; pending_files?: number }[];
};

describe('lake retry', () => {
  const files = {
    'project.yml': 'name: rt\nvars: { factor: 1 }\ntargets:\n  dev: { type: duckdb, path: target/rt.duckdb }\n',
    'models/bronze/raw.sql': "select * from (values (1, 'a'), (2, 'b')) t(id, name)",
    'models/silver/good.sql': "select id * {{ var('factor') }} as id from {{ ref('raw') }}",
    'models/silver/bad.sql': "{{ config(materialized='table') }}\nselect id, nam from {{ ref('raw') }}",
    'models/gold/after_bad.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('bad') }}",
  };

  it('runs the failed and skipped nodes again with the same flags, then has nothing to do', () => {
    const dir = writeProject(files);
    const first = lake(dir, ['--vars', '{factor: 10}', 'run']);
    expect(first.code).toBe(1);
    expect(readResults(dir).args).toMatchObject({ vars: '{factor: 10}', full_refresh: false });
    fs.writeFileSync(path.join(dir, 'models/silver/bad.sql'), "{{ config(materialized='table') }}\nselect id, name from {{ ref('raw') }}");
    const retry = lake(dir, ['retry']);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toMatch(/retrying lake run: 2 nodes/);
    expect(retry.stdout).toMatch(/silver\.bad/);
    expect(retry.stdout).toMatch(/gold\.after_bad/);
    expect(retry.stdout).not.toMatch(/silver\.good|bronze\.raw/);
    // The retry kept --vars: recorded again for the next retry.
    expect(readResults(dir).args).toMatchObject({ vars: '{factor: 10}' });
    const none = lake(dir, ['retry']);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/nothing to retry: the last lake run had no failure/);
  });

  it('retries a build: the failed test alone when its model built', () => {
    const dir = writeProject({
      ...files,
      'models/silver/bad.sql': "select * from {{ ref('raw') }} union all select * from {{ ref('raw') }}",
      'models/schema.yml': 'models:\n  - name: bad\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n',
    });
    expect(lake(dir, ['build']).code).toBe(1);
    fs.writeFileSync(path.join(dir, 'models/silver/bad.sql'), "select * from {{ ref('raw') }}");
    const retry = lake(dir, ['retry']);
    // The model is not rebuilt (only its failed test and what it skipped), so the test fails again.
    expect(retry.stdout).toMatch(/retrying lake build: 1 node and 1 test/);
    expect(retry.stdout).toMatch(/unique_bad_id/);
    expect(retry.stdout).not.toMatch(/not_null_bad_id/);
    expect(retry.code).toBe(1);
  });

  it('keeps what the command left out, and --store-failures', () => {
    const dir = writeProject({
      ...files,
      'models/silver/bad.sql': "select * from {{ ref('raw') }} union all select * from {{ ref('raw') }}",
      'models/schema.yml': 'models:\n  - name: raw\n    columns:\n      - name: id\n        data_tests: [unique]\n  - name: bad\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n',
      'models/bronze/raw.sql': 'select nope',
    });
    expect(lake(dir, ['build', '--exclude', 'unique_bad_id', '--store-failures']).code).toBe(1);
    expect(readResults(dir).args).toMatchObject({ exclude: ['unique_bad_id'], store_failures: true });
    fs.writeFileSync(path.join(dir, 'models/bronze/raw.sql'), "select * from (values (1, 'a'), (2, 'b')) t(id, name)");
    const retry = lake(dir, ['retry']);
    expect(retry.code, retry.stdout + retry.stderr).toBe(0);
    // The excluded test stays out (it would fail: bad holds every id twice).
    expect(retry.stdout).not.toMatch(/unique_bad_id/);
    expect(retry.stdout).toMatch(/not_null_bad_id/);
  });

  it('after an abort (a second Ctrl-C) run_results.json says so, and retry runs the whole command again', async () => {
    const dir = writeProject({
      ...files,
      // Reads raw (the ref in the comment makes the dependency), long enough to be running at the signals.
      'models/silver/slow.sql': "{{ config(materialized='table') }}\n-- after {{ ref('raw') }}\nselect count(*) as n from range(400000000) t(i) where i % 7 = 3",
      'models/gold/after_slow.sql': "{{ config(materialized='table') }}\nselect * from {{ ref('slow') }}",
      'models/silver/bad.sql': "{{ config(materialized='table') }}\nselect id, name from {{ ref('raw') }}",
    });
    const child = lakeChild(dir, ['run', '-s', '+after_slow', '--threads', '1']);
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    await waitForLine(child, /OK\s+bronze\.raw\b/);
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    // The second Ctrl-C is said, with what became of the running nodes and what to do (it exited without a word).
    expect(stderr).toContain('aborted: the running nodes stopped without committing (each table is as it was before them); lake retry runs the whole command again');
    expect(readResults(dir)).toMatchObject({ status: 'cancelled', aborted: true, args: { select: ['+after_slow'] } });
    const retry = lake(dir, ['retry']);
    expect(retry.code, retry.stdout + retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/it was aborted, so all of it runs again/);
    expect(retry.stdout).toMatch(/gold\.after_slow/);
    expect(retry.stdout).not.toMatch(/silver\.good/);
    // The aborted run's row is not left 'running'.
    const db = await DuckDBAdapter.open(path.join(dir, 'target/rt.duckdb'));
    try {
      expect(await db.query('select status from _lake.runs order by batch_id')).toEqual([{ status: 'aborted' }, { status: 'success' }]);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('a stop between micro-batches (files left unread) is cancelled, and retry reads the rest', async () => {
    const dir = writeProject({
      'project.yml': 'name: mb\ntargets:\n  dev: { type: duckdb, path: target/mb.duckdb, threads: 1 }\n',
      'models/bronze/sources.yml': 'sources:\n  - name: app\n    tables:\n      - name: ev\n        landing: { path: landing/ev, format: jsonl, max_files_per_trigger: 1 }\n        columns:\n          - { name: id, data_type: integer }\n',
      'models/bronze/ev.sql': "{{ config(materialized='incremental') }}\nselect * from {{ source('app', 'ev') }}",
      // Long enough that the stop arrives while a batch runs.
      'models/silver/slow.sql': "{{ config(materialized='table') }}\nselect count(*) as n from range(150000000) t(i), (select count(*) from {{ ref('ev') }}) where i % 7 = 3",
      'landing/ev/f1.jsonl': '{"id": 1}\n', 'landing/ev/f2.jsonl': '{"id": 2}\n', 'landing/ev/f3.jsonl': '{"id": 3}\n',
    });
    const child = lakeChild(dir, ['run']);
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    await waitForLine(child, /OK\s+bronze\.ev\b/);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(readResults(dir).status).toBe('cancelled');
    const retry = lake(dir, ['retry']);
    expect(retry.code, retry.stdout + retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/stopped before the end, so all of it runs again/);
    expect(await query(path.join(dir, 'target/mb.duckdb'), 'select count(*)::int as n from bronze.ev')).toEqual([{ n: 3 }]);
  }, 60_000);

  it('says so when there is nothing to retry', () => {
    const dir = writeProject(files);
    const r = lake(dir, ['retry']);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(/LAKE-U040: nothing to retry/);
  });
});

describe('run_results.json of a run in micro-batches', () => {
  it('lists every node once, with the rows and files of all batches', () => {
    const dir = writeProject({
      'project.yml': 'name: mb\ntargets:\n  dev: { type: duckdb, path: target/mb.duckdb }\n',
      // A table's own `landing:` mapping: its folder is `path`, every file in it is read.
      'models/bronze/sources.yml': 'sources:\n  - name: app\n    tables:\n      - name: ev\n        landing: { path: landing/ev, format: jsonl, max_files_per_trigger: 1 }\n        columns:\n          - { name: id, data_type: integer }\n',
      'models/bronze/ev.sql': "{{ config(materialized='incremental') }}\nselect * from {{ source('app', 'ev') }}",
      'models/silver/other.sql': 'select 1 as x',
      'models/silver/cnt.sql': "select count(*) as n from {{ ref('ev') }}",
      'landing/ev/f1.jsonl': '{"id": 1}\n',
      'landing/ev/f2.jsonl': '{"id": 2}\n{"id": 3}\n',
      'landing/ev/f3.jsonl': '{"id": 4}\n',
    });
    const r = lake(dir, ['run']);
    expect(r.code).toBe(0);
    const rr = readResults(dir);
    expect(rr.micro_batches).toBe(3);
    expect(rr.results.map((x) => x.id).sort()).toEqual(['bronze.ev', 'silver.cnt', 'silver.other']);
    expect(rr.results.find((x) => x.id === 'bronze.ev')).toMatchObject({ status: 'success', rows: 4, files: 3, pending_files: 0 });
    expect(rr.args).toMatchObject({ select: [] });
  });

  it('runs the project hooks once per invocation, not once per micro-batch (on_run_end after the last)', async () => {
    const dir = writeProject({
      'project.yml': "name: mb\ntargets:\n  dev: { type: duckdb, path: target/mb.duckdb }\non_run_start:\n  - \"create table if not exists main.hook_log (what varchar, n bigint)\"\n  - \"insert into main.hook_log values ('start', null)\"\non_run_end:\n  - \"insert into main.hook_log select 'end', count(*) from bronze.ev\"\n",
      'models/bronze/sources.yml': 'sources:\n  - name: app\n    tables:\n      - name: ev\n        landing: { path: landing/ev, format: jsonl, max_files_per_trigger: 1 }\n        columns:\n          - { name: id, data_type: integer }\n',
      'models/bronze/ev.sql': "{{ config(materialized='incremental') }}\nselect * from {{ source('app', 'ev') }}",
      'landing/ev/f1.jsonl': '{"id": 1}\n', 'landing/ev/f2.jsonl': '{"id": 2}\n', 'landing/ev/f3.jsonl': '{"id": 3}\n',
    });
    expect(lake(dir, ['run']).code).toBe(0);
    expect(await query(path.join(dir, 'target/mb.duckdb'), 'select what, n::int as n from main.hook_log order by what desc')).toEqual([{ what: 'start', n: null }, { what: 'end', n: 3 }]);
  });

  it('a landing mapping without its folder is an error naming the file', () => {
    const dir = writeProject({
      'project.yml': 'name: mb\ntargets:\n  dev: { type: duckdb, path: target/mb.duckdb }\n',
      'models/bronze/sources.yml': 'sources:\n  - name: app\n    tables:\n      - name: ev\n        landing: { format: jsonl }\n',
      'models/bronze/ev.sql': "select * from {{ source('app', 'ev') }}",
    });
    const r = lake(dir, ['run']);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(/sources\.yml:4.*`landing:` needs the folder, as `path:`/s);
  });
});
