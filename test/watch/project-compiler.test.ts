/**
 * IncrementalCompiler on its own (no watcher, no database): a saved model is patched into the
 * kept Compiler, anything else re-loads, and a re-load never takes a file caught mid-save for a
 * deleted or emptied one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IncrementalCompiler, type FileChange } from '../../src/watch/index.js';
import type { Session } from '../../src/app/session.js';
import { LakeError } from '../../src/errors/index.js';
import { makeProject } from './fixture.js';

const model = (p: string, text?: string): FileChange => (text === undefined ? { path: p, kind: 'model', deleted: true } : { path: p, kind: 'model', deleted: false, text });
const yaml: FileChange = { path: 'models/silver/schema.yml', kind: 'yaml', deleted: false };

function compileError(fn: () => unknown): LakeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LakeError) return e;
    throw e;
  }
  throw new Error('expected a LakeError');
}

describe('IncrementalCompiler', () => {
  it('patches an edited, added or deleted model into the same compiler', () => {
    const dir = makeProject();
    const c = new IncrementalCompiler({ projectDir: dir });
    const s0 = c.load();
    const edited = "select age_band, count(*) as users, 1 as v from {{ ref('silver', 'users') }} group by age_band\n";
    const s1 = c.update(s0, [model('models/gold/users_by_band.sql', edited)]);
    expect(s1.compiler).toBe(s0.compiler);
    expect(s1.compiled.nodes.get('gold.users_by_band')?.sql).toContain('1 as v');
    // The previous session is a snapshot: planning compares it with the new one.
    expect(s0.compiled.nodes.get('gold.users_by_band')?.sql).not.toContain('1 as v');

    const s2 = c.update(s1, [model('models/gold/cities.sql', "select distinct city from {{ ref('silver', 'users') }}\n")]);
    expect(s2.dag.has('gold.cities')).toBe(true);
    expect(s2.compiler).toBe(s0.compiler);
    const s3 = c.update(s2, [model('models/gold/cities.sql')]);
    expect(s3.compiled.nodes.has('gold.cities')).toBe(false);
    expect(s3.dag.has('gold.cities')).toBe(false);
  });

  it('compiles the text the watch read, and re-loads for YAML', () => {
    const dir = makeProject();
    const c = new IncrementalCompiler({ projectDir: dir });
    const s0 = c.load();
    // On disk the file is half-written; the change carries the text the watch confirmed.
    fs.writeFileSync(path.join(dir, 'models/silver/bpm.sql'), 'select');
    const s1 = c.update(s0, [model('models/silver/bpm.sql', "select user_id, bpm, 7 as seven from {{ ref('bpm_raw') }}\n")]);
    expect(s1.compiled.nodes.get('silver.bpm')?.sql).toContain('7 as seven');
    fs.writeFileSync(path.join(dir, 'models/silver/bpm.sql'), "select user_id, bpm, 7 as seven from {{ ref('bpm_raw') }}\n");
    fs.appendFileSync(path.join(dir, 'models/silver/schema.yml'), '    config: { materialized: view }\n');
    const s2 = c.update(s1, [yaml]);
    expect(s2.compiler).not.toBe(s1.compiler);
    expect(s2.compiled.nodes.get('silver.bpm')?.config.materialized).toBe('view');
  });

  it('keeps a model a re-load finds missing or empty while its own change has not come (a save in flux)', () => {
    const dir = makeProject();
    const c = new IncrementalCompiler({ projectDir: dir });
    const s0 = c.load();
    const band = path.join(dir, 'models/gold/users_by_band.sql');
    const summary = path.join(dir, 'models/gold/bpm_summary.sql');
    fs.renameSync(band, `${band}.old`);
    fs.writeFileSync(summary, '');
    const s1 = c.update(s0, [yaml]);
    expect([...s1.compiled.nodes.keys()].sort()).toEqual([...s0.compiled.nodes.keys()].sort());
    expect(s1.compiled.nodes.get('gold.bpm_summary')?.sql).toBe(s0.compiled.nodes.get('gold.bpm_summary')?.sql);
    // Its own change, once confirmed, decides.
    // (A model confirmed empty is a compile error; then it is saved with a SELECT.)
    expect(() => c.update(s1, [model('models/gold/users_by_band.sql'), model('models/gold/bpm_summary.sql', '')])).toThrow(/the model's SQL is empty/);
    fs.writeFileSync(summary, 'select 1 as n\n');
    const s2 = c.update(s1, [model('models/gold/users_by_band.sql'), model('models/gold/bpm_summary.sql', 'select 1 as n\n')]);
    expect(s2.compiled.nodes.has('gold.users_by_band')).toBe(false);
    expect(s2.compiled.nodes.get('gold.bpm_summary')?.sql.trim()).toBe('select 1 as n');
    // A deletion the watch confirmed is not put back by a re-load in the same batch.
    fs.renameSync(`${band}.old`, band);
    const s3 = c.update(s2, [model('models/gold/users_by_band.sql', fs.readFileSync(band, 'utf8'))]);
    fs.rmSync(band);
    const s4 = c.update(s3, [yaml, model('models/gold/users_by_band.sql')]);
    expect(s4.compiled.nodes.has('gold.users_by_band')).toBe(false);
  });

  it('does not keep a model that left the project while its file stays (project.yml moved the folder)', () => {
    const dir = makeProject();
    const c = new IncrementalCompiler({ projectDir: dir });
    const s0 = c.load();
    expect(s0.compiled.nodes.has('gold.users_by_band')).toBe(true);
    fs.mkdirSync(path.join(dir, 'more/gold'), { recursive: true });
    fs.rmSync(path.join(dir, 'models/gold/users_by_band.sql'));
    fs.writeFileSync(path.join(dir, 'more/gold/users_by_band.sql'), 'select 1 as users\n');
    fs.writeFileSync(path.join(dir, 'project.yml'), `${fs.readFileSync(path.join(dir, 'project.yml'), 'utf8')}paths:\n  models: [more]\n`);
    const s1 = c.update(s0, [{ path: 'project.yml', kind: 'project', deleted: false }]);
    expect([...s1.compiled.nodes.keys()]).toEqual(['gold.users_by_band']);
  });

  it('reports two files named alike, then re-loads once the other file is renamed', () => {
    const dir = makeProject();
    const c = new IncrementalCompiler({ projectDir: dir });
    let s: Session = c.load();
    const clash = "select 1 as x\n";
    fs.mkdirSync(path.join(dir, 'models/gold/more'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'models/gold/more/users_by_band.sql'), clash);
    const e = compileError(() => c.update(s, [model('models/gold/more/users_by_band.sql', clash)]));
    expect(e.diagnostics.some((d) => d.severity === 'error' && d.file === 'models/gold/more/users_by_band.sql' && /users_by_band/.test(d.message))).toBe(true);
    // The user renames the first file instead: both models exist now.
    fs.renameSync(path.join(dir, 'models/gold/users_by_band.sql'), path.join(dir, 'models/gold/band_counts.sql'));
    s = c.update(s, [model('models/gold/users_by_band.sql'), model('models/gold/band_counts.sql', fs.readFileSync(path.join(dir, 'models/gold/band_counts.sql'), 'utf8'))]);
    expect(s.compiled.nodes.get('gold.users_by_band')?.sql).toContain('select 1 as x');
    expect(s.compiled.nodes.has('gold.band_counts')).toBe(true);
  });

  it('keeps reporting a broken model until a save fixes it, incrementally', () => {
    const dir = makeProject();
    const c = new IncrementalCompiler({ projectDir: dir });
    const s0 = c.load();
    const e = compileError(() => c.update(s0, [model('models/silver/bpm.sql', "select * from {{ ref('bpm_raw' }}\n")]));
    expect(e.diagnostics.find((d) => d.severity === 'error')?.file).toBe('models/silver/bpm.sql');
    // Another file's save does not hide the error.
    expect(() => c.update(s0, [model('models/gold/users_by_band.sql', "select 2 as y from {{ ref('silver', 'users') }}\n")])).toThrow(LakeError);
    const s1 = c.update(s0, [model('models/silver/bpm.sql', "select * from {{ ref('bpm_raw') }}\n")]);
    expect(s1.compiler).toBe(s0.compiler);
    expect(s1.compiled.nodes.get('gold.users_by_band')?.sql).toContain('2 as y');
  });

  it('gives a model that uses run_started_at a fresh time on each save', () => {
    const dir = makeProject();
    const c = new IncrementalCompiler({ projectDir: dir });
    const s0 = c.load();
    const text = "select '{{ run_started_at }}' as at\n";
    fs.writeFileSync(path.join(dir, 'models/gold/stamp.sql'), text);
    const s1 = c.update(s0, [model('models/gold/stamp.sql', text)]);
    expect(s1.compiler).not.toBe(s0.compiler);
    expect(s1.compiled.nodes.has('gold.stamp')).toBe(true);
  });
});
