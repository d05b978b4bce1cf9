import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, query, runQuality, runModels } from './helpers.js';

const SOURCES = `sources:
  - name: crm
    schema: raw
    tables:
      - name: users
        columns:
          - {name: id, data_type: integer}
          - {name: name, data_type: varchar}
          - {name: country, data_type: varchar}
          - {name: updated_at, data_type: timestamp}
`;

const STG = "select id, upper(name) as name, country, updated_at from {{ source('crm', 'users') }}";

const incremental = (strategy: string, extra = '') => `{{ config(materialized='incremental', incremental_strategy='${strategy}'${extra}) }}
select id, name, updated_at from {{ ref('stg_users') }}
{% if is_incremental() %}where updated_at > (select max(updated_at) from {{ this }}){% endif %}`;

/** Existing table (this) has ids 1, 2; new source rows: 1 (old, filtered), 2 (changed), 3 (new). */
const GIVEN_INC = `    given:
      - input: ref('stg_users')
        rows:
          - {id: 1, name: A, updated_at: '2024-01-01 00:00:00'}
          - {id: 2, name: B2, updated_at: '2024-01-03 00:00:00'}
          - {id: 3, name: C, updated_at: '2024-01-03 00:00:00'}
      - input: this
        rows:
          - {id: 1, name: A, updated_at: '2024-01-01 00:00:00'}
          - {id: 2, name: B, updated_at: '2024-01-02 00:00:00'}
`;

const rows = (list: [number, string][]) => `    expect:\n      rows:\n${list.map(([id, name]) => `        - {id: ${id}, name: ${name}}`).join('\n')}\n`;

function project(unitTests: string, extraFiles: Record<string, string> = {}): string {
  return makeProject({
    'models/sources.yml': SOURCES,
    'models/staging/stg_users.sql': STG,
    'models/silver/users_append.sql': incremental('append'),
    'models/silver/users_merge.sql': incremental('merge', ", unique_key='id'"),
    'models/silver/users_insert_new.sql': incremental('insert_new', ", unique_key='id'"),
    'models/silver/users_delete_insert.sql': incremental('delete+insert', ", unique_key='id'"),
    'models/silver/by_country.sql': "{{ config(materialized='table') }}\nselect country, count(*) as users, max(updated_at) as last_update from {{ ref('stg_users') }} where id >= {{ var('min_id', 0) }} group by country",
    'models/silver/by_country_view.sql': "select country, count(*) as users from {{ ref('stg_users') }} group by country",
    'models/silver/unit.yml': `unit_tests:\n${unitTests}`,
    ...extraFiles,
  });
}

describe('unit tests', () => {
  it('check table and view models against given inputs, typed from the real schemas', async () => {
    const dir = project(`  - name: counts_per_country
    model: by_country
    given:
      - input: ref('stg_users')
        rows:
          - {id: 1, country: DE, updated_at: '2024-01-01 10:00:00'}
          - {id: 2, country: DE, updated_at: '2024-01-02 10:00:00'}
          - {id: 3, country: FR}
    expect:
      rows:
        - {country: DE, users: 2, last_update: '2024-01-02 10:00:00'}
        - {country: FR, users: 1, last_update: null}
  - name: view_counts
    model: by_country_view
    given:
      - input: ref('stg_users')
        format: csv
        rows: |
          id,country
          1,DE
          2,FR
          3,FR
    expect:
      format: csv
      rows: |
        country,users
        FR,2
        DE,1
  - name: with_vars
    model: by_country
    overrides:
      vars: {min_id: 2}
    given:
      - input: ref('stg_users')
        rows: [{id: 1, country: DE}, {id: 2, country: DE}]
    expect:
      rows: [{country: DE, users: 1}]
  - name: with_invocation_id
    model: stamped
    overrides:
      macros: {invocation_id: run-123}
    given:
      - input: ref('stg_users')
        rows: [{id: 1}]
    expect:
      rows: [{id: 1, inv: run-123}]
  - name: with_env_vars
    model: regional
    overrides:
      env_vars: {LAKE_TEST_REGION: us}
    given:
      - input: ref('stg_users')
        rows: [{id: 1, country: DE}]
    expect:
      rows: [{id: 1, region: us}]
  - name: staging_from_source
    model: stg_users
    given:
      - input: source('crm', 'users')
        rows: [{id: 7, name: ada}]
    expect:
      rows: [{id: 7, name: ADA, country: null}]
  - name: seed_typed_from_csv
    model: with_country_names
    given:
      - input: ref('countries')
        rows: [{code: DE}]
      - input: ref('stg_users')
        rows: [{id: 1, country: DE}]
    expect:
      rows: [{id: 1, country_name: null, population: null}]
`, {
      'seeds/countries.csv': 'code,country_name,population\nDE,Germany,84000000\n',
      'models/silver/with_country_names.sql': "select u.id, c.country_name, c.population + 0 as population from {{ ref('stg_users') }} u join {{ ref('countries') }} c on c.code = u.country",
      'models/silver/regional.sql': "select id, '{{ env_var('LAKE_TEST_REGION', 'eu') }}' as region from {{ ref('stg_users') }}",
      'models/silver/stamped.sql': "select id, '{{ invocation_id }}' as inv from {{ ref('stg_users') }}",
    });
    const r = await runQuality(dir, 'test');
    for (const name of ['counts_per_country', 'view_counts', 'with_vars', 'with_invocation_id', 'with_env_vars', 'staging_from_source', 'seed_typed_from_csv']) {
      expect(r.tests.get(name), `${name}: ${r.tests.get(name)?.message}`).toMatchObject({ status: 'pass', kind: 'unit' });
    }
    expect(r.tests.get('counts_per_country')?.id).toBe('unit_test.by_country.counts_per_country');
    // The override held only while the model rendered for its test.
    expect(process.env.LAKE_TEST_REGION).toBeUndefined();
    // Unit tests never touch the warehouse: nothing was built there.
    const built = await query(dir, `select table_schema || '.' || table_name as t from information_schema.tables where table_schema not in ('_lake', '_lake_tests')`);
    expect(built).toEqual([]);
  });

  it('reads a seed given without rows as the seed\'s own rows, and errors for one left out (as every input, as dbt); a snapshot input has dbt\'s meta columns', async () => {
    const dir = project(`  - name: seed_not_given
    model: with_country_names
    given:
      - input: ref('stg_users')
        rows: [{id: 1, country: DE}, {id: 2, country: FR}]
    expect:
      rows: [{id: 1, country_name: Germany, population: 84000000}, {id: 2, country_name: France, population: 68000000}]
  - name: seed_given_without_rows
    model: with_country_names
    given:
      - input: ref('stg_users')
        rows: [{id: 2, country: FR}]
      - input: ref('countries')
    expect:
      rows: [{id: 2, country_name: France, population: 68000000}]
  - name: seed_given_empty
    model: with_country_names
    given:
      - input: ref('stg_users')
        rows: [{id: 2, country: FR}]
      - input: ref('countries')
        rows: []
    expect:
      rows: []
  - name: current_versions
    model: current_users
    given:
      - input: ref('users_snap')
        rows:
          - {id: 1, name: old, dbt_valid_to: '2024-01-02 00:00:00'}
          - {id: 1, name: new}
          - {id: 2, name: other}
    expect:
      rows: [{id: 1, name: new}, {id: 2, name: other}]
`, {
      'seeds/countries.csv': 'code,country_name,population\nDE,Germany,84000000\nFR,France,68000000\n',
      'models/silver/with_country_names.sql': "select u.id, c.country_name, c.population + 0 as population from {{ ref('stg_users') }} u join {{ ref('countries') }} c on c.code = u.country",
      'snapshots/users_snap.sql': "{% snapshot users_snap %}{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', target_schema='snapshots') }}select id, name, updated_at from {{ ref('stg_users') }}{% endsnapshot %}",
      'models/silver/current_users.sql': "select id, name from {{ ref('users_snap') }} where dbt_valid_to is null",
    });
    const r = await runQuality(dir, 'test');
    for (const name of ['seed_given_without_rows', 'seed_given_empty', 'current_versions']) {
      expect(r.tests.get(name), `${name}: ${r.tests.get(name)?.message}`).toMatchObject({ status: 'pass', kind: 'unit' });
    }
    const missing = r.tests.get('seed_not_given')!;
    expect(missing.status).toBe('error');
    expect(missing.message).toContain("the model reads ref('countries'), which the unit test does not give; add it under given: (input: ref(...), with rows: [] for an empty input, or without rows for the seed's own CSV)");
  });

  it('shows a readable diff: differing cells, missing and unexpected rows', async () => {
    const dir = project(`  - name: wrong_expectations
    model: users_merge
${GIVEN_INC}${rows([[1, 'A'], [2, 'B'], [4, 'D']])}`);
    const r = await runQuality(dir, 'test');
    const t = r.tests.get('wrong_expectations')!;
    expect(t.status).toBe('fail');
    // dbt counts a failed unit test as one failure; the rows are in the message.
    expect(t.failures).toBe(1);
    const lines = t.message!.split('\n').map((l) => l.trimEnd());
    expect(lines[0]).toBe('unit test wrong_expectations of silver.users_merge (models/silver/unit.yml:2): 1 differing, 1 missing, 1 unexpected rows');
    expect(lines.slice(1, 6)).toEqual([
      '    id | name',
      '    ---+-------',
      '  ~ 2  | B → B2',
      '  - 4  | D',
      '  + 3  | C',
    ]);
    expect(r.q.failed()).toBe(true);
    expect(r.reporter.lines.join('\n')).toContain('~ 2  | B → B2');
  });

  it('expect is the final table of each incremental strategy', async () => {
    const dir = project(`  - name: append_final
    model: users_append
${GIVEN_INC}${rows([[1, 'A'], [2, 'B'], [2, 'B2'], [3, 'C']])}  - name: merge_final
    model: users_merge
${GIVEN_INC}${rows([[1, 'A'], [2, 'B2'], [3, 'C']])}  - name: insert_new_final
    model: users_insert_new
${GIVEN_INC}${rows([[1, 'A'], [2, 'B'], [3, 'C']])}  - name: delete_insert_final
    model: users_delete_insert
${GIVEN_INC}${rows([[1, 'A'], [2, 'B2'], [3, 'C']])}  - name: first_build
    model: users_merge
    overrides:
      is_incremental: false
${GIVEN_INC}${rows([[1, 'A'], [2, 'B2'], [3, 'C']])}  - name: incremental_without_this
    model: users_append
    overrides:
      macros: {is_incremental: true}
    given:
      - input: ref('stg_users')
        rows: [{id: 5, name: E, updated_at: '2024-01-01 00:00:00'}]
${rows([])}`);
    const r = await runQuality(dir, 'test');
    for (const name of ['append_final', 'merge_final', 'insert_new_final', 'delete_insert_final', 'first_build', 'incremental_without_this']) {
      expect(r.tests.get(name), `${name}: ${r.tests.get(name)?.message}`).toMatchObject({ status: 'pass' });
    }
  });

  it('a wrong expectation of a strategy is caught (append is not merge)', async () => {
    const dir = project(`  - name: append_is_not_merge
    model: users_append
${GIVEN_INC}${rows([[1, 'A'], [2, 'B2'], [3, 'C']])}`);
    const r = await runQuality(dir, 'test');
    const t = r.tests.get('append_is_not_merge')!;
    expect(t.status).toBe('fail');
    expect(t.message).toMatch(/1 unexpected row/);
    expect(t.message).toMatch(/\+ 2\s+\| B\n/);
  });

  it('explains a bad unit test: unknown model, input not read, unknown expect column, model errors', async () => {
    const bad = project(`  - name: no_model
    model: nope
    expect: {rows: []}
  - name: not_an_input
    model: by_country
    given:
      - input: ref('users_merge')
        rows: []
    expect: {rows: []}
`);
    const { LakeError } = await import('../../src/errors/index.js');
    const err = (await runQuality(bad, 'test').catch((e: unknown) => e)) as InstanceType<typeof LakeError>;
    expect(err).toBeInstanceOf(LakeError);
    expect(err.diagnostics.map((d) => d.message)).toEqual([
      "unit test no_model: model 'nope' matches no model or seed",
      "unit test not_an_input: given ref('users_merge'), but silver.by_country does not read it",
    ]);
    expect(err.diagnostics[0]).toMatchObject({ file: 'models/silver/unit.yml', line: 2 });

    const dir = project(`  - name: unknown_column
    model: by_country
    given:
      - input: ref('stg_users')
        rows: [{id: 1, country: DE}]
    expect:
      rows: [{country: DE, people: 1}]
  - name: bad_value
    model: by_country
    given:
      - input: ref('stg_users')
        rows: [{id: not_a_number, country: DE}]
    expect:
      rows: [{country: DE}]
  - name: given_column_unknown
    model: by_country
    given:
      - input: ref('stg_users')
        rows: [{id: 1, country: DE, nickname: x}]
    expect:
      rows: [{country: DE}]
`);
    const r = await runQuality(dir, 'test');
    expect(r.tests.get('unknown_column')).toMatchObject({ status: 'error' });
    expect(r.tests.get('unknown_column')?.message).toMatch(/expect names 'people', which the model does not return \(it returns country, users, last_update\)/);
    expect(r.tests.get('bad_value')?.status).toBe('error');
    expect(r.tests.get('bad_value')?.message).toMatch(/given ref\('stg_users'\): .*not_a_number/);
    // A given column the input does not have would be silently unused (dbt: invalid column name).
    expect(r.tests.get('given_column_unknown')).toMatchObject({ status: 'error' });
    expect(r.tests.get('given_column_unknown')?.message).toMatch(/given ref\('stg_users'\): 'nickname' is not a column of it \(it has /);
  });

  it('reads CSV fixtures from data_tests/fixtures and SQL rows', async () => {
    const dir = project(`  - name: from_fixture
    model: by_country_view
    given:
      - input: ref('stg_users')
        format: csv
        fixture: three_users
    expect:
      format: sql
      fixture: de_three
`, {
      // In a folder under fixtures/: found by its name, as dbt finds it.
      'data_tests/fixtures/users/three_users.csv': 'id,name,country\n1,"Smith, Ann",DE\n2,Bo,DE\n3,,DE\n',
      // A SQL fixture in the fixtures folder is not a singular test (it returns a row: it would fail).
      'data_tests/fixtures/de_three.sql': "select 'DE' as country, 3 as users",
    });
    const r = await runQuality(dir, 'test');
    expect(r.tests.get('from_fixture'), r.tests.get('from_fixture')?.message).toMatchObject({ status: 'pass' });
    expect([...r.tests.keys()].sort()).toEqual(['from_fixture']);
    expect(fs.existsSync(path.join(dir, 'target', 'run_results.json'))).toBe(true);
    // Two fixture files of one name in two folders: which is meant? An error, as in dbt.
    fs.mkdirSync(path.join(dir, 'data_tests/fixtures/other'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data_tests/fixtures/other/three_users.csv'), 'id,name,country\n9,X,FR\n');
    const err = await runQuality(dir, 'test').catch((e: unknown) => e as Error);
    expect(String((err as Error).message ?? err)).toMatch(/fixture 'three_users' is in more than one folder/);
  });
});

describe('unit tests over inputs lake cannot type from the project', () => {
  it('takes the columns of an input the given rows leave out from the built relation, as dbt does', async () => {
    const dir = makeProject({
      'seeds/raw_t.csv': 'id,name,amount\n1,a,10\n',
      'models/sources.yml': 'sources:\n  - name: raw\n    schema: seeds\n    tables:\n      - name: raw_t\n',
      'models/silver/stg.sql': "select id, name, amount from {{ source('raw', 'raw_t') }}",
      'models/silver/m.sql': "select id, amount * 2 as doubled from {{ ref('stg') }}",
      'models/silver/unit.yml': "unit_tests:\n  - name: only_ids\n    model: m\n    given:\n      - input: ref('stg')\n        rows: [{id: 1}, {id: 2}]\n    expect:\n      rows: [{id: 1, doubled: null}, {id: 2, doubled: null}]\n",
    });
    // The seed first (the source reads its table; no ref orders them), then the models.
    await runModels(dir, { select: ['raw_t'] });
    await runModels(dir);
    const r = await runQuality(dir, 'test');
    expect(r.tests.get('only_ids'), r.tests.get('only_ids')?.message).toMatchObject({ status: 'pass' });
  });

  it('runs a model\'s unit tests after its parents in lake build, so a fresh build can read their relations', async () => {
    const dir = makeProject({
      'models/silver/base.sql': 'select 1 as id, 10 as amount',
      'models/silver/stg.sql': "select * from {{ ref('base') }}",
      'models/silver/m.sql': "select id, amount * 2 as doubled from {{ ref('stg') }}",
      'models/silver/unit.yml': "unit_tests:\n  - name: only_ids\n    model: m\n    given:\n      - input: ref('stg')\n        rows: [{id: 1}]\n    expect:\n      rows: [{id: 1, doubled: null}]\n",
    });
    const r = await runQuality(dir, 'build');
    expect(r.tests.get('only_ids'), r.tests.get('only_ids')?.message).toMatchObject({ status: 'pass' });
    expect(r.nodes.get('silver.m')).toMatchObject({ status: 'success' });
    const order = r.out.results.map((x) => x.id);
    expect(order.indexOf('silver.stg')).toBeLessThan(order.indexOf('unit:silver.m'));
    expect(order.indexOf('unit:silver.m')).toBeLessThan(order.indexOf('silver.m'));
  });
});

describe('unit tests with ephemeral inputs', () => {
  it('gives an ephemeral model the model inlines (directly or through another), as dbt does', async () => {
    const dir = project(`  - name: mock_eph
    model: de_users
    given:
      - input: ref('eph_users')
        format: sql
        rows: "select 1 as id, 'DE' as country union all select 2, 'FR'"
    expect:
      rows: [{id: 1}]
  - name: mock_inner_eph
    model: de_users
    given:
      - input: ref('eph_base')
        rows: [{id: 7, country: DE}, {id: 8, country: DE}, {id: 9, country: null}]
    expect:
      rows: [{id: 7}, {id: 8}]
  - name: mock_eph_wrong
    model: de_users
    given:
      - input: ref('eph_users')
        rows: [{id: 5, country: DE}]
    expect:
      rows: [{id: 6}]
`, {
      'models/silver/eph_base.sql': "{{ config(materialized='ephemeral') }}\nselect id, country from {{ ref('stg_users') }} where id > 0",
      'models/silver/eph_users.sql': "{{ config(materialized='ephemeral') }}\nselect id, upper(country) as country from {{ ref('eph_base') }}",
      'models/silver/de_users.sql': "{{ config(materialized='table') }}\nselect id from {{ ref('eph_users') }} where country = 'DE'",
    });
    const r = await runQuality(dir, 'test', { select: ['de_users'] });
    expect(r.tests.get('mock_eph'), r.tests.get('mock_eph')?.message).toMatchObject({ status: 'pass' });
    expect(r.tests.get('mock_inner_eph'), r.tests.get('mock_inner_eph')?.message).toMatchObject({ status: 'pass' });
    expect(r.tests.get('mock_eph_wrong')).toMatchObject({ status: 'fail' });
  });
});

describe('unit tests overriding macros', () => {
  it('overrides.macros makes a project macro or dbt.x give a fixed value', async () => {
    const dir = project(`  - name: fixed_now
    model: recent
    overrides:
      macros:
        cutoff: "'2024-01-02'::timestamp"
        dbt.current_timestamp: "'2024-01-03'::timestamp"
    given:
      - input: ref('stg_users')
        rows: [{id: 1, country: DE, updated_at: '2024-01-01 00:00:00'}, {id: 2, country: FR, updated_at: '2024-01-02 12:00:00'}]
    expect:
      rows: [{id: 2, now_ts: '2024-01-03 00:00:00'}]
  - name: unknown_macro
    model: recent
    overrides:
      macros: {no_such_macro: "1"}
    expect:
      rows: []
  - name: bare_names
    model: nested
    overrides:
      macros:
        inner: "'fake'"
        current_timestamp: "'2024-01-03'::timestamp"
    given:
      - input: ref('stg_users')
        rows: [{id: 1}]
    expect:
      rows: [{id: 1, a: fake, now_ts: '2024-01-03 00:00:00'}]
`, {
      'macros/cutoff.sql': "{% macro cutoff() %}now() - interval 1 day{% endmacro %}",
      // inner() called by another macro of its file; current_timestamp overridden by its bare name, called as dbt.current_timestamp().
      'macros/nest.sql': "{% macro inner() %}'real'{% endmacro %}\n{% macro outer() %}{{ inner() }}{% endmacro %}",
      'models/silver/recent.sql': "{{ config(materialized='table') }}\nselect id, {{ dbt.current_timestamp() }} as now_ts from {{ ref('stg_users') }} where updated_at > {{ cutoff() }}",
      'models/silver/nested.sql': "select id, {{ outer() }} as a, {{ dbt.current_timestamp() }} as now_ts from {{ ref('stg_users') }}",
    });
    const r = await runQuality(dir, 'test', { select: ['recent', 'nested'] });
    expect(r.tests.get('bare_names'), r.tests.get('bare_names')?.message).toMatchObject({ status: 'pass' });
    expect(r.tests.get('fixed_now'), r.tests.get('fixed_now')?.message).toMatchObject({ status: 'pass' });
    expect(r.tests.get('unknown_macro')).toMatchObject({ status: 'error' });
    expect(r.tests.get('unknown_macro')?.message).toMatch(/overrides\.macros\.no_such_macro: there is no macro or function no_such_macro/);
  });
});

describe('unit tests of CDC models', () => {
  const cdc = (scd: number) => `{{ config(materialized='incremental', incremental_strategy='cdc', unique_key='id', sequence_by='seq', delete_when="op = 'D'", except_columns=['op'], scd_type=${scd}) }}
select id, name, seq, op from {{ ref('changes') }}`;
  const files = {
    'models/bronze/changes.sql': "select * from (values (0, 'x', 0, 'U')) t(id, name, seq, op)",
    'models/silver/users_scd1.sql': cdc(1),
    'models/silver/users_scd2.sql': cdc(2),
  };

  it('type 1: upserts, deletes, and a late change never beats what the table holds', async () => {
    const dir = makeProject({
      ...files,
      'models/silver/unit.yml': `unit_tests:
  - name: scd1_final
    model: users_scd1
    given:
      - input: this
        rows:
          - {id: 1, name: A, seq: 5}
          - {id: 2, name: B, seq: 5}
          - {id: 4, name: D, seq: 5}
      - input: ref('changes')
        rows:
          - {id: 1, name: A2, seq: 6, op: U}
          - {id: 2, name: null, seq: 6, op: D}
          - {id: 3, name: C, seq: 1, op: U}
          - {id: 4, name: D_late, seq: 3, op: U}
    expect:
      rows:
        - {id: 1, name: A2, seq: 6}
        - {id: 3, name: C, seq: 1}
        - {id: 4, name: D, seq: 5}
  - name: scd1_wrong
    model: users_scd1
    given:
      - input: this
        rows: [{id: 4, name: D, seq: 5}]
      - input: ref('changes')
        rows: [{id: 4, name: D_late, seq: 3, op: U}]
    expect:
      rows: [{id: 4, name: D_late}]
`,
    });
    const r = await runQuality(dir, 'test');
    expect(r.tests.get('scd1_final'), r.tests.get('scd1_final')?.message).toMatchObject({ status: 'pass' });
    const wrong = r.tests.get('scd1_wrong')!;
    expect(wrong.status).toBe('fail');
    expect(wrong.message).toMatch(/~ 4\s+\| D_late → D/);
  });

  it('type 1 with unique_key and sequence_by written as quoted names: the given rows still hold their sequence', async () => {
    const dir = makeProject({
      ...files,
      'models/silver/users_q.sql': cdc(1).replace("unique_key='id', sequence_by='seq'", `unique_key='"id"', sequence_by='"seq"'`),
      'models/silver/unit.yml': `unit_tests:
  - name: quoted_late
    model: users_q
    given:
      - input: this
        rows: [{id: 4, name: D, seq: 5}]
      - input: ref('changes')
        rows: [{id: 4, name: D_late, seq: 3, op: U}]
    expect:
      rows: [{id: 4, name: D, seq: 5}]
`,
    });
    const r = await runQuality(dir, 'test', { select: ['users_q'] });
    expect(r.tests.get('quoted_late'), r.tests.get('quoted_late')?.message).toMatchObject({ status: 'pass' });
  });

  it('type 2: the final history, with a late change put where its sequence belongs', async () => {
    const dir = makeProject({
      ...files,
      'models/silver/unit.yml': `unit_tests:
  - name: scd2_history
    model: users_scd2
    given:
      - input: this
        rows:
          - {id: 1, name: A, seq: 1, valid_from: 1, valid_to: null}
      - input: ref('changes')
        rows:
          - {id: 1, name: A3, seq: 3, op: U}
          - {id: 1, name: A2, seq: 2, op: U}
          - {id: 2, name: B, seq: 1, op: U}
          - {id: 2, name: null, seq: 4, op: D}
    expect:
      rows:
        - {id: 1, name: A, valid_from: 1, valid_to: 2}
        - {id: 1, name: A2, valid_from: 2, valid_to: 3}
        - {id: 1, name: A3, valid_from: 3, valid_to: null}
        - {id: 2, name: B, valid_from: 1, valid_to: 4}
`,
    });
    const r = await runQuality(dir, 'test');
    expect(r.tests.get('scd2_history'), r.tests.get('scd2_history')?.message).toMatchObject({ status: 'pass' });
  });
});
