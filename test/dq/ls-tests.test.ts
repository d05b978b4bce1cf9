/** `lake ls` lists tests too (dbt ls): by --resource-type or by test selectors; tests are selectable by id. */
import { describe, expect, it } from 'vitest';
import { lake, writeProject } from '../core/helpers.js';

/** `lake ls` in `dir`: its lines (exit 0). */
function lsLines(dir: string, args: readonly string[]): string[] {
  const r = lake(dir, ['ls', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').filter(Boolean);
}

/** Models a and b, their data tests and a unit test of b in one YAML file. */
const BASE = {
  'project.yml': 'name: ls\ntargets:\n  dev: { type: duckdb, path: target/ls.duckdb }\n',
  'models/silver/a.sql': 'select 1 as id',
  'models/silver/b.sql': "select id from {{ ref('a') }}",
  'models/silver/schema.yml': `models:
  - name: a
    columns: [{name: id, data_tests: [unique, not_null]}]
  - name: b
    columns: [{name: id, data_tests: [unique]}]
unit_tests:
  - name: b_is_a
    model: b
    given: [{input: "ref('a')", rows: [{id: 1}]}]
    expect: {rows: [{id: 1}]}
`,
};

describe('lake ls with tests', () => {
  const dir = writeProject(BASE);
  const out = (args: string[]) => lsLines(dir, args);

  it("names a package's test on a source as dbt does: the package first, then source_", () => {
    const src = writeProject({
      'project.yml': 'name: ls\ntargets:\n  dev: { type: duckdb, path: target/ls.duckdb }\n',
      'models/silver/a.sql': "select * from {{ source('raw', 'people') }}",
      'models/silver/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: people\n        columns:\n          - name: id\n            tests: [not_null, {dbt_utils.accepted_range: {min_value: 0}}]\n',
    });
    expect(lsLines(src, ['--resource-type', 'test']).sort()).toEqual(['test.dbt_utils_source_accepted_range_raw_people_id__0', 'test.source_not_null_raw_people_id']);
  });

  it('lists nodes by default, tests by --resource-type or test selectors', () => {
    expect(out([])).toEqual(['silver.a', 'silver.b']);
    expect(out(['--resource-type', 'test']).sort()).toEqual(['test.not_null_a_id', 'test.unique_a_id', 'test.unique_b_id']);
    expect(out(['--resource-type', 'unit_test'])).toEqual(['unit_test.b.b_is_a']);
    expect(out(['-s', 'test_type:unit'])).toEqual(['unit_test.b.b_is_a']);
    expect(out(['-s', 'a', '--resource-type', 'all'])).toEqual(['silver.a', 'test.unique_a_id', 'test.not_null_a_id']);
    expect(out(['-s', 'test_name:unique', '--exclude', 'b']).sort()).toEqual(['test.unique_a_id']);
    const json = out(['-s', 'test_type:unit', '--output', 'json']).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json).toEqual([{ id: 'unit_test.b.b_is_a', resource_type: 'unit_test', name: 'b_is_a', path: 'models/silver/schema.yml', tags: [], depends_on: ['silver.b'] }]);
  });

  it('a source declared over a seed\'s table is no child of the seed for selectors (dbt\'s graph has no such edge), as dbt ls lists them', () => {
    const d = writeProject({
      'dbt_project.yml': 'name: p2\nprofile: p2\nversion: "1.0"\nconfig-version: 2\n',
      'profiles.yml': 'p2:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: target/p2.duckdb}\n',
      'seeds/raw_customers.csv': 'id,name\n1,a\n2,b\n',
      'seeds/raw_orders.csv': 'id,customer_id\n1,1\n2,2\n',
      'models/sources.yml': 'sources:\n  - name: shop\n    schema: main\n    tables:\n      - name: customers\n        identifier: raw_customers\n        columns: [{name: id, tests: [unique, not_null]}]\n',
      'models/stg_customers.sql': "select * from {{ source('shop', 'customers') }}",
      'models/orders.sql': "select * from {{ ref('raw_orders') }}",
      'models/schema.yml': `models:
  - name: orders
    columns: [{name: customer_id, tests: [{relationships: {to: "source('shop', 'customers')", field: id}}]}]
  - name: stg_customers
    columns: [{name: id, tests: [unique]}]
seeds:
  - name: raw_customers
    columns: [{name: id, tests: [not_null]}]
`,
    });
    const ls = (...args: string[]) => lsLines(d, args).sort();
    // dbt ls -s raw_customers+ (--resource-type test): the seed and its own test only.
    expect(ls('-s', 'raw_customers+')).toEqual(['main.raw_customers']);
    expect(ls('-s', 'raw_customers+', '--resource-type', 'test')).toEqual(['test.not_null_raw_customers_id']);
    expect(ls('-s', '@raw_customers')).toEqual(['main.raw_customers']);
    // dbt ls -s +stg_customers: the source and the model, not the seed; the source's tests come along.
    expect(ls('-s', '+stg_customers')).toEqual(['main.stg_customers', 'source:shop.customers']);
    expect(ls('-s', '+stg_customers', '--resource-type', 'test')).toEqual([
      'test.relationships_orders_customer_id__id__source_shop_customers_', 'test.source_not_null_shop_customers_id',
      'test.source_unique_shop_customers_id', 'test.unique_stg_customers_id',
    ]);
    // The build still loads the seed before the source's tests and the model that read its table.
    const r = lake(d, ['build', '--threads', '4']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const order = r.stdout.split('\n').map((l) => /OK +(\S+)/.exec(l)?.[1]).filter(Boolean);
    expect(order.indexOf('main.raw_customers')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('main.raw_customers')).toBeLessThan(order.indexOf('main.stg_customers'));
    expect(order.indexOf('main.raw_customers')).toBeLessThan(order.indexOf('test:source:shop.customers'));
    // Selected alone, the seed's build runs the seed and its test.
    const only = lake(d, ['build', '-s', 'raw_customers+']);
    expect(only.code, only.stdout + only.stderr).toBe(0);
    expect(only.stdout).not.toMatch(/stg_customers|source:shop/);
  });

  it('lake test selects a test by the id lake ls prints', () => {
    const built = lake(dir, ['run']);
    expect(built.code, built.stderr).toBe(0);
    const r = lake(dir, ['test', '-s', 'unit_test.b.b_is_a', 'test.unique_b_id']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 passed.*\(of 2\)/);
  });

  it('selects by dbt\'s fqn (folders.name, the project\'s name first or not) and tests by the path of the file that declares them', () => {
    const d = writeProject({
      'project.yml': 'name: shop\ntargets:\n  dev: { type: duckdb, path: target/ls.duckdb }\n',
      'models/staging/crm/customers.sql': 'select 1 as id',
      'models/staging/crm/orders.sql': 'select 1 as id',
      'models/staging/erp/items.sql': 'select 1 as id',
      'models/staging/crm/crm.yml': 'models:\n  - name: orders\n    columns: [{name: id, data_tests: [unique]}]\n',
      'data_tests/sub/orders_ok.sql': "select * from {{ ref('orders') }} where id < 0",
    });
    const ls = (...args: string[]) => lsLines(d, args).sort();
    expect(ls('-s', 'staging.crm')).toEqual(['staging.customers', 'staging.orders']);
    expect(ls('-s', 'shop.staging.crm.orders')).toEqual(['staging.orders']);
    expect(ls('-s', 'fqn:staging.*')).toEqual(['staging.customers', 'staging.items', 'staging.orders']);
    expect(ls('-s', 'shop')).toEqual(['staging.customers', 'staging.items', 'staging.orders']);
    // From the first wildcard on, the rest of the selector is a pattern over the rest of the fqn (dbt's).
    expect(ls('-s', '*.erp.*')).toEqual(['staging.items']);
    expect(ls('-s', 'fqn:*.orders')).toEqual(['staging.orders']);
    expect(ls('-s', 'staging.*.orders')).toEqual(['staging.orders']);
    expect(ls('-s', 'shop.*.items')).toEqual(['staging.items']);
    expect(ls('-s', 'path:data_tests/sub/orders_ok.sql', '--resource-type', 'all')).toEqual(['test.orders_ok']);
    expect(ls('-s', 'data_tests/sub', '--resource-type', 'test')).toEqual(['test.orders_ok']);
    // A YAML file selects the tests declared there and the models it documents (dbt's patch_path),
    // whose tests come with them; paths may be patterns.
    expect(ls('-s', 'path:models/staging/crm/crm.yml', '--resource-type', 'all')).toEqual(['staging.orders', 'test.orders_ok', 'test.unique_orders_id']);
    expect(ls('-s', 'path:models/staging/*/*.yml', '--resource-type', 'all')).toEqual(['staging.orders', 'test.orders_ok', 'test.unique_orders_id']);
    // A folder holding both: its nodes and the tests declared there.
    expect(ls('-s', 'path:models/staging/crm', '--resource-type', 'all')).toEqual(['staging.customers', 'staging.orders', 'test.orders_ok', 'test.unique_orders_id']);
  });

  it('takes dbt\'s --indirect-selection: eager, cautious, buildable, empty', () => {
    const d = writeProject({
      'project.yml': 'name: ind\ntargets:\n  dev: { type: duckdb, path: target/ind.duckdb }\n',
      'models/a.sql': 'select 1 as id',
      'models/b.sql': "select id from {{ ref('a') }}",
      'models/c.sql': 'select 1 as id',
      'models/schema.yml': `models:
  - name: b
    columns:
      - name: id
        data_tests: [unique, {relationships: {to: "ref('a')", field: id}}, {relationships: {to: "ref('c')", field: id, config: {name: b_in_c}}}]
unit_tests:
  - name: ut_b
    model: b
    given: [{input: ref('a'), rows: [{id: 1}]}]
    expect: {rows: [{id: 1}]}
`,
    });
    const ls = (...args: string[]) => lsLines(d, ['--resource-type', 'test', ...args]).sort();
    // -s b: unique reads b alone; the relationships read b and a (a is b's parent), b and c.
    expect(ls('-s', 'b')).toEqual(['test.b_in_c', 'test.relationships_b_id__id__ref_a_', 'test.unique_b_id']);
    expect(ls('-s', 'b', '--indirect-selection', 'cautious')).toEqual(['test.unique_b_id']);
    expect(ls('-s', 'b', '--indirect-selection', 'buildable')).toEqual(['test.relationships_b_id__id__ref_a_', 'test.unique_b_id']);
    expect(ls('-s', 'b', '--indirect-selection', 'empty')).toEqual([]);
    // A unit test comes with its model whatever the mode (dbt: its fqn is the model's).
    expect(lsLines(d, ['--resource-type', 'unit_test', '-s', 'b', '--indirect-selection', 'empty'])).toEqual(['unit_test.b.ut_b']);
    expect(ls('-s', 'b', 'unique_b_id', '--indirect-selection', 'empty')).toEqual(['test.unique_b_id']);
    expect(lake(d, ['test', '--indirect-selection', 'lazy']).stderr).toMatch(/LAKE-U005: --indirect-selection lazy is not a mode/);
  });

  it("takes dbt's selector forms for tests: resource_type:test|unit_test, unit_test:, file:, and DBT_INDIRECT_SELECTION", () => {
    const ls = (...args: string[]) => lsLines(dir, args).sort();
    expect(ls('-s', 'resource_type:unit_test')).toEqual(['unit_test.b.b_is_a']);
    expect(ls('-s', 'resource_type:test')).toEqual(['test.not_null_a_id', 'test.unique_a_id', 'test.unique_b_id']);
    expect(ls('-s', 'unit_test:b_is_a')).toEqual(['unit_test.b.b_is_a']);
    expect(ls('-s', 'unit_test:b_*')).toEqual(['unit_test.b.b_is_a']);
    // file: by the file's name: a model's .sql, or the YAML that declares tests.
    expect(ls('-s', 'file:b', '--resource-type', 'all')).toEqual(['silver.b', 'test.unique_b_id', 'unit_test.b.b_is_a']);
    expect(ls('-s', 'file:schema.yml', '--resource-type', 'test')).toEqual(['test.not_null_a_id', 'test.unique_a_id', 'test.unique_b_id']);
    // An intersection of a node and a test method: that node's tests of that kind.
    expect(ls('-s', 'a,resource_type:test')).toEqual(['test.not_null_a_id', 'test.unique_a_id']);
    // lake run with a test-only selection builds nothing (dbt: nothing to do), not an error.
    const run = lake(dir, ['run', '-s', 'resource_type:unit_test']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toMatch(/OK +silver/);
    // The environment's indirect selection (dbt's DBT_INDIRECT_SELECTION), checked as the flag is.
    const tests = (env: Record<string, string>) => { const r = lake(dir, ['ls', '-s', 'b', '--resource-type', 'test'], env); expect(r.code, r.stderr).toBe(0); return r.stdout.trim().split('\n').filter(Boolean); };
    expect(tests({})).toEqual(['test.unique_b_id']);
    expect(tests({ DBT_INDIRECT_SELECTION: 'empty' })).toEqual([]);
    expect(lake(dir, ['test', '-s', 'b'], { DBT_INDIRECT_SELECTION: 'lazy' }).stderr).toMatch(/LAKE-U005: DBT_INDIRECT_SELECTION=lazy is not a mode/);
  });

  it("intersects file: of a YAML file with test methods and nodes: the tests it declares (dbt's file method)", () => {
    const d = writeProject({
      ...BASE,
      'models/silver/more.yml': 'unit_tests:\n  - name: b_again\n    model: b\n    given: [{input: "ref(\'a\')", rows: [{id: 2}]}]\n    expect: {rows: [{id: 2}]}\n',
    });
    const ls = (sel: string) => lsLines(d, ['-s', sel]).sort();
    expect(ls('file:schema.yml,resource_type:unit_test')).toEqual(['unit_test.b.b_is_a']);
    expect(ls('file:more.yml,test_type:unit')).toEqual(['unit_test.b.b_again']);
    expect(ls('file:schema.yml,test_type:generic')).toEqual(['test.not_null_a_id', 'test.unique_a_id', 'test.unique_b_id']);
    // With a node: the tests that file declares on that node.
    expect(ls('file:schema.yml,b')).toEqual(['test.unique_b_id', 'unit_test.b.b_is_a']);
    expect(ls('file:more.yml,b')).toEqual(['unit_test.b.b_again']);
    const r = lake(d, ['build', '-s', 'file:schema.yml,resource_type:unit_test']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 passed.*\(of 1\)/);
  });

  it("evaluates dbt's YAML selectors over tests too: test methods, key-value entries and each entry's indirect_selection", () => {
    const d = writeProject({
      'project.yml': 'name: ind\ntargets:\n  dev: { type: duckdb, path: target/ind.duckdb }\n',
      'models/a.sql': 'select 1 as id',
      'models/b.sql': "select id from {{ ref('a') }}",
      'models/schema.yml': `models:
  - name: b
    columns:
      - name: id
        data_tests: [unique, {relationships: {to: "ref('a')", field: id}}]
unit_tests:
  - name: ut_b
    model: b
    given: [{input: ref('a'), rows: [{id: 1}]}]
    expect: {rows: [{id: 1}]}
`,
      'selectors.yml': `selectors:
  - name: b_cautious
    definition: {method: fqn, value: b, indirect_selection: cautious}
  - name: b_eager
    definition: {method: fqn, value: b}
  - name: unit_only
    definition:
      intersection: ['b', {method: test_type, value: unit}]
  - name: uniques
    definition: {test_name: unique}
  - name: b_no_unit
    definition:
      union: ['b', {exclude: [{method: resource_type, value: unit_test}]}]
  - name: bad
    definition: {method: fqn, value: b, indirect_selection: lazy}
`,
    });
    const ls = (...args: string[]) => lsLines(d, ['--resource-type', 'all', ...args]).sort();
    expect(ls('--selector', 'b_eager')).toEqual(['main.b', 'test.relationships_b_id__id__ref_a_', 'test.unique_b_id', 'unit_test.b.ut_b']);
    expect(ls('--selector', 'b_cautious')).toEqual(['main.b', 'test.unique_b_id', 'unit_test.b.ut_b']);
    // Without indirect_selection, the entry takes the command line's (dbt >= 1.8).
    expect(ls('--selector', 'b_eager', '--indirect-selection', 'cautious')).toEqual(['main.b', 'test.unique_b_id', 'unit_test.b.ut_b']);
    expect(ls('--selector', 'unit_only')).toEqual(['unit_test.b.ut_b']);
    expect(ls('--selector', 'uniques')).toEqual(['test.unique_b_id']);
    expect(ls('--selector', 'b_no_unit')).toEqual(['main.b', 'test.relationships_b_id__id__ref_a_', 'test.unique_b_id']);
    expect(lake(d, ['ls', '--selector', 'bad', '--resource-type', 'all']).stderr).toMatch(/LAKE-U060: selector bad: indirect_selection "lazy" is not a mode/);
    // lake test runs what the selector picked, and lake build builds no model for a test-only selector.
    expect(lake(d, ['run']).code).toBe(0);
    const t = lake(d, ['test', '--selector', 'b_cautious']);
    expect(t.code, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(/2 passed.*\(of 2\)/);
    const u = lake(d, ['build', '--selector', 'unit_only']);
    expect(u.code, u.stdout + u.stderr).toBe(0);
    expect(u.stdout).toMatch(/1 passed.*\(of 1\)/);
    expect(u.stdout).not.toMatch(/OK +b\b/);
  });

  it('lake test and lake build take --resource-type and --exclude-resource-type (dbt\'s)', () => {
    expect(lake(dir, ['run']).code).toBe(0);
    const passed = (args: string[]) => {
      const r = lake(dir, args);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return /Tests: (\d+) passed/.exec(r.stdout)?.[1];
    };
    expect(passed(['test', '--resource-type', 'unit_test'])).toBe('1');
    expect(passed(['test', '--exclude-resource-type', 'unit_test'])).toBe('3');
    expect(passed(['build', '--resource-type', 'test'])).toBe('3');
    const models = lake(dir, ['build', '--resource-type', 'model']);
    expect(models.stdout).toMatch(/OK +silver\.a/);
    expect(models.stdout).toContain('no tests selected');
    expect(lake(dir, ['test', '--resource-type', 'model']).stderr).toMatch(/LAKE-U004: --resource-type model is not a resource type lake test runs/);
  });

  it("lake ls takes dbt's --exclude-resource-type: every other kind, tests too", () => {
    const ls = (...args: string[]) => lsLines(dir, args).sort();
    expect(ls('-s', 'b', '--exclude-resource-type', 'unit_test')).toEqual(['silver.b', 'test.unique_b_id']);
    expect(ls('-s', 'b', '--exclude-resource-type', 'test')).toEqual(['silver.b', 'unit_test.b.b_is_a']);
    expect(ls('--exclude-resource-type', 'model', 'test')).toEqual(['unit_test.b.b_is_a']);
    expect(ls('--resource-type', 'model', 'test', '--exclude-resource-type', 'test')).toEqual(['silver.a', 'silver.b']);
    expect(lake(dir, ['ls', '--exclude-resource-type', 'tests']).stderr).toMatch(/LAKE-U004: --resource-type tests is not a resource type/);
  });

  it('errors: an unknown resource type, an unknown name', () => {
    expect(lake(dir, ['ls', '--resource-type', 'tests']).stderr).toMatch(/LAKE-U004: --resource-type tests is not a resource type/);
    expect(lake(dir, ['ls', '-s', 'nosuch']).stderr).toMatch(/LAKE-G101/);
  });
});
