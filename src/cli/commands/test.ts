/**
 * `lake test` (data tests and unit tests of the selection) and `lake build` (models and their
 * tests in graph order; a failing error-severity test skips the model's descendants).
 * Exit 0 when everything passed (warnings included), 1 on a failed or errored test or model,
 * 2 when the project or the command line is wrong.
 */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect, INTERRUPTED, withInterrupt } from '../context.js';
import { LakeError } from '../../errors/index.js';
import { EMPTY_HELP, EVENT_TIME_END_HELP, EVENT_TIME_START_HELP, eventTimeArgs, eventTimeRange, templateFlags } from './build-like.js';
// (Type only: quality-run.js loads on demand, not with every command.)
import type { IndirectSelection } from '../../dq/quality-run.js';

const INDIRECT_SELECTION: readonly IndirectSelection[] = ['eager', 'cautious', 'buildable', 'empty'];

export interface QualityFlags { select?: string[]; exclude?: string[]; fullRefresh?: boolean; failFast?: boolean; storeFailures?: boolean; resourceType?: string[]; excludeResourceType?: string[]; indirectSelection?: string; eventTimeStart?: string; eventTimeEnd?: string; empty?: boolean }

/** dbt's --indirect-selection value (or its DBT_INDIRECT_SELECTION / LAKE_INDIRECT_SELECTION), checked. */
export function indirectSelection(flag: string | undefined): IndirectSelection | undefined {
  const env = ['LAKE_INDIRECT_SELECTION', 'DBT_INDIRECT_SELECTION'].find((k) => process.env[k]);
  const v = flag ?? (env ? process.env[env]!.toLowerCase() : undefined);
  if (v === undefined) return undefined;
  if (!(INDIRECT_SELECTION as readonly string[]).includes(v)) {
    const from = flag !== undefined ? `--indirect-selection ${v}` : `${env}=${process.env[env!]}`;
    throw new LakeError('usage', { code: 'LAKE-U005', severity: 'error', message: `${from} is not a mode`, hint: `use ${INDIRECT_SELECTION.join(', ')}` });
  }
  return v as IndirectSelection;
}
const INDIRECT_HELP = "which tests come with the selected nodes: eager (any node a test reads; default), cautious (all of them), buildable (all selected or their ancestors), empty (only tests selected themselves)";

/** The selectors of each resource type `--resource-type` / `--exclude-resource-type` take (dbt's). */
const KIND_SELECTORS: Record<string, readonly string[]> = {
  model: ['resource_type:model'], seed: ['resource_type:seed'], snapshot: ['resource_type:snapshot'],
  test: ['test_type:data'], unit_test: ['test_type:unit'],
};

/**
 * dbt's `--resource-type` and `--exclude-resource-type` as selection: the kinds left out are
 * excluded (a node kind with the tests that read it, as dbt's eager selection does).
 */
function withResourceTypes(flags: QualityFlags, mode: 'test' | 'build'): QualityFlags {
  const list = (v: string[] | undefined) => (v ?? []).flatMap((t) => t.split(/[\s,]+/)).filter(Boolean);
  const only = list(flags.resourceType);
  const not = list(flags.excludeResourceType);
  if (!only.length && !not.length) return flags;
  const known = mode === 'test' ? ['test', 'unit_test', 'all'] : [...Object.keys(KIND_SELECTORS), 'all'];
  const wrong = [...only, ...not].find((t) => !known.includes(t));
  if (wrong) throw new LakeError('usage', { code: 'LAKE-U004', severity: 'error', message: `--resource-type ${wrong} is not a resource type lake ${mode} runs`, hint: `use ${known.join(', ')}` });
  const kinds = mode === 'test' ? ['test', 'unit_test'] : Object.keys(KIND_SELECTORS);
  const left = kinds.filter((k) => (only.length && !only.includes('all') && !only.includes(k)) || not.includes(k));
  return { ...flags, exclude: [...flags.exclude ?? [], ...left.flatMap((k) => KIND_SELECTORS[k]!)] };
}

export function registerTest(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('test')
    .description('run the data tests and unit tests of the selected nodes')
    .option('-s, --select <selector...>', 'nodes whose tests run (repeatable); also test names, test_type:unit|data|singular|generic, test_name:<kind>', collect)
    .option('--exclude <selector...>', 'nodes or tests to leave out', collect)
    .option('--store-failures', 'keep the failing rows of every test (in _lake_tests.<test name>; a dbt project: <schema>_dbt_test__audit)')
    .option('-x, --fail-fast', 'stop starting new tests after the first failure')
    .option('--resource-type <types...>', 'only these kinds: test (data tests), unit_test', collect)
    .option('--exclude-resource-type <types...>', 'leave these kinds out: test, unit_test', collect)
    .option('--indirect-selection <mode>', INDIRECT_HELP)
    .action((flags: QualityFlags) => setCode(qualityCommand(ctx(), flags, 'test')));
  program.command('build')
    .description('build the selected models and run their tests in graph order (unit tests before a model, data tests right after it)')
    .option('-s, --select <selector...>', 'nodes to build and test (repeatable)', collect)
    .option('--exclude <selector...>', 'nodes or tests to leave out', collect)
    .option('-f, --full-refresh', 'rebuild incremental models from scratch')
    .option('--store-failures', 'keep the failing rows of every test (in _lake_tests.<test name>; a dbt project: <schema>_dbt_test__audit)')
    .option('-x, --fail-fast', 'stop starting new nodes after the first error')
    .option('--event-time-start <time>', EVENT_TIME_START_HELP)
    .option('--event-time-end <time>', EVENT_TIME_END_HELP)
    .option('--empty', EMPTY_HELP)
    .option('--resource-type <types...>', 'only these kinds: model, seed, snapshot, test, unit_test', collect)
    .option('--exclude-resource-type <types...>', 'leave these kinds out', collect)
    .option('--indirect-selection <mode>', INDIRECT_HELP)
    .action((flags: QualityFlags) => setCode(qualityCommand(ctx(), flags, 'build')));
}

export async function qualityCommand(c: CommandContext, given: QualityFlags, asked: 'test' | 'build'): Promise<number> {
  const flags = withResourceTypes(given, asked);
  // `lake build --resource-type test` (tests, no model, seed or snapshot): what lake test does.
  const nodeKindsLeft = ['model', 'seed', 'snapshot'].some((k) => !(flags.exclude ?? []).includes(`resource_type:${k}`));
  const mode = asked === 'build' && !nodeKindsLeft ? 'test' : asked;
  if (mode !== asked) flags.exclude = flags.exclude!.filter((x) => !x.startsWith('resource_type:'));
  const eventTime = eventTimeRange(flags);
  const s = await c.session({ empty: !!flags.empty, flags: templateFlags(asked, flags) });
  const { QualityRun } = await import('../../dq/quality-run.js');
  const indirect = indirectSelection(flags.indirectSelection);
  // A YAML selector: each leaf picks nodes and tests (with its own indirect selection), then the set operations.
  let selector: ReturnType<typeof QualityRun.selector> | undefined;
  const chosen = c.selectorKeys(s, flags, (text, leafMode) => {
    selector ??= QualityRun.selector(s, c.reporter);
    return selector.keys({ select: text ? [text] : [], indirectSelection: leafMode === undefined ? indirect : indirectSelection(leafMode) });
  });
  const q = QualityRun.plan(s, { mode, select: flags.select, exclude: flags.exclude, storeFailures: flags.storeFailures, warnError: !!c.opts.warnError, reporter: c.reporter, indirectSelection: indirect, ...(chosen ? { chosen } : {}) }, selector);
  return withInterrupt(c, async (stopRequested) => {
    const opts = {
      select: q.nodeSelect, exclude: q.nodeExclude, fullRefresh: flags.fullRefresh, failFast: flags.failFast, ...(eventTime ? { eventTime } : {}),
      command: mode, seeds: mode === 'build' ? 'all' as const : 'none' as const, snapshots: mode === 'build' ? 'all' as const : 'none' as const, stopRequested, extend: q, defer: !!c.opts.defer,
      // The command line's own selection (test selectors included) and flags, for lake retry.
      invocation: { ...c.invocation(), select: flags.select ?? [], exclude: flags.exclude ?? [], ...(flags.storeFailures ? { store_failures: true } : {}), ...eventTimeArgs(flags), ...(flags.empty ? { empty: true } : {}) },
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
        const next = QualityRun.plan(s, { mode, select: [...select], exclude: flags.exclude, storeFailures: flags.storeFailures, reporter: c.reporter, indirectSelection: indirect });
        quality.push(next);
        return next;
      },
    });
    return out.failed || quality.some((x) => x.failed()) || c.warnedAsError(out.warnings) ? 1 : out.interrupted ? INTERRUPTED : 0;
  }, () => s.abortRunResults());
}
