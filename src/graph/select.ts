/**
 * dbt's node selection syntax, shared by every command's `-s/--select` and `--exclude`.
 *
 * Each list item holds selectors separated by spaces (union); a selector joins atoms with commas
 * (intersection); an atom is `[@][N+]method:value[+N]`. Methods: a bare name (`users`,
 * `silver.users`, globs like `stg_*`; a bare value with a `/` is a path; an installed package's
 * name is its nodes), `tag:`, `path:`, `source:`, `package:`, `file:`, `resource_type:`, `version:`, `config.<key>:`, and with `--state <dir>` (graph/state.ts) `state:` and
 * `result:`. A name, tag, path, file or source that matches no node
 * at all is almost always a typo, so it is an error with a "did you mean" hint rather than an
 * empty run; a config or resource_type value that matches nothing is a legitimately empty set.
 * The methods only tests have (`test_name:`, `test_type:`, `unit_test:`, `resource_type:test`)
 * match no node here: dq/quality-run.ts selects tests with them.
 */
import type { NodeId } from '../core/types.js';
import { compareVersions } from '../core/types.js';
import { closest, LakeError, type Diagnostic } from '../errors/index.js';
import type { Dag, DagNode } from './dag.js';
import { matchResult, matchState, RESULT_VALUES, STATE_VALUES, type SelectorState } from './state.js';

/** What the command line asked for. Missing or blank `select` means every node. */
export interface Selection {
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** An earlier invocation's artifacts (`--state`), for `state:` and `result:`. */
  readonly state?: SelectorState;
  /** The project's name: dbt's fqn selectors may start with it (`shop.staging.orders`). */
  readonly project?: string;
}

const METHODS = ['name', 'fqn', 'tag', 'path', 'file', 'source', 'package', 'resource_type', 'state', 'result', 'version', 'config.', 'test_name', 'test_type', 'unit_test'];
/** dbt's `version:` selector values. */
const VERSION_VALUES = ['latest', 'prerelease', 'old', 'none'];
const RESOURCE_TYPES = ['model', 'seed', 'source', 'snapshot'];
/** dbt's resource types that are not graph nodes here: a legitimately empty set of nodes. */
const OTHER_RESOURCE_TYPES = ['test', 'unit_test', 'analysis', 'exposure', 'metric', 'semantic_model', 'saved_query', 'operation'];
/** Methods that select tests only (dq/quality-run.ts): no node. */
const TEST_METHODS = new Set(['test_name', 'test_type', 'unit_test']);
/** `[@][N+]value[+N]`; the lazy middle leaves a trailing `+N` to the suffix group. */
const ATOM = /^(@)?(?:(\d*)\+)?(.+?)(?:\+(\d*))?$/;

/**
 * The ids chosen by `select` minus those chosen by `exclude`, in topological order.
 * Throws `LakeError('usage')` with every bad selector's diagnostic at once.
 */
export function select(dag: Dag, selection: Selection = {}): NodeId[] {
  const problems: Diagnostic[] = [];
  const nodes = dag.nodes();
  // A node whose name holds a space ("rev copy.sql") is one selector when an item names it whole.
  const spaced = new Set(nodes.filter((n) => /\s/.test(n.name)).flatMap((n) => [n.name, `${n.schema}.${n.name}`]));
  const evaluate = (items: readonly string[], flag: string): Set<NodeId> | undefined => {
    const selectors = items.flatMap((item) => (spaced.has(item.trim()) ? [item.trim()] : item.split(/\s+/))).filter((s) => s !== '');
    if (selectors.length === 0) return undefined;
    const out = new Set<NodeId>();
    for (const selector of selectors) {
      let acc: Set<NodeId> | undefined;
      for (const atom of selector.split(',')) {
        const got = evalAtom(dag, nodes, atom, `${flag} ${atom || selector}`, problems, selection.state, selection.project);
        acc = acc ? new Set([...acc].filter((id) => got.has(id))) : got;
      }
      for (const id of acc!) out.add(id);
    }
    return out;
  };
  const chosen = evaluate(selection.select ?? [], '--select');
  const dropped = evaluate(selection.exclude ?? [], '--exclude');
  if (problems.length > 0) throw new LakeError('usage', problems);
  return dag.topoOrder().filter((id) => (!chosen || chosen.has(id)) && !dropped?.has(id));
}

/**
 * One atom: the nodes its method matches, widened by the graph operators around it. `label` (flag
 * and selector text) starts every message, so the user sees which argument is wrong.
 */
function evalAtom(dag: Dag, nodes: readonly DagNode[], atom: string, label: string, problems: Diagnostic[], state?: SelectorState, project?: string): Set<NodeId> {
  const fail = (code: string, message: string, hint?: string): Set<NodeId> => {
    problems.push({ code, severity: 'error', message: `${label}: ${message}`, ...(hint ? { hint } : {}) });
    return new Set();
  };
  const m = ATOM.exec(atom);
  if (!m) return fail('LAKE-G102', 'empty selector', 'remove the stray comma or `+`');
  const [, at, up, body, down] = m as unknown as [string, string | undefined, string | undefined, string, string | undefined];
  if (at && (up !== undefined || down !== undefined)) {
    return fail('LAKE-G102', '`@` cannot be combined with `+`', 'use `@name` (a node, its descendants and their ancestors) or `+name+`');
  }
  const colon = body.indexOf(':');
  const method = colon >= 0 ? body.slice(0, colon) : /\/|\.(sql|csv|ya?ml)$/.test(body) ? 'path' : 'name';
  const value = colon >= 0 ? body.slice(colon + 1) : body;
  if (value === '') return fail('LAKE-G102', `\`${method}:\` needs a value`);

  let base: DagNode[];
  switch (method) {
    case 'name': {
      const g = glob(value);
      // A versioned model's versions by its name (`dim_customers`), one by `dim_customers.v2` or its own (`dim_customers_v2`).
      base = nodes.filter((n) => n.kind !== 'source' && (value.includes('.')
        ? g(`${n.schema}.${n.name}`) || (n.version !== undefined && g(`${n.version.model}.v${n.version.v}`))
        : g(n.name) || (n.version !== undefined && g(n.version.model))));
      // dbt's default method is the fqn, whose parts are the folders too: `-s marts` is every
      // model under a folder named marts (and `-s <package>` every node of an installed package).
      if (base.length === 0 && !value.includes('.')) base = nodes.filter((n) => n.kind !== 'source' && (n.fqn ? n.fqn.slice(0, -1) : n.path.split('/').slice(0, -1)).some(g));
      // Not a schema.name: dbt's fqn, folders then name (`staging.shop` is every model under
      // models/staging/shop), with or without the project's name first.
      if (base.length === 0 && (value.includes('.') || value === project)) base = nodes.filter((n) => n.kind !== 'source' && fqnMatches(n, value, project));
      if (base.length === 0) {
        const hint = byMethod(nodes, 'source', value).length > 0
          ? `did you mean source:${value}?`
          : didYouMean(value, nodes.filter((n) => n.kind !== 'source').map((n) => `${n.schema}.${n.name}`));
        return fail('LAKE-G101', `no model or seed is named ${value}`, hint);
      }
      break;
    }
    case 'fqn': {
      base = nodes.filter((n) => n.kind !== 'source' && fqnMatches(n, value, project));
      if (base.length === 0) return fail('LAKE-G101', `no model, seed or snapshot has the fqn ${value}`, 'an fqn is the folders under the model path, then the name, joined by dots (shop.staging.orders: the project\'s name first, optionally)');
      break;
    }
    case 'tag':
    case 'path':
    case 'source': {
      base = byMethod(nodes, method, value);
      if (base.length === 0) {
        const known = method === 'tag' ? nodes.flatMap((n) => n.tags)
          : method === 'path' ? nodes.flatMap((n) => n.path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/')))
          : nodes.flatMap((n) => (n.kind === 'source' ? [sourceName(n), sourceName(n).split('.')[0]!] : []));
        const what = { tag: `no node has tag ${value}`, path: `no node file is at or under ${value}`, source: `no source is named ${value}` }[method];
        return fail('LAKE-G101', what, didYouMean(value, new Set(known), method === 'source' ? 'source:' : ''));
      }
      break;
    }
    case 'package': {
      // dbt's package: method: every node of the package (the root project's by its name), sources too.
      const g = glob(value);
      base = nodes.filter((n) => g(n.package ?? project ?? ''));
      if (base.length === 0) {
        const known = new Set([...(project ? [project] : []), ...nodes.flatMap((n) => (n.package ? [n.package] : []))]);
        return fail('LAKE-G101', `no node comes from a package named ${value}`, didYouMean(value, known, 'package:') ?? `packages: ${[...known].join(', ')}`);
      }
      break;
    }
    case 'state':
    case 'result': {
      const values: readonly string[] = method === 'state' ? STATE_VALUES : RESULT_VALUES;
      if (!values.includes(value)) {
        const near = closest(value, values, 1);
        return fail('LAKE-G102', `unknown ${method} ${value}`, `${near.length ? `did you mean ${method}:${near[0]}? ` : ''}use one of ${values.map((v) => `${method}:${v}`).join(', ')}`);
      }
      if (!state) {
        return fail('LAKE-G103', `\`${method}:\` compares with an earlier invocation: pass --state <dir>`,
          `point --state at the target/ folder of the run to compare with (it holds ${method === 'state' ? 'manifest.json' : 'run_results.json'}), e.g. a copy of production's`);
      }
      if (method === 'state' && !state.previous) {
        return fail('LAKE-G104', `--state ${state.dir} holds no manifest.json`, 'point --state at a target/ folder that `lake compile` or `lake run` wrote');
      }
      if (method === 'result' && !state.results) {
        return fail('LAKE-G104', `--state ${state.dir} holds no run_results.json`, 'point --state at the target/ folder of a `lake run`, `lake build` or `lake test`');
      }
      if (method === 'state') {
        base = matchState(state, value, nodes.map((n) => n.id)).map((id) => dag.node(id));
      } else {
        const hit = matchResult(state, value);
        base = nodes.filter((n) => hit.has(n.id));
      }
      break;
    }
    case 'file': {
      // dbt's file method: the node's own file name, with or without its extension.
      const g = fileMatcher(value);
      base = nodes.filter((n) => n.kind !== 'source' && g(n.path));
      if (base.length === 0) return fail('LAKE-G101', `no node file is named ${value}`, didYouMean(value, nodes.filter((n) => n.kind !== 'source').map((n) => baseName(n.path))));
      break;
    }
    case 'version': {
      if (!VERSION_VALUES.includes(value)) {
        const near = closest(value, VERSION_VALUES, 1);
        return fail('LAKE-G102', `unknown version ${value}`, `${near.length ? `did you mean version:${near[0]}? ` : ''}use one of ${VERSION_VALUES.map((v) => `version:${v}`).join(', ')}`);
      }
      // dbt's: the latest version, versions after it (prerelease) or before it (old), or unversioned models.
      base = nodes.filter((n) => n.kind === 'model' && (value === 'none' ? !n.version : !!n.version && (() => {
        const c = compareVersions(n.version.v, n.version.latest);
        return value === 'latest' ? c === 0 : value === 'prerelease' ? c > 0 : c < 0;
      })()));
      break;
    }
    case 'resource_type':
      if (!RESOURCE_TYPES.includes(value) && !OTHER_RESOURCE_TYPES.includes(value)) {
        return fail('LAKE-G102', `unknown resource type ${value}`, `use one of ${[...RESOURCE_TYPES, ...OTHER_RESOURCE_TYPES].join(', ')}`);
      }
      base = nodes.filter((n) => n.kind === value);
      break;
    default: {
      if (TEST_METHODS.has(method)) {
        base = [];
        break;
      }
      if (!method.startsWith('config.') || method === 'config.') {
        const near = closest(method, METHODS.filter((x) => x !== 'config.'), 1);
        return fail('LAKE-G102', `unknown selector method ${method}`,
          `${near.length ? `did you mean ${near[0]}? ` : ''}methods: name, fqn:, tag:, path:, file:, source:, package:, resource_type:, version:, config.<key>:, state:, result:, and for tests test_name:, test_type:, unit_test:`);
      }
      const keys = method.slice('config.'.length).split('.');
      const g = glob(value);
      const hit = (x: unknown): boolean =>
        Array.isArray(x) ? x.some(hit) : (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') && g(String(x));
      base = nodes.filter((n) => hit(keys.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), n.config)));
    }
  }

  const ids = base.map((n) => n.id);
  const out = new Set(ids);
  const depth = (d: string | undefined): number => (d === '' ? Infinity : Number(d));
  // dbt's graph: an ordering-only edge (a source declared over a seed's table) is not followed.
  const reads = { reads: true };
  if (at) {
    const below = dag.descendants(ids, Infinity, reads);
    for (const id of below) out.add(id);
    for (const id of dag.ancestors([...ids, ...below], Infinity, reads)) out.add(id);
  }
  if (up !== undefined) for (const id of dag.ancestors(ids, depth(up), reads)) out.add(id);
  if (down !== undefined) for (const id of dag.descendants(ids, depth(down), reads)) out.add(id);
  return out;
}

/**
 * What `path:<value>` matches: a file itself, a folder everything beneath it (never
 * `models/silverish` for `models/silver`), a shell pattern (`models/*\/*.yml`) what it spells.
 */
export function pathMatcher(value: string): (path: string) => boolean {
  return glob(value.replace(/^\.\//, '').replace(/\/+$/, ''), '(/.*)?');
}

/** Nodes matched by `tag:`, `path:` or `source:`. */
function byMethod(nodes: readonly DagNode[], method: 'tag' | 'path' | 'source', value: string): DagNode[] {
  if (method === 'tag') {
    const g = glob(value);
    return nodes.filter((n) => n.tags.some(g));
  }
  if (method === 'path') {
    const g = pathMatcher(value);
    return nodes.filter((n) => g(n.path) || (n.patchPath !== undefined && g(n.patchPath)));
  }
  const g = glob(value);
  return nodes.filter((n) => n.kind === 'source' && (value.includes('.') ? g(sourceName(n)) : g(sourceName(n).split('.')[0]!)));
}

/**
 * dbt's fqn match (its is_selected_node): the node's fqn is its folders under the model, seed or
 * snapshot path, then its name — with or without the project's name first. The selector's
 * dot-separated parts match the fqn's first parts; from the first part with a wildcard, the rest
 * of the selector is a shell pattern over the rest of the fqn joined by dots (`*.marts.*`,
 * `staging.*.orders`). A selector of one part may be the name alone.
 */
function fqnMatches(n: DagNode, value: string, project?: string): boolean {
  if (value === n.name || value === n.version?.model) return true;
  // An installed package's node: its fqn starts with the package's name (never the project's).
  if (n.fqn) return fqnPrefix(n.fqn, value.split('.'));
  // A version's fqn ends in the model's name and the version (dbt's `..., dim_customers, v2`).
  const fqn = [...n.path.split('/').slice(1, -1), ...(n.version ? [n.version.model, `v${n.version.v}`] : [n.name])];
  if (project !== undefined && value === project) return true;
  const parts = value.split('.');
  return fqnPrefix(fqn, parts) || (project !== undefined && fqnPrefix([project, ...fqn], parts));
}

/** The selector's parts match the fqn's first parts (from a part with a wildcard: a pattern over the rest). */
function fqnPrefix(flat: readonly string[], parts: readonly string[]): boolean {
  if (flat.length < parts.length) return false;
  for (const [i, p] of parts.entries()) {
    if (/[*?[\]]/.test(p)) return glob(parts.slice(i).join('.'))(flat.slice(i).join('.'));
    if (flat[i] !== p) return false;
  }
  return true;
}

function baseName(f: string): string {
  return f.slice(f.lastIndexOf('/') + 1);
}

/** What dbt's `file:<value>` matches: a file whose name, or name without its extension, is (or fits the pattern) value. */
export function fileMatcher(value: string): (file: string) => boolean {
  const g = glob(value);
  return (f) => g(baseName(f)) || g(baseName(f).replace(/\.[^.]+$/, ''));
}

/** `kafka.bpm` from the id `source:kafka.bpm`. */
function sourceName(n: DagNode): string {
  return n.id.startsWith('source:') ? n.id.slice('source:'.length) : `${n.schema}.${n.name}`;
}

/** A matcher for a shell-style pattern (`*`, `?`); plain equality when there is no wildcard. */
export function glob(pattern: string, suffix = ''): (s: string) => boolean {
  if (!/[*?]/.test(pattern) && suffix === '') return (s) => s === pattern;
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${body}${suffix}$`);
  return (s) => re.test(s);
}

function didYouMean(value: string, candidates: Iterable<string>, prefix = ''): string | undefined {
  if (/[*?]/.test(value)) return undefined;
  const near = closest(value, candidates);
  return near.length > 0 ? `did you mean ${near.map((c) => prefix + c).join(' or ')}?` : undefined;
}
