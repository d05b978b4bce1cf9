/**
 * The floor of an ingestion with lake's obligations, beside the ingestion benchmark's bare load
 * (bench/ingest.ts): on the same landing files, alternating in one process, each into a fresh
 * database file and checkpointed,
 *  - bare: `insert into t select * from read_json('<dir>/landing/bpm/*.jsonl')` (the benchmark's baseline);
 *  - floor: lines with their numbers (read_text + string_split), the envelope and the payload each
 *    parsed once behind json_valid, typed columns, `_lake_file` and `_lake_line`, written once;
 *  - floor via memory: the same parsed rows into an in-memory table first, then copied (as lake's stage is).
 * No checks, dedupe, ledger or quarantine: what is left between lake and this is what those cost.
 *
 * `node dist/bench/ingest.js --keep` (prints the folder it kept), then
 * `node dist/bench/ingest-floor.js --dir <that folder> [--runs 5]`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBAdapter } from '../src/adapter/duckdb/adapter.js';

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const dir = arg('dir');
if (!dir) {
  process.stderr.write('usage: node dist/bench/ingest-floor.js --dir <folder kept by node dist/bench/ingest.js --keep> [--runs 5]\n');
  process.exit(2);
}
const runs = Number(arg('runs', '5'));
const glob = path.join(dir, 'landing/bpm/*.jsonl').replace(/'/g, "''");
const ENV = `'{"key":"VARCHAR","value":"VARCHAR","topic":"VARCHAR","partition":"INTEGER","offset":"BIGINT","timestamp":"DOUBLE"}'`;
const PAY = `'{"device_id":"BIGINT","time":"TIMESTAMPTZ","heartrate":"DOUBLE","user_id":"VARCHAR"}'`;
const PARSED = `select _lake_file, _lake_line, e.key as _key, e.topic as _topic, e.partition as _partition, e.offset as _offset,
    make_timestamp((e.timestamp * 1000)::bigint) as _timestamp, x.device_id, make_timestamp(epoch_us(x.time)) as time, x.heartrate, x.user_id
  from (select *, case when json_valid(e.value) then from_json(e.value, ${PAY}) end as x from (
    select _lake_file, _lake_line, case when json_valid(line) then from_json(line, ${ENV}) end as e from s.rec where line <> ''))`;

async function once(kind: 'bare' | 'floor' | 'floor via memory'): Promise<number> {
  const file = path.join(dir!, `floor-${process.pid}.duckdb`);
  for (const f of [file, `${file}.wal`]) fs.rmSync(f, { force: true });
  const db = await DuckDBAdapter.open(file);
  try {
    const t0 = performance.now();
    if (kind === 'bare') {
      await db.execute(`create table t as select * from read_json('${glob}') limit 0`);
      await db.execute(`insert into t select * from read_json('${glob}')`);
    } else {
      await db.execute(`attach ':memory:' as s`);
      await db.execute(`create table s.rec as select filename as _lake_file, generate_subscripts(l, 1) as _lake_line, unnest(l) as line
        from (select filename, string_split(content, chr(10)) as l from read_text('${glob}'))`);
      if (kind === 'floor') await db.execute(`create table bpm as ${PARSED}`);
      else {
        await db.execute(`create table s.bpm as ${PARSED}`);
        await db.execute('create table bpm as select * from s.bpm');
      }
    }
    await db.execute('checkpoint');
    return performance.now() - t0;
  } finally {
    await db.close();
    for (const f of [file, `${file}.wal`]) fs.rmSync(f, { force: true });
  }
}

const kinds = ['bare', 'floor', 'floor via memory'] as const;
const times: Record<string, number[]> = {};
for (let r = 0; r < runs; r++) for (const k of kinds) (times[k] ??= []).push(await once(k));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const k of kinds) process.stderr.write(`${k.padEnd(17)} median ${Math.round(median(times[k]!))} ms (${times[k]!.map((x) => Math.round(x)).join(', ')})\n`);
process.stdout.write(`${JSON.stringify({ bench: 'ingest-floor', runs, ms: Object.fromEntries(kinds.map((k) => [k, Math.round(median(times[k]!))])), all: times })}\n`);
