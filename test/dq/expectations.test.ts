import { describe, expect, it } from 'vitest';
import { makeProject, query, runModels, writeFile } from './helpers.js';
import { cheapToRepeat } from '../../src/dq/expectations-hook.js';

const ROWS = `select * from (values
  (1, 'u1', 80),
  (2, 'u2', 300),
  (3, null, 90),
  (4, 'u4', null)
) as t(id, user_id, heartrate)`;

const model = (config: string, rows = ROWS) => `{{ config(${config}) }}\n${rows}`;

describe('expectations', () => {
  it('warn writes every row and counts the failures per expectation', async () => {
    const dir = makeProject({
      'models/silver/bpm.sql': model("materialized='table', expectations={'valid_rate': 'heartrate between 20 and 250', 'has_user': 'user_id is not null'}, on_violation='warn'"),
    });
    const { nodes, out } = await runModels(dir);
    const r = nodes.get('silver.bpm')!;
    expect(r.status).toBe('success');
    expect(r.rows).toBe(4);
    expect(r.stats?.expectations).toEqual([
      { name: 'valid_rate', action: 'warn', passed: 2, failed: 2 },
      { name: 'has_user', action: 'warn', passed: 3, failed: 1 },
    ]);
    expect(r.stats?.warned).toBe(3);
    const rows = await query(dir, `select node_id, expectation, action, passed, failed, batch_id, run_id from _lake.expectation_results order by expectation`);
    expect(rows).toEqual([
      { node_id: 'silver.bpm', expectation: 'has_user', action: 'warn', passed: 3, failed: 1, batch_id: out.batchId, run_id: out.runId },
      { node_id: 'silver.bpm', expectation: 'valid_rate', action: 'warn', passed: 2, failed: 2, batch_id: out.batchId, run_id: out.runId },
    ]);
    // run_results carries them too.
    const fs = await import('node:fs');
    const rr = JSON.parse(fs.readFileSync(`${dir}/target/run_results.json`, 'utf8')) as { results: { id: string; expectations: unknown[] }[] };
    expect(rr.results.find((x) => x.id === 'silver.bpm')?.expectations).toHaveLength(2);
    expect(await query(dir, `select count(*) as n from information_schema.tables where table_name = 'bpm__quarantine'`)).toEqual([{ n: 0 }]);
  });

  it('drop keeps failing rows out and quarantines them (ingest\'s quarantine columns) with the failed expectations', async () => {
    const dir = makeProject({
      'models/silver/bpm.sql': model("materialized='table', expectations={'valid_rate': 'heartrate between 20 and 250', 'has_user': 'user_id is not null'}, on_violation={'valid_rate': 'drop', 'has_user': 'warn'}"),
    });
    const { nodes, out } = await runModels(dir);
    const r = nodes.get('silver.bpm')!;
    expect(r.status).toBe('success');
    expect(r.rows).toBe(2);
    expect(r.stats).toMatchObject({ dropped: 2, warned: 1 });
    expect(await query(dir, 'select id from silver.bpm order by id')).toEqual([{ id: 1 }, { id: 3 }]);
    const q = await query(dir, `select source, reason, raw, batch, file, line from silver.bpm__quarantine order by raw`);
    expect(q).toEqual([
      { source: 'expectations', reason: 'valid_rate', raw: '{"id":2,"user_id":"u2","heartrate":300}', batch: out.batchId, file: null, line: null },
      { source: 'expectations', reason: 'valid_rate', raw: '{"id":4,"user_id":"u4","heartrate":null}', batch: out.batchId, file: null, line: null },
    ]);
    // A full rebuild replaces the expectation rows of the quarantine instead of piling them up.
    const again = await runModels(dir);
    expect(await query(dir, 'select batch, count(*) as n from silver.bpm__quarantine group by batch')).toEqual([{ batch: again.out.batchId, n: 2 }]);
  });

  it('drop on an incremental model filters each batch; on a view the filter stays in the view', async () => {
    const dir = makeProject({
      'models/silver/inc.sql': model("materialized='incremental', incremental_strategy='append', expectations={'valid_rate': 'heartrate between 20 and 250'}, on_violation='drop'"),
      'models/silver/v.sql': model("materialized='view', expectations={'has_user': 'user_id is not null'}, on_violation='drop'"),
    });
    await runModels(dir);
    const second = await runModels(dir);
    expect(second.nodes.get('silver.inc')?.stats).toMatchObject({ dropped: 2 });
    expect(await query(dir, 'select id, count(*) as n from silver.inc group by id order by id')).toEqual([{ id: 1, n: 2 }, { id: 3, n: 2 }]);
    expect(await query(dir, 'select count(*) as n from silver.inc__quarantine')).toEqual([{ n: 4 }]);
    expect(await query(dir, 'select id from silver.v order by id')).toEqual([{ id: 1 }, { id: 2 }, { id: 4 }]);
    expect(await query(dir, 'select count(*) as n from silver.v__quarantine')).toEqual([{ n: 1 }]);
    expect(await query(dir, 'select reason from silver.v__quarantine')).toEqual([{ reason: 'has_user' }]);
  });

  it('gives the same rows, counts and quarantine whether the rows are flagged inline or in a stage', async () => {
    const cfg = "materialized='incremental', incremental_strategy='append', expectations={'valid_rate': 'heartrate between 20 and 250', 'has_user': 'user_id is not null'}, on_violation={'valid_rate': 'drop', 'has_user': 'warn'}";
    // Inline: a scan and a filter that reads the model's own table (later runs add only new ids).
    const scan = `{{ config(${cfg}) }}\nselect * from {{ ref('src') }}{% if is_incremental() %} where id > (select coalesce(max(id), 0) from {{ this }}){% endif %}`;
    // Staged: the same rows through a join.
    const joined = `{{ config(${cfg}) }}\nselect s.* from {{ ref('src') }} as s join {{ ref('src') }} as k using (id){% if is_incremental() %} where s.id > (select coalesce(max(id), 0) from {{ this }}){% endif %}`;
    expect(cheapToRepeat(scan)).toBe(true);
    expect(cheapToRepeat(joined)).toBe(false);
    const files = (m: string) => ({ 'models/silver/src.sql': `{{ config(materialized='table') }}\n${ROWS}`, 'models/silver/m.sql': m });
    const outcome = async (dir: string) => {
      const first = await runModels(dir);
      writeFile(dir, 'models/silver/src.sql', `{{ config(materialized='table') }}\n${ROWS} union all select 5, 'u5', 10 union all select 6, 'u6', 70`);
      const second = await runModels(dir);
      return {
        stats: [first, second].map((r) => r.nodes.get('silver.m')?.stats),
        rows: await query(dir, 'select id from silver.m order by id'),
        quarantine: await query(dir, 'select reason, raw from silver.m__quarantine order by raw'),
        results: await query(dir, 'select expectation, passed, failed from _lake.expectation_results order by batch_id, expectation'),
      };
    };
    const a = await outcome(makeProject(files(scan)));
    const b = await outcome(makeProject(files(joined)));
    expect(a.stats).toEqual([
      expect.objectContaining({ dropped: 2, warned: 1 }),
      expect.objectContaining({ dropped: 2, warned: 0 }), // ids 4 (again: above the max kept id) and 5
    ]);
    expect(a.rows).toEqual([{ id: 1 }, { id: 3 }, { id: 6 }]);
    expect(a.quarantine.map((r) => r.raw)).toEqual(['{"id":2,"user_id":"u2","heartrate":300}', '{"id":4,"user_id":"u4","heartrate":null}', '{"id":4,"user_id":"u4","heartrate":null}', '{"id":5,"user_id":"u5","heartrate":10}']);
    expect(b).toEqual(a);
  });

  it('evaluates a model inline only when it is a scan and a filter', () => {
    expect(cheapToRepeat('select a, b from t where a > 1')).toBe(true);
    expect(cheapToRepeat("select a from t where b = 'left join'")).toBe(true);
    for (const sql of ['select a from t group by a', 'select a from t left join u using (a)', 'select row_number() over () from t', 'select a from t union all select a from u',
      'select distinct a from t', 'select random() as r from t', 'select * from t limit 5', 'select * from t using sample 10%']) {
      expect(cheapToRepeat(sql)).toBe(false);
    }
  });

  it('fail fails the model and leaves its table unchanged', async () => {
    const dir = makeProject({
      'models/silver/bpm.sql': model("materialized='table', expectations={'valid_rate': 'heartrate between 20 and 250'}, on_violation='fail'", "select * from (values (1, 'u1', 80)) as t(id, user_id, heartrate)"),
      'models/silver/child.sql': "select * from {{ ref('bpm') }}",
    });
    expect((await runModels(dir)).nodes.get('silver.bpm')?.status).toBe('success');
    writeFile(dir, 'models/silver/bpm.sql', model("materialized='table', expectations={'valid_rate': 'heartrate between 20 and 250'}, on_violation='fail'"));
    const { nodes } = await runModels(dir);
    const r = nodes.get('silver.bpm')!;
    expect(r.status).toBe('error');
    expect(r.error).toMatch(/expectation 'valid_rate' \(heartrate between 20 and 250\) failed for 2 of 4 rows/);
    expect(r.error).toMatch(/left unchanged/);
    expect(nodes.get('silver.child')?.status).toBe('skipped');
    expect(await query(dir, 'select id, heartrate from silver.bpm')).toEqual([{ id: 1, heartrate: 80 }]);
    expect(await query(dir, `select count(*) as n from _lake.expectation_results where failed > 0`)).toEqual([{ n: 0 }]);
  });

  it('names the expectation whose condition cannot be evaluated, and bad actions', async () => {
    const dir = makeProject({
      'models/silver/a.sql': model("materialized='table', expectations={'ok': 'id > 0', 'typo': 'heart_rate > 0'}"),
      'models/silver/b.sql': model("materialized='table', expectations={'ok': 'id > 0'}, on_violation='explode'"),
    });
    const { nodes } = await runModels(dir);
    expect(nodes.get('silver.a')?.error).toMatch(/expectation 'typo' \(heart_rate > 0\) cannot be evaluated: .*heart_rate/);
    expect(nodes.get('silver.b')?.error).toMatch(/on_violation 'explode' is not warn, drop or fail/);
  });
});
