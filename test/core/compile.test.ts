/** The compiler: refs, config(), ephemerals, templates, `lake compile` output, one-file updates. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { loadProject } from '../../src/project/load.js';
import { Compiler, renderAdhoc, statementShape } from '../../src/compiler/compile.js';
import { writeProject, projectYml, lake } from './helpers.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';

function compile(files: Record<string, string>, opts: { vars?: Record<string, unknown> } = {}) {
  const dir = writeProject({ 'project.yml': projectYml(), ...files });
  const project = loadProject(dir, opts);
  const compiler = new Compiler(project);
  return { dir, compiler, compiled: compiler.compileAll() };
}

describe('refs', () => {
  it('resolves ref by name, by schema.name and to seeds', () => {
    const { compiled } = compile({
      'seeds/raw.csv': 'id\n1\n',
      'models/bronze/a.sql': "select * from {{ ref('raw') }}",
      'models/silver/b.sql': "select * from {{ ref('a') }} join {{ ref('bronze.a') }} using (id)",
      'models/gold/c.sql': "select * from {{ ref('silver', 'b') }}",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('bronze.a')!.sql).toBe('select * from "seeds"."raw"');
    expect(compiled.nodes.get('silver.b')!.sql).toBe('select * from "bronze"."a" join "bronze"."a" using (id)');
    expect(compiled.nodes.get('silver.b')!.dependsOn.nodes).toEqual(['bronze.a']);
    expect(compiled.nodes.get('gold.c')!.dependsOn.nodes).toEqual(['silver.b']);
  });

  it('reports an ambiguous ref with the candidates, and an unknown one with "did you mean", at their line', () => {
    const { compiled } = compile({
      'models/bronze/users.sql': 'select 1 as id',
      'models/silver/users.sql': 'select 1 as id',
      'models/gold/report.sql': "select *\nfrom {{ ref('users') }}\njoin {{ ref('user') }} using (id)\njoin {{ ref('nothing_like_it') }} using (id)\njoin {{ ref('some_pkg', 'thing') }} using (id)",
    });
    const diags = compiled.diagnostics.filter((d) => d.code === 'LAKE-C001');
    expect(diags).toHaveLength(4);
    const [amb, typo, none, pkg] = diags;
    expect(pkg).toMatchObject({ line: 5, col: 9 });
    expect(amb).toMatchObject({ file: 'models/gold/report.sql', line: 2, node: 'gold.report' });
    expect(amb!.message).toBe("ref('users') is ambiguous: bronze.users, silver.users");
    expect(amb!.hint).toBe("write ref('bronze.users') or ref('silver.users') to choose one");
    expect(typo).toMatchObject({ line: 3 });
    expect(typo!.message).toBe("ref('user') matches no model or seed");
    expect(typo!.hint).toMatch(/^did you mean ref\('(bronze|silver)\.users'\) or ref\('(bronze|silver)\.users'\)\? If not, a model is named after its file \(models\/\*\*\/user\.sql\), a seed after its CSV file \(seeds\/user\.csv\): check the name, or add the file$/);
    expect(none).toMatchObject({ line: 4 });
    expect(none!.hint).toBe('a model is named after its file (models/**/nothing_like_it.sql), a seed after its CSV file (seeds/nothing_like_it.csv): check the name, or add the file');
    // An unresolved ref does not become a dependency.
    expect(compiled.nodes.get('gold.report')!.dependsOn.nodes).toEqual([]);
  });

  it('a ref to a seed whose CSV file is missing names where the seed file would be (the project\'s seed paths)', () => {
    const dir = writeProject({
      'project.yml': projectYml(),
      'models/bronze/orders_raw.sql': "select *\nfrom {{ ref('raw_orders') }}",
    });
    const r = lake(dir, ['compile']);
    expect(r.code).toBe(2);
    // The hint spoke of model file names only; the missing file was the seed's.
    expect(r.stderr).toBe("models/bronze/orders_raw.sql:2:9: error LAKE-C001: ref('raw_orders') matches no model or seed\n"
      + '  hint: a model is named after its file (models/**/raw_orders.sql), a seed after its CSV file (seeds/raw_orders.csv): check the name, or add the file\n');
    // Seeds and models elsewhere: the hint names the project's folders.
    fs.writeFileSync(path.join(dir, 'project.yml'), projectYml('paths: { seeds: [data, csv/], models: [models] }\n'));
    const other = lake(dir, ['compile']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('hint: a model is named after its file (models/**/raw_orders.sql), a seed after its CSV file (data/raw_orders.csv or csv/raw_orders.csv)');
    // A name near the ref's is suggested, and the files still named (dbt's jaffle_shop without seeds/raw_orders.csv: stg_orders is near).
    fs.writeFileSync(path.join(dir, 'models/bronze/stg_orders.sql'), 'select 1 as id');
    const near = lake(dir, ['compile']);
    expect(near.stderr).toContain("hint: did you mean ref('bronze.stg_orders')? If not, a model is named after its file (models/**/raw_orders.sql), a seed after its CSV file (data/raw_orders.csv or csv/raw_orders.csv)");
    // With the file there, it compiles.
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data/raw_orders.csv'), 'id\n1\n');
    expect(lake(dir, ['compile']).code).toBe(0);
  });

  it('reports a model that refs itself, and the same id twice', () => {
    const { compiled } = compile({
      'models/a.sql': "select * from {{ ref('a') }}",
      'models/x/b.sql': "{{ config(schema='y') }} select 1",
      'models/y/b.sql': 'select 2',
    });
    expect(compiled.diagnostics.find((d) => d.code === 'LAKE-C003')!.hint).toContain('{{ this }}');
    expect(compiled.diagnostics.find((d) => d.code === 'LAKE-C011')!.message).toContain('y.b');
  });
});

describe('templates', () => {
  it('merges config() over folder and YAML config, and config(schema/alias) moves the relation', () => {
    const { compiled } = compile({
      'models/silver/a.sql': "{{ config(materialized='table', schema='marts', alias='a_v2', tags=['x']) }}\nselect 1 as id",
      'models/silver/schema.yml': 'models:\n  - name: a\n    config:\n      tags: [y]\n      materialized: view\n',
      'models/gold/b.sql': "select * from {{ ref('a') }}",
    });
    expect(compiled.diagnostics).toEqual([]);
    const a = compiled.nodes.get('marts.a')!;
    expect(a.config).toMatchObject({ materialized: 'table', schema: 'marts', alias: 'a_v2', tags: ['y', 'x'] });
    expect(a.relation).toEqual({ schema: 'marts', name: 'a_v2' });
    expect(compiled.nodes.get('gold.b')!.sql).toBe('select * from "marts"."a_v2"');
  });

  it('renders var (with default, overridden by --vars), env_var, this, target and is_incremental', () => {
    process.env.LAKE_TEST_ENV = 'from-env';
    const files = {
      'models/silver/m.sql': `{{ config(materialized='incremental', unique_key='id') }}
select {{ var('n') }} as n, '{{ var('missing', 'dflt') }}' as d, '{{ env_var('LAKE_TEST_ENV') }}' as e,
  '{{ env_var('LAKE_TEST_UNSET', 'x') }}' as f, '{{ target.name }}' as t
from {{ this }}
{% if is_incremental() %}where n > 0{% endif %}`,
    };
    const dir = writeProject({ 'project.yml': projectYml('vars:\n  n: 1\n'), ...files });
    const compiler = new Compiler(loadProject(dir, { vars: { n: 7 } }));
    const c = compiler.compileAll();
    expect(c.diagnostics).toEqual([]);
    const sql = c.nodes.get('silver.m')!.sql;
    expect(sql).toBe(`select 7 as n, 'dflt' as d, 'from-env' as e,\n  'x' as f, 'dev' as t\nfrom "silver"."m"`);
    const inc = compiler.compileOne('silver.m', true);
    expect(inc.node!.sql.endsWith('where n > 0')).toBe(true);
    expect(inc.node!.renderedIncremental).toBe(true);
  });

  it('makes macros callable by name, with defaults, and records them as dependencies', () => {
    const { compiled } = compile({
      'macros/money.sql': '{% macro cents(col, scale=2) -%}\nround({{ col }} / 100.0, {{ scale }})\n{%- endmacro %}\n{% macro unused() %}x{% endmacro %}',
      'models/a.sql': "select {{ cents('amount') }} as a, {{ cents('b', scale=0) }} as b, {{ cents('c', 1) }} as c",
    });
    expect(compiled.diagnostics).toEqual([]);
    const a = compiled.nodes.get('main.a')!;
    expect(a.sql).toBe('select round(amount / 100.0, 2) as a, round(b / 100.0, 0) as b, round(c / 100.0, 1) as c');
    expect(a.dependsOn.macros).toEqual(['cents']);
  });

  it('gives a macro\'s return() value (a list, a dict) to its caller, also through nested and in-model macros', () => {
    const { compiled } = compile({
      'macros/lists.sql': [
        "{% macro methods() %}{{ return(['card', 'cash']) }}{% endmacro %}",
        "{% macro more() %}{% set xs = methods() %}{% do xs.append('gift') %}{{ return(xs) }}{% endmacro %}",
        "{% macro settings() %}ignored text {{ return({'n': 3}) }} and more{% endmacro %}",
        '{% macro text_only(x) %}select {{ x }}{% endmacro %}',
      ].join('\n'),
      'models/a.sql': "{% for m in more() %}select '{{ m }}' as m, {{ settings().n }} as n{% if not loop.last %} union all {% endif %}{% endfor %}",
      'models/b.sql': "{% macro local() %}{{ return(7) }}{% endmacro %}{{ text_only(local() + 1) }} as v, {{ methods() | length }} as n",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.a')!.sql).toBe("select 'card' as m, 3 as n union all select 'cash' as m, 3 as n union all select 'gift' as m, 3 as n");
    expect(compiled.nodes.get('main.b')!.sql).toBe('select 8 as v, 2 as n');
  });

  it('carries values out of a loop with namespace() and {% set ns.attr = ... %}, in models and macros', () => {
    const { compiled } = compile({
      'macros/sum.sql': '{% macro total(xs) %}{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}{% endmacro %}',
      'models/a.sql': "{% set ns = namespace(total=0, label='') %}\n{% for i in [1, 2, 3] %}\n{%- set ns.total = ns.total + i -%}\n{%- set ns.label = ns.label ~ i -%}\n{% endfor %}\nselect {{ ns.total }} as t, '{{ ns.label }}' as l, {{ total([4, 5]) }} as m",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.a')!.sql.trim()).toBe("select 6 as t, '123' as l, 9 as m");
  });

  it('reads `this` in incremental_predicates as the target table (aliased DBT_INTERNAL_DEST)', () => {
    const { compiled } = compile({
      'models/m.sql': "{{ config(materialized='incremental', unique_key='id', incremental_strategy='delete+insert', incremental_predicates=[this ~ \".dt >= date '2024-01-04'\"]) }}select 1 as id, date '2024-01-05' as dt",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.m')!.config.incremental_predicates).toEqual(["DBT_INTERNAL_DEST.dt >= date '2024-01-04'"]);
  });

  it('renders as Jinja does: loop scope, select/reject tests, dict loops, ==, chains, None/True printing, ~, tojson, is sameas, the project namespace', () => {
    const { compiled } = compile({
      'macros/m.sql': [
        "{% macro has_col(cols, name) %}{% set found = false %}{% for c in cols %}{% if c == name %}{% set found = true %}{% endif %}{% endfor %}{{ found }}{% endmacro %}",
        "{% macro flag(v) %}{% if v is not sameas true and v is not sameas false %}bad{% else %}ok{% endif %}{% endmacro %}",
      ].join('\n'),
      'models/a.sql': [
        "{% set n = 0 %}{% for x in [1, 2, 3] %}{% set n = n + x %}{% endfor %}",
        "{% set cols = [{'name': 'a', 't': 'int'}, {'name': 'b', 't': 'str'}, {'name': 'c', 't': 'int'}] %}",
        "{% set m = {'usd': 1, 'eur': 2} %}",
        "select '{{ has_col(['a', 'b'], 'b') }}|{{ n }}' as scope,",
        "'{{ cols | selectattr('t', 'equalto', 'int') | map(attribute='name') | join(',') }}|{{ cols | rejectattr('name', 'in', ['a']) | join(',', attribute='name') }}|{{ [1, 2, 3] | reject('in', [2]) | list }}' as sel,",
        "'{% for cur in m %}{{ cur }}={{ m[cur] }} {% endfor %}' as dict_loop,",
        "'{{ [] == [] }}|{{ 1 == '1' }}|{{ '' == 0 }}|{{ [1, 2] == [1, 2] }}|{{ 3 > 2 > 1 }}|{{ true == 1 }}' as eq,",
        "'{{ none }}|{{ true }}|{{ none ~ 'x' }}|{{ undefined_name ~ 'x' }}|{{ [1, 2] ~ 'x' }}|{{ '%s' % false }}' as printed,",
        "'{{ {'b': [1, 'x'], 'a': 1} | tojson }}|{{ tojson({'b': 1, 'a': 'é'}) }}|{{ \"<a>&\" | tojson }}|{{ '__a__' | trim('_') }}' as misc,",
        "'{{ flag(true) }}|{{ flag(1) }}|{{ t.flag(false) }}' as tests,",
        "'{% for x in [1, 2, 3, 4] if x % 2 == 0 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}' as loop_filter,",
        "'{{ 'x' | int }}|{{ '3.7' | int }}|{{ none | string }}|{{ 'a.b.c'.rsplit('.', 1) }}|{{ 'a-b'.partition('-') }}' as conv,",
        "'{% for g in cols | groupby('t') %}{{ g.grouper }}:{{ g.list | map(attribute='name') | join('') }} {% endfor %}|{{ [[1, 2], [3]] | sum(start=[]) }}|{{ ['A', 'a', 'b'] | unique | list }}|{{ 'hello world' | truncate(8) }}' as filters,",
        "'{{ graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | map(attribute='name') | sort | join(',') }}|{{ graph.nodes['model.t.a'].original_file_path }}' as graph,",
        "'{% set d = {} %}{% for c in ['a', 'b'] %}{% do d.update({c: loop.index}) %}{% endfor %}{{ d }}|{% for k, v in {'a': 1, 'b': 2}.items() if v > 1 %}{{ k }}{{ v }}{% endfor %}|{{ '10' | int(base=2) }}|{{ (1, 2) == [1, 2] }}|{{ {'a': 1}.get('b') }}|{{ {'a': false}.get('a', 1) }}|{{ 0.5 | round }} {{ 2.5 | round }} {{ 2.675 | round(2) }} {{ 2.25 | round(1) }} {{ 2.7 | round(0, 'floor') }}' as more",
      ].join('\n'),
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.a')!.sql.split('\n').filter((l) => l.includes(' as '))).toEqual([
      "select 'False|0' as scope,",
      "'a,c|b,c|[1, 3]' as sel,",
      "'usd=1 eur=2 ' as dict_loop,",
      "'True|False|False|True|True|True' as eq,",
      "'None|True|Nonex|x|[1, 2]x|False' as printed,",
      `'{"a": 1, "b": [1, "x"]}|{"b": 1, "a": "\\u00e9"}|"\\u003ca\\u003e\\u0026"|a' as misc,`,
      "'ok|bad|ok' as tests,",
      "'2:1/2 4:2/2 ' as loop_filter,",
      "'0|3|None|['a.b', 'c']|('a', '-', 'b')' as conv,",
      "'int:ac str:b |[1, 2, 3]|['A', 'b']|hello world' as filters,",
      "'a|models/a.sql' as graph,",
      "'{'a': 1, 'b': 2}|b2|2|False|None|False|0.0 2.0 2.67 2.2 2.0' as more",
    ]);
  });

  it("takes {% break %} and {% continue %} (dbt's Jinja has the loopcontrols extension), in nested, dict and filtered loops; outside a loop they are an error at their line; loop.cycle, changed, previtem, nextitem, depth; Python's slices", () => {
    const { compiled } = compile({
      'macros/m.sql': "{% macro firsts(xs) %}{% for x in xs %}{% if x > 2 %}{% break %}{% endif %}{{ x }}{% endfor %}{% endmacro %}",
      'models/a.sql': [
        "select '{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}' as flat,",
        "'{% for x in [1, 2] %}{% for y in [1, 2, 3] %}{% if y == 2 %}{% break %}{% endif %}{{ x }}{{ y }};{% endfor %}[{{ loop.index }}]{% endfor %}' as nested,",
        "'{% for k in {'a': 1, 'b': 2, 'c': 3} %}{% if k == 'b' %}{% continue %}{% endif %}{% set seen = k %}{{ seen }}{% endfor %}' as dict_loop,",
        "'{% for x in [1, 2, 3] if x > 1 %}{% if loop.first %}{% continue %}{% endif %}{{ x }}{% endfor %}|{{ firsts([1, 2, 3, 1]) }}' as filtered,",
        "'{{ ['a'][:2] | join('_') }}|{{ [1, 2, 3][1:10] }}|{{ [1, 2, 3][-5:] }}|{{ [1, 2, 3][::-1] }}|{{ [1, 2, 3][5:0:-1] }}|{{ (1, 2, 3)[1:] }}|{{ 'abc'[-5:2] }}' as slices,",
        "'{% for x in [1, 1, 2, 1] %}{{ loop.cycle('a', 'b') }}{% if loop.changed(x) %}!{% endif %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}{% for y in [0] %}{{ loop.depth }}{% endfor %}{{ loop.depth0 }} {% endfor %}' as loop_object",
      ].join('\n'),
      'models/b.sql': "select 1 as x\n{% break %}",
    });
    expect(compiled.nodes.get('main.a')!.sql.split('\n')).toEqual(["select '13' as flat,", "'11;[1]21;[2]' as nested,", "'ac' as dict_loop,", "'3|12' as filtered,", "'a|[2, 3]|[1, 2, 3]|[3, 2, 1]|[3, 2]|(2, 3)|ab' as slices,",
      "'a!<1>110 b1<1>210 a!1<2>110 b!2<1>10 ' as loop_object"]);
    expect(compiled.diagnostics).toEqual([expect.objectContaining({ file: 'models/b.sql', line: 2, message: expect.stringContaining('{% break %} outside a for loop') })]);
  });

  it("spreads *args in calls, as Jinja does, and keeps dbt's builtins for a project macro that overrides ref()", () => {
    const { compiled } = compile({
      'macros/m.sql': "{% macro f(a, b, c=3) %}{{ a }}-{{ b }}-{{ c }}{% endmacro %}{% macro g() %}{{ varargs | length }}{% endmacro %}",
      // The pattern of projects that route refs (dbt's docs: builtins.ref(*varargs, **kwargs)).
      'macros/ref.sql': "{% macro ref() %}{% set rel = builtins.ref(*varargs, **kwargs) %}{{ return(rel) }}{% endmacro %}",
      'models/a.sql': "{% set xs = [1, 2] %}{% set kw = {'c': 7} %}{% set cols = \"id, * exclude (v)\" %}select '{{ f(*xs) }}|{{ f(*xs, **kw) }}|{{ g(*xs) }}|{% for i in [1, 2, 3] %}{{ loop.cycle(*xs) }}{% endfor %}|{{ cols }}|{{ f('a, *b', *xs) }}' as spread, count(*) as n from {{ ref('b') }}",
      'models/b.sql': 'select 1 as id',
    });
    expect(compiled.diagnostics).toEqual([]);
    // A string literal's `, *` is text, not a spread.
    expect(compiled.nodes.get('main.a')!.sql).toBe(`select '1-2-3|1-2-7|2|121|id, * exclude (v)|a, *b-1-2' as spread, count(*) as n from "main"."b"`);
    expect(compiled.nodes.get('main.a')!.dependsOn.nodes).toEqual(['main.b']);
  });

  it("has Jinja's tests and filters that Nunjucks lacks, and prints varargs, items() and dictsort as tuples", () => {
    const { compiled } = compile({
      'macros/m.sql': "{% macro f(a) %}{{ varargs }}{% endmacro %}",
      'models/a.sql': [
        "select '{{ [] is sequence }} {{ 'a' is sequence }} {{ 1 is sequence }} {{ 1 is integer }} {{ 1.5 is float }} {{ true is boolean }} {{ none is none }} {{ 'a' is in(['a']) }} {{ false is false }}' as tests,",
        "'{{ {'a': 1, 'b': 2} | count }}|{{ {'a': 1} | attr('a') }}|{{ f(1, 2, 3) }}|{{ f(1, 2) }}|{{ {'a': 1}.items() | list }}|{{ {'b': 1, 'a': 2} | dictsort }}|{{ '%s' % [1] }}|{{ '%s-%s' % ('a', 'b') }}' as more",
      ].join('\n'),
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.a')!.sql.split('\n')).toEqual([
      "select 'True True False True True True True True True' as tests,",
      "'2||(2, 3)|(2,)|[('a', 1)]|[('a', 2), ('b', 1)]|[1]|a-b' as more",
    ]);
  });

  it("has dbt's modules.datetime: date, datetime, timedelta, strptime, fromisoformat, + and - as Python's", () => {
    const { compiled } = compile({
      'models/a.sql': [
        "{% set dt = modules.datetime %}{% set start = dt.datetime.strptime('2024-01-05', '%Y-%m-%d') - dt.timedelta(days=2) %}",
        "select '{{ start.strftime('%Y%m%d') }}' as lookback, '{{ dt.date(2020, 1, 5) + dt.timedelta(weeks=1) }}' as week_later,",
        "'{{ dt.datetime(2024, 1, 3, 12) - dt.datetime(2024, 1, 1) }}|{{ (dt.datetime(2024, 1, 3) - dt.datetime(2024, 1, 1)).days }}|{{ dt.timedelta(hours=26).total_seconds() }}' as deltas,",
        "'{{ dt.date.fromisoformat('2024-02-29').replace(day=1) }}|{{ dt.date(2024, 1, 2) < dt.date(2024, 1, 10) }}|{{ dt.date(2024, 1, 1).weekday() }}|{{ 5 - 2 }}' as misc,",
        "'{{ (run_started_at - dt.timedelta(days=1)).year > 2000 }}|{{ (dt.datetime.now() - dt.timedelta(days=3)).strftime('%Y') | length }}|{{ dt.date.today().replace(day=1).day }}|{{ dt.datetime.utcnow().date() | length }}' as relative",
      ].join('\n'),
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.a')!.sql.split('\n')).toEqual([
      "select '20240103' as lookback, '2020-01-12' as week_later,",
      "'2 days, 12:00:00|2|93600' as deltas,",
      "'2024-02-01|True|0|3' as misc,",
      "'True|4|1|10' as relative",
    ]);
  });

  it('stops at a keyword argument a macro does not take, as Jinja does (unless the macro reads kwargs)', () => {
    const { compiled } = compile({
      'macros/m.sql': "{% macro ranges(model, gaps='allowed') %}{{ gaps }}{% endmacro %}{% macro open(x) %}{{ kwargs | length }}{% endmacro %}",
      'models/a.sql': "select '{{ open(1, y=2) }}' as ok, '{{ ranges('m', gap='not_allowed') }}' as typo",
      'models/b.sql': 'select 1 as x',
    });
    expect(compiled.diagnostics).toEqual([expect.objectContaining({ file: 'models/a.sql', message: expect.stringContaining("a macro taking (model, gaps) was given the keyword argument 'gap', which it does not take") })]);
  });

  it('refuses stream() of a CDC model that deletes rows (the deletes would never arrive), not of one that merges', () => {
    const { compiled } = compile({
      'models/changes.sql': "{{ config(materialized='incremental') }}select 1 as id, 1 as seq, 'I' as op, 1::bigint as _lake_batch",
      'models/scd1.sql': "{{ config(materialized='incremental', incremental_strategy='cdc', unique_key='id', sequence_by='seq', delete_when=\"op = 'D'\") }}select * from {{ stream(ref('changes')) }}",
      'models/merged.sql': "{{ config(materialized='incremental', unique_key='id') }}select * from {{ stream(ref('changes')) }}",
      'models/down.sql': "{{ config(materialized='incremental', unique_key='id') }}select id\nfrom {{ stream(ref('scd1')) }}",
      'models/fine.sql': "{{ config(materialized='incremental', unique_key='id') }}select id from {{ stream(ref('merged')) }} union all select id from {{ ref('scd1') }}",
    });
    expect(compiled.diagnostics).toEqual([expect.objectContaining({
      code: 'LAKE-C021', file: 'models/down.sql', line: 2, col: 9,
      message: "stream(ref('scd1')) reads the rows written to main.scd1 since main.down last ran, but main.scd1 deletes rows (incremental_strategy='cdc' with delete_when): main.down would never see the deletes",
    })]);
  });

  it('says that a dbt package macro (dbt_utils.star) is not installed, at the call', () => {
    const { compiled } = compile({ 'models/a.sql': "select\n  {{ dbt_utils.star(ref('b')) }}\nfrom {{ ref('b') }}", 'models/b.sql': 'select 1 as x' });
    expect(compiled.diagnostics).toEqual([expect.objectContaining({
      code: 'LAKE-T002', file: 'models/a.sql', line: 2, col: 6,
      message: "unknown macro 'dbt_utils.star': package dbt_utils is not installed (lake reads the packages in dbt_packages/ but never downloads one)",
    })]);
  });

  it('renders the Jinja of dbt packages: **kwargs, kwargs and varargs in macros, list +, modules.re, _private macros, keywords to dbt.* macros', () => {
    const { compiled } = compile({
      'macros/kw.sql': [
        "{% macro outer(model, group_by=[]) %}{{ return(inner(model, group_by, **kwargs)) }}{% endmacro %}",
        "{% macro inner(model, group_by) %}{{ model }}|{{ group_by | join(',') }}|{{ kwargs.get('at_least', 0) }}|{{ kwargs | length }}{% endmacro %}",
        "{% macro many(a) %}{{ a }}:{{ varargs | join('-') }}{% endmacro %}",
        '{% macro _hidden(x) %}h{{ x }}{% endmacro %}',
        '{% macro shown(x) %}{{ _hidden(x) }}{% endmacro %}',
      ].join('\n'),
      'models/a.sql': [
        "select '{{ outer('m', ['a'], at_least=0.9, column_name='c') }}' as k,",
        "'{{ many(1, 2, 3) }}' as v,",
        "'{{ (['x'] + ['y', 'z']) | join(',') }}' as l, {{ 1 + 2 }} as n, '{{ 'a' + 'b' }}' as s,",
        "'{{ modules.re.sub('[^a-z0-9_]+', '', 'My Col-1' | lower) }}' as r,",
        "'{{ modules.re.match('(?P<y>\\d{4})-(\\d+)', '2024-07').group('y') }}' as y, '{{ modules.re.search('x', 'abc') is none }}' as nomatch,",
        "'{{ modules.re.findall('\\d', 'a1b22') | join(',') }}' as f, '{{ shown(5) }}' as p,",
        "{{ dbt.dateadd(datepart='day', interval=2, from_date_or_timestamp=\"date '2024-01-01'\") }} as d,",
        "'{% if [] %}list{% elif {} %}dict{% elif not [] and ({'a': 1} or 0) %}ok{% endif %}' as t,",
        "'{{ [] or 'fallback' }}|{{ 'x' if {} else 'y' }}|{{ [1] and 'both' }}|{{ none or [] }}' as o, {{ pick(['a']) }} {{ pick() }}",
      ].join('\n'),
      'macros/pick.sql': "{% macro pick(except=[]) %}select *{% if except %} exclude ({{ except | join(', ') }}){% endif %}{% endmacro %}",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.a')!.sql).toBe([
      "select 'm|a|0.9|2' as k,",
      "'1:2-3' as v,",
      "'x,y,z' as l, 3 as n, 'ab' as s,",
      "'mycol1' as r,",
      "'2024' as y, 'True' as nomatch,",
      "'1,2,2' as f, 'h5' as p,",
      "(date '2024-01-01' + cast(2 as bigint) * interval 1 day) as d,",
      "'ok' as t,",
      "'fallback|y|both|[]' as o, select * exclude (a) select *",
    ].join('\n'));
  });

  it('leaves out a model whose own file says config(enabled=false), and says so to a ref of it', () => {
    const { compiled, compiler, dir } = compile({
      'models/off.sql': "{{ config(enabled=false) }}\nselect * from does_not_exist",
      'models/on.sql': 'select 1 as id',
      'models/uses.sql': "select * from {{ ref('off') }}",
    });
    expect([...compiled.nodes.keys()].sort()).toEqual(['main.on', 'main.uses']);
    const d = compiled.diagnostics.find((x) => x.code === 'LAKE-C001');
    expect(d).toMatchObject({ file: 'models/uses.sql', message: "ref('off') is a disabled model (config(enabled=false) in models/off.sql)" });
    // Enabled again by an edit (lake watch), then disabled again.
    const on = compiler.updateModel(path.join(dir, 'models/off.sql'), 'select 2 as id');
    expect(on.added).toEqual(['main.off']);
    expect(on.diagnostics.filter((x) => x.severity === 'error')).toEqual([]);
    const off = compiler.updateModel(path.join(dir, 'models/off.sql'), "{{ config(enabled=false) }}\nselect 2 as id");
    expect(off.removed).toEqual(['main.off']);
    expect(off.diagnostics.find((x) => x.code === 'LAKE-C001')?.message).toMatch(/disabled model/);
  });

  it('inlines ephemeral models as CTEs, nested ones inside their consumers', () => {
    const { compiled } = compile({
      'models/e1.sql': "{{ config(materialized='ephemeral') }}select 1 as id",
      'models/e2.sql': "{{ config(materialized='ephemeral') }}select id + 1 as id from {{ ref('e1') }}",
      'models/v.sql': "with x as (select 5 as id)\nselect * from {{ ref('e2') }} union all select * from x",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.v')!.sql).toBe([
      'with "__lake_eph__e2" as (',
      'with "__lake_eph__e1" as (',
      'select 1 as id',
      ')',
      'select id + 1 as id from "__lake_eph__e1"',
      '),',
      'x as (select 5 as id)',
      'select * from "__lake_eph__e2" union all select * from x',
    ].join('\n'));
    expect(compiled.nodes.get('main.v')!.dependsOn.nodes).toEqual(['main.e2']);
  });

  it('joins the CTEs to a WITH that follows leading comments, and inlines ephemerals in ad-hoc SQL', () => {
    const { compiled, compiler } = compile({
      'models/e1.sql': "{{ config(materialized='ephemeral') }}select 1 as id",
      'models/v.sql': "-- first comment\n/* second */\nwith x as (select * from {{ ref('e1') }})\nselect * from x",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.v')!.sql).toBe('-- first comment\n/* second */\nwith "__lake_eph__e1" as (\nselect 1 as id\n),\nx as (select * from "__lake_eph__e1")\nselect * from x');
    // A query (a data test, lake show --inline) gets the CTE; another statement (a hook) a subquery.
    expect(renderAdhoc(compiler, "select count(*) from {{ ref('e1') }} as e", 'x.sql').sql).toBe('with "__lake_eph__e1" as (\nselect 1 as id\n)\nselect count(*) from "__lake_eph__e1" as e');
    expect(renderAdhoc(compiler, "insert into t select * from {{ ref('e1') }}", 'x.sql').sql).toBe('insert into t select * from (\nselect 1 as id\n)');
  });
});

describe('dbt context', () => {
  it('gives ref() dbt Relation attributes, and execute, model, this.table, invocation_id, dbt_version', () => {
    const { compiled } = compile({
      'models/silver/orders.sql': 'select 1 as id',
      'models/silver/schema.yml': 'models:\n  - name: orders\n    config: {alias: orders_v2}\n',
      'models/gold/m.sql': "select '{{ ref('orders').identifier }}' as i, '{{ ref('orders').schema }}' as s, '{{ this.table }}' as t, '{{ model.name }}/{{ model.unique_id }}' as m, '{{ \"yes\" if execute else \"no\" }}' as e, '{{ dbt_version }}' as v, '{{ invocation_id | length }}' as l\nfrom {{ ref('orders') }}",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('gold.m')!.sql).toBe("select 'orders_v2' as i, 'silver' as s, 'm' as t, 'm/model.t.m' as m, 'yes' as e, '1.8.0' as v, '36' as l\nfrom \"silver\".\"orders_v2\"");
  });
});

describe('raise_compiler_error', () => {
  it('says this and refs as written, at the line of the call', () => {
    const { compiled } = compile({
      'models/silver/orders.sql': 'select 1 as id',
      'models/gold/rx.sql': "select 1 as x\n{% if true %}\n  {{ exceptions.raise_compiler_error('Invalid config for ' ~ this ~ ' reading ' ~ ref('orders')) }}\n{% endif %}",
    });
    expect(compiled.diagnostics).toMatchObject([{ code: 'LAKE-T005', file: 'models/gold/rx.sql', line: 3, message: 'Invalid config for gold.rx reading orders' }]);
  });

  it('under {% if execute %} fails that model alone when it is built, as dbt (its parse has execute false)', () => {
    const files = {
      'models/a.sql': 'select 1 as id',
      'models/b.sql': "{% if execute %}{{ exceptions.raise_compiler_error('b is not ready') }}{% endif %}\nselect * from {{ ref('a') }}",
      'models/c.sql': "select * from {{ ref('b') }}",
      'models/d.sql': 'select 2 as id',
    };
    const { compiled } = compile(files);
    expect(compiled.diagnostics).toEqual([]);
    const b = compiled.nodes.get('main.b')!;
    expect(b.executeError).toMatchObject({ code: 'LAKE-T005', file: 'models/b.sql', line: 1, message: 'b is not ready' });
    expect(b.dependsOn.nodes).toEqual(['main.a']);
    expect(compiled.nodes.get('main.d')!.executeError).toBeUndefined();
    const dir = writeProject({ 'project.yml': projectYml(), ...files });
    const run = lake(dir, ['run']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/OK +main\.a/);
    expect(run.stdout).toMatch(/OK +main\.d/);
    expect(run.stdout).toMatch(/ERROR main\.b/);
    expect(run.stdout).toMatch(/SKIP +main\.c/);
    expect(run.stdout + run.stderr).toContain('b is not ready');
    // lake compile: the model fails alone (exit 1, its file not written), the others are written.
    const c = lake(dir, ['compile']);
    expect(c.code, c.stdout + c.stderr).toBe(1);
    expect(c.stdout + c.stderr).toContain('models/b.sql:1');
    expect(fs.existsSync(path.join(dir, 'target/compiled/main/b.sql'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'target/compiled/main/c.sql'), 'utf8')).toBe('select * from "main"."b"\n');
  });
});

describe('Python and dbt in templates', () => {
  it('has Python string methods, slices and negative indexes, Jinja filters Nunjucks lacks, and dbt context functions', () => {
    const { compiled } = compile({
      'models/m.sql': `{% set s = "  Hello_World  " %}{% set cols = [{'name': 'a'}, {'name': 'b'}, {'name': 'a'}] %}{% set l = [3, 1, 2] %}{% do l.extend([9]) %}
select '{{ s.strip().lower() }}|{{ "a_b_c".replace("_", " ").upper() }}|{{ "abc"[0:2] }}|{{ "abc"[-1] }}|{{ "a b  c".split() | length }}|{{ "x,y".split(",") | join("+") }}' as strs,
  '{{ cols | map(attribute="name") | unique | join(",") }}|{{ l | max }}|{{ l | min }}|{{ l[-1] }}|{{ ["a", "b"] | map("upper") | join }}' as lists,
  '{{ "%03d-%s-%.1f" | format(5, "x", 2.26) }}|{{ "{}-{name}".format(1, name="n") }}|{{ "Title case".title() }}|{{ "ab".startswith(("x", "a")) }}' as fmt,
  '{{ zip([1, 2], ["a", "b"]) | map("join", ":") | join(",") }}|{{ fromjson('{"a": 2}').a }}|{{ tojson({"k": [1]}) }}|{{ local_md5("x") }}' as fns`,
    });
    expect(compiled.diagnostics).toEqual([]);
    const sql = compiled.nodes.get('main.m')!.sql;
    expect(sql).toContain("'hello_world|A B C|ab|c|3|x+y' as strs");
    expect(sql).toContain("'a,b|9|1|9|AB' as lists");
    expect(sql).toContain("'005-x-2.3|1-n|Title Case|True' as fmt");
    expect(sql).toContain(`'1:a,2:b|2|{"k": [1]}|9dd4e461268c8034f5c8564e155c67a6' as fns`);
  });

  it('parses nested dict literals in a set and in a call (Nunjucks ended the tag at the first }})', () => {
    const { compiled } = compile({
      'macros/m.sql': "{% macro pick(d) %}{{ d.a.b }}{% endmacro %}",
      'models/m.sql': "{% set m = {'a': {'b': 1}} %}select {{ m.a.b }} as x, {{ var('n', {'a': {'b': 2}}).a.b }} as y, {{ pick({'a': {'b': 3}}) }} as z, '}}' as w",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.m')!.sql).toBe("select 1 as x, 2 as y, 3 as z, '}}' as w");
  });

  it('compiles run_query and adapter.get_columns_in_relation as dbt parses them: execute false, no database (a run renders them with it)', () => {
    const { compiled } = compile({
      'models/a.sql': "{% set r = run_query('select 1') %}select {{ r is none }} as x, {{ execute }} as e",
      'models/b.sql': "{% set cols = adapter.get_columns_in_relation(ref('a')) %}select {{ cols | length }} as x",
      'models/c.sql': "{% set r = run_query('select 1') %}{% if r is none %}{{ exceptions.raise_compiler_error('no result') }}{% endif %}select 1 as x from {{ ref('a') }}",
    });
    expect(compiled.nodes.get('main.a')!.sql).toBe('select True as x, False as e');
    expect(compiled.nodes.get('main.b')!.sql).toBe('select 0 as x');
    expect(compiled.nodes.get('main.a')!.introspective).toBe(true);
    // Unguarded code that fails without the database: a warning; the model is rendered at run time,
    // and what it reads (seen before the render stopped) is known.
    const c = compiled.nodes.get('main.c')!;
    expect(c.introspective).toBe(true);
    expect(c.dependsOn.nodes).toEqual([]);
    const warn = compiled.diagnostics.find((d) => d.file === 'models/c.sql')!;
    expect(warn.severity).toBe('warn');
    expect(warn.message).toContain('rendering without the database, as dbt parses');
  });

  it("gives graph.nodes their depends_on and config() (a model reading graph is rendered again once every model is rendered)", () => {
    const { compiled } = compile({
      'models/a.sql': "{{ config(materialized='table', tags=['in_file']) }}select 1 as id",
      'models/b.sql': "select * from {{ ref('a') }}",
      'models/c.sql': `{% set parents = [] %}{% for n in graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | sort(attribute='name') %}{% do parents.append(n.name ~ ':' ~ (n.depends_on.nodes | join('+')) ~ ':' ~ n.config.materialized ~ ':' ~ (n.config.tags | join('+'))) %}{% endfor %}select '{{ parents | join(' ') }}' as deps from {{ ref('b') }}`,
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.c')!.sql).toBe('select \'a::table:in_file b:model.t.a:view: c:model.t.b:view:\' as deps from "main"."b"');
  });

  it("gives source() as a Relation (a mapping with metadata), and every relation the target's catalog as database", () => {
    const { compiled } = compile({
      'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: t\n',
      'models/a.sql': "select '{{ source('raw', 't') is mapping }}|{{ source('raw', 't').get('metadata', {}).get('type', '') }}|{{ source('raw', 't').identifier }}|{{ source('raw', 't').database }}|{{ this.database }}|{{ target.database }}|{{ 'abc' | join('-') }}' as v from {{ source('raw', 't') }}",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.a')!.sql).toBe("select 'True|Relation|t|t|t|t|a-b-c' as v from \"raw\".\"t\"");
  });

  it("keeps ref().include(), .quote(), .render() as the relation (DuckDB has one database and quoted names)", () => {
    const { compiled } = compile({
      'models/a.sql': 'select 1 as id',
      'models/b.sql': "select * from {{ ref('a').include(database=False) }} join {{ ref('a').render() }} using (id), {{ ref('a').quote(identifier=false) }}",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.b')!.sql).toBe('select * from "main"."a" join "main"."a" using (id), "main"."a"');
  });

  it("has Python's % formatting and * repetition (they gave NaN), and its modulo sign", () => {
    const { compiled } = compile({
      'models/m.sql': "select '{{ '%02d-%s' % (5, 'x') }}|{{ 'id_%s' % 7 }}|{{ '-' * 3 }}|{{ -7 % 3 }}|{{ 6 * 7 }}' as v",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.m')!.sql).toBe("select '05-x|id_7|---|2|42' as v");
  });

  it('reads a tuple as a list (it gave its last element)', () => {
    const { compiled } = compile({
      'models/m.sql': "{% set casts = [('id', 'integer'), ('name', 'varchar')] %}select {% for col, typ in casts %}cast('1' as {{ typ }}) as {{ col }}{{ ',' if not loop.last }} {% endfor %}, {{ ('x', 'y') | length }} as n, {{ (1 + 2) * 3 }} as g",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.m')!.sql).toBe("select cast('1' as integer) as id, cast('1' as varchar) as name , 2 as n, 9 as g");
  });

  it("writes dbt's cross-database macros for DuckDB", async () => {
    const { compiled } = compile({
      'models/m.sql': "select {{ dbt.dateadd('day', 1, \"date '2024-01-31'\") }} as a, {{ dbt.datediff(\"date '2024-01-01'\", \"date '2024-03-01'\", 'day') }} as b, cast(1 as {{ dbt.type_string() }}) as c, {{ dbt.concat([\"'a'\", \"'b'\"]) }} as d, {{ dbt.safe_cast(\"'7'\", dbt.type_int()) }} as e, {{ dbt.date_trunc('month', \"date '2024-05-17'\") }} as f, {{ dbt.last_day(\"date '2024-02-15'\", 'month') }} as g",
    });
    expect(compiled.diagnostics).toEqual([]);
    const db = await DuckDBAdapter.open(':memory:');
    try {
      const [r] = await db.query(`select a::varchar as a, b, c, d, e, f::varchar as f, g::varchar as g, typeof(g) as gt from (${compiled.nodes.get('main.m')!.sql})`);
      // last_day is a DATE and safe_cast a plain cast, as dbt's defaults (dbt-duckdb overrides neither).
      expect(r).toEqual({ a: '2024-02-01 00:00:00', b: 60, c: '1', d: 'ab', e: 7, f: '2024-05-01 00:00:00', g: '2024-02-29', gt: 'DATE' });
    } finally {
      await db.close();
    }
  });
});

describe('config keys', () => {
  it('warns about a config() key that is nearly a known one, at its line; other adapters\' keys pass', () => {
    const { compiled } = compile({ 'models/m.sql': "{{ config(materialized='table',\n  uniqe_key='id', cluster_by=['id']) }}\nselect 1 as id" });
    expect(compiled.diagnostics).toEqual([expect.objectContaining({ code: 'LAKE-C013', severity: 'warn', message: "main.m: unknown config key 'uniqe_key'", file: 'models/m.sql', line: 2, hint: 'did you mean unique_key?' })]);
  });

  it('warns the same about a YAML config: key, at its line', () => {
    const dir = writeProject({ 'project.yml': projectYml(), 'models/m.sql': 'select 1 as id', 'models/s.yml': 'models:\n  - name: m\n    config:\n      materialised: table\n      cluster_by: [id]\n' });
    const r = lake(dir, ['compile']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/models\/s\.yml:4: warn LAKE-C013: m: unknown config key 'materialised'\n\s+hint: did you mean materialized\?/);
    expect(r.stderr).not.toMatch(/cluster_by/);
  });
});

describe('docs blocks in the manifest', () => {
  it('writes every {% docs %} block (the docs site shows __overview__ as its front page)', () => {
    const dir = writeProject({
      'project.yml': projectYml(),
      'models/m.sql': 'select 1 as id',
      'models/docs.md': '{% docs __overview__ %}\n# Our lakehouse\n{% enddocs %}\n{% docs id_doc %}The id.{% enddocs %}\n',
      'models/schema.yml': "models:\n  - name: m\n    columns:\n      - name: id\n        description: '{{ doc(\"id_doc\") }}'\n",
    });
    expect(lake(dir, ['compile']).code).toBe(0);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8'));
    expect(m.docs).toEqual({ __overview__: { name: '__overview__', block_contents: '# Our lakehouse' }, id_doc: { name: 'id_doc', block_contents: 'The id.' } });
    expect(m.nodes['main.m'].columns.id.description).toBe('The id.');
  });
});

describe('target keys', () => {
  it('a misspelt target key or a bad threads value is an error naming the target', () => {
    for (const [t, re] of [['{ type: duckdb, pth: x.duckdb }', /target 'dev' has an unknown key 'pth'.*did you mean path\?/s], ['{ type: duckdb, threads: abc }', /threads must be a whole number, at least 1 \(not abc\)/]] as const) {
      const dir = writeProject({ 'project.yml': `name: t\ntargets:\n  dev: ${t}\n`, 'models/m.sql': 'select 1' });
      const r = lake(dir, ['compile']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(re);
    }
  });
});

describe('Jinja in sources YAML', () => {
  it("renders a source's schema, database, identifier and loaded_at_field with target and var()", () => {
    const { compiled } = compile({
      'models/sources.yml': "sources:\n  - name: raw\n    schema: \"{{ target.name }}_raw\"\n    loaded_at_field: \"{{ var('ts_col', 'loaded_at') }}\"\n    tables:\n      - name: t\n        identifier: \"{{ 'orders_' ~ var('suffix', 'v1') }}\"\n",
      'models/m.sql': "select * from {{ source('raw', 't') }}",
    }, { vars: { suffix: 'v2' } });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.m')!.sql).toBe('select * from "dev_raw"."orders_v2"');
    expect(compiled.project.sources.get('source:raw.t')!.loadedAtField).toBe('loaded_at');
  });
});

describe('trailing commas (Jinja accepts them)', () => {
  it('in calls, lists, dicts and tuples, in models and macros; a one-element tuple keeps its comma; SQL text is left alone', () => {
    const { compiled } = compile({
      'macros/m.sql': "{% macro pick(a, b,) %}{{ [a, b,] | join('+') }}{% endmacro %}",
      'models/m.sql': "{{ config(materialized='table', tags=['x',],) }}\n{% set t = ('a', 'b',) %}{% set one = ('z',) %}select {{ pick(1, 2,) }} as p, '{{ t | join('-') }}' as t, {{ one | length }} as n, {{ {'k': 3,}['k'] }} as k, [1, 2,] as sql_list, '{{ one }}' as printed",
    });
    expect(compiled.diagnostics).toEqual([]);
    const m = compiled.nodes.get('main.m')!;
    expect(m.config).toMatchObject({ materialized: 'table', tags: ['x'] });
    expect(m.sql).toBe("select 1+2 as p, 'a-b' as t, 1 as n, 3 as k, [1, 2,] as sql_list, '('z',)' as printed");
  });
});

describe("dbt's global macros", () => {
  it('are callable without dbt. (current_timestamp(), dateadd()...), and a project macro of the same name wins', () => {
    const { compiled } = compile({
      'macros/m.sql': '{% macro type_string() %}text{% endmacro %}',
      'models/m.sql': "select {{ current_timestamp() }} as t, {{ datediff(\"a\", \"b\", 'day') }} as d, cast(1 as {{ type_string() }}) as s",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.m')!.sql).toBe("select now() as t, (date_diff('day', (a)::timestamp, (b)::timestamp)) as d, cast(1 as text) as s");
  });
});

describe('adapter.dispatch', () => {
  const macros = `{% macro my_upper(x) %}{{ return(adapter.dispatch('my_upper')(x)) }}{% endmacro %}
{% macro default__my_upper(x) %}upper({{ x }}){% endmacro %}
{% macro duckdb__my_upper(x) %}ucase({{ x }}){% endmacro %}
{% macro only_default(x) %}{{ return(adapter.dispatch('only_default', 'my_pkg')(x)) }}{% endmacro %}
{% macro default__only_default(x) %}lower({{ x }}){% endmacro %}
{% macro missing(x) %}{{ return(adapter.dispatch('missing')(x)) }}{% endmacro %}
`;
  it("takes duckdb__, then default__, then dbt's own macro (it recursed into the dispatcher before)", () => {
    const { compiled } = compile({
      'macros/m.sql': macros,
      'models/m.sql': "select {{ my_upper(\"'a'\") }} as u, {{ only_default(\"'B'\") }} as l, {{ adapter.dispatch('datediff', 'dbt')(\"a\", \"b\", 'day') }} as d",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.m')!.sql).toBe("select ucase('a') as u, lower('B') as l, (date_diff('day', (a)::timestamp, (b)::timestamp)) as d");
  });

  it('names the missing implementation and the macro that dispatches', () => {
    const { compiled } = compile({ 'macros/m.sql': macros, 'models/m.sql': "select {{ missing('x') }}" });
    const [d] = compiled.diagnostics;
    expect(d).toMatchObject({ code: 'LAKE-T002', file: 'macros/m.sql', line: 6 });
    expect(d!.message).toMatch(/no macro duckdb__missing or default__missing/);
    expect(d!.hint).toMatch(/default__missing/);
  });
});

describe('more of dbt', () => {
  it("Python's floats: literals with a point, true division, | float and | round print as Jinja prints them", () => {
    const { compiled } = compile({
      'models/m.sql': "select $${{ 1.0 }} {{ 6 / 2 }} {{ 0.1 + 0.2 }} {{ 2.50 }} {{ 3 | float }} {{ 7 | round }} {{ 3.5 | round }} {{ 2 * 1.5 }} {{ 10 / 4 }} {{ 1e-5 / 1 }} {{ (6 / 2) | int }} {{ 'v' ~ 1.0 }} {{ [1.0, 2] }} {{ (4 / 2) is float }} {% if 0.0 %}t{% else %}f{% endif %}$$ as f",
      'models/z.sql': 'select {{ 1 / 0 }} as z',
    });
    expect(compiled.nodes.get('main.m')!.sql).toBe("select $$1.0 3.0 0.30000000000000004 2.5 3.0 7 4.0 3.0 2.5 1e-05 3 v1.0 [1.0, 2] True f$$ as f");
    expect(compiled.diagnostics.map((d) => d.message).join('\n')).toMatch(/division by zero/);
  });

  it("Python's dict() and zip()'s tuples, run_started_at as dbt prints it (an aware UTC datetime)", () => {
    const { compiled } = compile({
      'models/m.sql': "select $${{ dict(a=1, b='x') }}|{{ dict([('k', 2)], z=3) }}|{{ zip([1, 2], ['a', 'b']) | list }}|{{ run_started_at.tzinfo }}|{{ 1e3 }}|{{ 2.5e-1 }}$$ as j, '{{ run_started_at }}' as t, '{{ run_started_at.isoformat() }}' as iso, '{{ (run_started_at - modules.datetime.timedelta(hours=1)).isoformat()[-6:] }}' as zone",
    });
    expect(compiled.diagnostics).toEqual([]);
    const sql = compiled.nodes.get('main.m')!.sql;
    expect(sql).toContain("$${'a': 1, 'b': 'x'}|{'k': 2, 'z': 3}|[(1, 'a'), (2, 'b')]|UTC|1000.0|0.25$$");
    expect(sql).toMatch(/'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00' as t, '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00' as iso/);
    expect(sql).toContain("'+00:00' as zone");
  });

  it('listagg with an order by clause and a limit, date_spine, run_started_at.strftime(); dbt.x that lake lacks is named so', async () => {
    const { compiled } = compile({
      'models/m.sql': `select (select {{ dbt.listagg('x', "','", "order by n", 2) }} from (values ('a',3),('b',1),('c',2)) v(x,n)) as l,
  (select count(*) from ({{ dbt.date_spine('day', "cast('2020-01-01' as date)", "cast('2020-01-05' as date)") }})) as days,
  '{{ run_started_at.strftime('%Y') }}' as y`,
      'models/bad.sql': 'select {{ dbt.nosuch() }}',
    });
    expect(compiled.diagnostics.map((d) => d.message)).toEqual(["dbt.nosuch() is not one of dbt's macros lake provides"]);
    const db = await DuckDBAdapter.open(':memory:');
    try {
      const [r] = await db.query(compiled.nodes.get('main.m')!.sql);
      expect(r).toEqual({ l: 'b,c', days: 4, y: String(new Date().getUTCFullYear()) });
    } finally {
      await db.close();
    }
  });
});

describe('printing lists, tuples and dicts', () => {
  it('as Python prints them (Jinja), on both render paths: a tuple gives SQL for `in`', () => {
    const { compiled } = compile({
      // The fast path renders this one; the `%` makes the other go through Nunjucks.
      'models/fast.sql': "{% set l = ['x', 'y'] %}select {{ l }} as l, {{ {'k': 'v', 'n': 1, 'b': true} }} as d, {{ [1, none] }} as n",
      'models/slow.sql': "{% set ids = ('a', 'b') %}select 1 where 'a' in {{ ids }} -- {{ ['x', 'y'] }} {{ {'k': 'v'} }} {{ '%s' % 'z' }}",
    });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.fast')!.sql).toBe("select ['x', 'y'] as l, {'k': 'v', 'n': 1, 'b': True} as d, [1, None] as n");
    expect(compiled.nodes.get('main.slow')!.sql).toBe("select 1 where 'a' in ('a', 'b') -- ['x', 'y'] {'k': 'v'} z");
  });
});

describe('statementShape', () => {
  it('finds a second statement outside strings, quoted names and comments; a trailing ; is fine', () => {
    expect(statementShape('select 1;')).toEqual({ empty: false });
    expect(statementShape("select ';' as a, \"x;y\" from t -- a; b\n/* c; d */ ;\n-- end\n;")).toEqual({ empty: false });
    expect(statementShape("select 'it''s;' as a, $$x;y$$ as b")).toEqual({ empty: false });
    expect(statementShape('select 1;\ndrop table t').secondAt).toBe(8);
    expect(statementShape('-- only a comment\n/* and this */\n')).toEqual({ empty: true });
    expect(statementShape('')).toEqual({ empty: true });
  });
});

describe('lake compile', () => {
  it('writes target/compiled/<schema>/<name>.sql and a manifest without opening a database', () => {
    const dir = writeProject({
      'project.yml': projectYml(),
      'seeds/raw.csv': 'id,name\n1,a\n',
      'macros/m.sql': '{% macro up(x) %}upper({{ x }}){% endmacro %}',
      'models/bronze/b.sql': "select id, {{ up('name') }} as name from {{ ref('raw') }}",
      'models/silver/s.sql': "{{ config(materialized='table', tags=['t']) }}\nselect * from {{ ref('b') }} join {{ source('crm', 'accounts') }} using (id)",
      'models/silver/schema.yml': `models:
  - name: s
    description: Silver.
    meta: {owner: ana}
    columns:
      - name: id
        data_type: BIGINT
        meta: {pii: false}
        data_tests: [unique]
sources:
  - name: crm
    tables:
      - name: accounts
`,
    });
    const r = lake(dir, ['compile']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/compiled 2 models/);
    expect(fs.readFileSync(path.join(dir, 'target/compiled/bronze/b.sql'), 'utf8')).toBe('select id, upper(name) as name from "seeds"."raw"\n');
    expect(fs.readFileSync(path.join(dir, 'target/compiled/silver/s.sql'), 'utf8')).toBe('select * from "bronze"."b" join "crm"."accounts" using (id)\n');
    expect(fs.existsSync(path.join(dir, 'target/t.duckdb'))).toBe(false);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8'));
    expect(m.metadata).toMatchObject({ project: 't', flavor: 'lake' });
    expect(m.metadata.lake_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Number.isNaN(Date.parse(m.metadata.generated_at))).toBe(false);
    const s = m.nodes['silver.s'];
    expect(s).toMatchObject({
      id: 'silver.s', resource_type: 'model', name: 's', schema: 'silver', path: 'models/silver/s.sql',
      compiled_sql: 'select * from "bronze"."b" join "crm"."accounts" using (id)', description: 'Silver.', tags: ['t'], meta: { owner: 'ana' },
      depends_on: { nodes: ['bronze.b'], sources: ['source:crm.accounts'], macros: [] },
      columns: { id: { name: 'id', description: '', data_type: 'BIGINT', meta: { pii: false } } },
      tests: [{ name: 'unique', column: 'id', args: {}, config: {} }],
    });
    expect(s.raw_sql).toContain("{{ config(materialized='table'");
    expect(s.config).toMatchObject({ materialized: 'table', schema: 'silver' });
    expect(s.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(m.nodes['bronze.b'].depends_on).toEqual({ nodes: ['seeds.raw'], sources: [], macros: ['up'] });
    expect(m.nodes['seeds.raw']).toMatchObject({ resource_type: 'seed', raw_sql: '', compiled_sql: '' });
    expect(m.sources['source:crm.accounts']).toMatchObject({ resource_type: 'source', source_name: 'crm', name: 'accounts', relation: '"crm"."accounts"', landing: null, path: 'models/silver/schema.yml' });
    expect(m.macros.up).toEqual({ name: 'up', path: 'macros/m.sql', line: 1, checksum: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(m.parent_map['silver.s'].sort()).toEqual(['bronze.b', 'source:crm.accounts']);
    expect(m.child_map['bronze.b']).toEqual(['silver.s']);
    expect(m.child_map['seeds.raw']).toEqual(['bronze.b']);
  });

  it('writes only the selection, and rewrites a compiled file only when it changed', () => {
    const dir = writeProject({ 'project.yml': projectYml(), 'models/a.sql': 'select 1', 'models/b.sql': 'select 2' });
    expect(lake(dir, ['compile', '-s', 'a']).code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'target/compiled/main/a.sql'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'target/compiled/main/b.sql'))).toBe(false);
    expect(lake(dir, ['compile']).code).toBe(0);
    const b = path.join(dir, 'target/compiled/main/b.sql');
    const old = new Date('2020-01-01');
    fs.utimesSync(b, old, old);
    expect(lake(dir, ['compile']).code).toBe(0);
    expect(fs.statSync(b).mtime.getTime()).toBe(old.getTime());
    fs.writeFileSync(path.join(dir, 'models/b.sql'), 'select 3');
    fs.rmSync(path.join(dir, 'target/compiled/main/a.sql'));
    expect(lake(dir, ['compile']).code).toBe(0);
    expect(fs.readFileSync(b, 'utf8')).toBe('select 3\n');
    expect(fs.readFileSync(path.join(dir, 'target/compiled/main/a.sql'), 'utf8')).toBe('select 1\n');
  });
});

describe('Compiler.updateModel', () => {
  const files = {
    'models/bronze/a.sql': 'select 1 as id',
    'models/bronze/e.sql': "{{ config(materialized='ephemeral') }}select id from {{ ref('a') }}",
    'models/silver/b.sql': "select * from {{ ref('a') }}",
    'models/silver/c.sql': "select * from {{ ref('e') }}",
    'models/gold/d.sql': "select * from {{ ref('b') }}",
  };

  it('recompiles an edited model alone when nothing others see changed', () => {
    const { dir, compiler } = compile(files);
    const u = compiler.updateModel(path.join(dir, 'models/silver/b.sql'), "select *, 2 as two from {{ ref('a') }}");
    expect(u).toMatchObject({ changed: ['silver.b'], added: [], removed: [], graphChanged: false, diagnostics: [] });
    expect(compiler.compiledNode('silver.b')!.sql).toBe('select *, 2 as two from "bronze"."a"');
    expect(compiler.result().nodes.get('silver.b')!.sql).toBe('select *, 2 as two from "bronze"."a"');
  });

  it('says the graph changed when refs change', () => {
    const { compiler } = compile(files);
    const u = compiler.updateModel('models/gold/d.sql', "select * from {{ ref('b') }} join {{ ref('a') }} using (id)");
    expect(u.changed).toEqual(['gold.d']);
    expect(u.graphChanged).toBe(true);
    expect(compiler.compiledNode('gold.d')!.dependsOn.nodes).toEqual(['silver.b', 'bronze.a']);
  });

  it('re-inlines an edited ephemeral model into its consumers', () => {
    const { compiler } = compile(files);
    const u = compiler.updateModel('models/bronze/e.sql', "{{ config(materialized='ephemeral') }}select id * 10 as id from {{ ref('a') }}");
    expect(u.changed).toEqual(['bronze.e', 'silver.c']);
    expect(compiler.compiledNode('silver.c')!.sql).toContain('select id * 10 as id from "bronze"."a"');
  });

  it('follows a relation change (alias) into the models that ref it', () => {
    const { compiler } = compile(files);
    const u = compiler.updateModel('models/bronze/a.sql', "{{ config(alias='a2') }}select 1 as id");
    expect(new Set(u.changed)).toEqual(new Set(['bronze.a', 'silver.b', 'bronze.e', 'silver.c']));
    expect(compiler.compiledNode('silver.b')!.sql).toBe('select * from "bronze"."a2"');
    expect(compiler.compiledNode('silver.c')!.sql).toContain('from "bronze"."a2"');
  });

  it('handles a new file and a deleted one (refs to it become diagnostics)', () => {
    const { compiler } = compile(files);
    const add = compiler.updateModel('models/gold/f.sql', "select * from {{ ref('d') }}");
    expect(add).toMatchObject({ changed: ['gold.f'], added: ['gold.f'], removed: [], graphChanged: true, diagnostics: [] });
    const del = compiler.updateModel('models/silver/b.sql', undefined);
    expect(del.removed).toEqual(['silver.b']);
    expect(del.changed).toEqual(['gold.d']);
    expect(del.diagnostics.map((d) => `${d.code} ${d.file}`)).toEqual(['LAKE-C001 models/gold/d.sql']);
    expect(compiler.result().nodes.has('silver.b')).toBe(false);
    expect(compiler.project.models.has('silver.b')).toBe(false);
    // Putting it back clears the diagnostic.
    const back = compiler.updateModel('models/silver/b.sql', "select * from {{ ref('a') }}");
    expect(back.added).toEqual(['silver.b']);
    expect(back.diagnostics).toEqual([]);
    expect(compiler.compiledNode('gold.d')!.sql).toBe('select * from "silver"."b"');
  });

  it('gives the same result as a fresh compile after a series of edits', () => {
    const { dir, compiler } = compile(files);
    const edits: [string, string | undefined][] = [
      ['models/silver/b.sql', "{{ config(materialized='ephemeral') }}select * from {{ ref('a') }} where id > 0"],
      ['models/gold/d.sql', "select * from {{ ref('b') }} union all select * from {{ ref('c') }}"],
      ['models/bronze/a.sql', "{{ config(schema='raw') }}select 2 as id"],
      ['models/bronze/e.sql', undefined],
      ['models/silver/c.sql', "select * from {{ ref('a') }}"],
    ];
    for (const [file, text] of edits) {
      compiler.updateModel(file, text);
      if (text === undefined) fs.rmSync(path.join(dir, file));
      else fs.writeFileSync(path.join(dir, file), text);
    }
    const fresh = new Compiler(loadProject(dir)).compileAll();
    const now = compiler.result();
    expect([...now.nodes.keys()].sort()).toEqual([...fresh.nodes.keys()].sort());
    for (const [id, n] of fresh.nodes) {
      expect(now.nodes.get(id)!.sql, id).toBe(n.sql);
      expect(now.nodes.get(id)!.dependsOn, id).toEqual(n.dependsOn);
    }
    expect(now.diagnostics).toEqual(fresh.diagnostics);
  });
});

describe('render cache', () => {
  it('reuses renders of unchanged models and gives the same result as rendering everything', () => {
    const dir = writeProject({
      'project.yml': projectYml('vars:\n  n: 1\n'),
      'macros/m.sql': '{% macro twice(x) %}({{ x }} * 2){% endmacro %}',
      'models/a.sql': 'select {{ twice(1) }} as a',
      'models/b.sql': "select {{ var('n') }} as n from {{ ref('a') }}",
      'models/c.sql': "select '{{ env_var('LAKE_CACHE_TEST', 'x') }}' as e, '{{ run_started_at }}' as t",
      'models/d.sql': "select * from {{ ref('b') }}",
    });
    const cacheDir = path.join(dir, 'target/.lake');
    const run = (vars?: Record<string, unknown>) => {
      const runStartedAt = new Date();
      const cached = new Compiler(loadProject(dir, { vars }), { cacheDir, runStartedAt });
      const c = cached.compileAll();
      const fresh = new Compiler(loadProject(dir, { vars }), { runStartedAt }).compileAll();
      for (const [id, n] of fresh.nodes) expect(c.nodes.get(id)!.sql, id).toBe(n.sql);
      expect(c.diagnostics).toEqual(fresh.diagnostics);
      return { hits: cached.cache!.hits, c };
    };
    expect(run().hits).toBe(0);
    // Everything but the volatile model (env_var, run_started_at) comes from the cache.
    expect(run().hits).toBe(3);
    fs.writeFileSync(path.join(dir, 'models/d.sql'), "select *, 1 as one from {{ ref('b') }}");
    expect(run().hits).toBe(2);
    // A macro, a var or the environment: everything is rendered again, and right.
    fs.writeFileSync(path.join(dir, 'macros/m.sql'), '{% macro twice(x) %}({{ x }} + {{ x }}){% endmacro %}');
    const afterMacro = run();
    expect(afterMacro.hits).toBe(0);
    expect(afterMacro.c.nodes.get('main.a')!.sql).toBe('select (1 + 1) as a');
    expect(run({ n: 5 }).c.nodes.get('main.b')!.sql).toBe('select 5 as n from "main"."a"');
    process.env.LAKE_CACHE_TEST = 'changed';
    expect(run().c.nodes.get('main.c')!.sql).toContain("'changed' as e");
    delete process.env.LAKE_CACHE_TEST;
    // A deleted model leaves the cache; a broken one is not kept.
    fs.rmSync(path.join(dir, 'models/d.sql'));
    fs.writeFileSync(path.join(dir, 'models/a.sql'), 'select {{ twice(1) }');
    const broken = run();
    expect(broken.c.diagnostics.some((d) => d.code === 'LAKE-T001')).toBe(true);
    const kept = JSON.parse(fs.readFileSync(path.join(cacheDir, 'render-cache.json'), 'utf8'));
    expect(Object.keys(kept.entries).sort()).toEqual(['models/b.sql']);
  });
});
