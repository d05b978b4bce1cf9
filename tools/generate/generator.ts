/**
 * Turns the simulation's landed lines into landing files, one arrival at a time. An arrival is a
 * window of landing time; its files hold exactly the lines that land in it, so the arrivals of a
 * run together hold the same lines whatever their number. Kafka offsets are given in landing order
 * per topic partition, which makes them independent of the split too.
 *
 * Files are written under a `.partial` name and renamed when the arrival is complete, so a
 * watcher never reads half a file.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Line } from './model.js';
import { CSV_HEADERS, envelopeLine } from './render.js';
import { DAY, HOUR, Simulation } from './simulate.js';

/** Options of {@link generateLanding} and {@link LandingGenerator}. */
export interface GenerateOptions {
  /** Number of users (at least 1). */
  readonly users: number;
  /** Number of simulated days (at least 1). */
  readonly days: number;
  /** Any seed; equal seeds (and options) give byte-identical landing zones. */
  readonly seed: number | string;
  /** The landing-zone folder; `batch/` and `stream/` are created in it. */
  readonly out: string;
  /** Number of arrival batches the simulated days are split into (default 1). */
  readonly arrivals?: number;
  /** First simulated day, `YYYY-MM-DD` (UTC); default {@link DEFAULT_START_DATE}. */
  readonly startDate?: string;
  /** Simulated seconds per arrival written after the first ones (--follow); default one hour. */
  readonly followStepSeconds?: number;
}

/** What one arrival wrote. */
export interface ArrivalInfo {
  /** 0-based arrival number, also in the file names. */
  readonly index: number;
  /** Landing-time window [from, to) in epoch seconds; the first arrival also takes everything before `from`. */
  readonly from: number;
  readonly to: number;
  /** Files written, relative to the output folder, sorted. */
  readonly files: readonly string[];
  /** Lines written, header lines excluded. */
  readonly lines: number;
}

/** The default first simulated day: a Monday in the week of the seed's sample records. */
export const DEFAULT_START_DATE = '2023-03-06';

/** Reads `YYYY-MM-DD` as 00:00 UTC in epoch seconds, or throws a message saying what is wrong. */
export function parseStartDate(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) {
    throw new Error(`start date "${text}" is not a valid date: write it as YYYY-MM-DD, e.g. ${DEFAULT_START_DATE}`);
  }
  return ms / 1000;
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number of at least 1 (got ${value})`);
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Writes a landing zone arrival by arrival; call {@link writeArrival} with 0, 1, 2, ... in order. */
export class LandingGenerator {
  /** Number of arrivals covering the simulated days; arrivals past it continue in time (follow). */
  readonly arrivals: number;
  /** Epoch seconds of the first simulated day and of the end of the last one. */
  readonly start: number;
  readonly end: number;
  private readonly sim: Simulation;
  private readonly out: string;
  private readonly followStep: number;
  private pending: { line: Line; seq: number }[] = [];
  private seq = 0;
  private simulatedDays = 0;
  private nextArrival = 0;
  private readonly offsets = new Map<string, number>();

  /** Checks the options and that the output folder holds no landing files yet. */
  constructor(opts: GenerateOptions) {
    checkPositiveInteger('users', opts.users);
    checkPositiveInteger('days', opts.days);
    const arrivals = opts.arrivals ?? 1;
    checkPositiveInteger('arrivals', arrivals);
    this.followStep = opts.followStepSeconds ?? HOUR;
    checkPositiveInteger('followStepSeconds', this.followStep);
    this.arrivals = arrivals;
    this.start = parseStartDate(opts.startDate ?? DEFAULT_START_DATE);
    this.end = this.start + opts.days * DAY;
    this.out = opts.out;
    for (const sub of ['batch', 'stream']) {
      const dir = path.join(opts.out, sub);
      if (fs.existsSync(dir) && listFiles(dir).length > 0) {
        throw new Error(`${dir} already holds files: remove ${path.join(opts.out, 'batch')} and ${path.join(opts.out, 'stream')} first (or pass --clean), or choose another --out`);
      }
    }
    this.sim = new Simulation({ seed: String(opts.seed), users: opts.users, days: opts.days, start: this.start });
    for (const line of this.sim.initialLines()) this.pending.push({ line, seq: this.seq++ });
  }

  /** The landing-time window of arrival k. */
  window(k: number): { from: number; to: number } {
    const span = this.end - this.start;
    if (k < this.arrivals) {
      return {
        from: k === 0 ? -Infinity : this.start + Math.round((k * span) / this.arrivals),
        to: this.start + Math.round(((k + 1) * span) / this.arrivals),
      };
    }
    const from = this.end + (k - this.arrivals) * this.followStep;
    return { from, to: from + this.followStep };
  }

  /** The number of the next arrival to write. */
  get next(): number {
    return this.nextArrival;
  }

  /** Writes arrival k (which must be the next one) and returns what it wrote. */
  writeArrival(k: number): ArrivalInfo {
    if (k !== this.nextArrival) throw new Error(`arrivals are written in order: the next one is ${this.nextArrival}, not ${k}`);
    const { from, to } = this.window(k);
    const files = new Set<string>();
    let flushedTo = from;
    let lines = 0;
    for (;;) {
      // No line of a day not yet simulated lands before that day starts.
      const horizon = this.start + this.simulatedDays * DAY;
      const boundary = Math.min(to, horizon);
      if (boundary > flushedTo) {
        lines += this.flush(boundary, k, files);
        flushedTo = boundary;
      }
      if (boundary >= to) break;
      for (const line of this.sim.simulateDay(this.simulatedDays)) this.pending.push({ line, seq: this.seq++ });
      this.simulatedDays++;
    }
    const written: string[] = [];
    for (const rel of files) {
      const full = path.join(this.out, rel);
      fs.renameSync(`${full}.partial`, full);
      written.push(rel);
    }
    this.nextArrival++;
    return { index: k, from, to, files: written.sort(), lines };
  }

  /** Appends every pending line landing before `boundary` to arrival k's files. */
  private flush(boundary: number, k: number, files: Set<string>): number {
    const ready: { line: Line; seq: number }[] = [];
    const keep: { line: Line; seq: number }[] = [];
    for (const p of this.pending) (p.line.land < boundary ? ready : keep).push(p);
    this.pending = keep;
    ready.sort((a, b) => a.line.land - b.line.land || a.seq - b.seq);
    const groups = new Map<string, { key: number; seq: number; text: string }[]>();
    for (const { line, seq } of ready) {
      let text: string;
      let rel: string;
      if (line.message) {
        const m = line.message;
        if (line.firstDelivery) {
          const id = `${m.topic}:${m.partition}`;
          const offset = this.offsets.get(id) ?? 0;
          m.offset = offset;
          this.offsets.set(id, offset + 1);
        } else if (m.offset < 0) {
          throw new Error('internal: a redelivered message landed before its first delivery');
        }
        text = envelopeLine(m);
        rel = path.join('stream', m.topic, `${m.topic}-${pad(k, 6)}-${pad(m.partition, 2)}.jsonl`);
      } else {
        text = line.csv ?? '';
        rel = path.join('batch', line.folder, `${line.folder}-${pad(k, 6)}.csv`);
      }
      let g = groups.get(rel);
      if (!g) groups.set(rel, (g = []));
      g.push({ key: line.land + line.jitter, seq, text });
    }
    for (const [rel, rows] of groups) {
      rows.sort((a, b) => a.key - b.key || a.seq - b.seq);
      const full = `${path.join(this.out, rel)}.partial`;
      if (!files.has(rel)) {
        fs.mkdirSync(path.dirname(full), { recursive: true });
        const folder = path.basename(path.dirname(full));
        const header = folder === 'registered_users' || folder === 'gym_logins' ? `${CSV_HEADERS[folder]}\n` : '';
        fs.writeFileSync(full, header);
        files.add(rel);
      }
      fs.appendFileSync(full, rows.map((r) => `${r.text}\n`).join(''));
    }
    return ready.length;
  }
}

/** Files under a folder, recursively, relative to it, sorted. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out.sort();
}

/** Generates a whole landing zone (all arrivals) and returns what each arrival wrote. */
export function generateLanding(opts: GenerateOptions): ArrivalInfo[] {
  const gen = new LandingGenerator(opts);
  const infos: ArrivalInfo[] = [];
  for (let k = 0; k < gen.arrivals; k++) infos.push(gen.writeArrival(k));
  return infos;
}
