/**
 * Readers: turn a batch of landing files into *records* — one row per record with the file's
 * ordinal (`_f`, 1-based in batch order), its line (`_lake_line`), the record as JSON object text
 * (`line`), and, where the reader itself already knows the record is bad, `_pre_reason` and
 * `_pre_raw`. Every format then goes through the same JSON pipeline (stage.ts), so types, bad
 * records and schema evolution behave the same whatever the files are.
 *
 * - json / jsonl / kafka: files are read as text and split into lines in DuckDB, so a malformed
 *   line stays a line with its number (read_json would turn it into a row of NULLs).
 *   `json` also accepts a file holding one JSON array (records = elements, line = element index)
 *   or one multi-line object (line 1).
 * - csv: `read_csv` per file, all VARCHAR, with `store_rejects` so truncated or over-long rows come
 *   back with their line and text; `_lake_line` is the physical line the record starts on
 *   (header = 1), whatever empty lines, rejected rows and values spanning lines come before it.
 * (Hive-style `key=value` folders are not read as columns here: hook.ts adds them for every format.)
 * - parquet: `read_parquet` per file with `file_row_number`; a file DuckDB cannot read (truncated,
 *   not parquet) becomes one bad record for the whole file (line 0).
 */
import * as fs from 'node:fs';
import type { Adapter } from '../adapter/types.js';
import { EngineError } from '../adapter/types.js';
import type { Column, LandingSpec } from '../core/types.js';
import type { LandingFile } from './files.js';
import { lit, qi, listLit } from './sql.js';
import { csvFields, csvRecordLines, headerDelimiter, unclosedQuote } from '../core/csv-text.js';

export interface Records {
  /** A SELECT producing `_f, _lake_line, line, _pre_reason, _pre_raw`. */
  readonly sql: string;
  /** Temp tables to drop afterwards. */
  readonly temps: readonly string[];
  /**
   * Column types DuckDB detects in the files (csv, parquet), each column's from the earliest file
   * that has it (sniffEarliest), used when inferring columns. Asked only when needed: sniffing a
   * hundred CSV files costs about as much as reading them.
   */
  readonly sniff?: () => Promise<readonly Column[] | undefined>;
}

const LF = 'chr(10)';

/** Lines of each file, CRLF or LF. */
function splitLines(content: string): string {
  return `string_split(case when contains(${content}, chr(13)) then replace(${content}, chr(13) || ${LF}, ${LF}) else ${content} end, ${LF})`;
}

const NOT_UTF8 = 'file is not valid UTF-8 text';

const RECORDS_TABLE = '(_f integer, _lake_line bigint, line varchar, _pre_reason varchar, _pre_raw varchar)';

/** SELECT of the records of `part` (files of `files`, numbered by their place in `files`). */
function textRecordsSelect(spec: LandingSpec, files: readonly LandingFile[], part: readonly LandingFile[]): string {
  const all = listLit(files.map((f) => f.abs));
  const split = spec.format === 'json'
    ? `case when regexp_matches(text, '^\\s*\\[') and json_valid(text) then json_extract(text, '$[*]')::varchar[]
            when regexp_matches(text, '^\\s*\\{') and json_valid(text) then [text]
            else ${splitLines('text')} end`
    : splitLines('text');
  // read_blob + try(decode()): a file that is not UTF-8 becomes one bad record (line 0), split line by line afterwards (splitUndecodable), instead of
  // failing the whole batch (read_text would). A byte-order mark opening the file is not text.
  return `select _f, case when line is null then 0 else ln end as _lake_line, line,
    case when line is null then ${lit(NOT_UTF8)} end as _pre_reason, null::varchar as _pre_raw from (
  select _f, unnest(s) as line, generate_subscripts(s, 1) as ln from (
    select _f, case when text is null then [null::varchar] else ${split} end as s from (
      select _f, case when starts_with(text, chr(65279)) then text[2:] else text end as text from (
        select list_position(${all}, filename)::integer as _f, try(decode(content)) as text from read_blob(${listLit(part.map((f) => f.abs))})
      )
    )
  )
) where line is null or line >= '!' or trim(line) <> ''`;
}

/**
 * Records of `part` (a slice of the batch `files`; `_f` numbers files in `files`) into a new
 * table `rec`. The lines land in a table first: a scan of files feeds its pipeline from one
 * thread (and parsing straight from it measured dearer than splitting into lines, storing them
 * and parsing a table scan, which DuckDB splits by row groups over every core). The split itself
 * runs as one insert per core, each on its own connection: concurrent appends to one table never
 * conflict.
 */
export async function textRecordsInto(db: Adapter, spec: LandingSpec, files: readonly LandingFile[], part: readonly LandingFile[], rec: string): Promise<void> {
  await db.execute(`create or replace table ${rec} ${RECORDS_TABLE}`);
  if (part.length === 0) return;
  const [threads] = await db.query<{ t: string }>(`select current_setting('threads')::varchar as t`);
  const n = Math.max(1, Math.min(Number(threads?.t ?? 1) || 1, 16, Math.ceil(part.length / 4)));
  const conns: Adapter[] = [db];
  try {
    for (let i = 1; i < n; i++) conns.push(await db.fork());
    await Promise.all(conns.map((c, i) => c.execute(`insert into ${rec} ${textRecordsSelect(spec, files, part.filter((_f, j) => j % n === i))}`)));
  } finally {
    for (const c of conns.slice(1)) await c.close();
  }
  await splitUndecodable(db, spec, files, rec);
}

/**
 * A file DuckDB cannot decode as UTF-8 comes out of the split as one bad record (line 0). Split
 * here instead, line by line as the SQL does (CRLF or LF, a byte-order mark dropped, blank lines
 * counted but skipped): only a line that is not UTF-8 is bad — its raw text kept, the bytes that
 * are not UTF-8 shown as U+FFFD — and the file's other lines are records. A `json` file holding
 * one array stays one bad record (its elements are not lines).
 */
async function splitUndecodable(db: Adapter, spec: LandingSpec, files: readonly LandingFile[], rec: string): Promise<void> {
  const undecodable = await db.query<{ f: number }>(`select _f as f from ${rec} where _lake_line = 0 and _pre_reason = ${lit(NOT_UTF8)}`);
  const strict = new TextDecoder('utf-8', { fatal: true });
  const lenient = new TextDecoder('utf-8');
  for (const { f } of undecodable) {
    const file = files[Number(f) - 1];
    if (!file) continue;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file.abs);
    } catch {
      continue;
    }
    let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    if (spec.format === 'json' && /^\s*\[/.test(lenient.decode(bytes.subarray(start, start + 64)))) continue;
    const values: string[] = [];
    for (let line = 1; start <= bytes.length; line++) {
      const nl = bytes.indexOf(10, start);
      const end = nl < 0 ? bytes.length : nl;
      const raw = bytes.subarray(start, end > start && bytes[end - 1] === 13 ? end - 1 : end);
      let text: string | undefined;
      try {
        text = strict.decode(raw);
      } catch {
        values.push(`(${Number(f)}, ${line}, null, 'line is not valid UTF-8 text', ${lit(lenient.decode(raw))})`);
      }
      if (text !== undefined && !/^ *$/.test(text)) values.push(`(${Number(f)}, ${line}, ${lit(text)}, null, null)`);
      if (nl < 0) break;
      start = nl + 1;
    }
    await db.execute(`delete from ${rec} where _f = ${Number(f)} and _lake_line = 0`);
    for (let i = 0; i < values.length; i += 500) await db.execute(`insert into ${rec} values ${values.slice(i, i + 500).join(', ')}`);
  }
}

/**
 * The records of the batch read again from the files, not stored: for the rare lookup of raw
 * text after the stage was built slice by slice (the slices' line tables are gone by then).
 */
export function textRecordsSql(spec: LandingSpec, files: readonly LandingFile[], ordinals: readonly number[]): string {
  return textRecordsSelect(spec, files, ordinals.map((i) => files[i - 1]!).filter((f) => f !== undefined));
}

/** Formats read as text and split into lines (the ones a batch can be staged in slices of files). */
export function isTextFormat(spec: LandingSpec): boolean {
  return spec.format === 'json' || spec.format === 'jsonl' || spec.format === 'kafka';
}

async function textRecords(db: Adapter, spec: LandingSpec, files: readonly LandingFile[], name: (n: string) => string): Promise<Records> {
  const rec = name('rec');
  await textRecordsInto(db, spec, files, files, rec);
  return { sql: `select * from ${rec}`, temps: [rec] };
}

function csvOptions(spec: LandingSpec): string {
  const o = spec.options;
  const parts: string[] = [];
  if (o.delimiter !== undefined) parts.push(`delim = ${lit(String(o.delimiter))}`);
  if (o.header !== undefined) parts.push(`header = ${o.header ? 'true' : 'false'}`);
  if (o.quote !== undefined) parts.push(`quote = ${lit(String(o.quote))}`);
  if (o.escape !== undefined) parts.push(`escape = ${lit(String(o.escape))}`);
  if (o.null_padding !== undefined) parts.push(`null_padding = ${o.null_padding ? 'true' : 'false'}`);
  if (o.header === false && spec.columns) parts.push(`names = ${listLit(Object.keys(spec.columns))}`);
  return parts.map((p) => `, ${p}`).join('');
}

/** Column types DuckDB detects over the files. */
async function sniff(db: Adapter, sql: string): Promise<Column[] | undefined> {
  try {
    return (await db.describeQuery(sql)).map((c) => ({ name: c.name, type: c.type }));
  } catch {
    return undefined; // files DuckDB cannot sniff as a whole: new columns are inferred as VARCHAR
  }
}

/**
 * Column types DuckDB detects, each column's from the earliest of the files (in landing order) that
 * has it — as when the files land one per run: the first file that brings a column fixes its type
 * for the consumer, and a later file's value that does not fit is a bad record (schema evolution).
 * The union of the files instead widens (INTEGER and DOUBLE give DOUBLE), so the same files would
 * give another table when they land together. Names compare whatever their case.
 */
async function sniffEarliest(db: Adapter, files: readonly string[], read: (file: string) => string): Promise<Column[] | undefined> {
  const out = new Map<string, Column>();
  for (const f of files) {
    for (const c of (await sniff(db, `select * from ${read(f)}`)) ?? []) if (!out.has(c.name.toLowerCase())) out.set(c.name.toLowerCase(), c);
  }
  return out.size ? [...out.values()] : undefined;
}

function unreadable(e: unknown): string {
  const msg = e instanceof EngineError || e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.replace(/^[A-Za-z ]+Error: /, '');
}

/*
 * CSV and parquet files are read one by one on the work connection (autocommit): a file DuckDB
 * cannot read fails its own statement only, and becomes one bad record for the whole file. CSV
 * files with the same header line are first read together, in one statement (an extract of 101
 * files of 500 rows: 1.1 s one by one, 0.14 s together, the same records); a group with a
 * rejected row or an unreadable file is read again one by one, which numbers lines around
 * rejected rows and isolates the file that fails.
 */

/** The first line of a file (up to 64 KiB), or undefined when it cannot be read. */
function firstLine(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = buf.toString('utf8', 0, n);
    const end = text.indexOf('\n');
    return end < 0 ? (n < buf.length ? text : undefined) : text.slice(0, end);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Ordinals (1-based, in `files`) grouped by identical header line; a file whose header cannot be
 * read, or that has a column named like DuckDB's virtual `filename`, is left out (read alone).
 */
function sameHeaderGroups(files: readonly LandingFile[], skip: ReadonlySet<number>): { groups: number[][]; alone: number[] } {
  const byHeader = new Map<string, number[]>();
  const alone: number[] = [];
  files.forEach((f, i) => {
    if (skip.has(i + 1)) return;
    const h = firstLine(f.abs);
    if (h === undefined || /(^|[^A-Za-z0-9_])filename([^A-Za-z0-9_]|$)/i.test(h)) alone.push(i + 1);
    else if (byHeader.has(h)) byHeader.get(h)!.push(i + 1);
    else byHeader.set(h, [i + 1]);
  });
  const groups: number[][] = [];
  for (const g of byHeader.values()) (g.length > 1 ? groups.push(g) : alone.push(...g));
  return { groups, alone };
}

/** A quoted value that opens and is never closed: where, and the text from that line on. */
interface OpenQuote {
  readonly line: number;
  readonly rest: string;
}

/**
 * Files (ordinals) holding a quoted value that is never closed. DuckDB's reader drops such a record
 * without a word (the value runs to the end of the file), and its sniffer then reads the whole
 * file without quoting: these files are read with the dialect given (see explicitDialect) and the
 * record becomes a bad one. Only for RFC 4180 quoting (escape = quote), where an odd count of
 * quote characters is the tell.
 */
function openQuotes(spec: LandingSpec, files: readonly LandingFile[]): Map<number, OpenQuote> {
  const out = new Map<number, OpenQuote>();
  const quote = spec.options.quote === undefined ? '"' : String(spec.options.quote);
  if (quote.length !== 1 || (spec.options.escape !== undefined && String(spec.options.escape) !== quote)) return out;
  files.forEach((f, i) => {
    let text: string;
    try {
      text = fs.readFileSync(f.abs, 'utf8');
    } catch {
      return;
    }
    let n = 0;
    for (let at = text.indexOf(quote); at >= 0; at = text.indexOf(quote, at + 1)) n++;
    if (n % 2 === 0) return;
    const line = unclosedQuote(text, quote);
    if (line === undefined) return;
    let start = 0;
    for (let l = 1; l < line; l++) start = text.indexOf('\n', start) + 1;
    out.set(i + 1, { line, rest: text.slice(start).replace(/\r?\n$/, '') });
  });
  return out;
}

/**
 * read_csv options for a file DuckDB must not sniff (openQuotes): the user's dialect, else
 * RFC 4180 quoting and the header line's delimiter, every column VARCHAR named from the header.
 */
function explicitDialect(spec: LandingSpec, file: string): string | undefined {
  const o = spec.options;
  const first = firstLine(file);
  if (first === undefined) return undefined;
  const quote = o.quote === undefined ? '"' : String(o.quote);
  const delim = o.delimiter !== undefined ? String(o.delimiter) : headerDelimiter(first, quote);
  const header = o.header !== false;
  const fields = csvFields(first, delim, quote);
  const names = header ? fields : spec.columns ? Object.keys(spec.columns) : fields.map((_x, i) => `column${i}`);
  return `, auto_detect = false, header = ${header ? 'true' : 'false'}, delim = ${lit(delim)}, quote = ${lit(quote)}, escape = ${lit(quote)}`
    + `${o.null_padding !== undefined ? `, null_padding = ${o.null_padding ? 'true' : 'false'}` : ''}, columns = {${names.map((n) => `${lit(n)}: 'VARCHAR'`).join(', ')}}`;
}

async function csvRecords(db: Adapter, spec: LandingSpec, files: readonly LandingFile[], name: (n: string) => string): Promise<Records> {
  const rec = name('rec');
  const rj = '__lake_csv_rejects';
  const rs = '__lake_csv_rejects_scan';
  const opts = csvOptions(spec);
  const header = spec.options.header === false ? 0 : 1;
  const row = 'to_json(struct_pack(*COLUMNS(* exclude (ordinality))))';
  const rejects = `store_rejects = true, rejects_table = ${lit(rj)}, rejects_scan = ${lit(rs)}`;
  await db.execute(`create or replace table ${rec} ${RECORDS_TABLE}`);
  // Ordinals of the files read (for sniffing their types), in batch order at the end.
  const good: number[] = [];
  const unclosed = openQuotes(spec, files);
  // Without a header line there is nothing to tell files of different shapes apart: one by one.
  const { groups, alone } = header ? sameHeaderGroups(files, new Set(unclosed.keys())) : { groups: [], alone: files.map((_f, i) => i + 1).filter((n) => !unclosed.has(n)) };
  const oneByOne = [...alone, ...unclosed.keys()];
  const all = listLit(files.map((f) => f.abs));
  for (const g of groups) {
    const abs = g.map((n) => files[n - 1]!.abs);
    await db.execute(`drop table if exists ${qi(rj)}; drop table if exists ${qi(rs)}`);
    try {
      // One file after the other (parallel = false), so ordinality counts each file's rows in order.
      await db.execute(`insert into ${rec} select list_position(${all}, filename)::integer, row_number() over (partition by filename order by ordinality) + ${header},
          to_json(struct_pack(*COLUMNS(* exclude (ordinality, filename)))), null, null
        from (select *, filename from read_csv(${listLit(abs)}, all_varchar = true, ${rejects}, parallel = false, hive_partitioning = false${opts}) with ordinality)`);
      const [rej] = await db.query<{ n: number }>(`select count(*)::bigint as n from ${qi(rj)}`);
      if (Number(rej?.n ?? 0) === 0) {
        good.push(...g);
        continue;
      }
      await db.execute(`delete from ${rec} where _f in (${g.join(', ')})`);
    } catch {
      // An unreadable file among them: each is read alone below.
    }
    oneByOne.push(...g);
  }
  oneByOne.sort((a, b) => a - b);
  for (const n of oneByOne) {
    const f = files[n - 1]!;
    const open = unclosed.get(n);
    await db.execute(`drop table if exists ${qi(rj)}; drop table if exists ${qi(rs)}`);
    try {
      await db.execute(`insert into ${rec} select ${n}, ordinality + ${header}, ${row}, null, null
        from read_csv(${lit(f.abs)}, all_varchar = true, ${rejects}, parallel = false, hive_partitioning = false${open ? explicitDialect(spec, f.abs) ?? opts : opts}) with ordinality`);
    } catch (e) {
      await db.execute(`insert into ${rec} values (${n}, 0, null, ${lit(`unreadable CSV file: ${unreadable(e)}`)}, null)`);
      continue;
    }
    if (!open) good.push(n);
    const [rej] = await db.query<{ n: number }>(`select count(*)::bigint as n from ${qi(rj)}`);
    if (Number(rej?.n ?? 0) === 0) continue;
    // Rejected records, at the line DuckDB reports (physicalLines makes it the physical one). Its
    // text of the record may open with the empty lines before it: they are not the record's.
    await db.execute(`insert into ${rec} select ${n}, line, null, 'CSV ' || string_agg(error_type || ': ' || error_message, '; ' order by column_idx),
        ltrim(first(csv_line order by column_idx), chr(13) || chr(10)) from ${qi(rj)} group by line`);
  }
  await db.execute(`drop table if exists ${qi(rj)}; drop table if exists ${qi(rs)}`);
  await physicalLines(db, spec, files, rec, header, name('lines'));
  // The record whose quote never closes (DuckDB dropped it): a bad record holding the rest of the
  // file, at its physical line (added after physicalLines, which numbers the records DuckDB read).
  for (const [n, open] of unclosed) {
    await db.execute(`insert into ${rec} select ${n}, ${open.line}, null, ${lit(`CSV UNTERMINATED QUOTE: a quoted value opens on line ${open.line} and is never closed`)}, ${lit(open.rest)}
      where not exists (select 1 from ${rec} where _f = ${n} and _lake_line = 0)`);
  }
  const read = good.sort((a, b) => a - b).map((n) => files[n - 1]!.abs);
  return { sql: `select * from ${rec}`, temps: [rec], sniff: () => sniffEarliest(db, read, (f) => `read_csv(${lit(f)}, hive_partitioning = false${opts})`) };
}

/**
 * `_lake_line` as the physical line each CSV record starts on (the header is line 1). The scan
 * numbers the records a file gives (the k-th on line k + header), and DuckDB reports a rejected
 * record at a line that leaves out the line breaks of quoted values before it: an empty line, a
 * value spanning lines or a rejected record shifts every record after it. A file where one may
 * occur is numbered from its text (csvRecordLines): the k-th record read is the k-th record that
 * was not rejected. The shifts are ranges of records (one per empty line, spanning value or
 * rejected record), applied in one UPDATE.
 */
async function physicalLines(db: Adapter, spec: LandingSpec, files: readonly LandingFile[], rec: string, header: number, lines: string): Promise<void> {
  const quote = spec.options.quote === undefined ? '"' : String(spec.options.quote);
  const escape = spec.options.escape === undefined ? quote : String(spec.options.escape);
  const rejected = new Map<number, number[]>();
  for (const r of await db.query<{ f: number; l: number }>(`select _f as f, _lake_line as l from ${rec} where line is null and _lake_line > 0 order by 1, 2`)) {
    const f = Number(r.f);
    if (!rejected.has(f)) rejected.set(f, []);
    rejected.get(f)!.push(Number(r.l));
  }
  // (file, rejected?, first and last line as numbered now, shift)
  const shifts: string[] = [];
  for (let n = 1; n <= files.length; n++) {
    let text: string;
    try {
      text = fs.readFileSync(files[n - 1]!.abs, 'utf8');
    } catch {
      continue;
    }
    const rej = rejected.get(n) ?? [];
    if (!rej.length && !/(^|\n)\r?\n/.test(text) && !text.includes(quote)) continue;
    const records = csvRecordLines(text, quote, escape).slice(header);
    const byReported = new Map(records.map((r, i) => [r.reported, i]));
    const rejectedAt = new Set<number>();
    for (const l of rej) {
      const i = byReported.get(l);
      if (i === undefined) continue;
      rejectedAt.add(i);
      if (records[i]!.line !== l) shifts.push(`(${n}, true, ${l}, ${l}, ${records[i]!.line - l})`);
    }
    let k = 0;
    let run: { from: number; to: number; d: number } | undefined;
    const flush = () => { if (run && run.d !== 0) shifts.push(`(${n}, false, ${run.from}, ${run.to}, ${run.d})`); };
    records.forEach((r, i) => {
      if (rejectedAt.has(i)) return;
      k++;
      const d = r.line - (k + header);
      if (run && run.d === d) run.to = k + header;
      else {
        flush();
        run = { from: k + header, to: k + header, d };
      }
    });
    flush();
  }
  if (shifts.length === 0) return;
  await db.execute(`create or replace table ${lines} (f integer, rejected boolean, a bigint, b bigint, d bigint)`);
  for (let i = 0; i < shifts.length; i += 1000) await db.execute(`insert into ${lines} values ${shifts.slice(i, i + 1000).join(', ')}`);
  await db.execute(`update ${rec} set _lake_line = ${rec}._lake_line + m.d from ${lines} as m
    where ${rec}._f = m.f and (${rec}.line is null) = m.rejected and ${rec}._lake_line between m.a and m.b and ${rec}._lake_line > 0`);
  await db.execute(`drop table ${lines}`);
}

async function parquetRecords(db: Adapter, files: readonly LandingFile[], name: (n: string) => string): Promise<Records> {
  const rec = name('rec');
  const row = 'to_json(struct_pack(*COLUMNS(* exclude (file_row_number))))';
  await db.execute(`create or replace table ${rec} ${RECORDS_TABLE}`);
  const good: string[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    try {
      await db.execute(`insert into ${rec} select ${i + 1}, file_row_number + 1, ${row}, null, null from read_parquet(${lit(f.abs)}, file_row_number = true, hive_partitioning = false)`);
      good.push(f.abs);
    } catch (e) {
      await db.execute(`insert into ${rec} values (${i + 1}, 0, null, ${lit(`unreadable parquet file: ${unreadable(e)}`)}, null)`);
    }
  }
  return { sql: `select * from ${rec}`, temps: [rec], sniff: () => sniffEarliest(db, good, (f) => `read_parquet(${lit(f)}, hive_partitioning = false)`) };
}

/**
 * Records of a batch of files, built on `db` — an autocommit connection, not the model's
 * transaction — into scratch tables named by `name`.
 */
export async function readRecords(db: Adapter, spec: LandingSpec, files: readonly LandingFile[], name: (n: string) => string): Promise<Records> {
  if (files.length === 0) {
    return { sql: `select null::integer as _f, null::bigint as _lake_line, null::varchar as line, null::varchar as _pre_reason, null::varchar as _pre_raw where false`, temps: [] };
  }
  switch (spec.format) {
    case 'csv':
      return csvRecords(db, spec, files, name);
    case 'parquet':
      return parquetRecords(db, files, name);
    default:
      return textRecords(db, spec, files, name);
  }
}
