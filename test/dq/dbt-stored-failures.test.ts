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
});
