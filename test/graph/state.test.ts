/**
 * `state:` and `result:` selectors (`--state <dir>`): the comparison on hand-made manifests, then
 * the CLI on a real project (child processes, real DuckDB) the way slim CI and retries use it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Dag, type DagNode } from '../../src/graph/dag.js';
import { select } from '../../src/graph/select.js';
import { stableJson, type SelectorState, type StateEntry, type StateManifest } from '../../src/graph/state.js';
import { LakeError } from '../../src/errors/index.js';
import { lake, writeProject } from '../core/helpers.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';

const node = (id: string, kind: DagNode['kind'] = 'model'): DagNode => {
  const [schema, name] = id.replace(/^source:/, '').split('.') as [string, string];
  return { id, kind, name, schema, path: `models/${schema}/${name}.sql`, tags: [], config: {} };
};
const dag = new Dag(
  ['source:crm.members', 'bronze.a', 'bronze.b', 'silver.c', 'silver.d', 'gold.e', 'seeds.s'].map((id) => node(id, id.startsWith('source:') ? 'source' : id.startsWith('seeds.') ? 'seed' : 'model')),
  [['source:crm.members', 'bronze.a'], ['bronze.a', 'silver.c'], ['bronze.b', 'silver.d'], ['silver.c', 'gold.e'], ['silver.d', 'gold.e'], ['seeds.s', 'silver.d']],
);

const model = (raw: string, config: Record<string, unknown> = { materialized: 'view' }, extra: Partial<StateEntry> = {}): StateEntry =>
  ({ resource_type: 'model', raw_sql: raw, config, schema: 'x', alias: 'y', depends_on: { macros: [] }, ...extra });
const manifest = (entries: Record<string, StateEntry>, macros: Record<string, string | undefined> = {}): StateManifest =>
  ({ entries: new Map(Object.entries(entries)), macros: new Map(Object.entries(macros)) });

const before = manifest({
  'source:crm.members': { resource_type: 'source', landing: null, relation: '"crm"."members"', columns: { id: { data_type: 'int' } } },
  'bronze.a': model('select 1', { materialized: 'table', tags: ['t'] }),
  'bronze.b': model('select 2', {}, { depends_on: { macros: ['money'] } }),
  'silver.c': model('select 3'),
  'silver.d': model('select 4'),
  'seeds.s': { resource_type: 'seed', checksum: 'aaa', config: { materialized: 'seed' } },
}, { money: 'm1' });

function pick(sel: string, now: StateManifest, prev: StateManifest | undefined = before, results?: SelectorState['results']): string[] {
  const state: SelectorState = { dir: 'prod', previous: prev, current: () => now, results };
  return select(dag, { select: [sel], state });
}

describe('state: selectors', () => {
  const now = manifest({
    'source:crm.members': { resource_type: 'source', landing: null, relation: '"crm"."members"', columns: { id: { data_type: 'bigint' } } },
    // Same config, keys in another order: not a change.
    'bronze.a': model('select 1', { tags: ['t'], materialized: 'table' }),
    'bronze.b': model('select 2', {}, { depends_on: { macros: ['money'] } }),
    'silver.c': model('select 3', { materialized: 'table' }),
    'silver.d': model('select 4', { materialized: 'view' }, { alias: 'renamed' }),
    'gold.e': model('select 5'),
    'seeds.s': { resource_type: 'seed', checksum: 'bbb', config: { materialized: 'seed' } },
  }, { money: 'm2' });

  it('tells each kind of change apart, and modified is their union plus new nodes', () => {
    expect(pick('state:new', now)).toEqual(['gold.e']);
    expect(pick('state:modified.body', now).sort()).toEqual(['seeds.s', 'source:crm.members']);
    expect(pick('state:modified.configs', now)).toEqual(['silver.c']);
    expect(pick('state:modified.relation', now)).toEqual(['silver.d']);
    expect(pick('state:modified.macros', now)).toEqual(['bronze.b']);
    expect(pick('state:modified', now).sort()).toEqual(['bronze.b', 'gold.e', 'seeds.s', 'silver.c', 'silver.d', 'source:crm.members']);
    expect(pick('state:unmodified', now)).toEqual(['bronze.a']);
    expect(pick('state:old', now)).not.toContain('gold.e');
  });

  it('combines with graph operators and intersections', () => {
    expect(pick('state:modified.configs+', now)).toEqual(['silver.c', 'gold.e']);
    expect(pick('+state:modified.macros', now)).toEqual(['bronze.b']);
    expect(pick('state:modified,silver.*', now).sort()).toEqual(['silver.c', 'silver.d']);
  });

  it('a source moved to another schema or table, a model to another schema: modified.relation, not new', () => {
    const moved = manifest({
      ...Object.fromEntries(before.entries),
      'source:crm.members': { resource_type: 'source', landing: null, relation: '"crm2"."members"', columns: { id: { data_type: 'int' } } },
      'silver.c': model('select 3'),
    });
    // The file of silver.c built into schema `old` before (id old.c): a new id now, the same node.
    const prevEntries = Object.fromEntries([...before.entries].filter(([k]) => k !== 'silver.c'));
    const prev = manifest({ ...prevEntries, 'old.c': model('select 3', { materialized: 'view' }, { path: 'models/c.sql', schema: 'old', alias: 'c' }) });
    const nowC = manifest({ ...Object.fromEntries(moved.entries), 'silver.c': model('select 3', { materialized: 'view' }, { path: 'models/c.sql', schema: 'silver', alias: 'c' }) });
    expect(pick('state:modified.relation', moved)).toEqual(['source:crm.members']);
    expect(pick('state:modified.body', moved)).toEqual([]);
    expect(pick('state:modified.relation', nowC, prev)).toEqual(['source:crm.members', 'silver.c']);
    expect(pick('state:new', nowC, prev)).toEqual(['gold.e']);
  });

  it('does not count macros an older manifest has no checksum for', () => {
    const old = manifest(Object.fromEntries(before.entries), { money: undefined });
    expect(pick('state:modified.macros', now, old)).toEqual([]);
    // A macro the earlier manifest did not have at all is a change.
    expect(pick('state:modified.macros', now, manifest(Object.fromEntries(before.entries), {}))).toEqual(['bronze.b']);
  });

  it('an unchanged project has nothing modified', () => {
    const same = manifest({ ...Object.fromEntries(before.entries), 'gold.e': model('select 5') }, { money: 'm1' });
    expect(pick('state:modified', same, same)).toEqual([]);
    expect(pick('state:unmodified', same, same)).toHaveLength(7);
  });

  it('errors: unknown value, no --state, no manifest in the folder', () => {
    const err = (f: () => unknown) => { try { f(); } catch (e) { return (e as LakeError).diagnostics.map((d) => `${d.code} ${d.message} ${d.hint ?? ''}`).join('\n'); } return 'no error'; };
    expect(err(() => pick('state:modifed', now))).toMatch(/LAKE-G102 .*unknown state modifed .*did you mean state:modified/);
    expect(err(() => select(dag, { select: ['state:modified'] }))).toMatch(/LAKE-G103 .*pass --state/);
    expect(err(() => pick('state:new', now, null as unknown as undefined))).toMatch(/LAKE-G104 .*no manifest.json/);
    expect(err(() => pick('result:error', now))).toMatch(/LAKE-G104 .*no run_results.json/);
  });

  it('stableJson sorts keys at every depth and keeps arrays in order', () => {
    expect(stableJson({ b: [2, { y: 1, x: 2 }], a: 'q', u: undefined })).toBe('{"a":"q","b":[2,{"x":2,"y":1}]}');
  });
});

describe('result: selectors', () => {
  const results = [
    { node: 'bronze.a', status: 'success' }, { node: 'silver.c', status: 'error' }, { node: 'gold.e', status: 'skipped' },
    { node: 'bronze.b', status: 'success' }, { node: 'bronze.b', status: 'fail', test: 'unique_b_id' },
  ];
  it('selects nodes by their last status, and the nodes of tests by the test status', () => {
    expect(pick('result:error', before, before, results)).toEqual(['silver.c']);
    expect(pick('result:error+', before, before, results)).toEqual(['silver.c', 'gold.e']);
    expect(pick('result:skipped', before, before, results)).toEqual(['gold.e']);
    expect(pick('result:fail', before, before, results)).toEqual(['bronze.b']);
    expect(pick('result:warn', before, before, results)).toEqual([]);
  });
});

describe('lake --state (CLI)', () => {
  const files = {
    'project.yml': 'name: st\ntargets:\n  dev: { type: duckdb, path: target/st.duckdb }\n',
    'macros/money.sql': '{% macro money(c) %}round({{ c }} / 100.0, 2){% endmacro %}\n{% macro other() %}1{% endmacro %}\n',
    'models/bronze/raw.sql': "select * from (values (1, 'a', 150), (2, 'b', 250), (3, 'c', 5)) t(id, customer, cents)",
    'models/silver/orders.sql': "{{ config(materialized='table') }}\nselect id, customer, {{ money('cents') }} as amount from {{ ref('raw') }}",
    'models/silver/customers.sql': "select customer from {{ ref('raw') }}",
    'models/gold/revenue.sql': "{{ config(materialized='table') }}\nselect customer, sum(amount) as amount from {{ ref('orders') }} group by all",
    'models/schema.yml': 'models:\n  - name: customers\n    columns:\n      - name: customer\n        data_tests: [unique, not_null]\n',
  };
  const ids = (r: { stdout: string }) => r.stdout.trim().split('\n').filter(Boolean);

  it('slim CI: state:modified+ against an earlier target/ folder', () => {
    const dir = writeProject(files);
    expect(lake(dir, ['build']).code).toBe(0);
    const prod = path.join(dir, 'prod-state');
    fs.cpSync(path.join(dir, 'target'), prod, { recursive: true });
    expect(ids(lake(dir, ['ls', '-s', 'state:modified', '--state', prod]))).toEqual([]);
    // An edit of a macro no model calls, in the same file as one they do: nothing modified.
    fs.writeFileSync(path.join(dir, 'macros/money.sql'), '{% macro money(c) %}round({{ c }} / 100.0, 2){% endmacro %}\n{% macro other() %}2{% endmacro %}\n');
    expect(ids(lake(dir, ['ls', '-s', 'state:modified', '--state', prod]))).toEqual([]);
    // A macro edit reaches the model that calls it.
    fs.writeFileSync(path.join(dir, 'macros/money.sql'), '{% macro money(c) %}round({{ c }} / 100.0, 3){% endmacro %}\n{% macro other() %}2{% endmacro %}\n');
    expect(ids(lake(dir, ['ls', '-s', 'state:modified', '--state', prod]))).toEqual(['silver.orders']);
    expect(ids(lake(dir, ['ls', '-s', 'state:modified+', '--state', prod]))).toEqual(['silver.orders', 'gold.revenue']);
    fs.writeFileSync(path.join(dir, 'models/gold/new_one.sql'), 'select 1 as x');
    fs.appendFileSync(path.join(dir, 'models/silver/customers.sql'), '\n-- a comment is a body change, as in dbt');
    expect(ids(lake(dir, ['ls', '-s', 'state:new', '--state', prod]))).toEqual(['gold.new_one']);
    expect(ids(lake(dir, ['ls', '-s', 'state:modified.body', '--state', prod]))).toEqual(['silver.customers']);
    // The environment variable works like the flag; the run builds just those.
    const r = lake(dir, ['run', '-s', 'state:modified+'], { LAKE_STATE: prod });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/4 ok/);
    expect(r.stdout).not.toMatch(/bronze\.raw/);
    // Without --state: a usage error naming what to pass.
    const bad = lake(dir, ['ls', '-s', 'state:modified']);
    expect(bad.code).toBe(2);
    expect(bad.stderr + bad.stdout).toMatch(/LAKE-G103.*pass --state/);
  });

  it('state:modified selects tests whose declaration is new or changed (generic, singular, unit)', () => {
    const dir = writeProject({
      ...files,
      'models/unit.yml': "unit_tests:\n  - name: revenue_sums\n    model: revenue\n    given: [{input: \"ref('orders')\", rows: [{customer: a, amount: 1.5}, {customer: a, amount: 2}]}]\n    expect: {rows: [{customer: a, amount: 3.5}]}\n",
    });
    expect(lake(dir, ['build']).code).toBe(0);
    const prod = path.join(dir, 'prod-state');
    fs.cpSync(path.join(dir, 'target'), prod, { recursive: true });
    const all = (args: string[]) => ids(lake(dir, ['ls', '--resource-type', 'all', '--state', prod, ...args]));
    expect(all(['-s', 'state:modified'])).toEqual([]);
    // A new generic test, a new singular test, a changed unit test: no model changed.
    fs.writeFileSync(path.join(dir, 'models/schema.yml'), files['models/schema.yml'].replace('[unique, not_null]', '[unique, not_null, {accepted_values: {values: [a, b, c]}}]'));
    fs.mkdirSync(path.join(dir, 'tests'));
    fs.writeFileSync(path.join(dir, 'tests/no_negative.sql'), "select * from {{ ref('orders') }} where amount < 0");
    fs.writeFileSync(path.join(dir, 'models/unit.yml'), fs.readFileSync(path.join(dir, 'models/unit.yml'), 'utf8').replace('amount: 2}', 'amount: 2.5}').replace('amount: 3.5}', 'amount: 4}'));
    expect(all(['-s', 'state:modified']).sort()).toEqual(['test.accepted_values_customers_customer__a__b__c', 'test.no_negative', 'unit_test.revenue.revenue_sums']);
    expect(all(['-s', 'state:unmodified']).filter((x) => x.startsWith('test.'))).toEqual(expect.arrayContaining(['test.unique_customers_customer', 'test.not_null_customers_customer']));
    // lake build runs those tests and builds nothing (no model changed).
    const b = lake(dir, ['build', '-s', 'state:modified', '--state', prod]);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(b.stdout).toMatch(/3 passed.*\(of 3\)/);
  });

  it('--defer: a CI run builds only what changed, reading the unbuilt parents from the --state database', async () => {
    const dir = writeProject({
      'project.yml': 'name: df\ntarget: dev\ntargets:\n  dev: { type: duckdb, path: target/dev.duckdb }\n  prod: { type: duckdb, path: prod/prod.duckdb }\n',
      'models/bronze/raw.sql': "{{ config(materialized='table') }}\nselect * from (values (1, 10), (2, 20)) t(id, v)",
      'models/silver/dbl.sql': "{{ config(materialized='table') }}\nselect id, v * 2 as v2 from {{ ref('raw') }}",
      'models/gold/tot.sql': "{{ config(materialized='table') }}\nselect sum(v2) as total from {{ ref('dbl') }}",
      'models/gold/other.sql': "select * from {{ ref('raw') }}",
    });
    expect(lake(dir, ['run', '--target', 'prod']).code).toBe(0);
    const prod = path.join(dir, 'prod-state');
    fs.cpSync(path.join(dir, 'target'), prod, { recursive: true });
    fs.writeFileSync(path.join(dir, 'models/gold/tot.sql'), "{{ config(materialized='table') }}\nselect sum(v2) + 1000 as total from {{ ref('dbl') }}");
    // Without --defer the parent is missing in the empty dev database.
    expect(lake(dir, ['run', '-s', 'state:modified+', '--state', prod]).code).toBe(1);
    const r = lake(dir, ['run', '-s', 'state:modified+', '--state', prod, '--defer']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deferring to .*prod\.duckdb: silver\.dbl/);
    expect(r.stdout).toMatch(/1 ok/);
    const db = await DuckDBAdapter.open(path.join(dir, 'target/dev.duckdb'));
    try {
      expect(await db.query('select total::int as total from gold.tot')).toEqual([{ total: 1060 }]);
      // Only the changed model was built in dev.
      expect((await db.query("select table_schema || '.' || table_name as t from information_schema.tables where table_schema in ('bronze', 'silver', 'gold') order by 1")).map((x) => x.t)).toEqual(['gold.tot']);
    } finally {
      await db.close();
    }
    // A parent this target has is read here, not deferred.
    expect(lake(dir, ['run', '-s', 'dbl']).code).toBe(1); // raw is not in dev: no --defer, an error
    const both = lake(dir, ['run', '-s', 'dbl', 'tot', '--state', prod, '--defer']);
    expect(both.code, both.stdout + both.stderr).toBe(0);
    expect(both.stdout).toMatch(/deferring to .*: bronze\.raw$/m);
    // --defer without --state is a usage error.
    expect(lake(dir, ['run', '-s', 'tot', '--defer']).stderr).toMatch(/LAKE-U041: --defer needs --state/);
  });

  it('a dbt project whose dev and prod schemas differ: only the edited model is modified, and --defer reads prod (through an ephemeral model)', async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nmodels:\n  p:\n    +materialized: table\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: dev.duckdb, schema: dbt_alice}\n    prod: {type: duckdb, path: prod.duckdb, schema: analytics}\n',
      'models/base.sql': 'select 1 as id',
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect id + 1 as id2 from {{ ref('base') }}",
      'models/child.sql': "select * from {{ ref('eph') }}",
    });
    expect(lake(dir, ['run', '--target', 'prod']).code).toBe(0);
    const prod = path.join(dir, 'prod-target');
    fs.cpSync(path.join(dir, 'target'), prod, { recursive: true });
    expect(ids(lake(dir, ['ls', '-s', 'state:modified', '--state', prod]))).toEqual([]);
    fs.appendFileSync(path.join(dir, 'models/child.sql'), '\n-- edited');
    expect(ids(lake(dir, ['ls', '-s', 'state:modified', '--state', prod]))).toEqual(['dbt_alice.child']);
    const r = lake(dir, ['run', '-s', 'state:modified', '--state', prod, '--defer']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deferring to .*prod\.duckdb: dbt_alice\.base/);
    const db = await DuckDBAdapter.open(path.join(dir, 'dev.duckdb'));
    try {
      expect(await db.query('select id2::int as id2 from dbt_alice.child')).toEqual([{ id2: 2 }]);
    } finally {
      await db.close();
    }
    // --state at this target's own folder: a usage error, not an engine error.
    expect(lake(dir, ['run', '-s', 'child', '--state', 'target', '--defer']).stderr).toMatch(/LAKE-U041: --defer: target was built in this target's own database/);
  });

  it('retry: result:error+ and result:skipped from the last run, result:fail for tests', () => {
    const dir = writeProject(files);
    fs.writeFileSync(path.join(dir, 'models/silver/orders.sql'), "{{ config(materialized='table') }}\nselect id, customerx, cents from {{ ref('raw') }}");
    const failed = lake(dir, ['run']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/1 error, 1 skipped/);
    fs.writeFileSync(path.join(dir, 'models/silver/orders.sql'), files['models/silver/orders.sql']);
    const retry = lake(dir, ['run', '-s', 'result:error+', 'result:skipped', '--state', 'target']);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toMatch(/silver\.orders/);
    expect(retry.stdout).toMatch(/gold\.revenue/);
    expect(retry.stdout).toMatch(/2 ok, 0 errors/);
    // A failing test: only that test runs again (not the model's other tests).
    fs.writeFileSync(path.join(dir, 'models/bronze/raw.sql'), "select * from (values (1, 'a', 150), (2, 'a', 250)) t(id, customer, cents)");
    expect(lake(dir, ['build']).code).toBe(1);
    const again = lake(dir, ['test', '-s', 'result:fail', '--state', 'target']);
    expect(again.stdout).toMatch(/unique_customers_customer/);
    expect(again.stdout).not.toMatch(/not_null_customers_customer/);
    expect(again.stdout).toMatch(/1 failed.*\(of 1\)/);
  });
});
