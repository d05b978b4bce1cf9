/**
 * dbt's --warn-error: a project warning stops the command (exit 2) before anything runs, a test
 * that would warn fails (and skips what depends on it in lake build), a run whose nodes warned
 * exits 1. A source past warn_after still only warns (dbt 1.9's freshness exits 0 then), and a
 * dbt project's own config keys (read with config.get) are no warning. Without it, all of them warn.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lake, projectYml, query, writeProject } from './helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string>, extra = ''): string {
  const dir = writeProject({ 'project.yml': projectYml(extra), ...files });
  dirs.push(dir);
  return dir;
}

describe('--warn-error', () => {
  it('makes a project warning an error, before anything runs', () => {
    const dir = project({ 'models/silver/a.sql': 'select 1 as id', 'models/silver/a.yml': 'models:\n  - name: ghost\n' });
    expect(lake(dir, ['run']).code).toBe(0);
    const r = lake(dir, ['run', '--warn-error']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error LAKE-P022: YAML documents model 'ghost', but there is no models/**/ghost.sql (a warning, an error with --warn-error)");
    expect(r.stdout).not.toContain('silver.a');
    expect(lake(dir, ['compile', '--warn-error']).code).toBe(2);
  });

  it('fails a test that would warn, and lake build skips what depends on it', () => {
    const dir = project({
      'models/silver/a.sql': 'select 1 as id union all select 1',
      'models/silver/b.sql': "select * from {{ ref('a') }}",
      'models/silver/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - unique:\n              config: {severity: warn}\n',
    });
    const plain = lake(dir, ['build']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/WARN +\| unique_a_id/);
    const r = lake(dir, ['build', '--warn-error']);
    expect(r.code).toBe(1);
    // dbt's words, in run_results.json too: with --warn-error the warn_if threshold is what fails it.
    expect(r.stdout).toContain('FAIL unique_a_id: Got 1 result, configured to fail if != 0');
    const results = JSON.parse(fs.readFileSync(path.join(dir, 'target/run_results.json'), 'utf8')) as { tests: { name: string; message: string }[] };
    expect(results.tests.find((t) => t.name === 'unique_a_id')?.message).toBe('Got 1 result, configured to fail if != 0');
    expect(r.stdout).toMatch(/SKIP +silver\.b/);
    expect(lake(dir, ['test', '--warn-error']).code).toBe(1);
    // dbt's --warn-error-options: including every warning is --warn-error.
    expect(lake(dir, ['test', '--warn-error-options', '{"include": "all"}']).code).toBe(1);
    expect(lake(dir, ['test', '--warn-error-options', "include: '*'"]).code).toBe(1);
    expect(lake(dir, ['test', '--warn-error-options', '{"include": []}']).code).toBe(0);
  });

  it('makes a run whose nodes warned exit 1; a source past warn_after only warns, as in dbt', () => {
    const dir = project({
      'models/bronze/sources.yml': `sources:
  - name: raw
    landing: landing
    format: jsonl
    tables:
      - name: events
        files: events/*.jsonl
        columns: { id: BIGINT }
  - name: tables
    schema: main
    freshness: { warn_after: { count: 1, period: hour } }
    loaded_at_field: loaded_at
    tables:
      - name: stamps
`,
      'models/bronze/events.sql': "{{ config(materialized='incremental') }}\nselect * from {{ source('raw', 'events') }}",
    }, 'on_run_start:\n  - "create or replace table main.stamps as select now()::timestamp - interval 2 hour as loaded_at"\n');
    const plain = lake(dir, ['run']);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain('the landing folder landing does not exist (yet)');
    const r = lake(dir, ['run', '--warn-error']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('1 warning above, errors with --warn-error');
    // The stamps table (made by an on_run_start hook) was loaded two hours ago: past warn_after.
    const fresh = lake(dir, ['source', 'freshness', '-s', 'source:tables.stamps']);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/1 warn/);
    expect(lake(dir, ['source', 'freshness', '-s', 'source:tables.stamps', '--warn-error']).code).toBe(0);
  });

  it("takes a dbt project's own config keys (config.get reads them), and says a near miss of a known one; flags.WARN_ERROR", async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nmodels:\n  p:\n    +my_custom: hello\n    +sql_header: "set x = 1"\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'models/m.sql': "select '{{ config.get('my_custom') }}' as c, '{{ flags.WARN_ERROR }}|{{ flags.WHICH }}|{{ flags.INVOCATION_COMMAND }}' as f",
    });
    dirs.push(dir);
    const r = lake(dir, ['run', '--warn-error']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(await query(`${dir}/p.duckdb`, 'select c, f from main.m')).toEqual([{ c: 'hello', f: 'True|run|lake run --warn-error' }]);
    fs.writeFileSync(`${dir}/dbt_project.yml`, 'name: p\nconfig-version: 2\nprofile: p\nmodels:\n  p:\n    +materialised: table\n');
    const typo = lake(dir, ['run', '--warn-error']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/'\+materialised' is not a config lake knows.*\n {2}hint: did you mean \+materialized\?/);
  });
});
