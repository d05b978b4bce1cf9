/**
 * Compiler.compileAll(onNode): models finished early (against the ids the load predicts) while
 * later ones still render. The result must be exactly what compileAll() without it gives, and
 * what onNode saw last for each id must be the result's node — also when a config() call breaks
 * the prediction.
 */
import { describe, it, expect } from 'vitest';
import { loadProject } from '../../src/project/load.js';
import { Compiler } from '../../src/compiler/compile.js';
import type { CompiledNode } from '../../src/core/types.js';
import { writeProject, projectYml } from '../core/helpers.js';

/** Compile `files` both ways; returns what onNode saw (in order) and how many models had rendered at each call. */
function both(files: Record<string, string>) {
  const dir = writeProject({ 'project.yml': projectYml(), ...files });
  const plain = new Compiler(loadProject(dir)).compileAll();
  const compiler = new Compiler(loadProject(dir));
  const seen: CompiledNode[] = [];
  const rendersAtCall: number[] = [];
  const streamed = compiler.compileAll((n) => {
    seen.push(n);
    rendersAtCall.push(compiler.engine.stats.fast + compiler.engine.stats.nunjucks);
  });
  expect([...streamed.nodes.keys()]).toEqual([...plain.nodes.keys()]);
  for (const [id, n] of plain.nodes) {
    const s = streamed.nodes.get(id)!;
    expect(s.sql, id).toBe(n.sql);
    expect(s.dependsOn, id).toEqual(n.dependsOn);
    expect(s.relation, id).toEqual(n.relation);
    expect(s.checksum, id).toBe(n.checksum);
  }
  expect(streamed.diagnostics).toEqual(plain.diagnostics);
  // The last node onNode saw per id is the result's.
  const last = new Map<string, CompiledNode>();
  for (const n of seen) last.set(n.id, n);
  expect([...last.keys()].sort()).toEqual([...streamed.nodes.keys()].sort());
  for (const [id, n] of last) expect(n.sql, id).toBe(streamed.nodes.get(id)!.sql);
  return { seen, rendersAtCall, models: Object.keys(files).filter((f) => f.endsWith('.sql') && f.startsWith('models/')).length, streamed };
}

describe('compileAll(onNode)', () => {
  it('hands models over while later ones still render, each once, with the plain result', () => {
    const r = both({
      'seeds/raw.csv': 'id\n1\n',
      'models/bronze/a.sql': "select * from {{ ref('raw') }}",
      'models/bronze/b.sql': "select * from {{ ref('a') }} join {{ ref('d') }} using (id)",
      'models/silver/c.sql': "{{ config(materialized='table', tags=['x']) }}select * from {{ ref('b') }} where id > 0",
      'models/silver/d.sql': "{% for k in ['x', 'y'] %}select '{{ k }}' as k{% if not loop.last %} union all {% endif %}{% endfor %}",
      'models/gold/e.sql': "select * from {{ ref('silver', 'c') }}, {{ this }}",
    });
    // Project order: paths sorted (gold before silver).
    expect(r.seen.map((n) => n.id)).toEqual(['bronze.a', 'bronze.b', 'gold.e', 'silver.c', 'silver.d']);
    // bronze.a came out when only it had rendered.
    expect(r.rendersAtCall[0]).toBe(1);
    expect(r.rendersAtCall[0]).toBeLessThan(r.models);
  });

  it('hands over again what a config() schema or alias made stale', () => {
    const r = both({
      'models/a_first.sql': "select * from {{ ref('z_last') }} join {{ ref('y_aliased') }} using (id)",
      'models/y_aliased.sql': "{{ config(alias='y2') }}select 1 as id",
      'models/z_last.sql': "{{ config(schema='other') }}select 1 as id",
    });
    expect(r.streamed.nodes.get('main.a_first')!.sql).toBe('select * from "other"."z_last" join "main"."y2" using (id)');
    // Handed over first as predicted, then again once the renders said otherwise.
    expect(r.seen.filter((n) => n.id === 'main.a_first').map((n) => n.sql)).toEqual([
      'select * from "main"."z_last" join "main"."y_aliased" using (id)',
      'select * from "other"."z_last" join "main"."y2" using (id)',
    ]);
  });

  it('inlines ephemerals, predicted (folder config) or made so by config()', () => {
    const r = both({
      'project.yml': projectYml('models:\n  eph: { materialized: ephemeral }\n'),
      'models/eph/e1.sql': 'select 1 as id',
      'models/main/a.sql': "select * from {{ ref('e1') }} join {{ ref('late') }} using (id)",
      'models/main/late.sql': "{{ config(materialized='ephemeral') }}select * from {{ ref('e1') }}",
      'models/main/z.sql': "select * from {{ ref('late') }}",
    });
    expect(r.streamed.nodes.get('main.a')!.sql).toContain('"__lake_eph__late" as (');
    expect(r.streamed.nodes.get('main.z')!.sql).toContain('"__lake_eph__e1" as (');
  });

  it('gives the same diagnostics for unknown, ambiguous and self refs and for ids made equal by config()', () => {
    const r = both({
      'models/bronze/users.sql': 'select 1 as id',
      'models/silver/users.sql': 'select 1 as id',
      'models/gold/report.sql': "select * from {{ ref('users') }} join {{ ref('user') }} using (id) join {{ ref('report') }} using (id)",
      'models/gold/twin.sql': "{{ config(schema='silver', alias='users') }}select 2 as id",
      'models/silver/twin.sql': 'select 3 as id',
    });
    expect(r.streamed.diagnostics.map((d) => d.code).sort()).toEqual(['LAKE-C001', 'LAKE-C001', 'LAKE-C003', 'LAKE-C011']);
  });
});
