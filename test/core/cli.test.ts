/**
 * The `lake` CLI end to end, as a user runs it (child processes, real DuckDB files): init, run,
 * selection, threads, failures, state tables, hooks, vars, full refresh, show, exit codes, output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, it, expect } from 'vitest';
import { writeProject, projectYml, lake, query, jsonLines, LAKE } from './helpers.js';

describe('lake init', () => {
  it('scaffolds a project that lake run builds at once, and again', async () => {
    const dir = path.join(writeProject({}), 'shop');
    const init = lake(path.dirname(dir), ['init', 'shop']);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('created');
    expect(init.stdout).toContain('next: cd shop && lake run');
    // The next step is a command to paste: a folder name with a space is quoted.
    const spaced = lake(path.dirname(dir), ['init', 'my shop']);
    expect(spaced.code).toBe(0);
    expect(spaced.stdout).toContain("next: cd 'my shop' && lake run");
    expect(lake(path.join(path.dirname(dir), 'my shop'), ['run']).code).toBe(0);
    const first = lake(dir, ['run']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/4 ok, 0 errors, 0 skipped/);
    const second = lake(dir, ['run']);
    expect(second.code).toBe(0);
    const rows = await query<{ customer: string; orders: number }>(path.join(dir, 'target/shop.duckdb'), 'select customer, orders from gold.revenue_by_customer order by customer');
    expect(rows).toEqual([{ customer: 'ada', orders: 2 }, { customer: 'grace', orders: 1 }, { customer: 'linus', orders: 1 }]);
    expect(lake(path.dirname(dir), ['init', 'shop']).code).toBe(2);
    // A folder with anything in it is refused, and nothing in it is touched.
    const other = path.join(path.dirname(dir), 'mine');
    fs.mkdirSync(path.join(other, 'seeds'), { recursive: true });
    fs.writeFileSync(path.join(other, 'seeds/raw_orders.csv'), 'mine\n');
    const refused = lake(path.dirname(dir), ['init', 'mine']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('LAKE-U021');
    expect(fs.readFileSync(path.join(other, 'seeds/raw_orders.csv'), 'utf8')).toBe('mine\n');
    expect(fs.existsSync(path.join(other, 'project.yml'))).toBe(false);
    fs.writeFileSync(path.join(path.dirname(dir), 'afile'), 'x');
    const file = lake(path.dirname(dir), ['init', 'afile']);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('afile is a file, not a folder');
    // A fresh repository (only .git) is a fine place for a project.
    fs.mkdirSync(path.join(path.dirname(dir), 'repo', '.git'), { recursive: true });
    expect(lake(path.dirname(dir), ['init', 'repo']).code).toBe(0);
  });
});

const SELECT_PROJECT = {
  'project.yml': projectYml('models:\n  silver: { materialized: incremental, unique_key: id }\n  gold: { tags: [report] }\n'),
  'seeds/raw.csv': 'id\n1\n',
  'models/bronze/a.sql': "select * from {{ ref('raw') }}",
  'models/bronze/z.sql': 'select 1 as id',
  'models/silver/b.sql': "select * from {{ ref('a') }}",
  'models/silver/c.sql': "select * from {{ ref('b') }}",
  'models/gold/d.sql': "{{ config(tags=['daily']) }}select * from {{ ref('c') }} join {{ ref('z') }} using (id)",
};

describe('lake ls', () => {
  const dir = writeProject(SELECT_PROJECT);
  const ls = (...args: string[]) => {
    const r = lake(dir, ['ls', ...args, '--output', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return jsonLines(r.stdout).map((x) => x.id as string).sort();
  };

  it('selects with dbt syntax: name, schema.name, graph operators, tags, paths, config, union and intersection', () => {
    expect(ls('-s', 'b')).toEqual(['silver.b']);
    expect(ls('-s', 'silver.c')).toEqual(['silver.c']);
    expect(ls('-s', '+c')).toEqual(['bronze.a', 'seeds.raw', 'silver.b', 'silver.c']);
    expect(ls('-s', 'b+')).toEqual(['gold.d', 'silver.b', 'silver.c']);
    expect(ls('-s', '1+c')).toEqual(['silver.b', 'silver.c']);
    expect(ls('-s', '@b')).toEqual(['bronze.a', 'bronze.z', 'gold.d', 'seeds.raw', 'silver.b', 'silver.c']);
    expect(ls('-s', 'tag:report')).toEqual(['gold.d']);
    expect(ls('-s', 'tag:daily,tag:report')).toEqual(['gold.d']);
    expect(ls('-s', 'tag:daily,silver.b')).toEqual([]);
    expect(ls('-s', 'path:models/bronze')).toEqual(['bronze.a', 'bronze.z']);
    expect(ls('-s', 'config.materialized:incremental')).toEqual(['silver.b', 'silver.c']);
    expect(ls('-s', 'a z')).toEqual(['bronze.a', 'bronze.z']);
    expect(ls('-s', 'a', '-s', 'z')).toEqual(['bronze.a', 'bronze.z']);
    expect(ls('-s', 'a', 'z')).toEqual(['bronze.a', 'bronze.z']); // dbt's form: several selectors after one -s
    expect(ls('-s', 'a', 'z', 'b', '--exclude', 'z', 'b')).toEqual(['bronze.a']);
    expect(ls('-s', 'b+', '--exclude', 'd')).toEqual(['silver.b', 'silver.c']);
  });

  it('prints the node details as JSON lines', () => {
    // An --output lake does not write is an error (dbt's click choice), not the names.
    const yaml = lake(dir, ['ls', '-s', 'd', '--output', 'yaml']);
    expect(yaml.code).toBe(2);
    expect(yaml.stdout).toBe('');
    expect(yaml.stderr).toBe('error LAKE-U006: --output yaml is not a format of lake ls\n  hint: use name, path or json\n');
    expect(lake(dir, ['ls', '-s', 'd', '--output', 'path']).stdout.trim()).toMatch(/^models\/.*d\.sql$/);
    const r = lake(dir, ['ls', '-s', 'd', '--output', 'json']);
    const [d] = jsonLines(r.stdout);
    expect({ ...d, depends_on: (d!.depends_on as string[]).sort() }).toEqual({
      id: 'gold.d', resource_type: 'model', name: 'd', schema: 'gold', path: 'models/gold/d.sql', tags: ['report', 'daily'], materialized: 'view', depends_on: ['bronze.z', 'silver.c'],
    });
  });

  it('gives a source the schema its table is in', () => {
    const src = writeProject({ 'project.yml': projectYml(), 'models/sources.yml': 'sources:\n  - name: crm\n    schema: raw_crm\n    tables: [{name: accounts}]\n', 'models/a.sql': "select * from {{ source('crm', 'accounts') }}" });
    const [s] = jsonLines(lake(src, ['ls', '-s', 'source:crm.accounts', '--output', 'json']).stdout);
    expect(s).toMatchObject({ id: 'source:crm.accounts', resource_type: 'source', schema: 'raw_crm' });
  });

  it('rejects a selector that matches nothing with a hint, exit 2', () => {
    const r = lake(dir, ['ls', '-s', 'bb']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/did you mean silver\.b\?/);
    // Only names near it: 'qq' is two edits from every one-letter model, which says nothing.
    expect(lake(dir, ['ls', '-s', 'qq']).stderr).not.toMatch(/did you mean/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

/** Two slow independent models, one that fails (with descendants), and one with hooks. */
const RUN_PROJECT = {
  'project.yml': projectYml('on_run_start:\n  - "create table if not exists main.audit (event varchar, ts timestamp)"\n  - "insert into main.audit values (\'start\', now())"\non_run_end: "insert into main.audit values (\'end\', now())"\n', 2),
  'models/bronze/p.sql': "{{ config(materialized='table') }}select count(*) as n from range(3000000)",
  'models/bronze/q.sql': "{{ config(materialized='table') }}select count(*) as n from range(3000000)",
  'models/bronze/bad.sql': "{{ config(materialized='table') }}select no_such_column from range(3)",
  'models/silver/after_bad.sql': "select * from {{ ref('bad') }}",
  'models/gold/after_after.sql': "select * from {{ ref('after_bad') }}",
  'models/silver/after_p.sql': "{{ config(materialized='table', pre_hook=\"create table if not exists main.hook_log (what varchar)\", post_hook=[\"insert into main.hook_log values ('post ' || (select count(*) from {{ this }}))\"]) }}select n + 1 as n from {{ ref('p') }}",
};

describe('lake run', () => {
  it('runs independent nodes concurrently, skips the descendants of a failure and goes on, exit 1', async () => {
    const dir = writeProject(RUN_PROJECT);
    const r = lake(dir, ['run', '--log-format', 'json']);
    expect(r.code).toBe(1);
    const events = jsonLines(r.stdout);
    // Every line is JSON; two threads: a second node starts before the first one ends.
    const kinds = events.map((e) => e.kind as string);
    const firstEnd = kinds.indexOf('node_end');
    expect(kinds.slice(0, firstEnd).filter((k) => k === 'node_start').length).toBe(2);
    // node_start numbers the nodes in the order they start: each once (two started at once were both 1).
    const starts = events.filter((e) => e.kind === 'node_start').map((e) => e.index as number);
    expect(starts).toEqual(starts.map((_x, i) => i + 1));
    const ends = Object.fromEntries(events.filter((e) => e.kind === 'node_end').map((e) => [e.id as string, e]));
    expect(ends['bronze.bad']).toMatchObject({ status: 'error' });
    expect(String(ends['bronze.bad']!.error)).toContain('no_such_column');
    expect(String(ends['bronze.bad']!.error)).toContain('target/compiled/bronze/bad.sql');
    // The model file's place as fields too.
    expect(ends['bronze.bad']).toMatchObject({ file: 'models/bronze/bad.sql', line: expect.any(Number), col: expect.any(Number) });
    expect(ends['silver.after_bad']).toMatchObject({ status: 'skipped', message: 'skipped: bronze.bad failed' });
    expect(ends['gold.after_after']).toMatchObject({ status: 'skipped' });
    for (const id of ['bronze.p', 'bronze.q', 'silver.after_p']) expect(ends[id]).toMatchObject({ status: 'success' });
    expect(events.at(-1)).toMatchObject({ kind: 'run_end', success: 3, error: 1, skipped: 2 });

    const db = path.join(dir, 'target/t.duckdb');
    const runs = await query<{ status: string; command: string; batch_id: number }>(db, 'select status, command, batch_id from _lake.runs');
    expect(runs).toEqual([{ status: 'error', command: 'run', batch_id: 1 }]);
    const nodeRuns = await query<{ node_id: string; status: string; rows: number | null }>(db, 'select node_id, status, rows from _lake.node_runs order by node_id');
    expect(nodeRuns).toEqual([
      { node_id: 'bronze.bad', status: 'error', rows: null },
      { node_id: 'bronze.p', status: 'success', rows: 1 },
      { node_id: 'bronze.q', status: 'success', rows: 1 },
      { node_id: 'gold.after_after', status: 'skipped', rows: null },
      { node_id: 'silver.after_bad', status: 'skipped', rows: null },
      { node_id: 'silver.after_p', status: 'success', rows: 1 },
    ]);
    const results = JSON.parse(fs.readFileSync(path.join(dir, 'target/run_results.json'), 'utf8'));
    expect(results).toMatchObject({ command: 'run', status: 'error' });
    expect(results.run_id).toBe((await query<{ run_id: string }>(db, 'select run_id from _lake.runs'))[0]!.run_id);
    expect(results.results.map((x: { id: string; status: string }) => `${x.id}:${x.status}`).sort()).toEqual(nodeRuns.map((n) => `${n.node_id}:${n.status}`));

    // Hooks: on_run_start/end around the run, pre/post around the model (post sees the new table).
    expect((await query<{ event: string }>(db, 'select event from main.audit order by ts, event desc')).map((x) => x.event)).toEqual(['start', 'end']);
    expect(await query(db, 'select what from main.hook_log')).toEqual([{ what: 'post 1' }]);
  });

  it('runs one node at a time with --threads 1, and --fail-fast starts nothing after an error', () => {
    const dir = writeProject(RUN_PROJECT);
    const seq = jsonLines(lake(dir, ['run', '--threads', '1', '--log-format', 'json', '-s', 'p q']).stdout).filter((e) => e.kind === 'node_start' || e.kind === 'node_end').map((e) => e.kind);
    expect(seq).toEqual(['node_start', 'node_end', 'node_start', 'node_end']);
    const ff = lake(dir, ['run', '--threads', '1', '--fail-fast', '--log-format', 'json', '-s', 'bad p q']);
    expect(ff.code).toBe(1);
    const ends = jsonLines(ff.stdout).filter((e) => e.kind === 'node_end');
    expect(ends[0]).toMatchObject({ id: 'bronze.bad', status: 'error' });
    expect(ends.slice(1).map((e) => `${e.id as string}:${e.status as string}:${e.message as string}`)).toEqual([
      'bronze.p:skipped:skipped: --fail-fast after an error',
      'bronze.q:skipped:skipped: --fail-fast after an error',
    ]);
    // dbt's short form, -x.
    const x = jsonLines(lake(dir, ['run', '--threads', '1', '-x', '--log-format', 'json', '-s', 'bad p q']).stdout).filter((e) => e.kind === 'node_end');
    expect(x.map((e) => e.status)).toEqual(['error', 'skipped', 'skipped']);
  });

  it('applies --vars and --full-refresh to incremental models', async () => {
    const dir = writeProject({
      'project.yml': projectYml('vars:\n  batch: 1\n'),
      'models/silver/events.sql': `{{ config(materialized='incremental') }}
select {{ var('batch') }} as batch
{% if is_incremental() %}where {{ var('batch') }} > (select max(batch) from {{ this }}){% endif %}`,
    });
    const db = path.join(dir, 'target/t.duckdb');
    expect(lake(dir, ['run']).code).toBe(0);
    expect(lake(dir, ['run', '--vars', '{"batch": 2}']).code).toBe(0);
    expect(lake(dir, ['run', '--vars', '{"batch": 2}']).code).toBe(0);
    expect(await query(db, 'select batch from silver.events order by batch')).toEqual([{ batch: 1 }, { batch: 2 }]);
    expect(lake(dir, ['run', '--full-refresh', '--vars', '{"batch": 5}']).code).toBe(0);
    expect(await query(db, 'select batch from silver.events')).toEqual([{ batch: 5 }]);
    // dbt's short form, -f.
    expect(lake(dir, ['run', '-f', '--vars', '{"batch": 4}']).code).toBe(0);
    expect(await query(db, 'select batch from silver.events')).toEqual([{ batch: 4 }]);
    expect(lake(dir, ['run', '--full-refresh', '--vars', '{"batch": 5}']).code).toBe(0);
    // YAML, as dbt takes it.
    expect(lake(dir, ['run', '--vars', '{batch: 6}']).code).toBe(0);
    expect(await query(db, 'select batch from silver.events order by batch')).toEqual([{ batch: 5 }, { batch: 6 }]);
    for (const v of ['{not json', '[1, 2]', 'just text']) {
      const bad = lake(dir, ['run', '--vars', v]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--vars is not a JSON or YAML mapping');
    }
  });

  it('types a seed from the whole file, and a value that does not fit a declared type says how to declare it', async () => {
    const rows = Array.from({ length: 25_000 }, (_, i) => `${i},x`);
    const dir = writeProject({ 'project.yml': projectYml(), 'seeds/codes.csv': ['val,label', ...rows, 'A1,x'].join('\n') + '\n' });
    expect(lake(dir, ['seed']).code).toBe(0);
    const db = path.join(dir, 'target/t.duckdb');
    expect(await query(db, `select count(*)::int as n, count(*) filter (where val = 'A1')::int as a from seeds.codes`)).toEqual([{ n: 25_001, a: 1 }]);
    fs.writeFileSync(path.join(dir, 'project.yml'), projectYml('seeds:\n  codes:\n    +column_types: { val: bigint }\n'));
    const bad = lake(dir, ['seed']);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toContain('Could not convert string "A1"');
    expect(bad.stdout + bad.stderr).toContain("hint: declare the column's type for this seed (column_types");
    expect(bad.stdout + bad.stderr).not.toContain('sample_size');
  });

  it('writes a partitioned external model only into a folder of its own, reading partitions back with their types', async () => {
    const dir = writeProject({
      'project.yml': projectYml(),
      'models/ext.sql': "{{ config(materialized='external', location='out/ext', partition_by=['zip']) }} select 1 as id, '01234' as zip union all select 2, '67890'",
      'models/uses.sql': "select left(zip, 2) as z from {{ ref('ext') }} order by z",
      'models/ext2.sql': "{{ config(materialized='external', location='shared', partition_by=['id']) }} select 1 as id",
    });
    fs.mkdirSync(path.join(dir, 'shared'));
    fs.writeFileSync(path.join(dir, 'shared/README.txt'), 'keep\n');
    const r = lake(dir, ['run']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("holds files lake did not write (README.txt)");
    expect(fs.readFileSync(path.join(dir, 'shared/README.txt'), 'utf8')).toBe('keep\n');
    const db = path.join(dir, 'target/t.duckdb');
    expect(await query(db, 'select z from main.uses')).toEqual([{ z: '01' }, { z: '67' }]);
    // Its own folder again: written over.
    expect(lake(dir, ['run', '-s', 'ext']).code).toBe(0);
  });

  it('gives on_run_end the run\'s results and schemas, as dbt does', async () => {
    const dir = writeProject({
      'project.yml': projectYml(`on_run_end:
  - "create or replace table main.run_end as select '{{ schemas | join(',') }}' as schemas, '{% for d, s in database_schemas %}{{ d }}.{{ s }} {% endfor %}' as db_schemas, {{ results | length }} as n, '{% for r in results %}{{ r.node.name }}:{{ r.status }}:{{ r.adapter_response.rows_affected }} {% endfor %}' as detail, '{% for r in results | sort(attribute=\\"node.unique_id\\") %}{{ r.node.unique_id }}/{{ r.node.package_name }}/{{ r.node.alias }}/{{ r.node.config.materialized }}/{{ (r.node.depends_on or {}).nodes | default([]) | join(\\"+\\") }} {% endfor %}' as nodes"
seeds:
  schema: raw
`),
      'seeds/codes.csv': 'c\n1\n',
      'models/silver/a.sql': "{{ config(materialized='table') }}select 1 as x union all select 2 from {{ ref('codes') }}",
      'models/gold/b.sql': "select * from {{ ref('a') }}",
      'models/gold/bad.sql': 'select nope',
    });
    expect(lake(dir, ['run']).code).toBe(1);
    const db = path.join(dir, 'target/t.duckdb');
    const [row] = await query(db, 'select * from main.run_end');
    // A seed's schema too; database_schemas pairs each with the database (the file's stem, as dbt-duckdb).
    expect(row).toMatchObject({ schemas: 'gold,raw,silver', db_schemas: 't.gold t.raw t.silver ', n: 4 });
    expect(String(row!.detail).trim().split(' ').sort()).toEqual(['a:success:2', 'b:success:', 'bad:error:', 'codes:success:1']);
    // Each result's node is the one graph.nodes holds: dbt's unique_id, package, alias, depends_on.
    expect(String(row!.nodes).trim().split(' ')).toEqual([
      'model.t.a/t/a/table/seed.t.codes', 'model.t.b/t/b/view/model.t.a', 'model.t.bad/t/bad/view/', 'seed.t.codes/t/codes/seed/',
    ]);
  });

  it("gives on_run_end one result per test in lake build and lake test, as dbt's (status, failures, resource_type)", async () => {
    const dir = writeProject({
      'project.yml': projectYml(`on_run_end:
  - "create or replace table main.run_end as select '{% for r in results %}{{ r.node.resource_type }}:{{ r.node.name }}:{{ r.status }}:{{ r.failures }} {% endfor %}' as detail"
`),
      'models/m.sql': "{{ config(materialized='table') }}select 1 as id union all select 1",
      'models/m.yml': 'models:\n  - name: m\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n',
    });
    expect(lake(dir, ['build']).code).toBe(1);
    const db = path.join(dir, 'target/t.duckdb');
    const detail = async () => String((await query(db, 'select detail from main.run_end'))[0]!.detail).trim().split(' ').sort();
    expect(await detail()).toEqual(['model:m:success:', 'test:not_null_m_id:pass:0', 'test:unique_m_id:fail:1']);
    expect(lake(dir, ['test']).code).toBe(1);
    expect(await detail()).toEqual(['test:not_null_m_id:pass:0', 'test:unique_m_id:fail:1']);
  });

  it('renders a model\'s hooks in its context: is_incremental() answers as in its SQL', async () => {
    const hook = "create table if not exists main.seen (phase varchar, inc boolean); insert into main.seen values ('PHASE', {{ is_incremental() }})";
    const dir = writeProject({
      'project.yml': projectYml(),
      'models/m.sql': `{{ config(materialized='incremental', pre_hook="${hook.replace('PHASE', 'pre')}", post_hook="${hook.replace('PHASE', 'post')}") }}
select 1 as id, {{ is_incremental() }} as in_model`,
    });
    expect(lake(dir, ['run']).code).toBe(0);
    expect(lake(dir, ['run']).code).toBe(0);
    const db = path.join(dir, 'target/t.duckdb');
    expect(await query(db, 'select phase, inc from main.seen order by inc, phase')).toEqual([
      { phase: 'post', inc: false }, { phase: 'pre', inc: false }, { phase: 'post', inc: true }, { phase: 'pre', inc: true },
    ]);
    expect(await query(db, 'select in_model from main.m order by in_model')).toEqual([{ in_model: false }, { in_model: true }]);
  });

  it("takes dbt's dict hooks and before_begin()/after_commit(): those run outside the model's transaction, and stay when the model fails", async () => {
    const dir = writeProject({
      'project.yml': projectYml("models:\n  pre_hook:\n    - sql: \"insert into main.log values ('yaml outside')\"\n      transaction: false\n"),
      'macros/setup.sql': "{% macro setup() %}{% do run_query('create table if not exists main.log (what varchar)') %}{% endmacro %}",
      'models/ok.sql': `{{ config(materialized='table',
    pre_hook=[before_begin("insert into main.log values ('before begin')"), {"sql": "insert into main.log values ('in transaction')", "transaction": true}],
    post_hook=after_commit("insert into main.log values ('after commit ' || (select count(*) from {{ this }}))")) }}
select 1 as id`,
      'models/bad.sql': `{{ config(materialized='table', pre_hook=[before_begin("insert into main.log values ('bad: before begin')"), "insert into main.log values ('bad: in transaction')"]) }}
select 'x'::integer as id`,
    });
    fs.writeFileSync(path.join(dir, 'project.yml'), fs.readFileSync(path.join(dir, 'project.yml'), 'utf8') + 'on_run_start: ["{{ setup() }}"]\n');
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const db = path.join(dir, 'target/t.duckdb');
    const log = (await query(db, 'select what from main.log')).map((x) => String(x.what));
    // ok: the YAML hook and before_begin ran before its transaction, after_commit saw its committed row.
    expect(log.filter((w) => !w.startsWith('bad') && w !== 'yaml outside')).toEqual(['before begin', 'in transaction', 'after commit 1']);
    // bad: what ran outside its transaction stays; what ran in it was rolled back with the model.
    expect(log.filter((w) => w.startsWith('bad'))).toEqual(['bad: before begin']);
    expect(log.filter((w) => w === 'yaml outside')).toHaveLength(2);
  });
});

describe('lake show, exit codes and output', () => {
  it('previews rows of a model, with --limit, and JSON rows with --log-format json', () => {
    const dir = writeProject({ 'project.yml': projectYml(), 'models/nums.sql': "{{ config(materialized='table') }}select range as n, 'v' || range as label from range(20)" });
    expect(lake(dir, ['run']).code).toBe(0);
    const r = lake(dir, ['show', 'nums', '--limit', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('n | label');
    expect(r.stdout).toContain('2 | v2');
    expect(r.stdout).toContain('(3 rows)');
    expect(r.stdout).toContain('showing the first 3 rows; there are more');
    const all = lake(dir, ['show', 'nums', '--limit', '20']);
    expect(all.stdout).toContain('(20 rows)');
    expect(all.stdout).not.toContain('there are more');
    // A misspelt name: the hint names the model as lake show takes it, not as a ref() in a template.
    const typo = lake(dir, ['show', 'num']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe("error LAKE-U011: 'num' matches no model or seed\n  hint: did you mean main.nums?\n");
    for (const bad of ['0', 'abc', '-1']) {
      const b = lake(dir, ['show', 'nums', '--limit', bad]);
      expect(b.code).toBe(2);
      expect(b.stderr).toContain(`LAKE-U012: --limit must be a positive integer, not ${bad}`);
    }
    const j = jsonLines(lake(dir, ['show', 'nums', '--limit', '2', '--log-format', 'json']).stdout);
    expect(j.map((x) => [x.kind, x.n, x.label])).toEqual([['row', 0, 'v0'], ['row', 1, 'v1'], ['truncated', undefined, undefined]]);
    // Exact values (DECIMAL, HUGEINT) as DuckDB writes them; a trailing ';' in --inline is fine.
    const exact = lake(dir, ['show', '--inline', 'select 1234567890123456789.12::DECIMAL(38,2) as x, 170141183460469231731687303715884105727::hugeint as h; -- pasted']);
    expect(exact.code).toBe(0);
    expect(exact.stdout).toContain('1234567890123456789.12');
    expect(exact.stdout).toContain('170141183460469231731687303715884105727');
    const nested = lake(dir, ['show', '--inline', "select {'a': 12345678901234567.89::decimal(38,2)} as st, [2.50::decimal(4,2)] as l"]);
    expect(nested.stdout).toContain("{'a': 12345678901234567.89}");
    expect(nested.stdout).toContain('[2.50]');
    // An ephemeral model has no table: its SQL is previewed (a trailing comment included).
    fs.writeFileSync(path.join(dir, 'models/eph.sql'), "{{ config(materialized='ephemeral') }}select max(n) as top from {{ ref('nums') }} -- the largest");
    const eph = lake(dir, ['show', 'eph']);
    expect(eph.code).toBe(0);
    expect(eph.stdout).toContain('19');
    // As dbt show: the model's SQL as saved now, before it is built again; 1 row is a row.
    fs.writeFileSync(path.join(dir, 'models/nums.sql'), "{{ config(materialized='table') }}select range * 10 as n, 'w' || range as label from range(20)");
    const edited = lake(dir, ['show', 'nums', '--limit', '1']);
    expect(edited.stdout).toContain('w0');
    expect(edited.stdout).toContain('showing the first row; there are more');
    // A model whose inputs are missing says to build them.
    fs.writeFileSync(path.join(dir, 'models/later.sql'), "select * from {{ ref('nums') }} join {{ ref('never_built') }} using (n)");
    fs.writeFileSync(path.join(dir, 'models/never_built.sql'), "{{ config(materialized='table') }}select 1 as n");
    const missing = lake(dir, ['show', 'later']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/build them with lake run -s \+main\.later --exclude main\.later/);
    const unknown = lake(dir, ['show', 'numz']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("did you mean main.nums?");
  });

  it('finishes quietly when its reader goes away (lake run | head -1): the run completes and records its end', async () => {
    const dir = writeProject({ 'project.yml': projectYml(), 'models/a.sql': "{{ config(materialized='table') }}select 1 as id", 'models/b.sql': "{{ config(materialized='table') }}select * from {{ ref('a') }}" });
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${LAKE}" run | head -1; echo "status \${PIPESTATUS[0]}" >&2`], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stdout).toBe('lake run: 2 nodes on dev\n');
    expect(r.stderr).toBe('status 0\n');
    expect(await query(path.join(dir, 'target/t.duckdb'), "select status from _lake.runs")).toEqual([{ status: 'success' }]);
  });

  it('gives commander\'s own errors as JSON lines with --log-format json', () => {
    const dir = writeProject({ 'project.yml': projectYml(), 'models/a.sql': 'select 1' });
    const r = lake(dir, ['run', '--no-such-flag', '--log-format', 'json']);
    expect(r.code).toBe(2);
    expect(jsonLines(r.stdout)).toMatchObject([{ kind: 'diagnostic', code: 'LAKE-U000', severity: 'error', message: "unknown option '--no-such-flag'" }]);
  });

  it('exits 2 for usage and project errors, without a stack trace', () => {
    const dir = writeProject({ 'project.yml': projectYml(), 'models/a.sql': 'select 1' });
    for (const args of [['run', '--no-such-flag'], ['frobnicate'], ['run', '--threads', 'zero'], ['run', '-s', 'nope'], ['run', '--log-format', 'jsn'], ['run', '--project-dir', 'no_such_dir'], ['run', '--interval', '1s']]) {
      const r = lake(dir, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
    expect(lake(dir, ['run', '--log-format', 'jsn']).stderr).toContain('LAKE-U003: --log-format must be text or json, not jsn');
    // A flag of --continuous alone is refused, not ignored.
    expect(lake(dir, ['run', '--max-batches', '1']).stderr).toContain('LAKE-U033: --max-batches applies to lake run --continuous only');
    // A mistyped --project-dir inside a project does not run the project above it.
    expect(lake(dir, ['run', '--project-dir', 'no_such_dir']).stderr).toContain('LAKE-U002: --project-dir no_such_dir does not exist');
    const empty = writeProject({});
    const r = lake(empty, ['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no project.yml or dbt_project.yml');
    expect(r.stderr).toContain('lake init');
    expect(lake(dir, ['--version']).code).toBe(0);
  });

  it('writes colour to a terminal unless NO_COLOR is set', () => {
    const dir = writeProject({ 'project.yml': projectYml(), 'models/a.sql': 'select 1' });
    const base = { ...process.env };
    delete base.NO_COLOR;
    delete base.FORCE_COLOR;
    const inTty = (env: NodeJS.ProcessEnv) => {
      // `script` gives the child a pseudo-terminal, as a user's shell would.
      const r = spawnSync('script', ['-qec', `${process.execPath} ${LAKE} run`, '/dev/null'], { cwd: dir, encoding: 'utf8', env });
      expect(r.status).toBe(0);
      return r.stdout;
    };
    expect(inTty(base)).toMatch(/\u001b\[/);
    expect(inTty({ ...base, NO_COLOR: '1' })).not.toMatch(/\u001b\[/);
  });
});
