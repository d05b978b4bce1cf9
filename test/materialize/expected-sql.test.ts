/**
 * Expected SQL per materialization: each planner's output (pure, no database) against a reviewed
 * file in test/materialize/expected/. `LAKE_UPDATE_EXPECTED=1 npx vitest run test/materialize`
 * rewrites the files; review the diff before committing. Behaviour is tested elsewhere against
 * DuckDB; these tests pin the statements themselves (explicit column lists, conditions on every
 * WHEN clause, duplicate checks, the build-and-swap order).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { duckdbDialect } from '../../src/adapter/duckdb/dialect.js';
import type { Column, ModelConfig, SeedNode } from '../../src/core/types.js';
import { materializationFor, planSeed, PlanError, type PlanContext } from '../../src/materialize/index.js';
import { loadProject } from '../../src/project/load.js';
import { Compiler } from '../../src/compiler/compile.js';
import { compiled, expectedSql, planText, writeProject } from './helpers.js';

const SQL = 'select id, name, amount, day from "silver"."orders"';
const INCOMING: Column[] = [
  { name: 'id', type: 'INTEGER' }, { name: 'name', type: 'VARCHAR' }, { name: 'amount', type: 'DECIMAL(10,2)' }, { name: 'day', type: 'DATE' },
];
const table = (columns: Column[]) => ({ kind: 'table' as const, columns });

function plan(name: string, config: Partial<ModelConfig>, ctx: Partial<PlanContext> = {}, sql = SQL): string {
  const node = compiled(`gold.${name}`, sql, config);
  const full: PlanContext = { dialect: duckdbDialect, relation: node.relation, incoming: INCOMING, fullRefresh: false, projectRoot: '/project', ...ctx };
  return planText(materializationFor(node.config.materialized).plan(node, full));
}

const checked = new Set<string>();

function check(name: string, text: string): void {
  checked.add(name);
  const { actual, expected } = expectedSql(name, text);
  expect(actual).toBe(expected);
}

describe('expected SQL', () => {
  test('view: new, and replacing a table', () => {
    check('view', plan('v', { materialized: 'view' }));
    check('view_over_table', plan('v', { materialized: 'view' }, { existing: table(INCOMING) }));
  });

  test('table: built under a temporary name and swapped', () => {
    check('table', plan('t', { materialized: 'table' }));
    check('table_replace', plan('t', { materialized: 'table' }, { existing: table(INCOMING) }));
  });

  test('ephemeral: inlined by the compiler as a CTE, nothing built', () => {
    const root = writeProject({
      'models/silver/stg_orders.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as id, 'a' as name",
      'models/gold/report.sql': "{{ config(materialized='table') }}\nselect id, name from {{ ref('stg_orders') }}",
    });
    const c = new Compiler(loadProject(root, {})).compileAll();
    expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const eph = c.nodes.get('silver.stg_orders')!;
    expect(materializationFor('ephemeral').plan(eph, { dialect: duckdbDialect, relation: eph.relation, incoming: [], fullRefresh: false, projectRoot: root })).toEqual([]);
    const report = c.nodes.get('gold.report')!;
    const steps = materializationFor('table').plan(report, { dialect: duckdbDialect, relation: report.relation, incoming: [], fullRefresh: false, projectRoot: root });
    check('ephemeral', planText(steps));
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('external: parquet file, partitioned csv folder', () => {
    check('external_parquet', plan('e', { materialized: 'external', location: 'exports/orders.parquet' }));
    check('external_csv_partitioned', plan('e', { materialized: 'external', location: 'exports/orders', format: 'csv', partition_by: ['day'] }, { existing: table(INCOMING) }));
  });

  test('incremental: first build, full refresh, append, merge, delete+insert, insert_new', () => {
    const existing = { existing: table(INCOMING) };
    check('incremental_first_build', plan('i', { incremental_strategy: 'append' }));
    check('incremental_full_refresh', plan('i', { unique_key: ['id'] }, { ...existing, fullRefresh: true }));
    check('incremental_append', plan('i', { incremental_strategy: 'append' }, existing));
    check('incremental_merge', plan('i', { incremental_strategy: 'merge', unique_key: ['id'] }, existing));
    check('incremental_merge_composite_key', plan('i', { unique_key: ['id', 'day'] }, existing));
    check('incremental_delete_insert', plan('i', { incremental_strategy: 'delete+insert', unique_key: ['day'] }, existing));
    check('incremental_insert_new', plan('i', { incremental_strategy: 'insert_new', unique_key: ['id', 'day'] }, existing));
    check('incremental_insert_new_first_build', plan('i', { incremental_strategy: 'insert_new', unique_key: ['id', 'day'] }));
  });

  test('incremental_predicates: merge and delete+insert', () => {
    const preds = { incremental_predicates: ["DBT_INTERNAL_DEST.day >= date '2024-01-01'"] };
    const existing = { existing: table(INCOMING) };
    check('incremental_predicates_merge', plan('i', { incremental_strategy: 'merge', unique_key: ['id'], ...preds }, existing));
    check('incremental_predicates_delete_insert', plan('i', { incremental_strategy: 'delete+insert', unique_key: ['id'], ...preds }, existing));
    check('incremental_predicates_insert_new', plan('i', { incremental_strategy: 'insert_new', unique_key: ['id'], ...preds }, existing));
  });

  test('on_schema_change: ignore, append_new_columns, sync_all_columns, fail', () => {
    // The table has `legacy` the SELECT no longer returns; the SELECT has `day` the table lacks.
    const old: Column[] = [INCOMING[0]!, INCOMING[1]!, INCOMING[2]!, { name: 'legacy', type: 'VARCHAR' }];
    for (const mode of ['ignore', 'append_new_columns', 'sync_all_columns'] as const) {
      check(`on_schema_change_${mode}`, plan('i', { unique_key: ['id'], on_schema_change: mode }, { existing: table(old) }));
    }
    expect(() => plan('i', { unique_key: ['id'], on_schema_change: 'fail' }, { existing: table(old) }))
      .toThrow(/gold\.i: the columns changed \(added: day; removed: legacy\) and on_schema_change is 'fail'/);
    try {
      plan('i', { unique_key: ['id'], on_schema_change: 'fail' }, { existing: table(old) });
    } catch (e) {
      expect(e).toBeInstanceOf(PlanError);
      expect((e as PlanError).diagnostic).toMatchObject({ file: 'models/gold/i.sql', node: 'gold.i', hint: expect.stringMatching(/--full-refresh/) });
    }
  });

  describe('cdc', () => {
    const CDC_SQL = 'select * from "bronze"."user_changes"';
    const CHANGES: Column[] = [
      { name: 'user_id', type: 'BIGINT' }, { name: 'email', type: 'VARCHAR' }, { name: 'updated', type: 'TIMESTAMP' },
      { name: 'update_type', type: 'VARCHAR' }, { name: '_lake_batch', type: 'BIGINT' },
    ];
    const cfg = (extra: Partial<ModelConfig> = {}): Partial<ModelConfig> => ({
      incremental_strategy: 'cdc', unique_key: ['user_id'], sequence_by: ['updated'], delete_when: "update_type = 'delete'", except_columns: ['update_type'], ...extra,
    });
    const target1 = CHANGES.filter((c) => c.name !== 'update_type');
    const target2 = [...target1, { name: 'valid_from', type: 'TIMESTAMP' }, { name: 'valid_to', type: 'TIMESTAMP' }];
    const cdc = (extra: Partial<ModelConfig>, ctx: Partial<PlanContext>) => plan('users', cfg(extra), { incoming: CHANGES, ...ctx }, CDC_SQL);

    test('scd type 1: first build, incremental, ignore_null_updates, sequence list', () => {
      check('cdc_scd1_first_build', cdc({}, {}));
      check('cdc_scd1_incremental', cdc({}, { existing: table(target1) }));
      check('cdc_scd1_full_refresh', cdc({}, { existing: table(target1), fullRefresh: true }));
      check('cdc_scd1_ignore_null_updates', cdc({ ignore_null_updates: true }, { existing: table(target1) }));
      const withNo = [...CHANGES, { name: 'change_no', type: 'INTEGER' }];
      check('cdc_scd1_sequence_list', cdc({ sequence_by: ['updated', 'change_no'] }, { incoming: withNo, existing: table([...target1, { name: 'change_no', type: 'INTEGER' }]) }));
    });

    test('scd type 2: first build, incremental, ignore_null_updates', () => {
      check('cdc_scd2_first_build', cdc({ scd_type: 2 }, {}));
      check('cdc_scd2_incremental', cdc({ scd_type: 2 }, { existing: table(target2) }));
      check('cdc_scd2_ignore_null_updates', cdc({ scd_type: 2, ignore_null_updates: true }, { existing: table(target2) }));
    });
  });

  test('snapshot: first snapshot, then timestamp and check strategies with hard deletes', () => {
    const at = new Date(Date.UTC(2026, 10, 21, 12, 0, 0));
    const meta = (deleted: boolean): Column[] => [
      { name: 'dbt_scd_id', type: 'VARCHAR' }, { name: 'dbt_updated_at', type: 'DATE' }, { name: 'dbt_valid_from', type: 'DATE' }, { name: 'dbt_valid_to', type: 'DATE' },
      ...(deleted ? [{ name: 'dbt_is_deleted', type: 'VARCHAR' }] : []),
    ];
    const ts = { materialized: 'snapshot' as const, strategy: 'timestamp', unique_key: ['id'], updated_at: 'day' };
    check('snapshot_first', plan('s', ts, { snapshotAt: at }));
    check('snapshot_timestamp', plan('s', ts, { snapshotAt: at, existing: table([...INCOMING.slice(0, 3), ...meta(false)]) }));
    const chk = { materialized: 'snapshot' as const, strategy: 'check', unique_key: ['id', 'name'], check_cols: ['amount'], hard_deletes: 'new_record', dbt_valid_to_current: "'9999-12-31'::date" };
    check('snapshot_check_new_record', plan('s', chk, { snapshotAt: at, existing: table([...INCOMING, ...meta(true)]) }));
  });

  test('seed: read_csv with declared types, built and swapped', () => {
    const seed: SeedNode = {
      kind: 'seed', id: 'seeds.gyms', name: 'gyms', schema: 'seeds', path: 'seeds/gyms.csv', absPath: '/project/seeds/gyms.csv',
      columnTypes: { gym: 'INTEGER' }, columns: [], tests: [], tags: [], checksum: 'x',
    };
    check('seed', planText(planSeed(seed, duckdbDialect, undefined)));
  });

  test('every expected file is used by a test above (runs last)', () => {
    const dir = path.join(path.dirname(new URL(import.meta.url).pathname), 'expected');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4));
    expect(files.filter((f) => !checked.has(f))).toEqual([]);
    expect(checked.size).toBeGreaterThan(20);
  });
});
