/**
 * The Kafka offsets a consumer holds (`_lake.ingest_offsets`), saved from a stage by saveOffsets:
 * merged ranges must be exactly the runs of consecutive offsets of what is held before plus what
 * the stage keeps — checked against a TypeScript oracle on random offsets with gaps, across
 * blocks, partitions and held ranges, on a real DuckDB.
 */
import { describe, it, expect } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { INGEST_DDL } from '../../src/ingest/ledger.js';
import { saveOffsets } from '../../src/ingest/kafka.js';
import { randomStream } from '../../tools/generate/prng.js';

type Range = [topic: string, partition: number, lo: number, hi: number];

/** Runs of consecutive offsets per topic and partition, sorted. */
function runs(offsets: ReadonlyMap<string, ReadonlySet<number>>): Range[] {
  const out: Range[] = [];
  for (const key of [...offsets.keys()].sort()) {
    const [topic, p] = key.split('/') as [string, string];
    const sorted = [...offsets.get(key)!].sort((a, b) => a - b);
    let lo = sorted[0]!;
    for (let i = 1; i <= sorted.length; i++) {
      if (i === sorted.length || sorted[i] !== sorted[i - 1]! + 1) {
        out.push([topic, Number(p), lo, sorted[i - 1]!]);
        lo = sorted[i]!;
      }
    }
  }
  return out;
}

describe('saveOffsets', () => {
  it('stores exactly the runs of held and new offsets, whatever the gaps', async () => {
    const db = await DuckDBAdapter.open(':memory:');
    try {
      for (const sql of INGEST_DDL) await db.execute(sql);
      const rng = randomStream('offsets');
      const held = new Map<string, Set<number>>();
      for (let round = 0; round < 6; round++) {
        // A stage: kept records, bad records (no offset kept) and duplicates of held offsets.
        await db.execute(`create or replace table stage (_topic varchar, _partition integer, _offset bigint, _reason varchar, _dup boolean)`);
        const rows: string[] = [];
        const news = new Map<string, Set<number>>();
        for (const topic of ['a', 'b']) {
          for (const p of [0, 1, 2]) {
            const key = `${topic}/${p}`;
            const base = round * 700 + (p === 2 ? -300 : 0); // negative offsets too
            const gapRate = [0, 0.002, 0.05, 0.5][(round + p) % 4]!;
            for (let o = base; o < base + 900; o++) {
              const had = held.get(key)?.has(o) ?? false;
              const r = rng();
              if (r < gapRate) continue; // never delivered
              if (r < gapRate * 1.5) { rows.push(`('${topic}', ${p}, ${o}, 'malformed', false)`); continue; }
              if (had) { rows.push(`('${topic}', ${p}, ${o}, null, true)`); continue; }
              rows.push(`('${topic}', ${p}, ${o}, null, false)`);
              if (!news.has(key)) news.set(key, new Set());
              news.get(key)!.add(o);
            }
          }
        }
        await db.execute(`insert into stage values ${rows.join(', ')}`);
        await saveOffsets(db, 'stage', 'silver.m', 'source:k.t');
        for (const [k, set] of news) {
          if (!held.has(k)) held.set(k, new Set());
          for (const o of set) held.get(k)!.add(o);
        }
        const got = (await db.query<{ topic: string; partition: number; lo: bigint; hi: bigint }>(
          `select topic, "partition" as partition, lo, hi from _lake.ingest_offsets where consumer = 'silver.m' order by topic, "partition", lo`,
        )).map((r): Range => [r.topic, Number(r.partition), Number(r.lo), Number(r.hi)]);
        expect(got).toEqual(runs(held));
      }
    } finally {
      await db.close();
    }
  });
});
