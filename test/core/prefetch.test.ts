/** A big project's model files read ahead on worker threads (project/prefetch.ts) give exactly what reading them here gives. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { FilePrefetch, PREFETCH_MIN_FILES } from '../../src/project/prefetch.js';
import { loadProject } from '../../src/project/load.js';
import { writeProject, projectYml } from './helpers.js';

function files(n: number): { dir: string; paths: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-prefetch-'));
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const sub = path.join(dir, `f${i % 3}`);
    fs.mkdirSync(sub, { recursive: true });
    const p = path.join(sub, `m${i}.sql`);
    // Different lengths and a non-ASCII character, so a text handed to the wrong file shows.
    fs.writeFileSync(p, `select ${i} as n, '${'é'.repeat(i % 7)}' as s${'\n--'.repeat(i % 5)}`);
    paths.push(p);
  }
  return { dir, paths };
}

describe('FilePrefetch', () => {
  it('gives every file the text readFileSync gives, from the readers or read here', async () => {
    const { paths } = files(1000);
    const prefetch = FilePrefetch.start(paths, 500);
    try {
      // Read the first half at once (the readers are still starting: read here), then give the
      // readers time to send the rest, read from the back.
      const half = paths.length / 2;
      for (const p of paths.slice(0, half)) expect(prefetch.text(p)).toBe(fs.readFileSync(p, 'utf8'));
      await new Promise((r) => setTimeout(r, 1500));
      for (const p of paths.slice(half)) expect(prefetch.text(p)).toBe(fs.readFileSync(p, 'utf8'));
      expect(prefetch.fromReaders).toBeGreaterThan(0);
    } finally {
      prefetch.close();
    }
  });

  it('fails for a missing file as readFileSync does, and reads a file it was not given', async () => {
    const { dir, paths } = files(600);
    const missing = path.join(dir, 'f1', 'gone.sql');
    const other = path.join(dir, 'other.sql');
    fs.writeFileSync(other, 'select 42');
    const list = [...paths.slice(0, 200), missing, ...paths.slice(200)];
    const prefetch = FilePrefetch.start(list, 500);
    try {
      await new Promise((r) => setTimeout(r, 1500));
      for (const p of list.slice(0, 200)) prefetch.text(p);
      expect(() => prefetch.text(missing)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(prefetch.fromReaders).toBeGreaterThan(0);
      expect(prefetch.text(other)).toBe('select 42');
      expect(prefetch.text(paths[250]!)).toBe(fs.readFileSync(paths[250]!, 'utf8'));
    } finally {
      prefetch.close();
    }
  });
});

describe('loading a project of more than PREFETCH_MIN_FILES models', () => {
  it('reads every model as written, and still names a file that is not UTF-8', () => {
    const n = PREFETCH_MIN_FILES + 20;
    const spec: Record<string, string> = { 'project.yml': projectYml() };
    for (let i = 0; i < n; i++) spec[`models/${['bronze', 'silver', 'gold'][i % 3]}/m${i}.sql`] = `select ${i} as n -- é${i}`;
    const dir = writeProject(spec);
    const p = loadProject(dir);
    expect(p.models.size).toBe(n);
    for (const m of p.models.values()) expect(m.rawSql).toBe(fs.readFileSync(path.join(dir, m.path), 'utf8'));

    fs.writeFileSync(path.join(dir, 'models/silver/latin1.sql'), Buffer.from([0x73, 0x65, 0x6c, 0x65, 0x63, 0x74, 0x20, 0x27, 0x63, 0x61, 0x66, 0xe9, 0x27]));
    const again = loadProject(dir);
    expect(again.diagnostics).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'LAKE-P040', file: 'models/silver/latin1.sql' })]));
    expect(again.models.size).toBe(n);
  });
});
