/**
 * dbt's housekeeping commands: `lake debug` (is the set-up right: versions, the project and its
 * target, a compile, the database), `lake deps` (which declared packages are installed: lake reads
 * them but never downloads one) and `lake clean` (remove what a build leaves on disk: the target
 * folder, or a dbt project's `clean-targets`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { LakeError } from '../../errors/index.js';
import { VERSION } from '../../app/version.js';
import type { Session } from '../../app/session.js';

export function registerMaintenance(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('debug')
    .description("check the set-up, as dbt debug: versions, the project file and its target, a compile of every model, the database")
    .action(() => setCode(debugCommand(ctx())));
  program.command('deps')
    .description("dbt's deps, as a check: the packages of packages.yml and where each is installed (lake never downloads one: install them with dbt deps)")
    .action(() => setCode(depsCommand(ctx())));
  program.command('clean')
    .description("remove what builds leave on disk: the target folder (a dbt project: its clean-targets)")
    .action(() => setCode(cleanCommand(ctx())));
}

/** One check's line: what, OK or the problem. */
function line(c: CommandContext, what: string, ok: boolean, detail: string): void {
  c.reporter.record('debug_check', { check: what, ok, detail }, `  ${what.padEnd(9)} ${ok ? 'OK  ' : 'FAIL'} ${detail}`);
}

async function debugCommand(c: CommandContext): Promise<number> {
  let failed = 0;
  c.reporter.record('debug', { lake: VERSION, node: process.version }, `lake ${VERSION} on Node ${process.version}`);
  let root: string;
  try {
    root = c.projectRoot();
  } catch (e) {
    line(c, 'project', false, (e as LakeError).diagnostics?.[0]?.message ?? (e as Error).message);
    return 1;
  }
  const { Session: Sessions } = await import('../../app/session.js');
  let s: Session;
  try {
    s = Sessions.open({ projectDir: root, target: c.opts.target, vars: c.vars(), threads: c.threads() });
  } catch (e) {
    const d = (e as LakeError).diagnostics;
    line(c, 'project', false, d ? `${d.filter((x) => x.severity === 'error').length} error(s); the first: ${d[0]!.file ? `${d[0]!.file}${d[0]!.line ? `:${d[0]!.line}` : ''}: ` : ''}${d[0]!.message}` : (e as Error).message);
    return 1;
  }
  const p = s.project;
  const { findProfilesDir } = await import('../../project/settings.js');
  const files = p.flavor === 'lake' ? 'project.yml' : findProfilesDir(root) ? 'dbt_project.yml and profiles.yml' : 'dbt_project.yml';
  const noProfile = p.flavor === 'dbt' && files === 'dbt_project.yml' ? '; no profiles.yml in the project or ~/.dbt: the default target dev' : '';
  line(c, 'project', true, `${path.relative(process.cwd(), root) || '.'} (${files}: ${p.name}${noProfile})`);
  line(c, 'target', true, `${p.target.name}: duckdb at ${p.target.path}, ${p.target.threads} thread${p.target.threads === 1 ? '' : 's'}`);
  const models = [...s.compiled.nodes.values()];
  line(c, 'compile', true, `${models.length} model${models.length === 1 ? '' : 's'}, ${p.seeds.size} seed${p.seeds.size === 1 ? '' : 's'}, ${p.sources.size} source${p.sources.size === 1 ? '' : 's'}${p.packages?.length ? `, packages ${p.packages.map((x) => x.name).join(', ')}` : ''}${s.warnings.length ? ` (${s.warnings.length} warning${s.warnings.length === 1 ? '' : 's'}: lake compile lists them)` : ''}`);
  try {
    const opened = await s.openDb('debug');
    try {
      const [v] = (await opened.db.query('select version() as v')) as { v?: string }[];
      line(c, 'database', true, `${p.target.path === ':memory:' ? 'in memory' : p.target.path} opens (DuckDB ${v?.v ?? '?'})`);
    } finally {
      await opened.release();
    }
  } catch (e) {
    failed++;
    line(c, 'database', false, (e as LakeError).diagnostics?.[0]?.message ?? (e as Error).message.split('\n')[0]!);
  }
  c.reporter.record('debug_result', { ok: failed === 0 }, failed === 0 ? 'All checks passed!' : `${failed} check${failed === 1 ? '' : 's'} failed`);
  return failed === 0 ? 0 : 1;
}

async function depsCommand(c: CommandContext): Promise<number> {
  const root = c.projectRoot();
  const { loadProject } = await import('../../project/load.js');
  const project = loadProject(root, { target: c.opts.target, vars: c.vars() });
  for (const p of project.packages ?? []) c.reporter.record('package', { name: p.name, dir: p.dir }, `  ${p.name.padEnd(24)} installed in ${p.dir}`);
  const missing = project.diagnostics.filter((d) => d.code === 'LAKE-P053' || d.code === 'LAKE-P054');
  if (missing.length) c.reporter.diagnostics(missing);
  const n = project.packages?.length ?? 0;
  c.reporter.record('deps', { installed: n, missing: missing.length }, `${n} package${n === 1 ? '' : 's'} installed${missing.length ? `, ${missing.length} missing (lake never downloads packages: run dbt deps)` : ''}`);
  return missing.length ? 1 : 0;
}

async function cleanCommand(c: CommandContext): Promise<number> {
  const root = c.projectRoot();
  const { loadProject } = await import('../../project/load.js');
  const { cleanProject } = await import('../../app/clean.js');
  const { removed, databases } = await cleanProject(loadProject(root, { target: c.opts.target, vars: c.vars() }));
  const withDb = databases.length ? ` (with the database${databases.length === 1 ? '' : 's'} ${databases.join(', ')})` : '';
  c.reporter.record('clean', { removed, databases }, removed.length ? `removed ${removed.join(', ')}${withDb}` : 'nothing to remove');
  return 0;
}
