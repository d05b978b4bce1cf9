/**
 * dbt's state selectors, `state:` and `result:`, judged against the artifacts of an earlier
 * invocation (`--state <dir>`: its manifest.json and run_results.json). Pure: the caller reads
 * the files (app/selector-state.ts) and hands both manifests' entries in.
 */
import type { NodeId } from '../core/types.js';

/** What a node looked like in one manifest (the entry of `nodes` or `sources`, as written). */
export interface StateEntry {
  readonly resource_type: string;
  readonly raw_sql?: string;
  readonly checksum?: string;
  readonly config?: unknown;
  readonly schema?: string;
  readonly alias?: string;
  readonly path?: string;
  readonly depends_on?: { readonly macros?: readonly string[] };
  readonly landing?: unknown;
  readonly relation?: unknown;
  readonly columns?: Readonly<Record<string, { readonly data_type?: unknown; readonly constraints?: unknown }>>;
}

export interface StateManifest {
  readonly entries: ReadonlyMap<NodeId, StateEntry>;
  /** Macro name → checksum of its text (absent in manifests written before lake recorded it). */
  readonly macros: ReadonlyMap<string, string | undefined>;
  /** The keys of its tests' declarations (absent in manifests written before lake recorded them). */
  readonly tests?: ReadonlySet<string>;
  /** The database its nodes were built in (metadata.target_path), for --defer. */
  readonly targetPath?: string;
  /** The target it was written for (metadata.target): schemas differ between targets by design. */
  readonly target?: string;
}

/** The earlier invocation, and what is needed to compare the current project with it. */
export interface SelectorState {
  /** The `--state` folder, for messages. */
  readonly dir: string;
  /** The earlier manifest.json; undefined when the folder has none. */
  readonly previous?: StateManifest;
  /** The current project, in the same shape (built only when a `state:` selector asks). */
  readonly current: () => StateManifest;
  /**
   * run_results.json of the earlier invocation: each node's status (success, error, skipped) and,
   * for tests, the node they are on with the test's status (pass, warn, fail, error, skipped).
   */
  readonly results?: ReadonlyArray<{ readonly node: NodeId; readonly status: string; readonly test?: string }>;
}

export const STATE_VALUES = ['new', 'old', 'modified', 'unmodified', 'modified.body', 'modified.configs', 'modified.relation', 'modified.macros', 'modified.contract'] as const;
export const RESULT_VALUES = ['success', 'error', 'skipped', 'pass', 'warn', 'fail'] as const;

/** JSON with object keys sorted, so two configs that differ only in key order compare equal. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return v === undefined ? 'null' : JSON.stringify(v);
}

type Aspect = 'body' | 'configs' | 'relation' | 'macros' | 'contract';

/** Which aspects of a node differ between the two manifests (the node is in both). */
function changed(before: StateEntry, now: StateEntry, prev: StateManifest, cur: StateManifest): Set<Aspect> {
  const out = new Set<Aspect>();
  const body = (e: StateEntry): string => {
    if (e.resource_type === 'seed') return e.checksum ?? '';
    if (e.resource_type === 'source') {
      const cols = Object.fromEntries(Object.entries(e.columns ?? {}).map(([k, c]) => [k, c.data_type ?? null]));
      return stableJson({ landing: e.landing ?? null, columns: cols });
    }
    return e.raw_sql ?? '';
  };
  if (body(before) !== body(now)) out.add('body');
  // Schema and alias are the relation's (below), not configs.
  const configOf = (e: StateEntry) => {
    const { schema: _s, alias: _a, ...rest } = (e.config ?? {}) as Record<string, unknown>;
    return stableJson(rest);
  };
  if (configOf(before) !== configOf(now)) out.add('configs');
  // dbt's modified.contract: an enforced contract's columns, their data types or constraints changed.
  const enforced = (e: StateEntry) => ((e.config as { contract?: { enforced?: unknown } } | undefined)?.contract?.enforced === true);
  const contractOf = (e: StateEntry) => stableJson({
    columns: Object.fromEntries(Object.entries(e.columns ?? {}).map(([k, c]) => [k.toLowerCase(), { t: String(c.data_type ?? '').toLowerCase(), k: c.constraints ?? [] }])),
    constraints: (e.config as { constraints?: unknown } | undefined)?.constraints ?? [],
  });
  if ((enforced(before) || enforced(now)) && (enforced(before) !== enforced(now) || contractOf(before) !== contractOf(now))) out.add('contract');
  // Between two targets (prod's manifest, a dev run) schemas differ by design (dbt compares the
  // unrendered config): then only a model's alias counts.
  const sameTarget = prev.target === undefined || cur.target === undefined || prev.target === cur.target;
  const relation = (e: StateEntry) => (e.resource_type === 'source' ? String(e.relation ?? '') : sameTarget ? `${e.schema}.${e.alias}` : String(e.alias));
  if (relation(before) !== relation(now)) out.add('relation');
  for (const m of now.depends_on?.macros ?? []) {
    const was = prev.macros.get(m);
    // A manifest that predates macro checksums cannot say: not counted as a change.
    if (!prev.macros.has(m) || (was !== undefined && was !== cur.macros.get(m))) {
      out.add('macros');
      break;
    }
  }
  return out;
}

/** The nodes a `state:<value>` selector matches among `ids` (value already validated). */
export function matchState(state: SelectorState, value: string, ids: readonly NodeId[]): NodeId[] {
  const prev = state.previous!;
  const cur = state.current();
  // A model or seed is its file: a new schema (config) gives it a new id, not a new node.
  const byPath = new Map<string, StateEntry>();
  for (const e of prev.entries.values()) if (e.path && e.resource_type !== 'source') byPath.set(e.path, e);
  return ids.filter((id) => {
    const now0 = cur.entries.get(id);
    const before = prev.entries.get(id) ?? (now0?.path && now0.resource_type !== 'source' ? byPath.get(now0.path) : undefined);
    if (value === 'new') return !before;
    if (value === 'old') return !!before;
    const now = cur.entries.get(id);
    if (!before || !now) return value === 'modified';
    const diff = changed(before, now, prev, cur);
    if (value === 'modified') return diff.size > 0;
    if (value === 'unmodified') return diff.size === 0;
    return diff.has(value.slice('modified.'.length) as Aspect);
  });
}

/** The nodes a `result:<status>` selector matches: nodes with that status, and nodes whose tests had it. */
export function matchResult(state: SelectorState, value: string): Set<NodeId> {
  return new Set((state.results ?? []).filter((r) => r.status === value).map((r) => r.node));
}
