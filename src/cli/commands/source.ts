/** `lake source freshness`: how long ago each source received data, against its `freshness:` rules. */
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect } from '../context.js';
import type { FreshnessResult } from '../../dq/freshness.js';
import { VERSION } from '../../app/version.js';

export function registerSource(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  const source = program.command('source').description("the project's sources");
  source.command('freshness')
    .description('how long ago each source received data, against its freshness: rules; target/sources.json (exit 1 when one is past error_after)')
    .option('-s, --select <selector...>', 'sources to check (e.g. source:kafka, source:kafka.bpm)', collect)
    .option('--exclude <selector...>', 'sources to leave out', collect)
    .option('-o, --output <file>', "dbt's: write the results there instead of target/sources.json")
    .action((flags: { select?: string[]; exclude?: string[]; output?: string }) => setCode(freshnessCommand(ctx(), flags)));
}

async function freshnessCommand(c: CommandContext, flags: { select?: string[]; exclude?: string[]; output?: string }): Promise<number> {
  const startedAt = new Date();
  const s = await c.session();
  const { checkFreshness, sourcesJson, ruleText, ageText } = await import('../../dq/freshness.js');
  const { writeJson } = await import('../../app/artifacts.js');
  const chosen = s.select(flags).filter((id) => id.startsWith('source:'));
  const sources = chosen.map((id) => s.project.sources.get(id)!).filter((x) => x?.freshness);
  if (sources.length === 0) {
    c.reporter.record('freshness_summary', { sources: 0 }, `no source with freshness: rules among the ${chosen.length} selected (add freshness: { warn_after: ..., error_after: ... } to a source)`);
    return 0;
  }
  const opened = await s.openDb('source freshness');
  const results: FreshnessResult[] = [];
  try {
    // As dbt does: on_run_start hooks first (they may attach the database a source lives in).
    await s.runStartHooks(opened.db);
    for (const src of sources) {
      const r = await checkFreshness(opened.db, s.project.root, s.project.name, src);
      results.push(r);
      const rules = [r.criteria.warn_after ? `warn after ${ruleText(r.criteria.warn_after)}` : '', r.criteria.error_after ? `error after ${ruleText(r.criteria.error_after)}` : ''].filter(Boolean).join(', ');
      const what = r.maxLoadedAt ? `newest ${r.maxLoadedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}, ${ageText(r.ageSeconds!)} ago` : r.message ?? '';
      c.reporter.record('freshness', { id: r.id, status: r.status, max_loaded_at: r.maxLoadedAt, age_s: r.ageSeconds, message: r.message ?? null },
        `${r.status.toUpperCase().padEnd(13)} ${r.id.slice('source:'.length).padEnd(30)} ${what} (${rules})`);
    }
  } finally {
    await opened.release();
  }
  // --output is relative to the current folder, as dbt's.
  writeJson(flags.output ? path.resolve(flags.output) : path.join(s.targetDir, 'sources.json'), sourcesJson(results, startedAt, VERSION));
  const n = (st: string) => results.filter((r) => r.status === st).length;
  c.reporter.record('freshness_summary', { sources: results.length, pass: n('pass'), warn: n('warn'), error: n('error'), runtime_error: n('runtime error') },
    `Freshness: ${n('pass')} pass, ${n('warn')} warn, ${n('error') + n('runtime error')} error (of ${results.length})`);
  return n('error') + n('runtime error') > 0 ? 1 : 0;
}
