/**
 * The JSON files the docs site is built from (target/manifest.json, catalog.json, run_results.json),
 * typed loosely because they come from disk and may be written by an older or newer lake. Also reads
 * them from a target folder with errors that name the file and line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LakeError } from '../errors/index.js';

/** A column as documented in the manifest (lake writes null for absent values). */
export interface ManifestColumn {
  readonly name: string;
  readonly description?: string | null;
  readonly data_type?: string | null;
}

/** A data test declared in YAML, as kept in the manifest. `id` is optional (matches run results). */
export interface ManifestTest {
  readonly id?: string;
  readonly name: string;
  readonly column?: string | null;
  readonly args?: Readonly<Record<string, unknown>>;
  readonly config?: Readonly<Record<string, unknown>>;
}

export interface ManifestNode {
  readonly id: string;
  readonly resource_type: 'model' | 'seed' | string;
  readonly name: string;
  readonly schema?: string;
  readonly path?: string;
  readonly raw_sql?: string;
  readonly compiled_sql?: string;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly columns?: Readonly<Record<string, ManifestColumn>>;
  readonly depends_on?: { readonly nodes?: readonly string[]; readonly sources?: readonly string[]; readonly macros?: readonly string[] };
  readonly checksum?: string;
  readonly tests?: readonly ManifestTest[];
}

export interface ManifestLanding {
  readonly dir?: string;
  readonly format?: string;
  readonly files?: string;
  readonly schema_evolution?: string;
  readonly bad_records?: string;
}

export interface ManifestSource {
  readonly id: string;
  readonly resource_type?: 'source' | string;
  readonly source_name: string;
  readonly name: string;
  readonly description?: string;
  readonly path?: string;
  readonly columns?: Readonly<Record<string, ManifestColumn>>;
  readonly landing?: ManifestLanding | null;
  readonly relation?: string | null;
  readonly tests?: readonly ManifestTest[];
  readonly tags?: readonly string[];
}

export interface ColumnLineageRef {
  readonly relation: string;
  readonly column: string;
}

export interface Manifest {
  readonly metadata?: { readonly lake_version?: string; readonly generated_at?: string; readonly project?: string; readonly flavor?: string };
  readonly nodes: Readonly<Record<string, ManifestNode>>;
  readonly sources?: Readonly<Record<string, ManifestSource>>;
  readonly macros?: Readonly<Record<string, { readonly name: string; readonly path?: string; readonly line?: number }>>;
  readonly parent_map?: Readonly<Record<string, readonly string[]>>;
  readonly child_map?: Readonly<Record<string, readonly string[]>>;
  /** model id -> column -> the upstream columns it is computed from. */
  readonly column_lineage?: Readonly<Record<string, Readonly<Record<string, readonly ColumnLineageRef[]>>>>;
  readonly docs?: Readonly<Record<string, { readonly name?: string; readonly block_contents?: string }>>;
}

export interface ExpectationResult {
  readonly name: string;
  readonly passed?: number;
  readonly failed?: number;
  readonly action?: string;
}

export interface NodeResult {
  readonly id: string;
  readonly status: string;
  readonly rows?: number | null;
  readonly started_at?: string;
  readonly duration_ms?: number;
  readonly message?: string | null;
  readonly error?: string | null;
  readonly bad_records?: number;
  readonly files?: number;
  readonly expectations?: readonly ExpectationResult[];
}

export interface TestResult {
  readonly id: string;
  readonly node?: string;
  /** The column a column test is declared on (run_results.json writes it; null for other tests). */
  readonly column?: string | null;
  readonly status: string;
  readonly failures?: number | null;
  readonly duration_ms?: number;
  readonly message?: string | null;
}

export interface RunResults {
  readonly run_id?: string;
  readonly command?: string;
  readonly started_at?: string;
  readonly finished_at?: string;
  readonly elapsed_ms?: number;
  readonly status?: string;
  readonly results?: readonly NodeResult[];
  readonly tests?: readonly TestResult[];
}

export interface Catalog {
  readonly nodes?: Readonly<Record<string, { readonly columns?: readonly { readonly name: string; readonly type: string }[]; readonly rows?: number }>>;
  readonly sources?: Readonly<Record<string, { readonly files?: number; readonly rows?: number; readonly bad_records?: number; readonly columns?: readonly { readonly name: string; readonly type: string }[] }>>;
}

/**
 * Test and expectation results newer than the last run (e.g. from a later `lake test`): they win
 * over the ones in run_results. Same shapes as in run_results.json.
 */
export interface QualityResults {
  readonly tests?: readonly TestResult[];
  /** node id -> expectation results. */
  readonly expectations?: Readonly<Record<string, readonly ExpectationResult[]>>;
}

export interface DocsInputs {
  readonly manifest: Manifest;
  readonly catalog?: Catalog;
  readonly runResults?: RunResults;
}

/**
 * Read manifest.json (required), catalog.json and run_results.json (optional) from a target folder.
 * Throws a LakeError naming the file (and line, for bad JSON) with a hint.
 */
export function readDocsInputs(targetDir: string): DocsInputs {
  const manifestPath = path.join(targetDir, 'manifest.json');
  if (!fs.existsSync(manifestPath)) {
    throw new LakeError('usage', {
      code: 'LAKE-U050',
      severity: 'error',
      message: `no manifest at ${manifestPath}`,
      file: manifestPath,
      hint: 'run `lake compile` (or `lake run`) first; it writes target/manifest.json',
    });
  }
  const manifest = readJson(manifestPath) as Manifest;
  if (!manifest || typeof manifest !== 'object' || typeof manifest.nodes !== 'object' || manifest.nodes === null) {
    throw new LakeError('usage', {
      code: 'LAKE-U051',
      severity: 'error',
      message: 'manifest has no "nodes" object',
      file: manifestPath,
      hint: 'regenerate it with `lake compile`',
    });
  }
  const catalogPath = path.join(targetDir, 'catalog.json');
  const runPath = path.join(targetDir, 'run_results.json');
  return {
    manifest,
    catalog: fs.existsSync(catalogPath) ? (readJson(catalogPath) as Catalog) : undefined,
    runResults: fs.existsSync(runPath) ? (readJson(runPath) as RunResults) : undefined,
  };
}

function readJson(file: string): unknown {
  const text = fs.readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const msg = (err as Error).message;
    const { line, col } = jsonErrorPosition(text, msg);
    throw new LakeError('usage', {
      code: 'LAKE-U052',
      severity: 'error',
      message: `invalid JSON: ${msg}`,
      file,
      line,
      col,
      hint: 'the file is written by lake; regenerate it (`lake compile` / `lake run` / `lake docs generate`)',
    });
  }
}

/** Line and column of a JSON.parse error, from whichever form V8's message takes. */
function jsonErrorPosition(text: string, msg: string): { line?: number; col?: number } {
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) return { line: Number(lc[1]), col: Number(lc[2]) };
  let pos: number | undefined;
  const at = /position (\d+)/.exec(msg);
  if (at) pos = Number(at[1]);
  else {
    // `Unexpected token ',', ..."esults": [,]\n}" is not valid JSON`: find the quoted excerpt
    const ex = /Unexpected token '([\s\S])', (?:\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON/.exec(msg);
    if (ex) {
      const start = text.indexOf(ex[2]!);
      if (start >= 0) pos = start + Math.max(0, ex[2]!.indexOf(ex[1]!));
    }
  }
  if (pos === undefined) return {};
  const before = text.slice(0, pos);
  return { line: before.split('\n').length, col: pos - before.lastIndexOf('\n') };
}
