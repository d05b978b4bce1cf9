/**
 * Where a dbt project's data tests keep their failing rows, checked against what dbt 1.9 +
 * dbt-duckdb creates for the same project: the relation's name (dbt's short alias for a test
 * name of 64 characters or more) and which tests store at all (store_failures / store_failures_as
 * set at several levels).
 */
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { lake, query, writeProject } from '../core/helpers.js';

const PROFILES = 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/shop.duckdb\n';

async function storedRelations(db: string): Promise<string[]> {
  const rows = await query<{ n: string }>(db, "select table_schema || '.' || table_name as n from information_schema.tables where table_schema like '%audit%' order by 1");
  return rows.map((r) => r.n);
}

describe('stored failures of a dbt project', () => {
  it("names the relation of a test whose name has 64 characters or more as dbt does: its first 30, '_' and the md5 of the name", async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: shop\nprofile: shop\nconfig-version: 2\ndata_tests:\n  +store_failures: true\n',
      'profiles.yml': PROFILES,
      'models/customers.sql': 'select 1 as id',
      'models/orders_with_a_long_name.sql': 'select * from (values (1, 1), (2, 7)) t(order_id, customer_identifier)',
      'models/schema.yml': `version: 2
models:
  - name: orders_with_a_long_name
    columns:
      - name: customer_identifier
        data_tests:
          - relationships: {to: ref('customers'), field: id}
          - relationships: {to: ref('customers'), field: id, name: a_long_custom_name_is_kept_as_it_is_even_past_sixty_four_characters}
      - name: order_id
        data_tests: [not_null]
`,
    });
    const r = lake(dir, ['build']);
    expect(r.code, r.stderr + r.stdout).toBe(1);
    const db = path.join(dir, 'target/shop.duckdb');
    // dbt: relationships_orders_with_a_long_name_customer_identifier__id__ref_customers_ (79
    // characters) is stored as relationships_orders_with_a_lo_<md5 of that name>; a name given
    // with name: is never shortened; a short one is kept.
    expect(await storedRelations(db)).toEqual([
      'main_dbt_test__audit.a_long_custom_name_is_kept_as_it_is_even_past_sixty_four_characters',
      'main_dbt_test__audit.not_null_orders_with_a_long_name_order_id',
      'main_dbt_test__audit.relationships_orders_with_a_lo_6a2f0f1c095034ed153e1cb4b2040e42',
    ]);
    expect(await query(db, 'select * from main_dbt_test__audit.relationships_orders_with_a_lo_6a2f0f1c095034ed153e1cb4b2040e42')).toEqual([{ from_field: 7 }]);
  });

  it('decides whether a test stores as dbt 1.9 does: the broadest level that sets store_failures fixes it, only store_failures_as overrides it', async () => {
    // dbt's TestConfig sets store_failures_as from store_failures at each level of the merge
    // (true: table, false: ephemeral), and a narrower store_failures no longer changes it.
    const dir = writeProject({
      'dbt_project.yml': 'name: shop\nprofile: shop\nconfig-version: 2\ntests:\n  shop:\n    +store_failures: true\n    inner:\n      +store_failures: false\n',
      'profiles.yml': PROFILES,
      'models/m.sql': 'select * from (values (1, null), (1, 2)) t(id, v)',
      'models/inner/n.sql': 'select * from (values (1, null), (1, 2)) t(id, v)',
      'macros/is_even.sql': '{% test is_even(model, column_name) %}{{ config(store_failures=false) }}select * from {{ model }} where {{ column_name }} % 2 = 1{% endtest %}',
      'models/schema.yml': `version: 2
models:
  - name: m
    columns:
      - name: id
        data_tests:
          - unique: {config: {store_failures: false}}
          - is_even
      - name: v
        data_tests:
          - not_null: {config: {store_failures_as: ephemeral}}
`,
      'models/inner/schema.yml': `version: 2
models:
  - name: n
    columns:
      - name: id
        data_tests:
          - unique
          - is_even: {config: {store_failures_as: view}}
      - name: v
        data_tests:
          - not_null: {config: {store_failures: true}}
`,
    });
    const r = lake(dir, ['build']);
    expect(r.code, r.stderr + r.stdout).toBe(1);
    const db = path.join(dir, 'target/shop.duckdb');
    // What dbt 1.9 + dbt-duckdb keeps for this project: every test but the ephemeral one.
    expect(await query(db, "select table_name as t, table_type as k from information_schema.tables where table_schema = 'main_dbt_test__audit' order by 1")).toEqual([
      { t: 'is_even_m_id', k: 'BASE TABLE' }, { t: 'is_even_n_id', k: 'VIEW' }, { t: 'not_null_n_v', k: 'BASE TABLE' },
      { t: 'unique_m_id', k: 'BASE TABLE' }, { t: 'unique_n_id', k: 'BASE TABLE' },
    ]);

    // The other way round: store_failures: false for the project, true on a test, stores nothing;
    // store_failures_as: table does.
    const off = writeProject({
      'dbt_project.yml': 'name: shop\nprofile: shop\nconfig-version: 2\ndata_tests:\n  shop:\n    +store_failures: false\n',
      'profiles.yml': PROFILES,
      'models/m.sql': 'select * from (values (1, null), (1, 2)) t(id, v)',
      'tests/singular_m.sql': "{{ config(store_failures=true) }}\nselect * from {{ ref('m') }} where v is null",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n    columns:\n      - name: id\n        data_tests:\n          - unique: {config: {store_failures: true}}\n      - name: v\n        data_tests:\n          - not_null: {config: {store_failures_as: table}}\n',
    });
    expect(lake(off, ['build']).code).toBe(1);
    expect(await storedRelations(path.join(off, 'target/shop.duckdb'))).toEqual(['main_dbt_test__audit.not_null_m_v']);
  });
});

