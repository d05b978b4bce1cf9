/**
 * Triggers over landing zones: "batch or stream is a flag, not a rewrite".
 *
 * - `runAvailableNow` (what `lake run` does): one run of the selection, then, while an incremental
 *   model reports files left over by `max_files_per_trigger`, another micro-batch of those models
 *   and their selected descendants — each micro-batch a run of its own with its own batch id, so
 *   `stream()` consumers downstream see every batch exactly once.
 * - `runContinuous` (`lake run --continuous`): the same, then polls the landing folders every
 *   interval and runs the models downstream of the sources that received files. A stop request
 *   (SIGINT/SIGTERM) lets the current batch finish and commit; nothing new starts.
 *
 * The loop lives here, not in the executor, because it is a trigger policy over whole runs: each
 * micro-batch must commit (and advance stream watermarks) before the next one reads.
 */
import type { Adapter } from '../adapter/types.js';
import type { NodeId, SourceNode } from '../core/types.js';
import type { Diagnostic } from '../errors/index.js';
import type { NodeResult, Reporter, RunSummary } from '../reporter/types.js';
import type { RunOptions, RunOutcome, Session } from './session.js';
import { landingBacklog } from '../ingest/backlog.js';
import { liveSource } from '../ingest/hook.js';
import { parseDuration } from '../project/files.js';
import { plural } from '../reporter/reporters.js';
import { mergeRunResults } from './artifacts.js';

export interface AvailableNowOutcome {
  /** Every micro-batch, in order. */
  readonly runs: readonly RunOutcome[];
  /** Each node's last result. */
  readonly results: NodeResult[];
  /** True when any node failed in any micro-batch. */
  readonly failed: boolean;
  /** A stop (Ctrl-C, SIGTERM) left nodes unbuilt or files unread. */
  readonly interrupted: boolean;
  /** Warnings of the nodes (a changed landing file, a folder that matches nothing...): how many. */
  readonly warnings: number;
}

/** Selectors naming exactly these nodes (`schema.name` as the graph knows them, which may differ from the id in dbt projects). */
function selectors(session: Session, ids: readonly NodeId[]): string[] {
  return ids.map((id) => {
    const n = session.dag.node(id);
    return `${n.schema}.${n.name}`;
  });
}

function pendingOf(results: readonly NodeResult[]): NodeId[] {
  return results.filter((r) => r.status === 'success' && Number(r.stats?.pending_files ?? 0) > 0).map((r) => r.id);
}

/** Warnings hooks put in node stats (e.g. a consumed landing file that changed), as diagnostics. */
function reportWarnings(reporter: Reporter, results: readonly NodeResult[]): void {
  const diags: Diagnostic[] = [];
  for (const r of results) {
    const w = r.stats?.warnings;
    if (Array.isArray(w)) for (const m of w) diags.push({ code: 'LAKE-I020', severity: 'warn', node: r.id, message: String(m) });
  }
  if (diags.length) reporter.diagnostics(diags);
}

function merge(into: Map<NodeId, NodeResult>, results: readonly NodeResult[]): void {
  for (const r of results) into.set(r.id, r);
}

/**
 * Micro-batches over `ids` (and what they leave pending) until no selected model reports
 * pending files, a node fails to make progress, or a stop is requested.
 */
async function drain(session: Session, reporter: Reporter, db: Adapter, o: RunOptions, stop: () => boolean, first: RunOutcome, allowed: ReadonlySet<NodeId>, onBatch?: (out: RunOutcome) => Promise<boolean>): Promise<RunOutcome[]> {
  const runs: RunOutcome[] = [first];
  let out = first;
  const left = new Map<NodeId, number>();
  for (;;) {
    if (onBatch && !(await onBatch(out))) break;
    if (stop()) break;
    // A model must consume something each round; one that does not is left alone (never loop forever).
    const pending = pendingOf(out.results).filter((id) => {
      const n = Number(out.results.find((r) => r.id === id)!.stats!.pending_files);
      const progress = !left.has(id) || n < left.get(id)!;
      left.set(id, n);
      return progress;
    });
    if (pending.length === 0) break;
    const ids = [...new Set([...pending, ...session.dag.descendants(pending)])].filter((id) => allowed.has(id) && !id.startsWith('source:'));
    // Later micro-batches continue from what the first one (maybe a full refresh) committed.
    const select = selectors(session, ids);
    out = await session.run(reporter, { ...o, db, select, exclude: undefined, seeds: 'none', fullRefresh: false, extend: o.extendMicroBatch?.(select), laterBatch: true });
    reportWarnings(reporter, out.results);
    runs.push(out);
  }
  return runs;
}

/** `lake run`: everything available now, in micro-batches of at most max_files_per_trigger. */
export async function runAvailableNow(session: Session, reporter: Reporter, o: RunOptions = {}): Promise<AvailableNowOutcome> {
  const opened = o.db ? undefined : await session.openDb(o.command ?? 'run');
  const db = o.db ?? opened!.db;
  try {
    const allowed = new Set(session.select(o));
    const first = await session.run(reporter, { ...o, db });
    reportWarnings(reporter, first.results);
    const runs = await drain(session, reporter, db, o, () => o.stopRequested?.() ?? false, first, allowed);
    const results = new Map<NodeId, NodeResult>();
    for (const r of runs) merge(results, r.results);
    const last = runs[runs.length - 1]!;
    const interrupted = runs.some((r) => r.interrupted) || (!!o.stopRequested?.() && pendingOf(last.results).length > 0);
    // Each micro-batch wrote run_results.json with its own nodes: one file for the whole invocation.
    // Stopped with files left unread, the invocation is cancelled whatever its batches said.
    if (runs.length > 1 || interrupted) {
      const merged = mergeRunResults(runs.map((r) => r.runResults));
      session.writeRunResults(interrupted && merged.status === 'success' ? { ...merged, status: 'cancelled' } : merged);
    }
    const warnings = runs.reduce((n, r) => n + r.results.reduce((m, x) => m + (Array.isArray(x.stats?.warnings) ? x.stats.warnings.length : 0), 0), 0);
    return { runs, results: [...results.values()], failed: runs.some((r) => r.results.some((x) => x.status === 'error')), interrupted, warnings };
  } finally {
    await opened?.release();
  }
}

/** One source's figures after a batch, for the status line. */
export interface SourceStatus {
  readonly source: string;
  /** Files and rows ingested by the last batch (the most any consumer read). */
  readonly files: number;
  readonly rows: number;
  readonly badRecords: number;
  /** Files still waiting, and the age of the oldest (0 when caught up). */
  readonly waiting: number;
  readonly lagMs: number;
}

export interface BatchStatus {
  readonly batch: number;
  readonly batchId?: number;
  readonly nodes: number;
  readonly errors: number;
  readonly sources: readonly SourceStatus[];
  readonly at: Date;
}

export interface ContinuousOptions extends RunOptions {
  readonly intervalMs: number;
  /** Stop after this many batches that received files (all batches when no landing source is selected). */
  readonly maxBatches?: number;
  /** Called after every batch, and after polls that found nothing (with `nodes` 0). */
  readonly status: (s: BatchStatus) => void;
}

export interface ContinuousOutcome {
  readonly batches: number;
  readonly failed: boolean;
  /** The last batch had a failed node (a stop request does not make that a success). */
  readonly lastFailed: boolean;
  /** Stopped after FAILING_BATCHES_LIMIT batches in a row had a failed node. */
  readonly gaveUp: boolean;
}

/**
 * A node that keeps failing (its files stay unread, so every poll finds them again) is retried
 * with a growing wait — the interval doubled after each failed batch, up to 5 minutes — and the
 * run stops, exit 1, after this many failed batches in a row, as a streaming query stops on an
 * error it cannot get past (DLT retries a failed update a few times, then fails it).
 */
export const FAILING_BATCHES_LIMIT = 5;
const MAX_BACKOFF_MS = 5 * 60_000;

/** Landing sources among the selection's upstreams, with the selected models that read each. */
function landingConsumers(session: Session, allowed: ReadonlySet<NodeId>): Map<SourceNode, NodeId[]> {
  const out = new Map<SourceNode, NodeId[]>();
  for (const src of session.project.sources.values()) {
    if (!src.landing) continue;
    const consumers = [...session.compiled.nodes.values()].filter((n) => allowed.has(n.id) && n.landingReads.includes(src.id)).map((n) => n.id);
    if (consumers.length) out.set(src, consumers);
  }
  return out;
}

function fmtStatus(s: BatchStatus): string {
  const t = s.at.toISOString().slice(11, 19);
  const parts = s.sources.map((x) => {
    const lag = x.lagMs < 1000 ? '0s' : x.lagMs < 60_000 ? `${(x.lagMs / 1000).toFixed(1)}s` : `${Math.round(x.lagMs / 60_000)}m`;
    const bad = x.badRecords ? `, ${x.badRecords} bad` : '';
    const wait = x.waiting ? `, ${x.waiting} waiting` : '';
    return `${x.source.replace(/^source:/, '')}: +${plural(x.files, 'file')}, +${plural(x.rows, 'row')}${bad}${wait}, lag ${lag}`;
  });
  const head = s.nodes ? `batch ${s.batch}${s.batchId !== undefined ? ` (#${s.batchId})` : ''}: ${s.nodes} node${s.nodes === 1 ? '' : 's'}${s.errors ? `, ${s.errors} failed` : ''}` : 'idle';
  return `[${t}] ${head}${parts.length ? ` | ${parts.join(' | ')}` : ''}`;
}

/** The status line text of a batch (exported for the CLI and tests). */
export const statusText = fmtStatus;

/** `lake run --continuous`. */
export async function runContinuous(session: Session, reporter: Reporter, o: ContinuousOptions): Promise<ContinuousOutcome> {
  const opened = o.db ? undefined : await session.openDb(o.command ?? 'run');
  session.liveLanding = true;
  const db = o.db ?? opened!.db;
  const stop = () => o.stopRequested?.() ?? false;
  // The current batch always finishes: stop requests are checked between batches only.
  const runOpts: RunOptions = { ...o, db, stopRequested: undefined };
  const allowed = new Set(session.select(o));
  const sources = landingConsumers(session, allowed);
  let batches = 0;
  // Batches that received files: what --max-batches counts (every batch when no landing source is selected).
  let fed = 0;
  let failed = false;
  // Batches in a row with a failed node (0 after a batch without one).
  let failing = 0;
  const room = () => (o.maxBatches === undefined || fed < o.maxBatches) && failing < FAILING_BATCHES_LIMIT;

  const status = async (out: RunOutcome | undefined) => {
    const list: SourceStatus[] = [];
    const now = Date.now();
    for (const [src, consumers] of sources) {
      let files = 0, rows = 0, bad = 0;
      for (const r of out?.results ?? []) {
        const l = (r.stats?.landing as Record<string, { files?: number; rows?: number; bad_records?: number }> | undefined)?.[src.id];
        if (!l) continue;
        files = Math.max(files, l.files ?? 0);
        rows = Math.max(rows, l.rows ?? 0);
        bad = Math.max(bad, l.bad_records ?? 0);
      }
      const b = await landingBacklog(db, session.project.root, src, consumers);
      list.push({ source: src.id, files, rows, badRecords: bad, waiting: b.files, lagMs: b.oldestMtimeMs === undefined ? 0 : Math.max(0, now - b.oldestMtimeMs) });
    }
    const results = out?.results ?? [];
    o.status({ batch: batches, batchId: out?.batchId, nodes: results.length, errors: results.filter((r) => r.status === 'error').length, sources: list, at: new Date() });
  };

  const counted = (out: RunOutcome): boolean => {
    batches++;
    const received = sources.size === 0 || out.results.some((r) => Object.values((r.stats?.landing ?? {}) as Record<string, { files?: number }>).some((l) => (l.files ?? 0) > 0));
    if (received) fed++;
    if (out.results.some((r) => r.status === 'error')) {
      failed = true;
      failing++;
    } else failing = 0;
    return room();
  };

  const batchLoop = async (ids: readonly NodeId[] | undefined) => {
    const first = await session.run(reporter, { ...runOpts, ...(ids ? { select: selectors(session, ids), exclude: undefined, seeds: 'none' as const } : {}) });
    reportWarnings(reporter, first.results);
    // Status after each micro-batch: drain calls back before deciding on the next one.
    await drain(session, reporter, db, runOpts, stop, first, allowed, async (out) => {
      const more = counted(out);
      await status(out);
      return more;
    });
  };

  try {
    await batchLoop(undefined);
    while (!stop() && room()) {
      await sleep(failing ? Math.min(o.intervalMs * 2 ** failing, Math.max(o.intervalMs, MAX_BACKOFF_MS)) : o.intervalMs, stop);
      if (stop()) break;
      const ids = new Set<NodeId>();
      for (const [src, consumers] of sources) {
        const b = await landingBacklog(db, session.project.root, liveSource(src), consumers);
        for (const c of b.consumers) ids.add(c);
      }
      if (ids.size === 0) {
        await status(undefined);
        continue;
      }
      const reach = [...new Set([...ids, ...session.dag.descendants([...ids])])].filter((id) => allowed.has(id) && !id.startsWith('source:'));
      await batchLoop(reach);
    }
    const gaveUp = failing >= FAILING_BATCHES_LIMIT;
    if (gaveUp) reporter.error(`stopping: ${FAILING_BATCHES_LIMIT} batches in a row had a failed node (the errors are above); fix it and run again`);
    return { batches, failed, lastFailed: failing > 0, gaveUp };
  } finally {
    session.liveLanding = false;
    await opened?.release();
  }
}

/** Sleep `ms`, waking early (within 100 ms) when `stop()` turns true. */
async function sleep(ms: number, stop: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !stop()) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}

/**
 * A reporter for continuous runs: successful nodes and run headers stay quiet (the status line
 * says what happened); failures, skips, diagnostics and errors go through, after `clear()` so a
 * rewritten status line is not mixed into them.
 */
export class QuietReporter implements Reporter {
  constructor(private readonly inner: Reporter, private readonly clear: () => void = () => {}) {}
  diagnostics(list: readonly Diagnostic[]): void { this.clear(); this.inner.diagnostics(list); }
  runStart(): void {}
  nodeStart(): void {}
  nodeEnd(r: NodeResult, index: number, total: number): void {
    if (r.status === 'success') return;
    this.clear();
    this.inner.nodeEnd(r, index, total);
  }
  runEnd(_s: RunSummary): void {}
  info(text: string): void { this.clear(); this.inner.info(text); }
  record(kind: string, data: Readonly<Record<string, unknown>>, text?: string): void { this.clear(); this.inner.record(kind, data, text); }
  error(text: string): void { this.clear(); this.inner.error(text); }
}

/** `--interval 10s` → ms (a bare number is seconds); undefined when it is not a duration. */
export function parseInterval(text: string): number | undefined {
  const ms = parseDuration(text);
  return ms !== undefined && ms > 0 ? ms : undefined;
}
