/** `lake lineage` and `lake docs generate|serve` (issue 6). */
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { unknownNodeError } from '../context.js';
import { LakeError } from '../../errors/index.js';

export function registerDocs(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  const docs = program.command('docs').description('the lineage documentation site');
  docs.command('generate')
    .description('write target/docs/index.html (one self-contained file) with manifest, catalog and lineage')
    .action(() => setCode((async () => {
      const c = ctx();
      const t0 = performance.now();
      const s = await c.session();
      const { projectLineage, lineageForManifest } = await import('../../app/lineage.js');
      const { buildCatalog } = await import('../../app/catalog.js');
      const { writeJson } = await import('../../app/artifacts.js');
      const { readDocsInputs } = await import('../../docs/inputs.js');
      const { buildDocsData } = await import('../../docs/docs-data.js');
      const { writeSite } = await import('../../docs/site.js');
      const { buildHistory, withHistory, lastTests } = await import('../../app/run-history.js');
      const opened = await s.openDb('docs generate');
      let history;
      try {
        const lineage = await projectLineage(s, opened.db);
        s.writeArtifacts();
        writeJson(path.join(s.targetDir, 'manifest.json'), s.manifest(lineageForManifest(lineage)));
        writeJson(path.join(s.targetDir, 'catalog.json'), await buildCatalog(s, opened.db));
        history = await buildHistory(opened.db);
      } finally {
        await opened.release();
      }
      const inputs = readDocsInputs(s.targetDir);
      // Each node's last build and each test's last result, whatever the last command was.
      const tests = lastTests(s.targetDir, inputs.runResults);
      const data = buildDocsData(inputs.manifest, inputs.catalog, withHistory(inputs.runResults, history), tests ? { tests } : undefined);
      const file = writeSite(path.join(s.targetDir, 'docs'), data);
      c.reporter.record('docs', { file, elapsed_ms: Math.round(performance.now() - t0) }, `wrote ${path.relative(process.cwd(), file) || file} in ${Math.round(performance.now() - t0)} ms`);
      return 0;
    })()));
  docs.command('serve')
    .description('serve target/docs on 127.0.0.1 (read-only)')
    .option('--port <port>', 'port', '8080')
    .action((flags: { port: string }) => setCode((async () => {
      const c = ctx();
      if (!/^\d+$/.test(flags.port) || Number(flags.port) < 1 || Number(flags.port) > 65535) {
        throw new LakeError('usage', { code: 'LAKE-U055', severity: 'error', message: `--port must be a whole number from 1 to 65535, not ${flags.port}`, hint: 'e.g. --port 8080' });
      }
      const root = c.projectRoot();
      const { loadProject } = await import('../../project/load.js');
      const dir = path.join(root, loadProject(root).paths.target, 'docs');
      const fs = await import('node:fs');
      if (!fs.existsSync(path.join(dir, 'index.html'))) throw new LakeError('usage', { code: 'LAKE-U053', severity: 'error', message: `no ${path.join(dir, 'index.html')}`, hint: 'run `lake docs generate` first' });
      const { serveDocs } = await import('../../docs/serve.js');
      const server = await serveDocs(dir, Number(flags.port));
      c.reporter.info(`serving ${dir} at ${server.url} (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => {
        const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
      return 0;
    })()));

  program.command('lineage')
    .description('column-level lineage of <model>.<column>')
    .argument('<column>', 'model.column or schema.model.column')
    .option('--upstream', 'only what the column is computed from')
    .option('--downstream', 'only what is computed from the column')
    .action((target: string, flags: { upstream?: boolean; downstream?: boolean }) => setCode((async () => {
      const c = ctx();
      const s = await c.session();
      const { projectLineage, lineageForManifest } = await import('../../app/lineage.js');
      const { upstreamOf, downstreamOf, lineageTreeLines } = await import('../../lineage/index.js');
      const dot = target.lastIndexOf('.');
      if (dot <= 0) {
        const model = s.compiler.resolveRef(target).id;
        throw new LakeError('usage', { code: 'LAKE-U030', severity: 'error', message: model ? `'${target}' is a model: name one of its columns` : `'${target}' is not <model>.<column>`, hint: `e.g. lake lineage ${model ?? 'silver.orders'}.<column>` });
      }
      const modelName = target.slice(0, dot);
      const column = target.slice(dot + 1);
      const res = s.compiler.resolveRef(modelName);
      const sourceId = modelName.startsWith('source:') && s.project.sources.has(modelName) ? modelName : undefined;
      if (!res.id && !sourceId) {
        // `gold.report` alone is a model, not <model>.<column>: say so.
        if (s.compiler.resolveRef(target).id) throw new LakeError('usage', { code: 'LAKE-U030', severity: 'error', message: `'${target}' is a model: name one of its columns`, hint: `e.g. lake lineage ${target}.<column>` });
        throw unknownNodeError('LAKE-U031', res.problem!);
      }
      const id = (res.id ?? sourceId)!;
      const opened = await s.openDb('lineage');
      try {
        const l = await projectLineage(s, opened.db);
        const manifest = s.manifest(lineageForManifest(l));
        const { writeJson } = await import('../../app/artifacts.js');
        writeJson(path.join(s.targetDir, 'manifest.json'), manifest);
        // Seeds and sources have no lineage of their own: check their columns in the database.
        const own = l.models.get(id);
        const known = own?.length ? own.map((x) => x.column) : l.columnsOf(id);
        if (known && !known.some((x) => x.toLowerCase() === column.toLowerCase())) {
          throw new LakeError('usage', { code: 'LAKE-U032', severity: 'error', message: `${id} has no column '${column}'`, hint: `columns: ${known.join(', ')}` });
        }
        const both = !flags.upstream && !flags.downstream;
        const sections: [string, ReturnType<typeof upstreamOf>][] = [];
        if (flags.upstream || both) sections.push(['upstream', upstreamOf(l.models, id, column)]);
        if (flags.downstream || both) sections.push(['downstream', downstreamOf(l.models, id, column)]);
        for (const [name, hops] of sections) {
          c.reporter.record('lineage', { direction: name, column: `${id}.${column}`, hops: hops.map((h) => ({ relation: h.relation, column: h.column, depth: h.depth, via: `${h.via.relation}.${h.via.column}` })) },
            `${name} of ${id}.${column}:${hops.length ? '' : ' (none)'}\n${lineageTreeLines({ relation: id, column }, hops).join('\n')}`.trimEnd());
        }
        const warn = l.warnings.get(id);
        if (warn) for (const w of warn) c.reporter.error(`warning: ${id}: ${w}`);
      } finally {
        await opened.release();
      }
      return 0;
    })()));
}
