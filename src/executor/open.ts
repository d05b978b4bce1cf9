/**
 * Opening the target database for a command that writes. DuckDB locks the file per process; when
 * another lake holds it we say who and since when (from a small owner file next to the database)
 * instead of failing obscurely.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LakeError } from '../errors/index.js';
import type { Adapter } from '../adapter/types.js';
import { DuckDBAdapter } from '../adapter/duckdb/adapter.js';

interface Owner { pid: number; command: string; started_at: string; host: string }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerFile(dbPath: string): string {
  return `${dbPath}.owner.json`;
}

export interface OpenDatabase {
  readonly db: Adapter;
  release(): Promise<void>;
}

export async function openDatabase(dbPath: string, command: string): Promise<OpenDatabase> {
  if (dbPath !== ':memory:') fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  let db: Adapter;
  try {
    db = await DuckDBAdapter.open(dbPath);
  } catch (e) {
    const msg = (e as Error).message;
    if (/lock/i.test(msg)) {
      // DuckDB names the process holding the lock; the owner file says more when it is that
      // process's (a lake killed without releasing leaves a stale one behind).
      const holder = /PID (\d+)/.exec(msg)?.[1];
      let who = holder ? `process ${holder}` : 'another process';
      try {
        const o = JSON.parse(fs.readFileSync(ownerFile(dbPath), 'utf8')) as Owner;
        if (holder ? Number(holder) === o.pid : o.host !== os.hostname() || alive(o.pid)) who = `lake ${o.command} (pid ${o.pid} on ${o.host}) since ${o.started_at}`;
      } catch { /* no owner file */ }
      throw new LakeError('usage', {
        code: 'LAKE-E001', severity: 'error',
        message: `the database ${dbPath} is in use by ${who}`,
        hint: 'wait for that run to finish (or stop it), or use another --target',
      });
    }
    throw new LakeError('usage', { code: 'LAKE-E002', severity: 'error', message: `cannot open the database ${dbPath}: ${msg}`, hint: 'check the target path in project.yml and that the file is a DuckDB database' });
  }
  const owned = dbPath !== ':memory:';
  if (owned) {
    const o: Owner = { pid: process.pid, command, started_at: new Date().toISOString(), host: os.hostname() };
    fs.writeFileSync(ownerFile(dbPath), JSON.stringify(o));
  }
  return {
    db,
    async release() {
      await db.close();
      if (owned) {
        try {
          const o = JSON.parse(fs.readFileSync(ownerFile(dbPath), 'utf8')) as Owner;
          if (o.pid === process.pid) fs.rmSync(ownerFile(dbPath), { force: true });
        } catch { /* already gone */ }
      }
    },
  };
}
