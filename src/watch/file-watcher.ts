/**
 * The file watcher of `lake watch`: chokidar (imported here only) over the project files and
 * folders, with a short debounce. Editors write a file in bursts (truncate then write, or write a
 * temp file and rename it), within a few milliseconds, so events are collected until the folder
 * has been quiet for `debounceMs`, then handed over as one batch of paths. A burst that never goes
 * quiet is still flushed after `maxWaitMs`, so a busy folder cannot starve the rebuild. (A burst
 * split anyway is caught by the loop: a file found missing or empty gets a grace period.)
 */
import * as path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';

export interface FileWatcherOptions {
  /** Files and folders to watch (absolute; missing ones are picked up when they appear). */
  readonly targets: readonly string[];
  /** Quiet time after the last event before a batch is flushed (ms). */
  readonly debounceMs: number;
  /** Longest a batch waits after its first event (ms). */
  readonly maxWaitMs: number;
  /** Paths to skip entirely (the target folder, dot folders...). */
  readonly ignored: (absPath: string) => boolean;
  /** Receives each debounced batch of absolute paths. */
  readonly onBatch: (paths: string[]) => void;
  readonly onError: (e: Error) => void;
}

/** chokidar plus debouncing; `start` resolves once the initial scan is done. */
export class FileWatcher {
  private readonly watcher: FSWatcher;
  private readonly pending = new Set<string>();
  private quiet: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private watched: Set<string>;
  private closed = false;

  private constructor(private readonly o: FileWatcherOptions) {
    this.watched = new Set(o.targets);
    this.watcher = chokidar.watch([...o.targets], {
      ignoreInitial: true,
      // Polling would add its interval to every save; inotify/FSEvents report within a millisecond.
      usePolling: false,
      awaitWriteFinish: false,
      // chokidar's atomic-save handling holds deletions back 100 ms; the loop looks at what is on disk anyway.
      atomic: false,
      ignored: (p: string) => o.ignored(p),
      disableGlobbing: true,
    });
    this.watcher.on('all', (_event, p) => this.event(p));
    // chokidar drops a second 'change' of a path within 50 ms of the first, and editors do write
    // twice that fast (save, then format-on-save): the raw fs.watch events are not throttled.
    this.watcher.on('raw', (_event: string, p: string, details: unknown) => {
      const abs = rawPath(p, details);
      if (abs && !o.ignored(abs)) this.event(abs);
    });
    this.watcher.on('error', (e) => o.onError(e as Error));
  }

  static async start(o: FileWatcherOptions): Promise<FileWatcher> {
    const w = new FileWatcher(o);
    await new Promise<void>((resolve) => w.watcher.once('ready', () => resolve()));
    return w;
  }

  /** Change the watched set (after project.yml moved a folder). */
  setTargets(targets: readonly string[]): void {
    const next = new Set(targets);
    const added = [...next].filter((t) => !this.watched.has(t));
    const removed = [...this.watched].filter((t) => !next.has(t));
    if (removed.length) this.watcher.unwatch(removed);
    if (added.length) this.watcher.add(added);
    this.watched = next;
  }

  private event(p: string): void {
    if (this.closed) return;
    this.pending.add(p);
    if (this.quiet) clearTimeout(this.quiet);
    this.quiet = setTimeout(() => this.flush(), this.o.debounceMs);
    this.deadline ??= setTimeout(() => this.flush(), this.o.maxWaitMs);
  }

  private flush(): void {
    if (this.quiet) clearTimeout(this.quiet);
    if (this.deadline) clearTimeout(this.deadline);
    this.quiet = this.deadline = undefined;
    if (this.pending.size === 0 || this.closed) return;
    const batch = [...this.pending];
    this.pending.clear();
    this.o.onBatch(batch);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.quiet) clearTimeout(this.quiet);
    if (this.deadline) clearTimeout(this.deadline);
    await this.watcher.close();
  }
}

/** The absolute path a raw fs.watch event is about (`p` is a name in the watched folder, or the watched file). */
function rawPath(p: unknown, details: unknown): string | undefined {
  if (typeof p !== 'string' || p === '') return undefined;
  if (path.isAbsolute(p)) return p;
  const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
  if (typeof watched !== 'string') return undefined;
  if (path.basename(watched) === p) return watched;
  return path.join(watched, p);
}
