/**
 * `lake test` (data tests and unit tests of the selection) and `lake build` (models and their
 * tests in graph order; a failing error-severity test skips the model's descendants).
 * Exit 0 when everything passed (warnings included), 1 on a failed or errored test or model,
 * 2 when the project or the command line is wrong.
 */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect, INTERRUPTED, withInterrupt } from '../context.js';

export interface QualityFlags { select?: string[]; exclude?: string[]; fullRefresh?: boolean; failFast?: boolean; storeFailures?: boolean }

export function registerTest(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('test')
    .description('run the data tests and unit tests of the selected nodes')
    .option('-s, --select <selector...>', 'nodes whose tests run (repeatable); also test names, test_type:unit|data|singular|generic, test_name:<kind>', collect)
    .option('--exclude <selector...>', 'nodes or tests to leave out', collect)
    .option('--store-failures', 'keep the failing rows of every test in _lake_tests.<test name>')
    .option('--fail-fast', 'stop starting new tests after the first failure')
    .action((flags: QualityFlags) => setCode(qualityCommand(ctx(), flags, 'test')));
  program.command('build')
    .description('build the selected models and run their tests in graph order (unit tests before a model, data tests right after it)')
    .option('-s, --select <selector...>', 'nodes to build and test (repeatable)', collect)
    .option('--exclude <selector...>', 'nodes or tests to leave out', collect)
    .option('--full-refresh', 'rebuild incremental models from scratch')
    .option('--store-failures', 'keep the failing rows of every test in _lake_tests.<test name>')
    .option('--fail-fast', 'stop starting new nodes after the first error')
    .action((flags: QualityFlags) => setCode(qualityCommand(ctx(), flags, 'build')));
}

export async function qualityCommand(c: CommandContext, flags: QualityFlags, mode: 'test' | 'build'): Promise<number> {
  const s = await c.session();
  const { QualityRun } = await import('../../dq/quality-run.js');
  const q = QualityRun.plan(s, { mode, select: flags.select, exclude: flags.exclude, storeFailures: flags.storeFailures, reporter: c.reporter });
  return withInterrupt(c, async (stopRequested) => {
    const opts = {
      select: q.nodeSelect, exclude: q.nodeExclude, fullRefresh: flags.fullRefresh, failFast: flags.failFast,
      command: mode, seeds: mode === 'build' ? 'all' as const : 'none' as const, snapshots: mode === 'build' ? 'all' as const : 'none' as const, stopRequested, extend: q, defer: !!c.opts.defer,
      // The command line's own selection (test selectors included) and flags, for lake retry.
      invocation: { ...c.invocation(), select: flags.select ?? [], exclude: flags.exclude ?? [], ...(flags.storeFailures ? { store_failures: true } : {}) },
    };
    if (mode === 'test') {
      const out = await s.run(c.reporter, opts);
      return out.results.some((r) => r.status === 'error') || q.failed() ? 1 : out.interrupted ? INTERRUPTED : 0;
    }
    // `lake build` reads landing zones to the end like `lake run`: while a model leaves files for
    // the next trigger, another micro-batch of it and its descendants, each with its tests.
    const { runAvailableNow } = await import('../../app/continuous.js');
    const quality = [q];
    const out = await runAvailableNow(s, c.reporter, {
      ...opts,
      extendMicroBatch: (select) => {
        const next = QualityRun.plan(s, { mode, select: [...select], exclude: flags.exclude, storeFailures: flags.storeFailures, reporter: c.reporter });
        quality.push(next);
        return next;
      },
    });
    return out.failed || quality.some((x) => x.failed()) ? 1 : out.interrupted ? INTERRUPTED : 0;
  }, () => s.abortRunResults());
}
