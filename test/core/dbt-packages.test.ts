/**
 * Installed dbt packages (what `dbt deps` leaves in dbt_packages/): their macros are read,
 * namespaced by the package's name, with adapter.dispatch's search order (the root project first,
 * or the project's `dispatch:`), their generic tests run, and packages.yml entries that are not
 * installed are said. The package here is written in dbt_utils' style (dispatching macros, dbt.*
 * cross-database macros, unprefixed calls between its own macros, a namespaced var).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { copyFixture, lake, query, writeProject } from './helpers.js';
import { loadProject } from '../../src/project/load.js';
import { Compiler } from '../../src/compiler/compile.js';

const PACKAGE: Record<string, string> = {
  'dbt_packages/acme_utils/dbt_project.yml': "name: 'acme_utils'\nversion: '1.2.0'\nconfig-version: 2\nmacro-paths: ['macros']\nvars:\n  'acme_utils:sep': '+'\n  'acme_utils:tz': 'America/Los_Angeles'\n",
  'dbt_packages/acme_utils/macros/sql/surrogate_key.sql': `{%- macro surrogate_key(field_list) -%}
  {{ return(adapter.dispatch('surrogate_key', 'acme_utils')(field_list)) }}
{%- endmacro %}

{%- macro default__surrogate_key(field_list) -%}
{%- set fields = [] -%}
{%- for field in field_list -%}
  {%- do fields.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_null_')") -%}
  {%- if not loop.last %}{%- do fields.append("'" ~ var('acme_utils:sep') ~ "'") -%}{%- endif -%}
{%- endfor -%}
{{ dbt.hash(dbt.concat(fields)) }}
{%- endmacro %}
`,
  'dbt_packages/acme_utils/macros/sql/text.sql': `{% macro clean(x) %}upper({{ strip(x) }}){% endmacro %}
{% macro strip(x) %}trim({{ x }}){% endmacro %}
{% macro shout(x) %}{{ return(adapter.dispatch('shout', 'acme_utils')(x)) }}{% endmacro %}
{% macro default__shout(x) %}upper({{ x }}) || '!'{% endmacro %}
`,
  'dbt_packages/acme_utils/macros/generic_tests/equal_count.sql': `{% test equal_count(model, compare_model) %}
select 1 from (select count(*) as a from {{ model }}) x, (select count(*) as b from {{ compare_model }}) y where a <> b
{% endtest %}
`,
  // In dbt_utils' style: **kwargs passed on through dispatch, read with kwargs.get(); fail_calc;
  // a private macro checking that `model` is a Relation.
  'dbt_packages/acme_utils/macros/generic_tests/filled_share.sql': `{% test filled_share(model, group_by_columns=[]) %}
  {{ return(adapter.dispatch('test_filled_share', 'acme_utils')(model, group_by_columns, **kwargs)) }}
{% endtest %}
{% macro default__test_filled_share(model, group_by_columns) %}
{{ config(fail_calc='sum(case when share < ' ~ kwargs.get('at_least') ~ ' then 1 else 0 end)') }}
{%- if not acme_utils._is_relation(model) %}{{ exceptions.raise_compiler_error('not a relation: ' ~ model) }}{% endif %}
select count({{ kwargs.get('column_name') }}) * 1.0 / count(*) as share from {{ model }}
{% endmacro %}
{% macro _is_relation(obj) %}{{ return(obj is mapping and obj.get('metadata', {}).get('type', '').endswith('Relation')) }}{% endmacro %}
`,
  // Never called: a file lake cannot parse must not break the project.
  'dbt_packages/acme_utils/macros/broken.sql': '{% macro broken() %}{% if %}{% endmacro %}\n',
  // Integration tests of the package are not the project's models.
  'dbt_packages/acme_utils/integration_tests/models/x.sql': 'select 1',
};

const PROJECT: Record<string, string> = {
  'dbt_project.yml': "name: shop\nprofile: shop\nconfig-version: 2\nvars:\n  'acme_utils:sep': '-'\nmodels:\n  shop:\n    +materialized: table\n",
  'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/shop.duckdb\n',
  'packages.yml': 'packages:\n  - package: acme/acme_utils\n    version: 1.2.0\n  - package: dbt-labs/dbt_utils\n    version: [">=1.0.0", "<2.0.0"]\n',
  'models/people.sql': `select id, name, city,
  {{ acme_utils.surrogate_key(['id', 'city']) }} as person_key,
  {{ acme_utils.clean('name') }} as clean_name,
  {{ acme_utils.shout('city') }} as loud_city
from (values (1, ' ann ', 'Oslo'), (2, 'bob', null)) t(id, name, city)
`,
  'models/people_copy.sql': "select * from {{ ref('people') }}",
  'models/schema.yml': `version: 2
models:
  - name: people_copy
    data_tests:
      - acme_utils.equal_count:
          compare_model: ref('people')
    columns:
      - name: city
        data_tests:
          - acme_utils.filled_share:
              at_least: 0.5
              # dbt's test configs beside the arguments: never passed to the test's macro.
              alias: share_of_city
              store_failures_as: view
              description: Half of the cities are known.
`,
  ...PACKAGE,
};

describe('installed dbt packages', () => {
  it('calls a package\'s macros by namespace, with dispatch, dbt.* macros, unprefixed calls inside the package and its vars', async () => {
    const dir = writeProject(PROJECT);
    const p = loadProject(dir);
    // Only the package that is not installed is said; the installed one reads without a word.
    expect(p.diagnostics.map((d) => [d.code, d.file, d.line, d.message])).toEqual([
      ['LAKE-P054', 'packages.yml', 4, 'package dbt-labs/dbt_utils is not installed in dbt_packages/: its macros, models and tests are unknown'],
    ]);
    expect(p.packages!.map((x) => x.name)).toEqual(['acme_utils']);
    // The package's own default of a var is not the project's (dbt keeps it to the package's nodes).
    expect(p.vars['acme_utils:sep']).toBe('-');
    expect(p.vars['acme_utils:tz']).toBeUndefined();
    const c = new Compiler(p).compileAll();
    expect(c.diagnostics.filter((d) => d.code !== 'LAKE-P054')).toEqual([]);
    const sql = c.nodes.get('main.people')!.sql;
    expect(sql).toContain("md5(cast(coalesce(cast(id as varchar), '_null_') || '-' || coalesce(cast(city as varchar), '_null_') as varchar)) as person_key");
    expect(sql).toContain('upper(trim(name)) as clean_name');
    expect(sql).toContain("upper(city) || '!' as loud_city");

    const r = lake(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/equal_count/);
    const rows = await query(path.join(dir, 'target/shop.duckdb'), 'select id, clean_name, loud_city, person_key from main.people order by id');
    expect(rows).toEqual([
      { id: 1, clean_name: 'ANN', loud_city: 'OSLO!', person_key: (await query(path.join(dir, 'target/shop.duckdb'), "select md5('1-Oslo') as k"))[0]!.k },
      { id: 2, clean_name: 'BOB', loud_city: null, person_key: (await query(path.join(dir, 'target/shop.duckdb'), "select md5('2-_null_') as k"))[0]!.k },
    ]);
    // A share of 0.5 filled passes at_least 0.5 and fails at_least 0.6 (fail_calc counts 1 failure).
    fs.writeFileSync(path.join(dir, 'models/schema.yml'), fs.readFileSync(path.join(dir, 'models/schema.yml'), 'utf8').replace('at_least: 0.5', 'at_least: 0.6'));
    const failing = lake(dir, ['test']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/FAIL +\| acme_utils_filled_share_people_copy_0_6__city +\| main.people_copy +\| 1 /);
    // The manifest names package macros with their package, and the model depends on them.
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8')) as { macros: Record<string, { path: string; line: number }>; nodes: Record<string, { depends_on: { macros: string[] } }> };
    expect(manifest.macros['acme_utils.surrogate_key']).toMatchObject({ path: 'dbt_packages/acme_utils/macros/sql/surrogate_key.sql', line: 1 });
    expect(manifest.macros['acme_utils.default__surrogate_key']).toMatchObject({ line: 5 });
    expect(manifest.nodes['main.people']!.depends_on.macros).toEqual(expect.arrayContaining(['acme_utils.surrogate_key', 'acme_utils.clean', 'acme_utils.shout']));
  });

  it('dispatches to the root project first, or in the order of the project\'s dispatch: config', () => {
    const dir = writeProject({ ...PROJECT, 'packages.yml': 'packages:\n  - package: acme/acme_utils\n', 'macros/shout.sql': "{% macro default__shout(x) %}lower({{ x }}) || '?'{% endmacro %}\n" });
    const shout = (d: string) => new Compiler(loadProject(d)).compileAll().nodes.get('main.people')!.sql.match(/(\S+\(city\) \|\| '.') as loud_city/)![1];
    expect(shout(dir)).toBe("lower(city) || '?'");
    fs.appendFileSync(path.join(dir, 'dbt_project.yml'), 'dispatch:\n  - macro_namespace: acme_utils\n    search_order: [acme_utils]\n');
    expect(shout(dir)).toBe("upper(city) || '!'");
    fs.appendFileSync(path.join(dir, 'dbt_project.yml'), '  - macro_namespace: dbt\n    search_order: 3\n');
    expect(loadProject(dir).diagnostics).toEqual([expect.objectContaining({ code: 'LAKE-P055', file: 'dbt_project.yml', line: 12 })]);
  });

  it('says which package file a broken macro is in when a model calls it, and reads local: packages in place', () => {
    const dir = writeProject({
      ...PROJECT,
      'packages.yml': 'packages:\n  - local: ../vendor/acme_utils\n',
      'models/people.sql': "select {{ acme_utils.broken() }} as x",
      'models/people_copy.sql': 'select 1 as x',
    });
    // The package lives outside the project, as a local: package does.
    const vendor = path.join(dir, 'vendor/acme_utils');
    fs.mkdirSync(path.dirname(vendor), { recursive: true });
    fs.renameSync(path.join(dir, 'dbt_packages/acme_utils'), vendor);
    const project = path.join(dir, 'project');
    fs.mkdirSync(project);
    for (const f of ['dbt_project.yml', 'profiles.yml', 'packages.yml', 'models']) fs.renameSync(path.join(dir, f), path.join(project, f));
    const p = loadProject(project);
    expect(p.diagnostics).toEqual([]);
    expect(p.packages!.map((x) => [x.name, x.dir])).toEqual([['acme_utils', '../vendor/acme_utils']]);
    const r = lake(project, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('../vendor/acme_utils/macros/broken.sql:1');
    expect(r.stderr).toMatch(/a macro of package acme_utils/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('loads a package\'s models as nodes (dbt builds them) and finds a test a package defines without its prefix', () => {
    const dir = writeProject({
      ...PROJECT,
      'packages.yml': 'packages:\n  - package: acme/acme_utils\n',
      'dbt_packages/acme_utils/models/staging/stg_x.sql': 'select 1 as x',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: people_copy\n    data_tests:\n      - equal_count:\n          compare_model: ref(\'people\')\n      - acme_utils.equal_cuont:\n          compare_model: ref(\'people\')\n',
    });
    const p = loadProject(dir);
    expect(p.diagnostics).toEqual([]);
    expect([...p.models.keys()].sort()).toEqual(['main.people', 'main.people_copy', 'main.stg_x']);
    expect(p.models.get('main.stg_x')).toMatchObject({ package: 'acme_utils', path: 'dbt_packages/acme_utils/models/staging/stg_x.sql' });
    const r = lake(dir, ['build']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown test 'equal_cuont'[\s\S]*did you mean equal_count/);
  });

  it('runs dbt_expectations tests as the installed package defines them, else as lake\'s built-ins with their arguments translated', async () => {
    const seed = 'id,status,score\n1,ok,10\n2,ok,20\n3,deleted,\n4,deleted,\n5,deleted,\n';
    const tests = `version: 2
seeds:
  - name: t
    data_tests:
      - dbt_expectations.expect_table_row_count_to_be_between: {name: rows_ok, min_value: 1, max_value: 2, row_condition: "status = 'ok'"}
      - dbt_expectations.expect_compound_columns_to_be_unique: {name: compound, column_list: [status, score]}
    columns:
      - name: score
        data_tests:
          - dbt_expectations.expect_column_values_to_not_be_null: {name: score_when_ok, row_condition: "status = 'ok'"}
          - dbt_expectations.expect_column_values_to_be_between: {name: strictly_10_20, min_value: 10, max_value: 20, strictly: true}
      - name: status
        data_tests:
          - dbt_expectations.expect_column_values_to_be_in_set: {name: in_set, value_set: [ok, deleted]}
`;
    const base = { 'dbt_project.yml': PROJECT['dbt_project.yml']!, 'profiles.yml': PROJECT['profiles.yml']!, 'seeds/t.csv': seed, 'seeds/t.yml': tests };
    // Not installed: lake's built-ins, each argument honoured.
    const dir = writeProject(base);
    const r = lake(dir, ['build']);
    const status = (out: string, name: string) => new RegExp(`(PASS|FAIL) +\\| ${name} +\\|[^|]*\\| (\\d+)`).exec(out)?.slice(1).join(' ');
    expect([status(r.stdout, 'rows_ok'), status(r.stdout, 'compound'), status(r.stdout, 'score_when_ok'), status(r.stdout, 'strictly_10_20'), status(r.stdout, 'in_set')])
      .toEqual(['PASS 0', 'FAIL 1', 'PASS 0', 'FAIL 2', 'PASS 0']);
    // An argument the built-in cannot honour is refused, not ignored.
    fs.writeFileSync(path.join(dir, 'seeds/t.yml'), tests.replace('value_set: [ok, deleted]', 'value_set: [ok, deleted], mostly: 0.9'));
    const refused = lake(dir, ['build']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('argument mostly of dbt_expectations.expect_column_values_to_be_in_set is not one lake\'s built-in version of the test honours');
    // Installed: the package's own test (here one that fails every row whatever the data).
    const installed = writeProject({
      ...base,
      'dbt_packages/dbt_expectations/dbt_project.yml': 'name: dbt_expectations\n',
      'dbt_packages/dbt_expectations/macros/nn.sql': '{% test expect_column_values_to_not_be_null(model, column_name, row_condition=None) %}select * from {{ model }}{% endtest %}',
    });
    expect(status(lake(installed, ['build']).stdout, 'score_when_ok')).toBe('FAIL 5');
  });

  it('runs a package-qualified test (dbt_utils.recency) with the installed package\'s macro, as dbt does, not lake\'s built-in of that name', () => {
    const seed = 'id,grp,seen_at\n1,a,2024-01-01 00:00:00\n2,b,2024-01-02 00:00:00\n3,b,2024-01-03 00:00:00\n';
    const tests = (name: string) => `version: 2\nseeds:\n  - name: t\n    data_tests:\n      - ${name}:\n          field: seen_at\n          datepart: day\n          interval: 100000\n          group_by_columns: ['grp']\n`;
    const base = {
      'dbt_project.yml': PROJECT['dbt_project.yml']!, 'profiles.yml': PROJECT['profiles.yml']!, 'seeds/t.csv': seed,
      // The package's recency (written for this test): one failing row per group of group_by_columns.
      'dbt_packages/dbt_utils/dbt_project.yml': 'name: dbt_utils\n',
      'dbt_packages/dbt_utils/macros/recency.sql': "{% test recency(model, field, datepart, interval, ignore_time_component=False, group_by_columns=[]) %}\n{{ return(adapter.dispatch('test_recency', 'dbt_utils')(model, field, datepart, interval, ignore_time_component, group_by_columns)) }}\n{% endtest %}\n{% macro default__test_recency(model, field, datepart, interval, ignore_time_component, group_by_columns) %}\nselect {{ group_by_columns | join(', ') }}, max({{ field }}) as most_recent from {{ model }} group by {{ group_by_columns | join(', ') }}\n{% endmacro %}\n",
    };
    const status = (out: string) => /(PASS|FAIL) +\| (\w*recency\w*) +\|[^|]*\| (\d+)/.exec(out)?.slice(1).join(' ');
    // Qualified: the package's test, so its group_by_columns count (two groups, two failing rows).
    const dir = writeProject({ ...base, 'seeds/t.yml': tests('dbt_utils.recency') });
    expect(status(lake(dir, ['build']).stdout)).toBe('FAIL dbt_utils_recency_t_day__seen_at__grp__100000 2');
    // Unqualified: lake's built-in recency (a 100000-day window: the newest row is recent enough).
    const bare = writeProject({ ...base, 'seeds/t.yml': tests('recency') });
    expect(status(lake(bare, ['build']).stdout)).toBe('PASS recency_t_day__seen_at__grp__100000 0');
  });

  it('keeps the config() of a test that queries the database to write its SQL (fail_calc, severity), as dbt reads it at parse time', () => {
    const dir = writeProject({
      'dbt_project.yml': PROJECT['dbt_project.yml']!, 'profiles.yml': PROJECT['profiles.yml']!,
      'models/m.sql': 'select 1 as id union all select 2',
      // dbt_utils.equality's shape: config() first (a {% set %} block as fail_calc), then
      // nothing at parse time, then the columns from the database.
      'macros/doubled.sql': "{% test doubled(model) %}\n{% set calc %}\n  count(*) * 2\n{% endset %}\n{{ config(fail_calc=calc, severity='warn') }}\n{%- if not execute -%}{{ return('') }}{% endif %}\n{% set cols = adapter.get_columns_in_relation(model) %}\nselect {{ cols | map(attribute='name') | join(', ') }} from {{ model }}\n{% endtest %}\n",
      'models/m.yml': 'version: 2\nmodels:\n  - name: m\n    data_tests:\n      - doubled\n',
    });
    const r = lake(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/WARN +\| doubled_m_ +\| main\.m +\| 4 /);
  });

  it('a package test that queries the database to write its SQL runs with it, beside the other tests', () => {
    const dir = writeProject({
      ...PROJECT,
      'dbt_packages/acme_utils/macros/generic_tests/cols.sql': '{% test same_columns(model, compare_model) %}{% set cols = adapter.get_columns_in_relation(model) %}select 1 where false{% endtest %}',
      'models/schema.yml': PROJECT['models/schema.yml']!.replace('    columns:', "      - acme_utils.same_columns:\n          compare_model: ref('people')\n    columns:"),
    });
    const r = lake(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS +\| acme_utils_same_columns_people_copy_ref_people_ +\|/);
    expect(r.stdout).toMatch(/PASS +\| acme_utils_equal_count_people_copy_ref_people_ /);
  });

  it('keeps a package\'s macros to its namespace in the project, and gives dbt\'s date_spine for a start off the datepart', async () => {
    const dir = writeProject({ ...PROJECT, 'models/people_copy.sql': "select {{ clean('x') }} as c" });
    const r = lake(dir, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown macro or function 'clean'");
    const spine = writeProject({ ...PROJECT, 'models/people_copy.sql': `{{ dbt.date_spine(datepart="month", start_date="cast('2024-01-15' as date)", end_date="cast('2024-05-01' as date)") }}`, 'models/schema.yml': 'version: 2\n' });
    expect(lake(spine, ['run']).code).toBe(0);
    expect((await query(path.join(spine, 'target/shop.duckdb'), 'select strftime(date_month, \'%Y-%m-%d\') as d from main.people_copy order by 1')).map((x) => x.d))
      .toEqual(['2024-01-15', '2024-02-15', '2024-03-15', '2024-04-15']);
  });

  it('writes dbt_utils.star and union_relations with DuckDB\'s star expressions instead of querying the database', async () => {
    const dir = writeProject({
      'dbt_project.yml': PROJECT['dbt_project.yml']!, 'profiles.yml': PROJECT['profiles.yml']!,
      // The package's own versions need the database: lake must not call them.
      'dbt_packages/dbt_utils/dbt_project.yml': 'name: dbt_utils\n',
      'dbt_packages/dbt_utils/macros/star.sql': "{% macro star(from, relation_alias=False, except=[], prefix='', suffix='', quote_identifiers=True) %}{{ return(adapter.dispatch('star', 'dbt_utils')(from, relation_alias, except, prefix, suffix, quote_identifiers)) }}{% endmacro %}\n{% macro default__star(from, relation_alias=False, except=[], prefix='', suffix='', quote_identifiers=True) %}{% set cols = adapter.get_columns_in_relation(from) %}{% endmacro %}",
      'dbt_packages/dbt_utils/macros/union.sql': '{% macro union_relations(relations, column_override=none, include=[], exclude=[], source_column_name="_dbt_source_relation", where=none) %}{{ run_query("select 1") }}{% endmacro %}',
      'models/a.sql': 'select 1 as id, \'x\' as name, 10 as secret',
      'models/b.sql': 'select 2 as id, 3.5 as score',
      'models/starred.sql': "select {{ dbt_utils.star(from=ref('a'), except=['secret']) }}, {{ dbt_utils.star(ref('a'), relation_alias='a2', except=['id'], prefix='p_') }}\nfrom {{ ref('a') }} as a2",
      'models/unioned.sql': "{{ dbt_utils.union_relations(relations=[ref('a'), ref('b')], exclude=['SECRET']) }}",
    });
    const r = lake(dir, ['run']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const db = path.join(dir, 'target/shop.duckdb');
    expect(await query(db, 'select * from main.starred')).toEqual([{ id: 1, name: 'x', p_name: 'x', p_secret: 10 }]);
    expect(await query(db, 'select * from main.unioned order by id')).toEqual([
      { _dbt_source_relation: '"main"."a"', id: 1, name: 'x', score: null },
      { _dbt_source_relation: '"main"."b"', id: 2, name: null, score: 3.5 },
    ]);
  });

  it("stores failing rows where dbt does (<schema>_dbt_test__audit, a test's schema and alias) and runs the project's default__test_not_null for not_null", async () => {
    const dir = writeProject({
      'dbt_project.yml': "name: shop\nprofile: shop\nconfig-version: 2\ndata_tests:\n  shop:\n    +store_failures: true\n",
      'profiles.yml': PROJECT['profiles.yml']!,
      'models/m.sql': 'select * from (values (1, 5), (2, -3), (3, null)) t(id, amt)',
      'macros/not_null.sql': '{% macro default__test_not_null(model, column_name) %}select * from {{ model }} where {{ column_name }} is null or {{ column_name }} < 0{% endmacro %}',
      'models/schema.yml': "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: amt\n        data_tests:\n          - not_null\n          - accepted_values: {values: [5], config: {schema: checks, alias: amt_values}}\n",
    });
    const r = lake(dir, ['build']);
    expect(r.code).toBe(1);
    const db = path.join(dir, 'target/shop.duckdb');
    // The project's override: the negative amount fails not_null too (dbt dispatches to it).
    expect(await query(db, 'select id from main_dbt_test__audit.not_null_m_amt order by id')).toEqual([{ id: 2 }, { id: 3 }]);
    expect(await query(db, 'select value_field from main_checks.amt_values order by 1')).toEqual([{ value_field: -3 }]);
  });

  it('leaves the jaffle fixture (no packages) as it was', () => {
    const p = loadProject(copyFixture('dbt_jaffle'));
    expect(p.packages).toBeUndefined();
    expect(p.diagnostics).toEqual([]);
  });
});
