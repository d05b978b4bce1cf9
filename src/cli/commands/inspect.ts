/** `lake compile`, `lake parse`, `lake ls`, `lake show`: look at the project without building it. */
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect, unknownNodeError } from '../context.js';
import { LakeError } from '../../errors/index.js';
import { relationSql, quoteIdent, type NodeId } from '../../core/types.js';
import { formatTable } from '../table.js';
import { indirectSelection } from './test.js';

/** A selector method only tests have (`lake ls -s test_type:unit` lists tests). */
const TEST_METHOD = /(^|[\s,@+])(test_name|test_type|unit_test):|resource_type:(test|unit_test)\b/;

export function registerInspect(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('compile')
    .description('render every model to target/compiled and write target/manifest.json (no database)')
    .option('-s, --select <selector...>', 'models to write', collect)
    .option('--exclude <selector...>', 'models to leave out', collect)
    .option('--empty', "dbt's --empty: write the SQL with every ref and source read as zero rows")
    .action((flags: { select?: string[]; exclude?: string[]; empty?: boolean }) => setCode((async () => {
      const c = ctx();
      const t0 = performance.now();
      // What c.session() does, opened up so the compiled files are written while the project
      // compiles (see CompiledFiles): a first compile of 10,000 models spends as long creating
      // files as compiling.
      const [{ Session }, { loadProject }, { Compiler }, { CompiledFiles }, { writeJsonInBackground }] = await Promise.all([
        import('../../app/session.js'), import('../../project/load.js'), import('../../compiler/compile.js'), import('../../app/compiled-files.js'), import('../../app/artifacts.js'),
      ]);
      const project = loadProject(c.projectRoot(), { target: c.opts.target, vars: c.vars(), threads: c.threads() });
      const targetDir = path.resolve(project.root, project.paths.target);
      // Renders of unchanged models are reused from the last run, as Session.open does.
      const cacheDir = process.env.LAKE_RENDER_CACHE === '0' || flags.empty ? undefined : path.join(targetDir, '.lake');
      // A worker costs ~30 ms to start (in parallel): worth it from a few hundred files.
      const files = CompiledFiles.open(targetDir, { background: project.models.size >= 300 });
      // The render cache goes to disk with the compiled files (atomically, like them off this thread).
      const compiler = new Compiler(project, { runStartedAt: new Date(), cacheDir, writeCacheFile: (file, text) => files.addFile(file, text), ...(flags.empty ? { empty: true } : {}), flags: { WHICH: 'compile', EMPTY: !!flags.empty } });
      const everything = !flags.select?.length && !flags.exclude?.length;
      try {
        // Without a selection every compiled model is written: start as each one is compiled.
        const compiled = compiler.compileAll(everything ? (n) => { if (!n.executeError) files.add(n.id, n.sql); } : undefined);
        const s = Session.fromCompiler(compiler, compiled);
        c.projectWarnings(s.warnings);
        c.applyState(s);
        const ids = s.select(c.selection(s, flags)).filter((id) => s.compiled.nodes.has(id));
        if (!everything) for (const id of ids) if (!s.compiled.nodes.get(id)!.executeError) files.add(id, s.compiled.nodes.get(id)!.sql);
        // Compact: for 10,000 models the indented manifest is 20% bigger and slower to write, and only programs read it.
        // Built here while the worker finishes the compiled files (handing 12 MB of text to the
        // worker would copy it), and written on libuv's pool.
        const manifest = writeJsonInBackground(path.join(targetDir, 'manifest.json'), s.manifest());
        manifest.catch(() => undefined); // awaited below, after the compiled files
        await files.finish();
        await manifest;
        // As dbt compile: a model whose render fails only with `execute` true fails alone (exit 1); the rest is written.
        const failed = ids.map((id) => s.compiled.nodes.get(id)!.executeError).filter((d) => d !== undefined);
        if (failed.length) s.removeFailedCompiled(ids);
        const written = ids.length - failed.length;
        c.reporter.record('compile', { models: written, errors: failed.length, elapsed_ms: Math.round(performance.now() - t0) }, `compiled ${written} model${written === 1 ? '' : 's'} to ${s.compiledPath(ids[0] ?? 'x.y').replace(/[^/]+\/[^/]+$/, '')} in ${Math.round(performance.now() - t0)} ms${failed.length ? `; ${failed.length} failed` : ''}`);
        if (failed.length) c.reporter.diagnostics(failed);
        return failed.length ? 1 : 0;
      } catch (e) {
        await files.abort();
        throw e;
      }
    })()));

  program.command('parse')
    .description("dbt's parse: read and render the project, check it, write target/manifest.json (no compiled files, no database)")
    .action(() => setCode((async () => {
      const c = ctx();
      const t0 = performance.now();
      const s = await c.session();
      const { writeJson } = await import('../../app/artifacts.js');
      writeJson(path.join(s.targetDir, 'manifest.json'), s.manifest(), true);
      c.reporter.record('parse', { nodes: s.compiled.nodes.size, elapsed_ms: Math.round(performance.now() - t0) }, `parsed ${s.compiled.nodes.size} model${s.compiled.nodes.size === 1 ? '' : 's'} into ${path.relative(process.cwd(), path.join(s.targetDir, 'manifest.json')) || 'manifest.json'} in ${Math.round(performance.now() - t0)} ms`);
      return 0;
    })()));

  program.command('ls').alias('list')
    .description('list the selected nodes (and tests: --resource-type test, or test selectors such as test_type:unit)')
    .option('-s, --select <selector...>', 'nodes to list', collect)
    .option('--exclude <selector...>', 'nodes to leave out', collect)
    .option('--resource-type <type...>', 'model, seed, snapshot, source, test, unit_test or all (default: models, seeds, snapshots and sources)', collect)
    .option('--exclude-resource-type <type...>', 'kinds to leave out (dbt\'s): the others are listed, tests too', collect)
    .option('--output <format>', 'name | path | json', 'name')
    .option('--indirect-selection <mode>', 'which tests come with the selected nodes: eager (default), cautious, buildable, empty')
    .action((flags: { select?: string[]; exclude?: string[]; resourceType?: string[]; excludeResourceType?: string[]; output: string; indirectSelection?: string }) => setCode((async () => {
      const c = ctx();
      const list = (v: string[] | undefined) => (v ?? []).flatMap((t) => t.split(/[\s,]+/)).filter(Boolean);
      const types = new Set(list(flags.resourceType));
      const excluded = new Set(list(flags.excludeResourceType));
      const known = ['model', 'seed', 'snapshot', 'source', 'test', 'unit_test', 'all'];
      const wrong = [...types, ...excluded].find((t) => !known.includes(t));
      if (wrong) throw new LakeError('usage', { code: 'LAKE-U004', severity: 'error', message: `--resource-type ${wrong} is not a resource type`, hint: `use ${known.join(', ')}` });
      if (!['name', 'path', 'json'].includes(flags.output)) throw new LakeError('usage', { code: 'LAKE-U006', severity: 'error', message: `--output ${flags.output} is not a format of lake ls`, hint: 'use name, path or json' });
      // dbt ls: the kinds left out of every kind (or of --resource-type's).
      if (excluded.size && types.size === 0) types.add('all');
      const wants = (t: string) => (types.has(t) || types.has('all')) && !excluded.has(t) && !excluded.has('all');
      const s = await c.session();
      const indirect = indirectSelection(flags.indirectSelection);
      // A YAML selector, with tests asked for: each leaf picks nodes and tests, then the set operations.
      const { QualityRun } = wants('test') || wants('unit_test') ? await import('../../dq/quality-run.js') : { QualityRun: undefined };
      const selector = QualityRun?.selector(s, c.reporter);
      const chosen = selector && c.selectorKeys(s, flags, (text, leafMode) => selector.keys({ select: text ? [text] : [], indirectSelection: leafMode === undefined ? indirect : indirectSelection(leafMode) }));
      if (!chosen) Object.assign(flags, c.selection(s, flags));
      // Node selection first; a selector it does not know may be a test's (a test name), and the
      // methods only tests have (test_type:unit) select no node.
      let ids: NodeId[] = [];
      let nodeError: unknown;
      try {
        ids = chosen ? s.dag.topoOrder().filter((id) => chosen.has(id)) : s.select(flags);
      } catch (e) {
        nodeError = e;
      }
      const testMethod = (flags.select ?? []).some((x) => TEST_METHOD.test(x));
      const listTests = wants('test') || wants('unit_test') || nodeError !== undefined || testMethod;
      let tests: { id: string; kind: 'test' | 'unit_test'; name: string; path?: string; tags: readonly string[]; dependsOn: readonly string[] }[] = [];
      if (listTests) {
        const Q = QualityRun ?? (await import('../../dq/quality-run.js')).QualityRun;
        let q;
        try {
          q = Q.plan(s, { mode: 'test', select: flags.select, exclude: flags.exclude, reporter: c.reporter, listOnly: true, indirectSelection: indirect, ...(chosen ? { chosen } : {}) }, selector);
        } catch (e) {
          throw nodeError ?? e;
        }
        // Only test selectors: no nodes.
        if (!chosen && (nodeError || testMethod)) ids = q.nodeSelect.length ? s.select({ select: q.nodeSelect, exclude: q.nodeExclude }) : [];
        const showTests = (k: string) => types.size === 0 || wants(k);
        tests = [
          ...(showTests('test') ? q.dataTests.map((t) => ({ id: t.id, kind: 'test' as const, name: t.name, path: t.file, tags: t.config.tags, dependsOn: t.parents })) : []),
          ...(showTests('unit_test') ? q.unitTests.map((t) => ({ id: t.id, kind: 'unit_test' as const, name: t.name, path: t.file, tags: t.tags, dependsOn: [t.model] })) : []),
        ];
      }
      const nodeTypes = ['model', 'seed', 'snapshot', 'source'].filter(wants);
      if (types.size > 0) ids = ids.filter((id) => (nodeTypes as string[]).includes(s.dag.node(id).kind));
      for (const id of ids) {
        const n = s.dag.node(id);
        if (flags.output === 'json') {
          const comp = s.compiled.nodes.get(id);
          // A source's schema is where its table is (the DAG names sources by source name).
          const schema = n.kind === 'source' ? s.project.sources.get(id)?.schema ?? n.schema : n.schema;
          process.stdout.write(`${JSON.stringify({ id, resource_type: n.kind, name: n.name, schema, path: n.path, tags: n.tags, materialized: comp?.config.materialized ?? (n.kind === 'seed' ? 'seed' : null), depends_on: s.dag.parents(id) })}\n`);
        } else {
          process.stdout.write(`${flags.output === 'path' ? n.path : id}\n`);
        }
      }
      for (const t of tests) {
        if (flags.output === 'json') process.stdout.write(`${JSON.stringify({ id: t.id, resource_type: t.kind, name: t.name, path: t.path ?? null, tags: t.tags, depends_on: t.dependsOn })}\n`);
        else process.stdout.write(`${flags.output === 'path' ? t.path ?? t.id : t.id}\n`);
      }
      return 0;
    })()));

  program.command('show')
    .description('preview the rows of a model, seed or ad-hoc query')
    .argument('[model]', 'model or seed name')
    .option('--limit <n>', 'rows to show', '10')
    .option('--inline <sql>', 'run this SQL (templated) instead')
    .action((model: string | undefined, flags: { limit: string; inline?: string }) => setCode((async () => {
      const c = ctx();
      const s = await c.session();
      let sql: string;
      let fromTable = false;
      let shownId: string | undefined;
      if (flags.inline) {
        const { renderAdhoc } = await import('../../compiler/compile.js');
        const r = renderAdhoc(s.compiler, flags.inline, '--inline');
        if (r.diagnostics.length) throw new LakeError('template', r.diagnostics);
        // A trailing ';' (and comments after it), as SQL pasted from an editor ends.
        sql = r.sql.replace(/;(\s|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*$/, '');
      } else {
        if (!model) throw new LakeError('usage', { code: 'LAKE-U010', severity: 'error', message: 'lake show needs a model name (or --inline SQL)', hint: 'e.g. lake show silver.users --limit 5' });
        const res = s.compiler.resolveRef(model);
        if (!res.id) throw unknownNodeError('LAKE-U011', res.problem!);
        const node = s.compiled.nodes.get(res.id);
        // As dbt show: a model's current SQL (as saved, not as last built) over its upstream tables —
        // except one reading a landing zone or a stream(), whose inputs exist only during a build:
        // its table is shown. A seed is its table, and a snapshot its history.
        fromTable = !node || node.landingReads.length > 0 || node.streamReads.length > 0 || node.node.resourceType === 'snapshot';
        sql = fromTable ? `select * from ${relationSql(s.compiler.relationOf(res.id)!)}` : node!.sql.replace(/;\s*$/, '');
        shownId = res.id;
      }
      const limit = Number(flags.limit);
      if (!/^\d+$/.test(flags.limit.trim()) || limit < 1) {
        throw new LakeError('usage', { code: 'LAKE-U012', severity: 'error', message: `--limit must be a positive integer, not ${flags.limit}`, hint: 'e.g. lake show silver.users --limit 20' });
      }
      const opened = await s.openDb('show');
      try {
        // A model that queries the database while rendering (run_query...) is rendered with it.
        if (shownId && !fromTable && s.compiled.nodes.get(shownId)?.introspective) sql = (await s.renderLive(opened.db, shownId)).replace(/;\s*$/, '');
        if (flags.inline && /\{[{%]/.test(flags.inline)) sql = (await s.renderInlineLive(opened.db, flags.inline)).replace(/;(\s|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*$/, '');
        // One row more than shown says whether there are more.
        const query = `select * from (\n${sql}\n) as __lake_show limit ${limit + 1}`;
        const described = await opened.db.describeQuery(query);
        const types = Object.fromEntries(described.map((col) => [col.name, col.type]));
        // Values JavaScript numbers cannot hold exactly (DECIMAL, HUGEINT...) are shown as DuckDB writes them.
        // Also inside a STRUCT, MAP or list: such a column is shown as DuckDB's text of it.
        const inexact = (type: string) => /\b(DECIMAL|NUMERIC|HUGEINT|UHUGEINT|UBIGINT)\b/i.test(type);
        const shown = described.some((col) => inexact(col.type))
          ? `select ${described.map((col) => (inexact(col.type) ? `${quoteIdent(col.name)}::varchar as ${quoteIdent(col.name)}` : quoteIdent(col.name))).join(', ')} from (\n${query}\n) as __lake_shown`
          : query;
        const fetched = await opened.db.query(shown);
        const more = fetched.length > limit;
        const rows = more ? fetched.slice(0, limit) : fetched;
        if (c.opts.logFormat === 'json') {
          for (const r of rows) c.reporter.record('row', r);
          if (more) c.reporter.record('truncated', { shown: limit });
        } else {
          c.reporter.info(formatTable(rows, undefined, types) + (more ? `\nshowing the first ${limit === 1 ? 'row' : `${limit} rows`}; there are more (--limit N to see more)` : ''));
        }
      } catch (e) {
        const hint = !shownId ? 'check the SQL'
          : fromTable ? `has ${shownId} been built? run lake ${s.compiled.nodes.get(shownId)?.node.resourceType === 'snapshot' ? 'snapshot' : 'run'} -s ${shownId}`
          : `lake show runs the model's SQL over the tables it reads: build them with lake run -s +${shownId} --exclude ${shownId}, or fix its SQL`;
        throw new LakeError('execute', { code: 'LAKE-X040', severity: 'error', message: (e as Error).message.split('\n')[0]!, hint }, 1);
      } finally {
        await opened.release();
      }
      return 0;
    })()));
}
