/**
 * `lake watch --landing`: polls the landing folders of the project's sources and reports which
 * sources received new (or rewritten) files. Polling, not file events: landing zones are written
 * by other programs, often over network mounts or by copying large files, where events are
 * unreliable and a file's size settling matters more than the moment it appears. Ingesting the
 * files stays the job of the models that read the source (the executor's landing hook).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NodeId, SourceNode } from '../core/types.js';

/** `**` / `*` / `?` / `{a,b}` glob → RegExp over forward-slash relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) { re += '\\{'; continue; }
      re += `(?:${glob.slice(i + 1, end).split(',').map((p) => p.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')).join('|')})`;
      i = end;
    } else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Temp files of writers and copy tools, which are not data yet. */
const PARTIAL = /(^\.|^_|\.tmp$|\.part$|\.crdownload$|~$)/;

interface Watched {
  readonly id: NodeId;
  readonly dir: string;
  readonly match: RegExp;
  readonly minAgeMs: number;
}

/** Polls landing folders; `onNew` gets the ids of sources with new files since the last poll. */
export class LandingPoller {
  private sources: Watched[] = [];
  private readonly seen = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number, private readonly onNew: (ids: NodeId[]) => void) {}

  /**
   * Which sources to watch (after each reload). Files already in a newly watched folder count as
   * seen: whoever builds the model first ingests them.
   */
  setSources(sources: Iterable<SourceNode>): void {
    const known = new Set(this.sources.map((s) => s.id));
    this.sources = [...sources].filter((s) => s.landing).map((s) => ({
      id: s.id, dir: s.landing!.dir, match: globToRegExp(s.landing!.files || '**/*'), minAgeMs: s.landing!.minFileAgeMs,
    }));
    for (const s of this.sources) if (!known.has(s.id)) this.scan(s, true);
  }

  get count(): number {
    return this.sources.length;
  }

  start(): void {
    this.timer ??= setInterval(() => this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One poll (also called by tests). */
  poll(): NodeId[] {
    const hit = this.sources.filter((s) => this.scan(s, false)).map((s) => s.id);
    if (hit.length) this.onNew(hit);
    return hit;
  }

  /** Record the folder's files; true when one is new or changed (and old enough to be complete). */
  private scan(s: Watched, silent: boolean): boolean {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(s.dir, { recursive: true, withFileTypes: true });
    } catch {
      return false;
    }
    const now = Date.now();
    let fresh = false;
    for (const e of entries) {
      if (!e.isFile() || PARTIAL.test(e.name)) continue;
      const parent = (e as unknown as { parentPath?: string; path?: string }).parentPath ?? (e as unknown as { path: string }).path;
      const abs = path.join(parent, e.name);
      const rel = path.relative(s.dir, abs).split(path.sep).join('/');
      if (!s.match.test(rel)) continue;
      let st: fs.Stats;
      try {
        st = fs.statSync(abs);
      } catch {
        continue;
      }
      const key = `${s.id}\0${abs}`;
      const sig = `${st.size}:${st.mtimeMs}`;
      if (this.seen.get(key) === sig) continue;
      // A file younger than the source's minimum age may still be being written: look again next time.
      if (!silent && s.minAgeMs > 0 && now - st.mtimeMs < s.minAgeMs) continue;
      this.seen.set(key, sig);
      if (!silent) fresh = true;
    }
    return fresh;
  }
}
