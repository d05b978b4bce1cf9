/**
 * The docs' run and test status whatever the last command was: each node's latest build from
 * _lake.node_runs, the last tests from target/.lake/last_tests.json. Real child processes, DuckDB.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { buildHistory, lastTests, withHistory } from '../../src/app/run-history.js';
import type { RunResults } from '../../src/docs/inputs.js';
import { lake, writeProject } from '../core/helpers.js';

const files = {
  'project.yml': 'name: h\ntargets:\n  dev: { type: duckdb, path: target/h.duckdb }\n',
  'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as id",
  'models/b.sql': "{{ config(materialized='table') }}\nselect id from {{ ref('a') }}",
  'models/schema.yml': 'models:\n  - name: b\n    columns:\n      - name: id\n        data_tests: [unique]\n',
};
const rr = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'target/run_results.json'), 'utf8')) as RunResults;

async function history(dir: string) {
  const db = await DuckDBAdapter.open(path.join(dir, 'target/h.duckdb'));
  try {
    return await buildHistory(db);
  } finally {
    await db.close();
  }
}

describe('docs run history', () => {
  it('after lake run then lake test: the run is the last build, every node has its result, tests from the test', async () => {
    const dir = writeProject(files);
    expect(lake(dir, ['run']).code).toBe(0);
    expect(lake(dir, ['test']).code).toBe(0);
    const merged = withHistory(rr(dir), await history(dir))!;
    expect(merged.command).toBe('run');
    expect(merged.results!.map((r) => `${r.id}:${r.status}`).sort()).toEqual(['main.a:success', 'main.b:success']);
    expect(merged.tests!.map((t) => `${t.id}:${t.status}`)).toEqual(['test.unique_b_id:pass']);
  });

  it('after lake build then a partial run: the other nodes keep their last result (off this run\'s timeline), tests come from the build', async () => {
    const dir = writeProject(files);
    expect(lake(dir, ['build']).code).toBe(0);
    expect(lake(dir, ['run', '-s', 'b']).code).toBe(0);
    const last = rr(dir);
    expect(last.tests).toBeUndefined();
    const merged = withHistory(last, await history(dir))!;
    const a = merged.results!.find((r) => r.id === 'main.a')!;
    expect(a).toMatchObject({ status: 'success', started_at: undefined });
    expect(merged.results!.find((r) => r.id === 'main.b')!.started_at).toBeDefined();
    expect(lastTests(path.join(dir, 'target'), last)!.map((t) => `${t.id}:${t.status}`)).toEqual(['test.unique_b_id:pass']);
    // Only the nodes of the last run are on its timeline.
    const { buildDocsData } = await import('../../src/docs/docs-data.js');
    const manifest = { metadata: { project: 'h' }, nodes: { 'main.a': { id: 'main.a', resource_type: 'model', name: 'a' }, 'main.b': { id: 'main.b', resource_type: 'model', name: 'b' } } };
    expect(buildDocsData(manifest, undefined, merged).run!.bars.map((b) => b.id)).toEqual(['main.b']);
    // When run_results.json has tests, they are the ones shown.
    expect(lastTests(path.join(dir, 'target'), { tests: [] })).toBeUndefined();
  });

  it('a database without lake state: no history', async () => {
    const dir = writeProject(files);
    fs.mkdirSync(path.join(dir, 'target'));
    expect(await history(dir)).toBeUndefined();
    expect(withHistory(undefined, undefined)).toBeUndefined();
  });
});
