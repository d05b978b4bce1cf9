/**
 * Lake's binder over DuckDB's parse tree. `json_serialize_sql` leaves names unresolved and `*`
 * unexpanded, so this walks the tree the way DuckDB's binder does — CTE scopes, FROM bindings,
 * joins with USING/NATURAL, star expansion, select-list aliases, correlated and lateral
 * references — but tracks, for each output column, which upstream relation columns feed it.
 *
 * What counts as a source: the columns of the value expression only. Columns that only choose
 * rows — WHERE, JOIN ... ON, GROUP BY, HAVING, QUALIFY, a window's PARTITION BY / ORDER BY /
 * frame, an aggregate's FILTER and ORDER BY, EXISTS subqueries, the right side of SEMI/ANTI joins,
 * INTERSECT/EXCEPT right branches — are filters, not sources. CASE conditions are part of the
 * value expression and do count.
 */
import type { LineageEdge, LineageKind } from './types.js';
import type { DuckDbSql, Expr, FunctionSets, QueryNode, TableRef } from './duckdb-ast.js';
import { landingViewName, streamViewName } from '../core/types.js';

/** A column visible somewhere in the query, with the model inputs it comes from. */
export interface BoundColumn {
  readonly name: string;
  readonly sources: readonly LineageEdge[];
  readonly kind: LineageKind;
  /** A struct's fields (lower-case name → lineage), when known: `s.p` then traces to p's sources only. */
  readonly fields?: ReadonlyMap<string, BoundColumn>;
}

/** A FROM item that columns can be qualified with. */
interface Binding {
  /** Lower-case alias (or table name when there is no alias). */
  readonly alias: string;
  /** Lower-case schema, only for base tables without an alias (`schema.table.col`). */
  readonly schema?: string;
  /** Undefined when the columns are not known (relation not in the catalog, table function). */
  readonly columns?: readonly BoundColumn[];
  /** For an unknown base relation: references to it still become edges to this id. */
  readonly relationId?: string;
  readonly label: string;
}

interface StarEntry {
  readonly binding: Binding;
  readonly col?: BoundColumn;
}

/** What a FROM clause makes visible. */
interface FromScope {
  readonly bindings: readonly Binding[];
  /** What `*` expands to, in order (a binding with unknown columns appears once, without col). */
  readonly star: readonly StarEntry[];
  /** USING / NATURAL join columns, by lower-case name: unqualified refs resolve here first. */
  readonly merged: ReadonlyMap<string, BoundColumn>;
}

interface Scope {
  readonly from: FromScope;
  readonly parent?: Scope;
  /** Aliases of earlier select items (DuckDB lets later items use them). */
  readonly items?: Map<string, BoundColumn>;
}

type CteEnv = ReadonlyMap<string, readonly BoundColumn[]>;

const RANK: Record<LineageKind, number> = { direct: 0, derived: 1, window: 2, aggregate: 3, unknown: 4 };
export const maxKind = (a: LineageKind, b: LineageKind): LineageKind => (RANK[a] >= RANK[b] ? a : b);

/** A select-list node whose lineage is already known (a column picked by `COLUMNS(...)`). */
const BOUND = '__LAKE_BOUND__';
interface BoundMarker {
  readonly class: typeof BOUND;
  readonly type: typeof BOUND;
  readonly col: BoundColumn;
}

const EMPTY_FROM: FromScope = { bindings: [], star: [], merged: new Map() };
const lc = (s: string): string => s.toLowerCase();
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isExpr = (v: unknown): v is Expr => isObj(v) && typeof v.class === 'string';

// Derive the temp-view prefixes from the helpers that name them, so the two cannot drift apart.
const SEP = '\u0000';
const STREAM_PREFIX = streamViewName({ schema: SEP, name: SEP }).split(SEP)[0]!;
const LANDING_PREFIX = landingViewName(SEP, SEP).split(SEP)[0]!;

/** Map a table name as written in compiled SQL to a lake relation id. */
export function relationIdOf(schema: string, table: string): string {
  for (const [prefix, make] of [
    [STREAM_PREFIX, (a: string, b: string) => `${a}.${b}`],
    [LANDING_PREFIX, (a: string, b: string) => `source:${a}.${b}`],
  ] as const) {
    if (table.startsWith(prefix)) {
      const rest = table.slice(prefix.length);
      const i = rest.indexOf('__');
      if (i > 0 && i < rest.length - 2) return make(rest.slice(0, i), rest.slice(i + 2));
    }
  }
  // Unqualified names resolve in DuckDB's default schema.
  return `${schema || 'main'}.${table}`;
}

/** Edges in first-seen order, without repeats. */
class EdgeSet {
  readonly list: LineageEdge[] = [];
  private readonly seen = new Set<string>();
  add(edges: readonly LineageEdge[]): void {
    for (const e of edges) {
      const k = `${e.relation}\u0000${e.column}`;
      if (!this.seen.has(k)) {
        this.seen.add(k);
        this.list.push(e);
      }
    }
  }
}

function combine(name: string, cols: readonly BoundColumn[]): BoundColumn {
  const edges = new EdgeSet();
  let kind: LineageKind = 'direct';
  for (const c of cols) {
    edges.add(c.sources);
    kind = maxKind(kind, c.kind);
  }
  return { name, sources: edges.list, kind };
}

/** DuckDB's renaming of duplicate output names (`a, a, a_1` → `a, a_1, a_1_1`). */
function dedupNames(cols: readonly BoundColumn[]): BoundColumn[] {
  const used = new Set<string>();
  const next = new Map<string, number>();
  return cols.map((c) => {
    let name = c.name;
    if (used.has(lc(name))) {
      let k = next.get(lc(c.name)) ?? 1;
      while (used.has(lc(`${c.name}_${k}`))) k++;
      next.set(lc(c.name), k + 1);
      name = `${c.name}_${k}`;
    }
    used.add(lc(name));
    return name === c.name ? c : { ...c, name };
  });
}

/** Rename the first columns (`t as x(a, b)`, `with c(a, b) as`). */
function applyAliases(cols: readonly BoundColumn[], aliases: readonly string[] | undefined): readonly BoundColumn[] {
  if (!aliases || aliases.length === 0) return cols;
  return cols.map((c, i) => (i < aliases.length ? { ...c, name: aliases[i]! } : c));
}

function quoteName(n: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(n) ? n : `"${n.replace(/"/g, '""')}"`;
}

export class Binder {
  readonly warnings = new Set<string>();
  private readonly schemas = new Map<string, readonly string[] | undefined>();

  constructor(
    private readonly sql: DuckDbSql,
    private readonly functions: FunctionSets,
    private readonly schemaOf: (relationId: string) => readonly string[] | undefined,
    private readonly mapRelation?: (schema: string, table: string) => string | undefined,
    /** A CTE that stands for a model (an inlined ephemeral): its columns become edges to that model. */
    private readonly cteModel?: (cteName: string) => string | undefined,
    /** The fields of a struct column of an upstream model whose lineage is known field by field. */
    private readonly fieldsOf?: (relationId: string, column: string) => readonly string[] | undefined,
  ) {}

  private warn(msg: string): void {
    this.warnings.add(msg);
  }

  /**
   * The relation's id and columns. DuckDB names are case-insensitive while lake ids are not, so
   * `SILVER.USERS` falls back to `silver.users` when the catalog does not know it as written.
   */
  private relation(written: string): { id: string; columns?: readonly string[] } {
    for (const id of [written, written.toLowerCase()]) {
      if (!this.schemas.has(id)) this.schemas.set(id, this.schemaOf(id));
      const columns = this.schemas.get(id);
      if (columns) return { id, columns };
    }
    this.warn(`relation ${written} is not in the catalog: its columns are taken as written and \`*\` over it cannot be expanded`);
    return { id: written };
  }

  // ---------------------------------------------------------------- queries

  /** Output columns of a query node, named and de-duplicated as DuckDB does. */
  async bindQuery(node: QueryNode, env: CteEnv, parent: Scope | undefined, aliases?: readonly string[]): Promise<BoundColumn[]> {
    const inner = await this.bindCtes(node, env, parent);
    let cols: readonly BoundColumn[];
    switch (node.type) {
      case 'SELECT_NODE':
        cols = await this.bindSelect(node, inner, parent);
        break;
      case 'SET_OPERATION_NODE':
        cols = await this.bindSetOperation(node, inner, parent);
        break;
      case 'RECURSIVE_CTE_NODE':
        cols = await this.bindRecursive(node, inner, parent, aliases ?? node.aliases);
        break;
      case 'CTE_NODE': {
        const body = await this.bindQuery(node.query!, inner, parent, node.aliases);
        const env2 = new Map(inner);
        env2.set(lc(node.ctename ?? ''), body);
        cols = await this.bindQuery(node.child!, env2, parent);
        break;
      }
      default:
        this.warn(`query of type ${node.type} is not traced`);
        cols = [];
    }
    return dedupNames(cols);
  }

  private async bindCtes(node: QueryNode, env: CteEnv, parent: Scope | undefined): Promise<CteEnv> {
    const entries = node.cte_map?.map ?? [];
    if (entries.length === 0) return env;
    const out = new Map(env);
    for (const e of entries) {
      // A CTE sees the CTEs before it (and itself only when recursive: handled in bindRecursive).
      const cols = applyAliases(await this.bindQuery(e.value.query.node, out, parent, e.value.aliases), e.value.aliases);
      // An inlined ephemeral model is a model of its own in the lineage graph: its consumer's
      // columns come from it, not from what it reads (its own lineage says that).
      const model = this.cteModel?.(e.key);
      out.set(lc(e.key), model ? cols.map((c) => ({ name: c.name, sources: [{ relation: model, column: c.name }], kind: 'direct' as const })) : cols);
    }
    return out;
  }

  private async bindRecursive(node: QueryNode, env: CteEnv, parent: Scope | undefined, aliases: readonly string[] | undefined): Promise<BoundColumn[]> {
    let cols = [...applyAliases(await this.bindQuery(node.left!, env, parent), aliases)];
    // Two passes: the recursive branch sees the anchor, then the union of both.
    for (let pass = 0; pass < 2; pass++) {
      const env2 = new Map(env);
      env2.set(lc(node.cte_name ?? ''), cols);
      const right = await this.bindQuery(node.right!, env2, parent);
      cols = cols.map((c, i) => (right[i] ? combine(c.name, [c, right[i]!]) : c));
    }
    return cols;
  }

  private async bindSetOperation(node: QueryNode, env: CteEnv, parent: Scope | undefined): Promise<BoundColumn[]> {
    const branches = node.children?.length ? node.children : [node.left!, node.right!];
    const bound: BoundColumn[][] = [];
    for (const b of branches) bound.push(await this.bindQuery(b, env, parent));
    const op = node.setop_type ?? 'UNION';
    const first = bound[0] ?? [];
    if (op === 'EXCEPT' || op === 'INTERSECT') return first; // later branches only filter rows
    if (op === 'UNION_BY_NAME') {
      const order: string[] = [];
      const byName = new Map<string, BoundColumn[]>();
      for (const cols of bound) {
        for (const c of cols) {
          const k = lc(c.name);
          if (!byName.has(k)) {
            byName.set(k, []);
            order.push(c.name);
          }
          byName.get(k)!.push(c);
        }
      }
      return order.map((n) => combine(n, byName.get(lc(n))!));
    }
    for (let i = 1; i < bound.length; i++) {
      if (bound[i]!.length !== first.length) {
        this.warn(`${op} branches have ${first.length} and ${bound[i]!.length} columns: matched by position as far as they go`);
      }
    }
    return first.map((c, i) => combine(c.name, bound.map((cols) => cols[i]).filter((x): x is BoundColumn => x !== undefined)));
  }

  private async bindSelect(node: QueryNode, env: CteEnv, parent: Scope | undefined): Promise<BoundColumn[]> {
    const from = node.from_table ? await this.bindTableRef(node.from_table, env, parent) : EMPTY_FROM;
    const scope: Scope = { from, parent, items: new Map() };
    const out: (BoundColumn | { pending: Expr; lineage: BoundColumn })[] = [];

    for (const item of node.select_list ?? []) {
      if (item.class === 'STAR') {
        out.push(...(await this.expandStar(item, scope, env)));
        continue;
      }
      if (this.isStarFilter(item)) {
        out.push(...(await this.expandStarFilter(item, scope)));
        continue;
      }
      const columnsStar = findColumnsStar(item);
      if (columnsStar) {
        // `min(COLUMNS(*))`: one output column per matched column, named after it.
        const matched = await this.expandStar(columnsStar, scope, env);
        for (const m of matched) {
          const marker: BoundMarker = { class: BOUND, type: BOUND, col: m };
          const expr = replaceNode(item, columnsStar, marker);
          const l = await this.exprLineage(expr, scope, env);
          out.push({ ...l, name: item.alias || m.name });
        }
        continue;
      }
      if (item.class === 'FUNCTION' && ['unnest', 'unlist'].includes(lc(item.function_name ?? '')) && !item.alias && item.children?.length === 1 && item.children[0]!.class === 'COLUMN_REF') {
        // unnest(s) of a struct whose fields are known: one column per field, as DuckDB gives.
        const r = this.resolve(item.children[0]!.column_names ?? [], scope);
        const target = r ? Binder.field(r.col, r.rest) : undefined;
        if (target?.fields) {
          out.push(...target.fields.values());
          continue;
        }
      }
      const l = await this.exprLineage(item, scope, env);
      if (item.alias) {
        const col = { ...l, name: item.alias };
        out.push(col);
        scope.items!.set(lc(item.alias), col);
      } else if (item.class === 'COLUMN_REF') {
        out.push(l); // named after the resolved column (or the last name part)
      } else {
        out.push({ pending: item, lineage: l });
      }
    }

    const pending = out.filter((o): o is { pending: Expr; lineage: BoundColumn } => 'pending' in o);
    let names: string[];
    try {
      names = await this.sql.exprTexts(pending.map((p) => p.pending));
    } catch (err) {
      this.warn(`cannot name unaliased expressions as DuckDB does (${(err as Error).message.split('\n')[0]}): add aliases`);
      names = pending.map((_, i) => `?column${i}?`);
    }
    const named = new Map(pending.map((p, i) => [p, names[i]!]));
    return out.map((o) => ('pending' in o ? { ...o.lineage, name: named.get(o)! } : o));
  }

  // ---------------------------------------------------------------- FROM

  private async bindTableRef(ref: TableRef, env: CteEnv, outer: Scope | undefined): Promise<FromScope> {
    switch (ref.type) {
      case 'EMPTY':
        return EMPTY_FROM;
      case 'BASE_TABLE':
        return this.bindBaseTable(ref, env);
      case 'SUBQUERY': {
        const cols = applyAliases(await this.bindQuery(ref.subquery!.node, env, outer), ref.column_name_alias);
        const b: Binding = { alias: lc(ref.alias || 'unnamed_subquery'), columns: cols, label: ref.alias || 'a subquery' };
        return single(b);
      }
      case 'JOIN':
        return this.bindJoin(ref, env, outer);
      case 'EXPRESSION_LIST': {
        const rows = ref.values ?? [];
        const width = rows[0]?.length ?? 0;
        const scope: Scope = { from: EMPTY_FROM, parent: outer };
        const cols: BoundColumn[] = [];
        for (let i = 0; i < width; i++) {
          const parts: BoundColumn[] = [];
          for (const row of rows) if (row[i]) parts.push(await this.exprLineage(row[i]!, scope, env));
          const col = combine(`col${i}`, parts);
          cols.push({ ...col, kind: maxKind('derived', col.kind) });
        }
        return single({ alias: lc(ref.alias || 'valueslist'), columns: applyAliases(cols, ref.column_name_alias), label: 'VALUES' });
      }
      case 'TABLE_FUNCTION':
        return this.bindTableFunction(ref, env, outer);
      default: {
        this.warn(`FROM item of type ${ref.type} is not traced: columns read from it have no lineage`);
        return single({ alias: lc(ref.alias ?? ''), label: ref.type });
      }
    }
  }

  private bindBaseTable(ref: TableRef, env: CteEnv): FromScope {
    const table = ref.table_name ?? '';
    const schema = ref.schema_name ?? '';
    const alias = ref.alias || table;
    if (!schema && !ref.catalog_name && env.has(lc(table))) {
      const cols = applyAliases(env.get(lc(table))!, ref.column_name_alias);
      return single({ alias: lc(alias), columns: cols, label: table });
    }
    const { id, columns: names } = this.relation(this.mapRelation?.(schema, table) ?? relationIdOf(schema, table));
    const binding: Binding = {
      alias: lc(alias),
      schema: ref.alias ? undefined : lc(schema || 'main'),
      label: id,
      ...(names
        ? { columns: applyAliases(names.map((n) => this.baseColumn(id, n)), ref.column_name_alias) }
        : { relationId: id }),
    };
    return single(binding);
  }

  /** A column of a base relation; a struct column of a traced model gets fields (edges to `s.p`). */
  private baseColumn(id: string, n: string): BoundColumn {
    const fields = this.fieldsOf?.(id, n);
    const col: BoundColumn = { name: n, sources: [{ relation: id, column: n }], kind: 'direct' };
    if (!fields?.length) return col;
    return { ...col, fields: new Map(fields.map((f) => [lc(f), { name: f, sources: [{ relation: id, column: `${n}.${f}` }], kind: 'direct' as const }])) };
  }

  private async bindTableFunction(ref: TableRef, env: CteEnv, outer: Scope | undefined): Promise<FromScope> {
    const fn = ref.function!;
    const name = lc(fn.function_name ?? '');
    const scope: Scope = { from: EMPTY_FROM, parent: outer };
    if (['unnest', 'unlist', 'range', 'generate_series'].includes(name)) {
      // One column computed from the arguments (which may reference earlier FROM items).
      const args: BoundColumn[] = [];
      for (const a of fn.children ?? []) args.push(await this.exprLineage(a, scope, env));
      const base = combine(ref.column_name_alias?.[0] ?? (name === 'unlist' ? 'unnest' : name), args);
      const col: BoundColumn = { ...base, kind: maxKind('derived', base.kind) };
      return single({ alias: lc(ref.alias || name), columns: [col], label: `${name}()` });
    }
    this.warn(`table function ${fn.function_name}(...) is not traced: columns read from it have no lineage`);
    if (ref.column_name_alias?.length) {
      const cols = ref.column_name_alias.map((n) => ({ name: n, sources: [], kind: 'unknown' as const }));
      return single({ alias: lc(ref.alias || name), columns: cols, label: `${name}()` });
    }
    return single({ alias: lc(ref.alias || name), label: `${name}()` });
  }

  private async bindJoin(ref: TableRef, env: CteEnv, outer: Scope | undefined): Promise<FromScope> {
    const left = await this.bindTableRef(ref.left!, env, outer);
    // The right side may reference the left one (LATERAL subqueries, unnest(t.list)).
    const right = await this.bindTableRef(ref.right!, env, { from: left, parent: outer });
    const joinType = ref.join_type ?? 'INNER';
    if (joinType === 'SEMI' || joinType === 'ANTI') return left;

    let using = [...(ref.using_columns ?? [])];
    if (ref.ref_type === 'NATURAL') {
      if (left.star.some((e) => !e.col) || right.star.some((e) => !e.col)) {
        this.warn('NATURAL join over a relation with unknown columns: its join columns cannot be known');
      }
      const rightNames = new Set(right.star.filter((e) => e.col).map((e) => lc(e.col!.name)));
      using = left.star.filter((e) => e.col && rightNames.has(lc(e.col.name))).map((e) => e.col!.name);
    }

    const merged = new Map([...left.merged, ...right.merged]);
    let star = [...left.star];
    let rightStar = [...right.star];
    for (const u of using) {
      const l = this.lookupUnqualified(left, u);
      const r = this.lookupUnqualified(right, u);
      // DuckDB takes the value from the left (INNER, LEFT), the right (RIGHT) or both (FULL).
      const picked = joinType === 'RIGHT' ? [r] : joinType === 'OUTER' || joinType === 'FULL' ? [l, r] : [l];
      const present = picked.filter((c): c is BoundColumn => c !== undefined);
      if (present.length === 0) {
        this.warn(`USING column "${u}" is not found on either side of the join`);
        continue;
      }
      const col = combine(l?.name ?? r?.name ?? u, present);
      merged.set(lc(u), col);
      const i = star.findIndex((e) => e.col && lc(e.col.name) === lc(u));
      if (i >= 0) star[i] = { binding: star[i]!.binding, col };
      rightStar = rightStar.filter((e) => !(e.col && lc(e.col.name) === lc(u)));
    }
    star = [...star, ...rightStar];
    return { bindings: [...left.bindings, ...right.bindings], star, merged };
  }

  // ---------------------------------------------------------------- names

  private lookupIn(b: Binding, name: string): BoundColumn | undefined {
    if (b.columns) return b.columns.find((c) => lc(c.name) === lc(name));
    if (b.relationId) return { name, sources: [{ relation: b.relationId, column: name }], kind: 'direct' };
    return { name, sources: [], kind: 'unknown' };
  }

  private lookupUnqualified(from: FromScope, name: string): BoundColumn | undefined {
    const key = lc(name);
    const merged = from.merged.get(key);
    if (merged) return merged;
    const known: { b: Binding; c: BoundColumn }[] = [];
    for (const b of from.bindings) {
      const c = b.columns?.find((x) => lc(x.name) === key);
      if (c) known.push({ b, c });
    }
    if (known.length === 1) return known[0]!.c;
    if (known.length > 1) {
      this.warn(`column "${name}" is ambiguous (${known.map((k) => k.b.label).join(', ')}): lineage counts all of them`);
      return combine(known[0]!.c.name, known.map((k) => k.c));
    }
    const unknown = from.bindings.filter((b) => !b.columns);
    if (unknown.length === 0) return undefined;
    const cols = unknown.map((b) => this.lookupIn(b, name)!);
    if (unknown.length > 1) {
      this.warn(`column "${name}" may come from any of ${unknown.map((b) => b.label).join(', ')} (columns unknown): lineage counts all of them`);
    }
    return combine(name, cols);
  }

  /** Resolve `a`, `t.a`, `schema.t.a`, `a.field`, `t.a.field` in one FROM scope. */
  private resolveIn(parts: readonly string[], from: FromScope): { col: BoundColumn; field: boolean; rest: readonly string[] } | undefined {
    const lp = parts.map(lc);
    const n = parts.length;
    // Longest qualification first: catalog.schema.table.col, schema.table.col, table.col.
    for (const q of [3, 2, 1]) {
      if (n <= q) continue;
      const [a, b] = q === 3 ? [lp[1], lp[2]] : q === 2 ? [lp[0], lp[1]] : [undefined, lp[0]];
      for (const bind of from.bindings) {
        if (bind.alias !== b) continue;
        if (a !== undefined && bind.schema !== a) continue;
        const col = this.lookupIn(bind, parts[q]!);
        if (col) return { col, field: n > q + 1, rest: parts.slice(q + 1) };
      }
    }
    const col = this.lookupUnqualified(from, parts[0]!);
    return col ? { col, field: n > 1, rest: parts.slice(1) } : undefined;
  }

  private resolve(parts: readonly string[], scope: Scope): { col: BoundColumn; field: boolean; rest: readonly string[] } | undefined {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const r = this.resolveIn(parts, s.from);
      if (r) return r;
      const item = s.items?.get(lc(parts[0]!));
      if (item) return { col: item, field: parts.length > 1, rest: parts.slice(1) };
    }
    return undefined;
  }

  /** The lineage of field `path` of struct column `col`, as far as its fields are known. */
  private static field(col: BoundColumn, path: readonly string[]): BoundColumn {
    let at = col;
    for (const p of path) {
      const f = at.fields?.get(lc(p));
      if (!f) return at;
      at = f;
    }
    return at;
  }

  // ---------------------------------------------------------------- stars

  /** Columns a `*`, `t.*`, `COLUMNS(...)` stands for, after EXCLUDE / REPLACE / RENAME. */
  private async expandStar(star: Expr, scope: Scope, env: CteEnv): Promise<BoundColumn[]> {
    let entries: StarEntry[];
    const rel = star.relation_name;
    if (rel) {
      const b = scope.from.bindings.find((x) => x.alias === lc(rel));
      if (!b) {
        // `s.*` of a struct column whose fields are known: one column per field.
        const r = this.resolve([rel], scope);
        if (r?.col.fields) return [...r.col.fields.values()];
        this.warn(`${rel}.* does not name a FROM item (struct expansion is not traced)`);
        return [];
      }
      entries = b.columns ? b.columns.map((col) => ({ binding: b, col })) : [{ binding: b }];
    } else {
      entries = [...scope.from.star];
    }
    const unknown = entries.filter((e) => !e.col);
    for (const e of unknown) this.warn(`\`*\` over ${e.binding.label} cannot be expanded: its columns are unknown and are not listed`);
    entries = entries.filter((e) => e.col);

    if (star.columns && star.expr) entries = await this.filterByColumnsExpr(entries, star.expr);

    const excluded = new Set((star.exclude_list ?? []).map(lc));
    const qualified = star.qualified_exclude_list ?? [];
    entries = entries.filter((e) => {
      const n = lc(e.col!.name);
      if (excluded.has(n)) return false;
      return !qualified.some((q) => lc(q.column) === n && (!q.table || lc(q.table) === e.binding.alias));
    });

    const out: BoundColumn[] = [];
    for (const e of entries) {
      let col = e.col!;
      const rep = star.replace_list?.find((r) => lc(r.key) === lc(col.name));
      if (rep) col = { ...(await this.exprLineage(rep.value, scope, env)), name: col.name };
      const ren = star.rename_list?.find((r) => lc(r.key.column) === lc(col.name) && (!r.key.table || lc(r.key.table) === e.binding.alias));
      if (ren) col = { ...col, name: ren.value };
      out.push(col);
    }
    return out;
  }

  /** Keep the star entries `COLUMNS(regex | list | lambda)` selects; DuckDB evaluates the filter. */
  private async filterByColumnsExpr(entries: StarEntry[], expr: Expr): Promise<StarEntry[]> {
    const names = [...new Set(entries.map((e) => e.col!.name))];
    const list = this.sql.listLiteral(names);
    let sql: string;
    if (expr.class === 'CONSTANT' && expr.value?.type?.id === 'VARCHAR' && typeof expr.value.value === 'string') {
      sql = `list_filter(${list}, __lake_c__ -> regexp_matches(__lake_c__, ${quoteLiteral(expr.value.value)}))`;
    } else {
      // `COLUMNS(c -> ...)` arrives as list_filter(*, lambda); `COLUMNS(['a', 'b'])` as a list.
      const ref = await this.sql.columnRef('__lake_names__');
      const [text] = await this.sql.exprTexts([replaceStars(expr, ref)]);
      sql = `(select ${text} from (select ${list} as __lake_names__) as __lake_t__)`;
    }
    return this.keepNamed(entries, sql, 'COLUMNS(...)');
  }

  private isStarFilter(e: Expr): boolean {
    const first = e.children?.[0];
    return e.class === 'FUNCTION' && first?.class === 'STAR' && !first.columns && !first.expr;
  }

  /** `* LIKE 'a%'`, `* SIMILAR TO '...'`, `* GLOB ...`. */
  private async expandStarFilter(e: Expr, scope: Scope): Promise<BoundColumn[]> {
    const star = e.children![0]!;
    const rel = star.relation_name;
    const b = rel ? scope.from.bindings.find((x) => x.alias === lc(rel)) : undefined;
    let entries: StarEntry[] = rel ? (b?.columns ?? []).map((col) => ({ binding: b!, col })) : scope.from.star.filter((x) => x.col);
    const ref = await this.sql.columnRef('__lake_c__');
    const [text] = await this.sql.exprTexts([{ ...e, children: [ref, ...e.children!.slice(1)] }]);
    const list = this.sql.listLiteral([...new Set(entries.map((x) => x.col!.name))]);
    entries = await this.keepNamed(entries, `list_filter(${list}, __lake_c__ -> ${text})`, 'a star pattern');
    return entries.map((x) => x.col!);
  }

  private async keepNamed(entries: StarEntry[], listSql: string, what: string): Promise<StarEntry[]> {
    try {
      const keep = new Set(await this.sql.nameList(listSql));
      return entries.filter((e) => keep.has(e.col!.name));
    } catch (err) {
      this.warn(`cannot evaluate ${what}: ${(err as Error).message.split('\n')[0]}; all columns are counted`);
      return entries;
    }
  }

  // ---------------------------------------------------------------- expressions

  /** Lineage of one value expression; a bare column reference passes its kind through. */
  async exprLineage(e: Expr | BoundMarker, scope: Scope, env: CteEnv): Promise<BoundColumn> {
    if (e.class === BOUND) return (e as BoundMarker).col;
    const edges = new EdgeSet();
    const state = { kind: 'direct' as LineageKind, passThrough: undefined as BoundColumn | undefined, top: e as Expr };
    await this.walk(e as Expr, scope, env, new Set(), edges, state);
    if (state.passThrough) return state.passThrough;
    const parts = (e as Expr).column_names;
    const name = parts?.length ? parts[parts.length - 1]! : '';
    const x = e as Expr;
    if (x.class === 'FUNCTION' && lc(x.function_name ?? '') === 'struct_pack' && (x.children ?? []).every((c) => c.alias)) {
      // A struct built field by field ({'p': x} is struct_pack(p := x)): each field keeps its own lineage.
      const fields = new Map<string, BoundColumn>();
      for (const c of x.children ?? []) fields.set(lc(c.alias!), { ...(await this.exprLineage(c, scope, env)), name: c.alias! });
      return { name, sources: edges.list, kind: maxKind('derived', state.kind), fields };
    }
    return { name, sources: edges.list, kind: maxKind('derived', state.kind) };
  }

  private async walkFunction(
    e: Expr,
    scope: Scope,
    env: CteEnv,
    params: ReadonlySet<string>,
    edges: EdgeSet,
    state: { kind: LineageKind; passThrough: BoundColumn | undefined; top: Expr },
    walkAll: (v: unknown) => Promise<void>,
  ): Promise<void> {
    const fn = lc(e.function_name ?? '');
    if (this.functions.aggregates.has(fn)) state.kind = maxKind(state.kind, 'aggregate');
    // FILTER (WHERE ...) and ORDER BY inside an aggregate choose rows, they are not values.
    for (const child of e.children ?? []) {
      if (child.class === 'LAMBDA' && this.functions.lambdas.has(fn)) {
        const names = new Set(params);
        collectColumnNames(child.lhs, names);
        await this.walk(child.expr!, scope, env, names, edges, state);
      } else {
        await walkAll(child);
      }
    }
  }

  private async walk(
    e: Expr,
    scope: Scope,
    env: CteEnv,
    params: ReadonlySet<string>,
    edges: EdgeSet,
    state: { kind: LineageKind; passThrough: BoundColumn | undefined; top: Expr },
  ): Promise<void> {
    const use = (c: BoundColumn): void => {
      edges.add(c.sources);
      state.kind = maxKind(state.kind, c.kind);
    };
    const walkAll = async (v: unknown): Promise<void> => {
      if (Array.isArray(v)) {
        for (const x of v) await walkAll(x);
      } else if (isExpr(v)) {
        await this.walk(v, scope, env, params, edges, state);
      } else if (isObj(v)) {
        for (const x of Object.values(v)) await walkAll(x);
      }
    };

    switch (e.class) {
      case BOUND:
        use((e as unknown as BoundMarker).col);
        return;
      case 'COLUMN_REF': {
        const parts = e.column_names ?? [];
        if (parts.length === 0 || params.has(lc(parts[0]!))) return; // a lambda parameter
        const r = this.resolve(parts, scope);
        if (!r) {
          this.warn(`column ${parts.map(quoteName).join('.')} is not found in any FROM item`);
          state.kind = 'unknown';
          return;
        }
        // `address.city`: the field's own lineage when the struct's fields are known, else the whole struct's.
        const target = Binder.field(r.col, r.rest);
        use(target);
        if (e === state.top && !r.field) state.passThrough = r.col;
        if (e === state.top && r.field) {
          state.passThrough = { name: parts[parts.length - 1]!, sources: target.sources, kind: maxKind('derived', target.kind), ...(target !== r.col && target.fields ? { fields: target.fields } : {}) };
        }
        return;
      }
      case 'STAR': {
        // A star nested in an expression (`coalesce(*COLUMNS(...))`, `struct_pack(*)`): all of its columns.
        for (const c of await this.expandStar(e, scope, env)) use(c);
        return;
      }
      case 'OPERATOR':
      case 'FUNCTION': {
        // s['p'], struct_extract(s, 'p'): the field's lineage when the struct's fields are known.
        const fnName = e.class === 'FUNCTION' ? lc(e.function_name ?? '') : '';
        const [col, key] = e.children ?? [];
        const extract = (e.class === 'OPERATOR' && e.type === 'ARRAY_EXTRACT') || fnName === 'struct_extract';
        if (extract && col?.class === 'COLUMN_REF' && key?.class === 'CONSTANT' && typeof (key as { value?: { value?: unknown } }).value?.value === 'string') {
          const r = this.resolve(col.column_names ?? [], scope);
          const f = r ? Binder.field(r.col, [...r.rest, String((key as { value: { value: string } }).value.value)]) : undefined;
          if (r && f && f !== Binder.field(r.col, r.rest)) {
            use(f);
            return;
          }
        }
        if (e.class === 'OPERATOR') {
          for (const [k, v] of Object.entries(e)) if (k !== 'class' && k !== 'type' && k !== 'alias') await walkAll(v);
          return;
        }
        return this.walkFunction(e, scope, env, params, edges, state, walkAll);
      }
      case 'WINDOW':
        state.kind = maxKind(state.kind, 'window');
        // The value only: PARTITION BY, ORDER BY, frame bounds and FILTER choose rows.
        await walkAll([e.children ?? [], e.offset_expr, e.default_expr]);
        return;

      case 'SUBQUERY': {
        if (e.child) await walkAll(e.child);
        if (e.subquery_type === 'EXISTS' || e.subquery_type === 'NOT_EXISTS') return;
        const cols = await this.bindQuery(e.subquery!.node, env, scope);
        if (cols[0]) use(cols[0]);
        return;
      }
      case 'LAMBDA':
        // Outside a lambda-taking function, `a -> b` is the JSON extract operator.
        await walkAll([e.lhs, e.expr]);
        return;
      default:
        for (const [k, v] of Object.entries(e)) {
          if (k !== 'class' && k !== 'type' && k !== 'alias') await walkAll(v);
        }
    }
  }
}

function single(b: Binding): FromScope {
  return { bindings: [b], star: b.columns ? b.columns.map((col) => ({ binding: b, col })) : [{ binding: b }], merged: new Map() };
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function collectColumnNames(e: unknown, into: Set<string>): void {
  if (Array.isArray(e)) e.forEach((x) => collectColumnNames(x, into));
  else if (isExpr(e) && e.class === 'COLUMN_REF') into.add(lc(e.column_names?.[0] ?? ''));
  else if (isObj(e)) Object.values(e).forEach((x) => collectColumnNames(x, into));
}

/** The first `COLUMNS(...)` star inside an expression (not inside a subquery or an unpack). */
function findColumnsStar(e: unknown): Expr | undefined {
  if (Array.isArray(e)) {
    for (const x of e) {
      const f = findColumnsStar(x);
      if (f) return f;
    }
    return undefined;
  }
  if (!isObj(e)) return undefined;
  if (isExpr(e)) {
    if (e.class === 'STAR' && e.columns) return e;
    if (e.class === 'SUBQUERY' || e.type === 'OPERATOR_UNPACK') return undefined;
  }
  for (const v of Object.values(e)) {
    const f = findColumnsStar(v);
    if (f) return f;
  }
  return undefined;
}

/** A copy of `e` with the node `target` (by identity) replaced. */
function replaceNode<T>(e: T, target: unknown, by: unknown): T {
  if (e === target) return by as T;
  if (Array.isArray(e)) return e.map((x) => replaceNode(x, target, by)) as T;
  if (isObj(e)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) out[k] = replaceNode(v, target, by);
    return out as T;
  }
  return e;
}

/** A copy of `e` with every plain `*` replaced by `by`. */
function replaceStars(e: Expr, by: Expr): Expr {
  const go = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(go);
    if (isExpr(v) && v.class === 'STAR' && !v.columns) return by;
    if (isObj(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = go(x);
      return out;
    }
    return v;
  };
  return go(e) as Expr;
}
