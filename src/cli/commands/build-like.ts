/** `lake run` (once, or `--continuous`), `lake seed`, `lake snapshot`: build nodes of the selection. */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect, INTERRUPTED, withInterrupt } from '../context.js';
import { LakeError } from '../../errors/index.js';
import { parseEventTime } from '../../core/event-time.js';

export interface RunFlags {
  select?: string[]; exclude?: string[]; fullRefresh?: boolean; failFast?: boolean;
  continuous?: boolean; interval?: string; maxBatches?: string;
  eventTimeStart?: string; eventTimeEnd?: string; empty?: boolean;
}

export const EMPTY_HELP = "dbt's --empty: build every selected model from zero rows of its refs and sources (checks the SQL and creates the tables' columns; landing files are not read, existing snapshots are not taken)";

/** dbt's `flags` for the templates of a command. */
export function templateFlags(which: string, flags: { fullRefresh?: boolean; empty?: boolean; failFast?: boolean; storeFailures?: boolean }): Record<string, unknown> {
  return { WHICH: which, FULL_REFRESH: !!flags.fullRefresh, EMPTY: !!flags.empty, FAIL_FAST: !!flags.failFast, STORE_FAILURES: !!flags.storeFailures };
}

export const EVENT_TIME_START_HELP = 'microbatch models build the batches from this time (UTC, e.g. 2024-09-01); with --event-time-end';
export const EVENT_TIME_END_HELP = 'microbatch models build the batches up to this time (UTC, exclusive); with --event-time-start';

/** dbt's --event-time-start / --event-time-end: both or neither, start before end. */
export function eventTimeRange(flags: { eventTimeStart?: string; eventTimeEnd?: string }): { start: Date; end: Date } | undefined {
  const { eventTimeStart: a, eventTimeEnd: b } = flags;
  if (a === undefined && b === undefined) return undefined;
  if (a === undefined || b === undefined) {
    throw new LakeError('usage', { code: 'LAKE-U034', severity: 'error', message: `${a === undefined ? '--event-time-end' : '--event-time-start'} needs ${a === undefined ? '--event-time-start' : '--event-time-end'} too`, hint: 'give the range microbatch models rebuild, e.g. --event-time-start 2024-09-01 --event-time-end 2024-09-04' });
  }
  const start = parseEventTime(a);
  const end = parseEventTime(b);
  const bad = start === undefined ? ['--event-time-start', a] : end === undefined ? ['--event-time-end', b] : undefined;
  if (bad) throw new LakeError('usage', { code: 'LAKE-U034', severity: 'error', message: `${bad[0]} '${bad[1]}' is not a date or timestamp`, hint: 'write it as 2024-09-01 or 2024-09-01 10:00:00 (UTC unless it ends with an offset such as +02:00)' });
  if (start!.getTime() >= end!.getTime()) throw new LakeError('usage', { code: 'LAKE-U034', severity: 'error', message: `--event-time-start (${a}) must be before --event-time-end (${b})`, hint: 'the range is start (included) to end (excluded)' });
  return { start: start!, end: end! };
}

/** The flags' event-time range as run_results.json's args keep it (for lake retry). */
export function eventTimeArgs(flags: { eventTimeStart?: string; eventTimeEnd?: string }): Record<string, string> {
  return flags.eventTimeStart !== undefined && flags.eventTimeEnd !== undefined ? { event_time_start: flags.eventTimeStart, event_time_end: flags.eventTimeEnd } : {};
}

export function registerRun(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('run')
    .description('build the selected models (and missing seeds) in graph order; landing zones are read to the end in micro-batches')
    .option('-s, --select <selector...>', 'nodes to build (repeatable; space = union, comma = intersection)', collect)
    .option('--exclude <selector...>', 'nodes to leave out', collect)
    .option('-f, --full-refresh', 'rebuild incremental models from scratch')
    .option('-x, --fail-fast', 'stop starting new nodes after the first error')
    .option('--event-time-start <time>', EVENT_TIME_START_HELP)
    .option('--event-time-end <time>', EVENT_TIME_END_HELP)
    .option('--empty', EMPTY_HELP)
    .option('--continuous', 'keep watching the landing folders and run the models downstream of sources that receive files')
    .option('--interval <duration>', 'with --continuous: how often to look for new files (e.g. 10s, 500ms; default 10s)')
    .option('--max-batches <n>', 'with --continuous: stop after N batches that received files (polls that find nothing do not count; plain lake run processes what is there and stops)')
    .action((flags: RunFlags) => setCode(flags.continuous ? continuousCommand(ctx(), flags) : runCommand(ctx(), flags, 'run')));
  program.command('seed')
    .description('load seeds/*.csv into tables')
    .option('-s, --select <selector...>', 'seeds to load', collect)
    .option('--exclude <selector...>', 'seeds to leave out', collect)
    // dbt's: a seed's table is rebuilt from its CSV on every load, so --full-refresh changes only flags.FULL_REFRESH.
    .option('-f, --full-refresh', "dbt's: accepted (lake rebuilds a seed's table from its CSV on every load); flags.FULL_REFRESH is true in its hooks")
    .option('-x, --fail-fast', 'stop starting new seeds after the first error')
    .action((flags: RunFlags) => setCode(runCommand(ctx(), flags, 'seed')));
  program.command('snapshot')
    .description("take dbt snapshots: record each snapshot's changed, new (and with hard_deletes, deleted) rows as new versions")
    .option('-s, --select <selector...>', 'snapshots to take', collect)
    .option('--exclude <selector...>', 'snapshots to leave out', collect)
    .option('-x, --fail-fast', 'stop starting new snapshots after the first error')
    .action((flags: RunFlags) => setCode(runCommand(ctx(), flags, 'snapshot')));
}

export async function runCommand(c: CommandContext, given: RunFlags, command: 'run' | 'seed' | 'snapshot'): Promise<number> {
  let flags = given;
  // Flags of --continuous alone would be ignored: say so instead.
  const orphan = flags.interval !== undefined ? '--interval' : flags.maxBatches !== undefined ? '--max-batches' : undefined;
  if (orphan) throw new LakeError('usage', { code: 'LAKE-U033', severity: 'error', message: `${orphan} applies to lake run --continuous only`, hint: `add --continuous (lake run processes what is there now and stops by itself)` });
  const eventTime = eventTimeRange(flags);
  const s = await c.session({ empty: !!flags.empty, flags: templateFlags(command, flags) });
  flags = c.selection(s, flags);
  return withInterrupt(c, async (stopRequested) => {
    if (command === 'seed' || command === 'snapshot') {
      // `lake seed -s x` means the seeds among x (and `lake snapshot -s x` the snapshots).
      const kind = `resource_type:${command}`;
      const sel = (flags.select ?? ['']).map((x) => (x ? `${x},${kind}` : kind));
      const out = await s.run(c.reporter, { select: sel, exclude: flags.exclude, fullRefresh: flags.fullRefresh, failFast: flags.failFast, command, seeds: command === 'seed' ? 'all' : 'none', snapshots: command === 'snapshot' ? 'all' : 'none', stopRequested, invocation: c.invocation() });
      return out.results.some((r) => r.status === 'error') ? 1 : out.interrupted ? INTERRUPTED : 0;
    }
    const { runAvailableNow } = await import('../../app/continuous.js');
    const out = await runAvailableNow(s, c.reporter, {
      select: flags.select, exclude: flags.exclude, fullRefresh: flags.fullRefresh, failFast: flags.failFast, ...(eventTime ? { eventTime } : {}),
      threads: c.threads(), command, seeds: 'missing', stopRequested, invocation: { ...c.invocation(), ...eventTimeArgs(flags), ...(flags.empty ? { empty: true } : {}) }, defer: !!c.opts.defer,
    });
    return out.failed || c.warnedAsError(out.warnings) ? 1 : out.interrupted ? INTERRUPTED : 0;
  }, () => s.abortRunResults());
}

async function continuousCommand(c: CommandContext, flags: RunFlags): Promise<number> {
  if (flags.empty || flags.eventTimeStart !== undefined || flags.eventTimeEnd !== undefined) {
    const flag = flags.empty ? '--empty' : flags.eventTimeStart !== undefined ? '--event-time-start' : '--event-time-end';
    throw new LakeError('usage', { code: 'LAKE-U033', severity: 'error', message: `${flag} does not go with --continuous`, hint: `${flag} applies to one run of the models; drop it, or drop --continuous` });
  }
  const { runContinuous, parseInterval, QuietReporter, statusText } = await import('../../app/continuous.js');
  const intervalMs = parseInterval(flags.interval ?? '10s');
  if (intervalMs === undefined) {
    throw new LakeError('usage', { code: 'LAKE-U030', severity: 'error', message: `--interval must be a duration, not ${flags.interval}`, hint: 'e.g. --interval 10s, --interval 500ms, --interval 1m' });
  }
  let maxBatches: number | undefined;
  if (flags.maxBatches !== undefined) {
    maxBatches = Number(flags.maxBatches);
    if (!Number.isInteger(maxBatches) || maxBatches < 1) {
      throw new LakeError('usage', { code: 'LAKE-U031', severity: 'error', message: `--max-batches must be a positive integer, not ${flags.maxBatches}`, hint: 'e.g. --max-batches 10' });
    }
  }
  const s = await c.session();
  // A TTY with text output gets one status line rewritten in place; otherwise a line per batch.
  const tty = c.opts.logFormat !== 'json' && !!process.stdout.isTTY;
  let dirty = false;
  const clear = () => {
    if (tty && dirty) process.stdout.write('\r\x1b[2K');
    dirty = false;
  };
  const reporter = c.opts.logFormat === 'json' ? c.reporter : new QuietReporter(c.reporter, clear);
  let stop = false;
  const onSig = (sig: NodeJS.Signals) => {
    if (stop) {
      c.reporter.error('aborted: the batch\'s running nodes stopped without committing (each table is as it was before them); the next run reads their files again');
      process.exit(130);
    }
    stop = true;
    clear();
    c.reporter.error(`${sig}: finishing the current batch, then stopping (again to abort)`);
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  try {
    const out = await runContinuous(s, reporter, {
      select: flags.select, exclude: flags.exclude, fullRefresh: flags.fullRefresh, threads: c.threads(), command: 'run', seeds: 'missing',
      intervalMs, maxBatches, stopRequested: () => stop,
      status: (st) => {
        const text = statusText(st);
        if (tty) {
          process.stdout.write(`\r\x1b[2K${text}`);
          dirty = true;
        } else if (st.nodes > 0) {
          c.reporter.record('batch', { ...st, at: st.at.toISOString() }, text);
        }
      },
    });
    if (tty && dirty) process.stdout.write('\n');
    // A stop request ends the run as it is: exit 1 when its last batch failed (or it gave up), else 0.
    return out.lastFailed || (out.failed && !stop) ? 1 : 0;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}
