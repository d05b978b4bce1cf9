/**
 * `lake watch` as a user runs it: a real child process (`node bin/lake.js watch`, built with tsc),
 * read through its stdout, stopped with SIGINT.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeProject } from './fixture.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repo, 'bin/lake.js');
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(() => {
  // Other people's files may not type-check mid-edit; tsc still emits, and ours must be there.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repo, stdio: 'ignore' });
  expect(fs.existsSync(path.join(repo, 'dist/src/watch/loop.js'))).toBe(true);
}, 180_000);

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

/** A running `lake` with its output so far and a way to wait for a line. */
function lake(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: '1' } });
  children.push(child);
  let out = '';
  let err = '';
  const waiters: { re: RegExp; from: number; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.re.test(out.slice(w.from))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); check(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    get out() { return out; },
    get err() { return err; },
    /**
     * Resolves when stderr matches `re`. Waiting on stdout says nothing about stderr: the two pipes
     * are read separately, so a line the child wrote to stderr first can still be on its way.
     */
    waitForErr(re: RegExp, timeoutMs = 30_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = () => {
          if (re.test(err)) resolve();
          else if (Date.now() - started > timeoutMs) reject(new Error(`no ${re} on stderr within ${timeoutMs} ms; stderr:\n${err}`));
          else setTimeout(poll, 10);
        };
        poll();
      });
    },
    /** Resolves when stdout written after `from` (default: from now on) matches `re`. */
    waitFor(re: RegExp, from = out.length, timeoutMs = 30_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        waiters.push({ re, from, resolve: () => { clearTimeout(timer); resolve(); } });
        check();
      });
    },
  };
}

describe('lake watch (child process)', () => {
  it('rebuilds on save, previews the changed model, and exits 0 on SIGINT', async () => {
    const dir = makeProject();
    const p = lake(['watch', '--project-dir', dir, '--preview', '2']);
    await p.waitFor(/watching .* \(Ctrl-C to stop\)/, 0);
    expect(p.out).toMatch(/OK\s+gold\.bpm_summary/);

    const from = p.out.length;
    const file = path.join(dir, 'models/silver/bpm.sql');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('  bpm\n', '  bpm,\n  bpm * 2 as double_bpm\n'));
    await p.waitFor(/Done in/, from);
    const cycle = p.out.slice(from);
    expect(cycle).toContain('changed: models/silver/bpm.sql');
    expect(cycle).toMatch(/OK\s+silver\.bpm\s+table\s+5 rows/);
    expect(cycle).toMatch(/OK\s+gold\.bpm_summary/);
    expect(cycle).not.toContain('silver.users');
    await p.waitFor(/silver\.bpm \(first 2 rows\):\nuser_id \| bpm \| double_bpm/, from);

    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    expect(p.err).toBe('');
    // The database is closed and unlocked: another command can open it.
    const ls = spawnSync(process.execPath, [bin, 'run', '--project-dir', dir, '-s', 'gold.bpm_summary'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(ls.status).toBe(0);
  });

  it('keeps running through a broken file and tells another lake who holds the database', async () => {
    const dir = makeProject();
    const p = lake(['watch', '--project-dir', dir]);
    await p.waitFor(/watching/, 0);
    const other = spawnSync(process.execPath, [bin, 'run', '--project-dir', dir], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/in use by lake watch \(pid \d+/);

    const from = p.out.length;
    const file = path.join(dir, 'models/gold/users_by_band.sql');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, good.replace('group by', '{% if %} group by'));
    await p.waitFor(/still watching/, from);
    await p.waitForErr(/> 3 \| /);
    expect(p.err).toContain('models/gold/users_by_band.sql:3:7: error LAKE-T001');
    expect(p.err).toContain('> 3 | {% if %} group by age_band');

    const from2 = p.out.length;
    fs.writeFileSync(file, good);
    await p.waitFor(/Done in/, from2);
    expect(p.out.slice(from2)).toContain('fixed: models/gold/users_by_band.sql');
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
  });

  it('a second Ctrl-C while a model builds aborts, and says what became of it', async () => {
    const dir = makeProject();
    const p = lake(['watch', '--project-dir', dir]);
    await p.waitFor(/watching/, 0);
    const from = p.out.length;
    // A new model long enough to be building at both signals.
    fs.writeFileSync(path.join(dir, 'models/gold/slow.sql'), 'select count(*) as n from range(400000000) t(i) where i % 7 = 3\n');
    await p.waitFor(/models\/gold\/slow\.sql/, from);
    p.child.kill('SIGINT');
    await p.waitFor(/stopping: finishing the running models/, from);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(130);
    // It exited without a word; lake run and run --continuous say what became of the running nodes.
    expect(p.err).toContain('aborted: the running models stopped without committing (each table is as it was before them); the next lake watch builds them again');
    expect(p.out).not.toMatch(/OK\s+gold\.slow/);
    // Nothing was committed: the table is not there, and the next command opens the database.
    const show = spawnSync(process.execPath, [bin, 'show', '--project-dir', dir, '--inline', 'select count(*) as n from duckdb_tables() where table_name = \'slow\''], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/\b0\b/);
  });

  it('exits 2 on a selector that matches nothing', async () => {
    const dir = makeProject();
    const p = lake(['watch', '--project-dir', dir, '-s', 'silver.bmp']);
    expect(await p.exited).toBe(2);
    expect(p.err).toContain('did you mean silver.bpm');
  });
});
