/**
 * The simulation behind the landing zone: users who register, change and sometimes delete their
 * profile, visit gyms, work out and wear a heart-rate watch. It emits landed lines (with the time
 * each one lands) and never deals with files: the generator decides which arrival a line is in.
 *
 * Everything is drawn from named random streams (seed, purpose, user, day), so nothing depends on
 * how the output is split into arrivals, and a day can be simulated on demand (which is what
 * --follow does). The number of days does shape the run: profile changes and deletes are spread
 * over it and the battery field appears at its midpoint.
 */
import { CITIES, FIRST_NAMES_F, FIRST_NAMES_M, LAST_NAMES, STREET_NAMES, STREET_SUFFIXES } from './catalog.js';
import type { City } from './catalog.js';
import { BPM_MESS, RATES, USER_INFO_MESS, WORKOUT_MESS, assignMess } from './mess.js';
import type { MessageMess } from './mess.js';
import { PyFloat } from './model.js';
import type { Line, Message, PyRecord, PyValue, Topic } from './model.js';
import { Rng } from './prng.js';

/** Durations in seconds. */
export const MINUTE = 60;
/** Durations in seconds. */
export const HOUR = 3600;
/** Durations in seconds. */
export const DAY = 86400;

/** What the simulation needs to know. */
export interface SimConfig {
  readonly seed: string;
  readonly users: number;
  readonly days: number;
  /** Epoch seconds of the first simulated day, at 00:00 UTC. */
  readonly start: number;
}

/** A profile as sent on the user_info topic. */
interface Profile {
  firstName: string;
  lastName: string;
  dob: string;
  sex: 'M' | 'F';
  gender: string;
  street: string;
  city: City;
}

/** A change of profile before it becomes a message. */
interface ProfileChange {
  type: 'new' | 'update' | 'delete';
  time: number;
  profile: Profile;
  /** Forced production time (late delivery), if any. */
  produced?: number;
}

/** A simulated user and the state carried from day to day. */
export interface SimUser {
  readonly index: number;
  readonly userId: number;
  readonly deviceId: number;
  readonly mac: string;
  readonly regTime: number;
  deleteTime: number | undefined;
  readonly restHr: number;
  readonly maxHr: number;
  readonly homeGym: number;
  readonly visitProb: number;
  /** The user is busy (in a gym or a workout) until this time: no rest readings before it. */
  busyUntil: number;
  workoutCount: number;
}

/** Where a day's messages and rows come from, kept so day-level mess can find workouts. */
interface DayWorkout {
  readonly end: number;
  readonly readings: Message[];
}

/** Picks the written form of a change timestamp: int, float with `.0`, or fractional (the seed has the first two). */
function timestampValue(rng: Rng, time: number): PyValue {
  const r = rng.next();
  if (r < 0.4) return Math.floor(time);
  if (r < 0.8) return new PyFloat(Math.floor(time));
  return new PyFloat(Math.floor(time) + rng.int(1, 999) / 1000);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function ceilHour(t: number): number {
  return Math.ceil(t / HOUR) * HOUR;
}

/** Rounds a heart rate to 8 decimals: readings keep many decimals, like the feed's doubles. */
function rate8(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}

/** The simulation state: users, gyms, counters; lines come out of {@link initialLines} and {@link simulateDay}. */
export class Simulation {
  readonly users: SimUser[] = [];
  readonly gymCount: number;
  /** Heart-rate records carry a `battery` field from this time on (a firmware update mid-stream). */
  readonly batteryFrom: number;
  private readonly profiles: Profile[] = [];
  private readonly changes: ProfileChange[][] = [];
  private nextSession = 100;

  constructor(private readonly cfg: SimConfig) {
    this.gymCount = Math.max(2, Math.ceil(cfg.users / 12));
    this.batteryFrom = cfg.start + Math.floor((cfg.days * DAY) / 2);
    this.createUsers();
    this.planProfileChanges();
  }

  private createUsers(): void {
    const { seed, users, start, days } = this.cfg;
    const rng = new Rng(`${seed}:ids`);
    const span = Math.max(users * 3, 100);
    const userIds = rng.shuffle(Array.from({ length: span }, (_, i) => 10000 + i)).slice(0, users);
    const deviceIds = rng.shuffle(Array.from({ length: span }, (_, i) => 1000 + i)).slice(0, users);
    const macs = new Set<string>();
    for (let i = 0; i < users; i++) {
      const u = new Rng(`${seed}:user:${i}`);
      let mac = '';
      do {
        mac = Array.from({ length: 6 }, () => u.int(0, 255).toString(16).padStart(2, '0')).join(':');
      } while (macs.has(mac));
      macs.add(mac);
      const preRegistered = u.chance(0.75);
      const regTime = preRegistered
        ? start - u.int(HOUR, 45 * DAY)
        : start + u.int(0, Math.max(HOUR, Math.floor(0.5 * days * DAY)));
      const profile = this.newProfile(u);
      const age = 2024 - Number(profile.dob.slice(6));
      this.users.push({
        index: i,
        userId: userIds[i] as number,
        deviceId: deviceIds[i] as number,
        mac,
        regTime,
        deleteTime: undefined,
        restHr: u.real(52, 78),
        maxHr: 208 - 0.7 * Math.min(age, 90),
        homeGym: u.int(1, this.gymCount),
        visitProb: u.real(0.3, 0.8),
        busyUntil: regTime + 2 * HOUR,
        workoutCount: 0,
      });
      this.profiles.push(profile);
    }
  }

  private newProfile(u: Rng): Profile {
    const sex = u.chance(0.5) ? 'F' : 'M';
    // Mostly equal to sex; sometimes not, so a report that uses gender instead of sex shows it.
    const gender = u.chance(0.04) ? u.pick(['M', 'F', 'X'].filter((g) => g !== sex)) : sex;
    const r = u.next();
    const age = r < 0.05 ? u.int(14, 17) : r < 0.95 ? u.int(18, 70) : u.int(71, 97);
    const year = 2023 - age;
    // Some birthdays on the first days of January, to exercise the age edge at the reference date.
    const onEdge = u.chance(0.06);
    const month = onEdge ? u.pick([1, 12]) : u.int(1, 12);
    const day = onEdge ? (month === 1 ? u.int(1, 2) : 31) : u.int(1, 28);
    return {
      firstName: u.pick(sex === 'F' ? FIRST_NAMES_F : FIRST_NAMES_M),
      lastName: u.pick(LAST_NAMES),
      dob: `${pad2(month)}/${pad2(day)}/${year}`,
      sex,
      gender,
      street: this.street(u),
      city: u.pick(CITIES),
    };
  }

  private street(u: Rng): string {
    const suite = u.chance(0.25) ? ` Suite ${u.int(100, 999)}` : '';
    return `${u.int(100, 99999)} ${u.pick(STREET_NAMES)} ${u.pick(STREET_SUFFIXES)}${suite}`;
  }

  /** Decides every profile change of the run: new, updates, deletes, and the forced scenarios. */
  private planProfileChanges(): void {
    const { seed, start, days } = this.cfg;
    for (const user of this.users) {
      const u = new Rng(`${seed}:profile:${user.index}`);
      const base = this.profiles[user.index] as Profile;
      const list: ProfileChange[] = [{ type: 'new', time: user.regTime, profile: base }];
      const r = u.next();
      const nUpdates = r < RATES.twoUpdates ? 2 : r < RATES.twoUpdates + RATES.oneUpdate ? 1 : 0;
      const from = Math.max(user.regTime + HOUR, start);
      const to = start + 0.8 * days * DAY;
      const times = Array.from({ length: nUpdates }, () => Math.floor(u.real(from, Math.max(from + HOUR, to)))).sort(
        (a, b) => a - b,
      );
      let current = base;
      for (const time of times) {
        current = this.changedProfile(u, current, u.pick(['rename', 'move', 'both'] as const));
        list.push({ type: 'update', time, profile: current });
      }
      this.changes.push(list);
    }
    const force = new Rng(`${seed}:force`);
    const pre = this.users.filter((x) => x.regTime < start);
    if (this.users.length < 3 || pre.length < 2) return;
    // Scenario A: a rename and a move in one update (the seed's Edward Eaton -> Smith).
    const a = force.pick(pre);
    const aList = this.changes[a.index] as ProfileChange[];
    const hasBoth = aList.some((c, i) => i > 0 && c.profile.lastName !== aList[i - 1]?.profile.lastName && c.profile.street !== aList[i - 1]?.profile.street);
    if (!hasBoth) {
      const last = aList[aList.length - 1] as ProfileChange;
      const time = Math.floor(Math.max(last.time + HOUR, start + force.real(0.1, 0.3) * days * DAY));
      aList.push({ type: 'update', time, profile: this.changedProfile(force, last.profile, 'both') });
    }
    // Scenario B: deleted users; the first one also receives an older update after its delete.
    const deleted = pre.filter((x) => x !== a && force.chance(RATES.deletedUser));
    if (deleted.length === 0) deleted.push(force.pick(pre.filter((x) => x !== a)));
    deleted.forEach((b, n) => {
      const deleteTime = Math.floor(start + force.real(0.35, 0.75) * days * DAY);
      b.deleteTime = deleteTime;
      const list = (this.changes[b.index] as ProfileChange[]).filter((c) => c.time < deleteTime - HOUR);
      let beforeDelete = list.length > 1 ? (list[list.length - 1] as ProfileChange) : undefined;
      if (beforeDelete === undefined && n === 0) {
        const prev = list[list.length - 1] as ProfileChange;
        const time = Math.floor(Math.max(prev.time + 60, deleteTime - force.real(2 * HOUR, 20 * HOUR)));
        beforeDelete = { type: 'update', time, profile: this.changedProfile(force, prev.profile, 'move') };
        list.push(beforeDelete);
      }
      if (beforeDelete !== undefined && (n === 0 || force.chance(0.5))) {
        beforeDelete.produced = deleteTime + force.real(HOUR, 3 * HOUR);
      }
      const lastProfile = (list[list.length - 1] as ProfileChange).profile;
      list.push({ type: 'delete', time: deleteTime, profile: lastProfile });
      this.changes[b.index] = list;
    });
    // Scenario C: two updates landing in the wrong order (the older one is late).
    const others = pre.filter((x) => x.deleteTime === undefined);
    const c = others.find((x) => x !== a && (this.changes[x.index] as ProfileChange[]).length >= 3) ?? force.pick(others);
    const cList = this.changes[c.index] as ProfileChange[];
    while (cList.length < 3) {
      const last = cList[cList.length - 1] as ProfileChange;
      const time = Math.floor(Math.max(last.time + 2 * HOUR, start + force.real(0.2, 0.8) * days * DAY));
      cList.push({ type: 'update', time, profile: this.changedProfile(force, last.profile, 'move') });
    }
    const older = cList[cList.length - 2] as ProfileChange;
    const newer = cList[cList.length - 1] as ProfileChange;
    // Late by up to 4 h, but still inside the simulated days so a one-go zone has it.
    const room = Math.min(4 * HOUR, start + days * DAY - newer.time - 10 * MINUTE);
    older.produced = newer.time + Math.max(MINUTE, room * force.real(0.25, 1));
  }

  private changedProfile(u: Rng, p: Profile, kind: 'rename' | 'move' | 'both'): Profile {
    const next: Profile = { ...p };
    if (kind !== 'move') {
      let last = p.lastName;
      while (last === p.lastName) last = u.pick(LAST_NAMES);
      next.lastName = last;
    }
    if (kind !== 'rename') {
      next.street = this.street(u);
      if (u.chance(0.5)) next.city = u.pick(CITIES);
    }
    return next;
  }

  /** Lines that do not belong to a simulated day: registrations and the whole user_info topic. */
  initialLines(): Line[] {
    const { seed } = this.cfg;
    const rng = new Rng(`${seed}:lifecycle`);
    const lines: Line[] = [];
    const regRows = this.users.map((user) => {
      const land = ceilHour(user.regTime) + rng.int(30, 300);
      const csv = `${user.userId},${user.deviceId},${user.mac},${user.regTime}`;
      return { land, csv };
    });
    const reextract = assignMess(rng, regRows.length, { redeliverFar: { rate: RATES.reextractUser, min: 1 } });
    regRows.forEach((row, i) => {
      lines.push(batchLine('registered_users', row.land, rng, row.csv));
      if (reextract.has(i)) lines.push(batchLine('registered_users', row.land + HOUR, rng, row.csv));
    });
    const messages: Message[] = [];
    const forced: boolean[] = [];
    this.users.forEach((user, i) => {
      for (const change of this.changes[i] as ProfileChange[]) {
        const p = change.profile;
        const record: PyRecord = {
          user_id: user.userId,
          update_type: change.type,
          timestamp: timestampValue(rng, change.time),
          dob: p.dob,
          sex: p.sex,
          gender: p.gender,
          first_name: p.firstName,
          last_name: p.lastName,
          address: { street_address: p.street, city: p.city.city, state: p.city.state, zip: p.city.zip },
        };
        messages.push(message('user_info', 0, String(user.userId), record, change.produced ?? change.time + rng.real(0.5, 10)));
        forced.push(change.produced !== undefined);
      }
    });
    const mess = assignMess(rng, messages.length, USER_INFO_MESS, (i) => !forced[i]);
    messages.forEach((m, i) => lines.push(...deliver(m, mess.get(i), rng)));
    return lines;
  }

  /** Everything that happens on day `d` (0-based from the start date), mess included. */
  simulateDay(d: number): Line[] {
    const { seed } = this.cfg;
    const dayStart = this.cfg.start + d * DAY;
    const bpm: Message[] = [];
    const workoutMsgs: Message[] = [];
    const workouts: DayWorkout[] = [];
    const visits: { land: number; csv: string }[] = [];
    for (const user of this.users) {
      this.simulateUserDay(new Rng(`${seed}:day:${d}:user:${user.index}`), user, dayStart, bpm, workoutMsgs, workouts, visits);
    }
    const rng = new Rng(`${seed}:mess:${d}`);
    const lines: Line[] = [];
    // Watches that were offline during a workout sync its readings after it ends.
    const offline = new Set<Message>();
    const chosen = workouts.filter(() => rng.chance(RATES.offlineWorkout));
    if (chosen.length === 0 && workouts.length > 0) chosen.push(rng.pick(workouts));
    for (const w of chosen) {
      const sync = w.end + rng.int(10 * MINUTE, 3 * HOUR);
      for (const m of w.readings) {
        m.produced = sync + rng.real(0, 30);
        offline.add(m);
      }
    }
    const bpmMess = assignMess(rng, bpm.length, BPM_MESS, (i) => !offline.has(bpm[i] as Message));
    bpm.forEach((m, i) => lines.push(...deliver(m, bpmMess.get(i), rng)));
    const workoutMess = assignMess(rng, workoutMsgs.length, WORKOUT_MESS);
    workoutMsgs.forEach((m, i) => lines.push(...deliver(m, workoutMess.get(i), rng)));
    const reextract = assignMess(rng, visits.length, { redeliverFar: { rate: RATES.reextractVisit, min: 1 } });
    visits.forEach((v, i) => {
      lines.push(batchLine('gym_logins', v.land, rng, v.csv));
      if (reextract.has(i)) lines.push(batchLine('gym_logins', v.land + HOUR, rng, v.csv));
    });
    return lines;
  }

  private simulateUserDay(
    u: Rng,
    user: SimUser,
    dayStart: number,
    bpm: Message[],
    workoutMsgs: Message[],
    workouts: DayWorkout[],
    visitRows: { land: number; csv: string }[],
  ): void {
    const dayEnd = dayStart + DAY;
    const from = Math.max(dayStart, user.regTime + 2 * HOUR);
    const to = user.deleteTime === undefined ? Infinity : user.deleteTime - 2 * HOUR;
    if (from >= Math.min(dayEnd, to)) return;

    // Plan gym visits, each with zero, one or two workouts inside.
    interface Planned {
      start: number;
      end: number;
    }
    interface Visit {
      login: number;
      logout: number;
      gym: number;
      workouts: Planned[];
    }
    const visits: Visit[] = [];
    const nVisits = u.chance(user.visitProb) ? (u.chance(0.12) ? 2 : 1) : 0;
    let login = dayStart + u.int(5 * HOUR, nVisits === 2 ? 12 * HOUR : 22 * HOUR + 30 * MINUTE);
    for (let v = 0; v < nVisits; v++) {
      const r = u.next();
      const nW = r < 0.08 ? 0 : r < 0.88 ? 1 : 2;
      const planned: Planned[] = [];
      let t = login + u.int(2 * MINUTE, 15 * MINUTE);
      for (let w = 0; w < nW; w++) {
        const dur = u.int(20 * MINUTE, 90 * MINUTE);
        planned.push({ start: t, end: t + dur });
        t += dur + u.int(3 * MINUTE, 10 * MINUTE);
      }
      const logout = nW === 0 ? login + u.int(20 * MINUTE, 60 * MINUTE) : t + u.int(0, 15 * MINUTE);
      const gym = u.chance(0.9) ? user.homeGym : u.int(1, this.gymCount);
      if (login >= from && login >= user.busyUntil && logout <= to) visits.push({ login, logout, gym, workouts: planned });
      login = logout + u.int(2 * HOUR, 5 * HOUR);
      if (login >= dayStart + 23 * HOUR + 30 * MINUTE) break;
    }
    const allWorkouts: Planned[] = visits.flatMap((v) => v.workouts);
    if (visits.length === 0 && u.chance(0.15)) {
      // An outdoor workout: no gym visit around it.
      const start = dayStart + u.int(6 * HOUR, 20 * HOUR);
      const dur = u.int(20 * MINUTE, 90 * MINUTE);
      if (start >= from && start >= user.busyUntil && start + dur <= to) allWorkouts.push({ start, end: start + dur });
    }

    for (const v of visits) {
      const land = ceilHour(v.logout) + u.int(30, 300);
      visitRows.push({ land, csv: `${user.mac},${v.gym},${v.login},${v.logout}` });
    }

    // Rest readings: sparse, only outside visits and workouts.
    const busy: Planned[] = [
      ...visits.map((v) => ({ start: v.login, end: v.logout })),
      ...allWorkouts,
    ].sort((a, b) => a.start - b.start);
    const readings: { time: number; hr: number }[] = [];
    let t = Math.max(from, user.busyUntil) + u.int(0, HOUR);
    const restEnd = Math.min(dayEnd, to);
    while (t < restEnd) {
      const inBusy = busy.some((b) => t >= b.start - 5 * MINUTE && t <= b.end + 5 * MINUTE);
      if (!inBusy) readings.push({ time: t, hr: u.normal(user.restHr + (u.chance(0.15) ? 25 : 0), 4) });
      t += u.int(40 * MINUTE, 120 * MINUTE);
    }
    // In the gym but not exercising: a reading every 3-6 minutes, strictly outside workouts.
    for (const v of visits) {
      for (let s = v.login + u.int(0, 120); s < v.logout; s += u.int(3 * MINUTE, 6 * MINUTE)) {
        if (v.workouts.some((w) => s >= w.start && s <= w.end)) continue;
        readings.push({ time: s, hr: u.normal(user.restHr + 22, 5) });
      }
    }

    for (const w of allWorkouts.sort((a, b) => a.start - b.start)) {
      user.workoutCount++;
      const workoutId = user.workoutCount;
      const sessionId = this.nextSession++;
      const r = u.next();
      const zeroLength = r < RATES.zeroLengthWorkout;
      const abandoned = !zeroLength && r < RATES.zeroLengthWorkout + RATES.abandonedWorkout;
      const stop = zeroLength ? w.start : w.end;
      const rec = (action: 'start' | 'stop', timestamp: number): PyRecord => ({
        user_id: user.userId,
        workout_id: workoutId,
        session_id: sessionId,
        action,
        timestamp,
      });
      workoutMsgs.push(message('workout', 0, String(user.userId), rec('start', w.start), w.start + u.real(0.5, 5)));
      if (!abandoned) workoutMsgs.push(message('workout', 0, String(user.userId), rec('stop', stop), stop + u.real(0.5, 5)));
      if (zeroLength) continue;
      // Heart rate rises in a warm-up, holds with intervals and noise, falls in a cool-down.
      const dur = w.end - w.start;
      const peak = user.restHr + u.real(0.55, 0.85) * (user.maxHr - user.restHr);
      const intervals = u.int(2, 6);
      const first = w.start + (u.chance(0.3) ? 0 : u.int(1, 5));
      const wReadings: { time: number; hr: number }[] = [];
      for (let s = first; s <= w.end; s += u.int(12, 30)) wReadings.push({ time: s, hr: 0 });
      const lastTime = wReadings[wReadings.length - 1]?.time;
      if (u.chance(0.3) && lastTime !== undefined && lastTime < w.end) wReadings.push({ time: w.end, hr: 0 });
      for (const reading of wReadings) {
        const f = (reading.time - w.start) / dur;
        let hr: number;
        if (f < 0.12) hr = user.restHr + 10 + (peak - user.restHr - 10) * (f / 0.12);
        else if (f > 0.85) hr = peak - (peak - user.restHr - 25) * ((f - 0.85) / 0.15);
        else hr = peak + 8 * Math.sin(2 * Math.PI * f * intervals);
        reading.hr = hr + u.normal(0, 3);
      }
      const wMessages = wReadings.map((x) => this.reading(u, user, x.time, x.hr));
      workouts.push({ end: w.end, readings: wMessages });
      bpm.push(...wMessages);
    }
    readings.sort((a, b) => a.time - b.time);
    bpm.push(...readings.map((x) => this.reading(u, user, x.time, x.hr)));

    const lastBusy = busy[busy.length - 1];
    if (lastBusy !== undefined) user.busyUntil = Math.max(user.busyUntil, lastBusy.end + 5 * MINUTE);
  }

  private reading(u: Rng, user: SimUser, time: number, hr: number): Message {
    const record: PyRecord = {
      device_id: user.deviceId,
      time,
      heartrate: new PyFloat(rate8(Math.min(205, Math.max(38, hr)))),
    };
    if (time >= this.batteryFrom) {
      const hoursIntoDay = (time % DAY) / HOUR;
      record.battery = Math.max(5, Math.round(100 - hoursIntoDay * 3.5 - (user.deviceId % 7)));
    }
    return message('bpm', user.deviceId % 2, String(user.deviceId), record, time + u.real(0.5, 5));
  }
}

function message(topic: Topic, partition: number, key: string, record: PyRecord, produced: number): Message {
  return { topic, partition, key, record, produced, offset: -1 };
}

function batchLine(folder: 'registered_users' | 'gym_logins', land: number, rng: Rng, csv: string): Line {
  return { folder, partition: 0, land, jitter: rng.real(-120, 120), firstDelivery: true, csv };
}

/** The landed lines of one message, after its mess (if any) is applied. */
function deliver(m: Message, mess: MessageMess | undefined, rng: Rng): Line[] {
  switch (mess) {
    case 'late':
      m.produced += rng.real(HOUR, 8 * HOUR);
      break;
    case 'truncated':
      m.truncateAt = rng.real(0.2, 0.9);
      break;
    case 'wrongType':
      m.record.heartrate = 'abc';
      break;
    case 'impossible':
      m.record.heartrate = new PyFloat(rng.pick([0, 400, 260]));
      break;
    default:
      break;
  }
  const land = m.produced + rng.real(0.2, 20);
  const first: Line = { folder: m.topic, partition: m.partition, land, jitter: rng.real(-45, 45), message: m, firstDelivery: true };
  switch (mess) {
    case 'redeliverNear':
      return [first, { ...first, land: land + rng.real(0, 3), jitter: rng.real(-45, 45), firstDelivery: false }];
    case 'redeliverFar':
      return [first, { ...first, land: land + rng.real(6 * HOUR, 30 * HOUR), jitter: rng.real(-45, 45), firstDelivery: false }];
    case 'retry': {
      const again = message(m.topic, m.partition, m.key, m.record, m.produced + rng.real(1, 60));
      const againLand = again.produced + rng.real(0.2, 20);
      return [first, { folder: m.topic, partition: m.partition, land: againLand, jitter: rng.real(-45, 45), message: again, firstDelivery: true }];
    }
    default:
      return [first];
  }
}
