/**
 * Reading a big project's model files on worker threads while the loader does its other work.
 *
 * `fs.readFileSync` of 10,000 small files keeps the main thread ~100 ms in the kernel when they
 * are in the page cache, and about a second when they are not (a cold cache, or a VM that
 * reclaims it within a minute). The loader is synchronous and reads the files in a known order,
 * so two readers read them ahead of it (alternate batches: two reads in flight) and hand them over
 * in batches; `text(file)` blocks (Atomics.wait) only when the loader catches up with them. A file
 * a reader could not read is read again on this thread, so a missing or unreadable file fails
 * exactly as it did.
 */
import * as fs from 'node:fs';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

/** Below this many files the readers' start (~30 ms of CPU each) costs more than they save. */
export const PREFETCH_MIN_FILES = 300;

/**
 * Readers: with two reads in flight a cold page cache is read about twice as fast, and with a warm
 * one each reader has half the files.
 */
const READERS = 2;

/** Files per message: few messages, and the first batch arrives early. */
const BATCH = 64;

/**
 * A reader (CommonJS, run with `eval`): reads its batches (the `first`-th, then every `step`-th) in
 * order, posts each as [first index, texts] (null for a file it could not read), then bumps the
 * shared counter so a waiting loader wakes up.
 */
const WORKER_SOURCE = `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const { files, port, counter, first, step } = workerData;
const n = new Int32Array(counter);
for (let start = first * ${BATCH}; start < files.length; start += step * ${BATCH}) {
  const texts = [];
  for (let i = start; i < Math.min(files.length, start + ${BATCH}); i++) {
    try { texts.push(fs.readFileSync(files[i], 'utf8')); } catch { texts.push(null); }
  }
  port.postMessage([start, texts]);
  Atomics.add(n, 0, 1);
  Atomics.notify(n, 0);
}
port.close();
`;

export class FilePrefetch {
  private readonly index = new Map<string, number>();
  private readonly texts: (string | null | undefined)[];
  /** Per file: its batch has arrived (batches of different readers arrive in any order). */
  private readonly arrived: Uint8Array;
  /** The readers went quiet for a second: every later file is read on this thread. */
  private stalled = false;

  private constructor(files: readonly string[], private readonly readers: readonly { worker: Worker; port: MessagePort }[], private readonly counter: Int32Array | undefined) {
    files.forEach((f, i) => this.index.set(f, i));
    this.texts = new Array(files.length);
    this.arrived = new Uint8Array(files.length);
  }

  /** Starts reading `files` (absolute paths) in the background; below PREFETCH_MIN_FILES, or without workers, reads stay on this thread. */
  static start(files: readonly string[]): FilePrefetch {
    if (files.length < PREFETCH_MIN_FILES) return new FilePrefetch([], [], undefined);
    const shared = new SharedArrayBuffer(4);
    const readers: { worker: Worker; port: MessagePort }[] = [];
    for (let r = 0; r < READERS; r++) {
      const { port1, port2 } = new MessageChannel();
      try {
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { files, port: port2, counter: shared, first: r, step: READERS }, transferList: [port2] });
        // The command must not wait for a reader nobody needs any more (a load that failed early).
        worker.unref();
        worker.on('error', () => undefined);
        readers.push({ worker, port: port1 });
      } catch {
        port1.close();
        for (const x of readers) { x.port.close(); void x.worker.terminate(); }
        return new FilePrefetch([], [], undefined);
      }
    }
    return new FilePrefetch(files, readers, new Int32Array(shared));
  }

  /**
   * The text of `file` as `fs.readFileSync(file, 'utf8')` gives it; throws as that does for a file
   * a reader could not read (or was not asked to).
   */
  text(file: string): string {
    const i = this.index.get(file);
    if (i === undefined || !this.counter || this.stalled) return fs.readFileSync(file, 'utf8');
    while (!this.arrived[i]) {
      const seen = Atomics.load(this.counter, 0);
      if (!this.drain() && Atomics.wait(this.counter, 0, seen, 1000) === 'timed-out' && !this.drain()) {
        // Nothing new for a second (a dead reader, a very slow disk): stop waiting for them.
        this.stalled = true;
        this.close();
        return fs.readFileSync(file, 'utf8');
      }
    }
    const t = this.texts[i];
    this.texts[i] = undefined; // each file is read once: let it go with its node
    return typeof t === 'string' ? t : fs.readFileSync(file, 'utf8');
  }

  /** Stops the readers (if still reading) and lets their ports go. */
  close(): void {
    for (const { worker, port } of this.readers) {
      port.close();
      void worker.terminate();
    }
  }

  /** Takes every batch already posted; false when there was none. */
  private drain(): boolean {
    let any = false;
    for (const { port } of this.readers) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const [start, texts] = m.message as [number, (string | null)[]];
        for (let k = 0; k < texts.length; k++) {
          this.texts[start + k] = texts[k];
          this.arrived[start + k] = 1;
        }
        any = true;
      }
    }
    return any;
  }
}
