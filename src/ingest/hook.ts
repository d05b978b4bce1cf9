/**
 * Landing-zone sources in models. Before a model that reads `{{ source('x', 'y') }}` of a source
 * with `landing:` runs, this hook (inside the model's transaction, on its connection):
 * 1. picks the files to read — every file for table and view models; for an incremental model
 *    only the files it has not consumed yet (the `_lake.files` ledger), oldest first, at most
 *    `max_files_per_trigger` (the rest are reported as `pending_files`, and `lake run` runs
 *    another micro-batch);
 * 2. reads them into a stage (readers.ts → stage.ts), applies schema evolution and the
 *    bad-records mode, drops Kafka duplicates (kafka.ts) — on a second, autocommit connection, in
 *    the in-memory scratch database (sql.ts says why: parallel scans), reading the `_lake` state
 *    as committed (one lake process writes the database, and one build per model at a time);
 *    a large batch of JSON/Kafka files with a known schema is staged in slices of files of about
 *    256 MB (`LAKE_INGEST_SLICE_BYTES`), so only one slice's lines are in memory next to the stage,
 *    one stage table per slice: a complete slice is settled (its bad records moved out, its raw
 *    and payload text dropped), so the stage grows only by what the model will read;
 * 3. defines the temp view `__lake_source__<source>__<table>` the model's SQL reads;
 * 4. on finalize — in the model's transaction — writes the ledger, quarantine, offsets and the
 *    consumer's schema, so a crash at any point neither loses nor repeats a file (the scratch
 *    tables are a disposable cache of parsed files; cleanup drops them).
 *
 * Columns a source adds reach an incremental target through on_schema_change: a model left at the
 * default (`ignore`) is built with `append_new_columns`, because a source's columns change only
 * when it says so — new fields under `schema_evolution: add_new_columns`, or a column added to its
 * declaration in any mode — and the files that carried them are consumed by this build, so ignoring
 * the column would lose its values for good; `fail` and `sync_all_columns` set on the model are
 * kept. (To drop new fields, say `schema_evolution: none`: fields nobody declared are not columns.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Adapter } from '../adapter/types.js';
import type { Column, LandingSpec, LoadedProject, ModelConfig, SourceNode } from '../core/types.js';
import { landingViewName, quoteIdent } from '../core/types.js';
import { LakeError } from '../errors/index.js';
import type { HookContext, HookOutcome, NodeHook } from '../executor/hooks.js';
import { decompressed, discover, isGzip, whyNoFiles, type Decompressed, type LandingFile } from './files.js';
import { partitionColumns, partitionsOf } from './partitions.js';
import { readLedger, readSchema, resetSql, writeSchemaSql } from './ledger.js';
import { isTextFormat, readRecords, textRecordsInto, textRecordsSql, type Records } from './readers.js';
import { addColumns, columnsOnlyInBadRecords, createStage, inferJsonColumns, inferNewKeyTypes, KAFKA_COLUMNS, looksClean, reservedNames, rescue, unknownKeys } from './stage.js';
import { markDuplicates, saveOffsets } from './kafka.js';
import { lit, qi, listLit, scratchTable, unionOf, ATTACH_SCRATCH } from './sql.js';

/** What one landing source contributed to a model's build. */
export interface SourceStats {
  files: number;
  rows: number;
  bad_records: number;
  duplicates: number;
  pending_files: number;
  waiting_files: number;
  /** Of waiting_files: compressed files whose stream ends early (being written). */
  incomplete_files: number;
  changed_files: string[];
  new_columns: string[];
  /** Slices of files the batch was staged in (1 unless it was large). */
  slices: number;
}

interface Prepared {
  readonly stats: SourceStats;
  readonly warnings: string[];
  readonly view: string;
  /** Defines the view in the model's transaction — after every scratch table is committed: the
   * transaction sees the scratch database as it is when it first reads it. */
  readonly viewSql: string;
  finalize(tx: Adapter): Promise<void>;
}

/** The autocommit connection and scratch tables a model's landing reads use. */
interface Work {
  readonly db: Adapter;
  readonly tables: string[];
  /** Scratch folders of decompressed files (removed with the tables). */
  readonly dirs: string[];
}

/** Landing sources whose view the model's SQL reads (also through inlined ephemeral models). */
export function landingSourcesOf(project: Pick<LoadedProject, 'sources'>, landingReads: readonly string[], sql: string): SourceNode[] {
  const out: SourceNode[] = [];
  for (const s of project.sources.values()) {
    if (!s.landing) continue;
    if (landingReads.includes(s.id) || sql.includes(quoteIdent(landingViewName(s.sourceName, s.name)))) out.push(s);
  }
  return out;
}

/** Input bytes staged at a time when a batch is staged in slices (`LAKE_INGEST_SLICE_BYTES` overrides). */
function sliceBytes(): number {
  const v = Number(process.env.LAKE_INGEST_SLICE_BYTES);
  return Number.isFinite(v) && v > 0 ? v : 256 * 1024 * 1024;
}

/** Consecutive runs of files of at most `bytes` together (a larger file alone). */
function slicesOf(files: readonly LandingFile[], bytes: number): LandingFile[][] {
  const out: LandingFile[][] = [];
  let cur: LandingFile[] = [];
  let size = 0;
  for (const f of files) {
    if (cur.length && size + f.size > bytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(f);
    size += f.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

function token(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, '_');
}

function ingestError(src: SourceNode, message: string, hint: string, file?: string, line?: number): LakeError {
  return new LakeError('ingest', { code: 'LAKE-I010', severity: 'error', file: file ?? src.path, line: file ? (line || undefined) : src.line, message, hint }, 1);
}

/** Types DuckDB accepted already (in this process): checked once. */
const validTypes = new Set<string>();

/** Declared types must be DuckDB types (checked on the work connection: an error there aborts nothing). */
async function checkDeclaredTypes(db: Adapter, src: SourceNode, all: readonly Column[]): Promise<void> {
  const declared = all.filter((c) => !validTypes.has(c.type));
  if (declared.length === 0) return;
  try {
    await db.query(`select ${declared.map((c, i) => `null::${c.type} as c${i}`).join(', ')}`);
    for (const c of declared) validTypes.add(c.type);
    return;
  } catch {
    // Find which one.
  }
  for (const c of declared) {
    try {
      await db.query(`select null::${c.type} as x`);
    } catch {
      throw ingestError(src, `source ${src.sourceName}.${src.name}: column ${c.name} has type '${c.type}', which DuckDB does not know`, 'use a DuckDB type such as BIGINT, DOUBLE, VARCHAR, TIMESTAMP, DATE, BOOLEAN, JSON or DECIMAL(18,2)');
    }
  }
}

/**
 * add_new_columns: fields outside `known` held by good records of the files `range` (1-based
 * ordinals, inclusive) become stage columns, VARCHAR (`asText`) or typed from their values (csv
 * and parquet: the type DuckDB sniffed; json: the values in the file that brings the field);
 * returns them in order of first appearance. File by file, as if each landed in a run of its own:
 * the fields a file brings are added (records of later files whose values do not fit become bad)
 * before the next file's fields are looked for — among its records still good — so the same files
 * give the same columns, rows and quarantine however they are grouped into runs. One round per file
 * that brings a field, not per file.
 */
async function adoptNewKeys(w: Adapter, stage: string, range: readonly [number, number], known: readonly Column[],
  sniff: (() => Promise<readonly Column[] | undefined>) | undefined, recordsOf: (files: readonly number[]) => string, asText: boolean): Promise<Column[]> {
  const taken = new Set(known.map((c) => c.name.toLowerCase()));
  const out: Column[] = [];
  let sniffed: readonly Column[] | undefined;
  for (let from = range[0]; from <= range[1];) {
    const unknown = (await unknownKeys(w, stage, [from, range[1]])).filter((u) => !taken.has(u.key.toLowerCase()));
    if (unknown.length === 0) break;
    const first = Math.min(...unknown.map((u) => u.f));
    const keys = unknown.filter((u) => u.f === first).map((u) => u.key);
    if (sniff && !sniffed) sniffed = (await sniff()) ?? [];
    const types = asText ? new Map<string, string>()
      : sniffed
      ? new Map(keys.map((k) => [k, sniffed!.find((c) => c.name.toLowerCase() === k.toLowerCase())?.type ?? 'VARCHAR']))
      : await inferNewKeyTypes(w, stage, keys, [first, first]);
    const added: Column[] = [];
    for (const k of keys) {
      if (taken.has(k.toLowerCase())) continue;
      taken.add(k.toLowerCase());
      added.push({ name: k, type: types.get(k) ?? types.get(k.toLowerCase()) ?? 'VARCHAR' });
    }
    await addColumns(w, stage, added, recordsOf);
    out.push(...added);
    from = first + 1;
  }
  return out;
}

/**
 * Whether columns nobody declared get types from their values: parquet's own types, or
 * `infer_types: true`. Otherwise VARCHAR: a type read off the first batch would make a later value
 * that does not fit it a bad record (and "01234" in CSV the number 1234), so one run and many
 * micro-batches would give different tables.
 */
function typesFromValues(spec: LandingSpec): boolean {
  return spec.format === 'parquet' || spec.inferTypes === true;
}

async function prepareSource(ctx: HookContext, root: string, src: SourceNode, work: Work): Promise<Prepared> {
  const spec = src.landing!;
  const tx = ctx.tx;
  const w = work.db;
  const consumer = ctx.node.id;
  const source = src.id;
  const kafka = spec.format === 'kafka';
  const mat = ctx.node.config.materialized;
  // Only an incremental model that already has its table reads just the new files.
  const incrementalRead = mat === 'incremental' && ctx.incremental;
  const freshConsumer = ctx.fullRefresh || (mat === 'incremental' && !ctx.incremental);
  // Scratch names per consumer and source: models run in parallel on the same instance.
  const prefix = `${token(consumer)}__${token(src.sourceName)}__${token(src.name)}__`;
  const name = (n: string) => {
    const t = scratchTable(`${prefix}${n}`);
    if (!work.tables.includes(t)) work.tables.push(t);
    return t;
  };
  const stage = name('stage');
  const view = landingViewName(src.sourceName, src.name);
  const warnings: string[] = [];

  // 1. Files (--empty reads none: the model is built from zero rows, and the ledger records nothing).
  const discovered = await discover(w, root, spec);
  const found = ctx.empty ? { ...discovered, files: [], young: 0 } : discovered;
  if (found.missingDir) warnings.push(`${src.sourceName}.${src.name}: the landing folder ${spec.relDir} does not exist (yet)`);
  else if (discovered.files.length === 0 && discovered.young === 0) {
    const why = whyNoFiles(root, spec);
    if (why) warnings.push(`${src.sourceName}.${src.name}: ${why}`);
  }
  const changed: string[] = [];
  let batch: LandingFile[];
  // The files in line for this build, oldest first (batch is their head, pending the rest).
  let queue: LandingFile[] = found.files;
  let pending = 0;
  if (incrementalRead) {
    const ledger = await readLedger(tx, consumer, source);
    const todo: LandingFile[] = [];
    for (const f of found.files) {
      const seen = ledger.get(f.rel);
      if (!seen) todo.push(f);
      else if (seen.size !== f.size || seen.mtimeUs !== f.mtimeUs) {
        changed.push(f.rel);
        if (spec.allowOverwrites) todo.push(f);
      }
    }
    queue = todo;
    batch = todo.slice(0, Math.max(1, spec.maxFilesPerTrigger));
    pending = todo.length - batch.length;
    for (const rel of changed) {
      warnings.push(spec.allowOverwrites
        ? `${rel} changed after ${consumer} consumed it: read again (allow_overwrites)`
        : `${rel} changed after ${consumer} consumed it; it is not read again (set allow_overwrites: true on ${src.sourceName}.${src.name} to re-read changed files, or --full-refresh ${consumer})`);
    }
  } else if (mat === 'incremental') {
    // First build or full refresh: from the oldest file, still in micro-batches.
    queue = found.files;
    batch = found.files.slice(0, Math.max(1, spec.maxFilesPerTrigger));
    pending = found.files.length - batch.length;
  } else {
    batch = found.files;
  }

  // Compressed files are read decompressed (their place in `batch`, and in the ledger, unchanged);
  // one whose stream ends early waits for a later run, as a file still being written does.
  // Its place in the batch goes to the next file in line, so that it holds back no other file.
  let readable = batch;
  let incomplete = 0;
  if (spec.format !== 'parquet' && queue.some(isGzip)) {
    const unpack = async (files: readonly LandingFile[]): Promise<Decompressed> => {
      try {
        return await decompressed(files, work.dirs);
      } catch (e) {
        throw ingestError(src, `${(e as Error).message} (nothing was changed)`, 'replace it with a whole file, or move it out of the landing folder', (e as { file?: string }).file);
      }
    };
    const cut: LandingFile[] = [];
    const kept: LandingFile[] = [];
    readable = [];
    let next = batch.length;
    for (let part = batch; part.length; ) {
      const d = await unpack(part);
      const waiting = new Set(d.incomplete);
      cut.push(...d.incomplete);
      kept.push(...part.filter((f) => !waiting.has(f)));
      readable.push(...d.files);
      const room = batch.length - kept.length;
      part = room > 0 && waiting.size ? queue.slice(next, next + room) : [];
      next += part.length;
    }
    if (cut.length) {
      batch = kept;
      pending = Math.max(0, queue.length - next);
      incomplete = cut.length;
      warnings.push(`${cut.map((f) => f.rel).join(', ')}: the gzip stream ends early (still being written?); left for a later run`);
    }
  }
  // Hive-style folders of the batch's files (partition columns), checked against declared types.
  const partitions = await partitionsOf(w, src, batch, (message, hint, file) => ingestError(src, message, hint, file));
  // A headerless CSV's declared columns name its fields: a partition column is not one of them.
  const readSpec = spec.format === 'csv' && spec.options.header === false && spec.columns && partitions.keys.length
    ? { ...spec, columns: Object.fromEntries(Object.entries(spec.columns).filter(([k]) => !partitions.keys.some((p) => p.lower === k.toLowerCase()))) }
    : spec;

  // 2. Schema: declared columns, then what this consumer already holds, else inferred.
  const declared: Column[] | undefined = spec.columns ? Object.entries(spec.columns).map(([name, type]) => ({ name, type })) : undefined;
  if (declared) await checkDeclaredTypes(w, src, declared);
  const stored = freshConsumer ? undefined : await readSchema(tx, consumer, source);
  const reserved = reservedNames(kafka);
  let known: Column[] | undefined;
  if (declared || stored) {
    const byLower = new Set((declared ?? []).map((c) => c.name.toLowerCase()));
    known = [...(declared ?? []), ...(stored ?? []).filter((c) => !byLower.has(c.name.toLowerCase()))];
  }
  const evolution = spec.schemaEvolution;
  const stageOptions = { name: stage, spec, detectUnknown: evolution !== 'none', rescue: evolution === 'rescue' };
  // A large batch of text files whose schema is known is staged in slices of files: only one
  // slice's lines are held at a time next to the stage (the whole batch's lines and its stage
  // together were twice the batch in memory). Same rows, same transaction: only the scratch work
  // is sliced. (Inferring a schema reads every record of the batch, so that case is not sliced.)
  const slices = known && isTextFormat(spec) ? slicesOf(readable, sliceBytes()) : [readable];
  let recs: Records;
  // Records of some files of the batch again (raw text of records a new column makes bad).
  let recordsOf: (files: readonly number[]) => string;
  let inferred = false;
  let staged = 1;
  // Columns schema evolution adds (add_new_columns), and the last file ordinal already checked for new fields.
  const added: Column[] = [];
  let checkedUpTo = 0;
  // The stage: one table, or one per slice (in landing order). Every slice but the last is settled
  // as soon as it is complete (see `settle`).
  const parts: string[] = [stage];
  const bad = name('bad');
  let badTable = false;
  const toBad = async (t: string) => {
    if (!badTable) await w.execute(`create or replace table ${bad} (_f integer, _lake_line bigint, _raw varchar, _reason varchar)`);
    badTable = true;
    await w.execute(`insert into ${bad} select _f, _lake_line, _raw, _reason from ${t} where _reason is not null`);
  };
  // A complete slice keeps only what the steps after it read: its bad records go to the quarantine
  // table, its unknown fields to _rescued_data (rescue), and the columns that only served them
  // (raw text, payload text, unknown keys) are dropped — DROP COLUMN frees their memory at once, so
  // the stage no longer grows by them slice after slice (for the reference zone's 10.4M records,
  // ~280 MB less at the peak). Not when a mode fails the build (`fail`): its error names the first
  // offending record of the whole batch, found at steps 3 and 4 as for a batch in one piece.
  const settles = spec.badRecords !== 'fail' && evolution !== 'fail';
  const settle = async (t: string) => {
    if (evolution === 'rescue' && (await unknownKeys(w, t)).length) await rescue(w, t);
    if (spec.badRecords === 'quarantine') await toBad(t);
    for (const c of ['_raw', '_payload', '_unknown']) await w.execute(`alter table ${t} drop column ${c}`);
  };
  const settled = new Set<string>();
  if (known && slices.length > 1) {
    staged = slices.length;
    const cols = known.filter((c) => !reserved.has(c.name.toLowerCase()));
    known = cols;
    const rec = name('rec');
    recordsOf = (files) => textRecordsSql(readSpec, readable, files);
    let first = 1;
    for (let i = 0; i < slices.length; i++) {
      await textRecordsInto(w, readSpec, readable, slices[i]!, rec);
      const recSql = `select * from ${rec}`;
      const part = i === 0 ? stage : name(`stage${i + 1}`);
      if (i > 0) parts.push(part);
      await createStage(w, { ...stageOptions, name: part, recordsSql: recSql, known: [...cols, ...added], guarded: !(await looksClean(w, recSql)) });
      const last = first + slices[i]!.length - 1;
      // add_new_columns: a field seen in this slice becomes a column before the next slice, which
      // then parses it directly — instead of keeping the payload text of every later record that
      // has it and typing them all at the end (half the stream, for a field that appears midway).
      // Its type comes from the slices that had it so far: later values that do not fit are bad
      // records, as they are when the files arrive in separate runs. (A slice's table lacks the
      // columns later slices add: they read as NULL, as the field was absent from its records.)
      if (evolution === 'add_new_columns' && i < slices.length - 1) {
        added.push(...await adoptNewKeys(w, part, [first, last], [...cols, ...added], undefined, recordsOf, !typesFromValues(spec)));
        checkedUpTo = last;
      }
      if (settles && i < slices.length - 1) {
        await settle(part);
        settled.add(part);
      }
      first = last + 1;
    }
    await w.execute(`drop table if exists ${rec}`);
    recs = { sql: '', temps: [] };
  } else {
    recs = await readRecords(w, readSpec, readable, name);
    const all = recs.sql;
    recordsOf = () => all;
    if (!known) {
      inferred = batch.length > 0;
      if (!batch.length) known = [];
      else if (spec.format === 'csv' || spec.format === 'parquet') known = await tableColumns(w, recs.sql, recs.sniff);
      else known = await inferJsonColumns(w, recs.sql, kafka);
      if (!typesFromValues(spec)) known = known.map((c) => ({ name: c.name, type: 'VARCHAR' }));
    }
    known = known.filter((c) => !reserved.has(c.name.toLowerCase()));
    // CSV and parquet records are JSON lake made (to_json): valid by construction.
    const guarded = isTextFormat(spec) && batch.length > 0 && !(await looksClean(w, recs.sql));
    await createStage(w, { ...stageOptions, recordsSql: recs.sql, known, guarded });
    if (inferred) {
      // A key only bad records hold is no column, as schema evolution would not make it one had
      // those records landed in a later run.
      const dropped = new Set((await columnsOnlyInBadRecords(w, stage, recs.sql, known, kafka)).map((c) => c.name));
      for (const c of dropped) await w.execute(`alter table ${stage} drop column ${qi(c)}`);
      known = known.filter((c) => !dropped.has(c.name));
    }
  }

  // 3. Schema evolution.
  if (evolution === 'add_new_columns') {
    const sniff = spec.format === 'csv' || spec.format === 'parquet' ? recs.sniff ?? (async () => []) : undefined;
    added.push(...await adoptNewKeys(w, parts[parts.length - 1]!, [checkedUpTo + 1, batch.length], [...known, ...added], sniff, recordsOf, !typesFromValues(spec)));
  } else if (evolution !== 'none') {
    const unknown = await unknownKeys(w, unionOf(parts.filter((t) => !settled.has(t))));
    if (unknown.length && evolution === 'fail') {
      const u = unknown[0]!;
      throw ingestError(src, `new field '${u.key}' in source ${src.sourceName}.${src.name}, and its schema_evolution is fail${unknown.length > 1 ? ` (also: ${unknown.slice(1, 6).map((x) => x.key).join(', ')})` : ''}`,
        `add ${u.key} to the columns of ${src.sourceName}.${src.name}, or set schema_evolution to add_new_columns, rescue or none`, batch[u.f - 1]?.rel, u.line);
    }
    if (unknown.length && evolution === 'rescue') for (const t of parts) if (!settled.has(t)) await rescue(w, t);
  }
  const columns = [...known, ...added];
  // The records are kept until here: a record that a new column makes bad needs its raw text.
  for (const t of recs.temps) await w.execute(`drop table if exists ${t}`);

  // 4. Bad records: `fail` stops here, naming the first one.
  const s = unionOf(parts);
  if (spec.badRecords === 'fail') {
    const [firstBad] = await w.query<{ f: number; l: number; r: string }>(`select _f as f, _lake_line as l, _reason as r from ${s} where _reason is not null order by _f, _lake_line limit 1`);
    if (firstBad) {
      const file = batch[Number(firstBad.f) - 1]?.rel;
      throw ingestError(src, `bad record in source ${src.sourceName}.${src.name}: ${firstBad.r} (bad_records is fail; nothing was changed)`,
        `fix or remove the record, or set bad_records: quarantine (or drop) on ${src.sourceName}.${src.name}`, file, Number(firstBad.l));
    }
  }

  // 5. Kafka duplicates.
  const duplicates = kafka ? await markDuplicates(w, parts, consumer, source, incrementalRead) : 0;
  const keep = kafka ? '_reason is null and not _dup' : '_reason is null';

  // 6. What each file contributed, for the ledger and the run's figures.
  const perFile = await w.query<{ f: number; rows: number; bad: number }>(
    `select _f as f, count(*) filter (where ${keep}) as rows, count(*) filter (where _reason is not null) as bad from ${s} group by _f`,
  );
  const counts = new Map(perFile.map((r) => [Number(r.f), { rows: Number(r.rows), bad: Number(r.bad) }]));
  const rows = perFile.reduce((n, r) => n + Number(r.rows), 0);
  const badRecords = perFile.reduce((n, r) => n + Number(r.bad), 0);

  // 7. The stage keeps only the rows the model reads, without the columns that served bad records
  // and schema evolution (~30% of its memory: 10.4M records, ~450 MB freed before the model's
  // insert needs memory); bad records, for the quarantine, go to a small table of their own
  // (those of settled slices are there already).
  if (spec.badRecords === 'quarantine' && badRecords > 0) for (const t of parts) if (!settled.has(t)) await toBad(t);
  for (const t of parts) {
    await w.execute(`delete from ${t} where not (${keep})`);
    const gone = settled.has(t) ? ['_reason'] : ['_raw', '_payload', '_unknown', '_reason'];
    for (const c of [...gone, ...(kafka ? ['_dup'] : [])]) await w.execute(`alter table ${t} drop column ${c}`);
  }

  // 8. The view the model reads. Origin and envelope first, then the payload: columns a source
  // adds later are appended by ALTER TABLE at the end, so a table built in one run and one built
  // in micro-batches (where a column arrives in a later batch) have the same column order.
  const fileList = batch.length ? `${listLit(batch.map((f) => f.rel))}[_f]` : 'null::varchar';
  const mtimeList = batch.length ? `make_timestamp(([${batch.map((f) => f.mtimeUs).join(', ')}]::bigint[])[_f])` : 'null::timestamp';
  const partitionSql = partitionColumns(partitions, columns, reservedNames(kafka));
  const select = [
    `${fileList} as _lake_file`, '_lake_line', `${ctx.batchId}::bigint as _lake_batch`, `${mtimeList} as _lake_file_mtime`,
    ...(kafka ? KAFKA_COLUMNS.map((c) => c.name) : []),
    ...columns.map((c) => partitionSql.over.get(c.name) ?? qi(c.name)),
    ...partitionSql.added.map((a) => a.sql),
    ...(evolution === 'rescue' ? ['_rescued_data'] : []),
  ];
  // An insert_new consumer keeps the first row of each key in landing order (a cdc one lets the
  // last win at equal sequence): its view gives the rows in that order (files as discovered, then
  // lines), which a SELECT that only projects and filters keeps (DuckDB's order preservation), so ties are broken by arrival even when the model
  // drops the `_lake_*` columns (see HookOutcome.arrivalOrder).
  const order = arrivalOrdered(ctx) ? ' order by _f, _lake_line' : '';
  const viewSql = `create or replace temp view ${qi(view)} as select ${select.join(', ')} from ${s}${order}`;

  const stats: SourceStats = {
    files: batch.length, rows, bad_records: badRecords, duplicates, pending_files: pending, waiting_files: found.young + incomplete, incomplete_files: incomplete,
    changed_files: changed, new_columns: added.map((c) => c.name), slices: staged,
  };

  return {
    stats, warnings, view, viewSql,
    async finalize(t: Adapter) {
      const c = lit(consumer);
      const src_ = lit(source);
      if (!incrementalRead) await t.execute(resetSql(consumer, source, 'files'));
      if (batch.length) {
        const values = batch.map((f, i) => {
          const n = counts.get(i + 1) ?? { rows: 0, bad: 0 };
          return `(${c}, ${src_}, ${lit(f.rel)}, ${f.size}, make_timestamp(${f.mtimeUs}::bigint), ${n.rows}, ${n.bad}, ${ctx.batchId}, now()::timestamp)`;
        });
        await t.execute(`insert or replace into _lake.files values ${values.join(', ')}`);
      }
      if (spec.badRecords === 'quarantine') await quarantine(t, ctx, src, bad, batch, !incrementalRead, badRecords);
      if (kafka && mat === 'incremental') {
        if (!incrementalRead) await t.execute(resetSql(consumer, source, 'offsets'));
        await saveOffsets(t, s, consumer, source, 'true');
      }
      // Written when it changed (the row says in which batch the consumer's schema last changed).
      // Partition columns first seen now join the consumer's schema: a later batch without their
      // folders keeps them (NULL), as Auto Loader keeps them in its schema location.
      const schema = [...columns, ...partitionSql.added.map((a) => a.column)];
      const same = stored !== undefined && stored.length === schema.length && stored.every((c, i) => c.name === schema[i]!.name && c.type === schema[i]!.type);
      if ((declared || stored || inferred || schema.length > columns.length) && !same) await t.execute(writeSchemaSql(consumer, source, schema, ctx.batchId));
      else if (freshConsumer) await t.execute(resetSql(consumer, source, 'schema'));
      await t.execute(`drop view if exists ${qi(view)}`);
    },
  };
}

/**
 * Whether a model breaks ties between rows of one key in landing order (`insert_new` keeps the
 * first, `cdc` lets the last win at equal sequence): its landing views are in that order.
 */
function arrivalOrdered(ctx: Pick<HookContext, 'node'>): boolean {
  const strategy = ctx.node.config.incremental_strategy;
  return ctx.node.config.materialized === 'incremental' && (strategy === 'insert_new' || strategy === 'cdc');
}

/** `<schema>.<model>__quarantine`: one row per bad record (of the table `badTable`) with file, line, raw text and reason. */
async function quarantine(tx: Adapter, ctx: HookContext, src: SourceNode, badTable: string, batch: readonly LandingFile[], replace: boolean, bad: number): Promise<void> {
  if (!replace && bad === 0) return;
  const rel = ctx.node.relation;
  const q = `${qi(rel.schema)}.${qi(`${rel.name}__quarantine`)}`;
  const exists = (await tx.query(`select 1 from duckdb_tables() where database_name = current_database() and schema_name = $1 and table_name = $2`, [rel.schema, `${rel.name}__quarantine`])).length > 0;
  if (!exists && bad === 0) return;
  if (!exists) {
    await tx.execute(`create schema if not exists ${qi(rel.schema)}`);
    await tx.execute(`create table ${q} (source varchar, file varchar, line bigint, raw varchar, reason varchar, batch bigint, quarantined_at timestamp)`);
  }
  if (replace) await tx.execute(`delete from ${q} where source = ${lit(src.id)}`);
  if (bad === 0) return;
  await tx.execute(`insert into ${q} select ${lit(src.id)}, ${listLit(batch.map((f) => f.rel))}[_f], _lake_line, _raw, _reason, ${ctx.batchId}, now()::timestamp
    from ${badTable} order by _f, _lake_line`);
}

/** Sum of the figures of several sources (a model may read more than one). */
function total(all: readonly SourceStats[]): SourceStats {
  const out: SourceStats = { files: 0, rows: 0, bad_records: 0, duplicates: 0, pending_files: 0, waiting_files: 0, incomplete_files: 0, changed_files: [], new_columns: [], slices: 0 };
  for (const s of all) {
    out.files += s.files; out.rows += s.rows; out.bad_records += s.bad_records; out.duplicates += s.duplicates;
    out.pending_files += s.pending_files; out.waiting_files += s.waiting_files; out.incomplete_files += s.incomplete_files; out.slices += s.slices;
    out.changed_files.push(...s.changed_files); out.new_columns.push(...s.new_columns);
  }
  return out;
}

/**
 * How long a `lake run --continuous` holds back a file younger than this when its source sets no
 * min_file_age: files land while it runs, and a writer still appending to one would otherwise have
 * the first part read and the rest lost (the file then "changed after it was consumed").
 */
export const LIVE_MIN_FILE_AGE_MS = 1000;

/** The source as a live run reads it: held back LIVE_MIN_FILE_AGE_MS unless it sets min_file_age. */
export function liveSource(src: SourceNode): SourceNode {
  return src.landing && !src.landing.minFileAgeSet ? { ...src, landing: { ...src.landing, minFileAgeMs: LIVE_MIN_FILE_AGE_MS } } : src;
}

export function landingHook(session: { readonly project: LoadedProject; readonly liveLanding?: boolean }): NodeHook {
  return {
    name: 'landing',
    async prepare(ctx: HookContext, sql: string): Promise<HookOutcome | undefined> {
      const sources = landingSourcesOf(session.project, ctx.node.landingReads, sql);
      if (sources.length === 0) return undefined;
      const work: Work = { db: await ctx.tx.fork(), tables: [], dirs: [] };
      const cleanup = async () => {
        try {
          for (const t of work.tables) await work.db.execute(`drop table if exists ${t}`);
        } finally {
          for (const d of work.dirs) fs.rmSync(d, { recursive: true, force: true });
          await work.db.close();
        }
      };
      const prepared: Prepared[] = [];
      try {
        // Attached by the run's state setup; a caller that skipped it gets it here.
        await work.db.execute(ATTACH_SCRATCH).catch(() => undefined);
        for (const src of sources) {
          prepared.push(await prepareSource(ctx, session.project.root, session.liveLanding ? liveSource(src) : src, work));
        }
        for (const p of prepared) await ctx.tx.execute(p.viewSql);
      } catch (e) {
        await cleanup();
        throw e;
      }

      let outSql: string | undefined;
      if (ctx.node.config.materialized === 'view') {
        // A view outlives the connection, so it cannot read a temp view: it reads a snapshot
        // of the rows lake keeps in `_lake` (refreshed at each build of the view).
        outSql = sql;
        for (const p of prepared) {
          const snap = `_lake.${qi(`landing__${ctx.node.relation.schema}__${ctx.node.relation.name}__${p.view.replace(/^__lake_source__/, '')}`)}`;
          await ctx.tx.execute(`create or replace table ${snap} as select * from ${qi(p.view)}`);
          outSql = outSql.split(quoteIdent(p.view)).join(snap);
        }
      }
      let config: Partial<ModelConfig> | undefined;
      if (ctx.node.config.materialized === 'incremental' && ctx.node.config.on_schema_change === 'ignore') {
        config = { on_schema_change: 'append_new_columns' };
      }
      const sum = total(prepared.map((p) => p.stats));
      const warnings = prepared.flatMap((p) => p.warnings);
      const stats: Record<string, unknown> = {
        ...sum,
        landing: Object.fromEntries(sources.map((s, i) => [s.id, prepared[i]!.stats])),
        ...(warnings.length ? { warnings } : {}),
      };
      return {
        sql: outSql,
        config,
        arrivalOrder: arrivalOrdered(ctx),
        stats,
        finalize: async (tx) => {
          for (const p of prepared) await p.finalize(tx);
        },
        cleanup,
      };
    },
  };
}

/**
 * The columns of CSV or parquet records (each file's rows have one set of keys: its header or
 * schema), in the order they first appear, typed as DuckDB sniffs the files where it agrees on the
 * name: the sniffer alone would make a column of what it misread (a row with a field too many made
 * the header `id,v` one column).
 */
async function tableColumns(w: Adapter, recordsSql: string, sniff: Records['sniff']): Promise<Column[]> {
  // One column per name whatever its case (`id` in one file, `ID` in another), spelt as first seen.
  const rows = await w.query<{ k: string }>(`select arg_min(k, struct_pack(f := _f, p := pos)) as k from (
      select _f, unnest(json_keys(line)) as k, generate_subscripts(json_keys(line), 1) as pos
      from (select _f, arg_min(line, _lake_line) as line from (${recordsSql}) where line is not null group by _f)
    ) group by lower(k) order by min(struct_pack(f := _f, p := pos))`);
  const sniffed = (await sniff?.()) ?? [];
  // No record at all (header-only files): the header is all there is to go by.
  if (rows.length === 0) return [...sniffed];
  return rows.map((r) => ({ name: r.k, type: sniffed.find((c) => c.name.toLowerCase() === r.k.toLowerCase())?.type ?? 'VARCHAR' }));
}
