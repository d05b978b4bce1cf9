/**
 * A dbt project whose macros define a custom materialization (`{% materialization %}`, which lake
 * does not run) still loads: the file's other macros (and its generate_schema_name) work, and only
 * a model naming that materialization is refused, with a message saying what it is and where.
 */
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { lake, query, writeProject } from './helpers.js';

const MACROS = `{% materialization table_with_note, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='table') -%}
  {% call statement('main') -%}
    create or replace table {{ target_relation }} as ({{ sql }})
  {%- endcall %}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
{% macro shout(x) %}upper({{ x }}){% endmacro %}
{% macro generate_schema_name(custom_schema_name, node) -%}
  s_{{ custom_schema_name or target.schema }}
{%- endmacro %}
`;

function project(extra: Record<string, string> = {}): string {
  return writeProject({
    'dbt_project.yml': 'name: cm\nconfig-version: 2\nprofile: cm\nmodels:\n  cm:\n    +materialized: table\n',
    'profiles.yml': 'cm:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: cm.duckdb}\n',
    'macros/mats.sql': MACROS,
    'models/a.sql': "select {{ shout(\"'x'\") }} as v\n",
    ...extra,
  });
}

describe('custom materializations in a dbt project', () => {
  it("loads a macro file that defines one: its other macros and generate_schema_name work", async () => {
    const dir = project();
    const r = lake(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await query(path.join(dir, 'cm.duckdb'), 'select v from s_main.a')).toEqual([{ v: 'X' }]);
  });

  it('refuses a model that names it, saying it is a custom materialization and where it is defined', () => {
    const dir = project({ 'models/b.sql': "{{ config(materialized='table_with_note') }}\nselect 1 as x\n" });
    const r = lake(dir, ['build']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\/b\.sql:1:\d+: error LAKE-C010: s_main\.b: unknown materialized 'table_with_note'/);
    expect(r.stderr).toMatch(/'table_with_note' is a custom materialization \(\{% materialization %\} in macros\/mats\.sql\), which lake does not run/);
  });
});
