import { describe, expect, it } from 'vitest';
import { makeProject, query, runQuality } from './helpers.js';

describe('lake build', () => {
  it('runs tests right after their model and skips the descendants of an error-severity failure', async () => {
    const dir = makeProject({
      'models/silver/bad.sql': "{{ config(materialized='table') }}\nselect * from (values (1), (null)) t(id)",
      'models/silver/bad_child.sql': "select * from {{ ref('bad') }}",
      'models/gold/bad_grandchild.sql': "select * from {{ ref('bad_child') }}",
      'models/silver/warned.sql': "{{ config(materialized='table') }}\nselect * from (values (1), (null)) t(id)",
      'models/silver/warned_child.sql': "select * from {{ ref('warned') }}",
      'models/silver/broken.sql': 'select nope from nowhere',
      'models/silver/unit_tested.sql': "select id * 2 as doubled from {{ ref('warned') }}",
      'models/silver/unit_tested_child.sql': "select * from {{ ref('unit_tested') }}",
      'models/silver/schema.yml': `models:
  - name: bad
    columns: [{name: id, data_tests: [not_null]}]
  - name: bad_child
    columns: [{name: id, data_tests: [unique]}]
  - name: warned
    columns: [{name: id, data_tests: [{not_null: {severity: warn}}]}]
  - name: broken
    columns: [{name: id, data_tests: [not_null]}]
unit_tests:
  - name: doubles_wrongly_expected
    model: unit_tested
    given: [{input: ref('warned'), rows: [{id: 2}]}]
    expect: {rows: [{doubled: 5}]}
`,
    });
    const r = await runQuality(dir, 'build');
    const node = (id: string) => r.nodes.get(id)?.status;
    expect(node('silver.bad')).toBe('success');
    expect(r.tests.get('not_null_bad_id')?.status).toBe('fail');
    expect(node('test:silver.bad')).toBe('error');
    expect(node('silver.bad_child')).toBe('skipped');
    expect(node('gold.bad_grandchild')).toBe('skipped');
    expect(r.tests.get('unique_bad_child_id')).toMatchObject({ status: 'skipped' });
    // A warning does not block.
    expect(r.tests.get('not_null_warned_id')?.status).toBe('warn');
    expect(node('silver.warned_child')).toBe('success');
    // A model that fails: its tests are skipped.
    expect(node('silver.broken')).toBe('error');
    expect(r.tests.get('not_null_broken_id')?.status).toBe('skipped');
    // A failing unit test runs before its model and skips it.
    expect(r.tests.get('doubles_wrongly_expected')?.status).toBe('fail');
    expect(node('silver.unit_tested')).toBe('skipped');
    expect(node('silver.unit_tested_child')).toBe('skipped');
    // Order: a model's test job starts after the model finished.
    const ends = r.reporter.events.filter((e) => e.kind === 'node_end').map((e) => (e.data as { id: string }).id);
    expect(ends.indexOf('test:silver.bad')).toBeGreaterThan(ends.indexOf('silver.bad'));
    expect(ends.indexOf('unit:silver.unit_tested')).toBeLessThan(ends.indexOf('silver.unit_tested'));
    // run_results: models in results, tests in tests.
    const results = r.runResults.results as { id: string }[];
    expect(results.map((x) => x.id)).not.toContain('test:silver.bad');
    expect(results.map((x) => x.id)).toContain('silver.bad_child');
    expect((r.runResults.tests as unknown[]).length).toBe(5);
    expect(await query(dir, `select count(*) as n from information_schema.tables where table_name = 'bad_child'`)).toEqual([{ n: 0 }]);
  });

  it('a test of two models holds back only the models downstream of both, directly or through others (as dbt), whichever ref comes first', async () => {
    for (const order of [['p1', 'p2'], ['p2', 'p1']]) {
      const dir = makeProject({
        'models/silver/p1.sql': "{{ config(materialized='table') }}\nselect * from (values (1), (2)) t(id)",
        'models/silver/p2.sql': "{{ config(materialized='table') }}\nselect * from (values (1)) t(id)",
        'models/gold/reads_p1.sql': "select * from {{ ref('p1') }}",
        'models/gold/reads_p2.sql': "select * from {{ ref('p2') }}",
        'models/gold/reads_both.sql': "select * from {{ ref('p1') }} join {{ ref('p2') }} using (id)",
        'models/gold/after_both.sql': "select * from {{ ref('reads_both') }}",
        // Downstream of both only through two other models.
        'models/gold/joins_readers.sql': "select * from {{ ref('reads_p1') }} union all select * from {{ ref('reads_p2') }}",
        // Fails: id 2 of p1 is not in p2.
        'data_tests/p1_in_p2.sql': `select a.id from {{ ref('${order[0]}') }} a full join {{ ref('${order[1]}') }} b using (id) where a.id is null or b.id is null`,
      });
      const r = await runQuality(dir, 'build');
      const node = (id: string) => r.nodes.get(id)?.status;
      expect(r.tests.get('p1_in_p2')?.status, order.join()).toBe('fail');
      expect(node('gold.reads_p1'), order.join()).toBe('success');
      expect(node('gold.reads_p2'), order.join()).toBe('success');
      expect(node('gold.reads_both'), order.join()).toBe('skipped');
      expect(node('gold.after_both'), order.join()).toBe('skipped');
      expect(node('gold.joins_readers'), order.join()).toBe('skipped');
    }
  });

  it('selects a model and its tests, and by test name or test_type', async () => {
    const dir = makeProject({
      'models/silver/a.sql': "{{ config(materialized='table') }}\nselect 1 as id",
      'models/silver/b.sql': "{{ config(materialized='table') }}\nselect 1 as id",
      'models/silver/schema.yml': `models:
  - name: a
    columns: [{name: id, data_tests: [unique, not_null]}]
  - name: b
    columns: [{name: id, data_tests: [unique]}]
unit_tests:
  - name: a_is_one
    model: a
    expect: {rows: [{id: 1}]}
`,
    });
    const onlyA = await runQuality(dir, 'build', { select: ['a'] });
    expect([...onlyA.tests.keys()].sort()).toEqual(['a_is_one', 'not_null_a_id', 'unique_a_id']);
    expect(onlyA.nodes.has('silver.b')).toBe(false);
    const byName = await runQuality(dir, 'test', { select: ['unique_b_id'] });
    expect([...byName.tests.keys()]).toEqual(['unique_b_id']);
    const units = await runQuality(dir, 'test', { select: ['test_type:unit'] });
    expect([...units.tests.keys()]).toEqual(['a_is_one']);
    const excluded = await runQuality(dir, 'test', { exclude: ['test_name:unique'] });
    expect([...excluded.tests.keys()].sort()).toEqual(['a_is_one', 'not_null_a_id']);
    // Intersections of node and test selectors: the tests of those nodes, of that kind.
    const aUnique = await runQuality(dir, 'test', { select: ['a,test_name:unique'] });
    expect([...aUnique.tests.keys()]).toEqual(['unique_a_id']);
    const aData = await runQuality(dir, 'test', { select: ['a,test_type:data'] });
    expect([...aData.tests.keys()].sort()).toEqual(['not_null_a_id', 'unique_a_id']);
    const bUnit = await runQuality(dir, 'test', { select: ['b,test_type:unit'] });
    expect([...bUnit.tests.keys()]).toEqual([]);
    const notAUnique = await runQuality(dir, 'test', { exclude: ['a,test_name:unique'] });
    expect([...notAUnique.tests.keys()].sort()).toEqual(['a_is_one', 'not_null_a_id', 'unique_b_id']);
  });

  it('selects tests by their own tags (tag:x), with the nodes tagged x and their tests', async () => {
    const dir = makeProject({
      'models/silver/a.sql': "{{ config(materialized='table') }}\nselect 1 as id",
      'models/silver/b.sql': "{{ config(materialized='table', tags=['nightly']) }}\nselect 1 as id",
      'models/silver/schema.yml': `models:
  - name: a
    columns: [{name: id, data_tests: [{unique: {config: {tags: [critical]}}}, not_null]}]
  - name: b
    columns: [{name: id, data_tests: [{not_null: {config: {tags: [nightly]}}}, unique]}]
unit_tests:
  - name: a_is_one
    model: a
    config: {tags: [critical]}
    expect: {rows: [{id: 1}]}
`,
    });
    await runQuality(dir, 'build');
    const critical = await runQuality(dir, 'test', { select: ['tag:critical'] });
    expect([...critical.tests.keys()].sort()).toEqual(['a_is_one', 'unique_a_id']);
    // b carries the tag too: its tests come with it.
    const nightly = await runQuality(dir, 'test', { select: ['tag:nightly'] });
    expect([...nightly.tests.keys()].sort()).toEqual(['not_null_b_id', 'unique_b_id']);
    const notCritical = await runQuality(dir, 'test', { exclude: ['tag:critical'] });
    expect([...notCritical.tests.keys()].sort()).toEqual(['not_null_a_id', 'not_null_b_id', 'unique_b_id']);
    // In an intersection with a test selector, a tag only tests carry (it was "no node has tag critical").
    const criticalData = await runQuality(dir, 'test', { select: ['test_type:data,tag:critical'] });
    expect([...criticalData.tests.keys()]).toEqual(['unique_a_id']);
    const nightlyUnique = await runQuality(dir, 'test', { select: ['test_name:unique,tag:nightly'] });
    expect([...nightlyUnique.tests.keys()]).toEqual(['unique_b_id']);
  });

  it('selects tests by config (config.severity:warn...), and excluding a node excludes every test reading it', async () => {
    const dir = makeProject({
      'models/silver/a.sql': "{{ config(materialized='table') }}\nselect 1 as id",
      'models/silver/b.sql': "{{ config(materialized='table') }}\nselect 1 as id, 1 as a_id",
      'models/silver/schema.yml': `models:
  - name: a
    columns: [{name: id, data_tests: [{unique: {config: {severity: warn}}}, {not_null: {config: {store_failures: true}}}]}]
  - name: b
    columns:
      - {name: id, data_tests: [unique]}
      - {name: a_id, data_tests: [{relationships: {to: "ref('a')", field: id}}]}
`,
    });
    await runQuality(dir, 'build');
    const warn = await runQuality(dir, 'test', { select: ['config.severity:warn'] });
    expect([...warn.tests.keys()]).toEqual(['unique_a_id']);
    const error = await runQuality(dir, 'test', { select: ['config.severity:error'] });
    expect([...error.tests.keys()].sort()).toEqual(['not_null_a_id', 'relationships_b_a_id__id__ref_a_', 'unique_b_id']);
    const stored = await runQuality(dir, 'test', { select: ['config.store_failures:true'] });
    expect([...stored.tests.keys()]).toEqual(['not_null_a_id']);
    // A node config still selects nodes (and their tests: the relationships test reads a too).
    const tables = await runQuality(dir, 'test', { select: ['config.materialized:table,a'] });
    expect([...tables.tests.keys()].sort()).toEqual(['not_null_a_id', 'relationships_b_a_id__id__ref_a_', 'unique_a_id']);
    // The relationships test is declared on b but reads a: --exclude a leaves it out too.
    const noA = await runQuality(dir, 'test', { exclude: ['a'] });
    expect([...noA.tests.keys()]).toEqual(['unique_b_id']);
  });

  it("skips the unit tests of a model that a parent's failing test skips, as dbt does (they run with their model)", async () => {
    const dir = makeProject({
      'models/silver/users.sql': "{{ config(materialized='ephemeral') }}\nselect * from (values (1, 'a'), (2, null)) t(id, name)",
      'models/silver/other.sql': "{{ config(materialized='table') }}\nselect 1 as id",
      'models/silver/named.sql': "select u.id, u.name from {{ ref('users') }} u join {{ ref('other') }} o using (id)",
      'models/silver/schema.yml': `models:
  - name: users
    columns: [{name: name, data_tests: [not_null]}]
unit_tests:
  - name: names_kept
    model: named
    given:
      - {input: ref('users'), format: sql, rows: "select 1 as id, 'x' as name"}
      - {input: ref('other'), rows: [{id: 1}]}
    expect: {rows: [{id: 1, name: x}]}
  - name: names_wrongly_expected
    model: named
    given:
      - {input: ref('users'), format: sql, rows: "select 1 as id, 'x' as name"}
      - {input: ref('other'), rows: [{id: 1}]}
    expect: {rows: [{id: 2}]}
`,
    });
    const r = await runQuality(dir, 'build');
    expect(r.tests.get('not_null_users_name')?.status).toBe('fail');
    expect(r.nodes.get('silver.named')?.status).toBe('skipped');
    // dbt 1.9 marks both skipped (the model is skipped, so are the unit tests it runs with).
    expect(r.tests.get('names_kept')).toMatchObject({ status: 'skipped', message: 'a test of silver.users failed' });
    expect(r.tests.get('names_wrongly_expected')?.status).toBe('skipped');
  });
});

