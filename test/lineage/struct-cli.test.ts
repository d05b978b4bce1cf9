/** Field-level lineage across models: a struct built in one model, its fields read in others (lake lineage, real DuckDB). */
import { describe, expect, it } from 'vitest';
import { lake, writeProject } from '../core/helpers.js';

describe('lake lineage through struct fields', () => {
  it('s.p, s[\'q\'], s.* and unnest(s) over an upstream model trace each field to its own sources', () => {
    const dir = writeProject({
      'project.yml': 'name: sl\ntargets:\n  dev: { type: duckdb, path: target/sl.duckdb }\n',
      'models/gold/a.sql': 'select 1 as id, 10 as x, 100 as y',
      'models/gold/st.sql': "select id, {'p': x, 'q': y} as s from {{ ref('a') }}",
      'models/gold/st2.sql': "select id, s.p as p_val, s['q'] as q_val from {{ ref('st') }}",
      'models/gold/u8.sql': "select id, unnest(s) from {{ ref('st') }}",
      'models/gold/u9.sql': "select id, s.* from {{ ref('st') }}",
    });
    expect(lake(dir, ['run']).code).toBe(0);
    const up = (col: string) => {
      const r = lake(dir, ['lineage', col, '--upstream']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').slice(1).map((l) => l.trim());
    };
    expect(up('st2.p_val')).toEqual(['gold.st.s.p', 'gold.a.x']);
    expect(up('st2.q_val')).toEqual(['gold.st.s.q', 'gold.a.y']);
    expect(up('u8.p')).toEqual(['gold.st.s.p', 'gold.a.x']);
    expect(up('u9.q')).toEqual(['gold.st.s.q', 'gold.a.y']);
    // The whole struct still comes from both.
    expect(up('st.s').sort()).toEqual(['gold.a.x', 'gold.a.y']);
    const down = lake(dir, ['lineage', 'a.y', '--downstream']).stdout;
    expect(down).toMatch(/gold\.st2\.q_val/);
    expect(down).not.toMatch(/gold\.st2\.p_val/);
  });
});
