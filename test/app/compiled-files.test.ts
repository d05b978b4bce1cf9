/**
 * CompiledFiles: target/compiled/<schema>/<name>.sql and its index — unchanged files skipped, the
 * same bytes on a worker thread as on the caller's, and an index that never lists a file whose
 * write did not complete.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { CompiledFiles, writeCompiledFiles } from '../../src/app/compiled-files.js';
import { writeProject, projectYml, lake } from '../core/helpers.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'lake-compiled-files-'));
const index = (target: string) => JSON.parse(fs.readFileSync(path.join(target, 'compiled', '.lake-index.json'), 'utf8')) as Record<string, string>;
const read = (target: string, rel: string) => fs.readFileSync(path.join(target, 'compiled', rel), 'utf8');

/** Every file under `dir` (relative path → content), the index left out. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const abs = path.join(dir, f);
    if (fs.statSync(abs).isFile() && !f.endsWith('.lake-index.json')) out[f.split(path.sep).join('/')] = fs.readFileSync(abs, 'utf8');
  }
  return out;
}

describe('CompiledFiles', () => {
  it('writes each file with a final newline, and skips it next time while it is unchanged and there', () => {
    const target = tmp();
    writeCompiledFiles(target, [{ id: 'main.a', sql: 'select 1' }, { id: 'silver.b', sql: 'select 2' }]);
    expect(read(target, 'main/a.sql')).toBe('select 1\n');
    expect(Object.keys(index(target)).sort()).toEqual(['main/a.sql', 'silver/b.sql']);
    const old = new Date('2020-01-01');
    fs.utimesSync(path.join(target, 'compiled/main/a.sql'), old, old);
    fs.rmSync(path.join(target, 'compiled/silver/b.sql'));
    const files = CompiledFiles.open(target);
    files.add('main.a', 'select 1');
    files.add('silver.b', 'select 2');
    files.finishSync();
    expect(files.written).toBe(1);
    expect(fs.statSync(path.join(target, 'compiled/main/a.sql')).mtime.getTime()).toBe(old.getTime());
    expect(read(target, 'silver/b.sql')).toBe('select 2\n');
  });

  it('writes the same files and index on a worker thread', async () => {
    const a = tmp();
    const b = tmp();
    const nodes = Array.from({ length: 700 }, (_, i) => ({ id: `${['bronze', 'silver', 'gold'][i % 3]}.m_${i}`, sql: `select ${i} as id -- ${'x'.repeat(i % 50)}` }));
    // Non-ASCII names and text, and one file bigger than a batch's buffer.
    nodes.push({ id: 'main.café', sql: "select 'crème brûlée ✓ 😀' as dessert" }, { id: 'main.big', sql: `select '${'ü'.repeat(200_000)}' as wide` });
    writeCompiledFiles(a, nodes);
    const files = CompiledFiles.open(b, { background: true });
    for (const n of nodes) files.add(n.id, n.sql);
    // Handed in again with the same SQL (compileAll may do so): written once.
    files.add(nodes[0]!.id, nodes[0]!.sql);
    files.addFile(path.join(b, 'manifest.json'), '{"ok":true}');
    await files.finish();
    expect(files.written).toBe(702);
    expect(tree(path.join(b, 'compiled'))).toEqual(tree(path.join(a, 'compiled')));
    expect(index(b)).toEqual(index(a));
    expect(read(b, 'main/café.sql')).toBe("select 'crème brûlée ✓ 😀' as dessert\n");
    expect(index(b)['main/café.sql']).toBe(crypto.createHash('sha1').update("select 'crème brûlée ✓ 😀' as dessert\n").digest('base64'));
    expect(read(b, 'main/big.sql')).toBe(`select '${'ü'.repeat(200_000)}' as wide\n`);
    expect(fs.readFileSync(path.join(b, 'manifest.json'), 'utf8')).toBe('{"ok":true}');
    expect(fs.readdirSync(b).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  for (const background of [false, true]) {
    it(`never lists a file whose rewrite did not complete (${background ? 'worker' : 'same thread'})`, async () => {
      const target = tmp();
      writeCompiledFiles(target, [{ id: 'main.a', sql: 'select 1' }, { id: 'main.b', sql: 'select 2' }]);
      // main.c cannot be written (a folder is in the way): the compile fails after a.sql was rewritten.
      fs.mkdirSync(path.join(target, 'compiled/main/c.sql'));
      const files = CompiledFiles.open(target, { background });
      files.add('main.a', 'select 10');
      files.add('main.c', 'select 3');
      if (background) await expect(files.finish()).rejects.toThrow(/c\.sql/);
      else expect(() => files.finishSync()).toThrow();
      // The index on disk no longer vouches for a.sql (its rewrite had started) and never did for c.sql.
      expect(index(target)).toEqual({ 'main/b.sql': expect.any(String) });
      // So when the model goes back to its old SQL, the file is written again rather than trusted.
      const again = CompiledFiles.open(target);
      again.add('main.a', 'select 1');
      again.add('main.b', 'select 2');
      again.finishSync();
      expect(again.written).toBe(1);
      expect(read(target, 'main/a.sql')).toBe('select 1\n');
    });
  }

  it('abort lets queued writes finish but leaves the index as it was', async () => {
    const target = tmp();
    const files = CompiledFiles.open(target, { background: true });
    for (let i = 0; i < 300; i++) files.add(`main.m${i}`, `select ${i}`);
    await files.abort();
    expect(fs.existsSync(path.join(target, 'compiled/.lake-index.json'))).toBe(false);
    for (const f of fs.readdirSync(path.join(target, 'compiled/main'))) expect(read(target, `main/${f}`)).toMatch(/^select \d+\n$/);
  });
});

describe('lake compile of a project large enough for the background writer', () => {
  it('writes every compiled file and the manifest, and a re-compile rewrites only what changed', () => {
    const files: Record<string, string> = { 'project.yml': projectYml() };
    for (let i = 0; i < 320; i++) {
      const layer = ['bronze', 'silver', 'gold'][i % 3];
      files[`models/${layer}/m_${i}.sql`] = i === 0 ? 'select 1 as id' : `{{ config(materialized='table') }}select * from {{ ref('m_${Math.floor(i / 2)}') }}`;
    }
    const dir = writeProject(files);
    const r = lake(dir, ['compile']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/compiled 320 models/);
    const compiled = tree(path.join(dir, 'target/compiled'));
    expect(Object.keys(compiled)).toHaveLength(320);
    expect(compiled['silver/m_1.sql']).toBe('select * from "bronze"."m_0"\n');
    expect(compiled['gold/m_5.sql']).toBe('select * from "gold"."m_2"\n');
    expect(Object.keys(index(path.join(dir, 'target')))).toHaveLength(320);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8'));
    expect(Object.keys(m.nodes)).toHaveLength(320);
    expect(m.nodes['gold.m_5'].compiled_sql).toBe('select * from "gold"."m_2"');

    const old = new Date('2020-01-01');
    for (const f of ['bronze/m_0.sql', 'gold/m_2.sql', 'gold/m_5.sql']) fs.utimesSync(path.join(dir, 'target/compiled', f), old, old);
    fs.writeFileSync(path.join(dir, 'models/gold/m_2.sql'), "{{ config(materialized='table') }}select *, 2 as two from {{ ref('m_1') }}");
    expect(lake(dir, ['compile']).code).toBe(0);
    const mtime = (f: string) => fs.statSync(path.join(dir, 'target/compiled', f)).mtime.getTime();
    expect(mtime('bronze/m_0.sql')).toBe(old.getTime());
    expect(mtime('gold/m_5.sql')).toBe(old.getTime());
    expect(mtime('gold/m_2.sql')).not.toBe(old.getTime());
    expect(read(path.join(dir, 'target'), 'gold/m_2.sql')).toBe('select *, 2 as two from "silver"."m_1"\n');
  });

  it('after a failed compile (files of good models may be written, none indexed) a fixed one writes everything right', () => {
    const files: Record<string, string> = { 'project.yml': projectYml() };
    for (let i = 0; i < 320; i++) files[`models/m_${i}.sql`] = i === 0 ? 'select 1 as id' : `select * from {{ ref('m_${i - 1}') }}`;
    files['models/m_300.sql'] = "select * from {{ ref('missing') }}";
    const dir = writeProject(files);
    const bad = lake(dir, ['compile']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('LAKE-C001');
    expect(fs.existsSync(path.join(dir, 'target/compiled/.lake-index.json'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'target/manifest.json'))).toBe(false);
    // What a failed compile did write is whole.
    for (const [rel, text] of Object.entries(fs.existsSync(path.join(dir, 'target/compiled')) ? tree(path.join(dir, 'target/compiled')) : {})) {
      expect(text, rel).toMatch(/^select .*\n$/);
    }
    fs.writeFileSync(path.join(dir, 'models/m_300.sql'), "select * from {{ ref('m_299') }}");
    expect(lake(dir, ['compile']).code).toBe(0);
    const compiled = tree(path.join(dir, 'target/compiled'));
    expect(Object.keys(compiled)).toHaveLength(320);
    expect(compiled['main/m_300.sql']).toBe('select * from "main"."m_299"\n');
    expect(compiled['main/m_0.sql']).toBe('select 1 as id\n');
  });
});
