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
 *   back with their line and text; `_lake_line` is the record number (header = 1), which is the
 *   line number unless quoted fields span lines.
 * - parquet: `read_parquet` per file with `file_row_number`; a file DuckDB cannot read (truncated,
 *   not parquet) becomes one bad record for the whole file (line 0).
 */
import type { Adapter } from '../adapter/types.js';
import { EngineError } from '../adapter/types.js';
import type { Column, LandingSpec } from '../core/types.js';
import type { LandingFile } from './files.js';
import { lit, qi, listLit } from './sql.js';

export interface Records {
  /** A SELECT producing `_f, _lake_line, line, _pre_reason, _pre_raw`. */
  readonly sql: string;
  /** Temp tables to drop afterwards. */
  readonly temps: readonly string[];
  /** Column types DuckDB detected in the files (csv, parquet), used when inferring new columns. */
  readonly sniffed?: readonly Column[];
}

const LF = 'chr(10)';

/** Lines of each file, CRLF or LF. */
function splitLines(content: string): string {
  return `string_split(case when contains(${content}, chr(13)) then replace(${content}, chr(13) || ${LF}, ${LF}) else ${content} end, ${LF})`;
}

async function textRecords(tx: Adapter, spec: LandingSpec, files: readonly LandingFile[], prefix: string): Promise<Records> {
  const paths = listLit(files.map((f) => f.abs));
  const split = spec.format === 'json'
    ? `case when regexp_matches(text, '^\\s*\\[') and json_valid(text) then json_extract(text, '$[*]')::varchar[]
            when regexp_matches(text, '^\\s*\\{') and json_valid(text) then [text]
            else ${splitLines('text')} end`
    : splitLines('text');
  // read_blob + try(decode()): a file that is not UTF-8 becomes one bad record (line 0) instead of
  // failing the whole batch (read_text would), since a failed statement aborts the transaction.
  // The lines land in a temp table first: a scan of the files feeds its pipeline from one thread,
  // while a scan of a table is split by row groups, so the parsing that follows runs on every core.
  const rec = qi(`${prefix}rec`);
  await tx.execute(`create or replace temp table ${rec} as
select _f, case when line is null then 0 else ln end as _lake_line, line,
    case when line is null then 'file is not valid UTF-8 text' end as _pre_reason, null::varchar as _pre_raw from (
  select _f, unnest(s) as line, generate_subscripts(s, 1) as ln from (
    select _f, case when text is null then [null::varchar] else ${split} end as s from (
      select list_position(${paths}, filename)::integer as _f, try(decode(content)) as text from read_blob(${paths})
    )
  )
) where line is null or line >= '!' or trim(line) <> ''`);
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

/** Column types DuckDB detects over the files (tried on the probe connection). */
async function sniff(probe: Adapter, sql: string): Promise<Column[] | undefined> {
  try {
    return (await probe.describeQuery(sql)).map((c) => ({ name: c.name, type: c.type }));
  } catch {
    return undefined; // files DuckDB cannot sniff as a whole: new columns are inferred as VARCHAR
  }
}

function unreadable(e: unknown): string {
  const msg = e instanceof EngineError || e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.replace(/^[A-Za-z ]+Error: /, '');
}

/**
 * Whether DuckDB can read a file with `sql`, tried on a separate connection: a failed statement
 * would abort the model's transaction, so unreadable files are found before reading in it.
 */
async function readable(probe: Adapter, sql: string): Promise<string | undefined> {
  try {
    await probe.query(sql);
    return undefined;
  } catch (e) {
    return unreadable(e);
  }
}

const RECORDS_TABLE = '(_f integer, _lake_line bigint, line varchar, _pre_reason varchar, _pre_raw varchar)';

async function csvRecords(tx: Adapter, spec: LandingSpec, files: readonly LandingFile[], prefix: string): Promise<Records> {
  const rec = qi(`${prefix}rec`);
  const rj = `${prefix}rej`;
  const rs = `${prefix}rejscan`;
  const rejl = qi(`${prefix}rejl`);
  const opts = csvOptions(spec);
  const header = spec.options.header === false ? 0 : 1;
  const scan = (file: string, rejTable: string, rejScan: string) =>
    `read_csv(${lit(file)}, all_varchar = true, store_rejects = true, rejects_table = ${lit(rejTable)}, rejects_scan = ${lit(rejScan)}, parallel = false${opts}) with ordinality`;
  const row = 'to_json(struct_pack(*COLUMNS(* exclude (ordinality))))';
  await tx.execute(`create or replace temp table ${rec} ${RECORDS_TABLE}`);
  const probe = await tx.fork();
  const good: string[] = [];
  let sniffed: Column[] | undefined;
  try {
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      const n = i + 1;
      const problem = await readable(probe, `select count(*), max(length(j)) from (select ${row} as j from ${scan(f.abs, `${rj}_probe`, `${rs}_probe`)})`);
      if (problem) {
        await tx.execute(`insert into ${rec} values (${n}, 0, null, ${lit(`unreadable CSV file: ${problem}`)}, null)`);
        continue;
      }
      good.push(f.abs);
      await tx.execute(`drop table if exists ${qi(rj)}; drop table if exists ${qi(rs)}`);
      await tx.execute(`insert into ${rec} select ${n}, ordinality + ${header}, ${row}, null, null from ${scan(f.abs, rj, rs)}`);
      const [rej] = await tx.query<{ n: number }>(`select count(*)::bigint as n from ${qi(rj)}`);
      if (Number(rej?.n ?? 0) === 0) continue;
      // Rejected records are not numbered by the scan: renumber the good ones around them.
      await tx.execute(`create or replace temp table ${rejl} as
        select line, first(csv_line order by column_idx) as raw, string_agg(error_type || ': ' || error_message, '; ' order by column_idx) as reason from ${qi(rj)} group by line`);
      await tx.execute(`update ${rec} set _lake_line = m.n from (
          select row_number() over (order by r.n) + ${header} as k, r.n from range(${header + 1}, (select count(*) from ${rec} where _f = ${n}) + (select count(*) from ${rejl}) + ${header + 1}) as r(n)
          where r.n not in (select line from ${rejl})
        ) as m where ${rec}._f = ${n} and ${rec}._lake_line = m.k`);
      await tx.execute(`insert into ${rec} select ${n}, line, null, 'CSV ' || reason, raw from ${rejl}`);
      await tx.execute(`drop table ${rejl}`);
    }
    await tx.execute(`drop table if exists ${qi(rj)}; drop table if exists ${qi(rs)}`);
    if (good.length) sniffed = await sniff(probe, `select * from read_csv(${listLit(good)}, union_by_name = true${opts})`);
  } finally {
    await probe.close();
  }
  return { sql: `select * from ${rec}`, temps: [rec], sniffed };
}

async function parquetRecords(tx: Adapter, files: readonly LandingFile[], prefix: string): Promise<Records> {
  const rec = qi(`${prefix}rec`);
  const row = 'to_json(struct_pack(*COLUMNS(* exclude (file_row_number))))';
  await tx.execute(`create or replace temp table ${rec} ${RECORDS_TABLE}`);
  const probe = await tx.fork();
  const good: string[] = [];
  let sniffed: Column[] | undefined;
  try {
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      const scan = `read_parquet(${lit(f.abs)}, file_row_number = true)`;
      const problem = await readable(probe, `select count(*), max(length(j)) from (select ${row} as j from ${scan})`);
      if (problem) {
        await tx.execute(`insert into ${rec} values (${i + 1}, 0, null, ${lit(`unreadable parquet file: ${problem}`)}, null)`);
        continue;
      }
      good.push(f.abs);
      await tx.execute(`insert into ${rec} select ${i + 1}, file_row_number + 1, ${row}, null, null from ${scan}`);
    }
    if (good.length) sniffed = await sniff(probe, `select * from read_parquet(${listLit(good)}, union_by_name = true)`);
  } finally {
    await probe.close();
  }
  return { sql: `select * from ${rec}`, temps: [rec], sniffed };
}

/** Records of a batch of files (see the module comment). */
export async function readRecords(tx: Adapter, spec: LandingSpec, files: readonly LandingFile[], prefix: string): Promise<Records> {
  if (files.length === 0) {
    return { sql: `select null::integer as _f, null::bigint as _lake_line, null::varchar as line, null::varchar as _pre_reason, null::varchar as _pre_raw where false`, temps: [] };
  }
  switch (spec.format) {
    case 'csv':
      return csvRecords(tx, spec, files, prefix);
    case 'parquet':
      return parquetRecords(tx, files, prefix);
    default:
      return textRecords(tx, spec, files, prefix);
  }
}
