/**
 * `lake watch` in-process: real chokidar on a temp project, real DuckDB held open by the watch.
 * Each test edits files the way an editor does and waits for the cycle the edit causes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Watch, type CycleReport } from '../../src/watch/index.js';
import { MemoryReporter } from '../../src/reporter/reporters.js';
import type { Diagnostic } from '../../src/errors/index.js';
import { built, makeProject, nextCycle } from './fixture.js';

const open: Watch[] = [];

async function startWatch(dir: string, extra: Partial<ConstructorParameters<typeof Watch>[1]> = {}): Promise<{ w: Watch; rep: MemoryReporter }> {
  const rep = new MemoryReporter();
  const w = new Watch(rep, { projectDir: dir, debounceMs: 20, ...extra });
  open.push(w);
  await w.start();
  return { w, rep };
}

async function rows(w: Watch, sql: string): Promise<Record<string, unknown>[]> {
  return w.db!.query(sql);
}

async function relationExists(w: Watch, schema: string, name: string): Promise<boolean> {
  const r = await rows(w, `select 1 from information_schema.tables where table_schema = '${schema}' and table_name = '${name}'`);
  return r.length > 0;
}

function diagnosticsOf(rep: MemoryReporter): Diagnostic[] {
  return rep.events.filter((e) => e.kind === 'diagnostics').flatMap((e) => e.data as Diagnostic[]);
}

afterEach(async () => {
  for (const w of open.splice(0)) await w.stop();
});

describe('lake watch', () => {
  it('builds the selection at start, then rebuilds an edited model and its descendants only', async () => {
    const dir = makeProject();
    const { w } = await startWatch(dir);
    expect(await rows(w, 'select count(*)::int as n from gold.bpm_summary')).toEqual([{ n: 3 }]);

    const cycle = nextCycle(w);
    fs.writeFileSync(path.join(dir, 'models/silver/bpm.sql'), `select
  user_id,
  bpm,
  bpm > 100 as high
from {{ ref('bpm_raw') }}
where bpm >= {{ var('min_bpm') }}
`);
    const r = await cycle;
    expect(built(r)).toEqual(['silver.bpm', 'gold.bpm_summary']);
    expect(r.results.every((x) => x.status === 'success')).toBe(true);
    expect(await rows(w, 'select count(*)::int as n from silver.bpm where high')).toEqual([{ n: 2 }]);
  });

  it('reaches every model that uses an edited macro', async () => {
    const dir = makeProject();
    const { w } = await startWatch(dir);
    const cycle = nextCycle(w);
    fs.writeFileSync(path.join(dir, 'macros/age_band.sql'), `{% macro age_band(col) -%}
case when {{ col }} < 40 then 'under 40' else '40+' end
{%- endmacro %}
`);
    const r = await cycle;
    expect(new Set(built(r))).toEqual(new Set(['silver.users', 'gold.bpm_summary', 'gold.users_by_band']));
    expect(built(r)[0]).toBe('silver.users');
    expect(await rows(w, 'select age_band, users::int as users from gold.users_by_band order by 1')).toEqual([
      { age_band: '40+', users: 1 },
      { age_band: 'under 40', users: 2 },
    ]);
  });

  it('prints a diagnostic for a broken template, keeps watching, and rebuilds once it is fixed', async () => {
    const dir = makeProject();
    const { w, rep } = await startWatch(dir);
    const file = path.join(dir, 'models/silver/bpm.sql');
    const good = fs.readFileSync(file, 'utf8');

    const broken = nextCycle(w);
    fs.writeFileSync(file, good.replace("{{ ref('bpm_raw') }}", "{{ ref('bpm_raw' }}"));
    const r1 = await broken;
    expect(r1.compiled).toBe(false);
    expect(r1.results).toEqual([]);
    const d = r1.diagnostics.find((x) => x.severity === 'error')!;
    expect(d.file).toBe('models/silver/bpm.sql');
    expect(d.line).toBe(4);
    expect(d.frame).toContain("ref('bpm_raw' }}");
    expect(diagnosticsOf(rep)).toContainEqual(d);

    const fixed = nextCycle(w);
    fs.writeFileSync(file, good.replace('bpm >=', 'bpm >= 70 and bpm >='));
    const r2 = await fixed;
    expect(r2.compiled).toBe(true);
    expect(r2.fixed).toEqual(['models/silver/bpm.sql']);
    expect(rep.lines).toContain('fixed: models/silver/bpm.sql');
    expect(built(r2)).toEqual(['silver.bpm', 'gold.bpm_summary']);
    expect(await rows(w, 'select count(*)::int as n from silver.bpm')).toEqual([{ n: 4 }]);
  });

  it('carries an edit made while another file is broken into the rebuild after the fix', async () => {
    const dir = makeProject();
    const { w } = await startWatch(dir);
    const bpm = path.join(dir, 'models/silver/bpm.sql');
    const good = fs.readFileSync(bpm, 'utf8');
    let c = nextCycle(w);
    fs.writeFileSync(bpm, `${good}{% if %}`);
    expect((await c).compiled).toBe(false);
    c = nextCycle(w);
    fs.writeFileSync(path.join(dir, 'models/gold/users_by_band.sql'), `select age_band, count(*) as users, 1 as v2 from {{ ref('silver', 'users') }} group by age_band\n`);
    expect((await c).compiled).toBe(false);
    c = nextCycle(w);
    fs.writeFileSync(bpm, good);
    const r = await c;
    expect(new Set(built(r))).toEqual(new Set(['silver.bpm', 'gold.bpm_summary', 'gold.users_by_band']));
    expect(await rows(w, 'select distinct v2 from gold.users_by_band')).toEqual([{ v2: 1 }]);
  });

  it('locates a SQL error in the model file and says fixed when it builds again', async () => {
    const dir = makeProject();
    const { w, rep } = await startWatch(dir);
    const file = path.join(dir, 'models/silver/bpm.sql');
    const good = fs.readFileSync(file, 'utf8');
    let c = nextCycle(w);
    fs.writeFileSync(file, good.replace('  bpm\n', '  bpm,\n  heart_rate\n'));
    const r1 = await c;
    expect(r1.results.map((x) => [x.id, x.status])).toEqual([['silver.bpm', 'error'], ['gold.bpm_summary', 'skipped']]);
    const d = diagnosticsOf(rep).find((x) => x.code === 'LAKE-X050')!;
    expect(d).toMatchObject({ file: 'models/silver/bpm.sql', line: 4, col: 3 });
    expect(d.message).toContain('heart_rate');
    expect(d.frame).toContain('> 4 |   heart_rate');

    c = nextCycle(w);
    fs.writeFileSync(file, good);
    const r2 = await c;
    expect(r2.results.map((x) => x.status)).toEqual(['success', 'success']);
    expect(r2.fixed).toEqual(['silver.bpm']);
    expect(rep.lines).toContain('fixed: silver.bpm');
  });

  it('drops the relation of a deleted model after saying so', async () => {
    const dir = makeProject();
    const { w, rep } = await startWatch(dir);
    expect(await relationExists(w, 'gold', 'users_by_band')).toBe(true);
    const c = nextCycle(w);
    fs.rmSync(path.join(dir, 'models/gold/users_by_band.sql'));
    const r = await c;
    expect(r.dropped.map((x) => x.id)).toEqual(['gold.users_by_band']);
    expect(rep.lines).toContain('models/gold/users_by_band.sql was deleted: dropping table gold.users_by_band');
    expect(await relationExists(w, 'gold', 'users_by_band')).toBe(false);
    expect(await relationExists(w, 'gold', 'bpm_summary')).toBe(true);
    expect(r.results).toEqual([]);
  });

  it('drops a deleted model even when its deletion breaks a model that refs it', async () => {
    const dir = makeProject();
    const { w, rep } = await startWatch(dir);
    const c = nextCycle(w);
    fs.rmSync(path.join(dir, 'models/silver/bpm.sql'));
    const r = await c;
    expect(r.compiled).toBe(false);
    expect(r.diagnostics.some((d) => d.file === 'models/gold/bpm_summary.sql' && /silver.bpm/.test(d.message))).toBe(true);
    expect(r.dropped.map((x) => x.id)).toEqual(['silver.bpm']);
    expect(await relationExists(w, 'silver', 'bpm')).toBe(false);
    // Deleting the dependant too makes the project compile again; silver.bpm is not announced twice.
    const c2 = nextCycle(w);
    fs.rmSync(path.join(dir, 'models/gold/bpm_summary.sql'));
    const r2 = await c2;
    expect(r2.compiled).toBe(true);
    expect(r2.dropped.map((x) => x.id)).toEqual(['gold.bpm_summary']);
    expect(rep.lines.filter((l) => l.includes('dropping table silver.bpm'))).toHaveLength(1);
  });

  it('reloads everything on a project.yml change and rebuilds what it changed', async () => {
    const dir = makeProject();
    const { w } = await startWatch(dir);
    const file = path.join(dir, 'project.yml');
    const c = nextCycle(w);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('min_bpm: 0', 'min_bpm: 100').replace('bronze: { materialized: view }', 'bronze: { materialized: table }'));
    const r = await c;
    expect(new Set(built(r))).toEqual(new Set(['bronze.users_raw', 'bronze.bpm_raw', 'silver.users', 'silver.bpm', 'gold.bpm_summary', 'gold.users_by_band']));
    expect(await rows(w, 'select count(*)::int as n from silver.bpm')).toEqual([{ n: 2 }]);
    expect(await rows(w, "select table_type from information_schema.tables where table_schema = 'bronze' and table_name = 'bpm_raw'")).toEqual([{ table_type: 'BASE TABLE' }]);
  });

  it('rebuilds only the models a YAML change affects', async () => {
    const dir = makeProject();
    const { w, rep } = await startWatch(dir);
    const file = path.join(dir, 'models/silver/schema.yml');
    let c = nextCycle(w);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('One row per user.', 'One row per registered user.'));
    const r1 = await c;
    expect(r1.results).toEqual([]);
    expect(rep.lines).toContain('nothing in the selection to rebuild');
    c = nextCycle(w);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('  - name: bpm\n', '  - name: bpm\n    config: { materialized: view }\n'));
    const r2 = await c;
    expect(built(r2)).toEqual(['silver.bpm', 'gold.bpm_summary']);
    expect(await rows(w, "select table_type from information_schema.tables where table_schema = 'silver' and table_name = 'bpm'")).toEqual([{ table_type: 'VIEW' }]);
  });

  it('keeps to the selection, reloads an edited seed and previews changed models', async () => {
    const dir = makeProject();
    const { w, rep } = await startWatch(dir, { select: ['raw_bpm+'], preview: 2 });
    expect(await relationExists(w, 'gold', 'users_by_band')).toBe(false);
    const c = nextCycle(w);
    fs.appendFileSync(path.join(dir, 'seeds/raw_bpm.csv'), '2,99\n');
    const r = await c;
    expect(built(r)).toEqual(['seeds.raw_bpm', 'bronze.bpm_raw', 'silver.bpm', 'gold.bpm_summary']);
    expect(await rows(w, 'select count(*)::int as n from silver.bpm')).toEqual([{ n: 6 }]);
    const previews = rep.events.filter((e) => e.kind === 'preview').map((e) => e.data as { id: string; rows: unknown[] });
    expect(previews.map((p) => [p.id, p.rows.length])).toEqual([['seeds.raw_bpm', 2]]);
    // An edit outside the selection (silver.users feeds gold.bpm_summary): said, not rebuilt.
    const c2 = nextCycle(w);
    fs.appendFileSync(path.join(dir, 'models/silver/users.sql'), '\n-- edited');
    const r2 = await c2;
    expect(built(r2)).toEqual(['gold.bpm_summary']);
    const outside = rep.events.filter((e) => e.kind === 'watch_outside').map((e) => (e.data as { nodes: string[] }).nodes);
    expect(outside).toEqual([['silver.users']]);
  });

  it('picks up a new model file', async () => {
    const dir = makeProject();
    const { w } = await startWatch(dir);
    const c = nextCycle(w);
    fs.writeFileSync(path.join(dir, 'models/gold/cities.sql'), `select distinct city from {{ ref('silver', 'users') }}\n`);
    const r = await c;
    expect(built(r)).toEqual(['gold.cities']);
    expect(await rows(w, 'select count(*)::int as n from gold.cities')).toEqual([{ n: 3 }]);
  });

  it('builds the last of two quick writes to the same file (save, then format-on-save)', async () => {
    const dir = makeProject();
    const { w } = await startWatch(dir, { debounceMs: 30 });
    const file = path.join(dir, 'models/gold/users_by_band.sql');
    const seen: string[] = [];
    const off = w.onCycle((r) => seen.push(...built(r)));
    fs.writeFileSync(file, `select age_band, count(*) as users, 1 as v from {{ ref('silver', 'users') }} group by age_band\n`);
    await new Promise((r) => setTimeout(r, 40));
    fs.writeFileSync(file, `select age_band, count(*) as users, 2 as v from {{ ref('silver', 'users') }} group by age_band\n`);
    // chokidar alone drops a second change of one path within 50 ms; the watch must still see it.
    for (let i = 0; i < 10; i++) {
      await nextCycle(w, () => true, 2000).catch(() => undefined);
      const v = await rows(w, 'select distinct v from gold.users_by_band').catch(() => []);
      if (v.length === 1 && v[0]!.v === 2) break;
    }
    off();
    expect(await rows(w, 'select distinct v from gold.users_by_band')).toEqual([{ v: 2 }]);
    expect(seen.every((id) => id === 'gold.users_by_band')).toBe(true);
  });

  it('with --landing, builds the models that read a source when files land in its folder', async () => {
    const dir = makeProject({
      'models/bronze/sources.yml': `sources:
  - name: kafka
    landing: landing
    format: jsonl
    tables:
      - name: bpm
        columns: { user_id: BIGINT, bpm: BIGINT }
`,
      'models/bronze/bpm_stream.sql': `select * from {{ source('kafka', 'bpm') }}\n`,
      'models/silver/bpm_stream_clean.sql': `select * from {{ ref('bpm_stream') }}\n`,
      'landing/bpm/part-0.jsonl': '{"user_id": 1, "bpm": 80}\n',
    });
    const { w, rep } = await startWatch(dir, { landing: true, landingPollMs: 50 });
    expect(rep.lines.some((l) => l.includes('1 landing folder'))).toBe(true);
    const c = nextCycle(w, (r) => r.landing.length > 0);
    fs.writeFileSync(path.join(dir, 'landing/bpm/part-1.jsonl'), '{"user_id": 2, "bpm": 95}\n');
    const r = await c;
    expect(r.landing).toEqual(['source:kafka.bpm']);
    expect(r.files).toEqual([]);
    expect(built(r)).toEqual(['bronze.bpm_stream', 'silver.bpm_stream_clean']);
    expect(r.results.map((x) => x.status)).toEqual(['success', 'success']);
    expect(await rows(w, 'select user_id, bpm from silver.bpm_stream_clean order by 1')).toEqual([{ user_id: 1, bpm: 80 }, { user_id: 2, bpm: 95 }]);
  });

  it('rebuilds an edited incremental model from scratch, unless told not to', async () => {
    const model = `{{ config(materialized='incremental', incremental_strategy='append') }}
select user_id, bpm, 'v1' as version from {{ ref('bpm_raw') }}
{% if is_incremental() %} where false {% endif %}
`;
    for (const fullRefresh of [true, false]) {
      const dir = makeProject({ 'models/silver/bpm_inc.sql': model });
      const { w } = await startWatch(dir, { fullRefresh });
      const c = nextCycle(w);
      fs.writeFileSync(path.join(dir, 'models/silver/bpm_inc.sql'), model.replace("'v1'", "'v2'"));
      expect(built(await c)).toEqual(['silver.bpm_inc']);
      const versions = await rows(w, 'select version, count(*)::int as n from silver.bpm_inc group by 1');
      expect(versions).toEqual([{ version: fullRefresh ? 'v2' : 'v1', n: 5 }]);
      await w.stop();
    }
  });

  it('with tests, runs the tests of what a save rebuilds and says fixed when they pass again', async () => {
    const { QualityRun } = await import('../../src/dq/quality-run.js');
    const dir = makeProject({
      'models/silver/schema.yml': `models:
  - name: users
    columns:
      - name: user_id
        data_tests: [unique, not_null]
  - name: bpm
    columns:
      - name: bpm
        data_tests: [not_null]
`,
    });
    const { w, rep } = await startWatch(dir, { tests: (s, ids, reporter) => QualityRun.plan(s, { mode: 'build', select: ids, reporter }) });
    const file = path.join(dir, 'models/silver/users.sql');
    const good = fs.readFileSync(file, 'utf8');
    let c = nextCycle(w);
    fs.writeFileSync(file, `${good}union all\nselect 1, 'Gardena', 'under 30'\n`);
    const r1 = await c;
    const test1 = r1.results.find((x) => x.id.startsWith('test:') && x.id.includes('silver.users'));
    expect(test1?.status).toBe('error');
    expect(r1.results.filter((x) => x.id.includes('bpm')).map((x) => x.id)).toEqual(['gold.bpm_summary']);
    expect(r1.results.find((x) => x.id === 'gold.bpm_summary')?.status).toBe('skipped');
    c = nextCycle(w);
    fs.writeFileSync(file, good);
    const r2 = await c;
    expect(r2.results.every((x) => x.status === 'success')).toBe(true);
    expect(r2.fixed).toContain(test1!.id);
    // A failing test prints dq's table; when all pass, one line.
    expect(rep.lines.some((l) => /FAIL\s+\| unique_users_user_id/.test(l))).toBe(true);
    expect(rep.lines.slice(-2)).toEqual(['tests: 2 passed', 'fixed: test:silver.users']);
  });

  it('with tests, a test added in YAML, a unit test or a singular test file runs again on its own, without rebuilding its model', async () => {
    const { QualityRun } = await import('../../src/dq/quality-run.js');
    const dir = makeProject({
      'models/silver/schema.yml': 'models:\n  - name: users\n    columns:\n      - name: user_id\n        data_tests: [unique]\n',
      'data_tests/no_users.sql': "select * from {{ ref('users') }} where false",
    });
    const { w } = await startWatch(dir, { tests: (s, ids, reporter, mode = 'build') => QualityRun.plan(s, { mode, select: [...ids], reporter }) });
    // A failing accepted_values test appears in the YAML.
    let c = nextCycle(w);
    fs.writeFileSync(path.join(dir, 'models/silver/schema.yml'), "models:\n  - name: users\n    columns:\n      - name: user_id\n        data_tests: [unique]\n      - name: city\n        data_tests: [{accepted_values: {values: [nowhere]}}]\n");
    const r1 = await c;
    // Only the test job ran: no model was rebuilt.
    expect(r1.results.map((x) => `${x.id}:${x.status}`)).toEqual(['test:silver.users:error']);
    // A singular test file saved: it runs.
    c = nextCycle(w);
    fs.writeFileSync(path.join(dir, 'data_tests/no_users.sql'), "select * from {{ ref('users') }}");
    const r2 = await c;
    expect(r2.results.map((x) => x.id)).toEqual(['test:silver.users']);
    // A unit test added to the YAML: it runs (before the model would), the model is not rebuilt.
    c = nextCycle(w);
    fs.appendFileSync(path.join(dir, 'models/silver/schema.yml'), 'unit_tests:\n  - name: users_pass_through\n    model: users\n    given: []\n    expect: {rows: []}\n');
    const r3 = await c;
    expect(r3.results.map((x) => x.id).sort()).toEqual(['test:silver.users', 'unit:silver.users']);
    await w.stop();
  });

  it('with tests, an edit of a custom generic test ({% test %} in macros/) runs the tests that use it', async () => {
    const { QualityRun } = await import('../../src/dq/quality-run.js');
    const dir = makeProject({
      'macros/few.sql': '{% test few(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} > 1000000\n{% endtest %}\n',
      'models/silver/schema.yml': 'models:\n  - name: users\n    columns:\n      - name: user_id\n        data_tests: [few]\n',
    });
    const { w } = await startWatch(dir, { tests: (s, ids, reporter, mode = 'build') => QualityRun.plan(s, { mode, select: [...ids], reporter }) });
    const c = nextCycle(w);
    fs.writeFileSync(path.join(dir, 'macros/few.sql'), '{% test few(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} > 0\n{% endtest %}\n');
    const r = await c;
    expect(r.results.map((x) => `${x.id}:${x.status}`)).toEqual(['test:silver.users:error']);
    await w.stop();
  });

  /** A dbt project beside the package it develops (packages.yml `local: ../pkg`), as in a monorepo; `over` replaces files. */
  function projectWithLocalPackage(over: Record<string, string> = {}): string {
    // A dbt project beside the package it develops (packages.yml `local: ../pkg`), as in a monorepo.
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-watch-pkg-'));
    const files: Record<string, string> = {
      'shop/dbt_project.yml': 'name: shop\nconfig-version: 2\nprofile: shop\nmodels:\n  +materialized: table\n',
      'shop/profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/shop.duckdb\n      threads: 1\n',
      'shop/packages.yml': 'packages:\n  - local: ../pkg\n',
      'shop/models/uses.sql': "select id, {{ mypkg.twice('id') }} as d from {{ ref('pkg_model') }}\n",
      'shop/models/other.sql': 'select 1 as x\n',
      'pkg/dbt_project.yml': 'name: mypkg\nconfig-version: 2\n',
      'pkg/macros/twice.sql': '{% macro twice(c) %}({{ c }} * 2){% endmacro %}\n',
      'pkg/models/pkg_model.sql': 'select 1 as id union all select 2\n',
    };
    for (const [rel, text] of Object.entries({ ...files, ...over })) {
      fs.mkdirSync(path.dirname(path.join(base, rel)), { recursive: true });
      fs.writeFileSync(path.join(base, rel), text);
    }
    return path.join(base, 'shop');
  }

  it("watches installed dbt packages: an edit of a local package's macro or model rebuilds what uses it", async () => {
    const shop = projectWithLocalPackage();
    const base = path.dirname(shop);
    const { w } = await startWatch(shop);
    expect(await rows(w, 'select id, d from main.uses order by id')).toEqual([{ id: 1, d: 2 }, { id: 2, d: 4 }]);

    let c = nextCycle(w);
    fs.writeFileSync(path.join(base, 'pkg/macros/twice.sql'), '{% macro twice(c) %}({{ c }} * 3){% endmacro %}\n');
    const r1 = await c;
    expect(built(r1)).toEqual(['main.uses']);
    expect(await rows(w, 'select id, d from main.uses order by id')).toEqual([{ id: 1, d: 3 }, { id: 2, d: 6 }]);

    c = nextCycle(w);
    fs.writeFileSync(path.join(base, 'pkg/models/pkg_model.sql'), 'select 1 as id union all select 2 union all select 5\n');
    const r2 = await c;
    expect(built(r2)).toEqual(['main.pkg_model', 'main.uses']);
    expect(await rows(w, 'select max(d)::int as m from main.uses')).toEqual([{ m: 15 }]);
  });

  it("watches a local package's files from the first load that succeeds, when the first one failed", async () => {
    const shop = projectWithLocalPackage({ 'shop/models/uses.sql': "select id, {{ mypkg.twice('id') }} as d from {{ ref('pkg_modl') }}\n" });
    const base = path.dirname(shop);
    const { w } = await startWatch(shop);
    let c = nextCycle(w);
    fs.writeFileSync(path.join(shop, 'models/uses.sql'), "select id, {{ mypkg.twice('id') }} as d from {{ ref('pkg_model') }}\n");
    const fixed = await c;
    expect(built(fixed)).toContain('main.uses');
    c = nextCycle(w);
    fs.writeFileSync(path.join(base, 'pkg/macros/twice.sql'), '{% macro twice(c) %}({{ c }} * 10){% endmacro %}\n');
    const r = await c;
    expect(built(r)).toEqual(['main.uses']);
    expect(await rows(w, 'select max(d)::int as m from main.uses')).toEqual([{ m: 20 }]);
  });

  it('survives a project.yml that does not parse, and reloads when it does', async () => {
    const dir = makeProject();
    const { w, rep } = await startWatch(dir);
    const file = path.join(dir, 'project.yml');
    const good = fs.readFileSync(file, 'utf8');
    let c = nextCycle(w);
    fs.writeFileSync(file, good.replace('vars:\n  min_bpm: 0', 'vars:\n  min_bpm: [0'));
    const r1 = await c;
    expect(r1.compiled).toBe(false);
    expect(r1.diagnostics[0]?.file).toBe('project.yml');
    expect(r1.diagnostics[0]?.line).toBeGreaterThan(0);
    c = nextCycle(w);
    fs.writeFileSync(file, good.replace('min_bpm: 0', 'min_bpm: 90'));
    const r2 = await c;
    expect(r2.fixed).toEqual(['project.yml']);
    expect(built(r2)).toEqual(['silver.bpm', 'gold.bpm_summary']);
    expect(await rows(w, 'select count(*)::int as n from silver.bpm')).toEqual([{ n: 3 }]);
    expect(rep.lines).toContain('fixed: project.yml');
  });

  it('waits out a save caught halfway (file empty, or missing during a safe-write) instead of building or dropping it', async () => {
    const dir = makeProject();
    const { w, rep } = await startWatch(dir, { debounceMs: 10 });
    const file = path.join(dir, 'models/gold/users_by_band.sql');
    const good = fs.readFileSync(file, 'utf8');
    const cycles: CycleReport[] = [];
    const off = w.onCycle((r) => cycles.push(r));
    // Truncate, then the content 40 ms later (longer than the debounce).
    let c = nextCycle(w);
    fs.writeFileSync(file, '');
    await new Promise((r) => setTimeout(r, 40));
    fs.writeFileSync(file, good.replace('count(*) as users', 'count(*) as users, 1 as v'));
    await c;
    // A safe-write: the old file renamed away, the new one renamed in 40 ms later.
    c = nextCycle(w);
    fs.renameSync(file, `${file}.old`);
    await new Promise((r) => setTimeout(r, 40));
    fs.writeFileSync(`${file}.tmp`, good.replace('count(*) as users', 'count(*) as users, 2 as v'));
    fs.renameSync(`${file}.tmp`, file);
    fs.rmSync(`${file}.old`);
    await c;
    off();
    expect(cycles.map((r) => [r.compiled, built(r), r.dropped.length])).toEqual([[true, ['gold.users_by_band'], 0], [true, ['gold.users_by_band'], 0]]);
    expect(rep.lines.some((l) => l.includes('dropping'))).toBe(false);
    expect(await rows(w, 'select distinct v from gold.users_by_band')).toEqual([{ v: 2 }]);
  });

  it('holds a re-load while another file is mid-save, so neither is read halfway or dropped', async () => {
    const dir = makeProject();
    const { w, rep } = await startWatch(dir, { debounceMs: 10 });
    const band = path.join(dir, 'models/gold/users_by_band.sql');
    const good = fs.readFileSync(band, 'utf8');
    const yml = path.join(dir, 'models/silver/schema.yml');
    const cycles: CycleReport[] = [];
    const off = w.onCycle((r) => cycles.push(r));
    // A safe-write of users_by_band starts; a YAML file (which re-loads the project) is saved meanwhile.
    let c = nextCycle(w);
    fs.renameSync(band, `${band}.old`);
    fs.writeFileSync(yml, fs.readFileSync(yml, 'utf8').replace('  - name: bpm\n', '  - name: bpm\n    config: { materialized: view }\n'));
    await new Promise((r) => setTimeout(r, 40));
    fs.writeFileSync(`${band}.tmp`, good.replace('count(*) as users', 'count(*) as users, 3 as v'));
    fs.renameSync(`${band}.tmp`, band);
    fs.rmSync(`${band}.old`);
    const r = await c;
    expect(r.files.map((f) => [f.path, f.deleted]).sort()).toEqual([['models/gold/users_by_band.sql', false], ['models/silver/schema.yml', false]]);
    expect(r.dropped).toEqual([]);
    expect(new Set(built(r))).toEqual(new Set(['silver.bpm', 'gold.bpm_summary', 'gold.users_by_band']));
    expect(await rows(w, 'select distinct v from gold.users_by_band')).toEqual([{ v: 3 }]);
    expect(await rows(w, "select table_type from information_schema.tables where table_schema = 'silver' and table_name = 'bpm'")).toEqual([{ table_type: 'VIEW' }]);
    // A real deletion saved along with a YAML edit: dropped once its grace period ends, in the same cycle.
    c = nextCycle(w);
    fs.rmSync(band);
    fs.writeFileSync(yml, fs.readFileSync(yml, 'utf8').replace('One row per user.', 'One row per registered user.'));
    const r2 = await c;
    off();
    expect(r2.files.map((f) => [f.path, f.deleted]).sort()).toEqual([['models/gold/users_by_band.sql', true], ['models/silver/schema.yml', false]]);
    expect(r2.dropped.map((x) => x.id)).toEqual(['gold.users_by_band']);
    expect(await relationExists(w, 'gold', 'users_by_band')).toBe(false);
    expect(cycles).toHaveLength(2);
    expect(rep.lines.filter((l) => l.includes('dropping'))).toEqual(['models/gold/users_by_band.sql was deleted: dropping table gold.users_by_band']);
  });
});
