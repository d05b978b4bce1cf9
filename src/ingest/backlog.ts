/**
 * What is waiting in a landing zone: complete files that some consuming model has not read yet.
 * `lake run --continuous` polls this to decide which models to run, and reports the age of the
 * oldest waiting file as the source's lag.
 */
import type { Adapter } from '../adapter/types.js';
import type { SourceNode } from '../core/types.js';
import { discover } from './files.js';

export interface Backlog {
  readonly source: string;
  /** Files at least one consumer has not consumed. */
  readonly files: number;
  /** mtime of the oldest of them (ms since the epoch). */
  readonly oldestMtimeMs?: number;
  /** Consumers with something to read. */
  readonly consumers: readonly string[];
}

/** The backlog of `src` for the given consuming models. */
export async function landingBacklog(db: Adapter, root: string, src: SourceNode, consumers: readonly string[]): Promise<Backlog> {
  const found = await discover(db, root, src.landing!);
  if (found.files.length === 0 || consumers.length === 0) return { source: src.id, files: 0, consumers: [] };
  const held = new Map<string, Set<string>>(consumers.map((c) => [c, new Set<string>()]));
  const ledger = await db.query<{ c: string; p: string }>(
    `select consumer as c, path as p from _lake.files where source = $1`, [src.id],
  ).catch(() => [] as { c: string; p: string }[]); // no ledger yet: nothing consumed
  for (const r of ledger) held.get(r.c)?.add(r.p);
  const waiting = found.files.filter((f) => consumers.some((c) => !held.get(c)!.has(f.rel)));
  const who = consumers.filter((c) => found.files.some((f) => !held.get(c)!.has(f.rel)));
  return { source: src.id, files: waiting.length, oldestMtimeMs: waiting[0]?.mtimeMs, consumers: who };
}
