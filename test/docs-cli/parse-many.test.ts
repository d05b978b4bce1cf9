/**
 * `parseModelSql` (one DuckDB call for many models, used by `lake docs generate` and `lake lineage`)
 * must give exactly what each model's own parse gives, errors included, in order, across chunks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { DuckDbSql } from '../../src/lineage/duckdb-ast.js';
import { modelColumnLineage, parseModelSql } from '../../src/lineage/index.js';

const SQLS = [
  'select a, b + 1 as c from "bronze"."t"',
  "with x as (select 'it''s' as s, '$1' as d from t) select * exclude (d) from x",
  'select count(*) from t group by all',
  'select a from t; select b from u',
  'select from where',
  'select 1 as a\nfrom t\nwhere (',
  '',
  '-- only a comment',
  'select "ünï" as "naïve col" from "weird schema"."t"',
  'select a, row_number() over (partition by b order by c) as rn from t union all select a, 1 from u',
];

describe('parseModelSql', () => {
  let db: DuckDBAdapter;
  beforeAll(async () => {
    db = await DuckDBAdapter.open(':memory:');
  });
  afterAll(async () => {
    await db?.close();
  });

  it('gives the same result as parsing each model on its own, errors included', async () => {
    const one = new DuckDbSql(db);
    const each = [];
    for (const sql of SQLS) each.push(await one.parse(sql));
    const batch = await parseModelSql(db, SQLS);
    expect(batch).toEqual(each);
    // the list holds both kinds, so the comparison covers both
    expect(batch.filter((r) => 'error' in r).length).toBeGreaterThanOrEqual(3);
    expect(batch.filter((r) => 'node' in r).length).toBeGreaterThanOrEqual(5);
    expect(batch[4]).toEqual({ error: expect.stringMatching(/syntax error.*\(line 1, col \d+\)/) });
    expect(batch[3]).toMatchObject({ extraStatements: 1 });
  });

  it('keeps the order across engine calls (more models than one chunk)', async () => {
    const sqls = Array.from({ length: 1203 }, (_, i) => `select c${i} as out_${i} from t${i}`);
    const batch = await parseModelSql(db, sqls);
    expect(batch).toHaveLength(1203);
    batch.forEach((r, i) => {
      if (!('node' in r)) throw new Error(`model ${i}: ${r.error}`);
      expect(r.node.select_list![0]!.alias).toBe(`out_${i}`);
    });
    expect(await parseModelSql(db, [])).toEqual([]);
  });

  it('feeds modelColumnLineage the same lineage as its own parse', async () => {
    const schemas = new Map([['bronze.t', ['a', 'b']]]);
    const sql = SQLS[0]!;
    const [parsed] = await parseModelSql(db, [sql]);
    const own = await modelColumnLineage(db, sql, (r) => schemas.get(r));
    const fed = await modelColumnLineage(db, sql, (r) => schemas.get(r), { parsed });
    expect(fed).toEqual(own);
    expect(own.columns.map((c) => [c.column, c.sources.map((s) => `${s.relation}.${s.column}`)])).toEqual([
      ['a', ['bronze.t.a']],
      ['c', ['bronze.t.b']],
    ]);
  });
});
