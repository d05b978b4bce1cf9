/**
 * Data-test benchmark (issue 5): 1,000 data tests over one 1,000,000-row table, run by lake,
 * against the same checks written by hand as ONE SQL statement for the table (the best a person
 * can do), and against one query per test (what dbt runs) for scale.
 *
 * The table (built by lake as a model) has 38 columns: an id, 15 integer, 10 double and 10
 * category columns, a second unique key and a timestamp. The 1,000 tests: not_null on every
 * column (and 55 with a `where`), unique (2), accepted_values (80), accepted_range (500),
 * expression_is_true (300), row_count (10), recency (10), unique_combination_of_columns (5).
 * All pass, as on a healthy day.
 *
 * Timed, median of --runs rounds (default 5; each round runs the three in turn, so the drifting
 * load of a shared machine hits them alike, and ratios are medians of per-round ratios), after
 * one warm-up of each:
 *  - lake (engine): QualityRun + Session.run of `lake test` in this process — planning the
 *    tests, opening the database, running them, writing run_results;
 *  - lake (CLI): `node bin/lake.js test` in a fresh process (load + compile + all of the above);
 *  - by hand: the single hand-written statement on the same database file, written the fast way
 *    for DuckDB (`count_if(...)`); with --with-filter also once written with FILTER clauses
 *    (`count(*) filter (where ...)`, the common way — quadratically slow in DuckDB 1.5);
 *  - one query per test: once (it is slow), on one connection.
 *
 * `node dist/bench/dq.js [--rows 1000000] [--runs 3] [--keep] [--with-filter]`
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Session } from '../src/app/session.js';
import { MemoryReporter } from '../src/reporter/reporters.js';
import { QualityRun } from '../src/dq/quality-run.js';
import { countSql } from '../src/dq/run-data-tests.js';
import { DuckDBAdapter } from '../src/adapter/duckdb/adapter.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const lakeBin = path.join(repoRoot, 'bin', 'lake.js');

const INTS = 15;
const DBLS = 10;
const CATS = 10;
const CAT_VALUES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

interface Check {
  /** YAML for the test under its column (or the model when column is undefined). */
  readonly yaml: string;
  readonly column?: string;
  /** The hand-written aggregate (0 = pass), as an expert writes it for DuckDB (count_if). */
  readonly hand: string;
}

/** The same aggregate with a FILTER clause, as most people write it. */
function withFilter(hand: string): string {
  return hand.startsWith('count_if(') && hand.endsWith(')') ? `count(*) filter (where ${hand.slice('count_if('.length, -1)})` : hand;
}

function modelSql(rows: number): string {
  const cols = [
    'range as id',
    ...Array.from({ length: INTS }, (_, i) => `((range * ${i + 7}) % ${1000 + i})::integer as i${i}`),
    ...Array.from({ length: DBLS }, (_, i) => `((range % ${997 + i}) / ${i + 3}.0)::double as d${i}`),
    ...Array.from({ length: CATS }, (_, i) => `(['${CAT_VALUES.join("','")}'])[1 + ((range + ${i}) % 5)::integer] as c${i}`),
    "'k-' || range::varchar as code",
    "now()::timestamp - (range % 3600) * interval 1 second as updated_at",
  ];
  return `{{ config(materialized='table') }}\nselect\n  ${cols.join(',\n  ')}\nfrom range(${rows})`;
}

/** The 1,000 checks, each as YAML for lake and as a hand-written aggregate. */
function checks(rows: number): Check[] {
  const out: Check[] = [];
  let n = 0;
  const name = () => `t${String(n++).padStart(4, '0')}`;
  const cfg = (extra = '') => `config: {name: ${name()}${extra}}`;
  const allCols = ['id', ...Array.from({ length: INTS }, (_, i) => `i${i}`), ...Array.from({ length: DBLS }, (_, i) => `d${i}`), ...Array.from({ length: CATS }, (_, i) => `c${i}`), 'code', 'updated_at'];
  for (const c of allCols) out.push({ column: c, yaml: `- not_null: {${cfg()}}`, hand: `count_if(${c} is null)` });
  for (const c of ['id', 'code']) out.push({ column: c, yaml: `- unique: {${cfg()}}`, hand: `count(${c}) - count(distinct ${c})` });
  for (let i = 0; i < CATS; i++) {
    for (let v = 0; v < 8; v++) {
      const values = [...CAT_VALUES, ...Array.from({ length: v }, (_, k) => `extra${k}`)];
      out.push({ column: `c${i}`, yaml: `- accepted_values: {values: [${values.join(', ')}], ${cfg()}}`, hand: `count_if(c${i} not in (${values.map((x) => `'${x}'`).join(', ')}))` });
    }
  }
  for (let i = 0; i < INTS; i++) {
    for (let v = 0; v < 20; v++) {
      const max = 1000 + i + v;
      out.push({ column: `i${i}`, yaml: `- accepted_range: {min: 0, max: ${max}, ${cfg()}}`, hand: `count_if(not (i${i} >= 0 and i${i} <= ${max}))` });
    }
  }
  for (let i = 0; i < DBLS; i++) {
    for (let v = 0; v < 20; v++) {
      const max = 400 + v;
      out.push({ column: `d${i}`, yaml: `- accepted_range: {min: 0, max: ${max}, ${cfg()}}`, hand: `count_if(not (d${i} >= 0 and d${i} <= ${max}))` });
    }
  }
  for (let k = 0; k < 300; k++) {
    const a = k % INTS;
    const b = (k * 7 + 3) % INTS;
    const expr = k % 2 === 0 ? `i${a} + i${b} >= ${-(k % 5)}` : `d${k % DBLS} <= i${a} + ${1000 + k}`;
    out.push({ yaml: `- expression_is_true: {expression: "${expr}", ${cfg()}}`, hand: `count_if(not (${expr}))` });
  }
  for (let k = 0; k < 10; k++) {
    out.push({ yaml: `- row_count: {min: ${rows - k}, max: ${rows + k}, ${cfg()}}`, hand: `case when count(*) < ${rows - k} or count(*) > ${rows + k} then 1 else 0 end` });
  }
  for (let k = 0; k < 10; k++) {
    out.push({ yaml: `- recency: {field: updated_at, max_age: '${k + 1} day', ${cfg()}}`, hand: `case when max(updated_at) is null or max(updated_at) < now()::timestamp - interval '${k + 1} day' then 1 else 0 end` });
  }
  for (let k = 0; k < 5; k++) {
    out.push({ yaml: `- unique_combination_of_columns: {combination_of_columns: [id, c${k}], ${cfg()}}`, hand: `count(*) - count(distinct (id, c${k}))` });
  }
  for (let k = 0; out.length < 1000; k++) {
    const c = allCols[k % allCols.length]!;
    out.push({ column: c, yaml: `- not_null: {${cfg(`, where: "id % ${k + 2} = 0"`)}}`, hand: `count_if((id % ${k + 2} = 0) and ${c} is null)` });
  }
  return out;
}

function schemaYaml(list: readonly Check[]): string {
  const modelLevel = list.filter((c) => !c.column).map((c) => `      ${c.yaml}`);
  const byColumn = new Map<string, string[]>();
  for (const c of list) if (c.column) byColumn.set(c.column, [...(byColumn.get(c.column) ?? []), `          ${c.yaml}`]);
  return [
    'models:', '  - name: events', '    data_tests:', ...modelLevel, '    columns:',
    ...[...byColumn].flatMap(([col, tests]) => [`      - name: ${col}`, '        data_tests:', ...tests]),
  ].join('\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1]! : d);
  const rows = Number(arg('--rows', '1000000'));
  const runs = Number(arg('--runs', '5'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-bench-dq-'));
  const list = checks(rows);
  fs.writeFileSync(path.join(dir, 'project.yml'), 'name: bench_dq\ntargets:\n  dev: {type: duckdb, path: target/lake.duckdb, threads: 2}\n');
  fs.mkdirSync(path.join(dir, 'models', 'bench'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'models', 'bench', 'events.sql'), modelSql(rows));
  fs.writeFileSync(path.join(dir, 'models', 'bench', 'schema.yml'), schemaYaml(list));
  const handSql = `select\n${list.map((c, i) => `  ${c.hand} as c${i}`).join(',\n')}\nfrom bench.events`;
  const filterSql = `select\n${list.map((c, i) => `  ${withFilter(c.hand)} as c${i}`).join(',\n')}\nfrom bench.events`;
  fs.writeFileSync(path.join(dir, 'hand-written.sql'), `${handSql}\n`);

  const built = await Session.open({ projectDir: dir }).run(new MemoryReporter(), { command: 'run' });
  if (built.results.some((r) => r.status !== 'success')) throw new Error(`building the table failed: ${JSON.stringify(built.results)}`);
  console.log(`${rows.toLocaleString('en-US')} rows, ${list.length} tests, project in ${dir}`);

  const lakeEngine = async () => {
    const s = Session.open({ projectDir: dir });
    const reporter = new MemoryReporter();
    const q = QualityRun.plan(s, { mode: 'test', reporter });
    await s.run(reporter, { command: 'test', seeds: 'none', extend: q });
    const bad = q.testResults().filter((t) => t.status !== 'pass');
    if (bad.length) throw new Error(`expected every test to pass: ${bad.slice(0, 3).map((b) => `${b.name} ${b.status} ${b.message ?? ''}`).join('; ')}`);
    if (q.testResults().length !== 1000) throw new Error(`expected 1000 tests, got ${q.testResults().length}`);
  };
  const lakeCli = async () => {
    const r = spawnSync(process.execPath, [lakeBin, '--project-dir', dir, 'test'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lake test exited ${r.status}: ${r.stderr}`);
  };
  const dbPath = path.join(dir, 'target', 'lake.duckdb');
  const handWith = (sql: string) => async () => {
    const db = await DuckDBAdapter.open(dbPath);
    try {
      const [row] = await db.query(sql);
      const failing = Object.values(row!).filter((v) => Number(v) !== 0).length;
      if (failing) throw new Error(`hand-written: ${failing} checks fail`);
    } finally {
      await db.close();
    }
  };

  // The machine is shared: rounds interleave the three, so load drifts hit them alike; ratios are per round.
  const contenders = [
    { label: 'by hand, one statement (count_if)', fn: handWith(handSql), ts: [] as number[] },
    { label: 'lake test (in process)', fn: lakeEngine, ts: [] as number[] },
    { label: 'lake test (CLI, fresh process)', fn: lakeCli, ts: [] as number[] },
  ];
  for (const c of contenders) await c.fn();
  for (let i = 0; i < runs; i++) for (const c of contenders) c.ts.push(await time(c.fn));
  for (const c of contenders) console.log(`${c.label.padEnd(34)} median ${(median(c.ts) / 1000).toFixed(2)} s  (runs: ${c.ts.map((t) => (t / 1000).toFixed(2)).join(', ')})`);
  const [tHand, tEngine, tCli] = contenders.map((c) => median(c.ts)) as [number, number, number];
  const roundRatio = (k: number) => median(contenders[k]!.ts.map((t, i) => t / contenders[0]!.ts[i]!));

  const s = Session.open({ projectDir: dir });
  const q = QualityRun.plan(s, { mode: 'test', reporter: new MemoryReporter() });
  const db = await DuckDBAdapter.open(dbPath);
  const tNaive = await time(async () => {
    for (const t of q.dataTests) await db.query(countSql(t));
  });
  await db.close();
  console.log(`${'one query per test (dbt-style)'.padEnd(34)} ${(tNaive / 1000).toFixed(2)} s  (once)`);
  let tFilter: number | undefined;
  if (args.includes('--with-filter')) {
    tFilter = await time(handWith(filterSql));
    console.log(`${'by hand, one statement (FILTER)'.padEnd(34)} ${(tFilter / 1000).toFixed(2)} s  (once)`);
  }
  console.log(`ratio lake (in process) / by hand: ${roundRatio(1).toFixed(2)} (median of per-round ratios)`);
  console.log(`ratio lake (CLI) / by hand:        ${roundRatio(2).toFixed(2)}`);
  console.log(`ratio one query per test / by hand: ${(tNaive / tHand).toFixed(1)}`);
  if (tFilter !== undefined) console.log(`ratio lake (in process) / by hand with FILTER: ${(tEngine / tFilter).toFixed(3)}`);
  const sec = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms) / 1000);
  console.log(JSON.stringify({
    bench: 'dq', rows, tests: list.length, runs, hand_s: sec(tHand), lake_in_process_s: sec(tEngine), lake_cli_s: sec(tCli),
    one_query_per_test_s: sec(tNaive), hand_filter_s: sec(tFilter),
    ratio_lake_vs_hand: Math.round(roundRatio(1) * 100) / 100, ratio_cli_vs_hand: Math.round(roundRatio(2) * 100) / 100,
  }));
  if (!args.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
