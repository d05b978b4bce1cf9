/**
 * The Kafka offsets a consumer holds (`_lake.ingest_offsets`), saved from a stage by saveOffsets:
 * merged ranges must be exactly the runs of consecutive offsets of what is held before plus what
 * the stage keeps — checked against a TypeScript oracle on random offsets with gaps, across
 * blocks, partitions and held ranges, on a real DuckDB. And the copies markDuplicates marks in a
 * stage: exactly every copy of an offset after its first (in file, then line order), checked against
 * the same kind of oracle.
 */
import { describe, it, expect } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { INGEST_DDL } from '../../src/ingest/ledger.js';
import { markDuplicates, saveOffsets } from '../../src/ingest/kafka.js';
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
        await saveOffsets(db, 'stage', 'silver.m', 'source:k.t', '_reason is null and not _dup');
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

describe('markDuplicates', () => {
  it('marks every copy after the first of an offset, and nothing else, whatever the gaps', async () => {
    const db = await DuckDBAdapter.open(':memory:');
    try {
      const rng = randomStream('duplicates');
      for (let round = 0; round < 4; round++) {
        await db.execute(`create or replace table stage (_f integer, _lake_line bigint, _topic varchar, _partition integer, _offset bigint, _reason varchar, _dup boolean)`);
        // Deliveries in landing order: each offset once or several times (copies near or far,
        // in the same file or a later one), gaps of every density, negative offsets, bad records
        // that share an offset with a good one (a bad record is never a copy nor a first copy).
        type Row = { f: number; line: number; topic: string; p: number; o: number; bad: boolean };
        const deliveries: Omit<Row, 'f' | 'line'>[] = [];
        for (const topic of ['a', 'b']) {
          for (const p of [0, 1]) {
            const base = p === 1 ? -500 : round * 1000;
            const gapRate = [0, 0.01, 0.3, 0.7][(round + p) % 4]!;
            const copyRate = [0.003, 0.05, 0.3][(round + p + (topic === 'b' ? 1 : 0)) % 3]!;
            for (let o = base; o < base + 1500; o++) {
              if (rng() < gapRate) continue;
              deliveries.push({ topic, p, o, bad: rng() < 0.02 });
              while (rng() < copyRate) deliveries.push({ topic, p, o, bad: rng() < 0.1 });
            }
          }
        }
        // Shuffle a little (copies may land before their neighbours), then number files and lines.
        for (let i = deliveries.length - 1; i > 0; i--) {
          if (rng() < 0.2) {
            const j = Math.max(0, i - Math.floor(rng() * 200));
            [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
          }
        }
        const rows: Row[] = deliveries.map((d, i) => ({ ...d, f: 1 + Math.floor(i / 700), line: 1 + (i % 700) }));
        // The stage's row order is not the landing order (rows arrive from parallel readers).
        const inserted = [...rows].sort(() => rng() - 0.5);
        for (let i = 0; i < inserted.length; i += 2000) {
          await db.execute(`insert into stage values ${inserted.slice(i, i + 2000).map((r) =>
            `(${r.f}, ${r.line}, '${r.topic}', ${r.p}, ${r.o}, ${r.bad ? "'malformed'" : 'null'}, false)`).join(', ')}`);
        }
        const seen = new Set<string>();
        const expected: string[] = [];
        for (const r of rows) {
          if (r.bad) continue;
          const k = `${r.topic}/${r.p}/${r.o}`;
          if (seen.has(k)) expected.push(`${r.f}:${r.line}`);
          seen.add(k);
        }
        const marked = await markDuplicates(db, 'stage', 'bronze.m', 'source:k.t', false);
        const got = (await db.query<{ f: number; l: bigint }>(`select _f as f, _lake_line as l from stage where _dup order by _f, _lake_line`))
          .map((r) => `${r.f}:${Number(r.l)}`);
        expect(got).toEqual(expected);
        expect(marked).toBe(expected.length);
        expect(expected.length).toBeGreaterThan(round === 0 ? 10 : 50);
        // The same stage in three tables by ranges of files (a batch staged in slices): the same marks.
        const maxF = rows[rows.length - 1]!.f;
        const cuts = [0, Math.floor(maxF / 3), Math.floor((2 * maxF) / 3), maxF];
        const parts = [0, 1, 2].map((i) => `part${i}`);
        for (const [i, t] of parts.entries()) {
          await db.execute(`create or replace table ${t} as select * replace (false as _dup) from stage where _f > ${cuts[i]} and _f <= ${cuts[i + 1]}`);
        }
        const markedInParts = await markDuplicates(db, parts, 'bronze.m', 'source:k.t', false);
        const gotInParts = (await db.query<{ f: number; l: bigint }>(`select _f as f, _lake_line as l from (${parts.map((t) => `select * from ${t}`).join(' union all ')}) where _dup order by _f, _lake_line`))
          .map((r) => `${r.f}:${Number(r.l)}`);
        expect(gotInParts).toEqual(expected);
        expect(markedInParts).toBe(expected.length);
      }
    } finally {
      await db.close();
    }
  });
});
