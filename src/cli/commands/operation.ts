/**
 * `lake run-operation <macro> [--args '{...}']` (dbt's): call a macro of the project or of an
 * installed package against the database — its run_query and statement calls run, in one
 * transaction — and print what its log(..., info=True) and print() calls say.
 */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { LakeError } from '../../errors/index.js';
import { parseYamlValue } from '../../project/yaml-file.js';

export function registerOperation(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('run-operation')
    .description("call a macro against the database (its queries run in one transaction; log(..., info=True) and print() are printed)")
    .argument('<macro>', 'the macro, or package.macro')
    .option('--args <yaml>', "its arguments as a YAML or JSON mapping, e.g. '{days: 7}'")
    .action((macro: string, flags: { args?: string }) => setCode(runOperation(ctx(), macro, flags)));
}

async function runOperation(c: CommandContext, macro: string, flags: { args?: string }): Promise<number> {
  let args: unknown = {};
  if (flags.args !== undefined) {
    try {
      args = parseYamlValue(flags.args);
    } catch {
      args = undefined;
    }
    if (!args || typeof args !== 'object' || Array.isArray(args)) {
      throw new LakeError('usage', { code: 'LAKE-U021', severity: 'error', message: `--args is not a YAML or JSON mapping: ${flags.args}`, hint: "write --args '{name: value}' (or JSON)" });
    }
  }
  const s = await c.session({ flags: { WHICH: 'run-operation' } });
  const opened = await s.openDb('run-operation');
  try {
    const { logs } = await s.runOperation(opened.db, macro, args as Record<string, unknown>);
    for (const line of logs) c.reporter.record('log', { message: line }, line);
  } finally {
    await opened.release();
  }
  return 0;
}
