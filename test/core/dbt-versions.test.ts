/**
 * dbt's model versions (dbt 1.5+): a YAML model with `versions:` is one model file and one relation
 * per version (`<model>_v<v>`), ref('<model>') reads the latest version, ref('<model>', v=N) one of
 * them; each version has the model's columns it includes and their tests. Checked against what
 * dbt 1.9 + dbt-duckdb build for the same project (relations, rows, test names).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { lake, query, writeProject } from './helpers.js';
import { loadProject } from '../../src/project/load.js';
import { Compiler } from '../../src/compiler/compile.js';

const PROFILE = 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, schema: main}\n';

function versionedProject(extra: Record<string, string> = {}): string {
  return writeProject({
    'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\n',
    'profiles.yml': PROFILE,
    'models/dim_customers_v1.sql': "select 1 as id, 'a' as name, 'FR' as country union all select 2, 'b', 'DE'",
    // The latest version without a _v2 file: dbt reads the unsuffixed file for it.
    'models/dim_customers.sql': "select 1 as id, 'a' as name union all select 2, 'b' union all select 3, 'c'",
    // A prerelease, in a file of its own name (defined_in).
    'models/customers_next.sql': "select 1 as id, 'a' as name, 'x' as segment",
    'models/downstream.sql': "select l.id, l.name, o.country\nfrom {{ ref('dim_customers') }} l\nleft join {{ ref('dim_customers', v=1) }} o using (id)",
    'models/down_old.sql': "select * from {{ ref('dim_customers', version=1) }}",
    'models/schema.yml': `version: 2
models:
  - name: dim_customers
    description: customers
    latest_version: 2
    config:
      materialized: table
    columns:
      - name: id
        data_tests: [unique, not_null]
      - name: name
      - name: country
        data_tests: [not_null]
    versions:
      - v: 1
      - v: 2
        columns:
          - include: all
            exclude: [country]
      - v: 3
        defined_in: customers_next
        description: the next one
        config:
          materialized: view
        columns:
          - include: [id]
          - name: segment
            data_tests: [not_null]
`,
    ...extra,
  });
}

/** A unit test of a model reading versions, and one of two versions of the versioned model. */
const UNIT_TESTS = `unit_tests:
  - name: ut_down
    model: downstream
    given:
      - input: ref('dim_customers')
        rows: [{id: 1, name: x}, {id: 5, name: y}]
      - input: ref('dim_customers', v=1)
        rows: [{id: 1, name: x, country: NL}]
    expect:
      rows: [{id: 1, name: x, country: NL}, {id: 5, name: y, country: null}]
  - name: ut_dim
    model: dim_customers
    versions:
      include: [1, 2]
    given: []
    expect:
      rows: [{id: 1}, {id: 2}]
`;

describe('dbt model versions', () => {
  it('builds one relation per version, reads the latest through ref(name) and a version through v= / version=, and tests each version', async () => {
    const dir = versionedProject();
    const r = lake(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = path.join(dir, 'p.duckdb');
    // As dbt: no unversioned relation of the latest version.
    expect(await query(db, "select table_name as t, table_type as k from information_schema.tables where table_schema = 'main' order by 1")).toEqual([
      { t: 'dim_customers_v1', k: 'BASE TABLE' },
      { t: 'dim_customers_v2', k: 'BASE TABLE' },
      { t: 'dim_customers_v3', k: 'VIEW' },
      { t: 'down_old', k: 'VIEW' },
      { t: 'downstream', k: 'VIEW' },
    ]);
    expect(await query(db, 'select * from main.downstream order by id')).toEqual([
      { id: 1, name: 'a', country: 'FR' }, { id: 2, name: 'b', country: 'DE' }, { id: 3, name: 'c', country: null },
    ]);
    expect(await query(db, 'select count(*)::int as n from main.down_old')).toEqual([{ n: 2 }]);
    const tests = () => (JSON.parse(fs.readFileSync(path.join(dir, 'target/run_results.json'), 'utf8')) as { tests: { name: string; status: string }[] }).tests.map((t) => `${t.name}:${t.status}`).sort();
    // dbt's test names: the version's relation name in them, one test per version that has the column.
    expect(tests()).toEqual([
      'not_null_dim_customers_v1_country:pass', 'not_null_dim_customers_v1_id:pass', 'not_null_dim_customers_v2_id:pass',
      'not_null_dim_customers_v3_id:pass', 'not_null_dim_customers_v3_segment:pass',
      'unique_dim_customers_v1_id:pass', 'unique_dim_customers_v2_id:pass', 'unique_dim_customers_v3_id:pass',
    ]);
    expect(fs.readFileSync(path.join(dir, 'target/compiled/main/downstream.sql'), 'utf8')).toContain('from "main"."dim_customers_v2" l\nleft join "main"."dim_customers_v1" o');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8')) as { nodes: Record<string, Record<string, unknown>> };
    expect(manifest.nodes['main.dim_customers_v2']).toMatchObject({ unique_id: 'model.p.dim_customers.v2', model_name: 'dim_customers', version: 2, latest_version: 2, path: 'models/dim_customers.sql' });
    expect(manifest.nodes['main.dim_customers_v3']).toMatchObject({ unique_id: 'model.p.dim_customers.v3', version: 3, latest_version: 2, description: 'the next one', path: 'models/customers_next.sql' });
    expect(Object.keys(manifest.nodes['main.dim_customers_v3']!.columns as object)).toEqual(['id', 'segment']);
    expect(Object.keys(manifest.nodes['main.dim_customers_v2']!.columns as object)).toEqual(['id', 'name']);
    expect(manifest.nodes['main.downstream']!.depends_on).toMatchObject({ nodes: ['main.dim_customers_v2', 'main.dim_customers_v1'] });
    expect(manifest.nodes['main.downstream']!.unique_id).toBe('model.p.downstream');
    // A NULL country in v1 fails v1's test of the column the model declares; v2, which excludes it, has none.
    fs.writeFileSync(path.join(dir, 'models/dim_customers_v1.sql'), "select 1 as id, 'a' as name, null as country");
    fs.writeFileSync(path.join(dir, 'models/dim_customers.sql'), "select 1 as id, 'a' as name, null as country");
    const failed = lake(dir, ['build', '-s', 'dim_customers']);
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    expect(tests()).toContain('not_null_dim_customers_v1_country:fail');
    expect(tests().filter((t) => t.includes('v2'))).toEqual(['not_null_dim_customers_v2_id:pass', 'unique_dim_customers_v2_id:pass']);
  });

  it("selects every version by the model's name, one by <model>.v<n> or <model>_v<n>, and by version:latest|prerelease|old|none", () => {
    const dir = versionedProject();
    const ls = (...sel: string[]) => {
      const r = lake(dir, ['ls', '-s', ...sel]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return r.stdout.trim().split('\n').filter(Boolean).sort();
    };
    expect(ls('dim_customers')).toEqual(['main.dim_customers_v1', 'main.dim_customers_v2', 'main.dim_customers_v3']);
    expect(ls('dim_customers.v1')).toEqual(['main.dim_customers_v1']);
    expect(ls('dim_customers_v3')).toEqual(['main.dim_customers_v3']);
    expect(ls('p.dim_customers.v2')).toEqual(['main.dim_customers_v2']);
    expect(ls('version:latest')).toEqual(['main.dim_customers_v2']);
    expect(ls('version:prerelease')).toEqual(['main.dim_customers_v3']);
    expect(ls('version:old')).toEqual(['main.dim_customers_v1']);
    expect(ls('version:none')).toEqual(['main.down_old', 'main.downstream']);
    expect(ls('dim_customers.v1+')).toEqual(['main.dim_customers_v1', 'main.down_old', 'main.downstream']);
    const bad = lake(dir, ['ls', '-s', 'version:newest']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown version newest');
  });

  it('reports a duplicate v, a latest_version that is not listed, a version without a file, and refs to an unknown version, with file and line', () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\n',
      'profiles.yml': PROFILE,
      'models/a_v1.sql': 'select 1 as id',
      'models/b_v1.sql': 'select 1 as id',
      'models/c_v1.sql': 'select 1 as id',
      'models/reader.sql': "select * from {{ ref('c', v=7) }} union all select * from {{ ref('c_v1') }}",
      'models/schema.yml': [
        'version: 2', 'models:',
        '  - name: a', '    versions:', '      - v: 1', '      - v: 1',
        '  - name: b', '    latest_version: 3', '    versions:', '      - v: 1',
        '  - name: c', '    versions:', '      - v: 1', '      - v: 2', '',
      ].join('\n'),
    });
    const p = loadProject(dir);
    const load = p.diagnostics.map((d) => `${d.severity} ${d.code} ${d.file}:${d.line} ${d.message}`);
    expect(load).toContain("error LAKE-P070 models/schema.yml:6 model 'a': version 1 is listed twice (also at line 5)");
    expect(load).toContain("error LAKE-P070 models/schema.yml:8 model 'b': latest_version 3 is not one of its versions (1)");
    expect(load).toContain("warn LAKE-P071 models/schema.yml:14 version 2 of model 'c' (the latest: ref('c') reads it) has no model file: no models/**/c_v2.sql nor c.sql");
    const c = new Compiler(p).compileAll();
    const refs = c.diagnostics.filter((d) => d.code === 'LAKE-C001').map((d) => `${d.file}:${d.line} ${d.message} | ${d.hint}`);
    expect(refs).toEqual([
      "models/reader.sql:1 ref('c', v=7): model c has no version 7 (its versions: 1) | use one of v=1, or declare version 7 in the model's YAML with its file",
      "models/reader.sql:1 ref('c_v1') names a version's relation: dbt refs it as ref('c', v=1) | write ref('c', v=1) (or ref('c') for its latest version)",
    ]);
    // The latest version has no file: ref('c') says so.
    fs.writeFileSync(path.join(dir, 'models/reader.sql'), "select * from {{ ref('c') }}");
    const again = new Compiler(loadProject(dir)).compileAll().diagnostics.find((d) => d.code === 'LAKE-C001');
    expect(again?.message).toBe("ref('c'): the latest version of model c (2) has no model file (its versions: 1)");
    // A lake build stops on the project's errors, naming them.
    const r = lake(dir, ['build']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('models/schema.yml:6');
  });

  it("warns about a version past its deprecation_date, and about each model reading it (dbt's warnings)", () => {
    const dir = versionedProject({
      'models/schema.yml': 'version: 2\nmodels:\n  - name: dim_customers\n    versions:\n      - v: 1\n        deprecation_date: 2020-01-01\n      - v: 2\n',
      'models/customers_next.sql': 'select 1 as id',
    });
    const c = new Compiler(loadProject(dir)).compileAll();
    const warns = c.diagnostics.filter((d) => d.severity === 'warn').map((d) => `${d.code} ${d.file}:${d.line} ${d.message} | ${d.hint}`);
    expect(warns).toContain('LAKE-P072 models/schema.yml:5 model dim_customers.v1 has passed its deprecation date of 2020-01-01 | disable or remove it, once nothing reads it');
    expect(warns).toContain("LAKE-C030 models/down_old.sql:1 main.down_old reads dim_customers.v1, which was deprecated on 2020-01-01 | move to its latest version: {{ ref('dim_customers', v=2) }}");
    expect(warns.filter((w) => w.startsWith('LAKE-C030')).length).toBe(2);
    expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it("unit-tests every version of a versioned model (or those of versions: include/exclude) as <name>_v<v>, and gives inputs by ref(name, v=N)", () => {
    const dir = versionedProject({ 'models/unit.yml': UNIT_TESTS });
    const r = lake(dir, ['test', '-s', 'test_type:unit']);
    // As dbt 1.9: ut_dim_v1 passes, ut_dim_v2 finds v2's third row; v3 is not tested.
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const results = JSON.parse(fs.readFileSync(path.join(dir, 'target/run_results.json'), 'utf8')) as { tests: { name: string; status: string }[] };
    expect(results.tests.map((t) => `${t.name}:${t.status}`).sort()).toEqual(['ut_dim_v1:pass', 'ut_dim_v2:fail', 'ut_down:pass']);
  });

  it("selects a versioned model's unit tests by the name their YAML gives (dbt's name): unit_test:, test_name: and the bare name", () => {
    const dir = versionedProject({ 'models/unit.yml': UNIT_TESTS });
    const ls = (sel: string) => {
      const r = lake(dir, ['ls', '--resource-type', 'unit_test', '-s', sel]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').filter(Boolean).sort();
    };
    const both = ['unit_test.dim_customers_v1.ut_dim_v1', 'unit_test.dim_customers_v2.ut_dim_v2'];
    expect(ls('unit_test:ut_dim')).toEqual(both);
    expect(ls('test_name:ut_dim')).toEqual(both);
    expect(ls('ut_dim')).toEqual(both);
    expect(ls('unit_test:ut_di*')).toEqual(both);
    // lake's own per-version name still picks one version.
    expect(ls('unit_test:ut_dim_v1')).toEqual(['unit_test.dim_customers_v1.ut_dim_v1']);
    const r = lake(dir, ['test', '-s', 'unit_test:ut_dim']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const results = JSON.parse(fs.readFileSync(path.join(dir, 'target/run_results.json'), 'utf8')) as { tests: { name: string; status: string }[] };
    expect(results.tests.map((t) => `${t.name}:${t.status}`).sort()).toEqual(['ut_dim_v1:pass', 'ut_dim_v2:fail']);
  });

  it("re-resolves the models reading a versioned model when a version's file appears (lake's watch: Compiler.updateModel)", () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\n',
      'profiles.yml': PROFILE,
      'models/c_v1.sql': 'select 1 as id',
      'models/reader.sql': "select * from {{ ref('c') }}",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: c\n    versions:\n      - v: 1\n      - v: 2\n',
    });
    const compiler = new Compiler(loadProject(dir));
    expect(compiler.compileAll().diagnostics.filter((d) => d.code === 'LAKE-C001').map((d) => d.message)).toEqual(["ref('c'): the latest version of model c (2) has no model file (its versions: 1)"]);
    const u = compiler.updateModel('models/c_v2.sql', 'select 2 as id');
    expect(u.added).toEqual(['main.c_v2']);
    expect(u.diagnostics.filter((d) => d.code === 'LAKE-C001')).toEqual([]);
    expect(compiler.compiledNode('main.reader')!.sql).toBe('select * from "main"."c_v2"');
  });
});
