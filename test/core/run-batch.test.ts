/**
 * The run path's shortcuts for cheap nodes: one catalog snapshot per run, hook-free views sent to
 * DuckDB together (one transaction per group of ready views), and the fallback that builds each
 * view on its own when a group fails, so the failing model is the one named.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/app/session.js';
import { MemoryReporter } from '../../src/reporter/reporters.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { CatalogSnapshot, existingRelation } from '../../src/executor/run-node.js';
import { writeProject } from './helpers.js';

const YML = 'name: batch\ntargets:\n  dev: { type: duckdb, path: target/lake.duckdb, threads: 2 }\nmodels:\n  materialized: view\n';

async function run(dir: string, o: { select?: string[]; failFast?: boolean; threads?: number } = {}) {
  const s = Session.open({ projectDir: dir });
  const out = await s.run(new MemoryReporter(), { threads: o.threads ?? 2, select: o.select, failFast: o.failFast });
  return new Map(out.results.map((r) => [r.id, r]));
}

async function query(dir: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBAdapter.open(path.join(dir, 'target', 'lake.duckdb'));
  try {
    return await db.query(sql);
  } finally {
    await db.close();
  }
}

describe('lake run of cheap views', () => {
  it('builds ready views together and names the failing one when a group fails; the rest are built', async () => {
    const dir = writeProject({
      'project.yml': YML,
      'models/a/v1.sql': 'select 1 as id',
      'models/a/v2.sql': 'select 2 as id',
      'models/a/bad.sql': 'select no_such_column from {{ ref("v1") }}',
      'models/b/w1.sql': 'select id + 10 as id from {{ ref("v1") }}',
      'models/b/w2.sql': 'select id + 10 as id from {{ ref("v2") }}',
      'models/b/after_bad.sql': 'select * from {{ ref("bad") }}',
      // A table between views: it keeps its own transaction and its row count.
      'models/b/t.sql': "{{ config(materialized='table') }} select * from {{ ref('w1') }} union all select * from {{ ref('w2') }}",
      'models/c/top.sql': 'select sum(id) as s from {{ ref("t") }}',
    });
    const r = await run(dir);
    expect(r.get('a.bad')).toMatchObject({ status: 'error' });
    expect(String(r.get('a.bad')!.error)).toContain('no_such_column');
    expect(r.get('b.after_bad')).toMatchObject({ status: 'skipped', message: 'skipped: a.bad failed' });
    for (const id of ['a.v1', 'a.v2', 'b.w1', 'b.w2', 'c.top']) expect(r.get(id)).toMatchObject({ status: 'success' });
    expect(r.get('b.t')).toMatchObject({ status: 'success', rows: 2 });
    expect(await query(dir, 'select s from c.top')).toEqual([{ s: 23 }]);
    const runs = await query(dir, "select node_id, status from _lake.node_runs order by node_id");
    expect(runs.map((x) => `${String(x.node_id)}:${String(x.status)}`)).toEqual([
      'a.bad:error', 'a.v1:success', 'a.v2:success', 'b.after_bad:skipped', 'b.t:success', 'b.w1:success', 'b.w2:success', 'c.top:success',
    ]);

    // Fixed; then broken as a root, in the group of the first views, with --fail-fast and one thread.
    fs.writeFileSync(path.join(dir, 'models/a/bad.sql'), 'select id from {{ ref("v1") }}');
    expect([...(await run(dir)).values()].every((x) => x.status === 'success')).toBe(true);
    fs.writeFileSync(path.join(dir, 'models/a/bad.sql'), 'select nope');
    const ff = await run(dir, { failFast: true, threads: 1, select: ['a.v1', 'a.v2', 'a.bad'] });
    expect([...ff.values()].filter((x) => x.status === 'error').map((x) => x.id)).toEqual(['a.bad']);
    expect(ff.get('a.bad')!.error).toContain('nope');
    expect(ff.get('a.bad')!.error).toContain('compiled SQL');
    // A table model's SQL error names the line of its compiled file.
    fs.writeFileSync(path.join(dir, 'models/a/bad.sql'), "{{ config(materialized='table') }}\nselect\n  id,\n  id + 1 as nxt\nfrom {{ ref('v1') }} wher id > 0");
    const line = await run(dir, { threads: 1, select: ['a.v1', 'a.bad'] });
    expect(line.get('a.bad')!.error).toMatch(/compiled SQL: .*bad\.sql:4$/m);
    // ... and the line of the model file: the `from {{ ref() }} wher` line is line 5 of bad.sql.
    expect(line.get('a.bad')!.error).toMatch(/^\s*at models\/a\/bad\.sql:5:\d+$/m);
    // A short line ("id,") is found again too, not the all-template config() line above it.
    fs.writeFileSync(path.join(dir, 'models/a/bad.sql'), "-- x\n{{ config(materialized='table') }}\nselect\n  idx,\n  id\nfrom {{ ref('v1') }}");
    const short = await run(dir, { threads: 1, select: ['a.v1', 'a.bad'] });
    expect(short.get('a.bad')!.error).toMatch(/^\s*at models\/a\/bad\.sql:4:3$/m);
  });

  it('replaces a table by a view when a model becomes a view (a plan of two statements, in a transaction)', async () => {
    const dir = writeProject({ 'project.yml': YML, 'models/m.sql': "{{ config(materialized='table') }} select 1 as id" });
    expect([...(await run(dir)).values()][0]).toMatchObject({ status: 'success', materialized: 'table', rows: 1 });
    fs.writeFileSync(path.join(dir, 'models/m.sql'), 'select 2 as id');
    const r = await run(dir);
    expect([...r.values()][0]).toMatchObject({ status: 'success', materialized: 'view' });
    const rows = await query(dir, "select table_type as t from information_schema.tables where table_name = 'm'");
    expect(rows).toEqual([{ t: 'VIEW' }]);
  });

  it('reads the catalog in one snapshot that agrees with the lookup per relation', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-core-'));
    const db = await DuckDBAdapter.open(path.join(dir, 'x.duckdb'));
    try {
      await db.execute(`create schema s; create table s.t (id integer not null, d decimal(18,3), st struct(a varchar, b integer[])); create view s.v as select id, d from s.t; create table main.other (x varchar)`);
      await db.execute(`attach ':memory:' as scratch; create schema scratch.s; create table scratch.s.only_there (y integer)`);
      const snap = await CatalogSnapshot.read(db);
      for (const rel of [{ schema: 's', name: 't' }, { schema: 's', name: 'v' }, { schema: 'main', name: 'other' }]) {
        expect(snap.get(rel)).toEqual(await existingRelation(db, rel));
      }
      expect(snap.get({ schema: 's', name: 't' })!.columns.map((c) => c.type)).toEqual(['INTEGER', 'DECIMAL(18,3)', 'STRUCT(a VARCHAR, b INTEGER[])']);
      expect(snap.get({ schema: 's', name: 'v' })!.kind).toBe('view');
      expect(snap.get({ schema: 's', name: 'missing' })).toBeUndefined();
      // Only the current database: a relation of an attached one is not the model's.
      expect(snap.get({ schema: 's', name: 'only_there' })).toBeUndefined();
    } finally {
      await db.close();
    }
  });
});
