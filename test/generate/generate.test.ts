/**
 * Tests of the landing-zone generator: determinism, arrivals that add up to the one-go zone, every
 * documented kind of mess present, realistic shapes, and the CLI (--follow included) as a user runs it.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LandingGenerator, generateLanding, listFiles } from '../../tools/generate/index.js';
import type { ArrivalInfo, GenerateOptions } from '../../tools/generate/index.js';
import { computeGold, computeSilver } from '../oracle/oracle.js';

const tmpRoots: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-gen-'));
  tmpRoots.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tmpRoots) fs.rmSync(d, { recursive: true, force: true });
});

const BASE = { users: 20, days: 4, seed: 7 } as const;
/** The committed sample `landing/`: npm run generate -- --users 50 --days 3 --seed 2023 --arrivals 4 --out landing */
const SAMPLE = { users: 50, days: 3, seed: '2023', arrivals: 4 } as const;

function generate(opts: Omit<GenerateOptions, 'out'>): { dir: string; infos: ArrivalInfo[] } {
  const dir = tmp();
  return { dir, infos: generateLanding({ ...opts, out: dir }) };
}

function read(dir: string, rel: string): string {
  return fs.readFileSync(path.join(dir, rel), 'utf8');
}

/** Data lines per landing folder (`stream/bpm`, `batch/gym_logins`, ...), CSV headers left out, sorted. */
function linesByFolder(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rel of listFiles(dir)) {
    const folder = path.dirname(rel);
    const lines = read(dir, rel).split('\n').filter((l) => l !== '');
    const data = rel.endsWith('.csv') ? lines.slice(1) : lines;
    out.set(folder, [...(out.get(folder) ?? []), ...data]);
  }
  for (const lines of out.values()) lines.sort();
  return out;
}

interface Env {
  topic: string;
  partition: number;
  offset: number;
  value: string;
  file: string;
  arrival: number;
}

/** Parsed envelopes and the malformed lines of every stream file. */
function envelopes(dir: string): { ok: Env[]; malformed: string[] } {
  const ok: Env[] = [];
  const malformed: string[] = [];
  for (const rel of listFiles(dir).filter((f) => f.endsWith('.jsonl'))) {
    const arrival = Number(/-(\d{6})-\d{2}\.jsonl$/.exec(rel)?.[1]);
    for (const line of read(dir, rel).split('\n').filter((l) => l !== '')) {
      try {
        const e = JSON.parse(line) as Omit<Env, 'file' | 'arrival'>;
        ok.push({ topic: e.topic, partition: e.partition, offset: e.offset, value: e.value, file: rel, arrival });
      } catch {
        malformed.push(line);
      }
    }
  }
  return { ok, malformed };
}

/** The value of an envelope parsed, or undefined when it is not JSON. */
function valueOf(e: Env): Record<string, unknown> | undefined {
  try {
    return JSON.parse(e.value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

describe('generator determinism and arrivals', () => {
  it('writes byte-identical files for the same seed', () => {
    const a = generate({ ...BASE, arrivals: 3 });
    const b = generate({ ...BASE, arrivals: 3 });
    const files = listFiles(a.dir);
    expect(files.length).toBeGreaterThan(10);
    expect(listFiles(b.dir)).toEqual(files);
    for (const f of files) expect(read(b.dir, f), f).toBe(read(a.dir, f));
  });

  it('writes different content for a different seed', () => {
    const a = generate({ ...BASE, arrivals: 2 });
    const b = generate({ ...BASE, seed: 8, arrivals: 2 });
    expect(read(b.dir, 'stream/workout/workout-000000-00.jsonl')).not.toBe(read(a.dir, 'stream/workout/workout-000000-00.jsonl'));
    expect(linesByFolder(b.dir).get('batch/registered_users')).not.toEqual(linesByFolder(a.dir).get('batch/registered_users'));
  });

  it('splits into K arrivals holding together the same lines as one go', () => {
    const one = generate({ ...BASE });
    const many = generate({ ...BASE, arrivals: 5 });
    expect(one.infos).toHaveLength(1);
    expect(many.infos).toHaveLength(5);
    // Every arrival wrote something, and the file names sort in arrival order.
    for (const info of many.infos) expect(info.lines, `arrival ${info.index}`).toBeGreaterThan(0);
    const arrivalOf = new Map(many.infos.flatMap((i) => i.files.map((f) => [f, i.index] as const)));
    const folders = new Set(listFiles(many.dir).map((f) => path.dirname(f)));
    for (const folder of folders) {
      const order = listFiles(many.dir)
        .filter((f) => path.dirname(f) === folder)
        .map((f) => arrivalOf.get(f) ?? -1);
      expect(order, folder).toEqual([...order].sort((x, y) => x - y));
      expect(order.includes(-1)).toBe(false);
    }
    const a = linesByFolder(one.dir);
    const b = linesByFolder(many.dir);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [folder, lines] of a) expect(b.get(folder), folder).toEqual(lines);
    expect(many.infos.reduce((s, i) => s + i.lines, 0)).toBe(one.infos[0]?.lines);
    // And so the same gold reports.
    const goldOne = computeGold(one.dir);
    expect(goldOne.workoutBpmSummary.length).toBeGreaterThan(10);
    expect(goldOne.gymSummary.length).toBeGreaterThan(10);
    expect(computeGold(many.dir)).toEqual(goldOne);
  });

  it('writes one arrival per writeArrival call, in order', () => {
    const dir = tmp();
    const gen = new LandingGenerator({ ...BASE, arrivals: 3, out: dir });
    expect(() => gen.writeArrival(1)).toThrow(/next one is 0/);
    const first = gen.writeArrival(0);
    expect(listFiles(dir)).toEqual(first.files);
    expect(first.files.every((f) => /-000000(-\d{2})?\.(csv|jsonl)$/.test(f))).toBe(true);
    gen.writeArrival(1);
    gen.writeArrival(2);
    const whole = generate({ ...BASE, arrivals: 3 });
    const files = listFiles(whole.dir);
    expect(listFiles(dir)).toEqual(files);
    for (const f of files) expect(read(dir, f), f).toBe(read(whole.dir, f));
  });

  it('refuses an output folder that already holds a landing zone, and bad options', () => {
    const { dir } = generate({ users: 3, days: 1, seed: 1 });
    expect(() => generateLanding({ users: 3, days: 1, seed: 1, out: dir })).toThrow(/already holds files/);
    expect(() => generateLanding({ users: 0, days: 1, seed: 1, out: tmp() })).toThrow(/users must be a whole number/);
    expect(() => generateLanding({ users: 3, days: 1, seed: 1, out: tmp(), startDate: '2023-02-30' })).toThrow(/YYYY-MM-DD/);
  });
});

describe('the committed sample landing zone', () => {
  it('is exactly what the documented command writes', () => {
    const sample = path.resolve('landing');
    const fresh = generate(SAMPLE);
    const files = listFiles(fresh.dir);
    expect(listFiles(sample)).toEqual(files);
    for (const f of files) expect(read(sample, f), f).toBe(read(fresh.dir, f));
    const bytes = files.reduce((n, f) => n + fs.statSync(path.join(sample, f)).size, 0);
    expect(bytes).toBeLessThan(3.5 * 1024 * 1024);
  });
});

describe.each([
  { zone: 'a small zone', opts: { ...BASE, arrivals: 4 } },
  { zone: 'the committed sample', opts: SAMPLE },
])('generated mess and realism in $zone', ({ opts }) => {
  let dir = '';
  let infos: ArrivalInfo[] = [];
  let envs: Env[] = [];
  let malformed: string[] = [];
  beforeAll(() => {
    ({ dir, infos } = generate(opts));
    ({ ok: envs, malformed } = envelopes(dir));
  });
  const idOf = (e: Env): string => `${e.topic}/${e.partition}/${e.offset}`;

  it('has the same envelope twice in one file and across files', () => {
    const byId = new Map<string, Env[]>();
    for (const e of envs) byId.set(idOf(e), [...(byId.get(idOf(e)) ?? []), e]);
    const dups = [...byId.values()].filter((l) => l.length > 1);
    expect(dups.some((l) => new Set(l.map((e) => e.file)).size < l.length)).toBe(true);
    expect(dups.some((l) => new Set(l.map((e) => e.file)).size > 1)).toBe(true);
    // Copies are byte-identical envelopes.
    for (const l of dups) expect(new Set(l.map((e) => e.value)).size).toBe(1);
  });

  it('has producer retries: one reading under two offsets', () => {
    const seen = new Map<string, number>();
    let retries = 0;
    for (const e of envs.filter((x) => x.topic === 'bpm')) {
      const v = valueOf(e);
      if (!v) continue;
      const key = `${String(v.device_id)}/${String(v.time)}`;
      const prev = seen.get(key);
      if (prev !== undefined && prev !== e.offset) retries++;
      seen.set(key, e.offset);
    }
    expect(retries).toBeGreaterThan(0);
  });

  it('has malformed lines: truncated JSON and a heart rate of the wrong type', () => {
    expect(malformed.length).toBeGreaterThan(0);
    expect(envs.some((e) => e.topic === 'bpm' && typeof valueOf(e)?.heartrate === 'string')).toBe(true);
  });

  it('has impossible heart rates', () => {
    const rates = envs.filter((e) => e.topic === 'bpm').map((e) => valueOf(e)?.heartrate);
    expect(rates.some((r) => typeof r === 'number' && (r < 20 || r > 250))).toBe(true);
    // ...but only a few.
    expect(rates.filter((r) => typeof r === 'number' && (r < 20 || r > 250)).length).toBeLessThan(rates.length / 100);
  });

  it('has late events: times that belong to an earlier arrival', () => {
    const late = envs.filter((e) => {
      const v = valueOf(e);
      const time = e.topic === 'bpm' ? v?.time : e.topic === 'workout' ? v?.timestamp : undefined;
      const from = infos[e.arrival]?.from ?? -Infinity;
      return typeof time === 'number' && time < from - 3600;
    });
    expect(late.some((e) => e.topic === 'bpm')).toBe(true);
    // Lines inside a file are not sorted by offset.
    const files = new Map<string, number[]>();
    for (const e of envs) files.set(e.file, [...(files.get(e.file) ?? []), e.offset]);
    expect([...files.values()].some((o) => o.some((x, i) => i > 0 && x < (o[i - 1] as number)))).toBe(true);
  });

  it('has profile updates that change a name and an address, out-of-order updates and a delete', () => {
    const changes = envs
      .filter((e) => e.topic === 'user_info')
      .map((e) => ({ e, v: valueOf(e) as Record<string, unknown> }))
      .filter((x) => x.v !== undefined);
    const byUser = new Map<unknown, typeof changes>();
    for (const c of changes) byUser.set(c.v.user_id, [...(byUser.get(c.v.user_id) ?? []), c]);
    let renamedAndMoved = false;
    let outOfOrder = false;
    let olderAfterDelete = false;
    for (const list of byUser.values()) {
      const byTime = [...list].sort((a, b) => Number(a.v.timestamp) - Number(b.v.timestamp));
      byTime.forEach((c, i) => {
        const prev = byTime[i - 1];
        const street = (x: typeof c) => (x.v.address as Record<string, unknown>).street_address;
        if (prev && c.v.update_type === 'update' && c.v.last_name !== prev.v.last_name && street(c) !== street(prev)) renamedAndMoved = true;
        if (prev && prev.e.offset > c.e.offset && prev.v.update_type === 'update' && c.v.update_type === 'update') outOfOrder = true;
      });
      const del = list.find((c) => c.v.update_type === 'delete');
      if (del && list.some((c) => c.v.update_type === 'update' && Number(c.v.timestamp) < Number(del.v.timestamp) && c.e.offset > del.e.offset)) {
        olderAfterDelete = true;
      }
    }
    expect(renamedAndMoved).toBe(true);
    expect(outOfOrder).toBe(true);
    expect(olderAfterDelete).toBe(true);
    // Timestamps written as integers and as floats, like the seed's sample.
    const texts = changes.map((c) => c.e.value);
    expect(texts.some((t) => /"timestamp": \d+\.\d+,/.test(t))).toBe(true);
    expect(texts.some((t) => /"timestamp": \d+,/.test(t))).toBe(true);
  });

  it('adds a field mid-stream: bpm records gain battery', () => {
    const bpm = envs.filter((e) => e.topic === 'bpm').map((e) => valueOf(e)).filter((v) => v !== undefined);
    const withBattery = bpm.filter((v) => 'battery' in v).map((v) => Number(v.time));
    const without = bpm.filter((v) => !('battery' in v)).map((v) => Number(v.time));
    expect(withBattery.length).toBeGreaterThan(0);
    expect(without.length).toBeGreaterThan(0);
    expect(Math.min(...withBattery)).toBeGreaterThan(Math.max(...without));
  });

  it('re-extracts some batch rows in a later extract', () => {
    for (const folder of ['batch/registered_users', 'batch/gym_logins']) {
      const lines = linesByFolder(dir).get(folder) ?? [];
      expect(new Set(lines).size, folder).toBeLessThan(lines.length);
    }
  });

  it('is realistic: registration before activity, workouts of 20-90 minutes inside gym visits, rates that rise and fall', () => {
    const silver = computeSilver(dir);
    const states = new Set(silver.userProfile.map((p) => p.state));
    expect(states.size).toBeGreaterThanOrEqual(3);

    const regs = new Map<number, number>();
    for (const line of linesByFolder(dir).get('batch/registered_users') ?? []) {
      const [, device, , ts] = line.split(',');
      regs.set(Number(device), Number(ts));
    }
    for (const h of silver.heartRate) expect(h.time, `device ${h.device_id}`).toBeGreaterThan(regs.get(h.device_id) ?? Infinity);

    const durations = silver.completedWorkouts.map((w) => (w.end_time - w.start_time) / 60);
    expect(durations.length).toBeGreaterThan(20);
    for (const d of durations) expect(d >= 20 && d <= 90, `duration ${d}`).toBe(true);

    const visitsByMac = new Map<string, { login: number; logout: number }[]>();
    for (const v of silver.gymLogs) visitsByMac.set(v.mac_address, [...(visitsByMac.get(v.mac_address) ?? []), v]);
    const macOf = new Map(silver.users.map((u) => [u.user_id, u.mac_address]));
    const inGym = silver.completedWorkouts.filter((w) =>
      (visitsByMac.get(macOf.get(w.user_id) ?? '') ?? []).some((v) => w.start_time >= v.login && w.end_time <= v.logout),
    );
    expect(inGym.length / silver.completedWorkouts.length).toBeGreaterThan(0.7);

    // Averaged over workouts: the middle is higher than the first and last readings; readings every 5-30 s.
    const deviceOf = new Map(silver.users.map((u) => [u.user_id, u.device_id]));
    let first = 0;
    let middle = 0;
    let last = 0;
    let n = 0;
    for (const w of silver.completedWorkouts) {
      const rs = silver.heartRate
        .filter((h) => h.device_id === deviceOf.get(w.user_id) && h.time >= w.start_time && h.time <= w.end_time)
        .sort((a, b) => a.time - b.time);
      if (rs.length < 20) continue;
      const gaps = rs.slice(1).map((r, i) => r.time - (rs[i] as { time: number }).time);
      expect(gaps.filter((g) => g > 30).length / gaps.length).toBeLessThan(0.05);
      first += (rs[0] as { heartrate: number }).heartrate;
      last += (rs[rs.length - 1] as { heartrate: number }).heartrate;
      middle += (rs[Math.floor(rs.length / 2)] as { heartrate: number }).heartrate;
      n++;
    }
    expect(n).toBeGreaterThan(10);
    expect(middle / n).toBeGreaterThan(first / n + 20);
    expect(middle / n).toBeGreaterThan(last / n + 10);
  });
});

describe('generate CLI', () => {
  let cli = '';
  beforeAll(() => {
    // Compile only the generator, as `npx tsc -p tsconfig.json` would, into a private folder.
    const out = tmp();
    const tsc = path.resolve('node_modules/typescript/bin/tsc');
    execFileSync(process.execPath, [
      tsc,
      '--outDir', out, '--rootDir', path.resolve('.'),
      '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--strict', '--skipLibCheck', '--types', 'node',
      path.resolve('tools/generate/cli.ts'),
    ]);
    fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
    cli = path.join(out, 'tools/generate/cli.js');
  });

  it('explains bad arguments and exits 2', () => {
    const r = spawnSyncCli(cli, ['--users', 'many', '--days', '1', '--seed', '1', '--out', tmp()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--users must be a whole number/);
    expect(r.stderr).toMatch(/usage: npm run generate/);
    const unknown = spawnSyncCli(cli, ['--userz', '3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/userz/);
  });

  it('writes the same zone as the library', () => {
    const dir = tmp();
    const r = spawnSyncCli(cli, ['--users', '6', '--days', '2', '--seed', 'abc', '--out', dir, '--arrivals', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/arrival 1: \d+ lines/);
    const lib = generate({ users: 6, days: 2, seed: 'abc', arrivals: 2 });
    expect(listFiles(dir)).toEqual(listFiles(lib.dir));
    for (const f of listFiles(dir)) expect(read(dir, f), f).toBe(read(lib.dir, f));
  });

  it('keeps writing arrivals with --follow until SIGINT, continuing in time', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, [cli, '--users', '30', '--days', '1', '--seed', '5', '--out', dir, '--follow']);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // Wait (without a time assertion) until two follow arrivals (1 and 2) have been written.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/arrival 2:/.test(stdout)) {
          clearInterval(poll);
          resolve();
        }
      }, 100);
    });
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/stopped after arrival \d+/);
    const files = listFiles(dir);
    expect(files.some((f) => f.endsWith('.partial'))).toBe(false);
    // The follow arrivals are what the library writes for arrivals 1 and 2 (the hours after day 1).
    const libDir = tmp();
    const gen = new LandingGenerator({ users: 30, days: 1, seed: 5, out: libDir });
    const infos = [gen.writeArrival(0), gen.writeArrival(1), gen.writeArrival(2)];
    for (const f of infos.flatMap((i) => i.files)) expect(read(dir, f), f).toBe(read(libDir, f));
    const followBpm = infos[1]?.files.concat(infos[2]?.files ?? []).filter((f) => f.includes('bpm')) ?? [];
    expect(followBpm.length).toBeGreaterThan(0);
    const times = followBpm.flatMap((f) =>
      read(libDir, f)
        .split('\n')
        .flatMap((l) => {
          try {
            return [Number((JSON.parse((JSON.parse(l) as { value: string }).value) as { time: number }).time)];
          } catch {
            return []; // a malformed line, on purpose
          }
        }),
    );
    expect(Math.max(...times)).toBeGreaterThanOrEqual(gen.end);
  });
});

function spawnSyncCli(cli: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number | null; stdout: string; stderr: string };
    return { code: err.status, stdout: err.stdout, stderr: err.stderr };
  }
}
