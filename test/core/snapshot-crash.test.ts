/**
 * A snapshot killed at any moment (SIGKILL, real child processes) leaves its history as it was or
 * fully updated, and the next `lake snapshot` gives the history an uninterrupted one gives.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, it, expect } from 'vitest';
import { LAKE, lake, query, writeProject } from './helpers.js';

const ROWS = 60_000;

/** The seed before (`v = 0`) and after (`v = 1`: a third updated, a tenth deleted, new keys) the change. */
function orders(v: 0 | 1): string {
  const lines = ['id,status,amount,updated_at'];
  for (let i = 1; i <= ROWS; i++) {
    if (v === 1 && i % 10 === 0) continue;
    const changed = v === 1 && i % 3 === 0;
    lines.push(`${i},${changed ? 'shipped' : 'placed'},${i % 97},2024-01-0${changed ? 2 : 1} 00:00:00`);
  }
  if (v === 1) for (let i = ROWS + 1; i <= ROWS + 5_000; i++) lines.push(`${i},placed,${i % 97},2024-01-02 00:00:00`);
  return `${lines.join('\n')}\n`;
}

/** The history without the times a run stamps itself (a deleted key's closing time). */
async function history(dir: string): Promise<string[]> {
  const rows = await query<{ r: string }>(path.join(dir, 'target/snap.duckdb'),
    "select concat_ws('|', id, status, amount, updated_at, dbt_scd_id, dbt_valid_from, dbt_valid_to is null) as r from snapshots.orders order by id, dbt_valid_from, dbt_valid_to nulls last");
  return rows.map((x) => x.r);
}

function killedAfter(dir: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [LAKE, 'snapshot'], { cwd: dir, stdio: 'ignore' });
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('snapshot crash safety', () => {
  it('SIGKILL at 12 random moments of a snapshot leaves the history as it was or complete, and the next snapshot completes it', async () => {
    const prepared = writeProject({
      'project.yml': 'name: snap\ntargets:\n  dev: { type: duckdb, path: target/snap.duckdb, threads: 2 }\n',
      'seeds/raw_orders.csv': orders(0),
      'snapshots/orders.sql': "{% snapshot orders %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='invalidate') }}\nselect * from {{ ref('raw_orders') }}\n{% endsnapshot %}\n",
    });
    expect(lake(prepared, ['build']).code).toBe(0);
    fs.writeFileSync(path.join(prepared, 'seeds/raw_orders.csv'), orders(1));
    expect(lake(prepared, ['seed']).code).toBe(0);
    const before = await history(prepared);

    const reference = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-snap-ref-'));
    fs.cpSync(prepared, reference, { recursive: true });
    const started = Date.now();
    expect(lake(reference, ['snapshot']).code).toBe(0);
    const took = Date.now() - started;
    const after = await history(reference);
    expect(after.length).toBe(before.length + ROWS / 3 - ROWS / 30 + 5_000);

    const seed = Number(process.env.LAKE_CRASH_SEED ?? Date.now() % 100_000);
    let x = seed;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const states = { before: 0, after: 0 };
    for (let k = 0; k < 12; k++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-snap-kill-'));
      fs.cpSync(prepared, dir, { recursive: true });
      // Anywhere from the process start to the end of an uninterrupted snapshot.
      const at = Math.floor(rand() * took);
      await killedAfter(dir, at);
      const now = await history(dir);
      const which = now.length === before.length && now.every((r, i) => r === before[i]) ? 'before'
        : now.length === after.length && now.every((r, i) => r === after[i]) ? 'after' : 'partial';
      expect(which, `seed ${seed}, kill at ${at} ms`).not.toBe('partial');
      states[which]++;
      expect(lake(dir, ['snapshot']).code, `seed ${seed}, kill at ${at} ms`).toBe(0);
      expect(await history(dir), `seed ${seed}, kill at ${at} ms`).toEqual(after);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // The kills fell on both sides of the commit, not all before the process got going.
    expect(states.before, `seed ${seed}`).toBeGreaterThan(0);
  }, 120_000);
});
