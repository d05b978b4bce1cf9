/**
 * An installed dbt package's models, snapshots, seeds, sources, data tests (its YAML's, its generic
 * tests in tests/generic, its singular tests), unit tests and run hooks are built with the
 * root project's, as dbt 1.9 builds them (each behaviour here was run side by side with
 * dbt-duckdb on the same files): the package's own dbt_project.yml configs under the root
 * project's `models: {<package>: ...}`, the package's vars under the root's, ref() preferring the
 * root project's node, hooks of the root project first, `package:` selection.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { lake, projectYml, query, writeProject } from './helpers.js';
import { loadProject } from '../../src/project/load.js';

const PROFILES = 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/shop.duckdb\n';

/** Each hook appends a row (a sequence gives the order). */
const log = (who: string) => `"insert into main.hook_log values (nextval('hookseq'), '${who}')"`;
const HOOK_TABLE = ['"create sequence if not exists hookseq"', '"create table if not exists main.hook_log (n integer, who varchar)"'];

/** The package (written in its own folder, or under dbt_packages/ as `dbt deps` leaves it). */
function pkgFiles(dir: string): Record<string, string> {
  return {
    [`${dir}/dbt_project.yml`]: `name: mypkg
version: '1.0'
config-version: 2
vars:
  pkg_var: pkgdefault
  pkg_var2: pkgdefault2
  pkg_var3: pkgdefault3
models:
  mypkg:
    +materialized: table
    staging:
      +tags: ['pkgstg']
      +materialized: view
seeds:
  mypkg:
    +schema: pkgseeds
on-run-start:
${[...HOOK_TABLE, log("pkg start {{ var(\\\"pkg_var\\\") }}")].map((h) => `  - ${h}`).join('\n')}
on-run-end:
  - ${log('pkg end')}
`,
    [`${dir}/models/staging/pkg_stg.sql`]: "select id, name, '{{ var(\"pkg_var\") }}' as v1, '{{ var(\"pkg_var2\") }}' as v2, '{{ var(\"pkg_var3\") }}' as v3 from {{ source('pkgsrc', 'raw_people') }}\n",
    [`${dir}/models/pkg_model.sql`]: "select p.*, s.score from {{ ref('pkg_stg') }} p join {{ ref('pkg_seed') }} s using (id)\n",
    [`${dir}/models/pkg_disabled.sql`]: 'select 1 as x\n',
    [`${dir}/models/schema.yml`]: `version: 2
sources:
  - name: pkgsrc
    schema: main
    tables:
      - name: raw_people
        columns:
          - name: id
            data_tests: [not_null]
models:
  - name: pkg_model
    columns:
      - name: id
        data_tests: [unique, not_null, is_positive]
      - name: score
        data_tests:
          - accepted_values: {values: [10, 20], quote: false}
`,
    [`${dir}/models/unit.yml`]: `unit_tests:
  - name: ut_pkg_model
    model: pkg_model
    given:
      - input: ref('pkg_stg')
        rows: [{id: 1, name: a}]
      - input: ref('pkg_seed')
        rows: [{id: 1, score: 5}]
    expect:
      rows: [{id: 1, name: a, score: 5}]
`,
    [`${dir}/seeds/pkg_seed.csv`]: 'id,score\n1,10\n2,20\n',
    [`${dir}/snapshots/pkg_snap.sql`]: "{% snapshot pkg_snap %}\n{{ config(unique_key='id', strategy='check', check_cols=['score']) }}\nselect * from {{ ref('pkg_seed') }}\n{% endsnapshot %}\n",
    [`${dir}/tests/assert_pkg_scores.sql`]: "select * from {{ ref('pkg_model') }} where score < 0\n",
    [`${dir}/tests/generic/is_positive.sql`]: '{% test is_positive(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} <= 0\n{% endtest %}\n',
    [`${dir}/macros/m.sql`]: '{% macro pkg_upper(x) %}upper({{ x }}){% endmacro %}\n',
    [`${dir}/models/uses_macro.sql`]: "select {{ pkg_upper(\"'a'\") }} as u, {{ mypkg.pkg_upper(\"'b'\") }} as u2, {{ root_only(\"'c'\") }} as r\n",
  };
}

/** The root project `shop` in shop/, reading the package from `pkgDir` (relative to shop/). */
function rootFiles(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'shop/dbt_project.yml': `name: shop
version: '1.0'
config-version: 2
profile: shop
vars:
  pkg_var2: rootglobal
  mypkg:
    pkg_var3: rootscoped
models:
  shop:
    +materialized: table
  mypkg:
    +schema: pkgx
    pkg_disabled:
      +enabled: false
snapshots:
  mypkg:
    +schema: snaps
on-run-start:
${[...HOOK_TABLE, '"create table if not exists main.raw_people as select * from (values (1, \'ann\'), (2, \'bob\')) t(id, name)"', log('root start')].map((h) => `  - ${h}`).join('\n')}
on-run-end:
  - ${log('root end')}
`,
    'shop/profiles.yml': PROFILES,
    // A root macro of the package macro's name: the package's own wins in its models (dbt's local namespace).
    'shop/macros/m.sql': "{% macro pkg_upper(x) %}lower({{ x }}){% endmacro %}\n{% macro root_only(x) %}'root:' || {{ x }}{% endmacro %}\n",
    'shop/models/root_model.sql': "select m.*, s2.id as id2 from {{ ref('pkg_model') }} m join {{ ref('mypkg', 'pkg_stg') }} s2 using (id)\n",
    ...extra,
  };
}

const LOCAL = { 'shop/packages.yml': 'packages:\n  - local: ../pkg\n' };

async function tables(db: string): Promise<string[]> {
  const rows = await query<{ t: string }>(db, "select table_schema || '.' || table_name || ' ' || table_type as t from information_schema.tables where table_schema <> '_lake' order by 1");
  return rows.map((r) => r.t);
}

describe('dbt packages\' nodes', () => {
  it('builds a local package\'s models, seed, source tests and hooks as dbt does, with its configs and vars under the root project\'s', async () => {
    const dir = writeProject({ ...rootFiles(LOCAL), ...pkgFiles('pkg') });
    const root = path.join(dir, 'shop');
    const r = lake(root, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = path.join(root, 'target/shop.duckdb');
    // What dbt build made of the same files (dbt-duckdb 1.9): the root's +schema for the package,
    // the package's own view for staging/ and table elsewhere, its seed's schema, the disabled model left out.
    expect(await tables(db)).toEqual([
      'main.hook_log BASE TABLE', 'main.raw_people BASE TABLE', 'main.root_model BASE TABLE',
      'main_pkgseeds.pkg_seed BASE TABLE', 'main_pkgx.pkg_model BASE TABLE', 'main_pkgx.pkg_stg VIEW', 'main_pkgx.uses_macro BASE TABLE',
      'main_snaps.pkg_snap BASE TABLE',
    ]);
    expect(await query(db, 'select id, score, dbt_valid_to from main_snaps.pkg_snap order by id')).toEqual([{ id: 1, score: 10, dbt_valid_to: null }, { id: 2, score: 20, dbt_valid_to: null }]);
    // Unprefixed in a package model: the package's macro, else the root project's.
    expect(await query(db, 'select * from main_pkgx.uses_macro')).toEqual([{ u: 'A', u2: 'B', r: 'root:c' }]);
    // var(): the package's default, the root's global, the root's scoped to the package.
    expect(await query(db, 'select id, name, v1, v2, v3, score, id2 from main.root_model order by id')).toEqual([
      { id: 1, name: 'ann', v1: 'pkgdefault', v2: 'rootglobal', v3: 'rootscoped', score: 10, id2: 1 },
      { id: 2, name: 'bob', v1: 'pkgdefault', v2: 'rootglobal', v3: 'rootscoped', score: 20, id2: 2 },
    ]);
    // dbt 1.9's hook order: the root project's, then the package's; the package's hook sees its vars.
    expect(await query(db, 'select who from main.hook_log order by n')).toEqual([
      { who: 'root start' }, { who: 'pkg start pkgdefault' }, { who: 'root end' }, { who: 'pkg end' },
    ]);
    // The package's schema.yml tests, on its model and on its source.
    for (const t of ['ut_pkg_model', 'unique_pkg_model_id', 'not_null_pkg_model_id', 'is_positive_pkg_model_id', 'assert_pkg_scores', 'accepted_values_pkg_model_score__False__10__20', 'source_not_null_pkgsrc_raw_people_id']) expect(r.stdout).toContain(t);
    const p = loadProject(root);
    expect(p.diagnostics).toEqual([]);
    expect(p.models.get('main_pkgx.pkg_stg')).toMatchObject({ package: 'mypkg', config: { materialized: 'view', tags: ['pkgstg'] } });
    expect(p.sources.get('source:pkgsrc.raw_people')).toMatchObject({ package: 'mypkg' });
  });

  it('fails the build on a failing test of a package model', () => {
    const files = { ...rootFiles(LOCAL), ...pkgFiles('pkg') };
    files['pkg/seeds/pkg_seed.csv'] = 'id,score\n1,10\n2,30\n';
    const r = lake(path.join(writeProject(files), 'shop'), ['build']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/FAIL.*accepted_values_pkg_model_score__False__10__20/);
  });

  it('reads a package installed under dbt_packages/ the same, and selects its nodes with package: and its name', () => {
    const dir = writeProject({ ...rootFiles(), ...pkgFiles('shop/dbt_packages/mypkg') });
    const root = path.join(dir, 'shop');
    const ls = (...args: string[]) => {
      const r = lake(root, ['ls', '--resource-type', 'all', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').sort();
    };
    const pkgModels = ['main_pkgseeds.pkg_seed', 'main_pkgx.pkg_model', 'main_pkgx.pkg_stg', 'main_pkgx.uses_macro', 'main_snaps.pkg_snap', 'test.assert_pkg_scores', 'test.is_positive_pkg_model_id', 'test.accepted_values_pkg_model_score__False__10__20', 'test.not_null_pkg_model_id', 'test.unique_pkg_model_id'];
    // As dbt ls: the package's name is its nodes and every test it declares (its source's too);
    // package: adds its sources.
    const pkgTests = [...pkgModels, 'test.source_not_null_pkgsrc_raw_people_id', 'unit_test.pkg_model.ut_pkg_model'].sort();
    expect(ls('-s', 'mypkg')).toEqual(pkgTests);
    expect(ls('-s', 'package:mypkg')).toEqual([...pkgTests, 'source:pkgsrc.raw_people'].sort());
    expect(ls('--exclude', 'mypkg')).toEqual(['main.root_model', 'source:pkgsrc.raw_people']);
    expect(ls('-s', 'mypkg.staging')).toEqual(['main_pkgx.pkg_stg']);
    expect(ls('-s', 'package:shop')).toEqual(['main.root_model']);
    expect(ls('--exclude', 'package:mypkg')).toEqual(['main.root_model']);
    const bad = lake(root, ['ls', '-s', 'package:mypgk']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no node comes from a package named mypgk');
    expect(bad.stderr).toContain('did you mean package:mypkg?');
  });

  it('resolves a name the root project and the package share to the root project\'s model, from the package too; ref(package, name) to the package\'s', async () => {
    // dbt's override: the package's ref('pkg_stg') reads the root project's pkg_stg.
    const dir = writeProject({ ...rootFiles({ ...LOCAL, 'shop/models/pkg_stg.sql': "select 1 as id, 'rootversion' as name\n" }), ...pkgFiles('pkg') });
    const root = path.join(dir, 'shop');
    const r = lake(root, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = path.join(root, 'target/shop.duckdb');
    expect(await query(db, 'select * from main_pkgx.pkg_model')).toEqual([{ id: 1, name: 'rootversion', score: 10 }]);
    // root_model: ref('pkg_model') is the package's (the only one), ref('mypkg', 'pkg_stg') the package's view.
    expect(await query(db, 'select id, name, id2 from main.root_model')).toEqual([{ id: 1, name: 'rootversion', id2: 1 }]);
    expect(await query(db, 'select count(*)::int as n from main_pkgx.pkg_stg')).toEqual([{ n: 2 }]);
  });

  it('applies the root project file\'s top-level models: configs to package models too, over the package\'s own, and renders again when a package var changes', async () => {
    const files = { ...rootFiles(LOCAL), ...pkgFiles('pkg') };
    files['shop/dbt_project.yml'] = files['shop/dbt_project.yml']!.replace('  shop:\n    +materialized: table\n', "  +materialized: table\n  +tags: ['top']\n");
    const dir = writeProject(files);
    const root = path.join(dir, 'shop');
    // mypkg: is not a folder of the root project that applies to nothing (LAKE-P051).
    expect(loadProject(root).diagnostics).toEqual([]);
    // As dbt ls gives for the same files: every model tagged top, and tables (the package's staging/ view too).
    const ls = (sel: string) => lake(root, ['ls', '-s', sel]).stdout.trim().split('\n').sort();
    const all = ['main.root_model', 'main_pkgx.pkg_model', 'main_pkgx.pkg_stg', 'main_pkgx.uses_macro'];
    expect(ls('tag:top')).toEqual(all);
    expect(ls('config.materialized:table')).toEqual(all);
    expect(lake(root, ['build']).code).toBe(0);
    const db = path.join(root, 'target/shop.duckdb');
    expect(await query(db, "select table_type from information_schema.tables where table_name = 'pkg_stg'")).toEqual([{ table_type: 'BASE TABLE' }]);
    expect(await query(db, 'select distinct v1 from main_pkgx.pkg_stg')).toEqual([{ v1: 'pkgdefault' }]);
    const pkgYml = path.join(dir, 'pkg/dbt_project.yml');
    fs.writeFileSync(pkgYml, fs.readFileSync(pkgYml, 'utf8').replace('pkg_var: pkgdefault\n', 'pkg_var: changed\n'));
    expect(lake(root, ['build']).code).toBe(0);
    expect(await query(db, 'select distinct v1 from main_pkgx.pkg_stg')).toEqual([{ v1: 'changed' }]);
  });

  it("names a package's nodes with the package's own generate_schema_name / generate_alias_name, before the root project's (dbt's)", async () => {
    const naming = "{% macro generate_schema_name(custom_schema_name, node) -%}\n  pkg_{{ custom_schema_name or target.schema }}\n{%- endmacro %}\n"
      + "{% macro generate_alias_name(custom_alias_name=none, node=none) -%}\n  a_{{ node.name }}\n{%- endmacro %}\n";
    const dir = writeProject({
      'shop/dbt_project.yml': 'name: shop\nconfig-version: 2\nprofile: shop\nmodels:\n  side:\n    +schema: sidex\n',
      'shop/profiles.yml': PROFILES,
      'shop/packages.yml': 'packages:\n  - local: ../side\n',
      'shop/macros/naming.sql': "{% macro generate_schema_name(custom_schema_name, node) -%}\n  root_{{ custom_schema_name or target.schema }}\n{%- endmacro %}\n",
      'shop/models/mine.sql': "select * from {{ ref('side_model') }}\n",
      'side/dbt_project.yml': "name: side\nconfig-version: 2\nmodels:\n  side:\n    +materialized: table\n",
      'side/macros/naming.sql': naming,
      'side/models/side_model.sql': "select id from {{ ref('side_seed') }}\n",
      'side/seeds/side_seed.csv': 'id\n1\n2\n',
    });
    const root = path.join(dir, 'shop');
    const r = lake(root, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await tables(path.join(root, 'target/shop.duckdb'))).toEqual([
      'pkg_main.a_side_seed BASE TABLE', 'pkg_sidex.a_side_model BASE TABLE', 'root_main.mine VIEW',
    ]);
    expect(await query(path.join(root, 'target/shop.duckdb'), 'select count(*)::int as n from root_main.mine')).toEqual([{ n: 2 }]);
  });

  it('says that a lake project (project.yml) builds no package model', () => {
    const dir = writeProject({ 'project.yml': projectYml(), 'models/silver/a.sql': 'select 1 as x\n', ...pkgFiles('dbt_packages/mypkg') });
    const p = loadProject(dir);
    expect([...p.models.keys()]).toEqual(['silver.a']);
    expect(p.diagnostics).toEqual([expect.objectContaining({
      code: 'LAKE-P050', severity: 'warn', file: 'dbt_packages/mypkg/dbt_project.yml',
      message: "package mypkg has 4 models: a lake project (project.yml) builds its own models only (the package's macros and tests are read)",
    })]);
  });

  it('says when two packages have a model of one name (a ref needs the package) and when a package model would build the root\'s relation', () => {
    const two = writeProject({
      ...rootFiles({ 'shop/packages.yml': 'packages:\n  - local: ../pkg\n  - local: ../other\n' }),
      ...pkgFiles('pkg'),
      'other/dbt_project.yml': "name: other\nconfig-version: 2\nmodels:\n  other:\n    +schema: oth\n",
      'other/models/pkg_model.sql': 'select 1 as id\n',
    });
    const r = lake(path.join(two, 'shop'), ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ref('pkg_model') is ambiguous: main_pkgx.pkg_model, main_oth.pkg_model");
    expect(r.stderr).toContain("write ref('mypkg', 'pkg_model') or ref('other', 'pkg_model') to choose one");

    // dbt errors alike ("dbt found nodes in multiple packages"). As dbt's "two resources with the database representation": the root's model and the package's in one relation.
    const clash = writeProject({ ...rootFiles({ ...LOCAL, 'shop/models/clash/pkg_model.sql': 'select 1 as id\n', 'shop/models/root_model.sql': 'select 1 as x\n' }), ...pkgFiles('pkg') });
    const yml = path.join(clash, 'shop/dbt_project.yml');
    writeProject({ 'dbt_project.yml': fs.readFileSync(yml, 'utf8').replace('    +materialized: table\n', '    +materialized: table\n    clash:\n      +schema: pkgx\n') }, path.join(clash, 'shop'));
    const p = loadProject(path.join(clash, 'shop'));
    expect(p.diagnostics).toEqual([expect.objectContaining({
      code: 'LAKE-P021', severity: 'error', file: '../pkg/models/pkg_model.sql',
      message: 'two nodes would build main_pkgx.pkg_model: models/clash/pkg_model.sql (the root project) and ../pkg/models/pkg_model.sql (package mypkg)',
    })]);
  });

  it("renders a package's tests in the package's context: its vars and its own macros, as dbt does", () => {
    const dir = writeProject({
      'shop/dbt_project.yml': 'name: shop\nprofile: shop\n',
      'shop/profiles.yml': PROFILES,
      'shop/models/root_m.sql': 'select 1 as id',
      'shop/dbt_packages/tp/dbt_project.yml': 'name: tp\nvars:\n  tp_min: 1\n',
      'shop/dbt_packages/tp/macros/lim.sql': '{% macro tp_limit() %}{{ var("tp_min") }}{% endmacro %}\n',
      'shop/dbt_packages/tp/models/tp_m.sql': 'select 1 as id union all select 2',
      'shop/dbt_packages/tp/models/schema.yml': 'models:\n  - name: tp_m\n    columns:\n      - name: id\n        data_tests:\n          - not_null:\n              config:\n                where: "id >= {{ var(\'tp_min\') }}"\n          - accepted_values:\n              values: [1, 2]\n              quote: false\n              config:\n                where: "id > {{ tp_limit() }}"\n',
      'shop/dbt_packages/tp/tests/tp_singular.sql': "select * from {{ ref('tp_m') }} where id < {{ var('tp_min') }} and id > {{ tp_limit() }}\n",
    });
    const root = path.join(dir, 'shop');
    const r = lake(root, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 passed.*\(of 3\)/);
  });
});
