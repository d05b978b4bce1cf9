/**
 * `lake source freshness`: sources over tables (max(loaded_at_field), with a filter) and landing
 * zones (the newest file), judged against warn_after / error_after; exit codes, target/sources.json,
 * and YAML mistakes reported with their line. Real child processes, real DuckDB.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { ageText } from '../../src/dq/freshness.js';
import { lake, writeProject } from '../core/helpers.js';

const project = (sources: string, files: Record<string, string> = {}) => writeProject({
  'project.yml': 'name: fr\ntargets:\n  dev: { type: duckdb, path: target/fr.duckdb }\n',
  'models/sources.yml': sources,
  'models/silver/keep.sql': 'select 1 as x',
  ...files,
});

async function tables(dir: string, sql: string): Promise<void> {
  fs.mkdirSync(path.join(dir, 'target'), { recursive: true });
  const db = await DuckDBAdapter.open(path.join(dir, 'target/fr.duckdb'));
  try {
    await db.execute(sql);
  } finally {
    await db.close();
  }
}

type FreshnessJson = { id: string; unique_id: string; status: string; max_loaded_at: string | null; max_loaded_at_time_ago_in_s: number | null; error?: string; criteria: Record<string, unknown>; timing: { name: string }[]; thread_id: string; execution_time: number; adapter_response: unknown };
const sourcesJson = (dir: string, file = 'target/sources.json') => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { metadata: Record<string, unknown>; results: FreshnessJson[] };
const results = (dir: string) => sourcesJson(dir).results;

describe('lake source freshness', () => {
  it('judges each source against its rules; table and source level, filter, null to turn off', async () => {
    const dir = project(`sources:
  - name: ops
    schema: main
    loaded_at_field: loaded_at
    freshness: { warn_after: { count: 1, period: hour }, error_after: { count: 1, period: day } }
    tables:
      - name: fresh
      - name: stale_warn
      - name: stale_error
      - name: filtered
        freshness: { error_after: { count: 30, period: minute }, filter: "kind = 'keep'" }
      - name: empty
      - name: off
        freshness: null
      # No rows and only a warn_after (error_after turned off): a warning, as dbt.
      - name: empty_warn
        freshness: { error_after: null }
      # Merged with the source's, as dbt: its own error_after, the source's warn_after.
      - name: merged
        freshness: { error_after: { count: 100000, period: day } }
`);
    // TIMESTAMP without a zone is read as UTC (as dbt does); TIMESTAMPTZ is an instant.
    await tables(dir, `
      create table main.fresh as select (now() at time zone 'UTC') - interval 5 minute as loaded_at;
      create table main.stale_warn as select now() - interval 3 hour as loaded_at;
      create table main.stale_error as select (now() at time zone 'UTC') - interval 2 day as loaded_at;
      create table main.filtered as select * from (values (now() - interval 10 minute, 'drop'), (now() - interval 2 hour, 'keep')) t(loaded_at, kind);
      create table main.empty (loaded_at timestamp);
      create table main.off as select now() - interval 100 day as loaded_at;
      create table main.merged as select now() - interval 3 hour as loaded_at;
      create table main.empty_warn (loaded_at timestamp);`);
    const r = lake(dir, ['source', 'freshness']);
    expect(r.code).toBe(1);
    const byId = Object.fromEntries(results(dir).map((x) => [x.id, x]));
    expect(Object.keys(byId).sort()).toEqual(['source:ops.empty', 'source:ops.empty_warn', 'source:ops.filtered', 'source:ops.fresh', 'source:ops.merged', 'source:ops.stale_error', 'source:ops.stale_warn']);
    expect(byId['source:ops.empty_warn']).toMatchObject({ status: 'warn', max_loaded_at: '0001-01-01T00:00:00+00:00' });
    expect(byId['source:ops.merged']!.status).toBe('warn');
    expect(byId['source:ops.fresh']!.status).toBe('pass');
    expect(byId['source:ops.fresh']!.max_loaded_at_time_ago_in_s).toBeGreaterThan(290);
    expect(byId['source:ops.fresh']!.max_loaded_at_time_ago_in_s).toBeLessThan(400);
    expect(byId['source:ops.stale_warn']!.status).toBe('warn');
    expect(byId['source:ops.stale_error']!.status).toBe('error');
    // The filter leaves the 2-hour-old row: past 30 minutes.
    expect(byId['source:ops.filtered']!.status).toBe('error');
    expect(byId['source:ops.filtered']!.max_loaded_at_time_ago_in_s).toBeGreaterThan(7000);
    // dbt's sources.json (schema v3): dbt's unique_id, criteria with {count: null, period: null} for a
    // rule not set, times as Python's isoformat, an empty table's max_loaded_at year 1, timing.
    expect(sourcesJson(dir).metadata).toMatchObject({ dbt_schema_version: 'https://schemas.getdbt.com/dbt/sources/v3.json', env: {} });
    expect(byId['source:ops.empty']).toMatchObject({ unique_id: 'source.fr.ops.empty', status: 'error', max_loaded_at: '0001-01-01T00:00:00+00:00', error: 'no rows' });
    expect(byId['source:ops.empty']!.max_loaded_at_time_ago_in_s).toBeGreaterThan(6e10);
    expect(byId['source:ops.empty_warn']!.criteria).toEqual({ warn_after: { count: 1, period: 'hour' }, error_after: { count: null, period: null }, filter: null });
    expect(byId['source:ops.fresh']!.max_loaded_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
    expect(byId['source:ops.fresh']).toMatchObject({ unique_id: 'source.fr.ops.fresh', adapter_response: {}, thread_id: 'Thread-1' });
    expect(byId['source:ops.fresh']!.timing.map((t) => t.name)).toEqual(['compile', 'execute']);
    expect(byId['source:ops.fresh']!.execution_time).toBeGreaterThanOrEqual(0);
    expect(r.stdout).toMatch(/WARN\s+ops\.stale_warn\s+newest .*, 3h 0m ago \(warn after 1 hour, error after 1 day\)/);
    expect(r.stdout).toMatch(/WARN\s+ops\.merged\s+newest .*\(warn after 1 hour, error after 100000 days\)/);
    expect(r.stdout).toMatch(/Freshness: 1 pass, 3 warn, 3 error \(of 7\)/);
    // Selection: only the fresh one → exit 0.
    const one = lake(dir, ['source', 'freshness', '-s', 'source:ops.fresh']);
    expect(one.code).toBe(0);
    expect(results(dir).map((x) => x.unique_id)).toEqual(['source.fr.ops.fresh']);
    // dbt's --output: the results written there instead.
    expect(lake(dir, ['source', 'freshness', '-s', 'source:ops.stale_warn', '--output', 'out/fr.json']).code).toBe(0);
    expect(sourcesJson(dir, 'out/fr.json').results.map((x) => x.unique_id)).toEqual(['source.fr.ops.stale_warn']);
    expect(results(dir).map((x) => x.unique_id)).toEqual(['source.fr.ops.fresh']);
  });

  it('a landing zone is as fresh as its newest file, read or not', () => {
    const dir = project(`sources:
  - name: app
    tables:
      - name: ev
        landing: { path: landing/ev, format: jsonl }
        freshness: { warn_after: { count: 2, period: hour } }
`, { 'landing/ev/a.jsonl': '{"id": 1}\n', 'landing/ev/b.jsonl': '{"id": 2}\n' });
    const old = new Date(Math.floor(Date.now() / 1000 - 5 * 3600) * 1000);
    fs.utimesSync(path.join(dir, 'landing/ev/a.jsonl'), old, old);
    fs.utimesSync(path.join(dir, 'landing/ev/b.jsonl'), old, old);
    const stale = lake(dir, ['source', 'freshness']);
    // warn only: exit 0.
    expect(stale.code).toBe(0);
    expect(results(dir)[0]).toMatchObject({ id: 'source:app.ev', unique_id: 'source.fr.app.ev', status: 'warn' });
    expect(results(dir)[0]!.max_loaded_at).toBe(old.toISOString().replace(/\.000Z$/, '+00:00'));
    fs.writeFileSync(path.join(dir, 'landing/ev/c.jsonl'), '{"id": 3}\n');
    expect(lake(dir, ['source', 'freshness']).code).toBe(0);
    expect(results(dir)[0]!.status).toBe('pass');
  });

  it('problems: no loaded_at_field, bad SQL, bad rules with their line, nothing to check', async () => {
    const dir = project(`sources:
  - name: ops
    schema: main
    tables:
      - name: t
        freshness: { warn_after: { count: 1, period: hour } }
      - name: u
        loaded_at_field: no_such_column
        freshness: { warn_after: { count: 1, period: hour } }
`);
    await tables(dir, 'create table main.t as select now() as x; create table main.u as select now() as x;');
    const r = lake(dir, ['source', 'freshness']);
    expect(r.code).toBe(1);
    const [t, u] = results(dir);
    expect(t).toMatchObject({ status: 'runtime error' });
    expect(t!.error).toMatch(/models\/sources\.yml: source ops\.t has freshness rules but no loaded_at_field/);
    expect(u!.error).toMatch(/max\(no_such_column\) of "main"\."u": Binder Error/);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    const bad = project(`sources:
  - name: ops
    tables:
      - name: t
        freshness: { warn_after: { count: 1, period: week } }
`);
    const b = lake(bad, ['source', 'freshness']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/models\/sources\.yml:4.*LAKE-P025.*warn_after.*minute, hour or day/);

    const none = project('sources:\n  - name: ops\n    tables:\n      - name: t\n');
    const n = lake(none, ['source', 'freshness']);
    expect(n.code).toBe(0);
    expect(n.stdout).toMatch(/no source with freshness: rules among the 1 selected/);
  });

  it('runs on_run_start hooks first (a source in a database they attach); a text loaded_at_field gets a cast hint', async () => {
    const dir = project(`sources:
  - name: ext
    database: other
    schema: raw
    loaded_at_field: loaded_at
    freshness: { warn_after: { count: 1, period: hour } }
    tables:
      - name: t
  - name: txt
    schema: main
    loaded_at_field: at_text
    freshness: { warn_after: { count: 1, period: hour } }
    tables:
      - name: s
`);
    const other = path.join(dir, 'other.duckdb');
    fs.writeFileSync(path.join(dir, 'project.yml'), `name: fr\ntargets:\n  dev: { type: duckdb, path: target/fr.duckdb }\non_run_start:\n  - "attach if not exists '${other}' as other"\n`);
    const db = await DuckDBAdapter.open(other);
    try {
      await db.execute('create schema raw; create table raw.t as select now() - interval 10 minute as loaded_at');
    } finally {
      await db.close();
    }
    await tables(dir, "create table main.s as select now()::varchar as at_text");
    const r = lake(dir, ['source', 'freshness']);
    expect(r.code).toBe(1);
    const [t, s] = results(dir);
    expect(t).toMatchObject({ id: 'source:ext.t', unique_id: 'source.fr.ext.t', status: 'pass' });
    expect(s!.error).toMatch(/loaded_at_field at_text is text, not a timestamp: cast it \(loaded_at_field: "at_text::timestamp"\)/);
  });

  it("takes dbt_project.yml's sources: +freshness where the YAML gives none (a YAML freshness replaces it whole, null turns it off), as dbt 1.9", async () => {
    const dir = writeProject({
      'dbt_project.yml': `name: fp
profile: fp
sources:
  fp:
    ops:
      +freshness: { warn_after: { count: 1, period: hour } }
      by_table:
        +freshness: { error_after: { count: 2, period: hour } }
`,
      'profiles.yml': 'fp:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: target/fr.duckdb}\n',
      'models/sources.yml': `sources:
  - name: ops
    schema: main
    loaded_at_field: loaded_at
    tables:
      - name: from_project
      - name: by_table
      - name: own
        freshness: { error_after: { count: 1, period: day } }
      - name: opted_out
        freshness: null
`,
    });
    await tables(dir, ['from_project', 'by_table', 'own', 'opted_out'].map((t) => `create table main.${t} as select (now() at time zone 'UTC') - interval 3 hour as loaded_at;`).join('\n'));
    const r = lake(dir, ['source', 'freshness']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const byName = Object.fromEntries(results(dir).map((x) => [x.unique_id.split('.').pop(), x]));
    expect(results(dir).map((x) => x.unique_id).sort()).toEqual(['source.fp.ops.by_table', 'source.fp.ops.from_project', 'source.fp.ops.own']);
    expect(Object.keys(byName).sort()).toEqual(['by_table', 'from_project', 'own']);
    const none = { count: null, period: null };
    expect(byName.from_project).toMatchObject({ status: 'warn', criteria: { warn_after: { count: 1, period: 'hour' }, error_after: none } });
    expect(byName.by_table).toMatchObject({ status: 'error', criteria: { warn_after: none, error_after: { count: 2, period: 'hour' } } });
    expect(byName.own).toMatchObject({ status: 'pass', criteria: { warn_after: none, error_after: { count: 1, period: 'day' } } });
    // A bad rule in the project file is an error naming it.
    const file = path.join(dir, 'dbt_project.yml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('period: hour } }\n      by_table', 'period: hours } }\n      by_table'));
    const bad = lake(dir, ['source', 'freshness']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/dbt_project\.yml[\s\S]*LAKE-P025[\s\S]*source ops\.from_project: `warn_after` needs a positive `count` and a `period` of minute, hour or day/);
  });

  it('ageText', () => {
    expect([ageText(42), ageText(125), ageText(3 * 3600 + 12 * 60), ageText(2 * 86400 + 5 * 3600)]).toEqual(['42s', '2m 5s', '3h 12m', '2d 5h']);
  });
});
