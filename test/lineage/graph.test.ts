/**
 * upstreamOf / downstreamOf across models, over lineage computed from real model SQL by DuckDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { downstreamOf, lineageTreeLines, modelColumnLineage, upstreamOf, type ColumnLineage } from '../../src/lineage/index.js';

/** A tiny bronze → silver → gold project: model id -> compiled SQL, in build order. */
const models: [string, string][] = [
  ['bronze.bpm', `select user_id, bpm, ts from "__lake_source__kafka__bpm" where bpm between 20 and 250`],
  [
    'silver.workout_bpm',
    `select w.workout_id, w.user_id, avg(b.bpm) as avg_bpm, max(b.bpm) as max_bpm
     from "silver"."workouts" w join "bronze"."bpm" b on b.user_id = w.user_id and b.ts between w.started_at and w.ended_at
     group by all`,
  ],
  [
    'gold.user_summary',
    `select u.name, round(avg(wb.avg_bpm), 1) as avg_bpm, max(wb.max_bpm) as peak_bpm, count(*) as workouts
     from "silver"."workout_bpm" wb join "silver"."users" u using (user_id) group by u.name`,
  ],
];

const upstreamTables: Record<string, string[]> = {
  'source:kafka.bpm': ['user_id', 'bpm', 'ts', '_lake_file'],
  'silver.workouts': ['workout_id', 'user_id', 'started_at', 'ended_at'],
  'silver.users': ['user_id', 'name'],
};

let db: DuckDBAdapter;
const all = new Map<string, ColumnLineage[]>();

beforeAll(async () => {
  db = await DuckDBAdapter.open(':memory:');
  const schemas = new Map(Object.entries(upstreamTables));
  for (const [id, sql] of models) {
    const r = await modelColumnLineage(db, sql, (rel) => schemas.get(rel));
    expect(r.warnings).toEqual([]);
    all.set(id, r.columns);
    schemas.set(id, r.columns.map((c) => c.column)); // what the catalog holds once the model is built
  }
});
afterAll(async () => {
  await db.close();
});

describe('walking lineage across models', () => {
  it('upstreamOf a gold column reaches the source, nearest first, with the path', () => {
    expect(upstreamOf(all, 'gold.user_summary', 'peak_bpm')).toEqual([
      { relation: 'silver.workout_bpm', column: 'max_bpm', depth: 1, via: { relation: 'gold.user_summary', column: 'peak_bpm' } },
      { relation: 'bronze.bpm', column: 'bpm', depth: 2, via: { relation: 'silver.workout_bpm', column: 'max_bpm' } },
      { relation: 'source:kafka.bpm', column: 'bpm', depth: 3, via: { relation: 'bronze.bpm', column: 'bpm' } },
    ]);
  });

  it('upstreamOf a USING join column follows the left side only; a count(*) has no upstream', () => {
    expect(upstreamOf(all, 'gold.user_summary', 'name')).toEqual([
      { relation: 'silver.users', column: 'name', depth: 1, via: { relation: 'gold.user_summary', column: 'name' } },
    ]);
    expect(upstreamOf(all, 'gold.user_summary', 'workouts')).toEqual([]);
  });

  it('downstreamOf a source column reaches every model column computed from it', () => {
    expect(downstreamOf(all, 'source:kafka.bpm', 'bpm')).toEqual([
      { relation: 'bronze.bpm', column: 'bpm', depth: 1, via: { relation: 'source:kafka.bpm', column: 'bpm' } },
      { relation: 'silver.workout_bpm', column: 'avg_bpm', depth: 2, via: { relation: 'bronze.bpm', column: 'bpm' } },
      { relation: 'silver.workout_bpm', column: 'max_bpm', depth: 2, via: { relation: 'bronze.bpm', column: 'bpm' } },
      { relation: 'gold.user_summary', column: 'avg_bpm', depth: 3, via: { relation: 'silver.workout_bpm', column: 'avg_bpm' } },
      { relation: 'gold.user_summary', column: 'peak_bpm', depth: 3, via: { relation: 'silver.workout_bpm', column: 'max_bpm' } },
    ]);
  });

  it('prints a walk as a tree: each column under the column it was reached from, not under the line above', () => {
    const hops = downstreamOf(all, 'source:kafka.bpm', 'bpm');
    expect(lineageTreeLines({ relation: 'source:kafka.bpm', column: 'bpm' }, hops)).toEqual([
      '  bronze.bpm.bpm',
      '    silver.workout_bpm.avg_bpm',
      '      gold.user_summary.avg_bpm',
      '    silver.workout_bpm.max_bpm',
      '      gold.user_summary.peak_bpm',
    ]);
  });

  it('an inlined ephemeral model (a __lake_eph__ CTE) is a step of its own: its consumer reads it, it reads the source', async () => {
    const schemas = new Map<string, readonly string[]>([['silver.users', ['user_id', 'name']]]);
    const eph = await modelColumnLineage(db, 'select user_id, upper(name) as shout from "silver"."users"', (rel) => schemas.get(rel));
    const cteModel = (n: string) => (n === '__lake_eph__shouted' ? 'silver.shouted' : undefined);
    const consumer = await modelColumnLineage(db, 'with "__lake_eph__shouted" as (\nselect user_id, upper(name) as shout from "silver"."users"\n)\nselect shout as loud from "__lake_eph__shouted"', (rel) => schemas.get(rel), { cteModel });
    const map = new Map([['silver.shouted', eph.columns], ['gold.loud', consumer.columns]]);
    expect(upstreamOf(map, 'gold.loud', 'loud').map((h) => `${h.relation}.${h.column}`)).toEqual(['silver.shouted.shout', 'silver.users.name']);
    expect(downstreamOf(map, 'silver.users', 'name').map((h) => `${h.relation}.${h.column}@${h.depth}`)).toEqual(['silver.shouted.shout@1', 'gold.loud.loud@2']);
  });

  it('columns used only in join conditions have no downstream; column names match case-insensitively', () => {
    expect(downstreamOf(all, 'silver.workouts', 'started_at')).toEqual([]);
    expect(downstreamOf(all, 'bronze.bpm', 'TS')).toEqual([]);
    expect(downstreamOf(all, 'silver.workouts', 'USER_ID').map((h) => `${h.relation}.${h.column}@${h.depth}`)).toEqual([
      'silver.workout_bpm.user_id@1',
    ]);
  });

  it('stops on cycles and visits a diamond once', () => {
    const cyclic = new Map<string, ColumnLineage[]>([
      ['m.a', [{ column: 'x', kind: 'direct', sources: [{ relation: 'm.b', column: 'x' }] }]],
      ['m.b', [{ column: 'x', kind: 'derived', sources: [{ relation: 'm.a', column: 'x' }, { relation: 'm.c', column: 'x' }] }]],
      ['m.c', [{ column: 'x', kind: 'direct', sources: [{ relation: 'm.a', column: 'x' }] }]],
    ]);
    expect(upstreamOf(cyclic, 'm.a', 'x').map((h) => `${h.relation}.${h.column}@${h.depth}`)).toEqual(['m.b.x@1', 'm.c.x@2']);
    expect(downstreamOf(cyclic, 'm.a', 'x').map((h) => `${h.relation}.${h.column}@${h.depth}`)).toEqual(['m.b.x@1', 'm.c.x@1']);
  });
});
