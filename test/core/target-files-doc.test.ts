/**
 * docs/target-files.md describes every field `lake compile` writes to target/manifest.json: a real
 * project compiled by the CLI, and each key of the manifest (top level, metadata, nodes, sources,
 * columns, tests) looked up in the document's manifest section; and run_results.json after a build.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lake, projectYml, writeProject } from './helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Obj = Record<string, unknown>;

describe('docs/target-files.md', () => {
  it('lists every field lake compile writes to manifest.json', () => {
    const dir = writeProject({
      'project.yml': projectYml(),
      'seeds/raw.csv': 'id,name\n1,a\n',
      'models/bronze/orders.sql': "{{ config(alias='orders_v') }}\nselect r.* from {{ ref('raw') }} r join {{ source('ext', 'things') }} s using (id)",
      'models/schema.yml': `sources:
  - name: ext
    schema: seeds
    tables:
      - name: things
        identifier: raw
        tags: [ext]
        columns:
          - name: id
            data_tests: [not_null]
models:
  - name: orders
    columns:
      - name: id
        constraints: [{ type: not_null }]
        data_tests: [unique]
`,
      'docs/overview.md': '{% docs __overview__ %}\n# Orders\n{% enddocs %}\n',
    });
    const r = lake(dir, ['compile']);
    expect(r.code, r.stderr).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8')) as Obj;
    const keys = new Set<string>(Object.keys(manifest));
    const add = (o: unknown) => Object.keys(o as Obj).forEach((k) => keys.add(k));
    add(manifest.metadata);
    const entries = [...Object.values(manifest.nodes as Obj), ...Object.values(manifest.sources as Obj)] as Obj[];
    for (const n of entries) {
      add(n);
      for (const c of Object.values(n.columns as Obj)) add(c);
      for (const t of n.tests as Obj[]) add(t);
      add(n.depends_on ?? {});
    }
    // The fields the project makes sure of (the document left these out).
    expect((manifest.nodes as Record<string, Obj>)['bronze.orders']!.alias).toBe('orders_v');
    expect(manifest.test_checksums).toEqual(expect.arrayContaining([expect.stringContaining('|unique|')]));
    const doc = fs.readFileSync(path.join(repo, 'docs/target-files.md'), 'utf8');
    const section = doc.slice(doc.indexOf('# target/manifest.json'), doc.indexOf('# target/run_results.json'));
    const missing = [...keys].filter((k) => !section.includes(`"${k}"`));
    expect(missing).toEqual([]);

    // And what lake build writes to run_results.json (top level, each node's result, each test's).
    const built = lake(dir, ['build']);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const rr = JSON.parse(fs.readFileSync(path.join(dir, 'target/run_results.json'), 'utf8')) as Obj;
    const rrKeys = new Set<string>(Object.keys(rr));
    for (const x of [...(rr.results as Obj[]), ...(rr.tests as Obj[])]) Object.keys(x).forEach((k) => rrKeys.add(k));
    const rrSection = doc.slice(doc.indexOf('# target/run_results.json'), doc.indexOf('# target/sources.json'));
    expect([...rrKeys].filter((k) => !rrSection.includes(`"${k}"`))).toEqual([]);
  });
});
