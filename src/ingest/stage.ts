/**
 * The JSON pipeline every format goes through: records (readers.ts) → a stage table (in the
 * scratch database) holding, per record, its typed columns, its Kafka envelope, and why it is bad
 * (`_reason`, NULL for a good record).
 *
 * Cost matters here (it is most of an ingestion's time), so the common path parses a record once:
 * `from_json(line, <structure>)` with the known columns' types in the structure gives typed
 * values directly (DuckDB's JSON casts: the rules of try_cast). It is wrapped in `try()`, and
 * guarded by `json_valid` when a sample of the batch's lines has a malformed one: a `try()` whose
 * input vector holds one malformed line evaluates that whole vector again row by row, and a
 * landing zone with a bad line every thousand or so has one in most vectors (measured: 5.6 s vs
 * 0.9 s for 2.5M envelopes with 0.1% malformed lines); a clean batch skips the extra parse.
 * A Kafka envelope is parsed once, with `value` as VARCHAR: a string value arrives unwrapped and an
 * object value as its JSON text, the payload parsed next. Everything else is computed lazily, inside CASE branches DuckDB
 * evaluates only for the rows that reach them: a NULL typed value is looked up in the raw JSON to
 * tell "absent or null" from "wrong type" (a bad record); `json_keys` finds keys outside the known
 * schema (`_unknown`, for schema evolution), and the full key list is filtered only for records
 * with more keys than non-NULL known values; a Kafka value that is a JSON string (not an object)
 * is unwrapped and parsed a second time, for those records only.
 */
import type { Adapter } from '../adapter/types.js';
import type { Column, LandingSpec } from '../core/types.js';
import { lit, qi, listLit } from './sql.js';

/** Envelope columns of `format: kafka`, in the order they appear in the source's rows. */
export const KAFKA_COLUMNS: readonly Column[] = [
  { name: '_key', type: 'VARCHAR' },
  { name: '_topic', type: 'VARCHAR' },
  { name: '_partition', type: 'INTEGER' },
  { name: '_offset', type: 'BIGINT' },
  { name: '_timestamp', type: 'TIMESTAMP' },
];

/** Names lake owns in a landing source's rows: payload keys with these names are ignored. */
export function reservedNames(kafka: boolean): Set<string> {
  const out = new Set(['_lake_file', '_lake_line', '_lake_batch', '_lake_file_mtime', '_rescued_data']);
  if (kafka) for (const c of KAFKA_COLUMNS) out.add(c.name);
  return out;
}

const MAP = lit(JSON.stringify('MAP(VARCHAR, JSON)'));

/** A JSON pointer (`/key`) that addresses one top-level key, whatever characters it holds. */
function pointer(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

const INTEGER_TYPES = new Set(['TINYINT', 'INT1', 'SMALLINT', 'INT2', 'SHORT', 'INTEGER', 'INT', 'INT4', 'SIGNED', 'BIGINT', 'INT8', 'LONG',
  'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'HUGEINT', 'UHUGEINT']);
const FLOAT_TYPES = new Set(['DOUBLE', 'FLOAT8', 'FLOAT', 'FLOAT4', 'REAL']);
const TIMESTAMP_TYPES = new Set(['TIMESTAMP', 'DATETIME', 'TIMESTAMP WITHOUT TIME ZONE']);

/**
 * How a column of a landing source is read from a record, where DuckDB's JSON casts alone would
 * be wrong: they round a fractional number (or take `true` as 1) into an integer column, and drop
 * the offset of an ISO time (`10:00+02:00` read as 10:00). An integer column is parsed as its JSON
 * text, which must be an integer (`2.0` and `1e3` are; `2.7` and `true` are bad records); a
 * TIMESTAMP column as TIMESTAMPTZ, then held as its UTC time (lake's sessions are UTC). Both cost
 * no more than the direct parse (measured on 1M records).
 */
function readAs(c: Column): { parse: string; value: (v: string) => string } {
  const t = c.type.trim().toUpperCase();
  if (INTEGER_TYPES.has(t)) {
    return {
      parse: 'VARCHAR',
      value: (v) => `case when not (contains(${v}, '.') or contains(${v}, 'e') or contains(${v}, 'E')) then try_cast(${v} as ${c.type})
        when try_cast(${v} as DECIMAL(38,10)) = trunc(try_cast(${v} as DECIMAL(38,10))) then try_cast(try_cast(${v} as DECIMAL(38,10)) as ${c.type}) end`,
    };
  }
  // Its instant as a TIMESTAMP (epoch microseconds: a cast through the session's time zone costs
  // ~25% of the whole stage statement).
  if (TIMESTAMP_TYPES.has(t)) return { parse: 'TIMESTAMPTZ', value: (v) => `make_timestamp(epoch_us(${v}))` };
  // A DECIMAL from the number's text: DuckDB's JSON cast goes through a DOUBLE and rounds that
  // (0.285 → 0.28 for DECIMAL(_,2)); the text is the shortest that gives the same double, so it
  // rounds as written (0.29). A JSON number with more than ~17 significant digits has lost them
  // in the parse already: such values must come as strings, which are exact.
  if (/^(DECIMAL|NUMERIC)\b/.test(t)) return { parse: 'VARCHAR', value: (v) => `try_cast(${v} as ${c.type})` };
  return { parse: c.type, value: (v) => v };
}

/** `{"a": "BIGINT", ...}`; a placeholder field when nothing is known (from_json needs one). */
function typedStructure(known: readonly Column[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const c of known) o[c.name] = readAs(c).parse;
  if (known.length === 0) o.__lake_nothing_known__ = 'VARCHAR';
  return o;
}

/** The fields of a `STRUCT(a T, "b c" T2, ...)` type, outermost level only; none for other types. */
export function structFields(type: string): Column[] {
  const m = /^\s*STRUCT\s*\(([\s\S]*)\)\s*$/i.exec(type);
  if (!m) return [];
  const out: Column[] = [];
  let depth = 0;
  let cur = '';
  const push = () => {
    const f = /^\s*(?:"((?:[^"]|"")*)"|([^\s"]+))\s+([\s\S]+?)\s*$/.exec(cur);
    if (f) out.push({ name: f[1] !== undefined ? f[1].replace(/""/g, '"') : f[2]!, type: f[3]! });
    cur = '';
  };
  let quoted = false;
  for (const ch of m[1]!) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === '(' || ch === '[')) depth++;
    if (!quoted && (ch === ')' || ch === ']')) depth--;
    if (!quoted && depth === 0 && ch === ',') push();
    else cur += ch;
  }
  push();
  return out;
}

/** A known column's value in the stage, from the parsed record `_x`. */
function valueOf(c: Column): string {
  return readAs(c).value(`_x.${qi(c.name)}`);
}

const OBJ = `(_pre_reason is null and case when starts_with(line, '{') then true else starts_with(ltrim(line), '{') end)`;
const SHAPE = `case when json_valid(line) then 'not a JSON object' else 'malformed JSON' end`;

/** The SQL pieces that differ between Kafka envelopes and plain records. */
interface Chain {
  /** CTEs from `rec` to `pay`, which has `_x` (typed struct), `_k` (key list or NULL), `_pok`, `_tomb`. */
  readonly ctes: string;
  /** Expression for the payload's JSON text (used lazily: unknown keys, inference). */
  readonly praw: string;
  /** Expression for the raw JSON value at a pointer into the payload (used lazily: type errors). */
  at(ptr: string): string;
  /** Reason branches for records that are not usable payloads. */
  readonly shapeChecks: string;
  /** Extra stage columns (the envelope). */
  readonly extra: string;
}

/**
 * `guarded`: parse a record only after `json_valid` said it is JSON. Worth its extra parse when
 * malformed lines are common enough to be in many of DuckDB's vectors (see the module comment);
 * for a batch whose sample of lines has none, the unguarded parse costs ~30% less (a malformed
 * line that is there all the same still gets its reason, through `try()`'s slower path).
 */
function chain(recordsSql: string, known: readonly Column[], kafka: boolean, keys: boolean, guarded = true): Chain {
  const typed = typedStructure(known);
  // The record's keys: for every record when unknown keys are looked for; otherwise only for a
  // record that lacks a known value, which may be under a key spelled in another case.
  const keysOf = (p: string) => (keys
    ? `case when _x is not null then json_keys(${p}) end`
    : known.length ? `case when _x is not null and (${known.map((k) => `_x.${qi(k.name)} is null`).join(' or ')}) then json_keys(${p}) end` : 'null::varchar[]');
  const valid = (x: string) => (guarded ? ` and json_valid(${x})` : '');
  const rec = `rec as (\n${recordsSql}\n), obj as (select *, ${OBJ} as _obj from rec)`;
  if (!kafka) {
    return {
      ctes: `${rec},
pay as (select *, _x is not null as _pok, false as _tomb, ${keysOf('line')} as _k
  from (select *, case when _obj${valid('line')} then try(from_json(line, ${lit(JSON.stringify(typed))})) end as _x from obj))`,
      praw: 'line',
      at: (ptr) => `json_extract(line, ${lit(ptr)})`,
      shapeChecks: `when not _obj or _x is null then ${SHAPE}`,
      extra: '',
    };
  }
  // Every envelope field as VARCHAR: a JSON string comes unquoted (so a string `value` arrives
  // unwrapped, ready to parse), anything else as its minified JSON text (so an object `value`
  // arrives as the payload's text). Either way the payload is one VARCHAR parsed next; a JSON
  // null or absent value is SQL NULL (a tombstone). Parsing `value` as JSON instead, then
  // unwrapping strings with ->>, re-serialized and re-parsed every string value (~8% of the stage).
  const env = lit(JSON.stringify({ key: 'VARCHAR', value: 'VARCHAR', topic: 'VARCHAR', partition: 'INTEGER', offset: 'BIGINT', timestamp: 'VARCHAR' }));
  const ts = lit(JSON.stringify(typed));
  const isObj = `(starts_with(ltrim(_ptext), '{') and json_valid(_ptext))`;
  return {
    ctes: `${rec},
env as (select *, case when _obj${valid('line')} then try(from_json(line, ${env})) end as _e from obj),
inner_ as (select *, _e.value as _ptext, _e is not null and _e.value is null as _tomb, try_cast(_e.timestamp as double) as _tsd from env),
typed_ as (select *, case when starts_with(ltrim(_ptext), '{')${valid('_ptext')} then try(from_json(_ptext, ${ts})) end as _x from inner_),
pay as (select *,
    case when _tomb then true when _x is not null then true when _ptext is null then false else ${isObj} end as _pok,
    ${keysOf('_ptext')} as _k
  from typed_)`,
    praw: `_ptext`,
    at: (ptr) => `json_extract(_ptext, ${lit(ptr)})`,
    shapeChecks: `when not _obj or _e is null then ${SHAPE}
    when _e.topic is null or _e.partition is null or _e.offset is null then 'Kafka envelope without topic, partition or offset'
    when _e.timestamp is not null and _tsd is null and try_cast(_e.timestamp as timestamptz) is null then 'Kafka envelope timestamp ' || left(_e.timestamp, 200) || ' is neither epoch seconds or milliseconds nor an ISO time'
    when not _pok then 'Kafka value is not a JSON object'`,
    // Kafka's own timestamps are epoch milliseconds, but producers (and the landing files of our
    // users' pipelines, seed 002) also write epoch seconds: the two are told apart by magnitude —
    // below 1e11 is seconds (up to the year 5138), above is milliseconds (from March 1973 on).
    // An ISO string is accepted too (an offset in it is applied: the column holds UTC).
    extra: `, _e.key as _key, _e.topic as _topic, _e.partition as _partition, _e.offset as _offset,
       case when _tsd is not null then make_timestamp((_tsd * case when abs(_tsd) < 1e11 then 1000000 else 1000 end)::bigint)
            else make_timestamp(epoch_us(try_cast(_e.timestamp as timestamptz))) end as _timestamp, false as _dup`,
  };
}

export interface StageOptions {
  /** Qualified name of the stage table to create (scratch). */
  readonly name: string;
  readonly recordsSql: string;
  readonly spec: LandingSpec;
  /** Columns already known (declared, held by the consumer, or inferred). */
  readonly known: readonly Column[];
  /** Collect keys outside `known` (not needed when schema_evolution is none). */
  readonly detectUnknown: boolean;
  readonly rescue: boolean;
  /** Append to a stage an earlier slice of the same batch created (same options but the records). */
  readonly append?: boolean;
  /** Guard each parse with `json_valid` (see `chain`); `looksClean` tells when it can go. */
  readonly guarded: boolean;
}

/** Lines of a sample (the first 16,384) that are not valid JSON: none means the batch is likely clean. */
export async function looksClean(tx: Adapter, recordsSql: string): Promise<boolean> {
  const [r] = await tx.query<{ bad: number }>(`select count_if(not json_valid(line)) as bad from (select line from (${recordsSql}) where line is not null limit 16384)`);
  return Number(r?.bad ?? 0) === 0;
}

/** Create the stage table (see the module comment), or append a slice of records to it. */
export async function createStage(tx: Adapter, o: StageOptions): Promise<void> {
  const kafka = o.spec.format === 'kafka';
  // Records whose values carry JSON's types (CSV and parquet records come as text or typed already).
  const jsonText = kafka || o.spec.format === 'json' || o.spec.format === 'jsonl';
  const known = o.known;
  const reserved = reservedNames(kafka);
  const c = chain(o.recordsSql, known, kafka, o.detectUnknown, o.guarded);
  const knownLower = listLit([...known.map((k) => k.name.toLowerCase()), ...reserved]);
  // Each non-NULL known value stands for one key: a record with no more keys than that has no unknown key.
  const nonNull = known.length ? known.map((k) => `(_x.${qi(k.name)} is not null)::integer`).join(' + ') : '0';
  const unknown = o.detectUnknown
    ? `case when _k is null or len(_k) = ${nonNull} then null else list_filter(_k, lambda k: not list_contains(${knownLower}, lower(k))) end`
    : 'null::varchar[]';
  // Field names match columns whatever their case (as in Spark): a record whose `Id` is not the
  // declared `id` gives its value there (from_json matches exact names; this lookup runs only for
  // a record that lacks the value). Each known column's value is computed once (in `vals`), for
  // the stage and for its type check.
  const variant = (k: Column) => `case when _x.${qi(k.name)} is null and _k is not null
      then list_filter(_k, lambda x: lower(x) = ${lit(k.name.toLowerCase())} and x <> ${lit(k.name)})[1] end`;
  // The JSON value under the case-variant key `_ck<i>` (a JSON pointer built in SQL, like pointer()).
  const variantValue = (i: number) => `json_extract(${c.praw}, '/' || replace(replace(_ck${i}, '~', '~0'), '/', '~1'))`;
  const rawOf = (k: Column, i: number) => `coalesce(${c.at(pointer(k.name))}, case when _ck${i} is not null then ${variantValue(i)} end)`;
  // The reason of a value that does not fit its column (or a STRUCT column's field).
  const notValid = (label: string, v: string, type: string) => `${lit(`column ${label}: `)} || left(${v}::varchar, 200) || ${lit(` is not a valid ${type}`)}`;
  // Per known column, the ways its value may not fit: a condition and the reason it gives.
  const mismatches = known.map((k, i): { when: string; reason: string }[] => {
    const raw = rawOf(k, i);
    // A STRUCT column's fields too (one level): DuckDB's JSON cast leaves a field that does not
    // fit NULL, and the record would pass with its value lost.
    const fields = structFields(k.type).flatMap((f) => {
      const v = `json_extract(${raw}, ${lit(pointer(f.name))})`;
      const bad = notValid(`${k.name}.${f.name}`, v, f.type);
      const out = [{ when: `_v${i} is not null and _v${i}.${qi(f.name)} is null and coalesce(json_type(${v}), 'NULL') <> 'NULL'`, reason: bad }];
      // An integer field, like an integer column, takes integers only (DuckDB's cast makes 2.7 a 3, true a 1).
      if (INTEGER_TYPES.has(f.type.trim().toUpperCase())) {
        out.push({ when: `_v${i} is not null and _v${i}.${qi(f.name)} is not null and (json_type(${v}) = 'BOOLEAN' or (json_type(${v}) = 'DOUBLE' and ${v}::double <> trunc(${v}::double)))`, reason: bad });
      }
      return out;
    });
    // A STRUCT column given something other than an object ("Paris", 42) reads as a struct of
    // NULLs, not as NULL: the JSON type says it.
    const notObject = /^\s*STRUCT\s*\(/i.test(k.type) ? [{ when: `_v${i} is not null and json_type(${raw}) not in ('OBJECT', 'NULL')`, reason: notValid(k.name, raw, k.type) }] : [];
    // DuckDB's JSON cast makes a number a BOOLEAN (0.5 → true) and a boolean a DOUBLE (true → 1):
    // in JSON records (CSV values are all text) that is a value of the wrong type. A floating
    // column looks at the JSON type only when the record holds the word true or false at all.
    const t = k.type.trim().toUpperCase();
    const wrongKind = !jsonText ? []
      : t === 'BOOLEAN' || t === 'BOOL' || t === 'LOGICAL' ? [{ when: `_v${i} is not null and json_type(${raw}) <> 'BOOLEAN'`, reason: notValid(k.name, raw, k.type) }]
      : FLOAT_TYPES.has(t) ? [{ when: `_v${i} is not null and (contains(${c.praw}, 'true') or contains(${c.praw}, 'false')) and json_type(${raw}) = 'BOOLEAN'`, reason: notValid(k.name, raw, k.type) }]
      : [];
    return [...notObject, { when: `_v${i} is null and coalesce(json_type(${raw}), 'NULL') <> 'NULL'`, reason: notValid(k.name, raw, k.type) }, ...wrongKind, ...fields];
  });
  // rescue (Auto Loader's rescued data column): a value that does not fit its column is no bad
  // record; the column is NULL and the value goes to `_rescued_data` under its key, like an unknown
  // field. Whether it fits is computed once per column (`_m<i>`), for both uses.
  const rescued = (i: number) => `_m${i}`;
  const misfits = o.rescue ? known.map((_k, i) => `, (${mismatches[i]!.map((m) => `(${m.when})`).join(' or ')}) as _m${i}`).join('') : '';
  const typeChecks = o.rescue ? '' : mismatches.flatMap((ms) => ms.map((m) => `when ${m.when}\n      then ${m.reason}`)).join('\n    ');
  const reason = `case
    when _pre_reason is not null then _pre_reason
    ${c.shapeChecks}
    ${typeChecks}
  end`;
  const unknownOrRescued = o.rescue && known.length
    ? `list_concat(coalesce(${unknown}, []::varchar[]), list_filter([${known.map((k, i) => `case when ${rescued(i)} then coalesce(_ck${i}, ${lit(k.name)}) end`).join(', ')}], lambda x: x is not null))`
    : unknown;
  const cols = known.map((k, i) => (o.rescue ? `, case when ${rescued(i)} then null else _v${i} end as ${qi(k.name)}` : `, _v${i} as ${qi(k.name)}`)).join('');
  const variants = known.map((k, i) => `, ${variant(k)} as _ck${i}`).join('');
  const vals = known.map((k, i) => `, coalesce(${valueOf(k)}, case when _ck${i} is not null then ${typedValue(variantValue(i), k)} end) as _v${i}`).join('');
  const body = (cc: Chain) => `with ${cc.ctes},
cased as (select *${variants} from pay),
vals as (select *${vals} from cased),
fitted as (select *${misfits} from vals),
judged as (select *, ${reason} as _reason, ${unknownOrRescued} as _unk from fitted)
select _f, _lake_line${cols}${o.rescue ? ', null::json as _rescued_data' : ''}${c.extra},
  _reason,
  case when _reason is not null then coalesce(_pre_raw, line) end as _raw,
  case when _reason is null and len(_unk) > 0 then ${c.praw} end as _payload,
  case when _reason is null and len(_unk) > 0 then _unk end as _unknown
from judged`;
  await tx.execute(o.append ? `insert into ${o.name} by name\n${body(c)}` : `create or replace table ${o.name} as\n${body(c)}`);
}

/** A key outside the known schema, with the record that first carried it. */
export interface UnknownKey {
  readonly key: string;
  readonly f: number;
  readonly line: number;
}

/** Rows of files `range` (1-based ordinals, inclusive), or every row. */
function inFiles(range?: readonly [number, number]): string {
  return range ? ` and _f between ${range[0]} and ${range[1]}` : '';
}

/**
 * Keys outside the known schema in the stage (of the files `range` only, when given), first seen
 * first. Only good records count: a record that a column added since the stage was made (schema
 * evolution) turned bad brings no key, as it would not have, had its file landed after that column.
 */
export async function unknownKeys(tx: Adapter, stage: string, range?: readonly [number, number]): Promise<UnknownKey[]> {
  const rows = await tx.query<{ k: string; f: number; l: number }>(
    `select k, min(struct_pack(f := _f, l := _lake_line, p := pos)).f as f, min(struct_pack(f := _f, l := _lake_line, p := pos)).l as l
     from (select _f, _lake_line, unnest(_unknown) as k, generate_subscripts(_unknown, 1) as pos from ${stage} where _unknown is not null and _reason is null${inFiles(range)})
     group by k order by min(struct_pack(f := _f, l := _lake_line, p := pos))`,
  );
  return rows.map((r) => ({ key: r.k, f: Number(r.f), line: Number(r.l) }));
}

/** SQL type for the JSON types a key's values had. */
export function typeOfJsonTypes(types: readonly string[]): string {
  const s = new Set(types.filter((t) => t && t !== 'NULL'));
  const all = (ok: string[]) => [...s].every((t) => ok.includes(t));
  if (s.size === 0) return 'VARCHAR';
  if (all(['UBIGINT', 'BIGINT'])) return 'BIGINT';
  if (all(['UBIGINT', 'BIGINT', 'DOUBLE'])) return 'DOUBLE';
  if (all(['BOOLEAN'])) return 'BOOLEAN';
  if (all(['VARCHAR'])) return 'VARCHAR';
  if (s.has('OBJECT') || s.has('ARRAY')) return 'JSON';
  return 'VARCHAR';
}

/**
 * Columns of a batch read with nothing known yet (a consumer's first read without declared
 * columns): every top-level key, in order of first appearance, typed from its JSON values in the
 * earliest file (landing order) that has it — as when the files land one per run: the first file
 * that brings a key fixes its type, and a later value that does not fit is a bad record. (The
 * values of the whole batch would widen INTEGER and 2.5 to DOUBLE: another table for the same
 * files landed together.) Spellings of a key in other cases are one column, named as first seen.
 */
export async function inferJsonColumns(tx: Adapter, recordsSql: string, kafka: boolean): Promise<Column[]> {
  const reserved = reservedNames(kafka);
  const c = chain(recordsSql, [], kafka, false);
  const rows = await tx.query<{ k: string; types: string[] }>(
    `with ${c.ctes},
     maps as (select _f, _lake_line, from_json(${c.praw}, ${MAP}) as m from pay where _pok and not _tomb),
     kv as (select _f, _lake_line, unnest(map_keys(m)) as k, unnest(map_values(m)) as v, generate_subscripts(map_keys(m), 1) as pos from maps where m is not null),
     per_file as (select lower(k) as lk, _f, min(struct_pack(f := _f, l := _lake_line, p := pos, k := k)) as first, list(distinct json_type(v)) as types
       from kv group by lower(k), _f)
     select min(first).k as k, arg_min(types, _f) as types from per_file
     group by lk order by min(first)`,
  );
  const out: Column[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    const lower = r.k.toLowerCase();
    if (reserved.has(lower) || seen.has(lower)) continue;
    seen.add(lower);
    out.push({ name: r.k, type: typeOfJsonTypes(r.types) });
  }
  return out;
}

/**
 * Of the columns a first read inferred from every record of its batch, those that no good record
 * of the stage carries: the keys only bad records hold. Schema evolution takes a new key from good
 * records only (unknownKeys), so a later run ignores such a key; the first run drops them too, and
 * the same files give the same table however they are grouped into runs. Cheap when there is no
 * bad record, or every column has a value in some good record (one pass over the stage); only
 * columns without one are looked up in the records' keys (a good record may hold the key as null).
 */
export async function columnsOnlyInBadRecords(tx: Adapter, stage: string, recordsSql: string, columns: readonly Column[], kafka: boolean): Promise<Column[]> {
  if (columns.length === 0) return [];
  const [counts] = await tx.query<Record<string, number>>(
    `select count(*) filter (where _reason is not null) as bad${columns.map((c, i) => `, count(${qi(c.name)}) filter (where _reason is null) as n${i}`).join('')} from ${stage}`);
  if (!counts || Number(counts.bad) === 0) return [];
  const empty = columns.filter((_c, i) => Number(counts[`n${i}`]) === 0);
  if (empty.length === 0) return [];
  const c = chain(recordsSql, [], kafka, false);
  const held = await tx.query<{ k: string }>(
    `with ${c.ctes},
     keyed as (select _f, _lake_line, unnest(json_keys(${c.praw})) as k from pay where _pok and not _tomb and ${c.praw} is not null)
     select distinct lower(k) as k from keyed
     semi join (select _f, _lake_line from ${stage} where _reason is null) as good on keyed._f = good._f and keyed._lake_line = good._lake_line
     where list_contains(${listLit(empty.map((e) => e.name.toLowerCase()))}, lower(k))`);
  const carried = new Set(held.map((r) => r.k));
  return empty.filter((e) => !carried.has(e.name.toLowerCase()));
}

/** A typed value of column `c` from a JSON value `v` (NULL when absent or not of that type). */
function typedValue(v: string, c: Column): string {
  const t = c.type.trim().toUpperCase();
  if (t === 'JSON') return v;
  if (t === 'VARCHAR' || t === 'TEXT' || t === 'STRING') return `(${v}->>'$')`;
  // Types a record's known columns read in their own way (see readAs): the same, from the value's text.
  const r = readAs(c);
  if (r.parse !== c.type) return r.value(`try_cast((${v}->>'$') as ${r.parse})`);
  return `try_cast(${v} as ${c.type})`;
}

/** Types of new keys from their JSON values in good records of the stage, by the key in lower case (its spellings' values together). */
export async function inferNewKeyTypes(tx: Adapter, stage: string, keys: readonly string[], range?: readonly [number, number]): Promise<Map<string, string>> {
  const rows = await tx.query<{ k: string; types: string[] }>(
    `select lower(k) as k, list(distinct json_type(json_extract(_payload, '/' || replace(replace(k, '~', '~0'), '/', '~1')))) as types
     from (select unnest(_unknown) as k, _payload from ${stage} where _unknown is not null and _reason is null${inFiles(range)})
     where list_contains(${listLit(keys.map((k) => k.toLowerCase()))}, lower(k)) group by lower(k)`,
  );
  return new Map(rows.map((r) => [r.k, typeOfJsonTypes(r.types)]));
}

/**
 * Add new keys as stage columns, typed; records whose value does not fit become bad, and get
 * their raw text from `recordsSql` of the files (1-based ordinals) holding them (the stage keeps
 * raw text only for records bad from the start:
 * copying every record with a new key, half a stream's, was a large share of memory and time).
 */
export async function addColumns(tx: Adapter, stage: string, columns: readonly Column[], recordsSql: (files: readonly number[]) => string): Promise<void> {
  const s = stage;
  let bad = 0;
  for (const c of columns) {
    // A field fills the column of its name whatever its case (`Foo` in one record, `foo` in
    // another): each record's value is read under its own spelling.
    const lower = lit(c.name.toLowerCase());
    const own = `list_filter(_unknown, lambda x: lower(x) = ${lower})[1]`;
    const v = `json_extract(_payload, '/' || replace(replace(${own}, '~', '~0'), '/', '~1'))`;
    const has = `_unknown is not null and list_contains(list_transform(_unknown, lambda x: lower(x)), ${lower})`;
    await tx.execute(`alter table ${s} add column ${qi(c.name)} ${c.type}`);
    await tx.execute(`update ${s} set ${qi(c.name)} = ${typedValue(v, c)} where ${has}`);
    bad += await tx.execute(`update ${s} set _reason = ${lit(`column ${c.name}: `)} || left(${v}::varchar, 200) || ${lit(` is not a valid ${c.type}`)}
      where _reason is null and ${has} and ${qi(c.name)} is null and ${v} is not null and json_type(${v}) <> 'NULL'`);
  }
  if (bad > 0) {
    // Only the files holding such records are read, and only their lines kept (a semi join
    // against the few records, not a hash table of every line).
    const need = `(select _f, _lake_line from ${s} where _reason is not null and _raw is null)`;
    const files = (await tx.query<{ f: number }>(`select distinct _f as f from ${need} order by 1`)).map((r) => Number(r.f));
    await tx.execute(`update ${s} set _raw = r.raw from (
        select r._f, r._lake_line, coalesce(r._pre_raw, r.line) as raw from (${recordsSql(files)}) as r
        semi join ${need} as k on r._f = k._f and r._lake_line = k._lake_line
      ) as r
      where ${s}._reason is not null and ${s}._raw is null and r._f = ${s}._f and r._lake_line = ${s}._lake_line`);
  }
}

/** rescue: unknown keys of each record go to `_rescued_data` as a JSON object. */
export async function rescue(tx: Adapter, stage: string): Promise<void> {
  await tx.execute(`update ${stage} set _rescued_data = to_json(map_from_entries(list_filter(map_entries(from_json(_payload, ${MAP})), lambda e: list_contains(_unknown, e.key))))
    where _reason is null and _unknown is not null and len(_unknown) > 0`);
}
