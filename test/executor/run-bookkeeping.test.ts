/**
 * What every `lake run` does around its models, made cheap: the catalog snapshot scoped to the
 * run's schemas and relations, the run's row written while the catalog is read, the end of the
 * run in one transaction, `describe` without information_schema — with the guarantees they must
 * keep: the same answers as a lookup per relation, the same rows as before, and every committed
 * transaction durable across a kill.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { CatalogSnapshot, existingRelation } from '../../src/executor/run-node.js';
import { beginRun, ensureState, finishRun, recordNodes } from '../../src/executor/state.js';
import { openDatabase } from '../../src/executor/open.js';
import type { NodeResult } from '../../src/reporter/types.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAKE_BIN = path.join(REPO, 'bin', 'lake.js');

function tempDb(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lake-exec-')), 'x.duckdb');
}

describe('the catalog snapshot of a run', () => {
  it('scoped to schemas and relations, agrees with the lookup per relation and says what it does not cover', async () => {
    const db = await DuckDBAdapter.open(tempDb());
    try {
      await db.execute(`create schema s; create schema other;
        create table s.t (id integer not null, d decimal(18,3), st struct(a varchar, b integer[]));
        create view s.v as select id, d from s.t; create table s.not_asked (x varchar); create table other.o (y integer)`);
      await db.execute(`attach ':memory:' as scratch; create schema scratch.s; create table scratch.s.only_there (y integer)`);
      const asked = [{ schema: 's', name: 't' }, { schema: 's', name: 'v' }, { schema: 's', name: 'missing' }];
      const snap = await CatalogSnapshot.read(db, { schemas: ['s'], relations: [...asked, { schema: 's', name: 'only_there' }] });
      for (const rel of asked) {
        expect(snap.covers(rel)).toBe(true);
        expect(snap.get(rel)).toEqual(await existingRelation(db, rel));
      }
      expect(snap.get({ schema: 's', name: 't' })!.columns).toEqual([
        { name: 'id', type: 'INTEGER', nullable: false },
        { name: 'd', type: 'DECIMAL(18,3)', nullable: true },
        { name: 'st', type: 'STRUCT(a VARCHAR, b INTEGER[])', nullable: true },
      ]);
      expect(snap.get({ schema: 's', name: 'v' })!.kind).toBe('view');
      // Only the current database: a relation of an attached one is not the model's.
      expect(snap.covers({ schema: 's', name: 'only_there' })).toBe(true);
      expect(snap.get({ schema: 's', name: 'only_there' })).toBeUndefined();
      // Exists, but its columns were not asked for: the caller looks it up.
      expect(snap.exists({ schema: 's', name: 'not_asked' })).toBe(true);
      expect(snap.covers({ schema: 's', name: 'not_asked' })).toBe(false);
      // A schema outside the scope: unknown.
      expect(snap.exists({ schema: 'other', name: 'o' })).toBeUndefined();
      expect(snap.covers({ schema: 'other', name: 'o' })).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('reads the other relations when a view no longer binds (its upstream lost a column), and so does lake run', async () => {
    const db = await DuckDBAdapter.open(tempDb());
    try {
      await db.execute(`create schema s; create table s.t (id integer, name varchar); create view s.v as select name from s.t;
        create or replace table s.t (id integer)`);
      const snap = await CatalogSnapshot.read(db, { schemas: ['s'], relations: [{ schema: 's', name: 't' }, { schema: 's', name: 'v' }] });
      expect(snap.get({ schema: 's', name: 't' })!.columns.map((c) => c.name)).toEqual(['id']);
      expect(snap.get({ schema: 's', name: 'v' })).toEqual({ kind: 'view', columns: [] });
    } finally {
      await db.close();
    }
    // The same through the CLI: the model was fixed, the run rebuilds the view.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-broken-view-'));
    fs.mkdirSync(path.join(dir, 'models'));
    fs.writeFileSync(path.join(dir, 'project.yml'), 'name: p\ntargets:\n  dev: { type: duckdb, path: target/p.duckdb }\n');
    const lake = (...args: string[]) => spawnSync(process.execPath, [LAKE_BIN, ...args, '--project-dir', dir], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    fs.writeFileSync(path.join(dir, 'models/t.sql'), "{{ config(materialized='table') }} select 1 as id, 'a' as name");
    fs.writeFileSync(path.join(dir, 'models/v.sql'), "select name from {{ ref('t') }}");
    expect(lake('run').status).toBe(0);
    fs.writeFileSync(path.join(dir, 'models/t.sql'), "{{ config(materialized='table') }} select 1 as id");
    expect(lake('run').status).toBe(1);
    fs.writeFileSync(path.join(dir, 'models/v.sql'), "select id from {{ ref('t') }}");
    const fixed = lake('run');
    expect(fixed.stderr).toBe('');
    expect(fixed.status).toBe(0);
  });

  it('reads whole schemas in one scan when a run asks for many relations', async () => {
    const db = await DuckDBAdapter.open(':memory:');
    try {
      const names = Array.from({ length: 40 }, (_, i) => `t${i}`);
      await db.execute(['create schema s', ...names.map((n, i) => `create table s.${n} (id integer, v${i} varchar not null)`), 'create view s.w as select 1 as one'].join(';\n'));
      const rels = [...names, 'w'].map((name) => ({ schema: 's', name }));
      const snap = await CatalogSnapshot.read(db, { schemas: ['s'], relations: rels });
      for (const rel of rels) {
        expect(snap.covers(rel)).toBe(true);
        expect(snap.get(rel)).toEqual(await existingRelation(db, rel));
      }
      // The whole database, as before scoping.
      const all = await CatalogSnapshot.read(db);
      expect(all.get({ schema: 's', name: 't7' })).toEqual(snap.get({ schema: 's', name: 't7' }));
    } finally {
      await db.close();
    }
  });

  it('tells ensureState whether lake\'s tables are there', async () => {
    const db = await DuckDBAdapter.open(':memory:');
    try {
      const scope = { schemas: ['_lake'], relations: [] };
      await ensureState(db, await CatalogSnapshot.read(db, scope));
      const snap = await CatalogSnapshot.read(db, scope);
      expect(snap.get({ schema: '_lake', name: 'runs' })?.kind).toBe('table');
      expect(snap.get({ schema: '_lake', name: 'files' })?.kind).toBe('table');
      await ensureState(db, snap); // nothing to create: no error, nothing changed
      expect(await beginRun(db, 'r1', 'run', '{}', 'test')).toBe(1);
    } finally {
      await db.close();
    }
  });
});

describe("the adapter's describe", () => {
  it('answers as information_schema does: tables, views, temp views, other databases, missing relations', async () => {
    const db = await DuckDBAdapter.open(':memory:');
    try {
      await db.execute(`create schema s; create type e_t as enum ('a', 'b');
        create table s.t (id integer not null, d decimal(18,3), st struct(a varchar, b integer[]), m map(varchar, double), e e_t, ts timestamptz);
        create view s.v as select id, d, st from s.t; create temp view tv as select 1 as one;
        attach ':memory:' as other; create schema other.s; create table other.s.o (y bigint)`);
      const info = async (schema: string, name: string) => {
        const rows = await db.query<{ column_name: string; data_type: string; is_nullable: string }>(
          `select column_name, data_type, is_nullable from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position`, [schema, name]);
        return rows.length ? rows.map((r) => ({ name: r.column_name, type: r.data_type, nullable: r.is_nullable === 'YES' })) : undefined;
      };
      for (const [schema, name] of [['s', 't'], ['s', 'v'], ['main', 'tv'], ['s', 'o'], ['s', 'missing']] as const) {
        expect(await db.describe({ schema, name })).toEqual(await info(schema, name));
      }
      // Inside a transaction, a missing relation must not abort it.
      await db.transaction(async (tx) => {
        expect(await tx.describe({ schema: 's', name: 'missing' })).toBeUndefined();
        await tx.execute('create table s.made_here (x integer)');
        expect(await tx.describe({ schema: 's', name: 'made_here' })).toEqual([{ name: 'x', type: 'INTEGER', nullable: true }]);
      });
    } finally {
      await db.close();
    }
  });
});

describe('the end of a run', () => {
  it('records node results and the status in one transaction, as recordNodes does, whatever the text', async () => {
    const db = await DuckDBAdapter.open(':memory:');
    try {
      await ensureState(db);
      await beginRun(db, 'a', 'run', '{}', 'test');
      await beginRun(db, "b'", 'run', '{}', 'test');
      const results: NodeResult[] = [
        { id: 'silver.x', status: 'success', materialized: 'table', rows: 3, startedAt: '2024-01-02T03:04:05.678Z', durationMs: 12.5, stats: { files: 1, note: "it's \\ \"quoted\"" } },
        { id: "silver.o'brien", status: 'error', materialized: 'view', startedAt: '2024-01-02T03:04:06.000Z', durationMs: 0.25, error: "line 1\nline 2 'quoted' \\n not a newline" },
        { id: 'silver.z', status: 'skipped', materialized: 'incremental', startedAt: '2024-01-02T03:04:07.000Z', durationMs: 0, message: 'skipped: silver.o\'brien failed' },
      ];
      await recordNodes(db, 'a', results);
      await finishRun(db, "b'", 'error', results);
      const cols = 'node_id, status, materialized, rows, started_at, duration_ms, error, message, stats::varchar as stats';
      const a = await db.query(`select ${cols} from _lake.node_runs where run_id = 'a' order by node_id`);
      const b = await db.query(`select ${cols} from _lake.node_runs where run_id = 'b''' order by node_id`);
      expect(b).toEqual(a);
      expect(b.find((r) => r.node_id === "silver.o'brien")!.error).toBe(results[1]!.error);
      const runs = await db.query<{ run_id: string; status: string; done: boolean }>(`select run_id, status, finished_at is not null as done from _lake.runs order by batch_id`);
      // A run still 'running' when another ends was cut short (one run holds the database at a time).
      expect(runs).toEqual([{ run_id: 'a', status: 'aborted', done: true }, { run_id: "b'", status: 'error', done: true }]);
    } finally {
      await db.close();
    }
  });
});

/** Run `code` (an ES module body) in a child node; `DuckDBAdapter` and `openDatabase` are in scope (from dist/). */
function child(code: string): { status: number | null; signal: NodeJS.Signals | null; stderr: string } {
  const dist = (rel: string) => pathToFileURL(path.join(REPO, 'dist', rel)).href;
  const prelude = `import { DuckDBAdapter } from '${dist('src/adapter/duckdb/adapter.js')}';\nimport { openDatabase } from '${dist('src/executor/open.js')}';\n`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', prelude + code], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

describe("lake's target database", () => {
  it('keeps every committed transaction when the process is killed, and none of an uncommitted one', async () => {
    const file = tempDb();
    const r = child(`
      const { db } = await openDatabase(${JSON.stringify(file)}, 'test');
      await db.execute('create table t (id integer)');
      await db.execute('insert into t values (1)');
      await db.execute(\`insert into t select i from range(2, 100002) r(i)\`);
      await db.execute('insert into t values (-1)');
      await db.execute('begin transaction');
      await db.execute('insert into t values (-2)');
      process.kill(process.pid, 'SIGKILL');
    `);
    expect(r.signal, r.stderr).toBe('SIGKILL');
    const db = await DuckDBAdapter.open(file);
    try {
      expect(await db.query('select count(*)::int as n, min(id) as lo, max(id) as hi from t')).toEqual([{ n: 100002, lo: -1, hi: 100001 }]);
    } finally {
      await db.close();
    }
  });
});
