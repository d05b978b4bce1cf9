/** `lake run`, `lake seed`: build nodes of the selection. */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect } from '../context.js';

interface RunFlags { select?: string[]; exclude?: string[]; fullRefresh?: boolean; failFast?: boolean }

export function registerRun(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('run')
    .description('build the selected models (and missing seeds) in graph order')
    .option('-s, --select <selector>', 'nodes to build (repeatable; space = union, comma = intersection)', collect)
    .option('--exclude <selector>', 'nodes to leave out', collect)
    .option('--full-refresh', 'rebuild incremental models from scratch')
    .option('--fail-fast', 'stop starting new nodes after the first error')
    .action((flags: RunFlags) => setCode(runCommand(ctx(), flags, 'run')));
  program.command('seed')
    .description('load seeds/*.csv into tables')
    .option('-s, --select <selector>', 'seeds to load', collect)
    .option('--exclude <selector>', 'seeds to leave out', collect)
    .action((flags: RunFlags) => setCode(runCommand(ctx(), flags, 'seed')));
}

async function runCommand(c: CommandContext, flags: RunFlags, command: 'run' | 'seed'): Promise<number> {
  const s = await c.session();
  let stop = false;
  const onSig = () => {
    if (stop) process.exit(130);
    stop = true;
    c.reporter.error('interrupt: finishing the running nodes, starting no new ones (press Ctrl-C again to abort)');
  };
  process.on('SIGINT', onSig);
  try {
    // `lake seed -s x` means the seeds among x.
    const sel = command === 'seed' ? (flags.select ?? ['']).map((x) => (x ? `${x},resource_type:seed` : 'resource_type:seed')) : flags.select;
    const out = await s.run(c.reporter, {
      select: sel, exclude: flags.exclude, fullRefresh: flags.fullRefresh, failFast: flags.failFast,
      command, seeds: command === 'seed' ? 'all' : 'missing', stopRequested: () => stop,
    });
    return out.results.some((r) => r.status === 'error') ? 1 : 0;
  } finally {
    process.off('SIGINT', onSig);
  }
}
