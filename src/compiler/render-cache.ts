/**
 * Renders kept between runs (what dbt calls partial parsing): a model whose text, id and
 * materialization are unchanged, in a project whose macros, vars, target, sources and lake
 * version are unchanged, renders to what it rendered last time — so a fresh `lake compile` or
 * `lake run` reuses it instead of rendering again. One JSON file under target/.lake/.
 *
 * What is never kept: renders with diagnostics, and volatile ones (env_var(), run_started_at,
 * today's date), whose output can change with nothing in the project changing. Anything that
 * cannot be read back exactly (a source that no longer exists) is a miss.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RenderResult } from '../template/engine.js';
import type { SourceNode } from '../core/types.js';

const FILE = 'render-cache.json';
const FORMAT = 1;

interface Entry {
  /** Per-model key: content hash, id, materialization. */
  readonly k: string;
  readonly sql: string;
  readonly refs: readonly string[];
  readonly streamed: readonly number[];
  readonly sources: readonly string[];
  readonly config: Record<string, unknown>;
  readonly macros: readonly string[];
  readonly inc: boolean;
}

interface CacheFile {
  readonly format: number;
  readonly key: string;
  readonly entries: Record<string, Entry>;
}

/** A short hash of a text, to notice that it changed (one-shot SHA-1: cheaper than a JavaScript loop). */
export function contentHash(s: string): string {
  return crypto.hash('sha1', s, 'base64');
}

const NO_INDEXES: ReadonlySet<number> = new Set();
const NONE: readonly never[] = Object.freeze([]);

export class RenderCache {
  private readonly entries: Record<string, Entry>;
  private readonly seen = new Set<string>();
  private dirty = false;
  hits = 0;
  misses = 0;

  private constructor(private readonly dir: string, private readonly key: string, entries: Record<string, Entry> | undefined) {
    this.entries = entries ?? {};
    if (!entries) this.dirty = true;
  }

  /** The cache in `dir` if it was written for `key` (the project-wide inputs), else an empty one. */
  static open(dir: string, key: string): RenderCache {
    try {
      const data = JSON.parse(fs.readFileSync(path.join(dir, FILE), 'utf8')) as CacheFile;
      if (data.format === FORMAT && data.key === key && data.entries && typeof data.entries === 'object') return new RenderCache(dir, key, data.entries);
    } catch { /* no cache yet, or unreadable: start empty */ }
    return new RenderCache(dir, key, undefined);
  }

  /** The kept render of the model at `file`, when its key matches. */
  get(file: string, k: string, sources: ReadonlyMap<string, SourceNode>): RenderResult | undefined {
    const e = this.entries[file];
    if (!e || e.k !== k) {
      this.misses++;
      return undefined;
    }
    const srcs: SourceNode[] = [];
    for (const id of e.sources) {
      const s = sources.get(id);
      if (!s) {
        this.misses++;
        return undefined;
      }
      srcs.push(s);
    }
    this.seen.add(file);
    this.hits++;
    return {
      sql: e.sql, refs: e.refs, streamed: e.streamed.length ? new Set(e.streamed) : NO_INDEXES, sources: srcs.length ? srcs : NONE,
      config: e.config, macros: e.macros.length ? e.macros : NONE, usedIncremental: e.inc, diagnostics: NONE,
    };
  }

  /** Keep `r` for the model at `file`, if it can be kept. */
  set(file: string, k: string, r: RenderResult): void {
    this.seen.add(file);
    if (r.volatile || r.diagnostics.length) {
      if (this.entries[file]) {
        delete this.entries[file];
        this.dirty = true;
      }
      return;
    }
    this.entries[file] = { k, sql: r.sql, refs: r.refs, streamed: [...r.streamed], sources: r.sources.map((s) => s.id), config: r.config as Record<string, unknown>, macros: r.macros, inc: r.usedIncremental };
    this.dirty = true;
  }

  /**
   * Write the cache back if anything changed; entries of models not seen in this compile are
   * dropped. `write` (file, text) replaces the atomic write on this thread.
   */
  save(write?: (file: string, text: string) => void): void {
    for (const file of Object.keys(this.entries)) {
      if (!this.seen.has(file)) {
        delete this.entries[file];
        this.dirty = true;
      }
    }
    if (!this.dirty) return;
    try {
      const text = JSON.stringify({ format: FORMAT, key: this.key, entries: this.entries } satisfies CacheFile);
      if (write) {
        write(path.join(this.dir, FILE), text);
      } else {
        fs.mkdirSync(this.dir, { recursive: true });
        const tmp = path.join(this.dir, `${FILE}.tmp-${process.pid}`);
        fs.writeFileSync(tmp, text);
        fs.renameSync(tmp, path.join(this.dir, FILE));
      }
      this.dirty = false;
    } catch { /* a cache that cannot be written only costs speed */ }
  }
}
