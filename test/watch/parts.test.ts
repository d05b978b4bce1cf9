/** The watch's parts on their own: file classification, landing polling, SQL error locations. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify, globToRegExp, LandingPoller, enginePosition, locateInRaw } from '../../src/watch/index.js';
import type { CompiledNode, SourceNode, LandingSpec } from '../../src/core/types.js';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';

const PATHS = { models: ['models'], seeds: ['seeds'], macros: ['macros'], tests: ['data_tests'], target: 'target' };

describe('classify', () => {
  it('names the kind of each project file and ignores editor litter', () => {
    expect(classify('project.yml', PATHS)).toBe('project');
    expect(classify('models/silver/users.sql', PATHS)).toBe('model');
    expect(classify('models/silver/schema.yml', PATHS)).toBe('yaml');
    expect(classify('seeds/raw.csv', PATHS)).toBe('seed');
    expect(classify('macros/age.sql', PATHS)).toBe('macro');
    expect(classify('data_tests/no_dupes.sql', PATHS)).toBe('test');
    expect(classify('snapshots/orders.sql', PATHS)).toBe('snapshot');
    expect(classify('snapshots/props.yml', PATHS)).toBe('yaml');
    expect(classify('models/silver/.users.sql.swp', PATHS)).toBeUndefined();
    expect(classify('models/silver/users.sql~', PATHS)).toBeUndefined();
    expect(classify('models/silver/4913', PATHS)).toBeUndefined();
    expect(classify('seeds/raw.sql', PATHS)).toBeUndefined();
    expect(classify('src/app.ts', PATHS)).toBeUndefined();
  });

  it("takes a file of an installed package (under dbt_packages/ or a local: folder outside the project) as a change of the whole project", () => {
    const pkgs = ['dbt_packages', '../shared_pkg'];
    expect(classify('packages.yml', PATHS)).toBe('project');
    expect(classify('dependencies.yml', PATHS)).toBe('project');
    expect(classify('dbt_packages/dbt_utils/macros/sql/star.sql', PATHS, pkgs)).toBe('project');
    expect(classify('dbt_packages/dbt_utils/dbt_project.yml', PATHS, pkgs)).toBe('project');
    expect(classify('../shared_pkg/models/staging/stg.sql', PATHS, pkgs)).toBe('project');
    expect(classify('../shared_pkg/seeds/codes.csv', PATHS, pkgs)).toBe('project');
    expect(classify('dbt_packages/dbt_utils/README.md', PATHS, pkgs)).toBe('project');
    expect(classify('dbt_packages/dbt_utils/.git/HEAD', PATHS, pkgs)).toBeUndefined();
    expect(classify('dbt_packages/dbt_utils/run_test.sh', PATHS, pkgs)).toBeUndefined();
    expect(classify('../elsewhere/models/a.sql', PATHS, pkgs)).toBeUndefined();
    // Without packages, a package's folder is nothing the watch cares about.
    expect(classify('dbt_packages/dbt_utils/macros/sql/star.sql', PATHS)).toBeUndefined();
  });
});

describe('globToRegExp', () => {
  it('matches landing globs like the source declarations use', () => {
    expect(globToRegExp('bpm/*').test('bpm/part-0001.jsonl')).toBe(true);
    expect(globToRegExp('bpm/*').test('bpm/2024/part-1.jsonl')).toBe(false);
    expect(globToRegExp('bpm/**/*.jsonl').test('bpm/2024/01/part-1.jsonl')).toBe(true);
    expect(globToRegExp('bpm/**/*.jsonl').test('bpm/part-1.jsonl')).toBe(true);
    expect(globToRegExp('*.{csv,tsv}').test('x.tsv')).toBe(true);
    expect(globToRegExp('*.{csv,tsv}').test('x.json')).toBe(false);
    expect(globToRegExp('file?.csv').test('file1.csv')).toBe(true);
  });
});

describe('LandingPoller', () => {
  const landing = (dir: string, files: string, minFileAgeMs = 0): LandingSpec => ({
    dir, relDir: dir, format: 'jsonl', files, schemaEvolution: 'add_new_columns', badRecords: 'quarantine', maxFilesPerTrigger: 1000, minFileAgeMs, allowOverwrites: false, options: {},
  });
  const source = (id: string, l?: LandingSpec): SourceNode => ({ kind: 'source', id, sourceName: 'kafka', name: id.split('.')[1]!, schema: 'kafka', identifier: 'x', landing: l, columns: [], tests: [], tags: [], path: 'models/sources.yml' });

  it('reports sources whose folders get new or rewritten files, once each', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-landing-'));
    fs.mkdirSync(path.join(dir, 'bpm'));
    fs.mkdirSync(path.join(dir, 'workout'));
    fs.writeFileSync(path.join(dir, 'bpm/old.jsonl'), '{}\n');
    const got: string[][] = [];
    const p = new LandingPoller(1000, (ids) => got.push(ids));
    p.setSources([source('source:kafka.bpm', landing(dir, 'bpm/*')), source('source:kafka.workout', landing(dir, 'workout/*')), source('source:db.users')]);
    expect(p.count).toBe(2);
    expect(p.poll()).toEqual([]);
    fs.writeFileSync(path.join(dir, 'bpm/new.jsonl'), '{}\n');
    fs.writeFileSync(path.join(dir, 'bpm/.new2.jsonl.tmp'), '{}\n');
    expect(p.poll()).toEqual(['source:kafka.bpm']);
    expect(p.poll()).toEqual([]);
    fs.appendFileSync(path.join(dir, 'bpm/new.jsonl'), '{"a": 1}\n');
    fs.writeFileSync(path.join(dir, 'workout/w.jsonl'), '{}\n');
    expect(p.poll()).toEqual(['source:kafka.bpm', 'source:kafka.workout']);
    expect(got).toEqual([['source:kafka.bpm'], ['source:kafka.bpm', 'source:kafka.workout']]);
  });

  it('waits for a file to reach the minimum age before reporting it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-landing-'));
    fs.mkdirSync(path.join(dir, 'bpm'));
    const p = new LandingPoller(1000, () => undefined);
    p.setSources([source('source:kafka.bpm', landing(dir, 'bpm/*', 60_000))]);
    const file = path.join(dir, 'bpm/new.jsonl');
    fs.writeFileSync(file, '{}\n');
    expect(p.poll()).toEqual([]);
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(file, old, old);
    expect(p.poll()).toEqual(['source:kafka.bpm']);
  });
});

describe('SQL error locations', () => {
  const node = (rawSql: string, sql: string): CompiledNode => ({
    id: 'silver.bpm', sql, config: { materialized: 'table', schema: 'silver', enabled: true, tags: [], on_schema_change: 'ignore', pre_hook: [], post_hook: [] },
    relation: { schema: 'silver', name: 'bpm' }, dependsOn: { nodes: [], sources: [], macros: [] }, landingReads: [], streamReads: [], checksum: 'x', renderedIncremental: false,
    node: { kind: 'model', id: 'silver.bpm', name: 'bpm', path: 'models/silver/bpm.sql', absPath: '/x', rawSql, config: { materialized: 'table', schema: 'silver', enabled: true, tags: [], on_schema_change: 'ignore', pre_hook: [], post_hook: [] }, columns: [], tests: [] },
  });

  async function engineError(sql: string): Promise<string> {
    const db = await DuckDBAdapter.open(':memory:');
    try {
      await db.execute('create table t as select 1 as user_id, 80 as bpm');
      await db.describeQuery(sql);
      throw new Error('expected an engine error');
    } catch (e) {
      return (e as Error).message;
    } finally {
      await db.close();
    }
  }

  it('maps a binder error in the compiled SQL back to the template line', async () => {
    const raw = "{{ config(materialized='table') }}\nselect\n  user_id,\n  heart_rate\nfrom {{ ref('bpm_raw') }}\n";
    const sql = 'select\n  user_id,\n  heart_rate\nfrom "main"."t"';
    const msg = await engineError(sql);
    const pos = enginePosition(msg, sql, 'describe ');
    expect(pos).toEqual({ line: 3, col: 3 });
    expect(locateInRaw(node(raw, sql), msg, pos)).toEqual({ line: 4, col: 3 });
  });

  it('finds the caret on line 1 behind the describe prefix', async () => {
    const sql = 'select user_id, nope from "main"."t"';
    const msg = await engineError(sql);
    const pos = enginePosition(msg, sql, 'describe ');
    expect(pos).toEqual({ line: 1, col: 17 });
    expect(locateInRaw(node("select user_id, nope from {{ ref('t') }}", sql), msg, pos)).toEqual({ line: 1, col: 17 });
  });

  it('finds the template line whose literal parts match the compiled line (a ref on the error\'s line)', async () => {
    // config() leaves a blank first line that the compiled SQL does not have; `id` also appears a
    // line above: the line is the one whose text around {{ ref() }} matches.
    const raw = "{{ config(materialized='table') }}\n\nselect\n  id,\n  id + 1 as nxt\nfrom {{ ref('t') }} wher id > 0\n";
    const sql = 'select\n  id,\n  id + 1 as nxt\nfrom "main"."t" wher id > 0';
    const msg = await engineError(sql);
    const pos = enginePosition(msg, sql, 'describe ');
    expect(pos?.line).toBe(4);
    expect(locateInRaw(node(raw, sql), msg, pos)).toEqual({ line: 6, col: 26 });
  });

  it('falls back to the name in the message when the line is rendered differently', async () => {
    const raw = "select *\nfrom {{ ref('missing_table') }}\n";
    const sql = 'select *\nfrom "silver"."missing_table"';
    const msg = await engineError(sql);
    const at = locateInRaw(node(raw, sql), msg, enginePosition(msg, sql, 'describe '));
    expect(at?.line).toBe(2);
  });
});
