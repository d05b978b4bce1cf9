/** Project loading: project.yml (targets, vars, folder configs, paths), YAML beside models, seeds. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { loadProject } from '../../src/project/load.js';
import { LakeError } from '../../src/errors/index.js';
import { writeProject, projectYml, lake, query } from './helpers.js';

describe('project.yml', () => {
  it('reads targets, picks the default or the asked one, and resolves paths', () => {
    const dir = writeProject({
      'project.yml': `name: shop
target: dev
targets:
  dev: { type: duckdb, path: target/dev.duckdb, threads: 3 }
  mem: { type: duckdb, path: ":memory:" }
  prod: { type: duckdb, path: /tmp/abs.duckdb, threads: 8 }
`,
      'models/a.sql': 'select 1 as x',
    });
    const p = loadProject(dir);
    expect(p.name).toBe('shop');
    expect(p.flavor).toBe('lake');
    expect(p.target).toEqual({ name: 'dev', type: 'duckdb', path: path.join(dir, 'target/dev.duckdb'), threads: 3 });
    expect(p.targets.mem!.path).toBe(':memory:');
    expect(p.targets.mem!.threads).toBe(4);
    expect(loadProject(dir, { target: 'prod' }).target).toMatchObject({ name: 'prod', path: '/tmp/abs.duckdb', threads: 8 });
    expect(loadProject(dir, { threads: 1 }).target.threads).toBe(1);
    try {
      loadProject(dir, { target: 'nope' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LakeError);
      const d = (e as LakeError).diagnostics[0]!;
      expect(d.message).toContain("unknown target 'nope'");
      expect(d.hint).toContain('dev, mem, prod');
      expect(d.file).toBe('project.yml');
    }
  });

  it('merges vars with --vars taking precedence', () => {
    const dir = writeProject({ 'project.yml': projectYml('vars:\n  a: 1\n  b: two\n'), 'models/m.sql': 'select 1' });
    expect(loadProject(dir).vars).toEqual({ a: 1, b: 'two' });
    expect(loadProject(dir, { vars: { b: 'three', c: true } }).vars).toEqual({ a: 1, b: 'three', c: true });
  });

  it('applies folder configs: nested folders override, tags and hooks accumulate, schema from the top folder', () => {
    const dir = writeProject({
      'project.yml': projectYml(`models:
  materialized: view
  tags: [all]
  silver:
    materialized: table
    tags: [s]
    marts:
      materialized: incremental
      unique_key: id
      tags: [m]
  gold:
    schema: reporting
    pre_hook: "select 1"
`),
      'models/bronze/b.sql': 'select 1 as id',
      'models/silver/s.sql': 'select 1 as id',
      'models/silver/marts/m.sql': 'select 1 as id',
      'models/gold/g.sql': 'select 1 as id',
      'models/top.sql': 'select 1 as id',
    });
    const p = loadProject(dir);
    expect(p.diagnostics).toEqual([]);
    const cfg = (id: string) => p.models.get(id)!.config;
    expect(cfg('bronze.b')).toMatchObject({ materialized: 'view', schema: 'bronze', tags: ['all'] });
    expect(cfg('silver.s')).toMatchObject({ materialized: 'table', tags: ['all', 's'] });
    expect(cfg('silver.m')).toMatchObject({ materialized: 'incremental', unique_key: ['id'], tags: ['all', 's', 'm'] });
    expect(cfg('reporting.g')).toMatchObject({ schema: 'reporting', pre_hook: ['select 1'] });
    expect(cfg('main.top')).toMatchObject({ schema: 'main', materialized: 'view' });
  });

  it('applies config given to one model or seed by name in the project file, over its folder\'s (as dbt does)', () => {
    const dir = writeProject({
      'project.yml': projectYml(`models:
  silver:
    +materialized: table
    s2:
      +materialized: view
      +tags: [one]
    marts:
      m:
        +enabled: false
  top:
    +schema: special
seeds:
  typed:
    +column_types: { zip: varchar }
`),
      'models/silver/s.sql': 'select 1 as id',
      'models/silver/s2.sql': 'select 1 as id',
      'models/silver/marts/m.sql': 'select 1 as id',
      'models/top.sql': 'select 1 as id',
      'seeds/typed.csv': 'zip\n01234\n',
    });
    const p = loadProject(dir);
    expect(p.diagnostics).toEqual([]);
    expect(p.models.get('silver.s')!.config.materialized).toBe('table');
    expect(p.models.get('silver.s2')!.config).toMatchObject({ materialized: 'view', tags: ['one'] });
    expect(p.models.has('silver.m')).toBe(false);
    expect([...p.models.keys()]).toContain('special.top');
    expect(p.seeds.get('seeds.typed')!.columnTypes).toEqual({ zip: 'varchar' });
  });

  it('renders {{ doc(\'name\') }} in descriptions from {% docs %} blocks in .md files, and names an unknown one', () => {
    const dir = writeProject({
      'project.yml': projectYml(),
      'models/silver/docs.md': '{% docs orders_doc %}\nOne row per **order**.\n{% enddocs %}\n\n{% docs id_doc %}The order id.{% enddocs %}\n',
      'models/silver/orders.sql': 'select 1 as id',
      'models/silver/schema.yml': `models:
  - name: orders
    description: "{{ doc('orders_doc') }}"
    columns:
      - name: id
        description: 'Key: {{ doc("id_doc") }}'
      - name: other
        description: "{{ doc('nope') }}"
`,
    });
    const p = loadProject(dir);
    const m = p.models.get('silver.orders')!;
    expect(m.description).toBe('One row per **order**.');
    expect(m.columns.map((c) => c.description)).toEqual(['Key: The order id.', "{{ doc('nope') }}"]);
    expect(p.diagnostics).toEqual([expect.objectContaining({ code: 'LAKE-P030', file: 'models/silver/schema.yml', line: 8, message: "doc('nope') names no docs block" })]);
  });

  it('honours custom paths for models, seeds, macros and target', () => {
    const dir = writeProject({
      'project.yml': projectYml('paths:\n  models: [sql]\n  seeds: data\n  macros: [lib]\n  target: out\n'),
      'sql/silver/a.sql': 'select {{ two() }} as x',
      'data/people.csv': 'id,name\n1,ada\n',
      'lib/two.sql': '{% macro two() %}2{% endmacro %}',
      'models/ignored.sql': 'select 1',
    });
    const p = loadProject(dir);
    expect([...p.models.keys()]).toEqual(['silver.a']);
    expect([...p.seeds.keys()]).toEqual(['seeds.people']);
    expect([...p.macroFiles.keys()]).toEqual(['lib/two.sql']);
    expect(p.paths.target).toBe('out');
  });

  it('reports a project.yml without a name, and a YAML syntax error with its line', () => {
    const noName = writeProject({ 'project.yml': 'targets: {}\n' });
    expect(() => loadProject(noName)).toThrowError(/needs a `name`/);
    const bad = writeProject({ 'project.yml': 'name: x\ntargets:\n  dev: {type: duckdb\n' });
    try {
      loadProject(bad);
      expect.unreachable();
    } catch (e) {
      const d = (e as LakeError).diagnostics[0]!;
      expect(d.code).toBe('LAKE-P001');
      expect(d.file).toBe('project.yml');
      expect(d.line).toBeGreaterThanOrEqual(3);
    }
  });

  it('says a YAML indentation mistake once, at the line to fix, and a value holding ": " needs quotes', async () => {
    const dir = writeProject({
      'project.yml': projectYml(),
      'models/a.sql': 'select 1 as id',
      'models/b.sql': 'select 2 as id',
      // b's description is indented deeper than its name: the yaml library reports two errors, both on line 4.
      'models/schema.yml': 'models:\n  - name: a\n    description: x\n  - name: b\n      description: y\n    columns: []\n',
    });
    const r = lake(dir, ['run']);
    expect(r.code).toBe(2);
    expect(r.stderr.match(/LAKE-P001/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/^models\/schema\.yml:5:7: error LAKE-P001: invalid YAML: line 5 is indented more than the key on line 4 \(name:\)/);
    expect(r.stderr).toMatch(/hint: indent it as the keys beside it \(keys of one mapping start in the same column\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // Nothing was built.
    expect(fs.existsSync(path.join(dir, 'target/t.duckdb'))).toBe(false);
    fs.writeFileSync(path.join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    description: ratio: 1/2\n');
    const colon = lake(dir, ['run']);
    expect(colon.code).toBe(2);
    expect(colon.stderr).toMatch(/^models\/schema\.yml:3:18: error LAKE-P001: invalid YAML: Nested mappings are not allowed in compact mappings/);
    expect(colon.stderr).toMatch(/hint: a value holding ': ' needs quotes \(description: "ratio: 1\/2"\)/);
    // Fixed, it builds.
    fs.writeFileSync(path.join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    description: "ratio: 1/2"\n');
    expect(lake(dir, ['run']).code).toBe(0);
    expect(await query(path.join(dir, 'target/t.duckdb'), 'select id from main.b')).toEqual([{ id: 2 }]);
  });

  it('warns about a project.yml key lake does not read (a top-level or paths: typo), with its line and the key meant', async () => {
    // `thread: 2` at the top level (the target's key) or `modles:` under paths: did nothing, silently.
    const dir = writeProject({
      'project.yml': `${projectYml()}thread: 2
varz: { x: 1 }
paths:
  modles: [src]
models:
  materialized: table
`,
      'models/a.sql': 'select 1 as x',
    });
    const r = lake(dir, ['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/project\.yml:4: warn LAKE-P051: 'thread' is not a project\.yml key: lake does nothing with it\n {2}hint: did you mean targets: \{ <name>: \{ threads: \.\.\. \} \}\?/);
    expect(r.stderr).toMatch(/project\.yml:5: warn LAKE-P051: 'varz' is not a project\.yml key: lake does nothing with it\n {2}hint: did you mean vars\?/);
    expect(r.stderr).toMatch(/project\.yml:7: warn LAKE-P051: paths: 'modles' is not a path lake knows: lake does nothing with it\n {2}hint: did you mean models\?/);
    // The keys it reads are not warned about, and the project still builds.
    expect(r.stderr.match(/LAKE-P051/g)).toHaveLength(3);
    expect(await query(path.join(dir, 'target/t.duckdb'), 'select x from main.a')).toEqual([{ x: 1 }]);
    // --warn-error makes them stop the command, as every project warning.
    expect(lake(dir, ['run', '--warn-error']).code).toBe(2);
  });
});

describe('YAML beside models', () => {
  const files = {
    'project.yml': projectYml('seeds:\n  schema: raw\n'),
    'models/silver/users.sql': 'select 1 as user_id',
    'models/silver/schema.yml': `models:
  - name: users
    description: One row per user.
    config:
      materialized: table
      tags: [pii]
    columns:
      - name: user_id
        description: The id.
        data_type: BIGINT
        data_tests: [unique, not_null]
      - name: email
        tests:
          - accepted_values: {values: [a, b]}
  - name: ghost
    description: no file
sources:
  - name: crm
    schema: crm_raw
    description: The CRM.
    tables:
      - name: accounts
        identifier: tbl_accounts
        columns:
          - name: id
            data_tests: [unique]
      - name: events
        landing: landing/events
        format: jsonl
`,
    'seeds/countries.csv': 'code,name,population\nfr,France,68\n',
    'seeds/seeds.yml': `seeds:
  - name: countries
    description: Countries.
    config:
      column_types: { population: BIGINT, code: VARCHAR }
`,
  };

  it('reads model docs, config, columns and tests; warns about YAML for a missing model', () => {
    const p = loadProject(writeProject(files));
    const users = p.models.get('silver.users')!;
    expect(users.description).toBe('One row per user.');
    expect(users.config).toMatchObject({ materialized: 'table', tags: ['pii'] });
    expect(users.patchPath).toBe('models/silver/schema.yml');
    expect(users.columns.map((c) => c.name)).toEqual(['user_id', 'email']);
    expect(users.columns[0]).toMatchObject({ description: 'The id.', dataType: 'BIGINT' });
    expect(users.columns[0]!.tests.map((t) => t.name)).toEqual(['unique', 'not_null']);
    expect(users.columns[1]!.tests[0]).toMatchObject({ name: 'accepted_values', args: { values: ['a', 'b'] }, file: 'models/silver/schema.yml', line: 14 });
    const warn = p.diagnostics.find((d) => d.code === 'LAKE-P022')!;
    expect(warn).toMatchObject({ severity: 'warn', file: 'models/silver/schema.yml', line: 15 });
    expect(warn.message).toContain("'ghost'");
  });

  it('reads sources (table identifiers, landing zones) and seeds with column_types', () => {
    const p = loadProject(writeProject(files));
    const acc = p.sources.get('source:crm.accounts')!;
    expect(acc).toMatchObject({ sourceName: 'crm', name: 'accounts', schema: 'crm_raw', identifier: 'tbl_accounts', description: 'The CRM.', landing: undefined, line: 22 });
    expect(acc.columns[0]!.tests[0]!.name).toBe('unique');
    const ev = p.sources.get('source:crm.events')!;
    expect(ev.landing).toMatchObject({ relDir: 'landing/events', format: 'jsonl', files: '*' });
    const seed = p.seeds.get('raw.countries')!;
    expect(seed).toMatchObject({ name: 'countries', schema: 'raw', description: 'Countries.', columnTypes: { population: 'BIGINT', code: 'VARCHAR' } });
    expect(seed.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('collects every YAML problem with file and line instead of stopping at the first', () => {
    const p = loadProject(writeProject({
      'project.yml': projectYml(),
      'models/a.sql': 'select 1',
      'models/one.yml': 'models:\n  - name: a\n    columns:\n      - name: x\n     tests: [y]\n',
      'models/two.yml': 'models:\n  - description: no name\nsources: {}\n',
      'models/three.yml': 'models:\n  - name: a\n',
      'models/four.yml': 'models:\n  - name: a\n',
    }));
    const codes = p.diagnostics.map((d) => `${d.code} ${d.file}:${d.line}`);
    expect(codes).toContain('LAKE-P001 models/one.yml:5');
    expect(codes).toContain('LAKE-P015 models/two.yml:2');
    expect(codes).toContain('LAKE-P016 models/two.yml:3');
    expect(codes.some((c) => c.startsWith('LAKE-P020'))).toBe(true);
  });

  it('warns about an unknown column key, naming the comma that cut a description', () => {
    const p = loadProject(writeProject({
      'project.yml': projectYml(),
      'models/silver/a.sql': 'select 1 as login',
      'models/silver/a.yml': [
        'models:',
        '  - name: a',
        '    columns:',
        '      - name: login',
        '        descripton: typo',
        'sources:',
        '  - name: s',
        '    tables:',
        '      - name: t',
        '        columns:',
        '          login: { data_type: DOUBLE, description: Badge-in time, epoch seconds. }',
        '          logout: { data_type: DOUBLE, description: "Badge-out time, epoch seconds." }',
        '',
      ].join('\n'),
    }));
    const warns = p.diagnostics.filter((d) => d.code === 'LAKE-P024');
    expect(warns.map((w) => `${w.file}:${w.line} ${w.severity}`)).toEqual(['models/silver/a.yml:5 warn', 'models/silver/a.yml:11 warn']);
    expect(warns[0]!.message).toContain("column 'login' has an unknown key 'descripton'");
    expect(warns[0]!.hint).toContain('description');
    expect(warns[1]!.message).toContain("unknown key 'epoch seconds.' (the end of a description cut at a comma?)");
    expect(warns[1]!.hint).toContain('quote a description');
    const src = p.sources.get('source:s.t')!;
    expect(src.columns.find((c) => c.name === 'logout')!.description).toBe('Badge-out time, epoch seconds.');
  });

  it('reports two model files with the same name in one schema', () => {
    const p = loadProject(writeProject({ 'project.yml': projectYml(), 'models/silver/a.sql': 'select 1', 'models/silver/deep/a.sql': 'select 2' }));
    const d = p.diagnostics.find((x) => x.code === 'LAKE-P021')!;
    expect(d.message).toContain('silver.a');
    expect(d.hint).toContain('rename');
  });
});
