/**
 * The reference lakehouse at the repository root, end to end, against the independent oracle
 * (test/oracle/oracle.ts, which follows docs/reference-semantics.md with plain TypeScript):
 *
 * 1. a generated landing zone (fixed seed, 300 users, a week: about 260,000 records with every
 *    kind of mess the generator makes) built in one `lake run` gives the oracle's gold tables;
 * 2. the same landing zone delivered in 10 arrivals, with a run after each, gives the oracle's gold
 *    tables of the files landed so far after every run, and at the end exactly the one-go tables;
 * 3. a registration extract landing after the user's workout and readings (which generated data
 *    never does) still brings the workout into the report;
 * 4. `lake run` on the committed sample (the README's first command), as a user runs it, succeeds,
 *    matches the oracle, and `lake test` passes;
 * 5. `npm run demo:stream` streams arrivals into `lake run --continuous` and prints the reports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { computeGold, type Gold } from '../oracle/oracle.js';
import { LandingGenerator, generateLanding } from '../../tools/generate/index.js';
import { copyProject, databaseOf, diffGold, readGold, removeTempDirs, repoRoot, runLake, tempDir } from './helpers.js';

const GENERATED = { users: 300, days: 7, seed: 'reference-oracle' } as const;

/** The one-go build of the generated landing zone, shared by the first two tests. */
let oneGo: Promise<{ gold: Gold; expected: Gold; dir: string }> | undefined;
function buildOneGo(): Promise<{ gold: Gold; expected: Gold; dir: string }> {
  oneGo ??= (async () => {
    const dir = copyProject(tempDir());
    const landing = path.join(dir, 'landing');
    generateLanding({ ...GENERATED, out: landing });
    await runLake(dir);
    return { gold: await readGold(databaseOf(dir)), expected: computeGold(landing), dir };
  })();
  return oneGo;
}

afterAll(removeTempDirs);

describe('reference lakehouse', () => {
  it('builds the gold tables of the oracle from a generated landing zone in one run', async () => {
    const { gold, expected, dir } = await buildOneGo();
    // The comparison is only worth something on a sizable result.
    expect(expected.workoutBpmSummary.length).toBeGreaterThan(1000);
    expect(expected.gymSummary.length).toBeGreaterThan(800);
    expect(diffGold(gold, expected)).toEqual([]);

    // A second run with no new files changes nothing.
    await runLake(dir);
    expect(diffGold(await readGold(databaseOf(dir)), gold, false)).toEqual([]);
  }, 120_000);

  it('gives the same gold tables when the landing zone arrives in 10 parts with a run after each', async () => {
    const dir = copyProject(tempDir());
    const landing = path.join(dir, 'landing');
    const gen = new LandingGenerator({ ...GENERATED, out: landing, arrivals: 10 });
    let gold: Gold | undefined;
    for (let k = 0; k < 10; k++) {
      gen.writeArrival(k);
      await runLake(dir);
      gold = await readGold(databaseOf(dir));
      // Gold is right after every run: late readings, late stops, profile moves and deletes included.
      expect(diffGold(gold, computeGold(landing)), `after arrival ${k}`).toEqual([]);
    }
    const { gold: whole } = await buildOneGo();
    expect(diffGold(gold!, whole, false)).toEqual([]);
  }, 180_000);

  it('fills in the workouts of a user whose registration lands after the workout and its readings', async () => {
    // Generated data never does this (registration extracts land first); real extracts can be late.
    const dir = copyProject(tempDir());
    const land = (rel: string, lines: string[]) => {
      fs.mkdirSync(path.dirname(path.join(dir, 'landing', rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'landing', rel), `${lines.join('\n')}\n`);
    };
    const env = (topic: string, offset: number, value: object) =>
      JSON.stringify({ key: '1', value: JSON.stringify(value), topic, partition: 0, offset, timestamp: 1678100000 });
    const t0 = 1678093200; // 2023-03-06 09:00 UTC
    land('stream/user_info/user_info-000000-00.jsonl', [env('user_info', 0, {
      user_id: 7, update_type: 'new', timestamp: t0 - 86400, dob: '01/02/1990', sex: 'F', gender: 'F', first_name: 'A', last_name: 'B',
      address: { street_address: '1 Main St', city: 'Boise', state: 'ID', zip: 83702 },
    })]);
    land('stream/workout/workout-000000-00.jsonl', [
      env('workout', 0, { user_id: 7, workout_id: 1, session_id: 1, action: 'start', timestamp: t0 }),
      env('workout', 1, { user_id: 7, workout_id: 1, session_id: 1, action: 'stop', timestamp: t0 + 1800 }),
    ]);
    land('stream/bpm/bpm-000000-00.jsonl', [0, 600, 1200, 1800, 2400].map((dt, i) => env('bpm', i, { device_id: 70, time: t0 + dt, heartrate: 100 + i })));
    await runLake(dir);
    expect((await readGold(databaseOf(dir))).workoutBpmSummary).toEqual([]);

    land('batch/registered_users/registered_users-000001.csv', ['user_id,device_id,mac_address,registration_timestamp', `7,70,aa:bb:cc:dd:ee:ff,${t0 - 86400}`]);
    await runLake(dir);
    const gold = await readGold(databaseOf(dir));
    expect(diffGold(gold, computeGold(path.join(dir, 'landing')))).toEqual([]);
    expect(gold.workoutBpmSummary).toMatchObject([{ user_id: 7, age: '25-35', min_bpm: 100, max_bpm: 103, avg_bpm: 101.5, num_recordings: 4 }]);
  }, 60_000);

  it('lake run on the committed sample succeeds, matches the oracle, and lake test passes', async () => {
    const dir = copyProject(tempDir(), true);
    const lake = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'lake.js'), ...args], {
      cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' },
    });
    const run = lake('run');
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(fs.existsSync(databaseOf(dir))).toBe(true);
    const expected = computeGold(path.join(dir, 'landing'));
    expect(expected.workoutBpmSummary.length).toBeGreaterThan(50);
    expect(diffGold(await readGold(databaseOf(dir)), expected)).toEqual([]);

    const test = lake('test');
    expect(test.status, `${test.stdout}\n${test.stderr}`).toBe(0);
    expect(test.stdout).toMatch(/\b0 failed\b/);
  }, 60_000);
});

describe('npm run demo:stream', () => {
  it('streams generated arrivals into lake run --continuous and prints the gold reports per batch', () => {
    const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'demo-stream.sh')], {
      encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, NO_COLOR: '1', DEMO_USERS: '20', DEMO_INTERVAL: '1s', DEMO_BATCHES: '3' },
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const batches = r.stdout.split('\n').filter((l) => /^\[\d\d:\d\d:\d\d\] ingested /.test(l));
    expect(batches).toHaveLength(3);
    // The first batch ingests the first simulated day: both reports have rows.
    const first = /gym_summary ([\d,]+) rows.*workout_bpm_summary ([\d,]+) rows/.exec(batches[0]!);
    expect(first, batches[0]).not.toBeNull();
    expect(Number(first![1]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(Number(first![2]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(batches[1]).toMatch(/ingested .*bpm \+/);
  }, 70_000);
});
