/**
 * bad_records modes with real malformed files: quarantine (file, line, raw text, reason), drop
 * (only counted), fail (file:line of the first, nothing changed). Never a row of NULLs.
 */
import { describe, it, expect } from 'vitest';
import { makeProject, writeFile, run, query, jsonl, clock, plain } from './helpers.js';

function project(mode: string, materialized = 'incremental'): string {
  return makeProject({
    'models/bronze/sources.yml': `sources:\n  - name: raw\n    landing: landing\n    format: jsonl\n    bad_records: ${mode}\n    tables:\n      - name: ev\n        files: ev/*.jsonl\n        columns: { id: BIGINT, at: TIMESTAMP, v: DOUBLE }\n`,
    'models/bronze/ev.sql': `{{ config(materialized='${materialized}') }}\nselect * from {{ source('raw', 'ev') }}`,
  });
}

/** A quarantining JSON-lines source `raw.ev` with the given column types, read by bronze.ev. */
function typedProject(columns: string): string {
  return makeProject({
    'models/bronze/sources.yml': `sources:\n  - name: raw\n    landing: landing\n    format: jsonl\n    bad_records: quarantine\n    infer_types: true\n    tables:\n      - name: ev\n        files: ev/*.jsonl\n        columns: ${columns}\n`,
    'models/bronze/ev.sql': `{{ config(materialized='incremental') }}\nselect * from {{ source('raw', 'ev') }}`,
  });
}

// Line 2: wrong type; line 3: malformed JSON; line 4: a JSON array, not an object;
// line 5: truncated (a writer cut off mid-record); line 6: a bad timestamp.
const MIXED = [
  '{"id": 1, "at": "2024-01-01 00:00:00", "v": 1.5}',
  '{"id": "one", "at": "2024-01-01 00:00:00", "v": 1}',
  '{"id": 3, "at": "2024-01-01 00:00:00", v: 2}',
  '[4, "2024-01-01", 3]',
  '{"id": 6, "at": "2024-01-01 00:00:00", "v": 3.25}',
  '{"id": 7, "at": "yesterday"}',
  '{"id": 8, "at": "2024-01-0',
].join('\n');
// The last line has no newline: a truncated final record.

describe('bad records', () => {
  it('quarantine: bad lines go to <schema>.<model>__quarantine with file, line, raw text and reason', async () => {
    const dir = project('quarantine');
    writeFile(dir, 'landing/ev/a.jsonl', MIXED);
    const r = await run(dir);
    expect(r.node('bronze.ev').status).toBe('success');
    expect(r.node('bronze.ev').stats).toMatchObject({ files: 1, rows: 2, bad_records: 5 });
    expect(plain(await query(dir, 'select id, v, _lake_line from bronze.ev order by id'))).toEqual([
      { id: 1, v: 1.5, _lake_line: 1 }, { id: 6, v: 3.25, _lake_line: 5 },
    ]);
    // Never a row of NULLs standing in for a bad line.
    expect(await query(dir, 'select count(*) as n from bronze.ev where id is null')).toEqual([{ n: 0 }]);
    const q = plain(await query(dir, 'select source, file, line, raw, reason, batch from bronze.ev__quarantine order by line'));
    expect(q.map((x) => [x.line, x.raw])).toEqual([
      [2, '{"id": "one", "at": "2024-01-01 00:00:00", "v": 1}'],
      [3, '{"id": 3, "at": "2024-01-01 00:00:00", v: 2}'],
      [4, '[4, "2024-01-01", 3]'],
      [6, '{"id": 7, "at": "yesterday"}'],
      [7, '{"id": 8, "at": "2024-01-0'],
    ]);
    expect(q.map((x) => x.reason)).toEqual([
      'column id: "one" is not a valid BIGINT',
      'malformed JSON',
      'not a JSON object',
      'column at: "yesterday" is not a valid TIMESTAMP',
      'malformed JSON',
    ]);
    expect(new Set(q.map((x) => x.file))).toEqual(new Set(['landing/ev/a.jsonl']));
    expect(new Set(q.map((x) => x.source))).toEqual(new Set(['source:raw.ev']));
    const [runRow] = await query(dir, 'select max(batch_id) as b from _lake.runs');
    expect(q[0]!.batch).toBe(runRow!.b);
    // Counted in the ledger and in run_results (node_runs stats).
    expect(await query(dir, `select rows, bad_rows from _lake.files`)).toEqual([{ rows: 2, bad_rows: 5 }]);
    const [nr] = await query(dir, `select stats->>'bad_records' as bad from _lake.node_runs where node_id = 'bronze.ev'`);
    expect(nr!.bad).toBe('5');
  });

  it('quarantine accumulates for incremental models and is rebuilt for table models', async () => {
    const t = clock();
    const inc = project('quarantine');
    const tab = project('quarantine', 'table');
    for (const dir of [inc, tab]) writeFile(dir, 'landing/ev/a.jsonl', '{"id": 1}\n{bad\n', t());
    for (const dir of [inc, tab]) await run(dir);
    for (const dir of [inc, tab]) writeFile(dir, 'landing/ev/b.jsonl', '{"id": 2}\n{worse\n', t());
    for (const dir of [inc, tab]) await run(dir);
    for (const dir of [inc, tab]) {
      expect((await query(dir, 'select file, line from bronze.ev__quarantine order by file')).map((x) => `${x.file}:${x.line}`)).toEqual(['landing/ev/a.jsonl:2', 'landing/ev/b.jsonl:2']);
      expect((await query(dir, 'select id from bronze.ev order by id')).map((x) => x.id)).toEqual([1, 2]);
    }
  });

  it('drop: bad lines are counted, not kept anywhere', async () => {
    const dir = project('drop');
    writeFile(dir, 'landing/ev/a.jsonl', MIXED);
    const r = await run(dir);
    expect(r.node('bronze.ev').stats).toMatchObject({ rows: 2, bad_records: 5 });
    expect(await query(dir, 'select count(*) as n from bronze.ev')).toEqual([{ n: 2 }]);
    expect(await query(dir, `select count(*) as n from information_schema.tables where table_name = 'ev__quarantine'`)).toEqual([{ n: 0 }]);
    expect(await query(dir, `select bad_rows from _lake.files`)).toEqual([{ bad_rows: 5 }]);
  });

  it('fail: the model fails with file:line of the first bad record and nothing changes', async () => {
    const t = clock();
    const dir = project('fail');
    writeFile(dir, 'landing/ev/a.jsonl', jsonl([{ id: 1 }, { id: 2 }]), t());
    expect(r0(await run(dir))).toBe('success');
    writeFile(dir, 'landing/ev/b.jsonl', jsonl([{ id: 3 }]), t());
    writeFile(dir, 'landing/ev/c.jsonl', MIXED, t());
    const r = await run(dir);
    expect(r.node('bronze.ev').status).toBe('error');
    expect(r.node('bronze.ev').error).toContain('landing/ev/c.jsonl:2');
    expect(r.node('bronze.ev').error).toContain('column id: "one" is not a valid BIGINT');
    expect(r.failed).toBe(true);
    // Nothing changed: not the rows, not the ledger (b.jsonl, read in the same batch, is not consumed either).
    expect((await query(dir, 'select id from bronze.ev order by id')).map((x) => x.id)).toEqual([1, 2]);
    expect((await query(dir, 'select path from _lake.files order by path')).map((x) => x.path)).toEqual(['landing/ev/a.jsonl']);
    // Once the bad file is fixed, the next run reads both.
    writeFile(dir, 'landing/ev/c.jsonl', jsonl([{ id: 4 }]), t());
    expect(r0(await run(dir))).toBe('success');
    expect((await query(dir, 'select id from bronze.ev order by id')).map((x) => x.id)).toEqual([1, 2, 3, 4]);
  });

  it('a line that is not UTF-8 text is one bad record (its raw text kept), and the rest of its file and the other files are read', async () => {
    const t = clock();
    const dir = project('quarantine');
    // Line 2 holds bytes that are no UTF-8 (Latin-1's é, a stray 0xff); CRLF line ends, a blank line 4.
    const bad = Buffer.concat([Buffer.from('{"id":1}\r\n{"id":2,"x":"caf'), Buffer.from([0xe9, 0xff]), Buffer.from('"}\r\n{"id":3}\r\n\r\n{"id":5}\r\n')]);
    writeFile(dir, 'landing/ev/a.jsonl', bad, t());
    writeFile(dir, 'landing/ev/b.jsonl', jsonl([{ id: 10 }]), t());
    const r = await run(dir);
    expect(r.node('bronze.ev').stats).toMatchObject({ rows: 4, bad_records: 1 });
    expect(plain(await query(dir, 'select id, _lake_file, _lake_line from bronze.ev order by id'))).toEqual([
      { id: 1, _lake_file: 'landing/ev/a.jsonl', _lake_line: 1 }, { id: 3, _lake_file: 'landing/ev/a.jsonl', _lake_line: 3 },
      { id: 5, _lake_file: 'landing/ev/a.jsonl', _lake_line: 5 }, { id: 10, _lake_file: 'landing/ev/b.jsonl', _lake_line: 1 },
    ]);
    expect(plain(await query(dir, 'select file, line, reason, raw from bronze.ev__quarantine'))).toEqual([
      { file: 'landing/ev/a.jsonl', line: 2, reason: 'line is not valid UTF-8 text', raw: '{"id":2,"x":"caf\ufffd\ufffd"}' },
    ]);
  });

  it('an integer column takes integers only, and a time with an offset is held in UTC', async () => {
    const dir = typedProject('{ id: BIGINT, qty: INTEGER, at: TIMESTAMP }');
    const t = clock();
    writeFile(dir, 'landing/ev/a.jsonl', [
      '{"id": 1, "qty": 2.7}',
      '{"id": 2, "qty": true}',
      '{"id": 3, "qty": 99999999999}',
      '{"id": 4, "qty": 2.0, "at": "2024-03-01T10:00:00+02:00"}',
      '{"id": 9007199254740993, "qty": 1e3, "at": "2024-03-01T10:00:00Z"}',
      '{"id": 6, "qty": "12", "at": "2024-03-01 10:00:00", "score": 1}',
    ].join('\n'), t());
    await run(dir);
    expect(plain(await query(dir, 'select id::varchar as id, qty, "at", score from bronze.ev order by _lake_line'))).toEqual([
      { id: '4', qty: 2, at: '2024-03-01T08:00:00.000Z', score: null },
      { id: '9007199254740993', qty: 1000, at: '2024-03-01T10:00:00.000Z', score: null },
      { id: '6', qty: 12, at: '2024-03-01T10:00:00.000Z', score: 1 },
    ]);
    // A new column typed BIGINT from its first values takes integers only in later batches too.
    writeFile(dir, 'landing/ev/b.jsonl', '{"id": 7, "score": 2.5}\n{"id": 8, "score": 3}\n', t());
    await run(dir);
    expect(plain(await query(dir, 'select id, score from bronze.ev where id in (7, 8) order by id'))).toEqual([{ id: 8, score: 3 }]);
    expect(plain(await query(dir, 'select line, reason from bronze.ev__quarantine order by file, line'))).toEqual([
      { line: 1, reason: 'column qty: 2.7 is not a valid INTEGER' },
      { line: 2, reason: 'column qty: true is not a valid INTEGER' },
      { line: 3, reason: 'column qty: 99999999999 is not a valid INTEGER' },
      { line: 1, reason: 'column score: 2.5 is not a valid BIGINT' },
    ]);
  });

  it('a STRUCT column whose field does not fit its type is a bad record, not a NULL field', async () => {
    const dir = typedProject(`{ id: BIGINT, addr: 'STRUCT(city VARCHAR, zip BIGINT, "the state" VARCHAR)' }`);
    writeFile(dir, 'landing/ev/a.jsonl', [
      '{"id": 1, "addr": {"city": "Rome", "zip": "abc"}}',
      '{"id": 2, "addr": {"city": "Oslo", "zip": 1, "the state": "NO"}}',
      '{"id": 3, "addr": {"city": "Bern"}}',
      '{"id": 4, "addr": null}',
      '{"id": 5, "addr": "Paris"}',
      '{"id": 6, "addr": 42}',
      '{"id": 7, "addr": {"zip": 2.7}}',
      '{"id": 8, "addr": {"zip": true}}',
      '{"id": 9, "addr": {"zip": 2.0}}',
    ].join('\n'));
    await run(dir);
    expect(plain(await query(dir, 'select id, addr.zip as zip, addr."the state" as st from bronze.ev order by id'))).toEqual([
      { id: 2, zip: 1, st: 'NO' }, { id: 3, zip: null, st: null }, { id: 4, zip: null, st: null }, { id: 9, zip: 2, st: null },
    ]);
    expect(plain(await query(dir, 'select line, reason from bronze.ev__quarantine order by line'))).toEqual([
      { line: 1, reason: 'column addr.zip: "abc" is not a valid BIGINT' },
      { line: 5, reason: 'column addr: "Paris" is not a valid STRUCT(city VARCHAR, zip BIGINT, "the state" VARCHAR)' },
      { line: 6, reason: 'column addr: 42 is not a valid STRUCT(city VARCHAR, zip BIGINT, "the state" VARCHAR)' },
      { line: 7, reason: 'column addr.zip: 2.7 is not a valid BIGINT' },
      { line: 8, reason: 'column addr.zip: true is not a valid BIGINT' },
    ]);
  });

  it('a DECIMAL column rounds a JSON number as written (0.285 is 0.29), and takes a string exactly', async () => {
    const dir = typedProject("{ id: BIGINT, amount: 'DECIMAL(38,2)' }");
    writeFile(dir, 'landing/ev/a.jsonl', ['{"id": 1, "amount": 0.285}', '{"id": 2, "amount": "1234567890123456789.12"}', '{"id": 3, "amount": 12.5}', '{"id": 4, "amount": true}'].join('\n'));
    await run(dir);
    expect(plain(await query(dir, 'select id, amount::varchar as amount from bronze.ev order by id'))).toEqual([
      { id: 1, amount: '0.29' }, { id: 2, amount: '1234567890123456789.12' }, { id: 3, amount: '12.50' },
    ]);
    expect(plain(await query(dir, 'select line, reason from bronze.ev__quarantine'))).toEqual([{ line: 4, reason: 'column amount: true is not a valid DECIMAL(38,2)' }]);
  });
});

function r0(r: Awaited<ReturnType<typeof run>>): string {
  return r.node('bronze.ev').status;
}
