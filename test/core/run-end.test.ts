/**
 * How a run ends when it does not end well: a failing on_run_start / on_run_end hook and a stop
 * (Ctrl-C, SIGTERM) still record the run (never left 'running') and write run_results.json, with
 * a non-zero exit. Real child processes, real DuckDB.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lake, lakeChild, waitForLine, writeProject } from './helpers.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';

const yml = (hooks = '') => `name: re\ntargets:\n  dev: { type: duckdb, path: target/re.duckdb, threads: 1 }\n${hooks}`;
const results = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'target/run_results.json'), 'utf8')) as { run_id: string; status: string; hook_error?: { hook: string; message: string }; results: { id: string; status: string; message: string | null }[] };

async function runs(dir: string): Promise<{ status: string; done: boolean }[]> {
  const db = await DuckDBAdapter.open(path.join(dir, 'target/re.duckdb'));
  try {
    return await db.query<{ status: string; done: boolean }>('select status, finished_at is not null as done from _lake.runs order by batch_id');
  } finally {
    await db.close();
  }
}

describe('the end of a run', () => {
  it('a failing on_run_end hook: exit 1, the run recorded as error, run_results.json written with the node results', async () => {
    const dir = writeProject({
      'project.yml': yml('on_run_end:\n  - "select * from audit_missing"\n'),
      'models/good.sql': "{{ config(materialized='table') }}\nselect 1 as x",
      'models/bad.sql': "{{ config(materialized='table') }}\nselect cast('x' as int) as bad",
    });
    const r = lake(dir, ['run']);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/project\.yml:5: error LAKE-X030: on_run_end hook failed/);
    const rr = results(dir);
    expect(rr.status).toBe('error');
    expect(rr.hook_error?.hook).toBe('on_run_end');
    expect(rr.results.map((x) => `${x.id}:${x.status}`).sort()).toEqual(['main.bad:error', 'main.good:success']);
    expect(await runs(dir)).toEqual([{ status: 'error', done: true }]);
    // The documented retry finds the failed node.
    const ls = lake(dir, ['ls', '-s', 'result:error', '--state', 'target']);
    expect(ls.stdout.trim()).toBe('main.bad');
  });

  it('a failing on_run_start hook: the run is recorded as error and run_results.json says why', async () => {
    const dir = writeProject({
      'project.yml': yml('on_run_start:\n  - "select * from nowhere"\n'),
      'models/good.sql': 'select 1 as x',
    });
    const r = lake(dir, ['run']);
    expect(r.code).toBe(1);
    const rr = results(dir);
    expect(rr).toMatchObject({ status: 'error', hook_error: { hook: 'on_run_start' }, results: [] });
    expect(await runs(dir)).toEqual([{ status: 'error', done: true }]);
  });

  it('a failing post_hook or on_schema_change step is named as such, not as the model SQL', () => {
    const dir = writeProject({
      'project.yml': yml(),
      'models/inc.sql': "{{ config(materialized='incremental', on_schema_change='sync_all_columns') }}\nselect i, 'v' || i as val from range(3) t(i)",
      'models/ph.sql': "{{ config(materialized='table', post_hook=['select 1', 'insert into nowhere values (1)']) }}\nselect 1 as x",
    });
    const first = lake(dir, ['run']);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/main\.ph: Catalog Error: Table with name nowhere does not exist!.*\n\s+while running its post_hook #2: insert into nowhere values \(1\)\n\s+hint: the hook is in the config of models\/ph\.sql/);
    expect(first.stderr).not.toMatch(/compiled SQL: target\/compiled\/main\/ph\.sql/);
    fs.writeFileSync(path.join(dir, 'models/inc.sql'), "{{ config(materialized='incremental', on_schema_change='sync_all_columns') }}\nselect i, i as val from range(3) t(i)");
    const second = lake(dir, ['run', '-s', 'inc']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/Could not convert string 'v0' to INT64\n\s+while running retype column val of the existing table \(on_schema_change\)\n\s+hint: .*--full-refresh/);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during a run: the running node finishes, the rest is skipped, exit 130, the run is 'cancelled'`, async () => {
      const dir = writeProject({
        'project.yml': yml(),
        'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as x",
        // Long enough to still be running when the signal arrives.
        'models/b.sql': "{{ config(materialized='table') }}\nselect count(*) as n from range(400000000) t(i), {{ ref('a') }} where i % 7 = 3",
        'models/c.sql': "{{ config(materialized='table') }}\nselect * from {{ ref('b') }}",
      });
      const child = lakeChild(dir, ['run']);
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      await waitForLine(child, /OK\s+main\.a\b/);
      child.kill(signal);
      expect(await exited).toBe(130);
      const rr = results(dir);
      expect(rr.status).toBe('cancelled');
      expect(rr.results.find((x) => x.id === 'main.b')?.status).toBe('success');
      expect(rr.results.find((x) => x.id === 'main.c')).toMatchObject({ status: 'skipped', message: 'skipped: interrupted' });
      expect(await runs(dir)).toEqual([{ status: 'cancelled', done: true }]);
    });
  }
});
