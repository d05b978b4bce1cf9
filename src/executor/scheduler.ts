/**
 * Runs selected nodes in graph order with N connections: a node starts when its selected parents
 * have finished; a failure skips its descendants and the rest goes on (or, with --fail-fast,
 * nothing new starts). Every result is reported as it comes; the caller records them (`finishRun`).
 */
import type { Adapter } from '../adapter/types.js';
import type { NodeId } from '../core/types.js';
import type { Dag } from '../graph/index.js';
import type { NodeResult, Reporter } from '../reporter/types.js';

export interface Job {
  readonly id: NodeId;
  readonly materialized: string;
  readonly compiledPath?: string;
  run(db: Adapter): Promise<{ rows?: number; stats?: Record<string, unknown>; logs?: readonly string[] }>;
  /**
   * The one statement that builds the node when it needs nothing around it (see `quickViewSql`),
   * else undefined. Ready nodes that have one are sent to the engine together, in one transaction.
   */
  batchSql?(db: Adapter): string | undefined;
}

export interface ScheduleOptions {
  readonly db: Adapter;
  readonly dag: Dag;
  readonly jobs: ReadonlyMap<NodeId, Job>;
  /** Topological order of the jobs. */
  readonly order: readonly NodeId[];
  readonly threads: number;
  readonly failFast: boolean;
  readonly reporter: Reporter;
  /** Returns true when the user asked to stop (SIGINT): nothing new starts. */
  readonly stopRequested?: () => boolean;
}

export async function schedule(o: ScheduleOptions): Promise<NodeResult[]> {
  const total = o.order.length;
  const results = new Map<NodeId, NodeResult>();
  const pending = new Map<NodeId, number>();
  const selected = new Set(o.order);
  for (const id of o.order) pending.set(id, o.dag.parents(id).filter((p) => selected.has(p)).length);
  const ready: NodeId[] = o.order.filter((id) => pending.get(id) === 0);
  let finished = 0;
  // Start ordinals (node_start: the nth node started); node_end carries the nth finished.
  let started = 0;
  let failed = false;
  // Workers get their own connections: `o.db` (the caller's, which records the run) stays outside their transactions.
  const conns: Adapter[] = [];
  for (let i = 0; i < Math.max(1, Math.min(o.threads, total)); i++) conns.push(await o.db.fork());

  const finish = async (r: NodeResult): Promise<void> => {
    if (results.has(r.id)) return;
    results.set(r.id, r);
    finished++;
    o.reporter.nodeEnd(r, finished, total);
  };

  const skipDescendants = async (id: NodeId, reason: string) => {
    for (const d of o.dag.descendants(id)) {
      if (!selected.has(d) || results.has(d)) continue;
      pending.set(d, -1);
      await finish({ id: d, status: 'skipped', materialized: o.jobs.get(d)!.materialized, startedAt: new Date().toISOString(), durationMs: 0, message: reason });
    }
  };

  const runOne = async (conn: Adapter, id: NodeId, job: Job): Promise<NodeResult> => {
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    try {
      const out = await job.run(conn);
      return { id, status: 'success', materialized: job.materialized, rows: out.rows, stats: out.stats, ...(out.logs?.length ? { logs: out.logs } : {}), startedAt, durationMs: performance.now() - t0 };
    } catch (e) {
      return { id, status: 'error', materialized: job.materialized, startedAt, durationMs: performance.now() - t0, error: (e as Error).message, compiledPath: job.compiledPath };
    }
  };

  /** Report a result and release (or skip) the node's children. */
  const settle = async (r: NodeResult): Promise<void> => {
    await finish(r);
    if (r.status === 'error') {
      failed = true;
      await skipDescendants(r.id, `skipped: ${r.id} failed`);
    } else {
      for (const c of o.dag.children(r.id)) {
        if (!pending.has(c) || pending.get(c)! < 0) continue;
        const left = pending.get(c)! - 1;
        pending.set(c, left);
        if (left === 0) ready.push(c);
      }
    }
  };

  let wake: (() => void) | undefined;
  const signal = () => { const w = wake; wake = undefined; w?.(); };

  const worker = async (conn: Adapter) => {
    for (;;) {
      const stop = (failed && o.failFast) || (o.stopRequested?.() ?? false);
      if (stop) return;
      const id = ready.shift();
      if (id === undefined) {
        if (finished >= total) return;
        if (ready.length === 0 && [...pending.values()].every((v) => v !== 0) && running === 0) return;
        await new Promise<void>((res) => { const prev = wake; wake = () => { prev?.(); res(); }; });
        continue;
      }
      const job = o.jobs.get(id)!;
      const sql = o.stopRequested?.() ? undefined : job.batchSql?.(conn);
      running++;
      if (sql !== undefined) {
        // Every other ready node that is one statement goes with it: none depends on another (all are ready).
        const batch: { id: NodeId; job: Job; sql: string }[] = [{ id, job, sql }];
        for (let i = 0; i < ready.length; ) {
          const other = o.jobs.get(ready[i]!)!;
          const s = other.batchSql?.(conn);
          if (s === undefined) { i++; continue; }
          batch.push({ id: ready[i]!, job: other, sql: s });
          ready.splice(i, 1);
        }
        for (const b of batch) o.reporter.nodeStart(b.id, ++started, total);
        const startedAt = new Date().toISOString();
        const t0 = performance.now();
        let ok = true;
        try {
          await conn.transaction((tx) => tx.execute(batch.map((b) => b.sql).join(';\n')));
        } catch {
          ok = false;
        }
        const each = (performance.now() - t0) / batch.length;
        for (const b of batch) {
          if (!ok && failed && o.failFast) break; // the rest are reported as skipped at the end
          // On an error the batch rolled back: each node is built again on its own, which names the failing one.
          const r = ok ? { id: b.id, status: 'success' as const, materialized: b.job.materialized, startedAt, durationMs: each, stats: {} } : await runOne(conn, b.id, b.job);
          await settle(r);
        }
      } else {
        o.reporter.nodeStart(id, ++started, total);
        await settle(await runOne(conn, id, job));
      }
      running--;
      signal();
    }
  };
  let running = 0;
  await Promise.all(conns.map((c) => worker(c)));
  for (const c of conns) await c.close();
  for (const id of o.order) {
    if (!results.has(id)) {
      const why = o.stopRequested?.() ? 'skipped: interrupted' : 'skipped: --fail-fast after an error';
      await finish({ id, status: 'skipped', materialized: o.jobs.get(id)!.materialized, startedAt: new Date().toISOString(), durationMs: 0, message: why });
    }
  }
  return o.order.map((id) => results.get(id)!);
}
