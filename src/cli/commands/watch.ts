/**
 * `lake watch [-s SEL] [--exclude SEL] [--preview N] [--test] [--landing] [--no-full-refresh]`:
 * build the selection, then rebuild what each save changes until Ctrl-C (exit 0). Only a problem
 * a save cannot fix (unreadable project.yml, bad selector, database held by another lake) ends
 * it, with exit 2.
 */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect } from '../context.js';
import { LakeError } from '../../errors/index.js';
import { formatTable } from '../table.js';

interface WatchFlags { select?: string[]; exclude?: string[]; preview?: string; test?: boolean; landing?: boolean; fullRefresh: boolean; debounce?: string }

export function registerWatch(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('watch')
    .description('build the selection, then rebuild changed models and their descendants on every save')
    .option('-s, --select <selector...>', 'nodes to keep built (repeatable; space = union, comma = intersection)', collect)
    .option('--exclude <selector...>', 'nodes to leave out', collect)
    .option('--preview <n>', 'show the first N rows of each changed model after it is rebuilt')
    .option('--test', 'run the tests of rebuilt models')
    .option('--landing', 'also build the models that read new landing-zone files as they arrive')
    .option('--no-full-refresh', 'rebuild changed incremental models incrementally (as lake run does), not from scratch')
    .option('--debounce <ms>', 'quiet time that ends a burst of writes', '10')
    .action((flags: WatchFlags) => setCode(watchCommand(ctx(), flags)));
}

function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new LakeError('usage', { code: 'LAKE-U040', severity: 'error', message: `${flag} must be a whole number, not ${value}`, hint: `e.g. ${flag} 5` });
  return n;
}

async function watchCommand(c: CommandContext, flags: WatchFlags): Promise<number> {
  const preview = wholeNumber('--preview', flags.preview);
  const debounceMs = wholeNumber('--debounce', flags.debounce);
  const { Watch } = await import('../../watch/index.js');
  // Tests run in the same run as the models they test (lake build's plan, limited to what a save rebuilds).
  const tests = flags.test ? (await import('../../dq/quality-run.js')).QualityRun : undefined;
  const watch = new Watch(c.reporter, {
    projectDir: c.projectRoot(), target: c.opts.target, vars: c.vars(), threads: c.threads(),
    select: flags.select, exclude: flags.exclude, preview, landing: !!flags.landing, fullRefresh: flags.fullRefresh, debounceMs,
    formatRows: (rows) => formatTable(rows),
    tests: tests && ((s, ids, reporter, mode = 'build') => tests.plan(s, { mode, select: [...ids], reporter })),
  });
  let stopRequested: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => { stopRequested = resolve; });
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      c.reporter.info('stopping: finishing the running models');
      stopRequested!();
      void watch.stop();
    } else {
      // A second Ctrl-C while the last models finish: the user wants out now. Said, as lake run says it.
      c.reporter.error('aborted: the running models stopped without committing (each table is as it was before them); the next lake watch builds them again');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await watch.start();
    await stopped;
    await watch.stop();
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
