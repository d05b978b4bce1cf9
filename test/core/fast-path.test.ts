/**
 * The fast paths must be exact: the template fast path gives the same render as Nunjucks, and the
 * fast YAML reader the same data and lines as the `yaml` package — on hand-written cases (every
 * construct, whitespace control, the edge cases it must hand over) and on many generated ones.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it, expect, afterAll } from 'vitest';
import { parseDocument, LineCounter, isMap, isSeq } from 'yaml';
import { loadProject } from '../../src/project/load.js';
import { Compiler } from '../../src/compiler/compile.js';
import { TemplateEngine, type RenderOptions } from '../../src/template/engine.js';
import { parseFast } from '../../src/template/fast.js';
import { parseYamlFast, fastLineOf } from '../../src/project/yaml-fast.js';
import { parseYamlFile, setFastYaml } from '../../src/project/yaml-file.js';
import type { LoadedProject } from '../../src/core/types.js';
import { generateProject, modelText } from '../../bench/compile.js';
import { writeProject, projectYml } from './helpers.js';
import { randomStream } from '../../tools/generate/prng.js';

const rng = randomStream;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

let project: LoadedProject;
function engines(): { fast: TemplateEngine; slow: TemplateEngine } {
  if (!project) {
    const dir = writeProject({
      'project.yml': projectYml('vars:\n  cols: [a, b, c]\n  flag: true\n  n: 3\n'),
      'models/silver/a.sql': 'select 1',
      'models/silver/sources.yml': 'sources:\n  - name: crm\n    tables:\n      - name: accounts\n',
      'macros/m.sql': [
        "{% macro cents(col, scale=2) -%}round({{ col }} / 100.0, {{ scale }}){%- endmacro %}",
        '{% macro kw(a, b=1, c="z") %}[{{ a }}|{{ b }}|{{ c }}]{% endmacro %}',
        "{% macro uses_ref() %}{{ ref('a') }}{% endmacro %}",
        "{% macro cfg() %}{{ config(tags=['from_macro']) }}{% endmacro %}",
      ].join('\n'),
    });
    project = loadProject(dir);
  }
  const at = new Date('2026-01-02T03:04:05Z');
  return { fast: new TemplateEngine(project, at, { fastPath: true }), slow: new TemplateEngine(project, at, { fastPath: false }) };
}

const OPTS: RenderOptions = { incremental: true, materialized: 'incremental', file: 'models/silver/x.sql', node: 'silver.x' };

/** Render with both engines and compare everything a render records. */
function same(text: string, opts: RenderOptions = OPTS): { fastUsed: boolean } {
  const { fast, slow } = engines();
  const a = fast.render(text, opts);
  const b = slow.render(text, opts);
  const view = (r: typeof a) => ({
    sql: r.sql, refs: r.refs, streamed: [...r.streamed], sources: r.sources.map((s) => s.id), config: r.config,
    macros: r.macros, usedIncremental: r.usedIncremental, diagnostics: r.diagnostics,
  });
  expect(view(a), text).toEqual(view(b));
  return { fastUsed: fast.stats.fast === 1 };
}

const SUPPORTED = [
  'select 1',
  '',
  '{{ 1 }}{{ 2.50 }}{{ "a\\tb" }}{{ \'it\\\'s\' }}{{ true }}{{ none }}{{ null }}{{ True }}{{ None }}',
  "select * from {{ ref('a') }} join {{ ref('silver', 'a') }} using (id)",
  "{{ config(materialized='table', unique_key=['a', 'b'], meta={'owner': 'me', 'n': 2}) }}select 1",
  "{{ config({'materialized': 'view'}) }}{{ config(tags=['x'], tags2='y') }}select 1",
  "select {{ cents('amount') }}, {{ cents('x', scale=0) }}, {{ cents('y', 3) }}, {{ kw(1) }}{{ kw(1, c='q') }}{{ kw(a=5, b=6) }}",
  "{{ uses_ref() }} {{ cfg() }}",
  "{% if is_incremental() %}where x > (select max(x) from {{ this }}){% endif %}",
  "{% if not is_incremental() %}full{% else %}inc{% endif %}",
  "{% if var('n') == 3 %}three{% elif var('n') > 3 %}more{% else %}less{% endif %}",
  "{% if var('flag') and not var('missing', false) or false %}yes{% endif %}",
  "{% if var('n') != '3' %}loose{% endif %}{% if var('n') !== '3' %}strict{% endif %}{% if 1 < 2 <= 3 %}chain{% endif %}",
  "{% set cols = ['a', 'b', 'c'] %}select {% for c in cols %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}",
  "{% for c in var('cols') -%}\n  sum({{ c }}) as s_{{ c }}{{ ',' if false else '' if false else '' }}\n{%- endfor %}".replace("{{ ',' if false else '' if false else '' }}", ''),
  "{% for c in ['x', 'y'] %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.length }}{% endfor %}",
  "{% for a in [1, 2] %}{% for b in [3, 4] %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}",
  "{% for x in [] %}never{% endfor %}{% for x in none %}never{% endfor %}done",
  "{% set t = target.name ~ '_' ~ var('n') %}{{ t }} {{ target.schema }} {{ target.type }} {{ project_name }} {{ run_started_at }}",
  "{# a comment #}select {#- trims -#}   1 {#- more #}  {# none #} x",
  "select\n  {%- if true %}\n  a\n  {%- endif %}\n  {{- ' b ' -}}  \n  c  {{ 'd' -}}\n\n  e",
  "line1\n{% if true -%}\n   inside\n{%- endif %}\nline3\n",
  "{%- set x = 1 -%}\n\n{{ x }}\n{%- set y = x -%}   {{ y }}",
  "{{ source('crm', 'accounts') }} {{ var('nope', 'd') }} {{ env_var('LAKE_SURELY_UNSET', 'e') }}",
  "{{ undefined_thing }}{{ target.nothing }}{{ target.nothing.deeper }}",
  "{{ 1e3 }} {{ 2.5e-1 }} {% set big = 3E2 %}{{ big }} {{ 'not 1e3' }} 1e3",
  "{% set a = {'k': [1, 2]} %}{{ a.k }}{{ [1, [2, 3]] }}{{ {'a': 1} }}",
  "{{ 'a' ~ 1 ~ none ~ true }}",
  "{% if [] %}js-truthy{% endif %}{% if '' %}no{% endif %}{% if 0 %}no{% endif %}{% if 'x' == 'x' %}eq{% endif %}",
  "{{ (1 == 1) }}{{ not 0 }}{{ 0 or 'b' }}{{ 1 and 2 }}",
  "{{ not false >= 'x' }}{{ not (false >= 'x') }}{{ not 1 == 1 }}{{ not not 0 == false }}{{ not 'a' ~ 'b' }}{{ not ('a' ~ 'b') }}",
  "{{ stream(ref('a')) }}",
  "select '{' as a, '}' as b, '{ #' as c, '%}' as d from x -- {not a tag}",
  "{{ '%}' }}{{ \"}}\" }}{% if '%}' %}ok{% endif %}",
  "{% if true %}{% set s = 5 %}{% endif %}{{ s }}",
  "{% set this_model = this %}{{ this_model }}",
  "{{ log('hi') }}{{ return('x') }}",
  "a\r\nb {{ 1 }}\r\n",
];

/** Constructs the fast path hands to Nunjucks (at parse or at render time); renders must still match. */
const HANDED_OVER = [
  "{{ 'a' | upper }}",
  "{% macro m() %}x{% endmacro %}{{ m() }}",
  "{{ x if true else y }}",
  "{{ [1,2][0] }}",
  "{{ 1 + 2 }}",
  "{% for k, v in {'a': 1} %}{{ k }}{% endfor %}",
  "{% for x in [1] %}{% set y = x %}{% endfor %}{{ y }}",
  "{% for x in 'abc' %}{{ x }}{% endfor %}",
  "{% raw %}{{ x }}{% endraw %}",
  "{% do config(x=1) %}",
  "{{ 'a' in 'abc' }}",
  "{{ unknown_macro(1) }}",
  "{{ var('not_set_anywhere') }}",
  "select 1 #} oops",
  "{# unterminated comment",
  "{% if true %}no end",
  "{{ x ) }}",
  "{% endif %}",
  "{{ }}",
  "{% set a, b = 1, 2 %}",
  "{{ f(a,) }}",
  "{{ -1 }}",
  "{% for x in [1,2] %}{{ x }}{% else %}empty{% endfor %}",
  "{{ {'a': 1}}}",
];

describe('template fast path', () => {
  it('renders every supported construct exactly like Nunjucks, and takes the fast path for them', () => {
    process.env.LAKE_TEST_ENV_SET = 'set';
    for (const text of SUPPORTED) {
      const { fastUsed } = same(text);
      expect(fastUsed, `fast path not taken for: ${text}`).toBe(true);
    }
    // Also as a non-incremental render (is_incremental() false).
    for (const text of SUPPORTED) same(text, { ...OPTS, incremental: false, materialized: 'view' });
  });

  it('hands everything else to Nunjucks, with the same output or the same diagnostic', () => {
    let handed = 0;
    for (const text of HANDED_OVER) {
      const { fastUsed } = same(text);
      if (!fastUsed) handed++;
    }
    expect(handed).toBe(HANDED_OVER.length);
    for (const text of ["{{ 'a' | upper }}", '{{ x ) }}', '{% if true %}no end', '{{ 1 + 2 }}']) expect(parseFast(text)).toBeUndefined();
  });

  // LAKE_FUZZ=20000 LAKE_FUZZ_SEED=n runs a longer search by hand.
  const FUZZ = Number(process.env.LAKE_FUZZ ?? 600);
  it(`matches Nunjucks on ${FUZZ} generated templates`, () => {
    const r = rng(Number(process.env.LAKE_FUZZ_SEED ?? 2026));
    const exprs = (depth: number): string => {
      const leaf = () => pick(r, ["'s'", '"d q"', '1', '0', '2.5', 'true', 'false', 'none', 'var("n")', "var('cols')", 'target.name', 'x', 'loop.index', 'is_incremental()', "ref('a')", "cents('c')", "kw(1, b=2)", "[1, 'a']", "{'k': 'v'}", 'this', 'True', 'undefined_name', "env_var('HOME', 'h')"]);
      if (depth <= 0) return leaf();
      switch (Math.floor(r() * 7)) {
        case 0: return `not ${exprs(depth - 1)}`;
        case 1: return `${exprs(depth - 1)} and ${exprs(depth - 1)}`;
        case 2: return `${exprs(depth - 1)} or ${exprs(depth - 1)}`;
        case 3: return `${exprs(depth - 1)} ${pick(r, ['==', '!=', '<', '>=', '==='])} ${exprs(depth - 1)}`;
        case 4: return `(${exprs(depth - 1)})`;
        case 5: return `${exprs(depth - 1)} ~ ${exprs(depth - 1)}`;
        default: return leaf();
      }
    };
    const ws = () => pick(r, ['', ' ', '\n', '  \n  ', '\t']);
    const open = (k: string) => `{${k}${pick(r, ['', '', '-'])}`;
    const close = (k: string) => `${pick(r, ['', '', '-'])}${k}}`;
    const body = (depth: number, inFor: boolean): string => {
      let out = '';
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) {
        const kind = Math.floor(r() * (depth > 0 ? 7 : 3));
        if (kind === 0) out += `${ws()}${pick(r, ['select', 'a, b', ' from t', 'x = 1', '-- c', "'q'"])}${ws()}`;
        else if (kind === 1) out += `${open('{')} ${exprs(2)} ${close('}')}`;
        else if (kind === 2) out += `${open('#')} note ${close('#')}${ws()}`;
        else if (kind === 3) out += `${open('%')} if ${exprs(2)} ${close('%')}${body(depth - 1, inFor)}${r() < 0.4 ? `${open('%')} elif ${exprs(1)} ${close('%')}${body(depth - 1, inFor)}` : ''}${r() < 0.5 ? `${open('%')} else ${close('%')}${body(depth - 1, inFor)}` : ''}${open('%')} endif ${close('%')}`;
        else if (kind === 4) out += `${open('%')} for x in ${pick(r, ["['a', 'b', 'c']", "var('cols')", '[]', '[1]'])} ${close('%')}${body(depth - 1, true)}${open('%')} endfor ${close('%')}`;
        else if (kind === 5 && !inFor) out += `${open('%')} set ${pick(r, ['x', 'y', 'cols'])} = ${exprs(1)} ${close('%')}`;
        else out += `${ws()}{{ ${exprs(1)} }}`;
      }
      return out;
    };
    let fastCount = 0;
    for (let i = 0; i < FUZZ; i++) {
      const { fastUsed } = same(body(3, false));
      if (fastUsed) fastCount++;
    }
    // Most generated templates stay on the fast path, so this compares the fast path, not Nunjucks with itself.
    expect(fastCount).toBeGreaterThan(FUZZ * 0.75);
  });

  it('compiles generated benchmark models to the same SQL either way', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-fast-'));
    generateProject(dir, 300);
    const p = loadProject(dir);
    const a = new Compiler(p, { fastPath: true });
    const b = new Compiler(p, { fastPath: false });
    const ca = a.compileAll();
    const cb = b.compileAll();
    expect(a.engine.stats).toMatchObject({ fast: 300, nunjucks: 0, bailed: 0 });
    expect(ca.diagnostics).toEqual(cb.diagnostics);
    for (const [id, n] of cb.nodes) {
      expect(ca.nodes.get(id)!.sql).toBe(n.sql);
      expect(ca.nodes.get(id)!.config).toEqual(n.config);
    }
    // The edited variants the benchmark writes, too.
    for (let i = 1; i < 40; i++) same(modelText(i, rng(i), i));
  });
});

// ---------------------------------------------------------------------------------------------

function libParse(text: string): { data: unknown; errors: number; lineOf: (k: (string | number)[]) => number | undefined } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  return {
    data: doc.errors.length ? undefined : doc.toJS({ maxAliasCount: 1000 }),
    errors: doc.errors.length,
    lineOf(keyPath) {
      let node: unknown = doc.contents;
      for (const k of keyPath) {
        if (isMap(node)) node = node.get(k, true);
        else if (isSeq(node) && typeof k === 'number') node = node.items[k];
        else return undefined;
        if (node === undefined) return undefined;
      }
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      return range ? lc.linePos(range[0]).line : undefined;
    },
  };
}

function keyPaths(v: unknown, pre: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(pre);
  if (Array.isArray(v)) v.forEach((x, i) => keyPaths(x, [...pre, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) keyPaths((v as Record<string, unknown>)[k], [...pre, k], out);
  return out;
}

/** Compare the fast reader with `yaml`; returns whether the fast reader took it. */
function sameYaml(text: string): boolean {
  const fast = parseYamlFast(text);
  const lib = libParse(text);
  if (!fast) return false;
  expect(lib.errors, `yaml rejects what the fast reader accepted:\n${text}`).toBe(0);
  expect(fast.value, text).toEqual(lib.data);
  for (const kp of keyPaths(lib.data)) expect(fastLineOf(fast.root, kp), `${JSON.stringify(kp)} in\n${text}`).toBe(lib.lineOf(kp));
  return true;
}

const YAML_SUPPORTED = [
  '',
  '# only a comment\n',
  'a: 1\n',
  '---\nname: x\n',
  'name: my_project\nversion: "1.0"\nprofile: p\nmodel-paths: ["models"]\nvars:\n  n: 3\n  s: text here\n',
  'targets:\n  dev: { type: duckdb, path: target/dev.duckdb, threads: 4 }\n  mem: {type: duckdb, path: ":memory:"}\n',
  'models:\n  - name: a\n    description: >\n      Folded text\n      on two lines.\n\n      New paragraph.\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n',
  'x: |\n  literal\n    indented\n  end\ny: |-\n  stripped\nz: >-\n  folded\n  strip\nw: 2\n',
  'seq:\n- a\n- b\n-\n  c: 1\n-\n  - 1\n  - 2\n',
  'list:\n  - 1\n  - -2\n  - +3\n  - 0o17\n  - 0x1F\n  - 1.5\n  - .5\n  - 1e3\n  - -.inf\n  - .NaN\n  - ~\n  - Null\n  - TRUE\n  - yes\n  - on\n  - 012\n  - 1_000\n  - "1"\n  - \'2\'\n',
  'k: "esc \\" \\\\ \\n \\t \\u00e9 \\x41"\nq: \'it\'\'s\'\nurl: http://example.com/a#b\nc: value # comment\nd: a#b\n',
  'models:\n  - name: m\n    tests:\n      - accepted_values: {values: [a, "b c"], quote: false}\n      - relationships:\n          to: ref(\'x\')\n          field: id\n',
  'nested:\n  a:\n    b:\n      c: deep\n  d: []\n  e: {}\n',
  '"quoted key": 1\n\'single\': 2\nplain key with spaces: 3\n+materialized: table\npre-hook: "select 1"\n',
  'a:\n\n  # comment between\n\n  b: 1\n',
  'sources:\n  - name: s\n    tables:\n      - name: t\n        columns:\n          id: { data_type: BIGINT, description: The id. }\n',
  // Anchors on values and aliases as whole values (shared column docs, as in models/bronze/bronze.yml).
  'a: &x 1\nb: *x\n',
  'models:\n  - name: a\n    columns:\n      - &lake_file\n        name: _lake_file\n        description: File.\n      - &id # the key\n        name: id\n        data_tests: [unique]\n  - name: b\n    columns:\n      - *lake_file\n      - *id   # same\n      - &n null_one\n      - *n\n',
  'k: &c\n  p: 1\nk2: *c\nk3: &d [1, {q: 2}]\nk4: &e "q"\nk5: &f |\n  lit\nk6: *f\nk7: &g\nk8: *g\nk9: &h\n- a\n- b\nk10: *h\nk11: &c 2\nk12: *c\n',
];

const YAML_HANDED_OVER = [
  'a: *x\n',
  'a: [&x 1, *x]\n',
  'a:\n  - &x k: 1\n    j: 2\n  - *x\n',
  'a: &x {k: 1}\nb:\n  <<: *x\n  j: 2\n',
  'a: &x *y\n',
  'a: &x 1\nb: *x\n  c: 2\n',
  'a: !!str 1\n',
  'a: b: c\n',
  'a: 1\na: 2\n',
  'a:\n  - x\n   - y\n',
  'a: "unclosed\n',
  'a: multi\n  line plain\n',
  'a:\n\tb: 1\n',
  'a: |+\n  keep\n\n',
  '? complex\n: value\n',
  'a: [1, [2, {b: c}]\n',
  '%YAML 1.2\n---\na: 1\n',
  'a: 1\n---\nb: 2\n',
  'a: {b: c, d}\n',
];

describe('fast YAML reader', () => {
  it('reads supported documents exactly like the yaml package (data and lines)', () => {
    for (const text of YAML_SUPPORTED) expect(sameYaml(text), `fast reader declined:\n${text}`).toBe(true);
  });

  it('hands anchors, tags, errors and other constructs to the yaml package', () => {
    for (const text of YAML_HANDED_OVER) {
      expect(parseYamlFast(text), text).toBeUndefined();
    }
    // ...and the result through parseYamlFile is the package's, errors included.
    const diags: import('../../src/errors/index.js').Diagnostic[] = [];
    expect(parseYamlFile('x.yml', 'a: 1\na: 2\n', diags)).toBeUndefined();
    expect(diags[0]).toMatchObject({ code: 'LAKE-P001', file: 'x.yml', line: 2 });
    const anchors = parseYamlFile('y.yml', 'a: &x {k: 1}\nb: *x\n', []);
    expect(anchors!.data).toEqual({ a: { k: 1 }, b: { k: 1 } });
  });

  const YFUZZ = Number(process.env.LAKE_FUZZ ?? 500);
  it(`matches the yaml package on ${YFUZZ} generated documents`, () => {
    const r = rng(Number(process.env.LAKE_FUZZ_SEED ?? 7));
    const scalar = (): string => pick(r, ['abc', 'two words', '1', '-3', '4.5', 'true', 'False', 'null', '~', '"q x"', "'s''q'", 'a-b_c', 'x.y', '0x10', '1e2', 'yes', 'http://h/p', 'with # hash', 'v # c']);
    const key = (): string => pick(r, ['name', 'description', 'a', 'b', 'data_tests', '+tag', 'pre-hook', '"quoted"', 'k1', 'k2', 'k3']);
    const gen = (indent: number, depth: number, lines: string[]): void => {
      const pad = ' '.repeat(indent);
      if (depth > 0 && r() < 0.45) {
        const n = 1 + Math.floor(r() * 3);
        for (let i = 0; i < n; i++) {
          const v = r();
          if (v < 0.3 && depth > 1) {
            lines.push(`${pad}- ${key()}: ${scalar()}`);
            const used = new Set<string>();
            const m = Math.floor(r() * 3);
            for (let j = 0; j < m; j++) {
              const k = key();
              if (used.has(k) || k === 'name') continue;
              used.add(k);
              lines.push(`${pad}  ${k}: ${scalar()}`);
            }
          } else if (v < 0.5 && depth > 1) {
            lines.push(`${pad}-`);
            gen(indent + 2, depth - 1, lines);
          } else lines.push(`${pad}- ${r() < 0.2 ? `[${scalar()}, ${scalar()}]` : scalar()}`);
        }
        return;
      }
      const used = new Set<string>();
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) {
        let k = key();
        while (used.has(k)) k = `${k}x`;
        used.add(k);
        const v = r();
        if (depth > 0 && v < 0.45) {
          lines.push(`${pad}${k}:${r() < 0.3 ? ' # c' : ''}`);
          if (r() < 0.15) lines.push('');
          gen(indent + pick(r, [2, 2, 4]), depth - 1, lines);
        } else if (v < 0.55) lines.push(`${pad}${k}: {x: ${scalar()}, y: [1, 2]}`);
        else if (v < 0.62) lines.push(`${pad}${k}: ${pick(r, ['|', '>', '|-', '>-'])}`, `${pad}  line one`, `${pad}  line two`, ...(r() < 0.5 ? ['', `${pad}  after blank`] : []));
        else lines.push(`${pad}${k}: ${scalar()}${r() < 0.2 ? '   # trailing' : ''}`);
      }
    };
    let taken = 0;
    for (let i = 0; i < YFUZZ; i++) {
      const lines: string[] = [];
      gen(0, 3, lines);
      if (sameYaml(`${lines.join('\n')}\n`)) taken++;
    }
    expect(taken).toBeGreaterThan(YFUZZ * 0.7);
  });

  it("reads YAML 1.1's yes/no/on/off as booleans when asked (a dbt project's YAML, read by PyYAML), the same in both readers", () => {
    const text = 'a: yes\nb: No\nc: ON\nd: off\ne: "yes"\nf: \'no\'\ng: [yes, n, y]\nh: {x: Off}\ni: true\nj: yess\n';
    for (const fast of [true, false]) {
      setFastYaml(fast);
      expect(parseYamlFile('x.yml', text, [], { yaml11Booleans: true })!.data).toEqual({ a: true, b: false, c: true, d: false, e: 'yes', f: 'no', g: [true, 'n', 'y'], h: { x: false }, i: true, j: 'yess' });
      expect(parseYamlFile('x.yml', text, [])!.data).toMatchObject({ a: 'yes', b: 'No', d: 'off' });
    }
    setFastYaml(true);
    // The option lasts for its parse only.
    expect(parseYamlFile('x.yml', 'a: yes\n', [])!.data).toEqual({ a: 'yes' });
  });

  it('loads a project the same with and without the fast reader', () => {
    const dir = writeProject({
      'project.yml': projectYml('vars:\n  a: [1, 2]\nmodels:\n  silver: { materialized: table, tags: [s] }\n'),
      'models/silver/a.sql': 'select 1 as id',
      'models/silver/schema.yml': YAML_SUPPORTED[6]!.replace('name: a', 'name: a\n    config: {tags: [y]}'),
    });
    setFastYaml(false);
    const slow = loadProject(dir);
    setFastYaml(true);
    const fast = loadProject(dir);
    expect(JSON.stringify([...fast.models.values()])).toBe(JSON.stringify([...slow.models.values()]));
    expect(fast.vars).toEqual(slow.vars);
  });
});

afterAll(() => setFastYaml(true));
