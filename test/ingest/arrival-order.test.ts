/**
 * insert_new keeps the first row of a key in landing order (files as discovered: mtime, then
 * name; then lines), whether the files land in one run or one per run — with the `_lake_*`
 * columns kept, dropped, or carried through a downstream stream() model.
 */
import { describe, it, expect } from 'vitest';
import { makeProject, writeFile, inGroupings, query, jsonl, plain } from './helpers.js';

const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));

/**
 * Files whose names sort against their arrival: arrival order is c, a, b, then (later) 0, z.
 * Every key is in several of them, with the file's name as its value.
 */
const FILES: readonly { name: string; mtime: Date; ids: number[] }[] = [
  { name: 'c.jsonl', mtime: at(10), ids: [1, 2, 2] },
  { name: 'a.jsonl', mtime: at(20), ids: [1, 3, 4] },
  { name: 'b.jsonl', mtime: at(30), ids: [2, 3, 5] },
  { name: '0.jsonl', mtime: at(40), ids: [4, 5, 6] },
  { name: 'z.jsonl', mtime: at(50), ids: [6, 1, 7] },
];

function project(): string {
  const inc = (cols: string, from: string) => `{{ config(materialized='incremental', incremental_strategy='insert_new', unique_key='id') }}\nselect ${cols} from ${from}`;
  return makeProject({
    'models/sources.yml': 'sources:\n  - name: raw\n    landing: landing\n    tables:\n      - name: ev\n        files: ev/*.jsonl\n        columns: { id: BIGINT, v: VARCHAR }\n',
    // The _lake_* columns kept.
    'models/keep.sql': inc('*', "{{ source('raw', 'ev') }}"),
    // Business columns only: the view's order is all there is to go by.
    'models/bare.sql': inc('id, v', "{{ source('raw', 'ev') }} where id is not null"),
    // Downstream of a bronze table, through stream().
    'models/bronze.sql': "{{ config(materialized='incremental') }}\nselect * from {{ source('raw', 'ev') }}",
    'models/silver.sql': inc('id, v, _lake_file, _lake_file_mtime, _lake_line', "{{ stream(ref('bronze')) }}"),
  });
}

function land(dir: string, f: (typeof FILES)[number]): void {
  writeFile(dir, `landing/ev/${f.name}`, jsonl(f.ids.map((id, i) => ({ id, v: `${f.name}:${i + 1}` }))), f.mtime);
}

async function tables(dir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const t of ['keep', 'bare', 'silver']) out[t] = plain(await query(dir, `select id, v from main.${t} order by id`));
  return out;
}

describe('insert_new: first arrival wins, however files are grouped into runs', () => {
  it('all files in one run, one per run, and two runs of several give the same tables', async () => {
    // All in one run, one per run, and a first build of two files then three in one incremental run.
    const [{ dir: once }, { dir: each }, { dir: twice, runs }] = await inGroupings(project, FILES, [[5], [1, 1, 1, 1, 1], [2, 3]], land);
    expect(runs[1]!.node('main.keep').stats).toMatchObject({ files: 3 });

    const expected = [
      { id: 1, v: 'c.jsonl:1' }, { id: 2, v: 'c.jsonl:2' }, { id: 3, v: 'a.jsonl:2' }, { id: 4, v: 'a.jsonl:3' },
      { id: 5, v: 'b.jsonl:3' }, { id: 6, v: '0.jsonl:3' }, { id: 7, v: 'z.jsonl:3' },
    ];
    const a = await tables(once);
    expect(a).toEqual({ keep: expected, bare: expected, silver: expected });
    expect(await tables(each)).toEqual(a);
    expect(await tables(twice)).toEqual(a);
    // The file's mtime, as the ledger holds it, is a column.
    expect(plain(await query(once, `select distinct _lake_file, _lake_file_mtime from main.bronze order by 2`)).map((r) => [r._lake_file, r._lake_file_mtime]))
      .toEqual(FILES.map((f) => [`landing/ev/${f.name}`, f.mtime.toISOString()]));
  });
});
