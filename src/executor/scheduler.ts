/**
 * Runs selected nodes in graph order with N connections: a node starts when its selected parents
 * have finished; a failure skips its descendants and the rest goes on (or, with --fail-fast,
 * nothing new starts). Every result is reported as it comes and recorded in `_lake.node_runs` at the end (in few statements).
 */
import type { Adapter } from '../adapter/types.js';
import type { NodeId } from '../core/types.js';
import type { Dag } from '../graph/index.js';
import type { NodeResult, Reporter } from '../reporter/types.js';
import { recordNodes } from './state.js';

export interface Job {
  readonly id: NodeId;
  readonly materialized: string;
  readonly compiledPath?: string;
  run(db: Adapter): Promise<{ rows?: number; stats?: Record<string, unknown> }>;
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
  readonly runId: string;
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
  let failed = false;
  // Workers get their own connections: `o.db` records results and must stay outside their transactions.
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
      running++;
      o.reporter.nodeStart(id, finished + 1, total);
      const startedAt = new Date().toISOString();
      const t0 = performance.now();
      let r: NodeResult;
      try {
        const out = await job.run(conn);
        r = { id, status: 'success', materialized: job.materialized, rows: out.rows, stats: out.stats, startedAt, durationMs: performance.now() - t0 };
      } catch (e) {
        r = { id, status: 'error', materialized: job.materialized, startedAt, durationMs: performance.now() - t0, error: (e as Error).message, compiledPath: job.compiledPath };
      }
      running--;
      await finish(r);
      if (r.status === 'error') {
        failed = true;
        await skipDescendants(id, `skipped: ${id} failed`);
      } else {
        for (const c of o.dag.children(id)) {
          if (!pending.has(c) || pending.get(c)! < 0) continue;
          const left = pending.get(c)! - 1;
          pending.set(c, left);
          if (left === 0) ready.push(c);
        }
      }
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
  const ordered = o.order.map((id) => results.get(id)!);
  await recordNodes(o.db, o.runId, ordered);
  return ordered;
}
