/**
 * Compiler.updateModel: the `applied` flag of a refused update, and load-time diagnostics of a
 * model file going away once an update of that file is taken.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { loadProject } from '../../src/project/load.js';
import { Compiler } from '../../src/compiler/compile.js';
import { writeProject, projectYml } from '../core/helpers.js';

function compile(files: Record<string, string>) {
  const dir = writeProject({ 'project.yml': projectYml(), ...files });
  const compiler = new Compiler(loadProject(dir));
  return { dir, compiler, compiled: compiler.compileAll() };
}

/** What a fresh load + compile of the project on disk reports. */
function freshDiagnostics(dir: string) {
  return new Compiler(loadProject(dir)).compileAll().diagnostics;
}

describe('ModelUpdate.applied', () => {
  it('is true for an edit, a new file and a deletion', () => {
    const { compiler } = compile({ 'models/bronze/a.sql': 'select 1 as id', 'models/silver/b.sql': "select * from {{ ref('a') }}" });
    expect(compiler.updateModel('models/silver/b.sql', "select id + 1 as id from {{ ref('a') }}").applied).toBe(true);
    expect(compiler.updateModel('models/silver/c.sql', 'select 3 as id').applied).toBe(true);
    const del = compiler.updateModel('models/silver/c.sql', undefined);
    expect(del).toMatchObject({ applied: true, removed: ['silver.c'] });
  });

  it('is false when a new file is named like another model, and the project stays as it was', () => {
    const { compiler } = compile({ 'models/bronze/a.sql': 'select 1 as id' });
    // models/bronze/x/a.sql is bronze.a too (the schema comes from the top folder).
    const u = compiler.updateModel('models/bronze/x/a.sql', 'select 2 as id');
    expect(u).toMatchObject({ applied: false, changed: [], added: [], removed: [], graphChanged: false });
    expect(u.diagnostics.map((d) => d.code)).toEqual(['LAKE-P021']);
    expect(compiler.compiledNode('bronze.a')!.sql).toBe('select 1 as id');
    expect(compiler.project.models.get('bronze.a')!.path).toBe('models/bronze/a.sql');
    expect(compiler.diagnostics()).toEqual([]);
  });

  it('is false when config() moves a model onto another model\'s id', () => {
    const { compiler } = compile({ 'models/bronze/a.sql': 'select 1 as id', 'models/silver/a.sql': 'select 2 as id' });
    const u = compiler.updateModel('models/silver/a.sql', "{{ config(schema='bronze') }}select 3 as id");
    expect(u.applied).toBe(false);
    expect(u.diagnostics.map((d) => `${d.code} ${d.file}`)).toEqual(['LAKE-C011 models/silver/a.sql']);
    expect(compiler.compiledNode('silver.a')!.sql).toBe('select 2 as id');
  });
});

describe('load-time diagnostics after an update', () => {
  const files = {
    'models/bronze/a.sql': 'select 1 as id',
    // Also bronze.a: loading reports it (LAKE-P021, on this file) and leaves it out.
    'models/bronze/x/a.sql': 'select 2 as id',
    'models/silver/b.sql': "select * from {{ ref('a') }}",
  };

  it('are gone once the file that caused them is deleted', () => {
    const { dir, compiler, compiled } = compile(files);
    expect(compiled.diagnostics.map((d) => `${d.code} ${d.file}`)).toEqual(['LAKE-P021 models/bronze/x/a.sql']);
    fs.rmSync(path.join(dir, 'models/bronze/x/a.sql'));
    const u = compiler.updateModel('models/bronze/x/a.sql', undefined);
    expect(u.applied).toBe(true);
    expect(u.diagnostics).toEqual([]);
    expect(compiler.diagnostics()).toEqual([]);
    expect(compiler.result().diagnostics).toEqual([]);
    expect(compiler.project.diagnostics).toEqual([]);
    expect(compiler.result().diagnostics).toEqual(freshDiagnostics(dir));
  });

  it('are gone once the file is renamed to a free name (a deletion and a new file)', () => {
    const { dir, compiler } = compile(files);
    fs.renameSync(path.join(dir, 'models/bronze/x/a.sql'), path.join(dir, 'models/bronze/x/a2.sql'));
    expect(compiler.updateModel('models/bronze/x/a.sql', undefined).applied).toBe(true);
    const u = compiler.updateModel('models/bronze/x/a2.sql', 'select 2 as id');
    expect(u).toMatchObject({ applied: true, added: ['bronze.a2'], diagnostics: [] });
    expect(compiler.compiledNode('bronze.a2')!.sql).toBe('select 2 as id');
    expect(compiler.result().diagnostics).toEqual(freshDiagnostics(dir));
  });

  it('stay while the update of that file is refused, and those of other files stay', () => {
    const { compiler } = compile({
      ...files,
      'models/silver/b.sql': 'select 1 as id',
      'models/silver/x/b.sql': 'select 2 as id',
    });
    expect(compiler.diagnostics().map((d) => d.file)).toEqual(['models/bronze/x/a.sql', 'models/silver/x/b.sql']);
    // Still named like models/bronze/a.sql: refused, the diagnostic stays.
    const refused = compiler.updateModel('models/bronze/x/a.sql', 'select 3 as id');
    expect(refused.applied).toBe(false);
    expect(compiler.diagnostics().map((d) => d.file)).toEqual(['models/bronze/x/a.sql', 'models/silver/x/b.sql']);
    // Taken: only that file's load diagnostic goes.
    expect(compiler.updateModel('models/bronze/x/a.sql', undefined).applied).toBe(true);
    expect(compiler.diagnostics().map((d) => d.file)).toEqual(['models/silver/x/b.sql']);
    // An edit of a file loading had nothing to say about leaves the others alone.
    expect(compiler.updateModel('models/bronze/a.sql', 'select 4 as id').applied).toBe(true);
    expect(compiler.diagnostics().map((d) => d.file)).toEqual(['models/silver/x/b.sql']);
  });

  it('drop the YAML warning about a documented model without a file once that file is added', () => {
    const { dir, compiler, compiled } = compile({
      'models/bronze/a.sql': 'select 1 as id',
      'models/silver/schema.yml': 'models:\n  - name: c\n    description: Documented before it exists.\n  - name: d\n    description: Never written.\n',
    });
    expect(compiled.diagnostics.map((d) => d.code)).toEqual(['LAKE-P022', 'LAKE-P022']);
    fs.writeFileSync(path.join(dir, 'models/silver/c.sql'), 'select 3 as id');
    const u = compiler.updateModel('models/silver/c.sql', 'select 3 as id');
    expect(u).toMatchObject({ applied: true, added: ['silver.c'] });
    // The warning about c goes, the one about d stays: what a fresh load says.
    expect(compiler.diagnostics().map((d) => d.message)).toEqual([expect.stringContaining("model 'd'")]);
    expect(compiler.result().diagnostics).toEqual(freshDiagnostics(dir));
    expect(compiler.project.models.get('silver.c')!.description).toBe('Documented before it exists.');
  });
});
