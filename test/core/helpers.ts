/**
 * Helpers for the core tests: tiny projects written to temp folders, the real `lake` CLI run as a
 * child process (bin/lake.js → dist, built by `npm test`'s pretest), and read-only looks into the
 * resulting DuckDB file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LAKE = path.join(REPO, 'bin', 'lake.js');
export const FIXTURES = path.join(REPO, 'test', 'fixtures');

/** Write `files` (relative path → content) into a new temp folder and return it. */
export function writeProject(files: Record<string, string>, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-core-'))): string {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return dir;
}

/** Copy a fixture project into a temp folder (fixtures stay clean of target/ output). */
export function copyFixture(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lake-${name}-`));
  fs.cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

export interface LakeResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `lake args...` in `cwd` and wait for it. */
export function lake(cwd: string, args: readonly string[], env: Record<string, string> = {}): LakeResult {
  const r = spawnSync(process.execPath, [LAKE, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Start `lake args...` in `cwd` without waiting. */
export function lakeChild(cwd: string, args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [LAKE, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolve when `child`'s stdout has printed a line matching `re` (rejects when it exits first). */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; stdout so far:\n${buf}\n${err}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => re.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${re}:\n${buf}\n${err}`));
    });
  });
}

/** Run a query against a DuckDB file (opened and closed around it, through lake's adapter). */
export async function query<R = Record<string, unknown>>(dbFile: string, sql: string): Promise<R[]> {
  const db = await DuckDBAdapter.open(dbFile);
  try {
    // Dates become ISO strings, as they would print.
    return (await db.query(sql)).map((r) => JSON.parse(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))) as R);
  } finally {
    await db.close();
  }
}

/** JSON lines of a `--log-format json` run. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A project.yml for tests (DuckDB file under target/). */
export function projectYml(extra = '', threads = 4): string {
  return `name: t\ntargets:\n  dev: { type: duckdb, path: target/t.duckdb, threads: ${threads} }\n${extra}`;
}
