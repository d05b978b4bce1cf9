/**
 * JSON and JSON-lines zones with `infer_types: true`: a column's type comes from the earliest file
 * (landing order) that has it, and a key that only bad records hold is no column — so the same
 * files give the same columns, rows and quarantine in one run, one per run, or any grouping.
 */
import { describe, it, expect } from 'vitest';
import { makeProject, writeFile, inGroupings, query, plain } from './helpers.js';

const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));

/**
 * Names sort against arrival (d, c, b, a). x is an integer in the first file, so 2.5 in the
 * second is a bad record; that record alone holds `only_bad`. w arrives in the third file as an
 * integer, so the fourth file's 2.5 is bad, and `late_bad` (only in that record) is no column.
 * v is a string first, a number later (VARCHAR either way).
 */
const FILES: readonly { name: string; mtime: Date; records: Record<string, unknown>[] }[] = [
  { name: 'd', mtime: at(10), records: [{ id: 1, x: 10, v: 'a' }] },
  { name: 'c', mtime: at(20), records: [{ id: 2, x: 2.5, only_bad: 'q' }, { id: 5, x: 5 }] },
  { name: 'b', mtime: at(30), records: [{ id: 3, x: 3, w: 1, v: 7 }] },
  { name: 'a', mtime: at(40), records: [{ id: 4, x: 4, w: 2.5, late_bad: true }, { id: 6, w: 6, z: 1.5 }] },
];

type Format = 'jsonl' | 'json' | 'csv';

function project(format: Format): string {
  return makeProject({
    'models/sources.yml': `sources:\n  - name: raw\n    landing: landing\n    tables:\n      - name: ev\n        files: ev/*.${format}\n        format: ${format}\n        infer_types: true\n`,
    'models/m.sql': "{{ config(materialized='incremental') }}\nselect * exclude (_lake_batch, _lake_file_mtime) from {{ source('raw', 'ev') }}",
  });
}

function land(dir: string, format: 'jsonl' | 'json', f: (typeof FILES)[number]): void {
  // json: one array per file; jsonl: one record per line.
  const text = format === 'json' ? JSON.stringify(f.records) : f.records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  writeFile(dir, `landing/ev/${f.name}.${format}`, text, f.mtime);
}

async function snapshot(dir: string): Promise<unknown> {
  return {
    columns: await query(dir, `select column_name as c, data_type as t from information_schema.columns where table_name = 'm' order by ordinal_position`),
    rows: plain(await query(dir, 'select * from main.m order by id')),
    // No bad record in a first run makes no quarantine table.
    quarantine: (await query(dir, "select 1 from information_schema.tables where table_name = 'm__quarantine'")).length
      ? plain(await query(dir, 'select file, line, reason from main.m__quarantine order by file, line')) : [],
  };
}

describe('infer_types on JSON: the same files give the same table however they are grouped into runs', () => {
  for (const format of ['jsonl', 'json'] as const) {
    it(`${format}: one run, one per run, and 1 + 3 files`, async () => {
      const out: unknown[] = [];
      for (const { dir } of await inGroupings(() => project(format), FILES, [[4], [1, 1, 1, 1], [1, 3], [2, 2]], (d, f) => land(d, format, f))) out.push(await snapshot(dir));
      for (const o of out.slice(1)) expect(o).toEqual(out[0]);
      const one = out[0] as { columns: { c: string; t: string }[]; rows: { id: number }[]; quarantine: { file: string; line: number; reason: string }[] };
      expect(one.columns.filter((x) => !x.c.startsWith('_lake')).map((x) => `${x.c}:${x.t}`)).toEqual(['id:BIGINT', 'x:BIGINT', 'v:VARCHAR', 'w:BIGINT', 'z:DOUBLE']);
      expect(one.rows.map((r) => r.id)).toEqual([1, 3, 5, 6]);
      expect(one.quarantine.map((q) => [q.file, q.reason])).toEqual([
        [`landing/ev/a.${format}`, 'column w: 2.5 is not a valid BIGINT'],
        [`landing/ev/c.${format}`, 'column x: 2.5 is not a valid BIGINT'],
      ]);
    });
  }
});

describe('a field only bad records hold is no column, whatever the grouping', () => {
  it('csv with infer_types: a file whose every row is bad brings no column', async () => {
    const files = [
      { name: 'c.csv', mtime: at(10), text: 'id,x\n1,10\n' },
      { name: 'b.csv', mtime: at(20), text: 'id,x,only_bad\n2,2.5,q\n' },
      { name: 'a.csv', mtime: at(30), text: 'id,x,y\n3,3,7\n' },
    ];
    const out: unknown[] = [];
    const groupings = await inGroupings(() => project('csv'), files, [[3], [1, 1, 1], [1, 2]], (d, f) => writeFile(d, `landing/ev/${f.name}`, f.text, f.mtime));
    for (const { dir } of groupings) out.push(await snapshot(dir));
    for (const o of out.slice(1)) expect(o).toEqual(out[0]);
    const one = out[0] as { columns: { c: string }[]; quarantine: { file: string }[] };
    expect(one.columns.map((x) => x.c).filter((c) => !c.startsWith('_lake'))).toEqual(['id', 'x', 'y']);
    expect(one.quarantine.map((q) => q.file)).toEqual(['landing/ev/b.csv']);
  });
});
