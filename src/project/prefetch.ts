/**
 * Reading a big project's model files with help from worker threads.
 *
 * `fs.readFileSync` of 10,000 small files keeps the main thread ~100 ms in the kernel when they
 * are in the page cache, and about a second when they are not (a cold cache, or a VM that
 * reclaims it within a minute). The loader is synchronous and reads the files in a known order:
 * it goes on reading them itself, from the front, while two readers read from the back (alternate
 * batches: two more reads in flight) and hand their batches over. The loader never waits for a
 * reader (a worker takes ~30 ms to start, longer than a warm read of a thousand files): a file
 * whose batch has not arrived is read here; the readers stop where the loader has got to. A
 * file a reader could not read is read again here, so a missing or unreadable file fails exactly
 * as it did.
 */
import * as fs from 'node:fs';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

/** Below this many files the readers' start (~30 ms of CPU each, on a second core the loader may need) costs more than they save. */
export const PREFETCH_MIN_FILES = 5000;

/** Readers besides the loader itself. */
const READERS = 2;

/** Files per message: few messages, and the first batch arrives early. */
const BATCH = 64;

/**
 * A reader (CommonJS, run with `eval`): reads its batches (the `first`-th from the end, then every
 * `step`-th going back), posts each as [first index, texts] (null for a file it could not read),
 * and stops at the first batch the loader has already reached (shared[0]: the loader's position).
 */
const WORKER_SOURCE = `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const { files, port, shared, first, step } = workerData;
const at = new Int32Array(shared);
const batches = Math.ceil(files.length / ${BATCH});
for (let b = batches - 1 - first; b >= 0; b -= step) {
  const start = b * ${BATCH};
  if (Atomics.load(at, 0) >= start) break;
  const texts = [];
  for (let i = start; i < Math.min(files.length, start + ${BATCH}); i++) {
    try { texts.push(fs.readFileSync(files[i], 'utf8')); } catch { texts.push(null); }
  }
  port.postMessage([start, texts]);
}
port.close();
`;

export class FilePrefetch {
  private readonly index = new Map<string, number>();
  private readonly texts: (string | null | undefined)[];
  /** Per file: a reader's batch holding it has arrived. */
  private readonly arrived: Uint8Array;
  /** Lowest index of any batch that has arrived: from there on, a file is likely to be in. */
  private frontier = Infinity;
  /** Files handed over by a reader rather than read here. */
  fromReaders = 0;

  private constructor(files: readonly string[], private readonly readers: readonly { worker: Worker; port: MessagePort }[], private readonly position: Int32Array | undefined) {
    files.forEach((f, i) => this.index.set(f, i));
    this.texts = new Array(files.length);
    this.arrived = new Uint8Array(files.length);
  }

  /** Starts the readers on `files` (absolute paths); below PREFETCH_MIN_FILES, or without workers, every read stays on this thread. */
  static start(files: readonly string[], minFiles = PREFETCH_MIN_FILES): FilePrefetch {
    if (files.length < minFiles) return new FilePrefetch([], [], undefined);
    const shared = new SharedArrayBuffer(4);
    const readers: { worker: Worker; port: MessagePort }[] = [];
    for (let r = 0; r < READERS; r++) {
      const { port1, port2 } = new MessageChannel();
      try {
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { files, port: port2, shared, first: r, step: READERS }, transferList: [port2] });
        // The command must not wait for a reader nobody needs any more (a load that failed early).
        worker.unref();
        worker.on('error', () => undefined);
        readers.push({ worker, port: port1 });
      } catch {
        port1.close();
        break; // the loader reads what the readers that started do not
      }
    }
    return new FilePrefetch(files, readers, new Int32Array(shared));
  }

  /**
   * The text of `file` as `fs.readFileSync(file, 'utf8')` gives it (read here unless a reader
   * already has); throws as that does for a file that cannot be read.
   */
  text(file: string): string {
    const i = this.index.get(file);
    if (i === undefined || !this.position) return fs.readFileSync(file, 'utf8');
    // Tell the readers where the loader is (they stop there), and take what they sent.
    Atomics.store(this.position, 0, i);
    if (i >= this.frontier || i % BATCH === 0) this.drain();
    const t = this.arrived[i] ? this.texts[i] : undefined;
    this.texts[i] = undefined; // each file is read once: let it go with its node
    if (typeof t !== 'string') return fs.readFileSync(file, 'utf8');
    this.fromReaders++;
    return t;
  }

  /** Stops the readers (if still reading) and lets their ports go. */
  close(): void {
    if (this.position) Atomics.store(this.position, 0, this.texts.length);
    for (const { worker, port } of this.readers) {
      port.close();
      void worker.terminate();
    }
  }

  /** Takes every batch already posted. */
  private drain(): void {
    for (const { port } of this.readers) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const [start, texts] = m.message as [number, (string | null)[]];
        for (let k = 0; k < texts.length; k++) {
          this.texts[start + k] = texts[k];
          this.arrived[start + k] = 1;
        }
        if (start < this.frontier) this.frontier = start;
      }
    }
  }
}
