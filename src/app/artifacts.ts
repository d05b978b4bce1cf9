/** The files lake writes under target/: compiled SQL, manifest.json, run_results.json. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CompiledNode, CompiledProject, NodeId } from '../core/types.js';
import { modelUniqueId, sourceRelationSql, versionFields } from '../core/types.js';
import type { Dag } from '../graph/index.js';
import type { NodeResult } from '../reporter/types.js';
import { VERSION } from './version.js';
import { writeCompiledFiles } from './compiled-files.js';
import { projectTestKeys } from '../dq/test-keys.js';

export function compiledPathOf(targetDir: string, id: NodeId): string {
  const [schema, ...rest] = id.split('.');
  return path.join(targetDir, 'compiled', schema!, `${rest.join('.')}.sql`);
}

/**
 * Write target/compiled/<schema>/<name>.sql for `ids`, skipping files whose content is unchanged
 * since the last write (compiler/compiled-files.ts: the index and its crash guarantees).
 */
export function writeCompiled(targetDir: string, compiled: CompiledProject, ids: Iterable<NodeId>): void {
  const nodes: CompiledNode[] = [];
  for (const id of ids) {
    const n = compiled.nodes.get(id);
    if (n) nodes.push(n);
  }
  writeCompiledFiles(targetDir, nodes);
}

export interface Manifest {
  metadata: Record<string, unknown>;
  nodes: Record<string, Record<string, unknown>>;
  sources: Record<string, Record<string, unknown>>;
  macros: Record<string, unknown>;
  parent_map: Record<string, string[]>;
  child_map: Record<string, string[]>;
  column_lineage: Record<string, Record<string, { relation: string; column: string }[]>>;
  /** dbt's docs blocks (`__overview__` is the docs site's front page). */
  docs: Record<string, { name: string; block_contents: string }>;
  /** A key per test declaration (dq/test-keys.ts), for `state:` selection of tests. */
  test_checksums: string[];
}

export function buildManifest(compiled: CompiledProject, dag: Dag, macros: ReadonlyMap<string, { path: string; line: number; checksum?: string }>, lineage: Manifest['column_lineage'] = {}): Manifest {
  const p = compiled.project;
  const nodes: Manifest['nodes'] = {};
  const colsOf = (docs: readonly { name: string; description?: string; dataType?: string; meta?: Readonly<Record<string, unknown>>; constraints?: readonly unknown[] }[]) =>
    Object.fromEntries(docs.map((c) => [c.name, { name: c.name, description: c.description ?? '', data_type: c.dataType ?? null, meta: c.meta ?? {}, constraints: c.constraints ?? [] }]));
  const testsOf = (node: { tests: readonly { name: string; args: unknown; config: unknown }[]; columns: readonly { name: string; tests: readonly { name: string; args: unknown; config: unknown }[] }[] }) => [
    ...node.tests.map((t) => ({ name: t.name, column: null, args: t.args, config: t.config })),
    ...node.columns.flatMap((c) => c.tests.map((t) => ({ name: t.name, column: c.name, args: t.args, config: t.config }))),
  ];
  for (const [id, n] of compiled.nodes) {
    // A version of a versioned dbt model: dbt's unique_id, its model's name, version and latest_version.
    const { name: model, ...version } = versionFields(n.node);
    nodes[id] = {
      id, resource_type: n.node.resourceType ?? 'model', name: n.node.name, schema: n.relation.schema, alias: n.relation.name, path: n.node.path,
      unique_id: modelUniqueId(n.node.package ?? p.name, n.node), ...(n.node.package ? { package_name: n.node.package } : {}), ...(model ? { model_name: model, ...version } : {}),
      ...(n.node.deprecationDate ? { deprecation_date: n.node.deprecationDate } : {}),
      raw_sql: n.node.rawSql, compiled_sql: n.sql, config: n.config, description: n.node.description ?? '',
      tags: n.config.tags, meta: n.config.meta ?? {}, columns: colsOf(n.node.columns),
      depends_on: { nodes: n.dependsOn.nodes, sources: n.dependsOn.sources, macros: n.dependsOn.macros },
      checksum: n.checksum, tests: testsOf(n.node),
    };
  }
  for (const s of p.seeds.values()) {
    nodes[s.id] = {
      id: s.id, resource_type: 'seed', name: s.name, schema: s.schema, alias: s.alias ?? s.name, path: s.path, raw_sql: '', compiled_sql: '',
      config: { materialized: 'seed', column_types: s.columnTypes, tags: s.tags, ...(s.eventTime ? { event_time: s.eventTime } : {}) }, description: s.description ?? '', tags: s.tags,
      columns: colsOf(s.columns), depends_on: { nodes: [], sources: [], macros: [] }, checksum: s.checksum, tests: testsOf(s),
    };
  }
  const sources: Manifest['sources'] = {};
  for (const s of p.sources.values()) {
    sources[s.id] = {
      id: s.id, resource_type: 'source', source_name: s.sourceName, name: s.name, description: s.description ?? '', path: s.path,
      columns: colsOf(s.columns), tags: s.tags, tests: testsOf(s),
      landing: s.landing ? { dir: s.landing.relDir, format: s.landing.format, files: s.landing.files, schema_evolution: s.landing.schemaEvolution, bad_records: s.landing.badRecords } : null,
      relation: s.landing ? null : sourceRelationSql(s),
    };
  }
  const parent_map: Record<string, string[]> = {};
  const child_map: Record<string, string[]> = {};
  for (const id of dag.ids()) {
    parent_map[id] = [...dag.parents(id)];
    child_map[id] = [...dag.children(id)];
  }
  return {
    // target_path: the database these nodes are built in (what --defer reads unbuilt parents from).
    metadata: { lake_version: VERSION, generated_at: new Date().toISOString(), project: p.name, flavor: p.flavor, target: p.target.name, target_path: p.target.path },
    nodes, sources, macros: Object.fromEntries([...macros].map(([name, m]) => [name, { name, path: m.path, line: m.line, checksum: m.checksum }])),
    parent_map, child_map, column_lineage: lineage,
    docs: Object.fromEntries([...(p.docBlocks ?? [])].map(([name, text]) => [name, { name, block_contents: text }])),
    test_checksums: projectTestKeys(p, [...compiled.nodes].map(([id, n]) => [id, n.node] as const)),
  };
}

export function writeJson(file: string, data: unknown, compact = false, skipUnchanged = false): void {
  const text = compact ? JSON.stringify(data) : JSON.stringify(data, null, 1);
  if (skipUnchanged) {
    // Same bytes already there (a re-run of an unchanged project): leave the file alone.
    try {
      if (fs.statSync(file).size === Buffer.byteLength(text) && fs.readFileSync(file, 'utf8') === text) return;
    } catch { /* missing: write it */ }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * `writeJson` (compact, atomically) with the file written on libuv's pool: the caller goes on
 * while the kernel copies a big manifest (12 MB for 10,000 models, ~40 ms on this thread).
 */
export async function writeJsonInBackground(file: string, data: unknown): Promise<void> {
  const bytes = Buffer.from(JSON.stringify(data));
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.promises.writeFile(tmp, bytes);
  await fs.promises.rename(tmp, file);
}

export function runResultsJson(command: string, runId: string, startedAt: Date, results: readonly NodeResult[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const finished = new Date();
  return {
    run_id: runId, command, started_at: startedAt.toISOString(), finished_at: finished.toISOString(),
    elapsed_ms: finished.getTime() - startedAt.getTime(),
    status: results.some((r) => r.status === 'error') ? 'error' : 'success',
    results: results.map((r) => ({
      id: r.id, status: r.status, materialized: r.materialized, rows: r.rows ?? null, started_at: r.startedAt, duration_ms: Math.round(r.durationMs * 10) / 10,
      message: r.message ?? null, error: r.error ?? null, ...(r.stats ?? {}),
    })),
    ...extra,
  };
}

/** What is left at the end (files still waiting), not a count of what each batch did. */
const LAST_WINS = new Set(['started_at', 'pending_files', 'waiting_files', 'stream_watermarks']);

/** Figures of two batches of a node: counts summed (in nested per-source objects too), the rest the later's. */
function addUp(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a, ...b };
  for (const [k, v] of Object.entries(b)) {
    if (LAST_WINS.has(k)) continue;
    const w = a[k];
    if (typeof v === 'number' && typeof w === 'number') out[k] = w + v;
    else if (v && w && typeof v === 'object' && typeof w === 'object' && !Array.isArray(v) && !Array.isArray(w)) out[k] = addUp(w as Record<string, unknown>, v as Record<string, unknown>);
  }
  return out;
}

/**
 * One run_results.json for an invocation that ran in several micro-batches (each wrote its own):
 * every node once, its rows and time summed over the batches, an error in any batch kept; the
 * tests of every batch (the last result of each); the first batch's run id and start.
 */
export function mergeRunResults(parts: readonly Record<string, unknown>[]): Record<string, unknown> {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const nodes = new Map<string, Record<string, unknown>>();
  const tests = new Map<string, unknown>();
  for (const part of parts) {
    for (const r of (part.results ?? []) as Record<string, unknown>[]) {
      const id = String(r.id);
      const was = nodes.get(id);
      if (!was) {
        nodes.set(id, { ...r });
        continue;
      }
      const sum: Record<string, unknown> = { ...addUp(was, r), started_at: was.started_at };
      // A table or view is rebuilt whole by each batch: its rows are the last batch's.
      if (r.materialized !== 'incremental' && r.rows !== null) sum.rows = r.rows;
      if (r.rows === null && typeof was.rows === 'number') sum.rows = was.rows;
      if (was.status === 'error') Object.assign(sum, { status: 'error', message: was.message, error: was.error });
      nodes.set(id, sum);
    }
    for (const t of (part.tests ?? []) as Record<string, unknown>[]) tests.set(String(t.id), t);
  }
  const results = [...nodes.values()];
  const finished = String(last.finished_at);
  const failed = parts.some((p) => p.status === 'error');
  return {
    ...last,
    run_id: first.run_id, started_at: first.started_at, finished_at: finished,
    elapsed_ms: new Date(finished).getTime() - new Date(String(first.started_at)).getTime(),
    status: failed ? 'error' : parts.some((p) => p.status === 'cancelled') ? 'cancelled' : 'success',
    // The command line's selection (later batches select what the first left pending).
    args: first.args, batch_id: first.batch_id, micro_batches: parts.length,
    results,
    ...(tests.size || first.tests !== undefined ? { tests: [...tests.values()] } : {}),
  };
}
