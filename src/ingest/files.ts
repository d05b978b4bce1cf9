/**
 * Landing-zone file discovery: DuckDB's glob() lists the files, Node's stat gives size and mtime
 * (to the microsecond, which the ledger compares), files too young to be complete are held back,
 * and the rest are ordered oldest first — the order micro-batches take them in. Gzip-compressed
 * files are decompressed for the readers (`decompressed`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Adapter } from '../adapter/types.js';
import type { LandingSpec } from '../core/types.js';
import { closest } from '../errors/index.js';
import { lit, mtimeMicros } from './sql.js';

export interface LandingFile {
  readonly abs: string;
  /** Relative to the project root, forward slashes (what `_lake_file` and the ledger hold). */
  readonly rel: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mtimeUs: number;
}

export interface Discovery {
  /** Complete files, oldest first (mtime, then path). */
  readonly files: LandingFile[];
  /** Files skipped because they are younger than `min_file_age`. */
  readonly young: number;
  readonly missingDir: boolean;
}

/**
 * Names writers use for files in progress or metadata (Spark's rule: leading `.`, or `_` without an `=`), for the
 * file and for every folder between the landing folder and it: a job writing under
 * `_temporary/` or `.staging/` and moving its files on commit would otherwise be read twice.
 */
const HIDDEN = /^[._]/;

function hiddenUnder(dir: string, abs: string, fixed: number): boolean {
  // As Spark: `_x=1/` is a partition folder, not a hidden one.
  return path.relative(dir, abs).split(path.sep).slice(fixed).some((part) => part.startsWith('.') || (HIDDEN.test(part) && !part.includes('=')));
}

/** How many leading folders of a `files` glob are written out (no wildcard): a folder named there is meant. */
export function fixedFolders(files: string): number {
  const parts = files.replace(/^\.?\//, '').split('/').slice(0, -1);
  const i = parts.findIndex((p) => /[*?[\]{}]/.test(p));
  return i < 0 ? parts.length : i;
}

export async function discover(db: Adapter, root: string, spec: LandingSpec, now = Date.now()): Promise<Discovery> {
  if (!fs.existsSync(spec.dir)) return { files: [], young: 0, missingDir: true };
  const pattern = `${spec.dir.split(path.sep).join('/')}/${spec.files.replace(/^\.?\//, '')}`;
  const rows = await db.query<{ file: string }>(`select file from glob(${lit(pattern)})`);
  const landingDir = path.resolve(spec.dir);
  const fixed = fixedFolders(spec.files);
  const files: LandingFile[] = [];
  let young = 0;
  for (const { file } of rows) {
    const abs = path.resolve(file);
    if (hiddenUnder(landingDir, abs, fixed)) continue;
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      continue; // removed between listing and stat
    }
    if (!st.isFile()) continue;
    if (spec.minFileAgeMs > 0 && now - st.mtimeMs < spec.minFileAgeMs) {
      young++;
      continue;
    }
    files.push({ abs, rel: path.relative(root, abs).split(path.sep).join('/'), size: st.size, mtimeMs: st.mtimeMs, mtimeUs: mtimeMicros(st.mtimeMs) });
  }
  files.sort((a, b) => a.mtimeUs - b.mtimeUs || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, young, missingDir: false };
}

/**
 * Why a landing folder that exists gave no file, when it is likely a mistake rather than an empty
 * zone: the folder the glob writes out (`event/` of `event/*.jsonl`) does not exist, or it holds
 * files the glob does not match (dated subfolders, another extension). Undefined otherwise.
 */
export function whyNoFiles(root: string, spec: LandingSpec): string | undefined {
  const fixed = spec.files.replace(/^\.?\//, '').split('/').slice(0, fixedFolders(spec.files));
  const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
  // Walk down the written-out folders: the first missing one is said, with a sibling it may mean.
  let dir = spec.dir;
  for (const [i, part] of fixed.entries()) {
    const next = path.join(dir, part);
    if (!fs.existsSync(next)) {
      const siblings = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
      const near = closest(part, siblings, 1)[0];
      const meant = near === undefined ? '' : `: did you mean files: '${[...fixed.slice(0, i), near, ...spec.files.replace(/^\.?\//, '').split('/').slice(i + 1)].join('/')}'?`;
      return `the folder ${rel(next)} that files: '${spec.files}' names does not exist (yet)${meant}`;
    }
    dir = next;
  }
  // Under the folder the glob names (`events/` of `events/*`): another table's files are not these.
  const other = firstFileUnder(dir);
  return other ? `no file in ${spec.relDir} matches files: '${spec.files}' (it holds ${rel(other)}): set files: to a glob that matches them, such as '**/*'` : undefined;
}

/** A file somewhere under `dir` that discovery would not skip as hidden, or undefined (for messages). */
function firstFileUnder(dir: string): string | undefined {
  try {
    for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      const parent = (e as unknown as { parentPath?: string; path?: string }).parentPath ?? (e as unknown as { path: string }).path;
      const abs = path.join(parent, e.name);
      if (e.isFile() && !hiddenUnder(dir, abs, 0)) return abs;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Is the file gzip-compressed (by its name, as Auto Loader and DuckDB tell)? */
export function isGzip(f: Pick<LandingFile, 'rel'>): boolean {
  return /\.(gz|gzip)$/i.test(f.rel);
}

export interface Decompressed {
  /** The batch as the readers read it (same order, same `rel`; a compressed file's `abs` and `size` are its decompressed copy's). */
  readonly files: LandingFile[];
  /** Compressed files cut short (a writer still at it, an upload in progress): left for a later run. */
  readonly incomplete: LandingFile[];
}

/**
 * The batch as the readers read it: a gzip-compressed file (`events.jsonl.gz`, as Kafka Connect's
 * S3 sink writes them) is decompressed into a scratch folder (made on first need; `dirs` gets it,
 * for the caller to remove). A file whose gzip stream is cut short is not read now (`incomplete`):
 * like a file still being written, it is read once it is whole. A file that is no gzip stream at
 * all is read as the text it is. A stream that is corrupt (bad data or checksum, junk after it) is
 * an error naming the file, as Spark's is: skipping it would lose its records, reading the
 * undamaged part would record the file as read.
 */
export async function decompressed(files: readonly LandingFile[], dirs: string[]): Promise<Decompressed> {
  if (!files.some(isGzip)) return { files: [...files], incomplete: [] };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-gunzip-'));
  dirs.push(dir);
  const out: LandingFile[] = [];
  const incomplete: LandingFile[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    if (!isGzip(f)) {
      out.push(f);
      continue;
    }
    // Named without .gz: a reader must not decompress it again (DuckDB's CSV reader goes by the name).
    const tmp = path.join(dir, `${i}-${path.basename(f.abs).replace(/\.(gz|gzip)$/i, '')}`);
    if (f.size === 0) {
      // An empty file holds no records (and no gzip stream to wait for).
      fs.writeFileSync(tmp, '');
      out.push({ ...f, abs: tmp });
      continue;
    }
    try {
      await pipeline(fs.createReadStream(f.abs), zlib.createGunzip(), fs.createWriteStream(tmp));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'Z_BUF_ERROR') {
        incomplete.push(f);
        continue;
      }
      if (!startsAsGzip(f.abs)) {
        fs.copyFileSync(f.abs, tmp);
      } else {
        throw Object.assign(new Error(`${f.rel} is a damaged gzip file: ${(e as Error).message}`), { file: f.rel });
      }
    }
    out.push({ ...f, abs: tmp, size: fs.statSync(tmp).size });
  }
  return { files: out, incomplete };
}

/** The gzip magic number (1f 8b) at the start of the file. */
function startsAsGzip(abs: string): boolean {
  const fd = fs.openSync(abs, 'r');
  try {
    const b = Buffer.alloc(2);
    return fs.readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}
