/**
 * CDC (incremental_strategy cdc) at a tie — changes of one key with the same sequence — lets the
 * change that landed last win (files as discovered: mtime, then name; then lines), whether the
 * files land in one run or one per run, for SCD type 1 and 2, with the `_lake_*` columns kept or
 * dropped by the model.
 */
import { describe, it, expect } from 'vitest';
import { makeProject, writeFile, inGroupings, query, jsonl, plain } from './helpers.js';

const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));

interface LandingFile { name: string; mtime: Date; changes: [id: number, seq: number][] }

/** Names sort against arrival (c, a, b, 0, z); the value of a change is `<file>:<line>`. */
const FILES: readonly LandingFile[] = [
  { name: 'c.jsonl', mtime: at(10), changes: [[1, 1], [2, 1], [2, 1], [3, 1]] },
  { name: 'a.jsonl', mtime: at(20), changes: [[1, 1], [3, 2], [4, 1]] },
  { name: 'b.jsonl', mtime: at(30), changes: [[2, 1], [3, 2], [5, 1]] },
  { name: '0.jsonl', mtime: at(40), changes: [[4, 1], [5, 1], [6, 3]] },
  { name: 'z.jsonl', mtime: at(50), changes: [[6, 3], [1, 1], [7, 1]] },
];

const MODELS = ['keep1', 'bare1', 'keep2', 'bare2'] as const;

function project(): string {
  const cdc = (scd: number, cols: string) =>
    `{{ config(materialized='incremental', incremental_strategy='cdc', unique_key='id', sequence_by='seq', scd_type=${scd}) }}\n` +
    `select ${cols} from {{ source('raw', 'ev') }}`;
  return makeProject({
    'models/sources.yml': 'sources:\n  - name: raw\n    landing: landing\n    tables:\n      - name: ev\n        files: ev/*.jsonl\n        columns: { id: BIGINT, seq: BIGINT, v: VARCHAR }\n',
    // The _lake_* columns kept: ties go by them.
    'models/keep1.sql': cdc(1, '*'),
    'models/keep2.sql': cdc(2, '*'),
    // Business columns only: the SELECT's row order (landing order) is all there is to go by.
    'models/bare1.sql': cdc(1, 'id, seq, v'),
    'models/bare2.sql': cdc(2, 'id, seq, v'),
  });
}

function land(dir: string, f: LandingFile): void {
  writeFile(dir, `landing/ev/${f.name}`, jsonl(f.changes.map(([id, seq], i) => ({ id, seq, v: `${f.name}:${i + 1}` }))), f.mtime);
}

async function tables(dir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const t of MODELS) {
    const validity = t.endsWith('2') ? ', valid_from, valid_to' : '';
    out[t] = plain(await query(dir, `select id, seq, v${validity} from main.${t} order by id, seq`));
  }
  return out;
}

describe('cdc: at equal sequence the change that landed last wins, however files are grouped into runs', () => {
  it('all files in one run, one per run, and two runs of several give the same tables', async () => {
    const [{ dir: once }, { dir: each }, { dir: twice, runs }] = await inGroupings(project, FILES, [[5], [1, 1, 1, 1, 1], [2, 3]], land);
    expect(runs[1]!.node('main.keep1').stats).toMatchObject({ files: 3 });

    // By file name, c.jsonl would beat b.jsonl (id 2), a.jsonl 0.jsonl (id 4), b.jsonl 0.jsonl (id 5).
    const scd1 = [
      { id: 1, seq: 1, v: 'z.jsonl:2' }, { id: 2, seq: 1, v: 'b.jsonl:1' }, { id: 3, seq: 2, v: 'b.jsonl:2' },
      { id: 4, seq: 1, v: '0.jsonl:1' }, { id: 5, seq: 1, v: '0.jsonl:2' }, { id: 6, seq: 3, v: 'z.jsonl:1' },
      { id: 7, seq: 1, v: 'z.jsonl:3' },
    ];
    const scd2 = [
      ...scd1.slice(0, 2).map((r) => ({ ...r, valid_from: r.seq, valid_to: null })),
      { id: 3, seq: 1, v: 'c.jsonl:4', valid_from: 1, valid_to: 2 },
      ...scd1.slice(2).map((r) => ({ ...r, valid_from: r.seq, valid_to: null })),
    ];
    const a = await tables(once);
    expect(a).toEqual({ keep1: scd1, bare1: scd1, keep2: scd2, bare2: scd2 });
    expect(await tables(each)).toEqual(a);
    expect(await tables(twice)).toEqual(a);
  });

  it('a file with an older mtime that lands in a later run loses to the stored change it ties with', async () => {
    // y.jsonl is older than every other file: landed with them it loses each tie; landed last on
    // its own, it loses too when the rows carry their file's mtime (compared as stored).
    const late: LandingFile = { name: 'y.jsonl', mtime: at(5), changes: [[2, 1], [7, 1]] };
    const [{ dir: once }, { dir: after, runs }] = await inGroupings(project, [...FILES, late], [[6], [5, 1]], land);
    expect(runs[1]!.node('main.keep1').stats).toMatchObject({ files: 1 });

    const keep = async (dir: string) => ({
      keep1: plain(await query(dir, 'select id, seq, v from main.keep1 order by id')),
      keep2: plain(await query(dir, 'select id, seq, v, valid_from, valid_to from main.keep2 order by id, seq')),
    });
    const a = await keep(once);
    expect(a.keep1.filter((r) => r.id === 2 || r.id === 7)).toEqual([{ id: 2, seq: 1, v: 'b.jsonl:1' }, { id: 7, seq: 1, v: 'z.jsonl:3' }]);
    expect(await keep(after)).toEqual(a);
  });
});
