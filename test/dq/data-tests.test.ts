import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, query, runModels, runQuality } from './helpers.js';

const PROJECT = 'name: dq_test\ntargets:\n  dev:\n    type: duckdb\n    path: target/lake.duckdb\n    threads: 2\n';

/** Two tables with the same columns: `good` passes every test, `bad` fails every test. */
const GOOD = `{{ config(materialized='table') }}
select * from (values
  (1, 'a@x.com', 'active', 30, 'DE', 10, now()::timestamp),
  (2, 'b@x.com', 'paused', 45, 'FR', 10, now()::timestamp),
  (3, 'c@x.com', 'active', 60, 'DE', 20, now()::timestamp - interval 2 hour)
) as t(user_id, email, status, age, country, team_id, updated_at)`;

const BAD = `{{ config(materialized='table') }}
select * from (values
  (1, 'a@x.com', 'active', 30, 'DE', 10, timestamp '2020-01-01'),
  (1, null, 'deleted', 300, 'DE', 99, timestamp '2020-01-01'),
  (3, null, 'zombie', -5, 'DE', 10, timestamp '2020-01-02'),
  (3, 'c@x.com', 'active', 60, 'DE', 10, timestamp '2020-01-02')
) as t(user_id, email, status, age, country, team_id, updated_at)`;

const TEAMS = `{{ config(materialized='table') }}
select * from (values (10, 'red'), (20, 'blue')) as t(team_id, name)`;

const columnsYaml = (name: string) => `
  - name: ${name}
    data_tests:
      - row_count: {min: 3, max: 3}
      - unique_combination_of_columns: {combination_of_columns: [user_id, country]}
      - expression_is_true: {expression: "age >= 0"}
      - recency: {field: updated_at, max_age: '1 day'}
      - recency: {field: updated_at, datepart: hour, interval: 24}
    columns:
      - name: user_id
        data_tests: [unique, not_null]
      - name: email
        data_tests: [not_null]
      - name: status
        data_tests:
          - accepted_values: {values: [active, paused]}
      - name: age
        data_tests:
          - accepted_range: {min: 0, max: 120}
      - name: team_id
        data_tests:
          - relationships: {to: ref('teams'), field: team_id}
          - relationships: {to: teams, field: team_id, config: {name: bare_to_${name}}}
          - relationships: {to: "{{ ref('teams') }}", field: team_id, config: {name: jinja_to_${name}}}
`;

describe('built-in data tests', () => {
  it('pass on good data and fail on bad data, with dbt names and dbt failure counts', async () => {
    const dir = makeProject({
      'models/silver/good.sql': GOOD,
      'models/silver/bad.sql': BAD,
      'models/silver/teams.sql': TEAMS,
      'models/silver/schema.yml': `models:${columnsYaml('good')}${columnsYaml('bad')}`,
    });
    const r = await runQuality(dir, 'build');
    const status = (name: string) => r.tests.get(name)?.status;
    const failures = (name: string) => r.tests.get(name)?.failures;
    const kinds = ['row_count_{m}_3__3', 'unique_combination_of_columns_{m}_user_id__country', 'expression_is_true_{m}_age_0', 'recency_{m}_updated_at__1_day',
      'unique_{m}_user_id', 'not_null_{m}_email', 'accepted_values_{m}_status__active__paused',
      'accepted_range_{m}_age__120__0', 'relationships_{m}_team_id__team_id__ref_teams_', 'recency_{m}_hour__updated_at__24', 'bare_to_{m}', 'jinja_to_{m}'];
    for (const k of kinds) {
      expect(status(k.replace('{m}', 'good')), k).toBe('pass');
      expect(status(k.replace('{m}', 'bad')), k).toBe('fail');
    }
    expect(status('not_null_good_user_id')).toBe('pass');
    // dbt's counts: duplicated values (not rows) for unique, distinct bad values for accepted_values.
    expect(failures('unique_bad_user_id')).toBe(2);
    expect(failures('not_null_bad_email')).toBe(2);
    expect(failures('accepted_values_bad_status__active__paused')).toBe(2);
    expect(failures('accepted_range_bad_age__120__0')).toBe(2);
    expect(failures('relationships_bad_team_id__team_id__ref_teams_')).toBe(1);
    expect(failures('row_count_bad_3__3')).toBe(1);
    expect(failures('unique_combination_of_columns_bad_user_id__country')).toBe(2);
    expect(failures('expression_is_true_bad_age_0')).toBe(1);
    // Column checks of one model share one scan; relationships runs its own query.
    expect(r.tests.get('not_null_good_email')?.batched).toBe(true);
    expect(r.tests.get('relationships_good_team_id__team_id__ref_teams_')?.batched).toBeFalsy();
    // run_results has the tests array, and the run is an error (exit 1).
    const tests = r.runResults.tests as { id: string; status: string; node: string }[];
    expect(tests.find((t) => t.id === 'test.unique_bad_user_id')).toMatchObject({ status: 'fail', node: 'silver.bad' });
    expect(r.runResults.status).toBe('error');
    expect(r.q.failed()).toBe(true);
    // The results table is printed.
    expect(r.reporter.lines.join('\n')).toMatch(/FAIL\s+\| unique_bad_user_id\s+\| silver\.bad\s+\| 2/);
  });

  it('applies severity, warn_if / error_if, where, limit and store_failures', async () => {
    const dir = makeProject({
      'models/silver/bad.sql': BAD,
      'models/silver/schema.yml': `models:
  - name: bad
    columns:
      - name: email
        data_tests:
          - not_null: {config: {severity: warn}}
          - not_null: {config: {name: email_few_nulls, warn_if: '>1', error_if: '>5'}}
          - not_null: {config: {name: email_many_nulls, error_if: '>1'}}
          - not_null: {config: {name: email_nulls_between, error_if: 'between 2 and 3', warn_if: 'in (7, 8)'}}
          - not_null: {config: {name: email_nulls_not_between, error_if: 'not between 2 and 3', warn_if: 'not in (7, 8)'}}
          - not_null: {config: {name: email_nulls_where, where: "user_id = 1"}}
          - not_null: {config: {name: email_nulls_where_none, where: "user_id = 99"}}
          - not_null: {config: {name: email_nulls_limited, limit: 1}}
          - not_null: {config: {name: email_nulls_stored, store_failures: true}}
          - not_null: {config: {name: email_nulls_view, store_failures_as: view}}
          - not_null: {config: {name: email_nulls_not_kept, store_failures: true, store_failures_as: ephemeral}}
      - name: status
        data_tests:
          - accepted_values: {values: [active, paused, zombie, deleted], config: {name: status_ok_stored, store_failures: true}}
`,
    });
    await runModels(dir);
    const r = await runQuality(dir, 'test', { select: ['bad'] });
    const t = (n: string) => r.tests.get(n)!;
    expect(t('not_null_bad_email')).toMatchObject({ status: 'warn', failures: 2, severity: 'warn' });
    expect(t('email_few_nulls')).toMatchObject({ status: 'warn', failures: 2 });
    expect(t('email_many_nulls')).toMatchObject({ status: 'fail', failures: 2 });
    // The SQL forms dbt allows there too: between and in, with not.
    expect(t('email_nulls_between')).toMatchObject({ status: 'fail', failures: 2 });
    expect(t('email_nulls_not_between')).toMatchObject({ status: 'warn', failures: 2 });
    expect(t('email_nulls_where')).toMatchObject({ status: 'fail', failures: 1 });
    expect(t('email_nulls_where_none')).toMatchObject({ status: 'pass', failures: 0 });
    expect(t('email_nulls_limited')).toMatchObject({ status: 'fail', failures: 1 });
    expect(t('email_nulls_stored')).toMatchObject({ status: 'fail', failures: 2, storedIn: '_lake_tests.email_nulls_stored' });
    expect(t('status_ok_stored').status).toBe('pass');
    const stored = await query(dir, 'select user_id, email from _lake_tests.email_nulls_stored order by user_id');
    expect(stored).toEqual([{ user_id: 1, email: null }, { user_id: 3, email: null }]);
    expect(await query(dir, 'select count(*) as n from _lake_tests.status_ok_stored')).toEqual([{ n: 0 }]);
    // store_failures_as: view keeps a view of the failing rows; ephemeral keeps nothing.
    expect(t('email_nulls_view')).toMatchObject({ status: 'fail', failures: 2, storedIn: '_lake_tests.email_nulls_view' });
    expect(await query(dir, "select table_name as t, table_type as k from information_schema.tables where table_schema = '_lake_tests' and table_name like 'email_nulls_%' order by 1")).toEqual([
      { t: 'email_nulls_stored', k: 'BASE TABLE' }, { t: 'email_nulls_view', k: 'VIEW' },
    ]);
    expect(t('email_nulls_not_kept')).toMatchObject({ status: 'fail', failures: 2 });
    expect(t('email_nulls_not_kept').storedIn).toBeUndefined();

    // Again, and with the two kinds swapped: the stored relations are replaced (a table by a view
    // and back), not an error on the second run.
    const again = await runQuality(dir, 'test', { select: ['bad'] });
    expect(again.tests.get('email_nulls_stored')).toMatchObject({ status: 'fail', failures: 2 });
    expect(again.tests.get('email_nulls_view')).toMatchObject({ status: 'fail', failures: 2 });
    const yml = path.join(dir, 'models/silver/schema.yml');
    fs.writeFileSync(yml, fs.readFileSync(yml, 'utf8')
      .replace('{name: email_nulls_stored, store_failures: true}', '{name: email_nulls_stored, store_failures_as: view}')
      .replace('{name: email_nulls_view, store_failures_as: view}', '{name: email_nulls_view, store_failures: true}'));
    const swapped = await runQuality(dir, 'test', { select: ['bad'] });
    expect(swapped.tests.get('email_nulls_stored')).toMatchObject({ status: 'fail', failures: 2 });
    expect(swapped.tests.get('email_nulls_view')).toMatchObject({ status: 'fail', failures: 2 });
    expect(await query(dir, "select table_name as t, table_type as k from information_schema.tables where table_schema = '_lake_tests' and table_name like 'email_nulls_%' order by 1")).toEqual([
      { t: 'email_nulls_stored', k: 'VIEW' }, { t: 'email_nulls_view', k: 'BASE TABLE' },
    ]);
  });

  it('quotes a quote: true column, lets store_failures: false win over --store-failures, records no failures for a pass, gives tests their column\'s and source\'s tags', async () => {
    const dir = makeProject({
      'models/silver/odd.sql': `{{ config(materialized='table') }}\nselect * from (values (1, null), (2, 'x'), (2, null)) as t("Order ID", "select")`,
      'models/silver/schema.yml': `models:
  - name: odd
    tags: [model_tag]
    columns:
      - name: Order ID
        quote: true
        tags: [col_tag]
        data_tests: [not_null, unique]
      - name: select
        quote: true
        config: {tags: [cfg_tag]}
        data_tests:
          - not_null: {config: {store_failures: false}}
          - not_null: {config: {name: select_few_nulls, warn_if: '>5', error_if: '>5'}}
sources:
  - name: crm
    schema: silver
    config: {tags: [src_cfg_tag]}
    tables:
      - name: odd
        columns:
          - name: Order ID
            quote: true
            data_tests: [not_null]
  - name: crm2
    schema: silver
    quoting: {column: true}
    tables:
      - name: odd
        columns:
          - name: Order ID
            data_tests: [not_null]
`,
    });
    await runModels(dir);
    const r = await runQuality(dir, 'test', { storeFailures: true });
    const t = (n: string) => r.tests.get(n)!;
    expect(t('not_null_odd_Order_ID')).toMatchObject({ status: 'pass', failures: 0 });
    expect(t('unique_odd_Order_ID')).toMatchObject({ status: 'fail', failures: 1 });
    expect(t('source_not_null_crm_odd_Order_ID').status).toBe('pass');
    // The source's quoting.column quotes its columns in tests (dbt's quote_columns).
    expect(t('source_not_null_crm2_odd_Order_ID').status).toBe('pass');
    // store_failures: false wins over the flag; without it the flag stores.
    expect(t('not_null_odd_select')).toMatchObject({ status: 'fail', failures: 2 });
    expect(t('not_null_odd_select').storedIn).toBeUndefined();
    expect(t('unique_odd_Order_ID').storedIn).toBe('_lake_tests.unique_odd_Order_ID');
    // Passing within its threshold: no failures recorded (dbt's run_results).
    expect(t('select_few_nulls')).toMatchObject({ status: 'pass', failures: 0 });
    const names = (sel: string) => runQuality(dir, 'test', { select: [sel] }).then((x) => [...x.tests.keys()].sort());
    expect(await names('tag:col_tag')).toEqual(['not_null_odd_Order_ID', 'unique_odd_Order_ID']);
    expect(await names('tag:cfg_tag')).toEqual(['not_null_odd_select', 'select_few_nulls']);
    expect(await names('tag:src_cfg_tag')).toEqual(['source_not_null_crm_odd_Order_ID']);
    // A model's top-level tags: in its YAML are its config's (dbt keeps them for compatibility).
    expect((await names('tag:model_tag')).length).toBe(4);
  });

  it('warnings alone do not fail the run', async () => {
    const dir = makeProject({
      'models/silver/bad.sql': BAD,
      'models/silver/schema.yml': 'models:\n  - name: bad\n    columns:\n      - name: email\n        data_tests:\n          - not_null: {severity: warn}\n',
    });
    const r = await runQuality(dir, 'build');
    expect(r.tests.get('not_null_bad_email')?.status).toBe('warn');
    expect(r.q.failed()).toBe(false);
    expect(r.runResults.status).toBe('success');
  });

  it('tests sources and seeds, with source_ names', async () => {
    const dir = makeProject({
      'seeds/countries.csv': 'code,name\nDE,Germany\nFR,France\nFR,Francia\n',
      'seeds/schema.yml': 'seeds:\n  - name: countries\n    columns:\n      - name: code\n        data_tests: [unique, not_null]\n',
      'models/sources.yml': "sources:\n  - name: crm\n    schema: raw\n    tables:\n      - name: users\n        columns:\n          - name: id\n            data_tests: [not_null]\n",
      'models/silver/users.sql': "select * from {{ source('crm', 'users') }}",
      'models/silver/schema.yml': 'models:\n  - name: users\n',
    });
    const { DuckDBAdapter } = await import('../../src/adapter/duckdb/adapter.js');
    const path = await import('node:path');
    const fs = await import('node:fs');
    fs.mkdirSync(path.join(dir, 'target'), { recursive: true });
    const db = await DuckDBAdapter.open(path.join(dir, 'target', 'lake.duckdb'));
    await db.execute('create schema raw; create table raw.users as select * from (values (1), (null)) t(id)');
    await db.close();
    const r = await runQuality(dir, 'build');
    expect(r.tests.get('source_not_null_crm_users_id')).toMatchObject({ status: 'fail', failures: 1, node: 'source:crm.users' });
    expect(r.tests.get('unique_countries_code')).toMatchObject({ status: 'fail', failures: 1 });
    expect(r.tests.get('not_null_countries_code')?.status).toBe('pass');
  });
});

describe('singular and custom generic tests', () => {
  it('leaves out, without an error, a test that reads a disabled model (as dbt disables it)', async () => {
    const dir = makeProject({
      'models/silver/teams.sql': TEAMS,
      'models/silver/old_teams.sql': "{{ config(enabled=false) }}\nselect 1 as team_id",
      'models/silver/schema.yml': "models:\n  - name: teams\n    columns:\n      - name: team_id\n        data_tests:\n          - relationships: {to: ref('old_teams'), field: team_id}\n          - not_null\n",
      'data_tests/old_teams_checked.sql': "select * from {{ ref('old_teams') }} where team_id is null",
    });
    const r = await runQuality(dir, 'build');
    expect([...r.tests.keys()]).toEqual(['not_null_teams_team_id']);
    expect(r.tests.get('not_null_teams_team_id')?.status).toBe('pass');
  });

  it('runs data_tests/*.sql and {% test %} macros like built-ins', async () => {
    const dir = makeProject({
      'models/silver/bad.sql': BAD,
      'models/silver/teams.sql': TEAMS,
      'macros/tests.sql': `{% test is_even(model, column_name) %}
select * from {{ model }} where {{ column_name }} % 2 <> 0
{% endtest %}
{% test at_most(model, column_name, max_value=10) %}
select * from {{ model }} where {{ column_name }} > {{ max_value }}
{% endtest %}
{% test has_team(model, column_name, teams) %}
select * from {{ model }} where {{ column_name }} not in (select team_id from {{ teams }})
{% endtest %}`,
      'models/silver/schema.yml': `models:
  - name: bad
    columns:
      - name: team_id
        data_tests:
          - is_even
          - at_most: {max_value: 50}
          - has_team: {teams: "ref('teams')"}
  - name: teams
    columns:
      - name: team_id
        data_tests: [is_even]
`,
      'data_tests/no_old_rows.sql': "select * from {{ ref('bad') }} where updated_at < timestamp '2020-01-02'",
      'data_tests/teams_named.sql': "{{ config(severity='warn') }}\nselect * from {{ ref('teams') }} where name is null",
      'data_tests/broken.sql': "select nope from {{ ref('teams') }}",
      // dbt's folder is read too.
      'tests/from_dbt.sql': "select * from {{ ref('teams') }} where team_id > 10",
      // A singular test's properties in YAML (dbt's top-level data_tests:): its config under the SQL's own.
      'tests/yaml_configured.sql': "select * from {{ ref('teams') }} where team_id > 10",
      'tests/props.yml': 'data_tests:\n  - name: yaml_configured\n    description: teams up to 10\n    config:\n      severity: warn\n      tags: [from_yaml]\n  - name: teams_named\n    config:\n      severity: error\n',
    });
    const r = await runQuality(dir, 'build');
    expect(r.tests.get('yaml_configured')).toMatchObject({ status: 'warn', severity: 'warn', kind: 'singular' });
    expect(r.tests.get('is_even_bad_team_id')).toMatchObject({ status: 'fail', failures: 1 });
    expect(r.tests.get('is_even_teams_team_id')?.status).toBe('pass');
    expect(r.tests.get('at_most_bad_team_id__50')).toMatchObject({ status: 'fail', failures: 1 });
    expect(r.tests.get('has_team_bad_team_id__ref_teams_')).toMatchObject({ status: 'fail', failures: 1 });
    expect(r.tests.get('has_team_bad_team_id__ref_teams_')?.node).toBe('silver.bad');
    expect(r.tests.get('no_old_rows')).toMatchObject({ status: 'fail', failures: 2, kind: 'singular', node: 'silver.bad' });
    expect(r.tests.get('teams_named')).toMatchObject({ status: 'pass', severity: 'warn' });
    expect(r.tests.get('from_dbt')).toMatchObject({ status: 'fail', failures: 1, kind: 'singular' });
    const broken = r.tests.get('broken')!;
    expect(broken.status).toBe('error');
    expect(broken.message).toMatch(/nope/);
    expect(broken.message).toMatch(/compiled SQL: .*_tests.broken\.sql/);
  });

  it('a YAML test on a column the model lacks says where it is declared and the column meant', async () => {
    const dir = makeProject({
      'models/silver/teams.sql': TEAMS,
      'models/silver/schema.yml': 'models:\n  - name: teams\n    columns:\n      - name: team_di\n        data_tests: [unique, not_null]\n      - name: name\n        data_tests: [not_null]\n',
    });
    const r = await runQuality(dir, 'build');
    for (const name of ['unique_teams_team_di', 'not_null_teams_team_di']) {
      const t = r.tests.get(name)!;
      expect(t.status).toBe('error');
      expect(t.message).toMatch(/^Binder Error: Referenced column "team_di" not found in FROM clause!\n {2}compiled SQL: .*_tests.*team_di\.sql\n {2}declared at models\/silver\/schema\.yml:5\n {2}hint: did you mean "team_id"\?$/);
    }
    expect(r.tests.get('not_null_teams_name')?.status).toBe('pass');
  });

  it("renders a test argument that calls the project's macros when the test is made, as dbt does", async () => {
    const dir = makeProject({
      'models/silver/teams.sql': TEAMS,
      'macros/util.sql': "{% macro as_sql_list(xs) %}{{ xs | join(', ') }}{% endmacro %}{% macro team_name(i) %}{{ ['red', 'blue'][i - 1] }}{% endmacro %}{% macro team_filter() %}team_id in (10, 20){% endmacro %}",
      'macros/tests.sql': "{% test none_null(model, fields) %}\nselect * from {{ model }} where concat_ws('', {{ fields }}) = ''\n{% endtest %}",
      'models/silver/schema.yml': `models:
  - name: teams
    data_tests:
      - none_null: {fields: "{{ as_sql_list(['team_id', 'name']) }}"}
      - none_null: {fields: "{{ as_sql_list(['team_id']) }}", config: {name: by_id}}
    columns:
      - name: name
        data_tests:
          - accepted_values: {values: ["{{ team_name(1) }}", "{{ team_name(2) }}"], config: {where: "{{ team_filter() }}"}}
`,
    });
    const r = await runQuality(dir, 'build');
    const all = [...r.tests.values()];
    expect(all.map((t) => t.status).sort()).toEqual(['pass', 'pass', 'pass']);
    expect(fs.readFileSync(path.join(dir, 'target/compiled/_tests/none_null_teams_team_id_name.sql'), 'utf8')).toContain("concat_ws('', team_id, name)");
  });

  it('reads ephemeral models through ref() in singular tests, relationships and custom tests (inlined, as in a model); names the parent that is missing', async () => {
    const dir = makeProject({
      'models/silver/teams.sql': TEAMS,
      'models/silver/bad.sql': BAD,
      'models/silver/eph_teams.sql': "{{ config(materialized='ephemeral') }}\nselect team_id from {{ ref('teams') }} where team_id > 10",
      'models/silver/not_built.sql': 'select 1 as team_id',
      'macros/tests.sql': `{% test in_other(model, column_name, other) %}
select * from {{ model }} where {{ column_name }} not in (select team_id from {{ other }})
{% endtest %}`,
      'models/silver/schema.yml': `models:
  - name: bad
    columns:
      - name: team_id
        data_tests:
          - relationships: {to: ref('eph_teams'), field: team_id}
          - in_other: {other: "ref('eph_teams')"}
`,
      // A leading comment, then the test's own WITH: the ephemeral CTE joins it.
      'data_tests/eph_singular.sql': "-- teams above 10 only\nwith t as (select * from {{ ref('eph_teams') }})\nselect * from t where team_id <= 10",
      'data_tests/two_parents.sql': "select b.team_id from {{ ref('bad') }} b join {{ ref('not_built') }} n using (team_id)",
    });
    // Build what the tests read, but not not_built.
    await runModels(dir, { select: ['teams', 'bad'] });
    const q = await runQuality(dir, 'test', { select: ['bad', 'eph_teams'] });
    // bad's team ids 10, 99, 10, 10: none is in eph_teams (20 only).
    expect(q.tests.get('relationships_bad_team_id__team_id__ref_eph_teams_')).toMatchObject({ status: 'fail', failures: 4 });
    expect(q.tests.get('in_other_bad_team_id__ref_eph_teams_')).toMatchObject({ status: 'fail', failures: 4 });
    expect(q.tests.get('eph_singular')).toMatchObject({ status: 'pass' });
    const two = q.tests.get('two_parents')!;
    expect(two.status).toBe('error');
    expect(two.message).toMatch(/has silver\.not_built been built\? run lake build -s silver\.not_built/);
  });

  it('renders Jinja in test arguments: a whole {{ var() }} keeps its list, text is rendered; ref() is left to the test', async () => {
    const dir = makeProject({
      'project.yml': `${PROJECT}vars:\n  statuses: [active, paused]\n  max_age: 50\n`,
      'models/silver/bad.sql': BAD,
      'models/silver/teams.sql': TEAMS,
      'models/silver/schema.yml': `models:
  - name: bad
    columns:
      - name: status
        data_tests:
          - accepted_values: {values: "{{ var('statuses') }}"}
      - name: age
        data_tests:
          - expression_is_true: {expression: "<= {{ var('max_age') }}"}
      - name: team_id
        data_tests:
          - relationships: {to: "ref('teams')", field: team_id}
`,
    });
    const r = await runQuality(dir, 'build');
    expect(r.tests.get('accepted_values_bad_status__active__paused')).toMatchObject({ status: 'fail', failures: 2 });
    expect(r.tests.get('expression_is_true_bad_age___50')).toMatchObject({ status: 'fail', failures: 2 });
    expect(r.tests.get('relationships_bad_team_id__team_id__ref_teams_')).toMatchObject({ status: 'fail', failures: 1 });
  });

  it('takes package-qualified tests written as names or mappings, and names them as dbt does (package first)', async () => {
    const dir = makeProject({
      'models/silver/bad.sql': BAD,
      'models/silver/schema.yml': `models:
  - name: bad
    columns:
      - name: email
        data_tests: [dbt_expectations.expect_column_values_to_not_be_null]
      - name: age
        data_tests:
          - dbt_utils.accepted_range: {min_value: 0, max_value: 120}
`,
    });
    const r = await runQuality(dir, 'build');
    expect(r.tests.get('dbt_expectations_expect_column_values_to_not_be_null_bad_email')).toMatchObject({ status: 'fail', failures: 2 });
    expect(r.tests.get('dbt_utils_accepted_range_bad_age__120__0')).toMatchObject({ status: 'fail', failures: 2 });
  });

  it('takes a {% test %} block\'s own config() as its defaults, and the project file\'s data_tests: config under both', async () => {
    const files = {
      'models/silver/bad.sql': BAD,
      'data_tests/generic/is_odd_id.sql': `{% test is_odd_id(model, column_name) %}
{{ config(severity='warn', where='user_id > 1') }}
select * from {{ model }} where {{ column_name }} % 2 = 0
{% endtest %}`,
      'models/silver/schema.yml': `models:
  - name: bad
    columns:
      - name: team_id
        data_tests:
          - is_odd_id
          - is_odd_id: {config: {severity: error, name: odd_strict}}
      - name: email
        data_tests: [not_null]
`,
    };
    const dir = makeProject(files);
    const r = await runQuality(dir, 'build');
    // (The generic test lives in data_tests/generic/, dbt's place for them.)
    // Rows 3 and 4 (user_id 3) only: team_id 10 twice.
    expect(r.tests.get('is_odd_id_bad_team_id')).toMatchObject({ status: 'warn', failures: 2, severity: 'warn' });
    expect(r.tests.get('odd_strict')).toMatchObject({ status: 'fail', failures: 2 });
    expect(r.tests.get('not_null_bad_email')).toMatchObject({ status: 'fail', failures: 2 });
    const withDefaults = makeProject({ ...files, 'project.yml': `${PROJECT}data_tests:\n  +severity: warn\n  +store_failures: true\n` });
    const w = await runQuality(withDefaults, 'build');
    expect(w.tests.get('not_null_bad_email')).toMatchObject({ status: 'warn', failures: 2 });
    expect(w.tests.get('odd_strict')).toMatchObject({ status: 'fail' }); // the YAML's own severity wins
    expect(await query(withDefaults, 'select count(*)::int as n from _lake_tests.not_null_bad_email')).toEqual([{ n: 2 }]);
    // A folder level: only the tests declared under models/silver/ (as dbt applies it).
    const byFolder = makeProject({
      ...files,
      'project.yml': `${PROJECT}data_tests:\n  silver:\n    +severity: warn\n`,
      'models/gold/good.sql': GOOD,
      'models/gold/schema.yml': 'models:\n  - name: good\n    columns:\n      - name: email\n        data_tests: [{accepted_values: {values: [none]}}]\n',
    });
    const f = await runQuality(byFolder, 'build');
    expect(f.tests.get('not_null_bad_email')).toMatchObject({ status: 'warn' });
    expect(f.tests.get('accepted_values_good_email__none')).toMatchObject({ status: 'fail' });
  });

  it('reports unknown tests and bad configs with file and line', async () => {
    const dir = makeProject({
      'models/silver/a.sql': 'select 1 as id',
      'models/silver/schema.yml': `models:
  - name: a
    columns:
      - name: id
        data_tests:
          - uniqe
          - not_null: {warn_if: 'lots'}
          - accepted_values: {}
`,
    });
    const { LakeError } = await import('../../src/errors/index.js');
    const err = await runQuality(dir, 'test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LakeError);
    const d = (err as InstanceType<typeof LakeError>).diagnostics;
    expect(d.find((x) => x.code === 'LAKE-Q001')).toMatchObject({ file: 'models/silver/schema.yml', line: 6, hint: 'did you mean unique?' });
    expect(d.find((x) => x.message.includes("warn_if 'lots'"))).toMatchObject({ line: 7 });
    expect(d.find((x) => x.message.includes('accepted_values needs a list'))).toMatchObject({ line: 8 });
    // dbt refuses both lists on one column: one would be lost.
    const both = makeProject({ 'models/silver/a.sql': 'select 1 as id', 'models/silver/schema.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests: [not_null]\n        data_tests: [unique]\n' });
    const { loadProject } = await import('../../src/project/load.js');
    expect(loadProject(both).diagnostics.find((x) => x.code === 'LAKE-P019')).toMatchObject({ severity: 'error', file: 'models/silver/schema.yml', line: 5 });
  });
});

describe('the shared scan', () => {
  it('gives every test the failure count of its own query, with and without where', async () => {
    const numeric = ['not_null', 'unique', 'accepted_range: {min: 0, max: 100}', 'accepted_range: {min: 0, max: 100, inclusive: false}'];
    const text = ['not_null', 'unique', 'accepted_values: {values: [active, paused]}', "accepted_values: {values: ['a@x.com'], quote: true}"];
    const modelTests = [
      "expression_is_true: {expression: 'age >= 0'}", 'row_count: {min: 2, max: 3}', 'row_count: {max: 1}',
      'unique_combination_of_columns: {combination_of_columns: [user_id, country]}', "recency: {field: updated_at, max_age: '3 days'}",
    ];
    const wheres = ['', "country = 'DE'", 'user_id > 1', 'false'];
    let n = 0;
    const entry = (t: string, where: string) => {
      const [name, args] = t.includes(':') ? [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1).trim().replace(/^\{|\}$/g, '')] : [t, ''];
      const cfg = `config: {name: t${n++}${where ? `, where: "${where}"` : ''}}`;
      return `- ${name}: {${args ? `${args}, ` : ''}${cfg}}`;
    };
    const cols = (c: string, ks: string[]) => `      - name: ${c}\n        data_tests:\n${ks.flatMap((k) => wheres.map((w) => `          ${entry(k, w)}`)).join('\n')}`;
    const dir = makeProject({
      'models/silver/bad.sql': BAD.replace("timestamp '2020-01-02'", 'now()::timestamp'),
      'models/silver/schema.yml': `models:\n  - name: bad\n    data_tests:\n${modelTests.flatMap((k) => wheres.map((w) => `      ${entry(k, w)}`)).join('\n')}\n    columns:\n${cols('user_id', numeric)}\n${cols('email', text)}\n${cols('status', text)}\n${cols('age', numeric)}`,
    });
    await runModels(dir);
    const { Session } = await import('../../src/app/session.js');
    const { collectDataTests } = await import('../../src/dq/collect.js');
    const { runDataTests, countSql } = await import('../../src/dq/run-data-tests.js');
    const { DuckDBAdapter } = await import('../../src/adapter/duckdb/adapter.js');
    const s = Session.open({ projectDir: dir });
    const { tests, diagnostics } = collectDataTests(s.compiler, s.compiled);
    expect(diagnostics).toEqual([]);
    expect(tests.length).toBe(84);
    const db = await DuckDBAdapter.open(`${dir}/target/lake.duckdb`);
    try {
      const results = await runDataTests(db, tests);
      expect(results.filter((r) => r.batched).length).toBeGreaterThan(50);
      for (const [i, t] of tests.entries()) {
        const [own] = await db.query<{ failures: number }>(countSql(t));
        expect(results[i]!.failures, `${t.name}: ${t.testName} where ${t.config.where ?? '-'}`).toBe(Number(own!.failures));
        expect(results[i]!.status).not.toBe('error');
      }
      expect(results.some((r) => r.failures > 0)).toBe(true);
      expect(results.some((r) => r.failures === 0)).toBe(true);
      // A test that breaks at run time (a text value compared with an integer column) does not hide the others.
      const broken = { ...tests[0]!, name: 'broken', id: 'test.broken', sql: "select * from silver.bad where user_id in ('x')", aggregate: { expr: "count_if(user_id in ('x'))", exact: true } };
      const mixed = await runDataTests(db, [broken, ...tests.slice(1)]);
      expect(mixed[0]!.status).toBe('error');
      expect(mixed.slice(1).map((r) => r.failures)).toEqual(results.slice(1).map((r) => r.failures));
    } finally {
      await db.close();
    }
  });
});
