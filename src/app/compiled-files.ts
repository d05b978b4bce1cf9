/**
 * The compiled SQL files lake leaves for people and tools: target/compiled/<schema>/<name>.sql,
 * plus target/compiled/.lake-index.json (a hash per file) so that a re-compile rewrites only the
 * files whose content changed — rewriting 10,000 unchanged small files costs 0.3-1 s.
 *
 * Creating 10,000 files is most of a first compile's time on some file systems, and it is kernel
 * time the compile itself does not need to wait for: with `background`, writes go to a worker
 * thread (in batches, in order) while the main thread goes on rendering and building the
 * manifest. A worker rather than fs callbacks on the libuv pool, because rendering is synchronous:
 * a callback-driven write (open → write → close) would stall at its first step until the render
 * loop yields, and queueing all 10,000 opens at once would hold 10,000 descriptors.
 *
 * What a crash (or a kill) mid-write may leave, and why a later compile still rewrites it: the
 * index on disk only lists files whose content is complete. Before a listed file is rewritten, an
 * index without it is written (atomically, tmp + rename) ahead of the write, in the same ordered
 * queue; the full index is written only after every file write succeeded. A half-written file is
 * therefore never listed, and the next compile rewrites it.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { NodeId } from '../core/types.js';

const INDEX = '.lake-index.json';

/**
 * Jobs, 4 slots each in one flat array. A compiled file travels as bytes: its path and content are
 * encoded into the batch's buffer, which is transferred to the worker rather than copied, and the
 * content is hashed from those bytes (no per-file string is built or cloned).
 */
/** [WRITE, path start, content start, content end] in the batch buffer. */
const WRITE = 0;
/** [MKDIR, folder, 0, 0] */
const MKDIR = 1;
/** [ATOMIC, file, text, 0]: written to a temporary name and renamed, so readers never see a partial file. */
const ATOMIC = 2;

/** Files per batch: few messages, and the first writes still start early. */
const BATCH = 128;
/** Bytes per batch buffer (grown for a larger file). */
const BUFFER = 128 * 1024;

/**
 * The worker's job runner (CommonJS, run with `eval`): executes batches in order; after the first
 * failure it skips everything else (in particular the index written last), and on `null` it
 * replies with the failure, if any, and ends.
 */
const WORKER_SOURCE = `
const fs = require('node:fs');
const { parentPort } = require('node:worker_threads');
let failed = null;
parentPort.on('message', (msg) => {
  if (msg === null) { parentPort.postMessage(failed); parentPort.close(); return; }
  if (failed) return;
  const jobs = msg[0];
  const buf = msg[1] ? Buffer.from(msg[1]) : null;
  try {
    for (let i = 0; i < jobs.length; i += 4) {
      const kind = jobs[i], a = jobs[i + 1], b = jobs[i + 2];
      if (kind === ${WRITE}) fs.writeFileSync(buf.toString('utf8', a, b), buf.subarray(b, jobs[i + 3]));
      else if (kind === ${MKDIR}) fs.mkdirSync(a, { recursive: true });
      else { const tmp = a + '.tmp-' + process.pid; fs.writeFileSync(tmp, b); fs.renameSync(tmp, a); }
    }
  } catch (e) {
    failed = { message: String(e && e.message), code: e && e.code, path: e && e.path };
  }
});
`;

/** The same jobs on the calling thread (small projects, or no worker to be had). */
function runJobs(jobs: readonly (number | string)[], buf: Buffer | undefined): void {
  for (let i = 0; i < jobs.length; i += 4) {
    const kind = jobs[i];
    if (kind === WRITE) {
      const b = jobs[i + 2] as number;
      fs.writeFileSync(buf!.toString('utf8', jobs[i + 1] as number, b), buf!.subarray(b, jobs[i + 3] as number));
    } else if (kind === MKDIR) {
      fs.mkdirSync(jobs[i + 1] as string, { recursive: true });
    } else {
      writeAtomic(jobs[i + 1] as string, jobs[i + 2] as string);
    }
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export interface CompiledFilesOptions {
  /** Write on a worker thread (worth it from a few hundred files; the worker takes ~30 ms to start). */
  readonly background?: boolean;
}

/**
 * Writes compiled files as they are handed in (`add`), skipping unchanged ones; `finish` waits
 * for every write and then writes the index. Call `abort` instead when the command fails (the
 * index is then not updated).
 */
export class CompiledFiles {
  private readonly root: string;
  private readonly indexFile: string;
  /** The index as last written to disk (or read from it): only ever lists complete files. */
  private readonly onDisk: Record<string, string>;
  /** The index to write at the end: onDisk plus every file added since. */
  private readonly next: Record<string, string>;
  /** Per folder: its file names when the index was read (undefined: not listed yet). */
  private readonly listed = new Map<string, Set<string>>();
  /** Folders already created or known to exist. */
  private readonly made = new Set<string>();
  /** Hash last queued per key, so a file handed in twice with the same content is written once. */
  private readonly queued = new Map<string, string>();
  private readonly hadIndex: boolean;
  private onDiskChanged = false;
  private dirty = false;
  private jobs: (number | string)[] = [];
  private files = 0;
  /** The batch's bytes (paths and contents of its files), `used` of them filled. */
  private buf: Buffer | undefined;
  private used = 0;
  private worker: Worker | undefined;
  private done: Promise<void> | undefined;
  private closed = false;
  /** Compiled files handed over for writing (not skipped as unchanged). */
  written = 0;

  private constructor(readonly targetDir: string, opts: CompiledFilesOptions) {
    this.root = path.join(targetDir, 'compiled');
    this.indexFile = path.join(this.root, INDEX);
    let index: Record<string, string> | undefined;
    try {
      const data = JSON.parse(fs.readFileSync(this.indexFile, 'utf8')) as unknown;
      if (data && typeof data === 'object' && !Array.isArray(data)) index = data as Record<string, string>;
    } catch { /* first compile, or the index is unreadable: every file is written */ }
    this.hadIndex = index !== undefined;
    this.onDisk = index ?? {};
    this.next = { ...this.onDisk };
    if (opts.background) this.startWorker();
  }

  /** The compiled files under `targetDir`, as the index there describes them. */
  static open(targetDir: string, opts: CompiledFilesOptions = {}): CompiledFiles {
    return new CompiledFiles(targetDir, opts);
  }

  /** Write `sql` as the compiled file of `id` (with a final newline) unless it is already there. */
  add(id: NodeId, sql: string): void {
    if (this.closed) throw new Error('CompiledFiles: add after finish');
    // String paths rather than path.join: this runs once per model.
    const dot = id.indexOf('.');
    const schema = id.slice(0, dot);
    const base = `${id.slice(dot + 1)}.sql`;
    const key = `${schema}/${base}`;
    const dir = `${this.root}${path.sep}${schema}`;
    const file = `${dir}${path.sep}${base}`;
    // Room for the worst case (3 UTF-8 bytes per UTF-16 unit) of the path, the SQL and its newline.
    const room = 3 * (file.length + sql.length) + 1;
    if (!this.buf || this.used + room > this.buf.length) {
      if (this.used > 0) this.flush();
      if (!this.buf || room > this.buf.length) this.buf = Buffer.allocUnsafeSlow(Math.max(BUFFER, room));
    }
    const buf = this.buf;
    const pathStart = this.used;
    const contentStart = pathStart + buf.write(file, pathStart, 'utf8');
    let end = contentStart + buf.write(sql, contentStart, 'utf8');
    buf[end++] = 10; // '\n'
    // The same digest as of the text `${sql}\n` (its UTF-8 bytes are these).
    const hash = crypto.hash('sha1', buf.subarray(contentStart, end), 'base64');
    if (this.queued.get(key) === hash) return;
    if (!this.queued.has(key) && this.onDisk[key] === hash && this.namesIn(dir).has(base)) return;
    if (!this.made.has(dir)) {
      // Each folder is created once, ahead of its first file (in the same queue).
      this.jobs.push(MKDIR, dir, 0, 0);
      this.made.add(dir);
    }
    if (key in this.onDisk) {
      // Listed with other content: unlist it on disk before the write can start (see the header).
      delete this.onDisk[key];
      this.onDiskChanged = true;
    }
    this.queued.set(key, hash);
    this.next[key] = hash;
    this.dirty = true;
    this.jobs.push(WRITE, pathStart, contentStart, end);
    this.used = end;
    this.written++;
    if (++this.files >= BATCH) this.flush();
  }

  /** Also write `text` to `file` (atomically), after the compiled files, e.g. manifest.json. */
  addFile(file: string, text: string): void {
    if (this.closed) throw new Error('CompiledFiles: addFile after finish');
    const dir = path.dirname(file);
    if (!this.made.has(dir)) {
      this.jobs.push(MKDIR, dir, 0, 0);
      this.made.add(dir);
    }
    this.jobs.push(ATOMIC, file, text, 0);
  }

  /** Wait until every file is written, then write the index. Throws when a write failed. */
  async finish(): Promise<void> {
    this.queueIndex();
    await this.close();
  }

  /** `finish` on this thread (no worker): every file and the index are written when it returns. */
  finishSync(): void {
    if (this.worker) throw new Error('CompiledFiles: finishSync with a worker; await finish()');
    this.queueIndex();
    this.flush();
    this.closed = true;
  }

  /**
   * The command failed: compiled files not handed over yet are dropped (those already handed to
   * the worker complete), other files (`addFile`: the render cache) are still written, and the
   * index is not updated.
   */
  async abort(): Promise<void> {
    const kept: (number | string)[] = [];
    for (let i = 0; i < this.jobs.length; i += 4) {
      if (this.jobs[i] !== ATOMIC) continue;
      const file = this.jobs[i + 1] as string;
      kept.push(MKDIR, path.dirname(file), 0, 0, ATOMIC, file, this.jobs[i + 2]!, 0);
    }
    this.jobs = kept;
    this.used = 0;
    try {
      await this.close();
    } catch { /* the command's own error is the one to report */ }
  }

  /** The index goes last: it may only list files that are complete. */
  private queueIndex(): void {
    if (!this.dirty) return;
    if (!this.made.has(this.root)) this.jobs.push(MKDIR, this.root, 0, 0);
    this.jobs.push(ATOMIC, this.indexFile, JSON.stringify(this.next), 0);
  }

  /** Folder listing, read once per folder and only when the index could skip a file there. */
  private namesIn(dir: string): Set<string> {
    let names = this.listed.get(dir);
    if (!names) {
      names = new Set();
      if (this.hadIndex) {
        try {
          names = new Set(fs.readdirSync(dir));
          this.made.add(dir);
        } catch { /* not there: every file in it is written */ }
      }
      this.listed.set(dir, names);
    }
    return names;
  }

  /** Hand the queued jobs over: to the worker (with the batch's buffer), or run them now. */
  private flush(): void {
    if (this.onDiskChanged) {
      // The unlisting index must be on disk before any write it is for.
      const pre: (number | string)[] = [];
      if (!this.made.has(this.root)) pre.push(MKDIR, this.root, 0, 0);
      pre.push(ATOMIC, this.indexFile, JSON.stringify(this.onDisk), 0);
      this.jobs = [...pre, ...this.jobs];
      this.onDiskChanged = false;
    }
    if (this.jobs.length === 0) return;
    const jobs = this.jobs;
    const buf = this.used > 0 ? this.buf : undefined;
    this.jobs = [];
    this.files = 0;
    this.used = 0;
    if (this.worker) {
      if (buf) {
        // Transferred, not copied: the next batch gets a new buffer.
        this.buf = undefined;
        const bytes = buf.buffer as ArrayBuffer; // allocUnsafeSlow: its own ArrayBuffer, from offset 0
        this.worker.postMessage([jobs, bytes], [bytes]);
      } else {
        this.worker.postMessage([jobs, null]);
      }
    } else {
      runJobs(jobs, buf);
    }
  }

  private async close(): Promise<void> {
    if (this.closed) return this.done;
    this.flush();
    this.closed = true;
    const w = this.worker;
    if (!w) return;
    // Keep the process alive until the worker has answered (it is unref'd while idle).
    w.ref();
    w.postMessage(null);
    await this.done;
  }

  private startWorker(): void {
    let w: Worker;
    try {
      w = new Worker(WORKER_SOURCE, { eval: true });
    } catch {
      return; // no worker to be had: write on this thread
    }
    // While the command runs, the worker must not keep the process alive on its own (an
    // exception elsewhere would hang it); finish/abort ref it again and wait.
    w.unref();
    this.worker = w;
    this.done = new Promise<void>((resolve, reject) => {
      let answered = false;
      w.once('message', (failed: { message: string; code?: string; path?: string } | null) => {
        answered = true;
        if (!failed) resolve();
        else reject(Object.assign(new Error(`could not write ${failed.path ?? 'a compiled file'}: ${failed.message}`), { code: failed.code, path: failed.path }));
      });
      w.once('error', reject);
      w.once('exit', () => {
        if (!answered) reject(new Error('the compiled-file writer stopped before finishing'));
      });
    });
    // Until someone awaits it, a failure is reported by finish/abort, not as an unhandled rejection.
    this.done.catch(() => undefined);
  }
}

/**
 * Write the compiled files of `nodes` on this thread (the run path: a handful of changed files is
 * the usual case), with the same index and crash guarantees.
 */
export function writeCompiledFiles(targetDir: string, nodes: Iterable<{ readonly id: NodeId; readonly sql: string }>): void {
  const files = CompiledFiles.open(targetDir);
  for (const n of nodes) files.add(n.id, n.sql);
  files.finishSync();
}
