/**
 * dbt's housekeeping commands through the CLI: `lake debug` checks the set-up (the project, its
 * target, a compile, the database) and says which check failed; `lake deps` says which declared
 * packages are installed; `lake clean` removes the target
 * folder or a dbt project's clean-targets, and refuses a folder outside the project or one holding
 * models; `lake list` is `lake ls`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lake, lakeChild, projectYml, query, waitForLine, writeProject } from './helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = writeProject(files);
  dirs.push(dir);
  return dir;
}

describe('lake debug, clean, list', () => {
  it('debug passes on a working project and names the check that fails', () => {
    const dir = project({ 'project.yml': projectYml(), 'models/silver/a.sql': 'select 1 as id', 'seeds/s.csv': 'x\n1\n' });
    const ok = lake(dir, ['debug']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/project +OK +\. \(project\.yml: t\)/);
    expect(ok.stdout).toMatch(/compile +OK +1 model, 1 seed, 0 sources/);
    expect(ok.stdout).toMatch(/database +OK +.*t\.duckdb opens \(DuckDB v\d/);
    expect(ok.stdout).toContain('All checks passed!');
    fs.writeFileSync(`${dir}/models/silver/a.sql`, "select {{ ref('nope') }}");
    const bad = lake(dir, ['debug']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/project +FAIL +1 error\(s\); the first: models\/silver\/a\.sql:1: ref\('nope'\) matches no model or seed/);
    expect(lake(project({ 'x.txt': '' }), ['debug']).stdout).toMatch(/project +FAIL +no project\.yml or dbt_project\.yml/);
  });

  it('debug says which profiles.yml a dbt project uses, and when there is none (lake then builds into target/dev.duckdb)', () => {
    const dir = project({ 'dbt_project.yml': 'name: shop\nprofile: shop\n', 'models/a.sql': 'select 1 as id' });
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-home-'));
    const none = lake(dir, ['debug'], { HOME: home, DBT_PROFILES_DIR: '' });
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/project +OK +\. \(dbt_project\.yml: shop; no profiles\.yml in the project or ~\/\.dbt: the default target dev\)/);
    expect(none.stdout).toMatch(/database +OK +.*target\/dev\.duckdb opens \(DuckDB v\d/);
    fs.writeFileSync(path.join(dir, 'profiles.yml'), 'shop:\n  target: dev\n  outputs:\n    dev: { type: duckdb, path: shop.duckdb }\n');
    const found = lake(dir, ['debug'], { HOME: home, DBT_PROFILES_DIR: '' });
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toMatch(/project +OK +\. \(dbt_project\.yml and profiles\.yml: shop\)/);
    expect(found.stdout).toMatch(/database +OK +.*\/shop\.duckdb opens/);
  });

  it("clean removes the target folder, or a dbt project's clean-targets, and refuses one that holds models", () => {
    const dir = project({ 'project.yml': projectYml(), 'models/silver/a.sql': 'select 1 as id' });
    expect(lake(dir, ['run']).code).toBe(0);
    expect(fs.existsSync(`${dir}/target`)).toBe(true);
    const r = lake(dir, ['clean']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('removed target');
    expect(fs.existsSync(`${dir}/target`)).toBe(false);
    expect(fs.existsSync(`${dir}/models/silver/a.sql`)).toBe(true);
    expect(lake(dir, ['clean']).stdout).toContain('nothing to remove');
    const dbt = project({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\nclean-targets: [target, dbt_packages]\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb}\n',
      'models/m.sql': 'select 1 as x',
      'dbt_packages/pkg/dbt_project.yml': 'name: pkg\n',
      'target/manifest.json': '{}',
    });
    expect(lake(dbt, ['clean']).stdout).toContain('removed target, dbt_packages');
    expect(fs.existsSync(`${dbt}/dbt_packages`)).toBe(false);
    fs.writeFileSync(`${dbt}/dbt_project.yml`, 'name: p\nconfig-version: 2\nprofile: p\nclean-targets: [models]\n');
    const refused = lake(dbt, ['clean']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("clean target 'models' is not a folder lake may remove");
    expect(fs.existsSync(`${dbt}/models/m.sql`)).toBe(true);
  });

  it('clean refuses to remove a database another lake run holds (a lake run --continuous beside it), and says when it removes one', async () => {
    const dir = project({
      'project.yml': projectYml(),
      'models/bronze/sources.yml': 'sources:\n  - name: app\n    landing: landing\n    tables:\n      - name: events\n        columns: { id: BIGINT }\n',
      'models/bronze/events.sql': "{{ config(materialized='incremental') }}\nselect id from {{ source('app', 'events') }}",
      'landing/events/a.jsonl': '{"id": 1}\n',
    });
    // Landed a minute ago: complete for --continuous's min_file_age.
    fs.utimesSync(`${dir}/landing/events/a.jsonl`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const child = lakeChild(dir, ['run', '--continuous', '--interval', '1s']);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitForLine(child, /batch 1 /);
      // Removed under the running lake, the lakehouse and its ledger were gone, and what it ingested next went into a deleted file.
      const busy = lake(dir, ['clean']);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toMatch(/error LAKE-E001: the database .*target\/t\.duckdb is in use by lake run \(pid \d+/);
      expect(busy.stderr).toContain('hint: stop that run first: lake clean removes the database with the target folder');
      expect(fs.existsSync(`${dir}/target/t.duckdb`)).toBe(true);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
    expect(await query(`${dir}/target/t.duckdb`, 'select id from bronze.events')).toEqual([{ id: 1 }]);
    const r = lake(dir, ['clean']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('removed target (with the database target/t.duckdb)');
    expect(fs.existsSync(`${dir}/target`)).toBe(false);
  });

  it('deps lists the installed packages and fails on a declared one that is not installed (lake never downloads)', () => {
    const dir = project({
      'dbt_project.yml': 'name: p\nconfig-version: 2\nprofile: p\n',
      'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb}\n',
      'models/m.sql': 'select 1 as x',
      'packages.yml': 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n',
      'dbt_packages/dbt_utils/dbt_project.yml': 'name: dbt_utils\n',
      'dbt_packages/dbt_utils/macros/m.sql': '{% macro hi() %}hi{% endmacro %}',
    });
    const ok = lake(dir, ['deps']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/dbt_utils +installed in dbt_packages\/dbt_utils\n1 package installed/);
    fs.appendFileSync(`${dir}/packages.yml`, '  - package: someone/not_there\n    version: 1.0.0\n');
    const missing = lake(dir, ['deps']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('package someone/not_there is not installed in dbt_packages/');
    expect(missing.stdout).toContain('1 package installed, 1 missing (lake never downloads packages: run dbt deps)');
  });

  it('parse writes the manifest and no compiled file; a broken project fails it', () => {
    const dir = project({ 'project.yml': projectYml(), 'models/silver/a.sql': 'select 1 as id' });
    const r = lake(dir, ['parse']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/parsed 1 model into target\/manifest\.json/);
    expect(Object.keys((JSON.parse(fs.readFileSync(`${dir}/target/manifest.json`, 'utf8')) as { nodes: object }).nodes)).toContain('silver.a');
    expect(fs.existsSync(`${dir}/target/compiled`)).toBe(false);
    fs.writeFileSync(`${dir}/models/silver/a.sql`, '{% if %}');
    expect(lake(dir, ['parse']).code).toBe(2);
  });

  it('list is ls', () => {
    const dir = project({ 'project.yml': projectYml(), 'models/silver/a.sql': 'select 1 as id', 'models/gold/b.sql': "select * from {{ ref('a') }}" });
    expect(lake(dir, ['list', '-s', 'a+']).stdout).toBe(lake(dir, ['ls', '-s', 'a+']).stdout);
    expect(lake(dir, ['list']).stdout.trim().split('\n').sort()).toEqual(['gold.b', 'silver.a']);
  });
});
