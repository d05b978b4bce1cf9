/**
 * Declarations of landing sources read as a data contract: a misspelt key or a value lake cannot
 * read is an error at the line of that key (the option the user meant would otherwise silently
 * not apply: quarantine instead of fail, inferred types instead of declared ones).
 */
import { describe, it, expect } from 'vitest';
import { loadProject } from '../../src/project/load.js';
import { makeProject } from './helpers.js';

const diagnosticsOf = (yml: string) => loadProject(makeProject({ 'models/sources.yml': yml, 'models/m.sql': 'select 1 as x' })).diagnostics.map((d) => [d.severity, d.line, d.message, d.hint]);

describe('landing source declarations', () => {
  it('names a misspelt key (and Auto Loader\'s camelCase spelling) at its line, with the key meant', () => {
    expect(diagnosticsOf([
      'sources:',
      '  - name: s',
      '    landing: landing',
      '    tables:',
      '      - name: a',
      '        shema_evolution: fail',
      '        colums: { id: BIGINT }',
      '        maxFilesPerTrigger: 1',
      '        owner: data-eng',
      '      - name: b',
      '        landing: { path: landing/b, formt: csv }',
      '',
    ].join('\n'))).toEqual([
      ['error', 6, "source s.a: unknown key 'shema_evolution'", 'did you mean schema_evolution?'],
      ['error', 7, "source s.a: unknown key 'colums'", 'did you mean columns?'],
      ['error', 8, "source s.a: unknown key 'maxFilesPerTrigger'", 'did you mean max_files_per_trigger?'],
      ['warn', 9, "source s.a: unknown key 'owner' is ignored", expect.stringContaining('docs/landing-sources.md')],
      ['error', 11, "source s.b: landing: unknown key 'formt'", 'did you mean format?'],
    ]);
  });

  it('a table\'s own landing folder holds its files; a landing path that is a file is an error with the fix', () => {
    const dir = makeProject({ 'models/sources.yml': 'sources:\n  - name: s\n    tables:\n      - name: a\n        landing: landing/a\n      - name: b\n        landing: landing/b/x.jsonl\n', 'models/m.sql': 'select 1 as x', 'landing/b/x.jsonl': '{}\n' });
    const p = loadProject(dir);
    expect(p.sources.get('source:s.a')!.landing).toMatchObject({ relDir: 'landing/a', files: '*' });
    expect(p.diagnostics.map((d) => [d.line, d.message, d.hint])).toEqual([[7, 'source s.b: landing landing/b/x.jsonl is a file, not a folder', 'point landing at its folder and name the files: landing: landing/b, files: x.jsonl']]);
  });

  it('reads allow_overwrites "false" as false and refuses other words; option errors point at the option\'s line', () => {
    const load = (v: string) => loadProject(makeProject({ 'models/sources.yml': `sources:\n  - name: s\n    landing: landing\n    tables:\n      - name: a\n        format: jsonl\n        allow_overwrites: ${v}\n        min_file_age: soon\n`, 'models/m.sql': 'select 1 as x' }));
    const quoted = load('"false"');
    expect(quoted.sources.get('source:s.a')!.landing!.allowOverwrites).toBe(false);
    expect(load('"TRUE"').sources.get('source:s.a')!.landing!.allowOverwrites).toBe(true);
    expect(quoted.diagnostics.map((d) => [d.line, d.message])).toEqual([[8, "source s.a: min_file_age 'soon' is not a duration"]]);
    expect(load('maybe').diagnostics.map((d) => [d.line, d.message])).toEqual([
      [8, "source s.a: min_file_age 'soon' is not a duration"],
      [7, "source s.a: allow_overwrites 'maybe' is not true or false"],
    ]);
  });
});
