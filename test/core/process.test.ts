/**
 * Two real processes: a second `lake run` against a database in use stops at once and says who
 * holds it; a `lake run` killed (SIGKILL) during a table rebuild leaves the old table intact and
 * the next run succeeds.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, it, expect } from 'vitest';

const require = createRequire(import.meta.url);
import { writeProject, projectYml, lake, lakeChild, waitForLine, query } from './helpers.js';

/** A table model that takes many seconds (the test kills or outlives it long before). */
const SLOW = "{{ config(materialized='table') }}\nselect sum(a.range * b.range) as id from range(200000) a cross join range(200000) b";

describe('a database in use', () => {
  it('stops a second lake run at once with who holds it and since when, exit 2', async () => {
    const dir = writeProject({ 'project.yml': projectYml('', 1), 'models/slow.sql': SLOW });
    const first = lakeChild(dir, ['run', '--log-format', 'json']);
    try {
      await waitForLine(first, /"kind":"node_start"/);
      const second = lake(dir, ['run']);
      expect(first.exitCode).toBeNull(); // the first one is still running
      expect(second.code).toBe(2);
      expect(second.stderr).toContain('error LAKE-E001');
      expect(second.stderr).toContain(`is in use by lake run (pid ${first.pid} on ${os.hostname()}) since 20`);
      expect(second.stderr).toContain('hint: wait for that run to finish');
      expect(second.stderr).not.toMatch(/\n\s+at /);
    } finally {
      first.kill('SIGKILL');
    }
  });

  it('does not name a dead lake from a stale owner file when another process holds the database', async () => {
    const dir = writeProject({ 'project.yml': projectYml('', 1), 'models/a.sql': 'select 1 as id' });
    const db = path.join(dir, 'target/t.duckdb');
    expect(lake(dir, ['run']).code).toBe(0);
    // What a lake killed with SIGKILL leaves behind.
    fs.writeFileSync(`${db}.owner.json`, JSON.stringify({ pid: 2 ** 22 + 17, command: 'run', started_at: '2020-01-01T00:00:00Z', host: os.hostname() }));
    const holder = spawn(process.execPath, ['-e', `require(${JSON.stringify(require.resolve('@duckdb/node-api'))}).DuckDBInstance.create(${JSON.stringify(db)}).then(() => { console.log('open'); setInterval(() => {}, 1000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await waitForLine(holder, /open/);
      const r = lake(dir, ['run']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`is in use by process ${holder.pid}`);
      expect(r.stderr).not.toContain('since 2020');
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('a killed run', () => {
  it('leaves the old table intact when killed during a rebuild, and the next run succeeds', async () => {
    const dir = writeProject({ 'project.yml': projectYml('', 1), 'models/silver/big.sql': "{{ config(materialized='table') }}\nselect range as id from range(1000)" });
    const db = path.join(dir, 'target/t.duckdb');
    expect(lake(dir, ['run']).code).toBe(0);
    expect(await query(db, 'select count(*) as n, max(id) as m from silver.big')).toEqual([{ n: 1000, m: 999 }]);

    fs.writeFileSync(path.join(dir, 'models/silver/big.sql'), SLOW);
    const run = lakeChild(dir, ['run', '--log-format', 'json']);
    await waitForLine(run, /"kind":"node_start","id":"silver\.big"/);
    // Let the rebuild get going (the new table is being written under its temporary name).
    await new Promise((r) => setTimeout(r, 800));
    expect(run.exitCode).toBeNull();
    const exited = new Promise((r) => run.on('exit', r));
    run.kill('SIGKILL');
    await exited;

    expect(await query(db, 'select count(*) as n, max(id) as m from silver.big')).toEqual([{ n: 1000, m: 999 }]);
    expect(await query(db, "select table_name from information_schema.tables where table_schema = 'silver' order by 1")).toEqual([{ table_name: 'big' }]);

    fs.writeFileSync(path.join(dir, 'models/silver/big.sql'), "{{ config(materialized='table') }}\nselect range as id from range(500)");
    const next = lake(dir, ['run']);
    expect(next.stderr).toBe('');
    expect(next.code).toBe(0);
    expect(await query(db, 'select count(*) as n from silver.big')).toEqual([{ n: 500 }]);
    const runs = await query<{ status: string }>(db, 'select status from _lake.runs order by started_at');
    // The killed run never finished: the next run to end marks it aborted; the others succeeded.
    expect(runs.map((r) => r.status)).toEqual(['success', 'aborted', 'success']);
  });
});
