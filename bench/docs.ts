/**
 * Docs benchmark (issue 6): a generated 1,000-model project (sources over tables an on_run_start
 * hook creates → bronze views → silver tables → gold views; 1–3 refs each, CTEs, joins,
 * aggregates, a few columns each) is built once with `lake run`, then timed:
 *
 *  - generate: `node bin/lake.js docs generate` in a fresh process, wall clock (median of N);
 *    goal ≤ 2 s;
 *  - baseline: in a fresh process, only the docs module renders the same site from the
 *    manifest/catalog/run results that generate wrote (no session, no database, no lineage):
 *    the ratio generate / baseline is what lake's own steps cost;
 *  - phases: the steps of `lake docs generate` timed one by one in this process (load + compile,
 *    open database, column lineage, catalog, docs data + layout, write), to show where time goes;
 *  - interactive: the page opened from file:// in headless Chromium, navigation start → the app's
 *    ready signal (`window.lakeDocsReadyMs`, performance.now() when the client set
 *    `lakeDocsReady`), fresh browser context each time (median of N); goal ≤ 2 s. Also a click on a
 *    node → its panel, and a click on a column → lineage highlighted.
 *
 * Prints one JSON line of figures. `node dist/bench/docs.js [--models 1000] [--runs 5] [--keep]
 * [--profile]` (`--profile` also writes a V8 CPU profile of one generate and prints the top
 * functions and files by self time).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomStream } from '../tools/generate/prng.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repository root (this file runs from dist/bench/). */
const repoRoot = path.resolve(here, '..', '..');
const lakeBin = path.join(repoRoot, 'bin', 'lake.js');
const dist = (rel: string): string => pathToFileURL(path.join(repoRoot, 'dist', rel)).href;
const CHROMIUM = '/usr/bin/chromium';

const rng = randomStream;

const pad = (i: number): string => String(i).padStart(4, '0');

/** `k` distinct picks out of `0..n-1`. */
function pick(rand: () => number, n: number, k: number): number[] {
  const out = new Set<number>();
  while (out.size < Math.min(k, n)) out.add(Math.floor(rand() * n));
  return [...out];
}

export interface GeneratedProject {
  readonly dir: string;
  readonly models: number;
  readonly sources: number;
}

/**
 * Write a medallion project of `models` models: 20% bronze views over sources, 50% silver tables
 * over bronze or earlier silver, 30% gold views aggregating silver. Tables in sources have 200 rows.
 */
export function generateProject(models: number, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-docs-bench-'))): GeneratedProject {
  const rand = rng(20240601);
  const nSources = Math.max(2, Math.round(models / 50));
  const nBronze = Math.max(1, Math.round(models * 0.2));
  const nGold = Math.max(1, Math.round(models * 0.3));
  const nSilver = Math.max(1, models - nBronze - nGold);
  const write = (rel: string, text: string): void => {
    const abs = path.join(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, text);
  };
  const tables = Array.from({ length: nSources }, (_, k) => `src_${pad(k)}`);
  const hook = tables
    .map(
      (t, k) =>
        `create table if not exists raw.${t} as select i as id, ((i * ${k + 7}) % 997)::double as amount, ['a', 'b', 'c', 'd'][i % 4 + 1] as kind, timestamp '2024-01-01' + to_minutes(i * ${k + 1}) as ts from range(200) r(i)`,
    )
    .join(';\n    ');
  write(
    'project.yml',
    `name: docs_bench
target: dev
targets:
  dev: { type: duckdb, path: target/bench.duckdb, threads: 2 }
on_run_start:
  - create schema if not exists raw
  - >-
    ${hook}
models:
  bronze: { materialized: view }
  silver: { materialized: table }
  gold: { materialized: view }
`,
  );
  write(
    'models/sources.yml',
    `sources:\n  - name: raw\n    schema: raw\n    tables:\n${tables.map((t) => `      - name: ${t}\n        description: Raw feed ${t}.`).join('\n')}\n`,
  );

  // bronze: 1–3 sources joined on id
  for (let i = 0; i < nBronze; i++) {
    const src = pick(rand, nSources, 1 + Math.floor(rand() * 3));
    const amount = src.map((_, j) => (j === 0 ? 's0.amount' : `coalesce(s${j}.amount, 0)`)).join(' + ');
    const joins = src.slice(1).map((s, j) => `left join {{ source('raw', '${tables[s]}') }} s${j + 1} on s${j + 1}.id = s0.id`);
    write(
      `models/bronze/b_${pad(i)}.sql`,
      [`select s0.id, ${amount} as amount, s0.kind, s0.ts`, `from {{ source('raw', '${tables[src[0]!]}') }} s0`, ...joins, ''].join('\n'),
    );
  }
  // silver: a CTE over a bronze model, joined with 0–2 more bronze or earlier silver models
  for (let i = 0; i < nSilver; i++) {
    const first = `b_${pad(Math.floor(rand() * nBronze))}`;
    const more = pick(rand, nBronze + i, Math.floor(rand() * 3)).map((k) => (k < nBronze ? `b_${pad(k)}` : `s_${pad(k - nBronze)}`)).filter((m) => m !== first);
    const lines = [`with base as (`, `  select id, amount, kind, ts from {{ ref('${first}') }} where amount >= 0`, `)`];
    const amount = ['base.amount * 1.1', ...more.map((_, j) => `coalesce(t${j + 1}.amount, 0)`)].join(' + ');
    const kind = more.length ? `coalesce(t1.kind, base.kind)` : 'base.kind';
    lines.push(`select base.id, ${amount} as amount, ${kind} as kind, base.ts, date_trunc('day', base.ts) as day`);
    lines.push('from base');
    more.forEach((m, j) => lines.push(`left join {{ ref('${m}') }} t${j + 1} on t${j + 1}.id = base.id`));
    write(`models/silver/s_${pad(i)}.sql`, `${lines.join('\n')}\n`);
  }
  // gold: aggregates over 1–3 silver models
  for (let i = 0; i < nGold; i++) {
    const refs = pick(rand, nSilver, 1 + Math.floor(rand() * 3)).map((k) => `s_${pad(k)}`);
    const lines = [
      `select t0.kind, t0.day, sum(t0.amount${refs.slice(1).map((_, j) => ` + coalesce(t${j + 1}.amount, 0)`).join('')}) as total, count(*) as n, max(t0.ts) as last_ts`,
      `from {{ ref('${refs[0]}') }} t0`,
      ...refs.slice(1).map((r, j) => `left join {{ ref('${r}') }} t${j + 1} on t${j + 1}.id = t0.id`),
      'group by all',
    ];
    write(`models/gold/g_${pad(i)}.sql`, `${lines.join('\n')}\n`);
  }
  write(
    'models/gold/schema.yml',
    `models:\n${Array.from({ length: Math.min(nGold, 50) }, (_, i) => `  - name: g_${pad(i)}\n    description: Daily totals ${i}.\n    columns:\n      - name: total\n        description: Sum of amounts`).join('\n')}\n`,
  );
  return { dir, models: nBronze + nSilver + nGold, sources: nSources };
}

interface Proc {
  readonly code: number | null;
  readonly ms: number;
  /** CPU time of the child, user + system, all its threads (DuckDB's included). */
  readonly cpuMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A preload that writes the process's CPU time at exit: on a shared machine wall time swings with
 * the load, CPU time much less, so both are reported.
 */
const CPU_PRELOAD = `import { writeFileSync } from 'node:fs';
process.on('exit', () => { const u = process.cpuUsage(); writeFileSync(process.env.LAKE_BENCH_CPU_OUT, String((u.user + u.system) / 1000)); });
`;

function node(args: readonly string[], cwd: string): Proc {
  const preload = path.join(cwd, '.bench-cpu.mjs');
  const out = path.join(cwd, '.bench-cpu.txt');
  if (!fs.existsSync(preload)) fs.writeFileSync(preload, CPU_PRELOAD);
  fs.rmSync(out, { force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', LAKE_BENCH_CPU_OUT: out },
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  const cpuMs = fs.existsSync(out) ? Number(fs.readFileSync(out, 'utf8')) : NaN;
  return { code: r.status, ms, cpuMs, stdout: r.stdout, stderr: r.stderr };
}

function must(p: Proc, what: string): Proc {
  if (p.code !== 0) throw new Error(`${what} failed (exit ${p.code}):\n${p.stderr || p.stdout}`);
  return p;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

/** The script of the baseline process: the docs module alone, from the files generate wrote. */
function baselineScript(target: string, out: string): string {
  return `
const t0 = performance.now();
const { readDocsInputs } = await import(${JSON.stringify(dist('src/docs/inputs.js'))});
const { buildDocsData } = await import(${JSON.stringify(dist('src/docs/docs-data.js'))});
const { writeSite } = await import(${JSON.stringify(dist('src/docs/site.js'))});
const t1 = performance.now();
const i = readDocsInputs(${JSON.stringify(target)});
const t2 = performance.now();
const data = buildDocsData(i.manifest, i.catalog, i.runResults);
const t3 = performance.now();
writeSite(${JSON.stringify(out)}, data);
const t4 = performance.now();
console.log(JSON.stringify({ import: t1 - t0, read: t2 - t1, data: t3 - t2, write: t4 - t3 }));
`;
}

/** The steps of `lake docs generate`, timed one by one in this process. */
async function phases(dir: string): Promise<Record<string, number>> {
  const { Session } = (await import(dist('src/app/session.js'))) as typeof import('../src/app/session.js');
  const { projectLineage, lineageForManifest } = (await import(dist('src/app/lineage.js'))) as typeof import('../src/app/lineage.js');
  const { buildCatalog } = (await import(dist('src/app/catalog.js'))) as typeof import('../src/app/catalog.js');
  const { parseModelSql } = (await import(dist('src/lineage/index.js'))) as typeof import('../src/lineage/index.js');
  const { writeJson } = (await import(dist('src/app/artifacts.js'))) as typeof import('../src/app/artifacts.js');
  const { readDocsInputs } = (await import(dist('src/docs/inputs.js'))) as typeof import('../src/docs/inputs.js');
  const { buildDocsData } = (await import(dist('src/docs/docs-data.js'))) as typeof import('../src/docs/docs-data.js');
  const { layoutGraph } = (await import(dist('src/docs/layout.js'))) as typeof import('../src/docs/layout.js');
  const { writeSite } = (await import(dist('src/docs/site.js'))) as typeof import('../src/docs/site.js');
  const out: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    out[name] = r1(now - t);
    t = now;
  };
  const s = Session.open({ projectDir: dir });
  lap('load_compile');
  const opened = await s.openDb('docs generate');
  lap('open_db');
  try {
    const lineage = await projectLineage(s, opened.db);
    lap('lineage');
    // what projectLineage's one parse call replaced: one engine round trip per model
    const sqls = [...s.compiled.nodes.values()].map((n) => n.sql);
    for (const sql of sqls) await parseModelSql(opened.db, [sql]);
    lap('compare_parse_one_call_per_model');
    await parseModelSql(opened.db, sqls);
    lap('compare_parse_batched');
    s.writeArtifacts();
    writeJson(path.join(s.targetDir, 'manifest.json'), s.manifest(lineageForManifest(lineage)));
    lap('write_manifest');
    writeJson(path.join(s.targetDir, 'catalog.json'), await buildCatalog(s, opened.db));
    lap('catalog');
  } finally {
    await opened.release();
  }
  lap('close_db');
  const inputs = readDocsInputs(s.targetDir);
  lap('read_inputs');
  const data = buildDocsData(inputs.manifest, inputs.catalog, inputs.runResults);
  lap('docs_data');
  writeSite(path.join(s.targetDir, 'docs-phases'), data);
  lap('render_write');
  // the layout alone (it is part of docs_data)
  const sizes = data.nodes.map(() => ({ w: 180, h: 40 }));
  const t0 = performance.now();
  layoutGraph(sizes, data.edges);
  out.of_which_layout = r1(performance.now() - t0);
  return out;
}

interface BrowserFigures {
  readonly ready_ms: number[];
  readonly click_node_ms: number;
  readonly click_column_ms: number;
  readonly highlighted_nodes: number;
}

async function browserTimes(file: string, runs: number): Promise<BrowserFigures | { skipped: string }> {
  if (!fs.existsSync(CHROMIUM)) return { skipped: `${CHROMIUM} not found (scripts/install-chromium.sh)` };
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const url = pathToFileURL(file).href;
    const ready: number[] = [];
    let clickNode = NaN;
    let clickColumn = NaN;
    let highlighted = 0;
    for (let i = 0; i < runs + 1; i++) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(url, { timeout: 120_000 });
      await page.waitForFunction(() => (window as unknown as { lakeDocsReady?: boolean }).lakeDocsReady === true, undefined, { timeout: 120_000 });
      const ms = await page.evaluate(() => (window as unknown as { lakeDocsReadyMs: number }).lakeDocsReadyMs);
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
      // the first load warms Chromium itself (process start, font cache): not counted
      if (i > 0) ready.push(ms);
      if (i === runs) {
        // one interaction on the last page: search a silver model, Enter opens it, then click a column
        await page.fill('#search', 's_0007');
        const t0 = performance.now();
        await page.press('#search', 'Enter');
        await page.waitForSelector('#panel tr.col[data-col="amount"]');
        clickNode = performance.now() - t0;
        const t1 = performance.now();
        await page.click('#panel tr.col[data-col="amount"]');
        await page.waitForSelector('#graph g.n.hl-self');
        clickColumn = performance.now() - t1;
        highlighted = await page.locator('#graph g.n.hl-up, #graph g.n.hl-down').count();
      }
      await context.close();
    }
    return { ready_ms: ready.map(r1), click_node_ms: r1(clickNode), click_column_ms: r1(clickColumn), highlighted_nodes: highlighted };
  } finally {
    await browser.close();
  }
}

/** Self time per function and per file from a .cpuprofile, top `n` of each. */
function summariseProfile(file: string, n = 15): { functions: [string, number][]; files: [string, number][]; total_ms: number } {
  interface CpuNode {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: CpuNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    const url = cf.url.replace(pathToFileURL(repoRoot).href + '/', '').replace(/^.*node_modules\//, 'node_modules/');
    const fn = `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    const key = url || cf.functionName || '(native)';
    files.set(key, (files.get(key) ?? 0) + us);
    total += us;
  }
  const top = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, r1(v / 1000)]);
  return { functions: top(fns), files: top(files), total_ms: r1(total / 1000) };
}

async function main(argv: readonly string[]): Promise<void> {
  const arg = (name: string, dflt: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
  };
  const models = Number(arg('--models', '1000'));
  const runs = Number(arg('--runs', '5'));
  const keep = argv.includes('--keep');
  const profile = argv.includes('--profile');

  const project = generateProject(models);
  const dir = project.dir;
  try {
    const run = must(node([lakeBin, 'run'], dir), 'lake run');
    const script = path.join(dir, 'baseline.mjs');
    fs.writeFileSync(script, baselineScript(path.join(dir, 'target'), path.join(dir, 'target/docs-baseline')));
    // generate and baseline alternate, so both see the same load on a shared machine
    const generate: number[] = [];
    const generateCpu: number[] = [];
    const reported: number[] = [];
    const baseline: number[] = [];
    const baselineCpu: number[] = [];
    let baselineSteps: Record<string, number> = {};
    const load0 = os.loadavg()[0]!;
    for (let i = 0; i < runs; i++) {
      const g = must(node([lakeBin, '--log-format', 'json', 'docs', 'generate'], dir), 'lake docs generate');
      generate.push(g.ms);
      generateCpu.push(g.cpuMs);
      const rec = g.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; elapsed_ms?: number }).find((x) => x.kind === 'docs');
      if (rec?.elapsed_ms !== undefined) reported.push(rec.elapsed_ms);
      const b = must(node([script], dir), 'baseline');
      baseline.push(b.ms);
      baselineCpu.push(b.cpuMs);
      baselineSteps = JSON.parse(b.stdout) as Record<string, number>;
    }
    const html = path.join(dir, 'target/docs/index.html');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8')) as { column_lineage?: Record<string, Record<string, unknown[]>> };
    const lineageEdges = Object.values(manifest.column_lineage ?? {}).reduce((a, cols) => a + Object.values(cols).reduce((b, e) => b + e.length, 0), 0);
    // only the generated-at stamp may differ between the two pages
    const strip = (f: string): string => fs.readFileSync(f, 'utf8').replace(/"generatedAt":"[^"]*"/, '').replace(/generated \d{4}-\d\d-\d\d \d\d:\d\d UTC/, '');
    const samePage = strip(html) === strip(path.join(dir, 'target/docs-baseline/index.html'));

    const steps = await phases(dir);
    const browser = await browserTimes(html, runs);

    let prof: ReturnType<typeof summariseProfile> | undefined;
    if (profile) {
      const profDir = path.join(dir, 'prof');
      must(node(['--cpu-prof', '--cpu-prof-dir', profDir, lakeBin, 'docs', 'generate'], dir), 'profiled generate');
      const f = fs.readdirSync(profDir).find((x) => x.endsWith('.cpuprofile'))!;
      prof = summariseProfile(path.join(profDir, f));
    }

    const gen = median(generate);
    const base = median(baseline);
    const readyMedian = 'ready_ms' in browser ? median(browser.ready_ms) : undefined;
    const figures = {
      bench: 'docs',
      models: project.models,
      sources: project.sources,
      runs,
      lake_run_ms: Math.round(run.ms),
      column_lineage_edges: lineageEdges,
      html_bytes: fs.statSync(html).size,
      generate_wall_ms: { median: Math.round(gen), min: Math.round(Math.min(...generate)), all: generate.map(Math.round), cpu_median: Math.round(median(generateCpu)), in_process_median: reported.length ? Math.round(median(reported)) : undefined, goal: 2000 },
      baseline_docs_only_wall_ms: { median: Math.round(base), min: Math.round(Math.min(...baseline)), all: baseline.map(Math.round), cpu_median: Math.round(median(baselineCpu)), steps: Object.fromEntries(Object.entries(baselineSteps).map(([k, v]) => [k, r1(v)])) },
      generate_over_baseline: Math.round((gen / base) * 100) / 100,
      same_page: samePage,
      generate_phases_ms: steps,
      interactive_ms: readyMedian !== undefined ? { median: Math.round(readyMedian), ...browser, goal: 2000 } : browser,
      profile: prof,
      node: process.version,
      cpus: os.cpus().length,
      // 1-minute load average before and after the timed runs: others share these 2 cores
      load_avg: [r1(load0), r1(os.loadavg()[0]!)],
      dir: keep ? dir : undefined,
    };
    console.log(JSON.stringify(figures));
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  });
}
