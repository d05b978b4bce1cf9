import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProject, writeFile } from './helpers.js';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'lake.js');

function lake(dir: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, '--project-dir', dir, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
}, 180_000);

describe('lake test / lake build (child process)', () => {
  const files = {
    'models/silver/users.sql': "{{ config(materialized='table') }}\nselect * from (values (1, 'DE'), (2, 'FR')) t(id, country)",
    'models/silver/schema.yml': `models:
  - name: users
    columns:
      - name: id
        data_tests: [unique, not_null]
      - name: country
        data_tests:
          - accepted_values: {values: [DE, FR]}
unit_tests:
  - name: keeps_rows
    model: users
    expect: {rows: [{id: 1}, {id: 2}]}
`,
  };

  it('exit 0 when everything passes, with a results table', () => {
    const dir = makeProject(files);
    const build = lake(dir, 'build');
    expect(build.stderr).toBe('');
    expect(build.code).toBe(0);
    expect(build.stdout).toMatch(/PASS\s+\| unique_users_id\s+\| silver\.users/);
    expect(build.stdout).toMatch(/Tests: 4 passed, 0 warned, 0 failed, 0 errored, 0 skipped \(of 4\)/);
    const test = lake(dir, 'test', '-s', 'users');
    expect(test.code).toBe(0);
  });

  it('exit 1 on an error-severity failure, 0 when it only warns', () => {
    const dir = makeProject(files);
    writeFile(dir, 'models/silver/users.sql', "{{ config(materialized='table') }}\nselect * from (values (1, 'DE'), (1, 'XX')) t(id, country)");
    const r = lake(dir, 'build');
    expect(r.code).toBe(1);
    // The unit test fails first and its model is skipped, with its data tests.
    expect(r.stdout).toMatch(/FAIL keeps_rows: unit test keeps_rows of silver\.users \(models\/silver\/schema\.yml:10\): 1 missing, 1 unexpected rows/);
    expect(r.stdout).toMatch(/SKIP\s+\| unique_users_id/);
    writeFile(dir, 'models/silver/schema.yml', files['models/silver/schema.yml'].replace('{id: 2}', '{id: 1}'));
    const again = lake(dir, 'build');
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/FAIL\s+\| unique_users_id/);
    expect(again.stdout).toMatch(/FAIL unique_users_id: Got 1 result, configured to fail if != 0/);
    expect(again.stdout).toMatch(/PASS\s+\| keeps_rows/);
    writeFile(dir, 'models/silver/users.sql', "{{ config(materialized='table') }}\nselect * from (values (1, 'DE'), (2, 'FR')) t(id, country)");
    writeFile(dir, 'models/silver/schema.yml', files['models/silver/schema.yml'].replace('[unique, not_null]', '[{unique: {severity: warn}}, not_null]').replace('values: [DE, FR]', 'values: [DE], severity: warn'));
    expect(lake(dir, 'run').code).toBe(0);
    const warned = lake(dir, 'test');
    expect(warned.code).toBe(0);
    expect(warned.stdout).toMatch(/WARN\s+\| accepted_values_users_country__DE/);
  });

  it('exit 2 with file and line when a test is declared wrongly', () => {
    const dir = makeProject({ ...files, 'models/silver/schema.yml': 'models:\n  - name: users\n    columns:\n      - name: id\n        data_tests: [uniq]\n' });
    const r = lake(dir, 'test');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\/silver\/schema\.yml:5: error LAKE-Q001: silver\.users: unknown test 'uniq'/);
    expect(r.stderr).toMatch(/hint: did you mean unique\?/);
  });

  it('--log-format json prints one JSON object per line, with a record per test', () => {
    const dir = makeProject(files);
    const r = lake(dir, '--log-format', 'json', 'build');
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; name?: string; status?: string });
    const results = events.filter((e) => e.kind === 'test_result');
    expect(results.map((e) => e.name).sort()).toEqual(['accepted_values_users_country__DE__FR', 'keeps_rows', 'not_null_users_id', 'unique_users_id']);
    expect(results.every((e) => e.status === 'pass')).toBe(true);
    expect(events.find((e) => e.kind === 'test_summary')).toMatchObject({ tests: 4, pass: 4 });
  });
});
