/**
 * dbt compatibility: test/fixtures/dbt_jaffle is a dbt project (dbt_project.yml + profiles.yml,
 * folder configs with +materialized/+schema, schema.yml, seeds) written with the Jinja that public
 * dbt projects use. `lake run` must build it as is, with dbt's schema naming.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { copyFixture, lake, query, writeProject } from './helpers.js';
import { loadProject } from '../../src/project/load.js';
import { Compiler } from '../../src/compiler/compile.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';

describe('a dbt project', () => {
  it('loads dbt_project.yml and profiles.yml: paths, folder configs, schemas, YAML and vars', () => {
    const dir = copyFixture('dbt_jaffle');
    const p = loadProject(dir);
    expect(p.flavor).toBe('dbt');
    expect(p.name).toBe('jaffle_shop');
    expect(p.target).toMatchObject({ name: 'dev', path: path.join(dir, 'target/jaffle_shop.duckdb'), threads: 4 });
    expect(p.diagnostics).toEqual([]);
    expect([...p.models.keys()].sort()).toEqual(['main.customers', 'main.order_events', 'main.orders', 'main_staging.stg_customers', 'main_staging.stg_orders', 'main_staging.stg_payments']);
    expect(p.models.get('main_staging.stg_orders')!.config).toMatchObject({ materialized: 'view', schema: 'main_staging' });
    expect(p.models.get('main.orders')!.config).toMatchObject({ materialized: 'table', tags: ['marts'] });
    expect(p.models.get('main.customers')!.columns.map((c) => c.name)).toEqual(['customer_id', 'customer_lifetime_value']);
    expect(p.models.get('main.orders')!.columns[1]!.tests[1]).toMatchObject({ name: 'relationships', args: { to: "ref('customers')", field: 'customer_id' } });
    expect([...p.seeds.keys()].sort()).toEqual(['main_raw.raw_customers', 'main_raw.raw_orders', 'main_raw.raw_payments']);
    expect(p.seeds.get('main_raw.raw_orders')!.columnTypes).toEqual({ order_date: 'date' });
    expect(p.vars.payment_methods).toEqual(['credit_card', 'coupon', 'bank_transfer', 'gift_card']);
    const c = new Compiler(p).compileAll();
    expect(c.diagnostics).toEqual([]);
    const orders = c.nodes.get('main.orders')!;
    // {% for %} with whitespace control: one line per payment method, no blank lines between them.
    expect(orders.sql).toContain([
      "        sum(case when payment_method = 'credit_card' then amount else 0 end) as credit_card_amount,",
      "        sum(case when payment_method = 'coupon' then amount else 0 end) as coupon_amount,",
      "        sum(case when payment_method = 'bank_transfer' then amount else 0 end) as bank_transfer_amount,",
      "        sum(case when payment_method = 'gift_card' then amount else 0 end) as gift_card_amount,",
      '        sum(amount) as total_amount',
    ].join('\n'));
    expect(c.nodes.get('main_staging.stg_orders')!.sql).toContain("where status in ('placed', 'shipped', 'completed', 'return_pending', 'returned')");
    expect(c.nodes.get('main_staging.stg_payments')!.sql).toContain('round(amount / 100.0, 2) as amount');
    expect(c.nodes.get('main_staging.stg_customers')!.sql).not.toContain('Normally we would');
  });

  it("applies dbt_project.yml's top-level model and seed configs with its <project>: level (tags add up), as dbt does", () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: tp\nprofile: tp\nmodels:\n  +materialized: table\n  +tags: [top]\n  tp:\n    +tags: [proj]\n    staging:\n      +schema: stg\n      +materialized: view\nseeds:\n  +schema: raw\n  tp:\n    +tags: [s]\n',
      'profiles.yml': 'tp:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: tp.duckdb}\n',
      'models/staging/a.sql': 'select 1 as id',
      'models/b.sql': 'select 1 as id',
      'seeds/c.csv': 'x\n1\n',
    });
    const p = loadProject(dir);
    const cfg = (id: string) => { const m = p.models.get(id)!; return [m.config.materialized, m.config.tags]; };
    expect(cfg('main.b')).toEqual(['table', ['top', 'proj']]);
    expect(cfg('main_stg.a')).toEqual(['view', ['top', 'proj']]);
    expect([...p.seeds.values()].map((x) => [x.schema, x.tags])).toEqual([['main_raw', ['s']]]);
    expect(p.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
  });

  it('says a ref reads a disabled model when the project file or YAML disables it, as dbt does', () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: dm\nprofile: dm\nmodels:\n  dm:\n    legacy:\n      +enabled: false\n',
      'profiles.yml': 'dm:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: dm.duckdb}\n',
      'models/legacy/x.sql': 'select 1 as id',
      'models/y.sql': 'select 1 as id',
      'models/y.yml': 'models:\n  - name: y\n    config: {enabled: false}\n',
      'models/reads.sql': "select * from {{ ref('x') }} join {{ ref('y') }} using (id)",
    });
    const r = lake(dir, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ref('x') is a disabled model (enabled: false in a folder or YAML config; its file is models/legacy/x.sql)");
    expect(r.stderr).toContain("ref('y') is a disabled model");
    expect(r.stderr).not.toContain('matches no model');
  });

  it("reads the YAML of a dbt project as dbt does (PyYAML, YAML 1.1): a plain no is false, so `+enabled: no` disables", () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: y11\nprofile: y11\nmodels:\n  y11:\n    off_folder:\n      +enabled: no\n',
      'profiles.yml': 'y11:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: y11.duckdb}\n',
      'models/on_folder/a.sql': 'select 1 as id',
      'models/off_folder/b.sql': 'select 2 as id',
      'models/on_folder/schema.yml': 'models:\n  - name: a\n    config:\n      enabled: yes\n      tags: ["no"]\n',
    });
    const p = loadProject(dir);
    expect([...p.models.keys()]).toEqual(['main.a']);
    expect(p.models.get('main.a')!.config.tags).toEqual(['no']);
    // A key too (dbt's PyYAML makes `off:` the boolean false): a folder named off must be quoted.
    fs.writeFileSync(path.join(dir, 'dbt_project.yml'), 'name: y11\nprofile: y11\nmodels:\n  y11:\n    off:\n      +enabled: false\n');
    fs.mkdirSync(path.join(dir, 'models/off'));
    fs.writeFileSync(path.join(dir, 'models/off/c.sql'), 'select 3 as id');
    const warned = lake(dir, ['ls']);
    expect(warned.stdout).toContain('main.c');
    expect(warned.stderr).toMatch(/LAKE-P051: models: false applies to no model[\s\S]*a plain yes, no, on or off is a boolean/);
  });

  it("runs a seed's pre- and post-hooks (folder configs', then its YAML's) around its load, `this` its table, a failing one failing the seed alone", async () => {
    const dir = writeProject({
      'dbt_project.yml': `name: sh
profile: sh
seeds:
  sh:
    +post-hook:
      - "insert into main.seen select 'folder', count(*) from {{ this }}"
    bad:
      +post-hook: "select * from missing_table"
on-run-start: ["create table if not exists main.seen (hook varchar, n bigint)"]
`,
      'profiles.yml': 'sh:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: sh.duckdb}\n',
      'seeds/codes.csv': 'c\n1\n2\n',
      'seeds/bad.csv': 'c\n1\n',
      'seeds/props.yml': `seeds:
  - name: codes
    config:
      pre_hook: "insert into main.seen values ('pre', (select count(*) from information_schema.tables where table_name = 'codes'))"
      post_hook: [{sql: "insert into main.seen select 'after', count(*) from {{ this }}", transaction: false}]
`,
    });
    const r = lake(dir, ['seed']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/bad[\s\S]*post_hook[\s\S]*missing_table/);
    const db = path.join(dir, 'sh.duckdb');
    expect(await query(db, 'select hook, n from main.seen order by hook')).toEqual([{ hook: 'after', n: 2 }, { hook: 'folder', n: 2 }, { hook: 'pre', n: 0 }]);
    // The failing post-hook rolled its seed back: no table.
    expect(await query(db, "select count(*) as n from information_schema.tables where table_name = 'bad'")).toEqual([{ n: 0 }]);
    // A changed hook changes the seed's checksum (state:modified), an unchanged one does not.
    const sum = () => [...loadProject(dir).seeds.values()].map((x) => `${x.name}:${x.checksum}`).sort();
    const before = sum();
    expect(sum()).toEqual(before);
    const file = path.join(dir, 'dbt_project.yml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('missing_table', 'missing_table2'));
    const after = sum();
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).toBe(before[1]);
  });

  it('takes dbt seed --full-refresh and --fail-fast (flags.FULL_REFRESH in its hooks), as dbt does', async () => {
    const dir = writeProject({
      'dbt_project.yml': `name: sf
profile: sf
seeds:
  sf:
    +post-hook: "insert into main.seen values ('{{ flags.FULL_REFRESH }}', (select count(*) from {{ this }}))"
on-run-start: ["create table if not exists main.seen (full_refresh varchar, n bigint)"]
`,
      'profiles.yml': 'sf:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: sf.duckdb}\n',
      'seeds/codes.csv': 'c\n1\n2\n',
    });
    const plain = lake(dir, ['seed']);
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    const full = lake(dir, ['seed', '--full-refresh', '--fail-fast']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(await query(path.join(dir, 'sf.duckdb'), 'select full_refresh, n from main.seen order by full_refresh')).toEqual([{ full_refresh: 'False', n: 2 }, { full_refresh: 'True', n: 2 }]);
  });

  it('renders env_var() in profiles.yml, allows outputs for other warehouses, and reads ref(\'project\', \'model\')', () => {
    const dir = copyFixture('dbt_jaffle');
    fs.writeFileSync(path.join(dir, 'profiles.yml'), [
      'jaffle_shop:',
      "  target: \"{{ env_var('LAKE_TEST_TARGET', 'dev') }}\"",
      '  outputs:',
      '    dev:',
      '      type: duckdb',
      "      path: \"{{ env_var('LAKE_TEST_DB', 'target/default.duckdb') }}\"",
      '      schema: main',
      "      threads: \"{{ env_var('LAKE_TEST_THREADS', 3) | int }}\"",
      '    prod:',
      '      type: snowflake',
      '      account: acme',
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(dir, 'models/marts/by_package.sql'), "select * from {{ ref('jaffle_shop', 'orders') }}");
    // dbt_project.yml is rendered too: env_var() in vars and configs.
    const projectFile = path.join(dir, 'dbt_project.yml');
    fs.writeFileSync(projectFile, `${fs.readFileSync(projectFile, 'utf8')}\n# test\n`.replace(/^vars:\n/m, "vars:\n  region: \"{{ env_var('LAKE_TEST_REGION', 'eu') }}\"\n"));
    const before = { ...process.env };
    try {
      expect(loadProject(dir).target).toMatchObject({ name: 'dev', path: path.join(dir, 'target/default.duckdb'), threads: 3 });
      expect(loadProject(dir).vars.region).toBe('eu');
      process.env.LAKE_TEST_REGION = 'us';
      expect(loadProject(dir).vars.region).toBe('us');
      process.env.LAKE_TEST_DB = path.join(dir, 'elsewhere.duckdb');
      process.env.LAKE_TEST_THREADS = '2';
      const p = loadProject(dir);
      expect(p.target).toMatchObject({ path: path.join(dir, 'elsewhere.duckdb'), threads: 2 });
      const c = new Compiler(p).compileAll();
      expect(c.diagnostics).toEqual([]);
      expect(c.nodes.get('main.by_package')!.dependsOn.nodes).toEqual(['main.orders']);
      // Choosing the snowflake output is the error, with its line.
      expect(() => loadProject(dir, { target: 'prod' })).toThrow(/target 'prod' has type 'snowflake', but lake runs on duckdb only/);
      const r = lake(dir, ['ls', '--target', 'prod']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('profiles.yml:10');
    } finally {
      process.env = before;
    }
  });

  it('renders Jinja in YAML config values with target, var() and env_var() (dbt\'s properties context); hooks stay templates of the build', async () => {
    const dir = copyFixture('dbt_jaffle');
    const projectFile = path.join(dir, 'dbt_project.yml');
    fs.writeFileSync(projectFile, fs.readFileSync(projectFile, 'utf8').replace("      +materialized: table\n", "      +materialized: \"{{ 'view' if target.name == 'dev' else 'table' }}\"\n"));
    const schemaFile = path.join(dir, 'models/marts/schema.yml');
    fs.writeFileSync(schemaFile, fs.readFileSync(schemaFile, 'utf8').replace(/^(  - name: customers\n)/m, `$1    config:
      enabled: "{{ var('customers_enabled', true) }}"
      tags: ["{{ target.name }}_only", "{{ env_var('LAKE_TEST_TAG', 'plain') }}"]
      post_hook: "create or replace table main.hooked as select count(*) as n from {{ this }}"
`).replace("        tests:\n          - unique\n", `        tests:
          - unique:
              config:
                severity: "{{ 'error' if target.name == 'prod' else 'warn' }}"
                where: "customer_id > {{ var('min_customer', 3) }}"
`));
    const before = { ...process.env };
    try {
      const p = loadProject(dir);
      expect(p.diagnostics).toEqual([]);
      expect(p.models.get('main.orders')!.config.materialized).toBe('view');
      expect(p.models.get('main.customers')!.config).toMatchObject({ materialized: 'view', tags: ['marts', 'dev_only', 'plain'] });
      // Data tests' config too (dbt's documented `severity: "{{ 'error' if target.name == 'prod' else 'warn' }}"`).
      expect(p.models.get('main.customers')!.columns[0]!.tests[0]!.config).toEqual({ severity: 'warn', where: 'customer_id > 3' });
      // The hook is rendered when the model builds (with `this`), not when the YAML is read.
      expect(p.models.get('main.customers')!.config.post_hook).toEqual(['create or replace table main.hooked as select count(*) as n from {{ this }}']);
      // Rendered as YAML reads a value: "False" from var() is the boolean, so the model is off.
      expect(loadProject(dir, { vars: { customers_enabled: false } }).models.has('main.customers')).toBe(false);
      process.env.LAKE_TEST_TAG = 'from_env';
      expect(loadProject(dir).models.get('main.customers')!.config.tags).toContain('from_env');
      const r = lake(dir, ['run']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(await query(path.join(dir, 'target/jaffle_shop.duckdb'), 'select n from main.hooked')).toEqual(await query(path.join(dir, 'target/jaffle_shop.duckdb'), 'select count(*) as n from main.customers'));
      // A template that does not render names the file and what to do.
      fs.writeFileSync(schemaFile, fs.readFileSync(schemaFile, 'utf8').replace("var('customers_enabled', true)", "var('customers_enabled')"));
      const bad = lake(dir, ['ls']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/models\/marts\/schema\.yml:\d+: error LAKE-P031: enabled: .*var 'customers_enabled' is not set/);
      // An undefined name is an error too, not an empty value.
      fs.writeFileSync(schemaFile, fs.readFileSync(schemaFile, 'utf8').replace("var('customers_enabled')", 'no_such_name'));
      expect(lake(dir, ['ls']).stderr).toMatch(/error LAKE-P031: enabled: the template "\{\{ no_such_name \}\}" does not render: .*undefined/);
    } finally {
      process.env = before;
    }
  });

  it('warns about the parts of a dbt project it leaves out, and takes --profiles-dir', () => {
    const dir = copyFixture('dbt_jaffle');
    fs.mkdirSync(path.join(dir, 'snapshots'));
    // Snapshots are built (test/core/snapshot.test.ts), so no longer among the parts left out.
    fs.writeFileSync(path.join(dir, 'snapshots/orders_snapshot.sql'), "{% snapshot orders_snapshot %}{{ config(unique_key='order_id', strategy='check', check_cols='all') }}select * from {{ ref('stg_orders') }}{% endsnapshot %}");
    fs.writeFileSync(path.join(dir, 'models/marts/py_model.py'), 'def model(dbt, session):\n    return None\n');
    // Folder configs that apply to nothing: a config key typo, a folder typo.
    const projectFile = path.join(dir, 'dbt_project.yml');
    fs.writeFileSync(projectFile, fs.readFileSync(projectFile, 'utf8').replace('      +schema: staging\n', '      +schema: staging\n      +materilized: view\n    stagign:\n      +schema: x\n'));
    const r = lake(dir, ['ls']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/dbt_project\.yml:\d+: warn LAKE-P051: models: staging\.\+materilized: '\+materilized' is not a config lake knows: lake does nothing with it \(config\.get still gives it\)\n {2}hint: did you mean \+materialized\?/);
    expect(r.stderr).toMatch(/dbt_project\.yml:\d+: warn LAKE-P051: models: stagign applies to no model.*\n {2}hint: did you mean staging\?/);
    // A bad value in a folder config is one error, at its line in the project file (not one per model).
    const good = fs.readFileSync(projectFile, 'utf8');
    fs.writeFileSync(projectFile, good.replace('      +materialized: table\n', '      +materialized: tabel\n'));
    const typo = lake(dir, ['ls']);
    expect(typo.code).toBe(2);
    expect(typo.stderr.match(/LAKE-C010/g)).toHaveLength(1);
    expect(typo.stderr).toMatch(/dbt_project\.yml:\d+: error LAKE-C010: models: marts\.\+materialized: unknown materialized 'tabel'/);
    fs.writeFileSync(projectFile, good);
    expect(r.stderr).not.toMatch(/snapshot/);
    expect(r.stdout).toContain('main.orders_snapshot');
    expect(r.stderr).toMatch(/models\/marts\/py_model\.py: warn LAKE-P050: lake does not run Python models/);
    // profiles.yml elsewhere, named with --profiles-dir.
    const profiles = fs.mkdtempSync(path.join(path.dirname(dir), 'profiles-'));
    fs.renameSync(path.join(dir, 'profiles.yml'), path.join(profiles, 'profiles.yml'));
    fs.writeFileSync(path.join(profiles, 'profiles.yml'), `${fs.readFileSync(path.join(profiles, 'profiles.yml'), 'utf8').replace('target/jaffle_shop.duckdb', path.join(dir, 'target/from_profiles_dir.duckdb'))}      attach:\n        - path: /tmp/other.duckdb\n`);
    const moved = lake(dir, ['seed', '--profiles-dir', profiles]);
    expect(moved.code, moved.stderr).toBe(0);
    // dbt-duckdb's attach is said to be left out.
    expect(moved.stderr).toMatch(/profiles\.yml:\d+: warn LAKE-P052: profiles\.yml output 'dev': 'attach' is not applied by lake/);
    expect(fs.existsSync(path.join(dir, 'target/from_profiles_dir.duckdb'))).toBe(true);
  });

  it('stops when --profiles-dir or DBT_PROFILES_DIR names a folder without profiles.yml, as dbt does, instead of using another one', async () => {
    const dir = copyFixture('dbt_jaffle');
    const empty = fs.mkdtempSync(path.join(path.dirname(dir), 'no-profiles-'));
    // The project's own profiles.yml was used in its place: a CI job pointing at the wrong folder built into the dev database.
    for (const r of [lake(dir, ['seed', '--profiles-dir', empty]), lake(dir, ['seed'], { DBT_PROFILES_DIR: empty })]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error LAKE-P002: no profiles.yml in ${empty} (given by --profiles-dir or DBT_PROFILES_DIR)`);
      expect(r.stderr).toMatch(/hint: point --profiles-dir \(or DBT_PROFILES_DIR\) at the folder holding the project's profiles\.yml/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(fs.existsSync(path.join(dir, 'target/jaffle_shop.duckdb'))).toBe(false);
    // The folder that has it works.
    fs.renameSync(path.join(dir, 'profiles.yml'), path.join(empty, 'profiles.yml'));
    fs.writeFileSync(path.join(empty, 'profiles.yml'), fs.readFileSync(path.join(empty, 'profiles.yml'), 'utf8').replace('target/jaffle_shop.duckdb', path.join(dir, 'moved.duckdb')));
    const ok = lake(dir, ['seed'], { DBT_PROFILES_DIR: empty });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await query(path.join(dir, 'moved.duckdb'), 'select count(*)::int as n from main_raw.raw_customers'))[0]!.n).toBeGreaterThan(0);
  });

  it('reads a source in an attached database (database:), attached by an on-run-start hook', async () => {
    const dir = copyFixture('dbt_jaffle');
    const other = path.join(dir, 'other.duckdb');
    const db = await DuckDBAdapter.open(other);
    try {
      await db.execute("create schema s1; create table s1.events as select * from (values (1, 'a'), (2, 'b')) t(id, v)");
    } finally {
      await db.close();
    }
    const projectFile = path.join(dir, 'dbt_project.yml');
    fs.writeFileSync(projectFile, `${fs.readFileSync(projectFile, 'utf8')}\non-run-start:\n  - "ATTACH IF NOT EXISTS '${other}' AS other (READ_ONLY)"\n`);
    fs.writeFileSync(path.join(dir, 'models/staging/other_sources.yml'), 'version: 2\nsources:\n  - name: ext\n    database: other\n    schema: s1\n    tables:\n      - name: events\n        data_tests: [{dbt_utils.expression_is_true: {expression: "id > 0"}}]\n');
    fs.writeFileSync(path.join(dir, 'models/staging/stg_events.sql'), "{{ config(materialized='table') }}\nselect id, upper(v) as v from {{ source('ext', 'events') }}");
    const r = lake(dir, ['build', '-s', 'stg_events', 'source:ext']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(await query(path.join(dir, 'target/jaffle_shop.duckdb'), 'select id, v from main_staging.stg_events order by id')).toEqual([{ id: 1, v: 'A' }, { id: 2, v: 'B' }]);
  });

  it('unit-tests an incremental model the dbt way: expect is what its SELECT gives against the given this', async () => {
    const dir = copyFixture('dbt_jaffle');
    fs.writeFileSync(path.join(dir, 'models/marts/unit.yml'), `unit_tests:
  - name: new_orders_only
    model: order_events
    overrides:
      macros: { is_incremental: true }
    given:
      - input: ref('stg_orders')
        rows:
          - {order_id: 1, status: placed, order_date: 2018-01-01}
          - {order_id: 2, status: placed, order_date: 2018-01-02}
          - {order_id: 3, status: shipped, order_date: 2018-01-03}
      - input: this
        rows:
          - {order_id: 1, status: placed, order_date: 2018-01-01}
    expect:
      rows:
        - {order_id: 2, status: placed}
        - {order_id: 3, status: shipped}
`);
    const r = lake(dir, ['test', '-s', 'test_type:unit']);
    expect(r.stdout + r.stderr).toMatch(/PASS\s+\|\s+new_orders_only/);
    expect(r.code).toBe(0);
  });

  it('builds with lake run, then runs incremental models incrementally', async () => {
    const dir = copyFixture('dbt_jaffle');
    const r = lake(dir, ['run']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/9 ok, 0 errors, 0 skipped/);
    const db = path.join(dir, 'target/jaffle_shop.duckdb');
    expect(await query(db, 'select customer_id, number_of_orders, customer_lifetime_value from main.customers order by customer_id')).toEqual([
      { customer_id: 1, number_of_orders: 2, customer_lifetime_value: 14 },
      { customer_id: 2, number_of_orders: 1, customer_lifetime_value: 25 },
      { customer_id: 3, number_of_orders: 2, customer_lifetime_value: 37.5 },
      { customer_id: 4, number_of_orders: 1, customer_lifetime_value: 6 },
      { customer_id: 5, number_of_orders: 1, customer_lifetime_value: 16 },
    ]);
    expect(await query(db, 'select order_id, coupon_amount, gift_card_amount, amount from main.orders where order_id in (3, 5) order by 1')).toEqual([
      { order_id: 3, coupon_amount: 1, gift_card_amount: 3, amount: 4 },
      { order_id: 5, coupon_amount: 0, gift_card_amount: 0.5, amount: 17.5 },
    ]);
    expect(await query(db, "select count(*) as n from information_schema.tables where table_schema = 'main_staging' and table_type = 'VIEW'")).toEqual([{ n: 3 }]);
    expect(await query(db, 'select distinct loaded_from, target_relation from main.order_events')).toEqual([{ loaded_from: 'seed', target_relation: '"main"."order_events"' }]);

    // A new order arrives; the incremental model adds only it (is_incremental(), {{ this }}, env_var()).
    fs.appendFileSync(path.join(dir, 'seeds/raw_orders.csv'), '8,2,2018-01-11,placed\n');
    expect(lake(dir, ['seed', '-s', 'raw_orders']).code).toBe(0);
    const inc = lake(dir, ['run', '-s', 'order_events'], { JAFFLE_SOURCE: 'env' });
    expect(inc.code).toBe(0);
    expect(inc.stdout).toMatch(/order_events\s+incremental 1 row\b/);
    expect(await query(db, 'select loaded_from, count(*) as n from main.order_events group by 1 order by 1')).toEqual([{ loaded_from: 'env', n: 1 }, { loaded_from: 'seed', n: 7 }]);
    expect(fs.readFileSync(path.join(dir, 'target/compiled/main/order_events.sql'), 'utf8')).toContain("'env' as loaded_from");
  });

  it('leaves out a source table with enabled: false (its YAML config, its source\'s, or the project file\'s sources:), tests and all', () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nsources:\n  p:\n    shop:\n      gone_too:\n        +enabled: false\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'models/src.yml': `version: 2
sources:
  - name: shop
    schema: main
    tables:
      - name: orders
        columns: [{ name: id, data_tests: [unique] }]
      - name: legacy
        config: { enabled: false }
        columns: [{ name: id, data_tests: [not_null] }]
      - name: gone_too
        columns: [{ name: id, data_tests: [not_null] }]
  - name: old
    config: { enabled: false }
    tables:
      - name: t
        columns: [{ name: id, data_tests: [not_null] }]
`,
      'models/m.sql': "select * from {{ source('shop', 'orders') }}",
    });
    const p = loadProject(dir);
    expect([...p.sources.keys()]).toEqual(['source:shop.orders']);
    expect(p.diagnostics).toEqual([]);
  });

  it("applies the project file's sources: config at dbt's path: the YAML file's folders under models/, then source and table", () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nsources:\n  p:\n    staging:\n      shop:\n        gone:\n          +enabled: false\n    legacy:\n      +enabled: false\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'models/staging/src.yml': 'version: 2\nsources:\n  - name: shop\n    schema: main\n    tables:\n      - name: orders\n        columns: [{ name: id, data_tests: [not_null] }]\n      - name: gone\n        columns: [{ name: id, data_tests: [not_null] }]\n',
      'models/legacy/old.yml': 'version: 2\nsources:\n  - name: old\n    tables:\n      - name: t\n        columns: [{ name: id, data_tests: [not_null] }]\n',
      'models/m.sql': "{{ config(pre_hook='create table if not exists main.orders as select 1 as id') }}\nselect * from {{ source('shop', 'orders') }}",
    });
    expect([...loadProject(dir).sources.keys()]).toEqual(['source:shop.orders']);
    const seed = lake(dir, ['run']);
    expect(seed.code, seed.stdout + seed.stderr).toBe(0);
    const r = lake(dir, ['test']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/source_not_null_shop_orders_id/);
    expect(r.stdout).toMatch(/1 passed.*\(of 1\)/);
  });

  it("reads a source from dbt-duckdb's external_location (meta or config, a source's or a table's, {name} filled in, a glob)", async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'data/tables/stats.csv': 'id,score\n1,9.5\n2,8\n',
      'data/tables/parts_a.csv': 'id\n1\n',
      'data/tables/parts_b.csv': 'id\n2\n',
      'models/src.yml': `version: 2
sources:
  - name: files
    meta: { external_location: "data/tables/{name}.csv" }
    tables:
      - name: stats
      - name: parts
        config: { external_location: "data/tables/{name}_*.csv" }
`,
      'models/m.sql': "{{ config(materialized='table') }}select (select sum(score) from {{ source('files', 'stats') }}) as total, (select count(*) from {{ source('files', 'parts') }}) as parts",
    });
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await query(path.join(dir, 'p.duckdb'), 'select total, parts from main.m')).toEqual([{ total: 17.5, parts: 2 }]);
  });

  it("writes an external model without a location where dbt-duckdb does: <external_root>/<name>.<format>", async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main, external_root: exports}\n',
      'models/as_csv.sql': "{{ config(materialized='external', format='csv') }}select 2 as id",
      'models/as_parquet.sql': "{{ config(materialized='external') }}select 3 as id",
      'models/reads.sql': "select (select id from {{ ref('as_csv') }}) + (select id from {{ ref('as_parquet') }}) as total",
    });
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'exports/as_csv.csv'), 'utf8')).toBe('id\n2\n');
    expect(fs.existsSync(path.join(dir, 'exports/as_parquet.parquet'))).toBe(true);
    expect(await query(path.join(dir, 'p.duckdb'), 'select total from main.reads')).toEqual([{ total: 5 }]);
  });

  it("runs a project's own incremental strategy (get_incremental_<name>_sql) and its override of dbt's strategy SQL (get_delete_insert_merge_sql), with dbt's arguments", async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nmodels:\n  p:\n    by_folder:\n      +materialized: incremental\n      +incremental_strategy: insert_only\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'macros/strategies.sql': `{% macro get_incremental_insert_only_sql(arg_dict) %}
  insert into {{ arg_dict['target_relation'] }} ({{ arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') }})
  select {{ arg_dict['dest_columns'] | map(attribute='name') | join(', ') }} from {{ arg_dict['temp_relation'] }}
  where {{ arg_dict['unique_key'] or 'true' }} is not null
{% endmacro %}
{% macro get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
  insert into {{ target }} select * from {{ source }} where {{ unique_key }} not in (select {{ unique_key }} from {{ target }})
{%- endmacro %}`,
      'models/own.sql': "{{ config(materialized='incremental', incremental_strategy='insert_only', unique_key='id') }}\nselect {{ 2 if is_incremental() else 1 }} as id, 'x' as v",
      'models/by_folder/folder_own.sql': "select {{ 2 if is_incremental() else 1 }} as id",
      'models/kept.sql': "{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='id') }}\nselect * from (values (1, {{ \"'second'\" if is_incremental() else \"'first'\" }}), ({{ 3 if is_incremental() else 2 }}, 'new')) as t(id, v)",
    });
    for (let i = 0; i < 2; i++) {
      const r = lake(dir, ['run']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const db = path.join(dir, 'p.duckdb');
    expect(await query(db, 'select id, v from main.own order by id')).toEqual([{ id: 1, v: 'x' }, { id: 2, v: 'x' }]);
    expect(await query(db, 'select id from main.folder_own order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    // The override keeps the old row of key 1 (dbt's own delete+insert would replace it).
    expect(await query(db, 'select id, v from main.kept order by id')).toEqual([{ id: 1, v: 'first' }, { id: 2, v: 'new' }, { id: 3, v: 'new' }]);
    // No such macro: said at compile, with what to write.
    fs.writeFileSync(path.join(dir, 'models/own.sql'), "{{ config(materialized='incremental', incremental_strategy='upsert_magic') }}\nselect 1 as id");
    const bad = lake(dir, ['run']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown incremental_strategy 'upsert_magic'");
    expect(bad.stderr).toContain('get_incremental_upsert_magic_sql(arg_dict)');
  });

  it("gives a unit test's inputs the column types the database holds (a seed typed by dbt's rules: INTEGER, not the sniffer's BIGINT)", () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'seeds/pay.csv': 'id,amount\n1,10\n2,20\n',
      'models/typed.sql': "select id, typeof(amount) as t from {{ ref('pay') }}",
      'models/ut.yml': `version: 2
unit_tests:
  - name: seed_types
    model: typed
    given:
      - input: ref('pay')
        rows: [{id: 1, amount: 5}]
    expect:
      rows: [{id: 1, t: INTEGER}]
`,
    });
    expect(lake(dir, ['build', '--exclude', 'test_type:unit']).code).toBe(0);
    const r = lake(dir, ['test', '-s', 'test_type:unit']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS +\| seed_types/);
  });

  it("applies dbt_project.yml's unit_tests: config (tags, enabled) by the folder of the YAML file declaring a unit test", () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nunit_tests:\n  p:\n    +tags: [all_ut]\n    sub:\n      +enabled: false\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'models/up.sql': 'select 1 as id',
      'models/m.sql': "select id + 1 as id from {{ ref('up') }}",
      'models/ut.yml': "unit_tests:\n  - name: ut_root\n    model: m\n    config: {tags: [own]}\n    given: [{input: ref('up'), rows: [{id: 1}]}]\n    expect: {rows: [{id: 2}]}\n",
      'models/sub/ut.yml': "unit_tests:\n  - name: ut_sub\n    model: m\n    given: [{input: ref('up'), rows: [{id: 1}]}]\n    expect: {rows: [{id: 99}]}\n",
    });
    const r = lake(dir, ['test', '-s', 'tag:all_ut']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS +\| ut_root/);
    expect(r.stdout).not.toContain('ut_sub');
    // Tags accumulate: the entry's own and the project file's.
    expect(lake(dir, ['test', '-s', 'tag:own']).stdout).toMatch(/PASS +\| ut_root/);
  });

  it("loads a seed under its alias (config or the project's generate_alias_name) and refs it there", async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nseeds:\n  p:\n    +schema: raw\n    countries:\n      +alias: country_codes\n    legacy:\n      +enabled: false\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'seeds/countries.csv': 'code,name\nFR,France\nDE,Germany\n',
      'seeds/cities.csv': 'city\nParis\n',
      'seeds/props.yml': 'version: 2\nseeds:\n  - name: cities\n    config:\n      alias: city_list\n    columns:\n      - name: city\n        data_tests: [not_null]\n  - name: old\n    config:\n      enabled: false\n',
      // Disabled (YAML above, and the project file's +enabled): neither loaded nor in the manifest.
      'seeds/old.csv': 'x\n1\n',
      'seeds/legacy/older.csv': 'x\n1\n',
      'models/m.sql': "select c.name, (select count(*) from {{ ref('cities') }}) as cities from {{ ref('countries') }} as c",
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main_raw\n    tables:\n      - name: country_codes\n',
      'models/from_source.sql': "select count(*) as n from {{ source('raw', 'country_codes') }}",
    });
    const r = lake(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = path.join(dir, 'p.duckdb');
    expect(await query(db, "select table_schema || '.' || table_name as t from information_schema.tables where table_schema like 'main%' order by 1"))
      .toEqual([{ t: 'main.from_source' }, { t: 'main.m' }, { t: 'main_raw.city_list' }, { t: 'main_raw.country_codes' }]);
    expect(await query(db, 'select * from main.m order by name')).toEqual([{ name: 'France', cities: 1 }, { name: 'Germany', cities: 1 }]);
    expect(await query(db, 'select n from main.from_source')).toEqual([{ n: 2 }]);
    expect(fs.readFileSync(path.join(dir, 'target/compiled/main/m.sql'), 'utf8')).toContain('from "main_raw"."country_codes" as c');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8')) as { nodes: Record<string, { resource_type: string; name: string; alias: string }> };
    expect(Object.values(manifest.nodes).filter((n) => n.resource_type === 'seed').map((n) => `${n.name}:${n.alias}`).sort()).toEqual(['cities:city_list', 'countries:country_codes']);
    // The seed is not reloaded when its table exists under the alias (lake run loads missing seeds only).
    const again = lake(dir, ['run', '-s', 'm']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).not.toContain('seed');
  });

  it("calls the project's own generate_schema_name and generate_alias_name macros for every node", async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nmodels:\n  p:\n    +schema: marts\nseeds:\n  p:\n    +schema: raw\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: dev}\n',
      // jaffle-shop's: a custom schema as it is, none → the target's.
      'macros/naming.sql': "{% macro generate_schema_name(custom_schema_name, node) -%}{%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}{%- endmacro %}\n{% macro generate_alias_name(custom_alias_name=none, node=none) -%}{{ node.name ~ '_v1' }}{%- endmacro %}\n",
      'models/m.sql': 'select 1 as id',
      'models/m2.sql': "{{ config(schema='other') }}\nselect * from {{ ref('m') }}",
      'seeds/s.csv': 'a\n1\n',
    });
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(lake(dir, ['ls']).stdout.trim().split('\n').sort()).toEqual(['marts.m', 'other.m2', 'raw.s']);
    expect(fs.readFileSync(path.join(dir, 'target/compiled/other/m2.sql'), 'utf8')).toBe('select * from "marts"."m_v1"\n');
    expect(await query(path.join(dir, 'p.duckdb'), "select table_schema || '.' || table_name as t from information_schema.tables where table_schema <> '_lake' order by 1")).toEqual([{ t: 'marts.m_v1' }, { t: 'other.m2_v1' }, { t: 'raw.s_v1' }]);
    // The macro sees the node (name, resource_type) and may call the project's other macros.
    fs.writeFileSync(path.join(dir, 'macros/naming.sql'), `{% macro generate_schema_name(custom_schema_name, node) -%}
{%- if node.resource_type == 'seed' -%}seeds_{{ target.name }}{%- elif node.name == 'm2' -%}{{ special() }}{%- else -%}{{ default__generate_schema_name(custom_schema_name, node) }}{%- endif -%}
{%- endmacro %}`);
    fs.writeFileSync(path.join(dir, 'macros/helpers.sql'), '{% macro special() %}special{% endmacro %}');
    expect(lake(dir, ['ls']).stdout.trim().split('\n').sort()).toEqual(['dev_marts.m', 'seeds_dev.s', 'special.m2']);
    // Schemas from the node's fqn and path, as public projects write it (dagster-open-platform's
    // `node.fqn[1:-1]`); text outside the macros of any macro file is no part of the name.
    fs.writeFileSync(path.join(dir, 'macros/naming.sql'), `-- schemas follow the folders
-- (a comment before the macro)

{% macro generate_schema_name(custom_schema_name, node) -%}
{%- if node.fqn[1:-1] | length > 0 -%}{{ node.fqn[1:-1] | join('_') }}{%- else -%}{{ node.resource_type }}_{{ node.path.split('/') | length }}_{{ node.original_file_path.split('/')[0] }}_{{ node.unique_id }}{%- endif -%}
{%- endmacro %}`);
    // Another macro file using dbt's `do` (read with the naming macro) is no problem.
    fs.writeFileSync(path.join(dir, 'macros/helpers.sql'), '-- helpers shared by the models\n{% macro special() %}{% set l = [] %}{% do l.append(1) %}special{% endmacro %}');
    writeProject({
      'models/staging/stg.sql': 'select 1 as id',
      'snapshots/sub/snapfile.sql': "{% snapshot snap %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select * from {{ ref('stg') }}{% endsnapshot %}",
    }, dir);
    expect(lake(dir, ['ls']).stdout.trim().split('\n').sort()).toEqual(['model_1_models_model.p.m.m', 'model_1_models_model.p.m2.m2', 'seed_1_seeds_seed.p.s.s', 'staging.stg', 'sub_snapfile.snap']);
  });

  it('reads a namespace() set in a macro file beside generate_schema_name, config.get() of YAML and folder configs, and orders a source over a seed after the seed', async () => {
    const dir = writeProject({
      // No threads in the profile: dbt's default, one.
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nmodels:\n  p:\n    sub:\n      +materialized: table\n      +tags: [nightly]\nseeds:\n  p:\n    +schema: raw\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'macros/naming.sql': '{% macro generate_schema_name(custom_schema_name, node) -%}{{ custom_schema_name or target.schema }}{%- endmacro %}\n',
      'macros/count_cols.sql': '{% macro count_cols(cols) %}{% set ns = namespace(total=0) %}{% for c in cols %}{% set ns.total = ns.total + 1 %}{% endfor %}{{ return(ns.total) }}{% endmacro %}\n',
      'models/sub/m.sql': "{{ config(unique_key='id') }}\nselect {{ count_cols(['a', 'b']) }} as n, $${{ config.get('materialized') }}|{{ config.get('tags') }}|{{ config.get('unique_key') }}|{{ config.get('on_schema_change') }}|{{ config.get('missing', 'dflt') }}|{{ config.require('materialized') }}|{{ model.fqn }}|{{ model.path }}|{{ config.get('schema') }}$$ as cfg\nfrom {{ source('seeds', 'people') }}\n",
      'models/sub/m.yml': 'models:\n  - name: m\n    config:\n      on_schema_change: append_new_columns\n',
      'models/sources.yml': 'sources:\n  - name: seeds\n    schema: raw\n    tables:\n      - name: people\n        columns:\n          - name: id\n            tests: [not_null, unique]\n',
      'seeds/people.csv': 'id\n1\n2\n',
    });
    expect(loadProject(dir).target.threads).toBe(1);
    // Four threads: the source's tests and the model still wait for the seed they read.
    const r = lake(dir, ['build', '--threads', '4']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const order = r.stdout.split('\n').map((l) => /OK +(\S+)/.exec(l)?.[1]).filter(Boolean);
    expect(order.indexOf('raw.people')).toBeLessThan(order.indexOf('test:source:seeds.people'));
    expect(order.indexOf('raw.people')).toBeLessThan(order.indexOf('main.m'));
    expect(await query(path.join(dir, 'p.duckdb'), 'select distinct n, cfg from main.m')).toEqual([{ n: 2, cfg: "table|['nightly']|id|append_new_columns|dflt|table|['p', 'sub', 'm']|sub/m.sql|None" }]);
    // config.get('schema') is the schema as configured (dbt's), not the one it builds into.
    fs.writeFileSync(path.join(dir, 'models/sub/m.yml'), 'models:\n  - name: m\n    config:\n      schema: stg\n');
    fs.writeFileSync(path.join(dir, 'models/sub/m.sql'), "select '{{ config.get('schema') }}' as s");
    expect(lake(dir, ['compile']).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'target/compiled/stg/m.sql'), 'utf8')).toContain("select 'stg' as s");
    fs.writeFileSync(path.join(dir, 'models/sub/m.sql'), "select {{ config.require('alias') }} as x");
    // As dbt: the parse does not check it; the model fails when it is compiled (exit 1), or built.
    const missing = lake(dir, ['compile']);
    expect(missing.code).toBe(1);
    expect(missing.stdout + missing.stderr).toContain("config.require('alias'): the model does not set alias");
    const run = lake(dir, ['run']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/ERROR stg\.m/);
  });

  it("types a seed's columns by dbt's rules (agate's, as dbt-duckdb creates the table), declared column_types first", async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nseeds:\n  p:\n    orders:\n      +column_types: {code: varchar}\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n',
      'seeds/orders.csv': [
        'id,zip,big,price,ratio,day,us_day,at,iso_at,gift,yes_no,tm,hex,blank,note,code',
        '1,02134,3000000000,1.50,1e-2,2024-01-05,01/05/2024,2024-01-05 10:00:00,2024-01-05T10:00:00Z,true,yes,10:30:00,0x1F,,null,007',
        '2, 7 ,5,2,0.5,2023-12-31,12/31/2023,2023-12-31 23:59:59,2023-12-31T23:59:59,False,no,23:59:59,-0,,bob,010',
      ].join('\n') + '\n',
      // agate reads 3.0 as 3: whole numbers written with a point are INTEGER too.
      'seeds/whole.csv': 'w\n3.0\n4\n',
      'models/m.sql': "select strptime(us_day, '%m/%d/%Y')::date as d, coalesce(zip, 0) + 1 as z, sum(price) over () as total from {{ ref('orders') }}",
    });
    const r = lake(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const types = await query<{ c: string; t: string }>(path.join(dir, 'p.duckdb'), "select column_name as c, data_type as t from information_schema.columns where table_name = 'orders' order by ordinal_position");
    expect(await query(path.join(dir, 'p.duckdb'), "select data_type as t from information_schema.columns where table_name = 'whole'")).toEqual([{ t: 'INTEGER' }]);
    expect(Object.fromEntries(types.map((x) => [x.c, x.t]))).toEqual({
      id: 'INTEGER', zip: 'INTEGER', big: 'BIGINT', price: 'DOUBLE', ratio: 'DOUBLE', day: 'DATE', us_day: 'VARCHAR', at: 'TIMESTAMP', iso_at: 'TIMESTAMP',
      gift: 'BOOLEAN', yes_no: 'VARCHAR', tm: 'VARCHAR', hex: 'VARCHAR', blank: 'INTEGER', note: 'VARCHAR', code: 'VARCHAR',
    });
    expect(await query(path.join(dir, 'p.duckdb'), 'select zip, gift, note, code from main.orders order by id')).toEqual([{ zip: 2134, gift: true, note: 'null', code: '007' }, { zip: 7, gift: false, note: 'bob', code: '010' }]);
  });
});
