/**
 * Compile-speed benchmark (issue 2): generated projects of 1,000 and 10,000 models (1–3 refs each,
 * a config block, a macro call, a `for` loop in one model of ten, YAML docs for some), timed
 *
 *  - first compile: `node bin/lake.js compile` in a fresh process, no target/ folder (median of 3),
 *    against the floor of its output: a fresh process writing the same N files into a new folder;
 *  - re-compile: the same with target/ left by the previous compile (nothing to rewrite; renders
 *    reused from the render cache), and without the render cache (LAKE_RENDER_CACHE=0), against
 *    plain Nunjucks;
 *  - one-file change: in one process, load + compileAll, then edit one model file and call
 *    `Compiler.updateModel(path, text)` (what `lake watch` does) and write its compiled SQL
 *    (median of 20 edits);
 *
 * each against a baseline measured in the same run: plain Nunjucks (a fresh process that reads
 * every model and renders it with a fresh `nunjucks.Template`, the approach DESIGN.md measured),
 * and the floor: a fresh process that only reads the files.
 *
 * `node dist/bench/compile.js [--sizes 1000,10000] [--runs 3] [--keep]` — one JSON line on stdout,
 * a readable line per size on stderr.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomStream } from '../tools/generate/prng.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repository root (this file runs from dist/bench/). */
export const repoRoot = path.resolve(here, '..', '..');
const lakeBin = path.join(repoRoot, 'bin', 'lake.js');

const rng = randomStream;

const LAYERS = ['bronze', 'silver', 'gold'] as const;

/** File name stem of model i. */
export function modelName(i: number): string {
  return `m_${String(i).padStart(5, '0')}`;
}

/** Text of model i (refs only point at lower indexes, so the graph is a DAG). */
export function modelText(i: number, rand: () => number, variant = 0): string {
  const refs = new Set<number>();
  const want = i === 0 ? 0 : 1 + Math.floor(rand() * 3);
  while (refs.size < Math.min(want, i)) refs.add(Math.floor(rand() * i));
  const refList = [...refs];
  const mat = ['view', 'table', 'view', 'incremental'][i % 4];
  const lines: string[] = [];
  lines.push(mat === 'incremental'
    ? `{{ config(materialized='incremental', unique_key='id', tags=['gen', 'layer_${i % 3}']) }}`
    : `{{ config(materialized='${mat}', tags=['gen']) }}`);
  lines.push(`-- generated model ${i}${variant ? ` (edit ${variant})` : ''}`);
  if (i === 0) {
    lines.push('select 1 as id, 100 as amount_cents, \'a\' as kind');
    return `${lines.join('\n')}\n`;
  }
  if (i % 10 === 5) {
    lines.push('select');
    lines.push('  t0.id,');
    lines.push(`  {{ cents_to_dollars('t0.amount_cents') }} as amount,`);
    lines.push("{% for k in ['a', 'b', 'c'] %}");
    lines.push("  sum(case when t0.kind = '{{ k }}' then t0.amount_cents end) as cents_{{ k }}{% if not loop.last %},{% endif %}");
    lines.push('{% endfor %}');
    lines.push(`from {{ ref('${modelName(refList[0]!)}') }} as t0`);
    lines.push('group by all');
    return `${lines.join('\n')}\n`;
  }
  lines.push('select');
  lines.push('  t0.id,');
  lines.push('  t0.amount_cents,');
  lines.push(`  {{ cents_to_dollars('t0.amount_cents') }} as amount,`);
  lines.push('  t0.kind');
  lines.push(`from {{ ref('${modelName(refList[0]!)}') }} as t0`);
  refList.slice(1).forEach((r, k) => {
    lines.push(`left join {{ ref('${modelName(r)}') }} as t${k + 1} on t${k + 1}.id = t0.id`);
  });
  if (mat === 'incremental') {
    lines.push('{% if is_incremental() %}');
    lines.push('where t0.id > (select max(id) from {{ this }})');
    lines.push('{% endif %}');
  }
  return `${lines.join('\n')}\n`;
}

/** Write a generated project of `n` models into `dir`; returns the model paths (relative). */
export function generateProject(dir: string, n: number, seed = 42): string[] {
  const rand = rng(seed);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'project.yml'), [
    'name: bench',
    'targets:',
    '  dev: { type: duckdb, path: target/bench.duckdb, threads: 4 }',
    'vars:',
    '  start_date: "2026-01-01"',
    'models:',
    '  bronze: { materialized: view }',
    '  silver: { materialized: table }',
    '  gold: { materialized: table, tags: [gold] }',
    '',
  ].join('\n'));
  fs.mkdirSync(path.join(dir, 'macros'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'macros', 'cents_to_dollars.sql'), '{% macro cents_to_dollars(column, scale=2) -%}\nround({{ column }} / 100.0, {{ scale }})\n{%- endmacro %}\n');
  const paths: string[] = [];
  const yaml = new Map<string, string[]>();
  for (const layer of LAYERS) {
    fs.mkdirSync(path.join(dir, 'models', layer), { recursive: true });
    yaml.set(layer, ['models:']);
  }
  for (let i = 0; i < n; i++) {
    const layer = LAYERS[Math.min(2, Math.floor((i * 3) / n))]!;
    const rel = `models/${layer}/${modelName(i)}.sql`;
    fs.writeFileSync(path.join(dir, rel), modelText(i, rand));
    paths.push(rel);
    if (i % 10 === 0) {
      yaml.get(layer)!.push(`  - name: ${modelName(i)}`, `    description: Generated model ${i}.`, '    columns:', '      - name: id', '        description: The id.', '        data_tests: [not_null]');
    }
  }
  for (const [layer, lines] of yaml) fs.writeFileSync(path.join(dir, 'models', layer, 'schema.yml'), `${lines.join('\n')}\n`);
  return paths;
}

/** Wall time (ms) of a command in a fresh process; throws when it fails. */
function timeProcess(args: string[], cwd: string, env: Record<string, string> = {}): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Baseline scripts run in their own process, as lake does. */
const NAIVE_SCRIPT = `
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(path.join(repoRoot, 'package.json'))});
const nunjucks = require('nunjucks');
const dir = process.argv[2];
const env = new nunjucks.Environment(null, { autoescape: false });
const macros = fs.readFileSync(path.join(dir, 'macros', 'cents_to_dollars.sql'), 'utf8');
let exported;
new nunjucks.Template(macros, env, 'm', true).getExported({}, null, (e, ex) => { exported = ex; });
env.addGlobal('cents_to_dollars', exported.cents_to_dollars);
env.addGlobal('config', () => '');
env.addGlobal('ref', (n) => '"main"."' + n + '"');
env.addGlobal('is_incremental', () => false);
env.addGlobal('this', '"main"."this"');
let bytes = 0;
for (const layer of fs.readdirSync(path.join(dir, 'models'))) {
  for (const f of fs.readdirSync(path.join(dir, 'models', layer))) {
    if (!f.endsWith('.sql')) continue;
    const text = fs.readFileSync(path.join(dir, 'models', layer, f), 'utf8');
    bytes += new nunjucks.Template(text, env, f, true).render({}).length;
  }
}
if (!bytes) process.exit(1);
`;

/** The floor of a first compile's output: the same files (copied from a compile) written into a new folder. */
const WRITE_SCRIPT = `
import * as fs from 'node:fs';
import * as path from 'node:path';
const [from, to] = process.argv.slice(2);
const files = [];
for (const schema of fs.readdirSync(from)) {
  if (schema.startsWith('.')) continue;
  for (const f of fs.readdirSync(path.join(from, schema))) files.push([schema, f, fs.readFileSync(path.join(from, schema, f), 'utf8')]);
}
const t0 = performance.now();
const made = new Set();
for (const [schema, f, text] of files) {
  const dir = path.join(to, schema);
  if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); made.add(dir); }
  fs.writeFileSync(path.join(dir, f), text);
}
if (!files.length) process.exit(1);
`;

const READ_SCRIPT = `
import * as fs from 'node:fs';
import * as path from 'node:path';
const dir = process.argv[2];
let bytes = 0;
for (const layer of fs.readdirSync(path.join(dir, 'models'))) {
  for (const f of fs.readdirSync(path.join(dir, 'models', layer))) bytes += fs.readFileSync(path.join(dir, 'models', layer, f), 'utf8').length;
}
if (!bytes) process.exit(1);
`;

export interface CompileBenchResult {
  readonly models: number;
  /** `lake compile` in a fresh process, no target/ folder yet (a first compile). */
  readonly coldMs: number;
  /** `lake compile` in a fresh process, target/ left by a previous compile (compiled files unchanged). */
  readonly recompileMs: number;
  /** The same without the render cache (LAKE_RENDER_CACHE=0): every model rendered again. */
  readonly noCacheMs: number;
  /** A fresh process writing the same compiled files into a new folder: the floor of a first compile's output. */
  readonly writeMs: number;
  readonly naiveMs: number;
  readonly readMs: number;
  readonly versionMs: number;
  readonly oneFileMs: number;
  readonly oneFileP95Ms: number;
  /** The one-file change plus `Session.fromCompiler` (DAG rebuilt and checked). */
  readonly oneFileSessionMs: number;
  readonly fastPathShare: number;
}

/** In-process: load + compile, then time 20 one-file edits through Compiler.updateModel. */
async function oneFileChange(dir: string, paths: readonly string[]): Promise<{ median: number; p95: number; withSession: number; fastShare: number }> {
  const { loadProject } = await import(pathToFileURL(path.join(repoRoot, 'dist/src/project/load.js')).href) as typeof import('../src/project/load.js');
  const { Compiler } = await import(pathToFileURL(path.join(repoRoot, 'dist/src/compiler/compile.js')).href) as typeof import('../src/compiler/compile.js');
  const project = loadProject(dir);
  const compiler = new Compiler(project);
  const compiled = compiler.compileAll();
  if (compiled.diagnostics.some((d) => d.severity === 'error')) throw new Error(`bench project has errors: ${compiled.diagnostics[0]!.message}`);
  const { Session } = await import(pathToFileURL(path.join(repoRoot, 'dist/src/app/session.js')).href) as typeof import('../src/app/session.js');
  const rand = rng(7);
  const times: number[] = [];
  const sessionTimes: number[] = [];
  for (let k = 1; k <= 20; k++) {
    const i = 1 + Math.floor(rand() * (paths.length - 1));
    const rel = paths[i]!;
    const text = modelText(i, rng(1000 + i), k);
    const abs = path.join(dir, rel);
    fs.writeFileSync(abs, text);
    const t0 = performance.now();
    // What the watch loop does after chokidar reports the change: read the file, recompile, write.
    const update = compiler.updateModel(abs, fs.readFileSync(abs, 'utf8'));
    for (const id of update.changed) {
      const n = compiler.compiledNode(id);
      if (!n) continue;
      const out = path.join(dir, 'target', 'compiled', n.relation.schema, `${n.node.name}.sql`);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, `${n.sql}\n`);
    }
    times.push(performance.now() - t0);
    if (update.diagnostics.some((d) => d.severity === 'error')) throw new Error(`edit broke the model: ${update.diagnostics[0]!.message}`);
    // What a Session over the updated compiler adds (the DAG of every node is rebuilt and checked for cycles).
    const t1 = performance.now();
    Session.fromCompiler(compiler);
    sessionTimes.push(times[times.length - 1]! + (performance.now() - t1));
  }
  const sorted = [...times].sort((a, b) => a - b);
  const stats = compiler.engine.stats;
  return { median: median(times), p95: sorted[Math.ceil(sorted.length * 0.95) - 1]!, withSession: median(sessionTimes), fastShare: stats.fast / (stats.fast + stats.nunjucks) };
}

/**
 * The timed compiles must have left complete output (the process writes files off its main
 * thread and must not exit before they are done): every model's compiled file is its SQL from
 * manifest.json plus a newline, and the index lists every one of them.
 */
function verifyOutput(dir: string): void {
  const target = path.join(dir, 'target');
  const manifest = JSON.parse(fs.readFileSync(path.join(target, 'manifest.json'), 'utf8')) as { nodes: Record<string, { resource_type: string; schema: string; name: string; compiled_sql: string }> };
  const index = JSON.parse(fs.readFileSync(path.join(target, 'compiled', '.lake-index.json'), 'utf8')) as Record<string, string>;
  for (const node of Object.values(manifest.nodes)) {
    if (node.resource_type !== 'model') continue;
    const rel = `${node.schema}/${node.name}.sql`;
    if (fs.readFileSync(path.join(target, 'compiled', rel), 'utf8') !== `${node.compiled_sql}\n`) throw new Error(`target/compiled/${rel} is not the model's compiled SQL`);
    if (!index[rel]) throw new Error(`target/compiled/${rel} is missing from the index`);
  }
}

/** Run the benchmark for one project size. */
export async function benchSize(n: number, keep = false, runs = 3): Promise<CompileBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lake-bench-compile-${n}-`));
  try {
    const paths = generateProject(dir, n);
    const naiveFile = path.join(dir, 'naive.mjs');
    const readFile = path.join(dir, 'read.mjs');
    const writeFile = path.join(dir, 'write.mjs');
    fs.writeFileSync(naiveFile, NAIVE_SCRIPT);
    fs.writeFileSync(readFile, READ_SCRIPT);
    fs.writeFileSync(writeFile, WRITE_SCRIPT);
    // One untimed run of each warms the OS file cache, so every timing below starts from the same place.
    timeProcess([readFile, dir], dir);
    timeProcess([lakeBin, 'compile'], dir);
    const cold: number[] = [];
    const recompile: number[] = [];
    const noCache: number[] = [];
    const naive: number[] = [];
    const read: number[] = [];
    const write: number[] = [];
    const version: number[] = [];
    // Old outputs are moved aside, not deleted, until the end: deleting 10,000 files right before a
    // run makes the file system slow to create new ones, which a user's first compile does not see.
    const aside = path.join(dir, 'aside');
    fs.mkdirSync(aside);
    let moved = 0;
    const moveAside = (p: string) => { if (fs.existsSync(p)) fs.renameSync(p, path.join(aside, String(moved++))); };
    for (let k = 0; k < runs; k++) {
      // Interleaved, so a burst of load on a shared machine hits every series alike.
      moveAside(path.join(dir, 'target'));
      cold.push(timeProcess([lakeBin, 'compile'], dir));
      // Untimed: the first compile's own output is complete once its process has exited.
      if (k === 0) verifyOutput(dir);
      recompile.push(timeProcess([lakeBin, 'compile'], dir));
      noCache.push(timeProcess([lakeBin, 'compile'], dir, { LAKE_RENDER_CACHE: '0' }));
      naive.push(timeProcess([naiveFile, dir], dir));
      read.push(timeProcess([readFile, dir], dir));
      const out = path.join(dir, 'written');
      moveAside(out);
      write.push(timeProcess([writeFile, path.join(dir, 'target', 'compiled'), out], dir));
      version.push(timeProcess([lakeBin, '--version'], dir));
    }
    const count = fs.readdirSync(path.join(dir, 'target', 'compiled'), { recursive: true }).filter((f) => String(f).endsWith('.sql')).length;
    if (count !== n) throw new Error(`lake compile wrote ${count} compiled files, expected ${n}`);
    verifyOutput(dir);
    const one = await oneFileChange(dir, paths);
    return {
      models: n, coldMs: median(cold), recompileMs: median(recompile), noCacheMs: median(noCache), naiveMs: median(naive), readMs: median(read),
      writeMs: median(write), versionMs: median(version),
      oneFileMs: one.median, oneFileP95Ms: one.p95, oneFileSessionMs: one.withSession, fastPathShare: one.fastShare,
    };
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : dflt);
  const sizes = opt('--sizes', '1000,10000').split(',').map(Number);
  const runs = Number(opt('--runs', '3'));
  const keep = args.includes('--keep');
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const n of sizes) {
    const r = await benchSize(n, keep, runs);
    console.error(`compile ${n.toLocaleString('en-US')} models (fresh processes): first compile ${fmt(r.coldMs)} (writing its ${n.toLocaleString('en-US')} files alone: ${fmt(r.writeMs)}), re-compile ${fmt(r.recompileMs)}, without the render cache ${fmt(r.noCacheMs)} (plain Nunjucks ${fmt(r.naiveMs)}, reading the files alone ${fmt(r.readMs)}, lake --version ${fmt(r.versionMs)}); one-file change ${fmt(r.oneFileMs)} median, ${fmt(r.oneFileP95Ms)} p95 (${fmt(r.oneFileSessionMs)} with a new Session); fast path ${(r.fastPathShare * 100).toFixed(0)}% of models`);
    const big = n >= 10_000;
    if (big) ok &&= r.coldMs <= 1000 && r.oneFileMs <= 50;
    out[String(n)] = {
      first_compile_ms: Math.round(r.coldMs), write_files_ms: Math.round(r.writeMs), recompile_ms: Math.round(r.recompileMs),
      no_cache_ms: Math.round(r.noCacheMs), plain_nunjucks_ms: Math.round(r.naiveMs), read_files_ms: Math.round(r.readMs), lake_version_ms: Math.round(r.versionMs),
      ratio: +(r.noCacheMs / r.naiveMs).toFixed(2), recompile_ratio: +(r.recompileMs / r.naiveMs).toFixed(2),
      first_compile_minus_writes_ms: Math.round(r.coldMs - r.writeMs),
      one_file_ms: +r.oneFileMs.toFixed(1), one_file_p95_ms: +r.oneFileP95Ms.toFixed(1), one_file_with_session_ms: +r.oneFileSessionMs.toFixed(1), fast_path_share: +r.fastPathShare.toFixed(3),
      ...(big ? { goal: 'first compile <= 1000 ms, one-file change <= 50 ms', ok: r.coldMs <= 1000 && r.oneFileMs <= 50 } : {}),
    };
  }
  console.log(JSON.stringify({ bench: 'compile', runs, sizes: out, ok }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error((e as Error).stack ?? String(e));
    process.exitCode = 1;
  });
}
