/**
 * Turns the manifest, catalog and run results into the one compact object the docs page embeds:
 * nodes with everything the side panel shows, node edges, column-lineage edges, the last run's
 * timeline and a precomputed layout. Pure: no files, no database.
 */
import type {
  Catalog,
  ExpectationResult,
  Manifest,
  ManifestColumn,
  ManifestTest,
  NodeResult,
  QualityResults,
  RunResults,
  TestResult,
} from './inputs.js';
import { layoutGraph, type GraphLayout } from './layout.js';
import { markdownHtml } from './markdown.js';

/** The medallion layer a node is drawn in; `seed` for seeds outside a layer (inputs, beside the sources, in their own colour). */
export type Layer = 'source' | 'seed' | 'bronze' | 'silver' | 'gold' | 'other';
export type NodeKind = 'model' | 'seed' | 'source';

export interface DocsColumn {
  readonly name: string;
  /** Type from the database (catalog), else the documented data_type. */
  readonly type?: string;
  readonly description?: string;
  /** The description's Markdown as HTML (safe to insert: see markdown.ts). */
  readonly descriptionHtml?: string;
  /** Names of tests declared on this column. */
  readonly tests?: readonly string[];
  /** Documented in YAML but not found in the database. */
  readonly missing?: boolean;
}

export interface DocsTest {
  readonly name: string;
  readonly id?: string;
  readonly column?: string;
  readonly args?: Readonly<Record<string, unknown>>;
  /** pass | fail | warn | error; absent when the test has not run. */
  readonly status?: string;
  readonly failures?: number;
  readonly durationMs?: number;
  readonly message?: string;
}

export interface DocsExpectation {
  readonly name: string;
  readonly condition?: string;
  readonly passed?: number;
  readonly failed?: number;
  readonly action?: string;
}

export interface DocsRun {
  readonly status: string;
  readonly rows?: number;
  readonly durationMs?: number;
  /** Milliseconds after the run started. */
  readonly offsetMs?: number;
  readonly message?: string;
  readonly error?: string;
  readonly files?: number;
  readonly badRecords?: number;
}

export interface DocsLanding {
  readonly dir?: string;
  readonly format?: string;
  readonly files?: string;
  readonly schemaEvolution?: string;
  readonly badRecords?: string;
  /** Landing-zone files ingested so far (catalog). */
  readonly fileCount?: number;
  readonly rows?: number;
  readonly badRecordCount?: number;
}

export interface DocsNode {
  readonly id: string;
  readonly kind: NodeKind;
  readonly name: string;
  /** What the graph shows: `name` for models and seeds, `source.table` for sources. */
  readonly label: string;
  readonly layer: Layer;
  readonly schema?: string;
  readonly path?: string;
  readonly description?: string;
  /** The description's Markdown as HTML (safe to insert: see markdown.ts). */
  readonly descriptionHtml?: string;
  readonly materialized?: string;
  readonly tags?: readonly string[];
  readonly config?: Readonly<Record<string, unknown>>;
  readonly rawSql?: string;
  readonly compiledSql?: string;
  readonly relation?: string;
  readonly macros?: readonly string[];
  readonly columns: readonly DocsColumn[];
  readonly tests?: readonly DocsTest[];
  readonly expectations?: readonly DocsExpectation[];
  readonly run?: DocsRun;
  /** Rows in the relation now (catalog). */
  readonly rows?: number;
  readonly landing?: DocsLanding;
}

/** One bar of the run timeline. `node` is -1 when the result names no known node. */
export interface DocsTimelineBar {
  readonly node: number;
  readonly id: string;
  readonly offsetMs: number;
  readonly durationMs: number;
  readonly status: string;
  readonly rows?: number;
}

export interface DocsRunSummary {
  readonly runId?: string;
  readonly command?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly elapsedMs: number;
  readonly status?: string;
  /** Sorted by start offset. */
  readonly bars: readonly DocsTimelineBar[];
  readonly tests: { readonly pass: number; readonly fail: number; readonly warn: number; readonly error: number };
}

/** `[upstreamNode, upstreamColumn, downstreamNode, downstreamColumn]`, node as index into `nodes`. */
export type ColumnEdge = readonly [number, string, number, string];

export interface DocsData {
  readonly version: 1;
  readonly project: string;
  /** The `{% docs __overview__ %}` block as HTML: the site's front page. */
  readonly overview?: string;
  readonly generatedAt: string;
  readonly lakeVersion?: string;
  readonly nodes: readonly DocsNode[];
  /** `[parent, child]` as indexes into `nodes`. */
  readonly edges: readonly (readonly [number, number])[];
  readonly columnEdges: readonly ColumnEdge[];
  /** Column-lineage references that name no node in the manifest (kept out of columnEdges). */
  readonly unresolvedLineage: number;
  readonly layout: GraphLayout;
  readonly run?: DocsRunSummary;
}

export interface BuildDocsOptions {
  /** Fixed timestamp (tests); defaults to now. */
  readonly generatedAt?: string;
}

const NODE_H = 40;
/** Width of one character of a bold 12.5px label, generous for wide fallback fonts. */
const CHAR_W = 8.4;

/**
 * Build the docs data. `quality` holds test/expectation results newer than `runResults` (a later
 * `lake test`); they win over the ones in the run results.
 */
export function buildDocsData(
  manifest: Manifest,
  catalog?: Catalog,
  runResults?: RunResults,
  quality?: QualityResults,
  options: BuildDocsOptions = {},
): DocsData {
  const results = new Map<string, NodeResult>();
  for (const r of runResults?.results ?? []) results.set(r.id, r);
  const runStart = runStartMs(runResults);

  const testResults = new Map<string, TestResult[]>();
  const addTests = (list: readonly TestResult[] | undefined, override: boolean): void => {
    if (!list) return;
    const seen = new Set<string>();
    for (const t of list) {
      const key = t.node ?? '';
      if (override && !seen.has(key)) {
        // a newer test run replaces the older results of the same node
        testResults.set(key, []);
        seen.add(key);
      }
      const arr = testResults.get(key) ?? [];
      arr.push(t);
      testResults.set(key, arr);
    }
  };
  addTests(runResults?.tests, false);
  addTests(quality?.tests, true);

  const nodes: DocsNode[] = [];
  const index = new Map<string, number>();
  const push = (n: DocsNode): void => {
    if (index.has(n.id)) return;
    index.set(n.id, nodes.length);
    nodes.push(n);
  };

  const sources = Object.values(manifest.sources ?? {}).sort((a, b) => cmp(a.id, b.id));
  for (const s of sources) {
    const cat = catalog?.sources?.[s.id];
    const landing = s.landing
      ? compact<DocsLanding>({
          dir: s.landing.dir,
          format: s.landing.format,
          files: s.landing.files,
          schemaEvolution: s.landing.schema_evolution,
          badRecords: s.landing.bad_records,
          fileCount: cat?.files,
          rows: cat?.rows,
          badRecordCount: cat?.bad_records,
        })
      : cat && (cat.files !== undefined || cat.rows !== undefined)
        ? compact<DocsLanding>({ fileCount: cat.files, rows: cat.rows, badRecordCount: cat.bad_records })
        : undefined;
    push(
      compact<DocsNode>({
        id: s.id,
        kind: 'source',
        name: s.name,
        label: `${s.source_name}.${s.name}`,
        layer: 'source',
        schema: s.source_name,
        path: s.path,
        description: s.description || undefined,
        descriptionHtml: markdownHtml(s.description),
        tags: s.tags && s.tags.length ? s.tags : undefined,
        relation: s.relation ?? undefined,
        columns: mergeColumns(s.columns, cat?.columns, s.tests),
        tests: nodeTests(s.id, s.tests, testResults.get(s.id)),
        rows: cat?.rows,
        landing,
        run: nodeRun(results.get(s.id), runStart),
      }),
    );
  }

  const models = Object.values(manifest.nodes).sort((a, b) => cmp(layerRank(a), layerRank(b)) || cmp(a.id, b.id));
  for (const m of models) {
    // dbt's `docs: {show: false}`: left out of the site.
    if ((m.config?.docs as { show?: unknown } | undefined)?.show === false) continue;
    const kind: NodeKind = m.resource_type === 'seed' ? 'seed' : 'model';
    const cat = catalog?.nodes?.[m.id];
    const config = m.config ?? {};
    const r = results.get(m.id);
    const exp = quality?.expectations?.[m.id] ?? r?.expectations;
    push(
      compact<DocsNode>({
        id: m.id,
        kind,
        name: m.name,
        label: m.name,
        layer: layerOf(kind, m.schema, m.path),
        schema: m.schema,
        path: m.path,
        description: m.description || undefined,
        descriptionHtml: markdownHtml(m.description),
        materialized: typeof config.materialized === 'string' ? config.materialized : kind === 'seed' ? 'seed' : undefined,
        tags: m.tags && m.tags.length ? m.tags : undefined,
        config: Object.keys(config).length ? config : undefined,
        rawSql: m.raw_sql || undefined,
        compiledSql: m.compiled_sql || undefined,
        macros: m.depends_on?.macros && m.depends_on.macros.length ? m.depends_on.macros : undefined,
        columns: mergeColumns(m.columns, cat?.columns, m.tests),
        tests: nodeTests(m.id, m.tests, testResults.get(m.id)),
        expectations: expectations(config.expectations, exp),
        run: nodeRun(r, runStart),
        rows: cat?.rows,
      }),
    );
  }

  // Node edges: parent_map when present (it includes sources), else depends_on.
  const edgeSet = new Set<string>();
  const edges: [number, number][] = [];
  const addEdge = (parent: string, child: string): void => {
    const p = index.get(parent);
    const c = index.get(child);
    if (p === undefined || c === undefined || p === c) return;
    const key = `${p}>${c}`;
    if (edgeSet.has(key)) return;
    edgeSet.add(key);
    edges.push([p, c]);
  };
  if (manifest.parent_map) {
    for (const [child, parents] of Object.entries(manifest.parent_map)) for (const p of parents) addEdge(p, child);
  }
  for (const m of models) {
    for (const p of m.depends_on?.nodes ?? []) addEdge(p, m.id);
    for (const p of m.depends_on?.sources ?? []) addEdge(p, m.id);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);

  const { columnEdges, unresolved } = resolveLineage(manifest, nodes, index);
  // A column edge between nodes with no node edge still deserves a line in the graph.
  for (const [from, , to] of columnEdges) {
    const key = `${from}>${to}`;
    if (from !== to && !edgeSet.has(key)) {
      edgeSet.add(key);
      edges.push([from, to]);
    }
  }

  const sizes = nodes.map((n) => ({ w: nodeWidth(n), h: NODE_H }));
  const layout = layoutGraph(sizes, edges);

  return compact<DocsData>({
    version: 1,
    project: manifest.metadata?.project ?? 'lake project',
    overview: markdownHtml(manifest.docs?.__overview__?.block_contents, true),
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    lakeVersion: manifest.metadata?.lake_version,
    nodes,
    edges,
    columnEdges,
    unresolvedLineage: unresolved,
    layout,
    run: runSummary(runResults, runStart, index, testResults),
  });
}

/** Width of a node box: fits its label (and sub-label) within sane bounds. */
export function nodeWidth(n: Pick<DocsNode, 'label' | 'schema' | 'materialized' | 'kind'>): number {
  const sub = `${n.schema ?? ''} · ${n.materialized ?? n.kind}`;
  const w = Math.max(n.label.length * CHAR_W + 46, sub.length * 6.4 + 46);
  return Math.round(Math.min(280, Math.max(150, w)));
}

const LAYER_WORDS: Readonly<Record<string, Layer>> = {
  bronze: 'bronze',
  raw: 'bronze',
  staging: 'bronze',
  stg: 'bronze',
  silver: 'silver',
  intermediate: 'silver',
  int: 'silver',
  gold: 'gold',
  mart: 'gold',
  marts: 'gold',
  reporting: 'gold',
};

/**
 * The medallion layer of a model or seed: from its schema (`silver`, `dev_silver`, `marts`), else
 * from its folder (`models/gold/x.sql`); seeds outside a layer are inputs, drawn beside the sources
 * in a colour of their own (the legend says seed, not source).
 */
export function layerOf(kind: NodeKind, schema?: string, filePath?: string): Layer {
  if (kind === 'source') return 'source';
  for (const text of [schema, filePath && filePath.split('/').slice(0, -1).join('/')]) {
    if (!text) continue;
    for (const word of text.toLowerCase().split(/[^a-z0-9]+/)) {
      const layer = LAYER_WORDS[word];
      if (layer) return layer;
    }
  }
  return kind === 'seed' ? 'seed' : 'other';
}

const LAYER_ORDER: Readonly<Record<Layer, number>> = { source: 0, seed: 0, bronze: 1, silver: 2, gold: 3, other: 4 };

function layerRank(m: { resource_type: string; schema?: string; path?: string }): number {
  return LAYER_ORDER[layerOf(m.resource_type === 'seed' ? 'seed' : 'model', m.schema, m.path)];
}

function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function runStartMs(run?: RunResults): number | undefined {
  const t = run?.started_at ? Date.parse(run.started_at) : NaN;
  if (!Number.isNaN(t)) return t;
  let min: number | undefined;
  for (const r of run?.results ?? []) {
    const s = r.started_at ? Date.parse(r.started_at) : NaN;
    if (!Number.isNaN(s) && (min === undefined || s < min)) min = s;
  }
  return min;
}

function offsetOf(r: NodeResult, runStart: number | undefined): number | undefined {
  if (runStart === undefined || !r.started_at) return undefined;
  const t = Date.parse(r.started_at);
  return Number.isNaN(t) ? undefined : Math.max(0, t - runStart);
}

function nodeRun(r: NodeResult | undefined, runStart: number | undefined): DocsRun | undefined {
  if (!r) return undefined;
  return compact<DocsRun>({
    status: r.status,
    rows: r.rows ?? undefined,
    durationMs: r.duration_ms,
    offsetMs: offsetOf(r, runStart),
    message: r.message || undefined,
    error: r.error || undefined,
    files: r.files,
    badRecords: r.bad_records,
  });
}

/** Database columns in database order (with documented descriptions), then documented-only ones. */
function mergeColumns(
  documented: Readonly<Record<string, ManifestColumn>> | undefined,
  database: readonly { readonly name: string; readonly type: string }[] | undefined,
  tests: readonly ManifestTest[] | undefined,
): DocsColumn[] {
  const docs = new Map<string, ManifestColumn>();
  for (const [key, c] of Object.entries(documented ?? {})) docs.set((c.name ?? key).toLowerCase(), { ...c, name: c.name ?? key });
  const testsByCol = new Map<string, string[]>();
  for (const t of tests ?? []) {
    if (!t.column) continue;
    const k = t.column.toLowerCase();
    testsByCol.set(k, [...(testsByCol.get(k) ?? []), t.name]);
  }
  const out: DocsColumn[] = [];
  const used = new Set<string>();
  for (const c of database ?? []) {
    const k = c.name.toLowerCase();
    used.add(k);
    const d = docs.get(k);
    out.push(compact<DocsColumn>({ name: c.name, type: c.type, description: d?.description || undefined, descriptionHtml: markdownHtml(d?.description), tests: testsByCol.get(k) }));
  }
  for (const [k, d] of docs) {
    if (used.has(k)) continue;
    out.push(
      compact<DocsColumn>({
        name: d.name,
        type: d.data_type || undefined,
        description: d.description || undefined,
        descriptionHtml: markdownHtml(d.description),
        tests: testsByCol.get(k),
        missing: database ? true : undefined,
      }),
    );
  }
  return out;
}

/**
 * Declared tests with their latest result. A result matches a declaration by its id when the
 * manifest has one, else by the test name and column appearing in the result id
 * (`test.unique_silver_users_user_id`); results that match nothing are listed under their id.
 */
function nodeTests(nodeId: string, declared: readonly ManifestTest[] | undefined, results: readonly TestResult[] | undefined): DocsTest[] | undefined {
  const remaining = [...(results ?? [])];
  const take = (pred: (r: TestResult) => boolean): TestResult | undefined => {
    const i = remaining.findIndex(pred);
    return i < 0 ? undefined : remaining.splice(i, 1)[0];
  };
  const out: DocsTest[] = [];
  const short = nodeId.replace(/^source:/, '').replace(/[^A-Za-z0-9_]+/g, '_').toLowerCase();
  for (const t of declared ?? []) {
    const guess = `test.${t.name}_${short}${t.column ? `_${t.column}` : ''}`.toLowerCase();
    const name = t.name.toLowerCase();
    const column = (t.column ?? '').toLowerCase();
    const r =
      (t.id ? take((x) => x.id === t.id) : undefined) ??
      take((x) => x.id.toLowerCase() === guess) ??
      // run_results.json says which column a result is for: a test of `gym` on gym_summary is not
      // the one of `date` whose name also holds "gym".
      take((x) => x.column !== undefined && (x.column ?? '').toLowerCase() === column && x.id.toLowerCase().includes(name)) ??
      take((x) => x.column === undefined && (() => {
        const id = x.id.toLowerCase();
        return id.includes(name) && (!t.column || id.includes(column));
      })());
    out.push(testOf(t.name, t, r));
  }
  for (const r of remaining) out.push(testOf(r.id.replace(/^test\./, ''), undefined, r));
  return out.length ? out : undefined;
}

function testOf(name: string, decl: ManifestTest | undefined, r: TestResult | undefined): DocsTest {
  return compact<DocsTest>({
    name,
    id: r?.id ?? decl?.id,
    column: decl?.column ?? undefined,
    args: decl?.args && Object.keys(decl.args).length ? decl.args : undefined,
    status: r?.status,
    failures: r?.failures ?? undefined,
    durationMs: r?.duration_ms,
    message: r?.message || undefined,
  });
}

function expectations(declared: unknown, results: readonly ExpectationResult[] | undefined): DocsExpectation[] | undefined {
  const out = new Map<string, DocsExpectation>();
  if (declared && typeof declared === 'object') {
    for (const [name, cond] of Object.entries(declared as Record<string, unknown>)) {
      out.set(name, { name, condition: typeof cond === 'string' ? cond : JSON.stringify(cond) });
    }
  }
  for (const r of results ?? []) {
    out.set(r.name, compact<DocsExpectation>({ ...out.get(r.name), name: r.name, passed: r.passed, failed: r.failed, action: r.action }));
  }
  return out.size ? [...out.values()] : undefined;
}

/** Resolve `column_lineage` relations to node indexes; `"raw"."bpm"` and `kafka.bpm` also match. */
function resolveLineage(
  manifest: Manifest,
  nodes: readonly DocsNode[],
  index: ReadonlyMap<string, number>,
): { columnEdges: ColumnEdge[]; unresolved: number } {
  const alias = new Map<string, number>();
  nodes.forEach((n, i) => {
    alias.set(n.id.toLowerCase(), i);
    if (n.kind === 'source') {
      alias.set(n.label.toLowerCase(), i);
      if (n.relation) alias.set(unquote(n.relation), i);
    }
  });
  const find = (rel: string): number | undefined => index.get(rel) ?? alias.get(rel.toLowerCase()) ?? alias.get(unquote(rel));
  const columnEdges: ColumnEdge[] = [];
  const seen = new Set<string>();
  let unresolved = 0;
  for (const [target, cols] of Object.entries(manifest.column_lineage ?? {})) {
    const t = find(target);
    for (const [col, refs] of Object.entries(cols)) {
      for (const ref of refs) {
        const s = find(ref.relation);
        if (t === undefined || s === undefined) {
          unresolved++;
          continue;
        }
        const key = `${s}\u0000${ref.column}\u0000${t}\u0000${col}`;
        if (seen.has(key)) continue;
        seen.add(key);
        columnEdges.push([s, ref.column, t, col]);
      }
    }
  }
  return { columnEdges, unresolved };
}

function unquote(rel: string): string {
  return rel.replace(/"/g, '').toLowerCase();
}

function runSummary(
  run: RunResults | undefined,
  runStart: number | undefined,
  index: ReadonlyMap<string, number>,
  tests: ReadonlyMap<string, readonly TestResult[]>,
): DocsRunSummary | undefined {
  if (!run) return undefined;
  // Nodes filled in from earlier runs (no start time: app/run-history.ts) are not on this run's timeline.
  const timed = (run.results ?? []).filter((r) => r.started_at);
  const bars: DocsTimelineBar[] = (timed.length ? timed : run.results ?? []).map((r) =>
    compact<DocsTimelineBar>({
      node: index.get(r.id) ?? -1,
      id: r.id,
      offsetMs: offsetOf(r, runStart) ?? 0,
      durationMs: Math.max(0, r.duration_ms ?? 0),
      status: r.status,
      rows: r.rows ?? undefined,
    }),
  );
  bars.sort((a, b) => a.offsetMs - b.offsetMs || cmp(a.id, b.id));
  const end = bars.reduce((m, b) => Math.max(m, b.offsetMs + b.durationMs), 0);
  const counts = { pass: 0, fail: 0, warn: 0, error: 0 };
  for (const list of tests.values()) {
    for (const t of list) if (t.status in counts) counts[t.status as keyof typeof counts]++;
  }
  return compact<DocsRunSummary>({
    runId: run.run_id,
    command: run.command,
    startedAt: run.started_at,
    finishedAt: run.finished_at,
    elapsedMs: Math.max(run.elapsed_ms ?? 0, end),
    status: run.status,
    bars,
    tests: counts,
  });
}

/** Drop undefined and null properties (lake writes null for absent values) to keep the JSON small. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined || o[k] === null) delete o[k];
  return o;
}

/**
 * Columns upstream and downstream of `node.column`, transitively, over the column-lineage edges.
 * Self-contained on purpose: the page embeds this very function (via toString), so the browser
 * and the tests run the same code. Keys are `[node, column]`; matching ignores column case.
 */
export function lineageClosure(
  columnEdges: readonly (readonly [number, string, number, string])[],
  node: number,
  column: string,
): { upstream: [number, string][]; downstream: [number, string][] } {
  const key = (n: number, c: string): string => n + '\u0000' + c.toLowerCase();
  const up = new Map<string, [number, string][]>();
  const down = new Map<string, [number, string][]>();
  for (const e of columnEdges) {
    const from = key(e[0], e[1]);
    const to = key(e[2], e[3]);
    const u = up.get(to);
    if (u) u.push([e[0], e[1]]);
    else up.set(to, [[e[0], e[1]]]);
    const d = down.get(from);
    if (d) d.push([e[2], e[3]]);
    else down.set(from, [[e[2], e[3]]]);
  }
  const walk = (adj: Map<string, [number, string][]>): [number, string][] => {
    const start = key(node, column);
    const seen = new Set<string>([start]);
    const out: [number, string][] = [];
    const queue: string[] = [start];
    while (queue.length) {
      const k = queue.shift() as string;
      for (const next of adj.get(k) ?? []) {
        const nk = key(next[0], next[1]);
        if (seen.has(nk)) continue;
        seen.add(nk);
        out.push(next);
        queue.push(nk);
      }
    }
    return out;
  };
  return { upstream: walk(up), downstream: walk(down) };
}
