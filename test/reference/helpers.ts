/**
 * Helpers for the reference-project tests: a copy of the repository's reference project (project.yml,
 * models, macros, seeds, data tests) in a temp folder, `lake run` on it through a Session, the gold
 * tables read back in the oracle's shape, and a row-by-row comparison with the oracle's rows.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from '../../src/app/session.js';
import { runAvailableNow } from '../../src/app/continuous.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { MemoryReporter } from '../../src/reporter/reporters.js';
import type { NodeResult } from '../../src/reporter/types.js';
import type { Gold, GymSummaryRow, WorkoutBpmSummaryRow } from '../oracle/oracle.js';

/** The repository root (the reference project lives there). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What a reference project is made of, besides its landing zone. */
const PROJECT_PARTS = ['project.yml', 'models', 'macros', 'seeds', 'data_tests'];

const created: string[] = [];

/** A new temp folder (removed by {@link removeTempDirs}). */
export function tempDir(prefix = 'lake-ref-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes the temp folders made by {@link tempDir}. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Copies the reference project (without landing/ and target/) into `dest`; returns `dest`. */
export function copyProject(dest: string, withSample = false): string {
  for (const part of [...PROJECT_PARTS, ...(withSample ? ['landing'] : [])]) {
    const from = path.join(repoRoot, part);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dest, part), { recursive: true });
  }
  return dest;
}

/** The database file `lake run` writes in a copied project (project.yml's dev target). */
export function databaseOf(projectDir: string): string {
  return path.join(projectDir, 'target', 'lakehouse.duckdb');
}

/**
 * `lake run` as the CLI does it (everything available now, in micro-batches of at most
 * max_files_per_trigger files) through a Session; throws with every failed node's message.
 */
export async function runLake(projectDir: string, opts: { select?: string[]; threads?: number } = {}): Promise<NodeResult[]> {
  const session = Session.open({ projectDir, threads: opts.threads });
  const reporter = new MemoryReporter();
  const { results } = await runAvailableNow(session, reporter, { select: opts.select });
  const failed = results.filter((r) => r.status !== 'success');
  if (failed.length) {
    throw new Error(`lake run failed:\n${failed.map((r) => `  ${r.id}: ${r.status} ${r.error ?? r.message ?? ''}`).join('\n')}`);
  }
  return results;
}

/** Both gold tables of a database, in the oracle's shape and order. */
export async function readGold(dbPath: string): Promise<Gold> {
  const db = await DuckDBAdapter.open(dbPath);
  try {
    const wbs = await db.query<Record<string, unknown>>(
      `select user_id, strftime("date", '%Y-%m-%d') as "date", workout_id, session_id, age, sex, city, state,
              min_bpm, avg_bpm, max_bpm, num_recordings
       from gold.workout_bpm_summary order by user_id, workout_id, session_id`);
    const gym = await db.query<Record<string, unknown>>(
      `select gym, mac_address, strftime("date", '%Y-%m-%d') as "date", minutes_in_gym, minutes_exercising
       from gold.gym_summary order by gym, mac_address, "date"`);
    return {
      workoutBpmSummary: wbs.map((r) => ({
        user_id: Number(r.user_id), date: String(r.date), workout_id: Number(r.workout_id), session_id: Number(r.session_id),
        age: String(r.age), sex: String(r.sex), city: String(r.city), state: String(r.state),
        min_bpm: Number(r.min_bpm), avg_bpm: Number(r.avg_bpm), max_bpm: Number(r.max_bpm), num_recordings: Number(r.num_recordings),
      }) satisfies WorkoutBpmSummaryRow),
      gymSummary: gym.map((r) => ({
        gym: Number(r.gym), mac_address: String(r.mac_address), date: String(r.date),
        minutes_in_gym: Number(r.minutes_in_gym), minutes_exercising: Number(r.minutes_exercising),
      }) satisfies GymSummaryRow),
    };
  } finally {
    await db.close();
  }
}

/** Columns compared with a tolerance (docs/reference-semantics.md, "Rounding and numbers"). */
const TOLERANCE: Readonly<Record<string, number>> = { avg_bpm: 0.01 + 1e-9 };

function keyOf(row: object, keys: readonly string[]): string {
  return keys.map((k) => String((row as Record<string, unknown>)[k])).join('|');
}

/**
 * Differences between two lists of rows matched by key: missing rows, extra rows and differing
 * values (exact, except the tolerances above when `tolerant`). Empty when they agree.
 */
export function diffRows<T extends object>(actual: readonly T[], expected: readonly T[], keys: readonly string[], tolerant = true): string[] {
  const out: string[] = [];
  const byKey = new Map(actual.map((r) => [keyOf(r, keys), r]));
  if (byKey.size !== actual.length) out.push(`actual has ${actual.length - byKey.size} duplicate key(s)`);
  const seen = new Set<string>();
  for (const e of expected) {
    const k = keyOf(e, keys);
    seen.add(k);
    const a = byKey.get(k);
    if (!a) {
      out.push(`missing ${k}: ${JSON.stringify(e)}`);
      continue;
    }
    for (const [col, ev] of Object.entries(e)) {
      const av = (a as Record<string, unknown>)[col];
      const tol = tolerant ? TOLERANCE[col] : undefined;
      const same = tol !== undefined && typeof av === 'number' && typeof ev === 'number' ? Math.abs(av - ev) <= tol : av === ev;
      if (!same) out.push(`${k}: ${col} is ${JSON.stringify(av)}, expected ${JSON.stringify(ev)}`);
    }
  }
  for (const a of actual) if (!seen.has(keyOf(a, keys))) out.push(`extra ${keyOf(a, keys)}: ${JSON.stringify(a)}`);
  return out;
}

/** Differences between two gold results, prefixed with the table name; at most `limit` lines. */
export function diffGold(actual: Gold, expected: Gold, tolerant = true, limit = 20): string[] {
  const out = [
    ...diffRows(actual.workoutBpmSummary, expected.workoutBpmSummary, ['user_id', 'workout_id', 'session_id'], tolerant).map((d) => `workout_bpm_summary ${d}`),
    ...diffRows(actual.gymSummary, expected.gymSummary, ['gym', 'mac_address', 'date'], tolerant).map((d) => `gym_summary ${d}`),
  ];
  return out.length > limit ? [...out.slice(0, limit), `... and ${out.length - limit} more`] : out;
}
