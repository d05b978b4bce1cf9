/**
 * Tiny real projects for the data-quality tests: files written to a temp folder, a session run
 * programmatically (memory reporter), and a way to read the resulting DuckDB file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import { Session, type RunOutcome } from '../../src/app/session.js';
import { MemoryReporter } from '../../src/reporter/reporters.js';
import { QualityRun } from '../../src/dq/quality-run.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import type { TestResult } from '../../src/dq/types.js';

const PROJECT_YML = 'name: dq_test\ntargets:\n  dev:\n    type: duckdb\n    path: target/lake.duckdb\n    threads: 2\n';

const made: string[] = [];
// Temp projects go after each test file (set LAKE_KEEP_TEST_DIRS=1 to look at them).
afterAll(() => {
  if (process.env.LAKE_KEEP_TEST_DIRS) return;
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Write `files` (relative path → text) into a new temp project; project.yml is added unless given. */
export function makeProject(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-dq-'));
  made.push(dir);
  const all = { 'project.yml': PROJECT_YML, ...files };
  for (const [rel, text] of Object.entries(all)) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return dir;
}

export function writeFile(dir: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
}

export interface QualityOutcome {
  readonly q: QualityRun;
  readonly out: RunOutcome;
  readonly reporter: MemoryReporter;
  /** Test results by test name. */
  readonly tests: Map<string, TestResult>;
  /** Node results (models, seeds and test jobs) by id. */
  readonly nodes: Map<string, { status: string; error?: string; message?: string; stats?: Readonly<Record<string, unknown>> }>;
  readonly runResults: Record<string, unknown>;
}

/** `lake build` / `lake test` in-process. */
export async function runQuality(dir: string, mode: 'build' | 'test', opts: { select?: string[]; exclude?: string[]; storeFailures?: boolean; fullRefresh?: boolean } = {}): Promise<QualityOutcome> {
  const s = Session.open({ projectDir: dir });
  const reporter = new MemoryReporter();
  const q = QualityRun.plan(s, { mode, select: opts.select, exclude: opts.exclude, storeFailures: opts.storeFailures, reporter });
  const out = await s.run(reporter, { select: q.nodeSelect, exclude: q.nodeExclude, command: mode, seeds: mode === 'build' ? 'all' : 'none', extend: q, fullRefresh: opts.fullRefresh, threads: 2 });
  const tests = new Map(q.testResults().map((t) => [t.name, t]));
  const nodes = new Map(out.results.map((r) => [r.id, r]));
  const runResults = JSON.parse(fs.readFileSync(path.join(dir, 'target', 'run_results.json'), 'utf8')) as Record<string, unknown>;
  return { q, out, reporter, tests, nodes, runResults };
}

/** `lake run` in-process. */
export async function runModels(dir: string, opts: { select?: string[]; fullRefresh?: boolean } = {}) {
  const s = Session.open({ projectDir: dir });
  const reporter = new MemoryReporter();
  const out = await s.run(reporter, { select: opts.select, fullRefresh: opts.fullRefresh, threads: 2 });
  return { out, reporter, nodes: new Map(out.results.map((r) => [r.id, r])) };
}

/** Query the project's database file (after the run released it). */
export async function query(dir: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBAdapter.open(path.join(dir, 'target', 'lake.duckdb'));
  try {
    return await db.query(sql);
  } finally {
    await db.close();
  }
}
