/** `lake lineage` and `lake docs generate|serve` (issue 6). */
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { LakeError } from '../../errors/index.js';

export function registerDocs(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('lineage')
    .description('column-level lineage of <model>.<column>')
    .argument('<column>', 'model.column or schema.model.column')
    .option('--upstream', 'only what the column is computed from')
    .option('--downstream', 'only what is computed from the column')
    .action((target: string, flags: { upstream?: boolean; downstream?: boolean }) => setCode((async () => {
      const c = ctx();
      const s = await c.session();
      const { projectLineage, lineageForManifest } = await import('../../app/lineage.js');
      const { upstreamOf, downstreamOf } = await import('../../lineage/index.js');
      const dot = target.lastIndexOf('.');
      if (dot <= 0) throw new LakeError('usage', { code: 'LAKE-U030', severity: 'error', message: `'${target}' is not <model>.<column>`, hint: 'e.g. lake lineage gold.workout_bpm_summary.avg_bpm' });
      const modelName = target.slice(0, dot);
      const column = target.slice(dot + 1);
      const res = s.compiler.resolveRef(modelName);
      const sourceId = modelName.startsWith('source:') && s.project.sources.has(modelName) ? modelName : undefined;
      if (!res.id && !sourceId) throw new LakeError('usage', { code: 'LAKE-U031', severity: 'error', message: res.problem!.message.replace(/^ref\('(.*)'\)/, "'$1'"), hint: res.problem!.hint });
      const id = (res.id ?? sourceId)!;
      const opened = await s.openDb('lineage');
      try {
        const l = await projectLineage(s, opened.db);
        const manifest = s.manifest(lineageForManifest(l));
        const { writeJson } = await import('../../app/artifacts.js');
        writeJson(path.join(s.targetDir, 'manifest.json'), manifest);
        const own = l.models.get(id);
        if (own && !own.some((x) => x.column.toLowerCase() === column.toLowerCase())) {
          throw new LakeError('usage', { code: 'LAKE-U032', severity: 'error', message: `${id} has no column '${column}'`, hint: `columns: ${own.map((x) => x.column).join(', ')}` });
        }
        const both = !flags.upstream && !flags.downstream;
        const sections: [string, ReturnType<typeof upstreamOf>][] = [];
        if (flags.upstream || both) sections.push(['upstream', upstreamOf(l.models, id, column)]);
        if (flags.downstream || both) sections.push(['downstream', downstreamOf(l.models, id, column)]);
        for (const [name, hops] of sections) {
          c.reporter.record('lineage', { direction: name, column: `${id}.${column}`, hops: hops.map((h) => ({ relation: h.relation, column: h.column, depth: h.depth, via: `${h.via.relation}.${h.via.column}` })) },
            `${name} of ${id}.${column}:${hops.length ? '' : ' (none)'}\n${hops.map((h) => `${'  '.repeat(h.depth)}${h.relation}.${h.column}`).join('\n')}`.trimEnd());
        }
        const warn = l.warnings.get(id);
        if (warn) for (const w of warn) c.reporter.error(`warning: ${id}: ${w}`);
      } finally {
        await opened.release();
      }
      return 0;
    })()));
}
