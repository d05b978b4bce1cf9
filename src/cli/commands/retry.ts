/**
 * `lake retry` (dbt retry): run the last `lake run`, `build`, `test` or `seed` again from where it
 * failed, as target/run_results.json records it: the nodes that failed or were skipped, and the
 * tests that failed or errored, with the same flags (full refresh, fail fast, target, vars).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { CommandContext } from '../context.js';
import { LakeError } from '../../errors/index.js';
import { runCommand } from './build-like.js';
import { qualityCommand } from './test.js';

const COMMANDS = ['run', 'build', 'test', 'seed', 'snapshot'];

export function registerRetry(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('retry')
    .description('run the last run, build, test or seed again from its point of failure (failed and skipped nodes, failed tests; target/run_results.json)')
    .action(() => setCode(retryCommand(ctx())));
}

async function retryCommand(c: CommandContext): Promise<number> {
  const s = await c.session();
  const file = path.join(s.targetDir, 'run_results.json');
  let rr: Record<string, unknown>;
  try {
    rr = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new LakeError('usage', { code: 'LAKE-U040', severity: 'error', message: `nothing to retry: ${path.relative(process.cwd(), file) || file} is missing or unreadable`, hint: 'lake retry repeats the last lake run, build, test or seed; run one first' });
  }
  const command = String(rr.command);
  if (!COMMANDS.includes(command)) {
    throw new LakeError('usage', { code: 'LAKE-U040', severity: 'error', message: `nothing to retry: the last command was lake ${command}`, hint: 'lake retry repeats lake run, build, test or seed' });
  }
  const nodes = ((rr.results ?? []) as { id: string; status: string }[]).filter((r) => r.status === 'error' || r.status === 'skipped').map((r) => r.id);
  const tests = ((rr.tests ?? []) as { name: string; status: string }[]).filter((t) => t.status === 'fail' || t.status === 'error').map((t) => t.name);
  const args = (rr.args ?? {}) as { select?: unknown; selector?: unknown; full_refresh?: boolean; fail_fast?: boolean; target?: string; vars?: string; threads?: string; exclude?: unknown; store_failures?: boolean; state?: string; defer?: boolean; event_time_start?: unknown; event_time_end?: unknown; empty?: boolean };
  // Aborted (a second Ctrl-C), or stopped with files left unread and nothing failed: the whole
  // command runs again (incremental models go on from what they committed).
  const aborted = rr.aborted === true || (rr.status === 'cancelled' && nodes.length === 0 && tests.length === 0);
  if (!aborted && nodes.length === 0 && tests.length === 0) {
    c.reporter.record('retry', { command, nodes: 0, tests: 0 }, `nothing to retry: the last lake ${command} had no failure`);
    return 0;
  }
  // The flags of the failed command, unless given again now.
  const opts = { ...c.opts, target: c.opts.target ?? args.target, vars: c.opts.vars ?? args.vars, threads: c.opts.threads ?? args.threads, state: c.opts.state ?? args.state, defer: c.opts.defer ?? args.defer };
  const same = opts.target === c.opts.target && opts.vars === c.opts.vars && opts.threads === c.opts.threads && opts.state === c.opts.state && opts.defer === c.opts.defer;
  const again = same ? c : new CommandContext(opts);
  // Microbatch models rebuild the same time range (--event-time-start / --event-time-end).
  const eventTime = {
    ...(typeof args.event_time_start === 'string' && typeof args.event_time_end === 'string' ? { eventTimeStart: args.event_time_start, eventTimeEnd: args.event_time_end } : {}),
    ...(args.empty === true ? { empty: true } : {}),
  };
  if (aborted) {
    c.reporter.record('retry', { command, aborted: true }, `retrying lake ${command}: it was ${rr.aborted === true ? 'aborted' : 'stopped before the end'}, so all of it runs again`);
    const select = Array.isArray(args.select) && args.select.length ? args.select.map(String) : undefined;
    const exclude = Array.isArray(args.exclude) && args.exclude.length ? args.exclude.map(String) : undefined;
    const flags = { fullRefresh: args.full_refresh || undefined, failFast: args.fail_fast || undefined, select, exclude, ...eventTime };
    // A YAML selector's run (--selector) is selected by it again.
    const all = typeof args.selector === 'string' && !c.opts.selector ? new CommandContext({ ...opts, selector: args.selector }) : again;
    if (command === 'run' || command === 'seed' || command === 'snapshot') return runCommand(all, flags, command);
    return qualityCommand(all, { ...flags, storeFailures: args.store_failures || undefined }, command as 'build' | 'test');
  }
  c.reporter.record('retry', { command, nodes: nodes.length, tests: tests.length },
    `retrying lake ${command}: ${[nodes.length ? `${nodes.length} node${nodes.length === 1 ? '' : 's'}` : '', tests.length ? `${tests.length} test${tests.length === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ')} that failed or ${nodes.length + tests.length === 1 ? 'was' : 'were'} skipped`);
  // What the command left out stays out (a failed model's other tests included).
  const exclude = Array.isArray(args.exclude) && args.exclude.length ? args.exclude.map(String) : undefined;
  const flags = { fullRefresh: args.full_refresh || undefined, failFast: args.fail_fast || undefined, exclude, ...eventTime };
  if (command === 'run' || command === 'seed' || command === 'snapshot') return runCommand(again, { ...flags, select: [nodes.join(' ')] }, command);
  return qualityCommand(again, { ...flags, storeFailures: args.store_failures || undefined, select: [[...nodes, ...tests].join(' ')] }, command as 'build' | 'test');
}
