/**
 * The `lake` command line (commander). Each command returns an exit code: 0 ok, 1 a node or test
 * failed, 2 the project or the command line is wrong. Only bin/lake.js calls process.exit.
 */
import { Command, CommanderError } from 'commander';
import { LakeError } from '../errors/index.js';
import { VERSION } from '../app/version.js';
import { CommandContext, type GlobalOptions } from './context.js';
import { registerRun } from './commands/build-like.js';
import { registerInspect } from './commands/inspect.js';
import { registerInit } from './commands/init.js';
import { registerTest } from './commands/test.js';
import { registerRetry } from './commands/retry.js';
import { registerSource } from './commands/source.js';
import { registerWatch } from './commands/watch.js';
import { registerDocs } from './commands/docs.js';
import { registerOperation } from './commands/operation.js';
import { registerMaintenance } from './commands/maintenance.js';

/** Was `--log-format json` given (read before commander has parsed, for its own errors)? */
function jsonLog(argv: readonly string[]): boolean {
  const i = argv.indexOf('--log-format');
  return (i >= 0 && argv[i + 1]?.toLowerCase() === 'json') || argv.some((a) => a.toLowerCase() === '--log-format=json');
}

/** Errors of writing to a reader that went away (`lake ls | head -1`). */
const GONE = new Set(['EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

export async function main(argv: readonly string[]): Promise<number> {
  // The rest of the output is dropped and the command finishes as it would have (a run commits
  // and records its end), instead of dying on an unhandled 'error' event with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (!GONE.has(e.code ?? '')) throw e;
    });
  }
  const program = new Command('lake');
  program
    .version(VERSION, '-v, --version')
    .description('SQL-first transformation framework for medallion lakehouses on DuckDB')
    .option('--project-dir <dir>', 'project folder (default: the nearest one with project.yml)')
    .option('-t, --target <name>', 'target from project.yml')
    .option('--vars <json|yaml>', 'project variables as a JSON or YAML mapping (as dbt: {"key": "value"} or {key: value})')
    .option('--threads <n>', 'models built at once')
    .option('--log-format <format>', 'text | json', 'text')
    .option('--profiles-dir <dir>', "folder of a dbt project's profiles.yml (default: the project, then ~/.dbt; DBT_PROFILES_DIR)")
    .option('--state <dir>', "an earlier invocation's target/ folder, for the state: and result: selectors (or LAKE_STATE)")
    .option('--defer', 'with --state: read the models a run does not build, and this target lacks, from the database of the --state run')
    .option('--selector <name>', "dbt's: select with a named selector of the project's selectors.yml")
    .option('--warn-error', "dbt's: treat warnings as errors (project and compile warnings stop the command, tests that would warn fail, warnings of a run make it exit 1)")
    .option('--warn-error-options <options>', "dbt's: '{\"include\": \"all\"}' (or \"*\") is --warn-error; lake has no dbt event names to choose some")
    .option('--debug', 'show stack traces')
    .exitOverride()
    // With --log-format json, commander's own errors (an unknown option...) are JSON lines too.
    .configureOutput({ writeErr: (s) => (jsonLog(argv) && /^error: /.test(s) ? process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), kind: 'diagnostic', code: 'LAKE-U000', severity: 'error', message: s.replace(/^error: /, '').trim() })}\n`) : process.stderr.write(s)) })
    .showHelpAfterError('(run lake --help for usage)');

  let pending: Promise<number> | undefined;
  let context: CommandContext | undefined;
  const ctx = () => {
    if (context) return context;
    context = new CommandContext(program.opts<GlobalOptions>());
    context.checkOptions();
    return context;
  };
  const setCode = (p: Promise<number>) => { pending = p; };
  registerInit(program, ctx, setCode);
  registerInspect(program, ctx, setCode);
  registerRun(program, ctx, setCode);
  registerTest(program, ctx, setCode);
  registerRetry(program, ctx, setCode);
  registerSource(program, ctx, setCode);
  registerWatch(program, ctx, setCode);
  registerDocs(program, ctx, setCode);
  registerOperation(program, ctx, setCode);
  registerMaintenance(program, ctx, setCode);

  try {
    await program.parseAsync([...argv]);
    return pending ? await pending : 0;
  } catch (e) {
    return handleError(e, context ?? ctx());
  }
}

function handleError(e: unknown, c: CommandContext): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    return 2;
  }
  if (e instanceof LakeError) {
    c.reporter.diagnostics(e.diagnostics);
    const n = e.diagnostics.filter((d) => d.severity === 'error').length;
    if (n > 1) c.reporter.error(`${n} errors`);
    if (c.opts.debug) process.stderr.write(`${e.stack}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  c.reporter.error(`internal error: ${err.message}${c.opts.debug ? `\n${err.stack}` : '\n(run with --debug for the stack trace)'}`);
  return 2;
}
