/**
 * Partition columns of landing files, as Auto Loader reads them (cloudFiles.partitionColumns):
 * Hive-style `key=value` folders below the written-out part of a source's glob, per file of a
 * batch, checked against declared types, and the source view's expression of each column.
 */
import * as path from 'node:path';
import type { Adapter } from '../adapter/types.js';
import type { Column, LandingSpec, SourceNode } from '../core/types.js';
import { fixedFolders, type LandingFile } from './files.js';
import { lit, listLit, qi } from './sql.js';

/** Hive's folder value for NULL. */
const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/**
 * The Hive-style `key=value` folders of a file below the written-out folders of the glob (the
 * partition columns Auto Loader reads off paths), in path order; values decoded as Hive escapes
 * them (`%2F`), Hive's default partition as null.
 */
export function hivePartitions(spec: LandingSpec, abs: string): [string, string | null][] {
  const folders = path.relative(spec.dir, abs).split(path.sep).slice(fixedFolders(spec.files), -1);
  const out: [string, string | null][] = [];
  for (const f of folders) {
    const eq = f.indexOf('=');
    if (eq <= 0) continue;
    let value = f.slice(eq + 1);
    try {
      value = decodeURIComponent(value);
    } catch { /* not escaped: as written */ }
    out.push([f.slice(0, eq), value === HIVE_NULL ? null : value]);
  }
  return out;
}

export interface Partitions {
  /** Keys of the batch's folders (or partition_columns), by their first spelling; matched whatever their case, as Spark does. */
  readonly keys: { readonly name: string; readonly lower: string; readonly type?: string }[];
  /** Per file of the batch: lower-cased key → value (null: Hive's default partition). */
  readonly perFile: Map<string, string | null>[];
  /** The keys are the source's `partition_columns` (columns of every batch, NULL without their folder). */
  readonly named: boolean;
}

/**
 * The partition columns of a batch (Auto Loader's, from Hive-style folders: hivePartitions). A
 * folder value that does not fit the column's declared type stops the build, naming the file (as
 * Spark validates partition values): it is the landing layout that is wrong, not a record.
 */
export async function partitionsOf(w: Adapter, src: SourceNode, batch: readonly LandingFile[], fail: (message: string, hint: string, file?: string) => Error): Promise<Partitions> {
  const spec = src.landing!;
  const folders = batch.map((f) => hivePartitions(spec, f.abs));
  const perFile = folders.map((pairs) => new Map(pairs.map(([k, v]) => [k.toLowerCase(), v] as const)));
  const declared = new Map(Object.entries(spec.columns ?? {}).map(([k, t]) => [k.toLowerCase(), t]));
  const names = new Map<string, string>();
  if (spec.partitionColumns) for (const k of spec.partitionColumns) names.set(k.toLowerCase(), k);
  else for (const pairs of folders) for (const [k] of pairs) if (!names.has(k.toLowerCase())) names.set(k.toLowerCase(), k);
  const keys = [...names].map(([lower, name]) => ({ name, lower, ...(declared.has(lower) ? { type: declared.get(lower)! } : {}) }));
  for (const k of keys) {
    if (!k.type) continue;
    const values = [...new Set(perFile.map((m) => m.get(k.lower)).filter((v): v is string => typeof v === 'string'))];
    if (!values.length) continue;
    const [bad] = await w.query<{ v: string }>(`select v from (select unnest(${listLit(values)}) as v) where try_cast(v as ${k.type}) is null limit 1`);
    if (bad) {
      const file = batch[perFile.findIndex((m) => m.get(k.lower) === bad.v)]?.rel;
      throw fail(`the folder ${k.name}=${bad.v} of ${file} is not a valid ${k.type}, the declared type of ${k.name} (nothing was changed)`,
        `move the file to a folder whose value is a ${k.type}, or declare ${k.name} as VARCHAR`, file);
    }
  }
  return { keys, perFile, named: spec.partitionColumns !== undefined };
}

/**
 * The view's expression of each partition column, per file through `_f`: where a file's path has
 * the folder, its value (NULL for Hive's default partition), else the records' own field of that
 * name if they have one (a column of `columns`: `over`), else NULL; a key the records lack is added
 * after their columns (`added`, with the column the consumer's schema keeps).
 */
export function partitionColumns(p: Partitions, columns: readonly Column[], reserved: ReadonlySet<string>): { over: Map<string, string>; added: { sql: string; column: Column }[] } {
  const over = new Map<string, string>();
  const added: { sql: string; column: Column }[] = [];
  for (const k of p.keys) {
    if (reserved.has(k.lower)) continue;
    const has = p.perFile.map((m) => m.has(k.lower));
    if (!has.some(Boolean) && !p.named) continue;
    const values = has.some(Boolean) ? `([${p.perFile.map((m) => { const v = m.get(k.lower); return v === undefined || v === null ? 'null' : lit(v); }).join(', ')}]::VARCHAR[])[_f]` : 'null::VARCHAR';
    const col = columns.find((c) => c.name.toLowerCase() === k.lower);
    const type = col?.type ?? k.type ?? 'VARCHAR';
    // A declared type was checked (partitionsOf); a type the records gave the column was not: no fit, no value.
    const typed = type.toUpperCase() === 'VARCHAR' ? values : `${k.type ? 'cast' : 'try_cast'}(${values} as ${type})`;
    if (col) {
      const folder = has.every(Boolean) ? typed : `case when ([${has.join(', ')}])[_f] then ${typed} else ${qi(col.name)} end`;
      over.set(col.name, `${folder} as ${qi(col.name)}`);
    } else {
      added.push({ sql: `${typed} as ${qi(k.name)}`, column: { name: k.name, type } });
    }
  }
  return { over, added };
}
