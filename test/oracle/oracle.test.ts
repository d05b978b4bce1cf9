/**
 * Tests of the oracle on a tiny hand-written landing zone whose gold rows are worked out by hand
 * below, following docs/reference-semantics.md. Every kind of mess the generator makes appears once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ageAtReference, ageBand, bronzeTopic, computeGold, computeSilver, round2 } from './oracle.js';

/** 2023-03-06 09:00:00 UTC. */
const T0 = 1678093200;
/** 2023-03-06 23:30:00 UTC, a gym visit that ends the next day. */
const LATE = 1678145400;

function env(topic: string, partition: number, offset: number, value: unknown): string {
  return JSON.stringify({
    key: 'k',
    value: typeof value === 'string' ? value : JSON.stringify(value),
    topic,
    partition,
    offset,
    timestamp: 1678000000,
  });
}

const profile = (user_id: number, update_type: string, timestamp: number, dob: string, sex: string, city: string, state: string) => ({
  user_id,
  update_type,
  timestamp,
  dob,
  sex,
  gender: sex,
  first_name: 'A',
  last_name: 'B',
  address: { street_address: '1 Main St', city, state, zip: 90000 },
});
const bpm = (device_id: number, time: number, heartrate: unknown, extra: Record<string, unknown> = {}) => ({ device_id, time, heartrate, ...extra });
const wk = (user_id: number, workout_id: number, session_id: number, action: string, timestamp: number) => ({
  user_id,
  workout_id,
  session_id,
  action,
  timestamp,
});

function writeLanding(files: Record<string, string[]>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-oracle-'));
  for (const [rel, lines] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), lines.map((l) => `${l}\n`).join(''));
  }
  return dir;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tinyLanding(): string {
  const w1stop = env('workout', 0, 1, wk(1, 1, 10, 'stop', T0 + 2100));
  const hr1000 = env('bpm', 1, 1, bpm(101, T0 + 1000, 150.5));
  const dir = writeLanding({
    'batch/registered_users/registered_users-000000.csv': [
      'user_id,device_id,mac_address,registration_timestamp',
      '1,101,aa:aa:aa:aa:aa:01,1678000000',
      '2,102,aa:aa:aa:aa:aa:02,1678000000',
      '3,103,aa:aa:aa:aa:aa:03,1678000000',
    ],
    // A later extract: user 1 again (same row) and a conflicting row for user 1 (insert-new: the first stays).
    'batch/registered_users/registered_users-000001.csv': [
      'user_id,device_id,mac_address,registration_timestamp',
      '1,101,aa:aa:aa:aa:aa:01,1678000000',
      '1,999,ff:ff:ff:ff:ff:ff,1678000000',
    ],
    'batch/gym_logins/gym_logins-000000.csv': [
      'mac_address,gym,login,logout',
      `aa:aa:aa:aa:aa:01,4,${T0},${T0 + 3600}`,
      `aa:aa:aa:aa:aa:01,4,${T0 + 7200},${T0 + 9000}`,
      `aa:aa:aa:aa:aa:02,5,${T0},${T0 + 2700}`,
      `aa:aa:aa:aa:aa:03,6,${LATE},${LATE + 5000}`,
    ],
    // A re-extracted row and a row with the same key but another logout: both ignored (insert-new).
    'batch/gym_logins/gym_logins-000001.csv': [
      'mac_address,gym,login,logout',
      `aa:aa:aa:aa:aa:01,4,${T0},${T0 + 3600}`,
      `aa:aa:aa:aa:aa:01,4,${T0},${T0 + 99999}`,
    ],
    'stream/user_info/user_info-000000-00.jsonl': [
      env('user_info', 0, 0, profile(1, 'new', 1678000000, '01/01/1999', 'M', 'Austin', 'TX')),
      env('user_info', 0, 1, profile(1, 'update', 1678100000.5, '01/01/1999', 'M', 'Denver', 'CO')),
      // Out of order: older than the update above, landed after it; must not win.
      env('user_info', 0, 2, profile(1, 'update', 1678050000, '01/01/1999', 'M', 'Miami', 'FL')),
      env('user_info', 0, 3, profile(2, 'new', 1678000000, '05/05/1990', 'F', 'Seattle', 'WA')),
      env('user_info', 0, 4, { user_id: 2, update_type: 'delete', timestamp: 1678200000 }),
      // An older update after the delete: the delete stays final.
      env('user_info', 0, 5, profile(2, 'update', 1678150000, '05/05/1990', 'F', 'Tacoma', 'WA')),
      env('user_info', 0, 6, profile(3, 'new', 1678000000, '06/15/1958', 'F', 'Brooklyn', 'NY')),
      // A value that is not JSON.
      env('user_info', 0, 7, '{"user_id": 3, "update_type": "update", "timest'),
    ],
    // The same envelope as offset 6 delivered again in a later file.
    'stream/user_info/user_info-000001-00.jsonl': [env('user_info', 0, 6, profile(3, 'new', 1678000000, '06/15/1958', 'F', 'Brooklyn', 'NY'))],
    'stream/workout/workout-000000-00.jsonl': [
      env('workout', 0, 0, wk(1, 1, 10, 'start', T0 + 300)),
      w1stop,
      w1stop, // duplicate envelope in the same file
      env('workout', 0, 2, wk(2, 1, 11, 'start', T0 + 600)),
      env('workout', 0, 3, wk(2, 1, 11, 'stop', T0 + 1800)),
      // Stop before start in the file (order does not matter).
      env('workout', 0, 5, wk(3, 1, 12, 'stop', LATE + 600 + 2500)),
      env('workout', 0, 4, wk(3, 1, 12, 'start', LATE + 600)),
      env('workout', 0, 6, wk(3, 2, 13, 'start', LATE + 4000)), // never stopped
      env('workout', 0, 7, wk(1, 2, 14, 'start', T0 + 5000)),
      env('workout', 0, 8, wk(1, 2, 14, 'stop', T0 + 5000)), // zero length: not completed
      env('workout', 0, 9, wk(1, 3, 15, 'start', T0 + 7300)),
      env('workout', 0, 10, wk(1, 3, 15, 'stop', T0 + 8200)), // completed, no readings
      '{"key":"1","value":"{\\"user_id\\": 1, \\"workout_id\\": 4, \\"sess', // truncated line
    ],
    'stream/bpm/bpm-000000-00.jsonl': [
      env('bpm', 0, 0, bpm(101, T0 + 299, 95)), // one second before the start
      env('bpm', 0, 1, bpm(101, T0 + 300, 100.004)), // at the start: inside
      env('bpm', 0, 2, bpm(101, T0 + 1200, 0)), // impossible
      env('bpm', 0, 3, bpm(101, T0 + 1300, 400)), // impossible
      env('bpm', 0, 4, bpm(101, T0 + 1400, 'abc')), // wrong type
      env('bpm', 0, 5, bpm(101, T0 + 1500, 140.25)),
      env('bpm', 0, 6, bpm(101, T0 + 1500, 140.25)), // producer retry: new offset, same reading
      env('bpm', 0, 7, bpm(101, T0 + 1600, 250, { battery: 80 })), // the upper bound is allowed; a new field
      env('bpm', 0, 8, bpm(101, T0 + 1650, 19.9)), // below the lower bound
      env('bpm', 0, 9, bpm(101, T0 + 2100, 120)), // at the stop: inside
      env('bpm', 0, 10, bpm(101, T0 + 2101, 90)), // one second after the stop
      env('bpm', 0, 11, bpm(999, T0 + 1000, 180)), // the device of the ignored conflicting registration
      env('bpm', 0, 12, bpm(102, T0 + 700, 130)), // the deleted user
      env('bpm', 0, 13, bpm(103, LATE + 700, 110.111)),
      '{"key":"101","value":"{\\"device_id\\": 101, \\"time\\": 16', // truncated line
    ],
    // Partition 1 has its own offsets: offset 1 here is not a duplicate of partition 0's offset 1.
    'stream/bpm/bpm-000000-01.jsonl': [hr1000, hr1000],
    // A reading that landed late, in a later arrival.
    'stream/bpm/bpm-000001-00.jsonl': [env('bpm', 0, 14, bpm(103, LATE + 1600, 160.777, { battery: 75 }))],
  });
  dirs.push(dir);
  return dir;
}

describe('oracle on a hand-written landing zone', () => {
  it('computes the workout BPM summary worked out by hand', () => {
    const gold = computeGold(tinyLanding());
    // User 1, workout 1: readings 100.004, 150.5, 140.25, 250, 120 (count 5, sum 760.754).
    // User 2 is deleted. User 3 workout 1: 110.111 and the late 160.777 (sum 270.888).
    expect(gold.workoutBpmSummary).toEqual([
      {
        user_id: 1,
        date: '2023-03-06',
        workout_id: 1,
        session_id: 10,
        age: '25-35',
        sex: 'M',
        city: 'Denver',
        state: 'CO',
        min_bpm: 100,
        avg_bpm: 152.15,
        max_bpm: 250,
        num_recordings: 5,
      },
      {
        user_id: 3,
        date: '2023-03-06',
        workout_id: 1,
        session_id: 12,
        age: '65-75',
        sex: 'F',
        city: 'Brooklyn',
        state: 'NY',
        min_bpm: 110.11,
        avg_bpm: 135.44,
        max_bpm: 160.78,
        num_recordings: 2,
      },
    ]);
  });

  it('computes the gym summary worked out by hand', () => {
    const gold = computeGold(tinyLanding());
    // mac 01: visits of 3600 s and 1800 s; workouts of 1800 s (visit 1) and 900 s (visit 2, no readings).
    // mac 02: the deleted user still has gym logs: 2700 s, workout of 1200 s.
    // mac 03: visit from 23:30 for 5000 s (dated by login); workout 2500 s; the unstopped one does not count.
    expect(gold.gymSummary).toEqual([
      { gym: 4, mac_address: 'aa:aa:aa:aa:aa:01', date: '2023-03-06', minutes_in_gym: 90, minutes_exercising: 45 },
      { gym: 5, mac_address: 'aa:aa:aa:aa:aa:02', date: '2023-03-06', minutes_in_gym: 45, minutes_exercising: 20 },
      { gym: 6, mac_address: 'aa:aa:aa:aa:aa:03', date: '2023-03-06', minutes_in_gym: 83.33, minutes_exercising: 41.67 },
    ]);
  });

  it('keeps one envelope per (topic, partition, offset) and drops malformed lines in bronze', () => {
    const dir = tinyLanding();
    // bpm: 14 envelopes in partition 0 (+1 truncated), one twice in partition 1, one late.
    expect(bronzeTopic(dir, 'bpm')).toHaveLength(16);
    // user_info: offsets 0-7 (7 has a value that is not JSON: dropped later, in silver), 6 again later.
    expect(bronzeTopic(dir, 'user_info').map((e) => e.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // workout: offsets 0-10, offset 1 twice, one truncated line.
    const workout = bronzeTopic(dir, 'workout');
    expect(workout).toHaveLength(11);
    expect(workout[2]).toMatchObject({ offset: 2, line: 4 });
  });

  it('builds the silver tables by the documented keys', () => {
    const silver = computeSilver(tinyLanding());
    expect(silver.users.map((u) => [u.user_id, u.device_id])).toEqual([
      [1, 101],
      [2, 102],
      [3, 103],
    ]);
    expect(silver.gymLogs).toHaveLength(4);
    expect(silver.userProfile.map((p) => [p.user_id, p.city]).sort()).toEqual([
      [1, 'Denver'],
      [3, 'Brooklyn'],
    ]);
    // 101: 95, 100.004, 140.25 (once), 250, 120, 90, 150.5; 999; 102; 103 twice.
    expect(silver.heartRate).toHaveLength(11);
    expect(silver.completedWorkouts.map((w) => w.session_id).sort()).toEqual([10, 11, 12, 15]);
  });

  it('reports a CSV with the wrong header with its file and line', () => {
    const dir = writeLanding({ 'batch/registered_users/r.csv': ['id,device,mac,ts', '1,2,x,3'] });
    dirs.push(dir);
    expect(() => computeGold(dir)).toThrow(/r\.csv:1: header is "id,device,mac,ts"/);
  });

  it('gives empty reports for an empty landing folder', () => {
    const dir = writeLanding({});
    dirs.push(dir);
    expect(computeGold(dir)).toEqual({ workoutBpmSummary: [], gymSummary: [] });
  });
});

describe('oracle helpers', () => {
  it('rounds like DuckDB round(x, 2) on doubles', () => {
    expect(round2(0.125)).toBe(0.13);
    expect(round2(2.675)).toBe(2.68); // 2.675 * 100 is 267.5 in doubles
    expect(round2(1.005)).toBe(1); // 1.005 * 100 is 100.49999999999999
    expect(round2(152.1508)).toBe(152.15);
    expect(round2(250 / 3)).toBe(83.33);
  });

  it('computes full years at the reference date 2024-01-01', () => {
    expect(ageAtReference('01/01/1999')).toBe(25);
    expect(ageAtReference('01/02/1999')).toBe(24);
    expect(ageAtReference('12/31/1999')).toBe(24);
    expect(ageAtReference('02/29/2000')).toBe(23);
  });

  it('bands ages with inclusive lower bounds', () => {
    const cases: [number, string][] = [
      [0, 'under 18'],
      [17, 'under 18'],
      [18, '18-25'],
      [24, '18-25'],
      [25, '25-35'],
      [34, '25-35'],
      [35, '35-45'],
      [84, '75-85'],
      [85, '85-95'],
      [94, '85-95'],
      [95, '95+'],
      [120, '95+'],
    ];
    for (const [age, band] of cases) expect(ageBand(age), `age ${age}`).toBe(band);
  });
});
