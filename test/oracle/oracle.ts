/**
 * An independent oracle for the reference project's gold reports: reads a landing folder with
 * plain TypeScript (no lake, no SQL, no DuckDB) and computes `workout_bpm_summary` and
 * `gym_summary` exactly as docs/reference-semantics.md says. Each step below names the section
 * of that document it follows; keep the two in step.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The reference date at which ages are computed (docs/reference-semantics.md, "user_bins"). */
export const AGE_REFERENCE_DATE = { year: 2024, month: 1, day: 1 } as const;

/** Heart rates outside [MIN_BPM, MAX_BPM] are impossible and dropped. */
export const MIN_BPM = 20;
export const MAX_BPM = 250;

/** A row of gold.workout_bpm_summary. */
export interface WorkoutBpmSummaryRow {
  readonly user_id: number;
  /** UTC date of the workout start, `YYYY-MM-DD`. */
  readonly date: string;
  readonly workout_id: number;
  readonly session_id: number;
  /** Age band, e.g. `25-35`. */
  readonly age: string;
  readonly sex: string;
  readonly city: string;
  readonly state: string;
  readonly min_bpm: number;
  readonly avg_bpm: number;
  readonly max_bpm: number;
  readonly num_recordings: number;
}

/** A row of gold.gym_summary. */
export interface GymSummaryRow {
  readonly gym: number;
  readonly mac_address: string;
  /** UTC date of the login, `YYYY-MM-DD`. */
  readonly date: string;
  readonly minutes_in_gym: number;
  readonly minutes_exercising: number;
}

/** Both gold reports, sorted by their keys. */
export interface Gold {
  readonly workoutBpmSummary: WorkoutBpmSummaryRow[];
  readonly gymSummary: GymSummaryRow[];
}

/** A bronze stream row: one kept envelope and where it came from. */
export interface BronzeEnvelope {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** The record, still as the JSON text the envelope carries. */
  readonly value: string;
  readonly file: string;
  /** 1-based line number in the file. */
  readonly line: number;
}

export interface UserRow {
  readonly user_id: number;
  readonly device_id: number;
  readonly mac_address: string;
}
export interface GymLogRow {
  readonly mac_address: string;
  readonly gym: number;
  readonly login: number;
  readonly logout: number;
}
export interface ProfileRow {
  readonly user_id: number;
  readonly dob: string;
  readonly sex: string;
  readonly city: string;
  readonly state: string;
  readonly timestamp: number;
}
export interface HeartRateRow {
  readonly device_id: number;
  readonly time: number;
  readonly heartrate: number;
}
export interface CompletedWorkoutRow {
  readonly user_id: number;
  readonly workout_id: number;
  readonly session_id: number;
  readonly start_time: number;
  readonly end_time: number;
}
export interface UserBinRow {
  readonly user_id: number;
  readonly age: string;
  readonly sex: string;
  readonly city: string;
  readonly state: string;
}

/** The silver tables the gold reports are computed from. */
export interface Silver {
  readonly users: UserRow[];
  readonly gymLogs: GymLogRow[];
  readonly userProfile: ProfileRow[];
  readonly heartRate: HeartRateRow[];
  readonly completedWorkouts: CompletedWorkoutRow[];
  readonly userBins: UserBinRow[];
}

/** round(x, 2) as DuckDB computes it for a DOUBLE: round(x * 100) / 100, halves away from zero. */
export function round2(x: number): number {
  const scaled = x * 100;
  const r = Math.sign(scaled) * Math.round(Math.abs(scaled));
  return r / 100 + 0; // + 0 turns -0 into 0
}

/** Full years between a `MM/DD/YYYY` birth date and the reference date. */
export function ageAtReference(dob: string): number {
  const { year, month, day } = parseDob(dob) ?? { year: NaN, month: NaN, day: NaN };
  const ref = AGE_REFERENCE_DATE;
  const beforeBirthday = ref.month < month || (ref.month === month && ref.day < day);
  return ref.year - year - (beforeBirthday ? 1 : 0);
}

/** The age band of an age: lower bound inclusive, upper exclusive (docs/reference-semantics.md). */
export function ageBand(age: number): string {
  if (age < 18) return 'under 18';
  if (age < 25) return '18-25';
  if (age >= 95) return '95+';
  const lo = Math.floor((age - 25) / 10) * 10 + 25;
  return `${lo}-${lo + 10}`;
}

function parseDob(dob: string): { year: number; month: number; day: number } | undefined {
  const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(dob);
  if (!m) return undefined;
  const month = Number(m[1]);
  const day = Number(m[2]);
  const year = Number(m[3]);
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
  return { year, month, day };
}

/** UTC calendar date of an epoch-seconds time. */
export function utcDate(epochSeconds: number): string {
  return new Date(Math.floor(epochSeconds * 1000)).toISOString().slice(0, 10);
}

function filesIn(dir: string, ext: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/** Non-blank lines of a file with their 1-based numbers, without the line terminator. */
function linesOf(file: string): { text: string; line: number }[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l, i) => ({ text: l.endsWith('\r') ? l.slice(0, -1) : l, line: i + 1 }))
    .filter((l) => l.text.trim() !== '');
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Bronze of one topic: every envelope line of the topic folder, files in name order, lines in file
 * order; malformed lines dropped; the first of several envelopes with one (topic, partition,
 * offset) kept.
 */
export function bronzeTopic(landingDir: string, topic: string): BronzeEnvelope[] {
  const seen = new Set<string>();
  const out: BronzeEnvelope[] = [];
  for (const file of filesIn(path.join(landingDir, 'stream', topic), '.jsonl')) {
    linesOf(file).forEach(({ text, line }) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return; // malformed line
      }
      if (!isObj(parsed)) return;
      const { topic: t, partition, offset, value } = parsed;
      if (typeof t !== 'string' || !isInt(partition) || !isInt(offset) || typeof value !== 'string') return;
      const id = `${t}\u0000${partition}\u0000${offset}`;
      if (seen.has(id)) return; // duplicate envelope
      seen.add(id);
      out.push({ topic: t, partition, offset, value, file, line });
    });
  }
  return out;
}

/** The records of a topic whose value is a JSON object, with their envelope (silver starts here). */
function readTopic(landingDir: string, topic: string): { env: BronzeEnvelope; record: Record<string, unknown> }[] {
  const out: { env: BronzeEnvelope; record: Record<string, unknown> }[] = [];
  for (const env of bronzeTopic(landingDir, topic)) {
    let record: unknown;
    try {
      record = JSON.parse(env.value);
    } catch {
      continue; // the value is not JSON
    }
    if (isObj(record)) out.push({ env, record });
  }
  return out;
}

/** Rows of one batch table: files in name order; the header must be exactly `header`. */
function readCsv(landingDir: string, table: string, header: string): { fields: string[] }[] {
  const out: { fields: string[] }[] = [];
  const width = header.split(',').length;
  for (const file of filesIn(path.join(landingDir, 'batch', table), '.csv')) {
    const lines = linesOf(file);
    const first = lines[0];
    if (first === undefined) continue;
    if (first.text !== header) {
      throw new Error(`${file}:${first.line}: header is "${first.text}", expected "${header}"`);
    }
    for (const { text } of lines.slice(1)) {
      const fields = text.split(',');
      if (fields.length === width) out.push({ fields });
    }
  }
  return out;
}

const intField = (s: string | undefined): number | undefined => (s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined);
const numField = (s: string | undefined): number | undefined =>
  s !== undefined && /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : undefined;

/** All silver tables of a landing folder (docs/reference-semantics.md, "Silver"). */
export function computeSilver(landingDir: string): Silver {
  // users: insert-new on user_id, in landing order.
  const users = new Map<number, UserRow>();
  for (const { fields } of readCsv(landingDir, 'registered_users', 'user_id,device_id,mac_address,registration_timestamp')) {
    const userId = intField(fields[0]);
    const deviceId = intField(fields[1]);
    const mac = fields[2] ?? '';
    if (userId === undefined || deviceId === undefined || mac === '' || numField(fields[3]) === undefined) continue;
    if (!users.has(userId)) users.set(userId, { user_id: userId, device_id: deviceId, mac_address: mac });
  }

  // gym_logs: insert-new on (mac_address, gym, login).
  const gymLogs = new Map<string, GymLogRow>();
  for (const { fields } of readCsv(landingDir, 'gym_logins', 'mac_address,gym,login,logout')) {
    const mac = fields[0] ?? '';
    const gym = intField(fields[1]);
    const login = numField(fields[2]);
    const logout = numField(fields[3]);
    if (mac === '' || gym === undefined || login === undefined || logout === undefined) continue;
    const key = `${mac}\u0000${gym}\u0000${login}`;
    if (!gymLogs.has(key)) gymLogs.set(key, { mac_address: mac, gym, login, logout });
  }

  // user_profile: the latest change per user (timestamp, then offset); a delete removes the user.
  const latest = new Map<number, { ts: number; partition: number; offset: number; row: ProfileRow | undefined }>();
  for (const { env, record: r } of readTopic(landingDir, 'user_info')) {
    const { user_id, update_type, timestamp } = r;
    if (!isInt(user_id) || !isNum(timestamp)) continue;
    let row: ProfileRow | undefined;
    if (update_type === 'delete') {
      row = undefined;
    } else if (update_type === 'new' || update_type === 'update') {
      const address = r.address;
      if (typeof r.dob !== 'string' || parseDob(r.dob) === undefined || typeof r.sex !== 'string' || !isObj(address)) continue;
      if (typeof address.city !== 'string' || typeof address.state !== 'string') continue;
      row = { user_id, dob: r.dob, sex: r.sex, city: address.city, state: address.state, timestamp };
    } else {
      continue;
    }
    const prev = latest.get(user_id);
    const newer =
      prev === undefined ||
      timestamp > prev.ts ||
      (timestamp === prev.ts && (env.partition > prev.partition || (env.partition === prev.partition && env.offset > prev.offset)));
    if (newer) latest.set(user_id, { ts: timestamp, partition: env.partition, offset: env.offset, row });
  }
  const userProfile = [...latest.values()].flatMap((l) => (l.row ? [l.row] : []));

  // heart_rate: valid readings within [MIN_BPM, MAX_BPM], one per (device_id, time): lowest (partition, offset).
  const heart = new Map<string, { partition: number; offset: number; row: HeartRateRow }>();
  for (const { env, record: r } of readTopic(landingDir, 'bpm')) {
    const { device_id, time, heartrate } = r;
    if (!isInt(device_id) || !isNum(time) || !isNum(heartrate)) continue;
    if (heartrate < MIN_BPM || heartrate > MAX_BPM) continue;
    const key = `${device_id}\u0000${time}`;
    const prev = heart.get(key);
    if (prev === undefined || env.partition < prev.partition || (env.partition === prev.partition && env.offset < prev.offset)) {
      heart.set(key, { partition: env.partition, offset: env.offset, row: { device_id, time, heartrate } });
    }
  }
  const heartRate = [...heart.values()].map((h) => h.row);

  // completed_workouts: per (user_id, workout_id, session_id), first start and last stop, start < stop.
  const sessions = new Map<string, { user_id: number; workout_id: number; session_id: number; start?: number; stop?: number }>();
  for (const { record: r } of readTopic(landingDir, 'workout')) {
    const { user_id, workout_id, session_id, action, timestamp } = r;
    if (!isInt(user_id) || !isInt(workout_id) || !isInt(session_id) || !isNum(timestamp)) continue;
    if (action !== 'start' && action !== 'stop') continue;
    const key = `${user_id}\u0000${workout_id}\u0000${session_id}`;
    let s = sessions.get(key);
    if (!s) sessions.set(key, (s = { user_id, workout_id, session_id }));
    if (action === 'start') s.start = s.start === undefined ? timestamp : Math.min(s.start, timestamp);
    else s.stop = s.stop === undefined ? timestamp : Math.max(s.stop, timestamp);
  }
  const completedWorkouts: CompletedWorkoutRow[] = [];
  for (const s of sessions.values()) {
    if (s.start !== undefined && s.stop !== undefined && s.start < s.stop) {
      completedWorkouts.push({ user_id: s.user_id, workout_id: s.workout_id, session_id: s.session_id, start_time: s.start, end_time: s.stop });
    }
  }

  // user_bins: one row per current profile.
  const userBins = userProfile.map((p) => ({
    user_id: p.user_id,
    age: ageBand(ageAtReference(p.dob)),
    sex: p.sex,
    city: p.city,
    state: p.state,
  }));

  return { users: [...users.values()], gymLogs: [...gymLogs.values()], userProfile, heartRate, completedWorkouts, userBins };
}

/** Both gold reports of a landing folder, sorted, numbers rounded as documented. */
export function computeGold(landingDir: string): Gold {
  const silver = computeSilver(landingDir);
  const userById = new Map(silver.users.map((u) => [u.user_id, u]));
  const binById = new Map(silver.userBins.map((b) => [b.user_id, b]));
  const readingsByDevice = new Map<number, HeartRateRow[]>();
  for (const h of silver.heartRate) {
    let list = readingsByDevice.get(h.device_id);
    if (!list) readingsByDevice.set(h.device_id, (list = []));
    list.push(h);
  }
  for (const list of readingsByDevice.values()) list.sort((a, b) => a.time - b.time);

  const workoutBpmSummary: WorkoutBpmSummaryRow[] = [];
  for (const w of silver.completedWorkouts) {
    const user = userById.get(w.user_id);
    const bin = binById.get(w.user_id);
    if (!user || !bin) continue;
    const readings = (readingsByDevice.get(user.device_id) ?? []).filter((h) => h.time >= w.start_time && h.time <= w.end_time);
    if (readings.length === 0) continue;
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const h of readings) {
      min = Math.min(min, h.heartrate);
      max = Math.max(max, h.heartrate);
      sum += h.heartrate;
    }
    workoutBpmSummary.push({
      user_id: w.user_id,
      date: utcDate(w.start_time),
      workout_id: w.workout_id,
      session_id: w.session_id,
      age: bin.age,
      sex: bin.sex,
      city: bin.city,
      state: bin.state,
      min_bpm: round2(min),
      avg_bpm: round2(sum / readings.length),
      max_bpm: round2(max),
      num_recordings: readings.length,
    });
  }
  workoutBpmSummary.sort((a, b) => a.user_id - b.user_id || a.workout_id - b.workout_id || a.session_id - b.session_id);

  const usersByMac = new Map<string, UserRow[]>();
  for (const u of silver.users) {
    let list = usersByMac.get(u.mac_address);
    if (!list) usersByMac.set(u.mac_address, (list = []));
    list.push(u);
  }
  const workoutsByUser = new Map<number, CompletedWorkoutRow[]>();
  for (const w of silver.completedWorkouts) {
    let list = workoutsByUser.get(w.user_id);
    if (!list) workoutsByUser.set(w.user_id, (list = []));
    list.push(w);
  }
  const groups = new Map<string, { gym: number; mac_address: string; date: string; gymSeconds: number; exerciseSeconds: number }>();
  for (const v of silver.gymLogs) {
    const date = utcDate(v.login);
    const key = `${v.gym}\u0000${v.mac_address}\u0000${date}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { gym: v.gym, mac_address: v.mac_address, date, gymSeconds: 0, exerciseSeconds: 0 }));
    g.gymSeconds += v.logout - v.login;
    for (const u of usersByMac.get(v.mac_address) ?? []) {
      for (const w of workoutsByUser.get(u.user_id) ?? []) {
        if (w.start_time >= v.login && w.start_time <= v.logout) g.exerciseSeconds += w.end_time - w.start_time;
      }
    }
  }
  const gymSummary: GymSummaryRow[] = [...groups.values()].map((g) => ({
    gym: g.gym,
    mac_address: g.mac_address,
    date: g.date,
    minutes_in_gym: round2(g.gymSeconds / 60),
    minutes_exercising: round2(g.exerciseSeconds / 60),
  }));
  gymSummary.sort((a, b) => a.gym - b.gym || cmp(a.mac_address, b.mac_address) || cmp(a.date, b.date));
  return { workoutBpmSummary, gymSummary };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
