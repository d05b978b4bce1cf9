/**
 * Models that query the database while they render (dbt's run_query, statement / load_result,
 * adapter.get_columns_in_relation, get_relation / load_relation, api.Relation.create): `lake
 * compile` renders them as dbt's parse phase (`execute` false, no database), `lake run` renders
 * them again against the database once their parents are built, each query run once, in order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { lake, projectYml, query, writeProject } from './helpers.js';
import { loadProject } from '../../src/project/load.js';
import { Compiler } from '../../src/compiler/compile.js';

const PAYMENTS = 'id,order_id,payment_method,amount\n1,1,credit_card,1000\n2,2,coupon,200\n3,2,credit_card,300\n4,3,bank_transfer,1500\n5,4,gift_card,100\n';

// The pattern of dbt's Jinja tutorial: the payment methods come from the data.
const PIVOT_MACRO = `{% macro payment_methods() %}
{% set q %}select distinct payment_method from {{ ref('payments') }} order by 1{% endset %}
{% set results = run_query(q) %}
{% if execute %}{% set methods = results.columns[0].values() %}{% else %}{% set methods = [] %}{% endif %}
{{ return(methods) }}
{% endmacro %}

{% macro column_values(table, column, default=none) %}
  {% if not execute %}{{ return(default or []) }}{% endif %}
  {% set exists = load_relation(table) is not none %}
  {% call statement('vals', fetch_result=true) %}
    {% if not exists %}{{ return(default) }}{% endif %}
    select {{ column }} as value from {{ table }} group by 1 order by count(*) desc, 1
  {% endcall %}
  {% set r = load_result('vals') %}
  {% if r and r['data'] %}{{ return(r['data'] | map(attribute=0) | list) }}{% else %}{{ return(default) }}{% endif %}
{% endmacro %}
`;

const PIVOT_MODEL = `select order_id,
{%- for m in payment_methods() %}
  sum(case when payment_method = '{{ m }}' then amount end) as {{ m }}_amount{{ ',' if not loop.last }}
{%- endfor %}
from {{ ref('payments') }}
group by 1
`;

function base(extra: Record<string, string> = {}): Record<string, string> {
  return { 'project.yml': projectYml(), 'seeds/payments.csv': PAYMENTS, 'macros/values.sql': PIVOT_MACRO, ...extra };
}

describe('models that query the database while rendering', () => {
  it('compile renders them as dbt parses them (execute false, no database); run renders them with the database', async () => {
    const dir = writeProject(base({ 'models/order_payments.sql': PIVOT_MODEL, 'models/plain.sql': "select '{{ 'yes' if execute else 'no' }}' as executing" }));
    const c = lake(dir, ['compile']);
    expect(c.code, c.stderr).toBe(0);
    const compiledFile = path.join(dir, 'target/compiled/main/order_payments.sql');
    // No database: the loop ran over the empty list run_query's guard gives.
    expect(fs.readFileSync(compiledFile, 'utf8')).toBe('select order_id,\nfrom "seeds"."payments"\ngroup by 1\n');
    expect(fs.existsSync(path.join(dir, 'target/t.duckdb'))).toBe(false);
    // A model that queries nothing renders in dbt's execution phase, as before.
    expect(fs.readFileSync(path.join(dir, 'target/compiled/main/plain.sql'), 'utf8')).toBe("select 'yes' as executing\n");

    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = path.join(dir, 'target/t.duckdb');
    expect(await query(db, 'select * from main.order_payments order by order_id')).toEqual([
      { order_id: 1, bank_transfer_amount: null, coupon_amount: null, credit_card_amount: 1000, gift_card_amount: null },
      { order_id: 2, bank_transfer_amount: null, coupon_amount: 200, credit_card_amount: 300, gift_card_amount: null },
      { order_id: 3, bank_transfer_amount: 1500, coupon_amount: null, credit_card_amount: null, gift_card_amount: null },
      { order_id: 4, bank_transfer_amount: null, coupon_amount: null, credit_card_amount: null, gift_card_amount: 100 },
    ].map((x) => expect.objectContaining(x)));
    // The compiled file is what was built.
    expect(fs.readFileSync(compiledFile, 'utf8')).toContain("sum(case when payment_method = 'gift_card' then amount end) as gift_card_amount\nfrom");
    // lake show renders it with the database too.
    const shown = lake(dir, ['show', 'order_payments']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/order_id \| bank_transfer_amount \| coupon_amount \| credit_card_amount \| gift_card_amount/);
    // A new payment method is a new column at the next run, as the data says.
    fs.appendFileSync(path.join(dir, 'seeds/payments.csv'), '6,5,paypal,50\n');
    expect(lake(dir, ['seed']).code).toBe(0);
    expect(lake(dir, ['run']).code).toBe(0);
    expect((await query<{ paypal_amount: number }>(db, 'select paypal_amount from main.order_payments where order_id = 5'))[0]!.paypal_amount).toBe(50);
  });

  it('has statement / load_result, load_relation, adapter.get_columns_in_relation with dbt\'s Column, get_relation and api.Relation.create', async () => {
    const dir = writeProject(base({
      'models/described.sql': `{% set cols = adapter.get_columns_in_relation(ref('payments')) %}
select {% for c in cols %}'{{ c.name }}:{{ c.data_type }}:{{ c.is_number() }}:{{ c.is_string() }}:{{ c.quoted }}' as c{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %},
  '{{ column_values(ref('payments'), 'payment_method') | join('|') }}' as methods,
  '{{ column_values(api.Relation.create(schema='main', identifier='nowhere'), 'x', default=['none']) | join('|') }}' as missing,
  '{{ adapter.get_relation(database=none, schema='seeds', identifier='payments').type }}' as kind,
  '{{ adapter.get_relation(none, 'main', 'nowhere') is none }}' as absent,
  {% set t = run_query("select 1 as a, 'x' as b union all select 2, 'y' order by a") %}'{{ t.column_names | join(',') }}|{{ t.rows[1]['b'] }}|{{ t.rows[0][0] }}|{{ t | length }}|{% for row in t %}{{ row.a }}{% endfor %}' as agate
from {{ ref('payments') }} limit 1`,
    }));
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [row] = await query(path.join(dir, 'target/t.duckdb'), 'select * from main.described');
    expect(row).toEqual({
      c1: 'id:BIGINT:True:False:"id"', c2: 'order_id:BIGINT:True:False:"order_id"', c3: 'payment_method:character varying(256):False:True:"payment_method"', c4: 'amount:BIGINT:True:False:"amount"',
      methods: 'credit_card|bank_transfer|coupon|gift_card', missing: 'none', kind: 'table', absent: 'True', agate: 'a,b|y|1|2|12',
    });
  });

  it('runs each query once, in the order the template asks them, though it renders several times', async () => {
    const dir = writeProject(base({
      'models/audit.sql': "{{ config(materialized='table') }}select 1 as id",
      'models/logged.sql': `{% do run_query("insert into main.audit values (10)") %}
{% set n = run_query("select count(*) from main.audit").columns[0].values()[0] if execute else 0 %}
{% do run_query("insert into main.audit values (20)") %}
select {{ n }} as seen, 1 as x from {{ ref('audit') }} limit 1`,
    }));
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = path.join(dir, 'target/t.duckdb');
    expect((await query<{ id: number }>(db, 'select id from main.audit order by id')).map((x) => x.id)).toEqual([1, 10, 20]);
    expect(await query(db, 'select seen from main.logged')).toEqual([{ seen: 2 }]);
  });

  it('runs each query once when the template asks several (fast path included) or asks a new text each time', async () => {
    const dir = writeProject(base({
      'models/audit.sql': "{{ config(materialized='table') }}select 1 as id",
      // Two queries in the fast path's subset, then a query whose text changes at every render.
      'models/two.sql': "{% set a = run_query('select 40') %}{% set b = run_query('select 2') %}select {{ a.columns[0][0] }} + {{ b.columns[0][0] }} as x, 1 as y",
      'models/clocked.sql': `{% do run_query("insert into main.audit values (" ~ modules.datetime.datetime.now().microsecond + 1000000 ~ ")") %}{% set n = run_query('select count(*) from main.audit').columns[0][0] %}
select {{ n }} as n from {{ ref('two') }}, {{ ref('audit') }} limit 1`,
    }));
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = path.join(dir, 'target/t.duckdb');
    expect(await query(db, 'select x from main.two')).toEqual([{ x: 42 }]);
    expect(await query(db, 'select count(*)::int as n from main.audit')).toEqual([{ n: 2 }]);
    expect(await query(db, 'select n from main.clocked')).toEqual([{ n: 2 }]);
  });

  it('gives query values as dbt\'s agate does: DECIMAL and DOUBLE as Decimal, dates, TIMESTAMPTZ, TIME, INTERVAL; Column as a sequence; print_table', async () => {
    const dir = writeProject(base({
      'models/vals.sql': `{% set r = run_query("select 1.50::decimal(5,2) a, 12345678901234.1234567890::decimal(38,10) c, 3.0::double d, 0.1::double e, timestamptz '2024-01-02 03:04:05+00' f, time '03:04:05' g, interval 1 day h, date '2024-01-02' i, null::int j, interval 2 month k") %}
{% set row = r.rows[0] %}{% do r.print_table() %}
select '{{ row.a }}|{{ row.c }}|{{ row.d }}|{{ row.e }}|{{ row.f }}|{{ row.g }}|{{ row.h }}|{{ row.i }}|{{ row.j }}|{{ row.k }}|{{ row.a == 1.5 }}|{{ row.a is number }}|{{ row.a + 1 }}|{{ r.columns[0][0] }}|{{ r.columns[0] | list | length }}|{{ r.columns.keys() | join(',') }}|{% for k, c in r.columns.items() %}{{ k }}{% endfor %}' as v`,
    }));
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await query(path.join(dir, 'target/t.duckdb'), 'select v from main.vals')).toEqual([{
      v: '1.50|12345678901234.1234567890|3.0|0.1|2024-01-02 03:04:05+00:00|03:04:05|1 day, 0:00:00|2024-01-02|None|60 days, 0:00:00|True|True|2.50|1.50|1|a,c,d,e,f,g,h,i,j,k|acdefghijk',
    }]);
  });

  it('reruns an incremental model\'s queries with is_incremental() true against its own table', async () => {
    const dir = writeProject(base({
      'models/inc.sql': `{{ config(materialized='incremental') }}
{% if is_incremental() %}{% set hi = run_query('select max(id) from ' ~ this).columns[0].values()[0] %}{% else %}{% set hi = 0 %}{% endif %}
select id, amount from {{ ref('payments') }} where id > {{ hi if hi is not none else 0 }}`,
    }));
    expect(lake(dir, ['run']).code).toBe(0);
    fs.appendFileSync(path.join(dir, 'seeds/payments.csv'), '6,5,paypal,50\n');
    expect(lake(dir, ['seed']).code).toBe(0);
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/main\.inc +incremental 1 row/);
    expect((await query<{ id: number }>(path.join(dir, 'target/t.duckdb'), 'select id from main.inc order by id')).map((x) => x.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a failing query fails its model with the query and the file; a ref seen only with the database is an error with the fix', async () => {
    const dir = writeProject(base({
      'models/broken.sql': "{% set r = run_query('select * from main.nowhere') %}select 1 as x",
      'models/sneaky.sql': "{% if execute %}select * from {{ ref('payments') }}{% else %}select 1 as id{% endif %}",
      'models/fine.sql': 'select 1 as x',
    }));
    const r = lake(dir, ['run']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/OK +main\.fine/);
    const out = r.stdout + r.stderr;
    expect(out).toContain('main.broken: a query the template ran while rendering failed: Catalog Error: Table with name nowhere does not exist!');
    expect(out).toContain('in models/broken.sql');
    expect(out).toContain('query: select * from main.nowhere');
    // sneaky has no query, so it is not rendered again: its ref is read at compile, as dbt reads it.
    expect(r.stdout).toMatch(/OK +main\.sneaky/);
    const late = writeProject(base({ 'models/late.sql': "{% set r = run_query('select 1') %}{% if execute %}select * from {{ ref('payments') }}{% else %}select 1 as id{% endif %}" }));
    const l = lake(late, ['run']);
    expect(l.code).toBe(1);
    expect(l.stdout + l.stderr).toContain("main.late: ref to seeds.payments appears only when the model renders with the database");
    expect(l.stdout + l.stderr).toContain("-- depends_on: {{ ref('payments') }}");
  });

  it('marks the node introspective, keeps it out of the render cache, and compiles without diagnostics', () => {
    const dir = writeProject(base({ 'models/order_payments.sql': PIVOT_MODEL, 'models/b.sql': "{% set cols = adapter.get_columns_in_relation(ref('order_payments')) %}select {{ cols | length }} as n" }));
    const compiler = new Compiler(loadProject(dir));
    const compiled = compiler.compileAll();
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.nodes.get('main.order_payments')!.introspective).toBe(true);
    expect(compiled.nodes.get('main.b')!.sql).toBe('select 0 as n');
    expect(compiled.nodes.get('main.b')!.dependsOn.nodes).toEqual(['main.order_payments']);
  });

  it('renders model hooks and on_run_end hooks with the database', async () => {
    const dir = writeProject(base({
      'project.yml': `${projectYml()}on_run_start: ["create table if not exists main.audit (what varchar, n bigint)"]
on_run_end: ["{% for s in run_query(\\"select schema_name from duckdb_schemas() where database_name = current_database() and schema_name in ('main', 'seeds') order by 1\\").columns[0].values() %}insert into main.audit values ('schema {{ s }}', 0);{% endfor %}", "{{ log('run ended with ' ~ (results | length) ~ ' results', info=True) }}"]
`,
      'models/counted.sql': `{{ config(materialized='table', post_hook="{% set n = run_query('select count(*) from ' ~ this).columns[0].values()[0] %}{{ log('counted ' ~ n ~ ' rows', info=True) }}insert into main.audit values ('{{ this.name }}', {{ n }})") }}
select * from {{ ref('payments') }}`,
    }));
    const r = lake(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/run ended with \d+ results\n/);
    expect(r.stdout).toMatch(/counted 5 rows\n.*OK +main\.counted/);
    expect(await query(path.join(dir, 'target/t.duckdb'), 'select what, n from main.audit order by what')).toEqual([
      { what: 'counted', n: 5 }, { what: 'schema main', n: 0 }, { what: 'schema seeds', n: 0 },
    ]);
  });

  it('lake run-operation calls a macro against the database in one transaction and prints its info logs', async () => {
    const dir = writeProject(base({
      'macros/ops.sql': `{% macro grant_select(role='reader', days=1) %}
  {% do run_query("create table if not exists main.grants (who varchar, days int)") %}
  {% do run_query("insert into main.grants values ('" ~ role ~ "', " ~ days ~ ")") %}
  {% set n = run_query("select count(*) from main.grants").columns[0].values()[0] %}
  {{ log("granted to " ~ role ~ ", " ~ n ~ " grants now", info=True) }}{{ log("not shown") }}{{ print("done") }}
{% endmacro %}
{% macro half_done() %}
  {% do run_query("insert into main.grants values ('half', 0)") %}
  {% do run_query("select * from main.nowhere") %}
{% endmacro %}`,
    }));
    const r = lake(dir, ['run-operation', 'grant_select', '--args', '{role: analyst, days: 7}']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('granted to analyst, 1 grants now\ndone\n');
    expect(lake(dir, ['run-operation', 'grant_select']).stdout).toContain('granted to reader, 2 grants now');
    // A failing query: nothing of the operation stays.
    const f = lake(dir, ['run-operation', 'half_done']);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain('a query the template ran while rendering failed: Catalog Error: Table with name nowhere does not exist!');
    expect(await query(path.join(dir, 'target/t.duckdb'), 'select who, days from main.grants order by who')).toEqual([{ who: 'analyst', days: 7 }, { who: 'reader', days: 1 }]);
    const typo = lake(dir, ['run-operation', 'grant_selct']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean grant_select?');
    expect(lake(dir, ['run-operation', 'grant_select', '--args', '[1, 2]']).stderr).toContain('LAKE-U021');
  });

  it('tests an ephemeral model that queries the database with its live SQL, and prints log(info=True) lines of the models it builds', () => {
    const dir = writeProject(base({
      'models/e.sql': `{{ config(materialized='ephemeral') }}{% set r = run_query("select 42") %}select {{ r.columns[0][0] if execute else 0 }} as answer`,
      'models/v.sql': "{{ log('building v', info=True) }}{{ log('not shown') }}{{ print('printed too') }}select * from {{ ref('e') }}",
      'data_tests/answer_is_42.sql': "select * from {{ ref('e') }} where answer <> 42",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: e\n    columns:\n      - name: answer\n        data_tests: [{accepted_values: {values: [42], quote: false}}]\n',
    }));
    const r = lake(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS +\| accepted_values_e_answer__False__42/);
    expect(r.stdout).toMatch(/PASS +\| answer_is_42/);
    expect(r.stdout).toMatch(/building v\nprinted too\n.*OK +main\.v/);
    expect(r.stdout).not.toContain('not shown');
  });

  it('renders data tests that query the database (custom generic and singular) with it when they run', () => {
    const dir = writeProject(base({
      'models/m.sql': 'select 1 as id, 2 as amount',
      'macros/t.sql': `{% test has_columns(model, n) %}{% set cols = adapter.get_columns_in_relation(model) %}select {{ cols | length }} as found where {{ cols | length }} <> {{ n }}{% endtest %}
{% test all_numbers(model) %}select * from (values ('-'){% for c in adapter.get_columns_in_relation(model) if not c.is_number() %}, ('{{ c.name }}'){% endfor %}) t(not_a_number) where not_a_number <> '-'{% endtest %}`,
      'data_tests/methods_known.sql': "{% set r = run_query('select count(distinct payment_method) from ' ~ ref('payments')) %}select * from (select {{ r.columns[0].values()[0] if execute else 0 }} as n) where n <> 4",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n    data_tests:\n      - has_columns: {n: 2}\n      - has_columns: {n: 3, config: {name: three_columns}}\n      - all_numbers\n',
    }));
    const r = lake(dir, ['build']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/PASS +\| has_columns_m_2 /);
    expect(r.stdout).toMatch(/FAIL +\| three_columns /);
    expect(r.stdout).toMatch(/PASS +\| all_numbers_m_ /);
    expect(r.stdout).toMatch(/PASS +\| methods_known /);
    // Their compiled SQL is under target/compiled/ as every other test's (dbt writes one for each test it runs).
    const compiled = (name: string) => fs.readFileSync(path.join(dir, 'target/compiled/_tests', `${name}.sql`), 'utf8');
    expect(compiled('has_columns_m_2')).toBe('select 2 as found where 2 <> 2\n');
    expect(compiled('three_columns')).toBe('select 2 as found where 2 <> 3\n');
    expect(compiled('methods_known')).toBe('select * from (select 4 as n) where n <> 4\n');
    expect(fs.readdirSync(path.join(dir, 'target/compiled/_tests')).sort()).toEqual(['all_numbers_m_.sql', 'has_columns_m_2.sql', 'methods_known.sql', 'three_columns.sql']);
  });
});
