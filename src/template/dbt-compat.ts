/**
 * What dbt's Jinja (Python) gives templates beyond Nunjucks: Python's string methods
 * (`"a".upper()`, `s.strip()`, `s.split()`), string slices and negative indexes (`s[0:2]`,
 * `s[-1]`, `l[-1]`), tuples (`('a', 'b')`), `%` formatting and `*` repetition, the Jinja filters Nunjucks lacks (`map`, `min`, `max`, `unique`, `items`,
 * `format`), dbt's context functions that need no database (`zip`, `fromjson`, `tojson`,
 * `fromyaml`, `toyaml`, `set`, `local_md5`, `print`), and dbt's cross-database macros
 * (`dbt.dateadd(...)`, `dbt.type_string()`, ...) written for DuckDB.
 *
 * Installed once into Nunjucks' runtime (string members, slices) and into each environment.
 */
import { pythonUnescape } from './python-string.js';
import { datetimeAdd, datetimeSub } from './python-datetime.js';
import { markTuple, isTuple, printable, truthy, pyCompare, pyEq, pyStr, isPlain, loopCycle, loopChanged, pyNumber, pyFloat, isPyFloat, toList } from './python-repr.js';
import { crossDatabaseMacros, keywordCallable } from './dbt-macros.js';
import { bindArgs, splitKwargs } from './call-args.js';
import { fromYaml, toYaml } from './python-yaml.js';
import { percentFormat, pyFormat } from './python-format.js';
import { createHash } from 'node:crypto';
import nunjucks from 'nunjucks';

/** Nunjucks' AST node classes (public as `nunjucks.nodes`, missing from @types/nunjucks). */
const nodes = (nunjucks as unknown as { nodes: Record<'FunCall' | 'Symbol' | 'NodeList', new (lineno: number, colno: number, ...a: unknown[]) => unknown> }).nodes;

type Fn = (...args: unknown[]) => unknown;

const WS = /\s+/;

const strip = (s: string, chars: unknown, side: 'both' | 'left' | 'right') => {
  if (chars === undefined || chars === null) return side === 'left' ? s.trimStart() : side === 'right' ? s.trimEnd() : s.trim();
  const set = String(chars);
  let a = 0;
  let b = s.length;
  if (side !== 'right') while (a < b && set.includes(s[a]!)) a++;
  if (side !== 'left') while (b > a && set.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
};

/** Python's str methods, bound to a string by the member lookup. */
const STRING_MEMBERS: Record<string, (s: string, ...a: unknown[]) => unknown> = {
  upper: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  strip: (s, c) => strip(s, c, 'both'),
  lstrip: (s, c) => strip(s, c, 'left'),
  rstrip: (s, c) => strip(s, c, 'right'),
  startswith: (s, p) => (Array.isArray(p) ? p.some((x) => s.startsWith(String(x))) : s.startsWith(String(p))),
  endswith: (s, p) => (Array.isArray(p) ? p.some((x) => s.endsWith(String(x))) : s.endsWith(String(p))),
  title: (s) => s.toLowerCase().replace(/(^|[^A-Za-z0-9])([a-z])/g, (_m, a: string, b: string) => a + b.toUpperCase()),
  capitalize: (s) => (s ? s[0]!.toUpperCase() + s.slice(1).toLowerCase() : s),
  find: (s, sub) => s.indexOf(String(sub)),
  rfind: (s, sub) => s.lastIndexOf(String(sub)),
  index: (s, sub) => {
    const i = s.indexOf(String(sub));
    if (i < 0) throw new Error(`substring ${JSON.stringify(sub)} not found`);
    return i;
  },
  count: (s, sub) => (String(sub) === '' ? s.length + 1 : s.split(String(sub)).length - 1),
  // Python's replace changes every occurrence (JavaScript's only the first), or the first n.
  replace: (s, a, b, n) => {
    const from = String(a);
    const to = String(b);
    if (n === undefined || n === null || Number(n) < 0) return s.split(from).join(to);
    let out = s;
    let at = 0;
    for (let k = 0; k < Number(n); k++) {
      const i = out.indexOf(from, at);
      if (i < 0) break;
      out = out.slice(0, i) + to + out.slice(i + from.length);
      at = i + to.length;
    }
    return out;
  },
  split: (s, sep, max) => {
    const parts = sep === undefined || sep === null ? s.trim().split(WS).filter((x) => x !== '') : s.split(String(sep));
    if (max === undefined || max === null || Number(max) < 0 || parts.length <= Number(max) + 1) return parts;
    const m = Number(max);
    const joiner = sep === undefined || sep === null ? ' ' : String(sep);
    return [...parts.slice(0, m), parts.slice(m).join(joiner)];
  },
  rsplit: (s, sep, max) => {
    const parts = sep === undefined || sep === null ? s.trim().split(WS).filter((x) => x !== '') : s.split(String(sep));
    if (max === undefined || max === null || Number(max) < 0 || parts.length <= Number(max) + 1) return parts;
    const keep = parts.length - Number(max);
    return [parts.slice(0, keep).join(sep === undefined || sep === null ? ' ' : String(sep)), ...parts.slice(keep)];
  },
  partition: (s, sep) => {
    const i = s.indexOf(String(sep));
    return markTuple(i < 0 ? [s, '', ''] : [s.slice(0, i), String(sep), s.slice(i + String(sep).length)]);
  },
  splitlines: (s) => s.split(/\r?\n/),
  join: (s, items) => (Array.isArray(items) ? items.map(String).join(s) : String(items ?? '')),
  format: (s, ...args) => pyFormat(s, args),
  zfill: (s, w) => (s.startsWith('-') ? `-${s.slice(1).padStart(Number(w) - 1, '0')}` : s.padStart(Number(w), '0')),
  ljust: (s, w, c) => s.padEnd(Number(w), c === undefined ? ' ' : String(c)),
  rjust: (s, w, c) => s.padStart(Number(w), c === undefined ? ' ' : String(c)),
  // Python's center(width, fillchar): the extra fill on the right, unless both the string's and the width's lengths are odd.
  center: (s, w, c) => {
    const total = Math.max(0, Number(w) - s.length);
    const fill = c === undefined ? ' ' : String(c);
    const left = Math.floor(total / 2) + (total & Number(w) & 1);
    return fill.repeat(left) + s + fill.repeat(total - left);
  },
  isdigit: (s) => /^\d+$/.test(s),
  isnumeric: (s) => /^\d+$/.test(s),
  isalpha: (s) => /^[A-Za-z]+$/.test(s),
  isalnum: (s) => /^[A-Za-z0-9]+$/.test(s),
  isupper: (s) => /[A-Z]/.test(s) && s === s.toUpperCase(),
  islower: (s) => /[a-z]/.test(s) && s === s.toLowerCase(),
  isspace: (s) => /^\s+$/.test(s),
  swapcase: (s) => s.replace(/[A-Za-z]/g, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())),
  removeprefix: (s, p) => (s.startsWith(String(p)) ? s.slice(String(p).length) : s),
  removesuffix: (s, p) => (String(p) && s.endsWith(String(p)) ? s.slice(0, -String(p).length) : s),
};

/** Python's list.extend (Nunjucks' Jinja compat has append, insert, pop...). */
const EXTRA_ARRAY_MEMBERS: Record<string, (a: unknown[], ...x: unknown[]) => unknown> = {
  extend: (a, items) => {
    if (Array.isArray(items)) a.push(...items);
    return '';
  },
};

/** Python's `items[start:stop:step]`: bounds past either end clamp, negative ones count from the end. */
function slicePy<T>(items: readonly T[], start: unknown, stop: unknown, step: unknown): T[] {
  const n = items.length;
  const st = step === undefined || step === null ? 1 : Math.trunc(Number(step));
  if (st === 0 || Number.isNaN(st)) throw new Error('slice step cannot be zero');
  const norm = (v: unknown, dflt: number) => {
    if (v === undefined || v === null) return dflt;
    let x = Math.trunc(Number(v));
    if (x < 0) x += n;
    return st > 0 ? Math.min(Math.max(x, 0), n) : Math.min(Math.max(x, -1), n - 1);
  };
  const out: T[] = [];
  if (st > 0) for (let i = norm(start, 0), end = norm(stop, n); i < end; i += st) out.push(items[i]!);
  else for (let i = norm(start, n - 1), end = norm(stop, -1); i > end; i += st) out.push(items[i]!);
  return out;
}

function sliceString(s: string, start: unknown, stop: unknown, step: unknown): string {
  return slicePy([...s], start, stop, step).join('');
}

let installed = false;

/** dbt Relation attributes `ref('x').identifier` etc. give (lake's ref() gives a placeholder string). */
const RELATION_ATTRIBUTES = new Set(['identifier', 'schema', 'name', 'table', 'database']);
let refAttribute: ((placeholder: string, attr: string) => unknown) | undefined;

/** The rendering engine says how a ref placeholder's attributes resolve (set as each render starts). */
export function setRefAttributes(fn: (placeholder: string, attr: string) => unknown): void {
  refAttribute = fn;
}

interface ForNode {
  name: unknown;
  arr: unknown;
  body: unknown;
}

interface IfNode {
  cond: unknown;
  body: unknown;
  else_: unknown;
}

interface LexerState {
  forward(): void;
  isFinished(): boolean;
  current(): string;
}

interface CompilerProto {
  compileGroup(this: CompilerProto, node: { children: unknown[] }, frame: unknown): void;
  compileMod(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
  compileMul(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
  _compileAggregate(node: unknown, frame: unknown, open: string, close: string): void;
  compile(node: unknown, frame: unknown): void;
  _emit(code: string): void;
  _getNodeName(node: unknown): string;
  _tmpid(): string;
  _compileExpression(node: unknown, frame: unknown): void;
  _emitLine(code: string): void;
  _withScopedSyntax(fn: () => void): void;
  compileIf(this: CompilerProto, node: IfNode, frame: unknown, async?: boolean): void;
  compileFor(this: CompilerProto, node: ForNode, frame: unknown): void;
  compileKeywordArgs(this: CompilerProto, node: { children: { key: { value?: unknown }; value: unknown }[] }, frame: unknown): void;
  compilePair(this: CompilerProto, node: { key: { typename?: string; value?: unknown }; value: unknown }, frame: unknown): void;
  compileCompare(this: CompilerProto, node: { expr: unknown; ops: { type: string; expr: unknown }[] }, frame: unknown): void;
  compileConcat(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
  compileLakeIterationScope(this: CompilerProto, node: { body: unknown }, frame: unknown): void;
  compileLakeLoopControl(this: CompilerProto, node: { kind: string; lineno: number; colno: number }): void;
  _compileMacro(this: CompilerProto, ...args: unknown[]): unknown;
  compileCapture(this: CompilerProto, ...args: unknown[]): unknown;
  _emitLoopBindings(this: CompilerProto, node: unknown, arr: string, i: string, len: string): void;
  fail(message: string, lineno?: number, colno?: number): never;
  compileInlineIf(this: CompilerProto, node: IfNode, frame: unknown): void;
  compileNot(this: CompilerProto, node: { target: unknown }, frame: unknown): void;
  compileAnd(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
  compileOr(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
  compileAdd(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
  compileSub(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
  compileDiv(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
}

let defaultDatabase: string | null = null;

/** The catalog relations are in unless they say (dbt-duckdb's database: the file's stem). */
export function setDefaultDatabase(name: string): void {
  defaultDatabase = name;
}

/** dbt-duckdb's database name of a target path: the file's stem, `memory` for :memory:. */
export function catalogName(targetPath: string): string {
  return targetPath === ':memory:' ? 'memory' : targetPath.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
}

/**
 * A relation given to a macro (a generic test's `model`, a `ref()` argument): prints as its SQL,
 * and looks like dbt's Relation to the macros that check (dbt_utils' `_is_relation`:
 * `obj.get('metadata', {}).get('type', '').endswith('Relation')`), with database, schema, identifier.
 * `shown`: what it prints instead (a source filtered to a microbatch's batch, or empty under --empty; `.render()` is `sql`).
 */
export function relationValue(sql: string, shown = sql): string {
  const parts = /^("(?:[^"]|"")+"|\w+)(?:\.("(?:[^"]|"")+"|\w+))?(?:\.("(?:[^"]|"")+"|\w+))?$/.exec(sql.trim());
  const unquote = (p: string | undefined) => (p === undefined ? undefined : p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p);
  const names = parts ? [parts[1], parts[2], parts[3]].filter((x): x is string => x !== undefined).map(unquote) : [];
  const identifier = names[names.length - 1] ?? null;
  const schema = names.length >= 2 ? names[names.length - 2] : null;
  const database = names.length === 3 ? names[0] : defaultDatabase;
  const rel = new String(shown) as unknown as Record<string, unknown>;
  Object.assign(rel, {
    metadata: { type: 'Relation' }, database, schema, identifier, name: identifier, table: identifier,
    is_table: true, is_view: false, is_cte: false, type: null,
    get: (k: unknown, d: unknown) => (k !== undefined && Object.prototype.hasOwnProperty.call(rel, String(k)) ? rel[String(k)] : d),
    render: () => sql, include: () => rel, quote: () => rel,
  });
  return rel as unknown as string;
}

/** Jinja's namespace(a=1): an object whose attributes `{% set ns.a = ... %}` may change (jinja-source.ts rewrites that to `__lake_set`). */
export function namespace(kwargs?: Record<string, unknown>): Record<string, unknown> {
  const ns: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kwargs ?? {})) if (k !== '__keywords') ns[k] = v;
  Object.defineProperty(ns, '__lake_set', { value: (k: string, v: unknown) => { ns[k] = v; return ''; }, enumerable: false });
  return ns;
}

/** Python's `+`: lists concatenate; everything else as JavaScript adds. */
export function pythonAdd(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (typeof a === 'object' && a !== null) {
    const dt = datetimeAdd(a, b);
    if (dt !== undefined) return dt;
  }
  return decimalResult(a, b, (a as number) + (b as number), Math.max);
}

/** Digits after the point of a query's Decimal (pyNumber: `1.50` has 2), 0 for an integer, else undefined. */
function decimalScale(v: unknown): number | undefined {
  if (v instanceof Number) {
    const m = /^-?\d+(?:\.(\d+))?$/.exec(v.toString());
    return m ? (m[1]?.length ?? 0) : undefined;
  }
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'boolean' ? 0 : undefined;
}

/**
 * `n`, the sum, difference or product of `a` and `b`, as Python's Decimal keeps it when one of them
 * is a query's Decimal: with `scale(a's, b's)` digits after the point (`1.50 + 1` is `2.50`).
 */
function decimalResult(a: unknown, b: unknown, n: number, scale: (x: number, y: number) => number): unknown {
  if (!(a instanceof Number) && !(b instanceof Number)) return n;
  // A float with a number is a float (Python's int + float).
  if (isPyFloat(a) || isPyFloat(b)) return pyFloat(n);
  const sa = decimalScale(a);
  const sb = decimalScale(b);
  return sa === undefined || sb === undefined || !Number.isFinite(n) ? n : pyNumber(n, n.toFixed(scale(sa, sb)));
}

const SPLAT = '__lake_splat';

/** What `**d` in a call becomes (see rewriteSplats): the dict, marked to be spread as keywords. */
export function splat(d: unknown): object {
  return { [SPLAT]: d && typeof d === 'object' ? d : {} };
}

function isSplat(v: unknown): boolean {
  return !!v && typeof v === 'object' && SPLAT in v;
}

const STAR = '__lake_star';

/** What `*xs` in a call becomes (see rewriteSplats): the items, marked to be spread as positional arguments. */
export function star(xs: unknown): object {
  const items = Array.isArray(xs) ? xs : typeof xs === 'string' ? [...xs] : xs && typeof xs === 'object' ? Object.keys(xs).filter((k) => k !== '__keywords') : [];
  return { [STAR]: items };
}

function isStar(v: unknown): boolean {
  return !!v && typeof v === 'object' && STAR in v;
}

/** Arguments with each `*xs` spread in its place. */
function spreadPositional(args: unknown[]): unknown[] {
  return args.flatMap((a) => (isStar(a) ? (a as Record<string, unknown[]>)[STAR]! : [a]));
}

/** Arguments with each `**d` merged into the call's keyword arguments (Nunjucks' last `__keywords` object). */
function spreadKeywords(args: unknown[]): unknown[] {
  const rest = args.filter((a) => !isSplat(a));
  const last = rest[rest.length - 1] as Record<string, unknown> | undefined;
  const kw: Record<string, unknown> = last && typeof last === 'object' && last.__keywords ? (rest.pop(), { ...last }) : { __keywords: true };
  for (const a of args) if (isSplat(a)) Object.assign(kw, (a as Record<string, Record<string, unknown>>)[SPLAT]);
  return [...rest, kw];
}

/** Python's `%`: string formatting (`"%02d-%s" % (5, 'x')`), else a modulo with the divisor's sign. */
function pythonMod(a: unknown, b: unknown): unknown {
  // Only a tuple is the list of arguments (`'%s' % [1]` formats the list, as Python does).
  if (typeof a === 'string') return percentFormat(a, Array.isArray(b) && isTuple(b) ? b : [b]);
  const x = Number(a);
  const y = Number(b);
  const r = x % y;
  return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
}

/** Python's `/`: a float (a Decimal operand keeps the old number result); by zero an error, as Python's. */
function pythonDiv(a: unknown, b: unknown): unknown {
  const y = Number(b);
  if (y === 0) throw new Error('division by zero');
  const n = Number(a) / y;
  return (a instanceof Number && !isPyFloat(a)) || (b instanceof Number && !isPyFloat(b)) ? n : pyFloat(n);
}

/** Python's `*`: a string or list repeated (`'-' * 10`), else a product. */
function pythonMul(a: unknown, b: unknown): unknown {
  const rep = (v: unknown, n: unknown) => (typeof v === 'string' ? v.repeat(Math.max(0, Math.trunc(Number(n)))) : Array.from({ length: Math.max(0, Math.trunc(Number(n))) }, () => v as unknown[]).flat());
  if ((typeof a === 'string' || Array.isArray(a)) && typeof b === 'number') return rep(a, b);
  if ((typeof b === 'string' || Array.isArray(b)) && typeof a === 'number') return rep(b, a);
  return decimalResult(a, b, (a as number) * (b as number), (x, y) => x + y);
}

/**
 * Patch Nunjucks once: Python string members, string slices, negative indexes (its runtime), and
 * tuples (its compiler): `('id', 'integer')` compiled to JavaScript's comma operator and gave its
 * last element; a parenthesised list of two or more is now a list, as a Python tuple reads.
 */
export function installRuntimeCompat(runtime: { memberLookup: Fn }, compiler?: { Compiler: { prototype: CompilerProto } }, lexer?: { lex(src: string, opts?: object): object }): void {
  if (installed) return;
  installed = true;
  if (lexer) {
    // String literals read with Python's escapes (python-string.ts): '\d+' keeps its backslash.
    const tok = Object.getPrototypeOf(lexer.lex('')) as { _parseString(this: LexerState, d: string): string };
    tok._parseString = function (this: LexerState, delimiter: string) {
      this.forward();
      let raw = '';
      while (!this.isFinished() && this.current() !== delimiter) {
        const cur = this.current();
        raw += cur;
        this.forward();
        if (cur === '\\' && !this.isFinished()) {
          raw += this.current();
          this.forward();
        }
      }
      this.forward();
      return pythonUnescape(raw);
    };
  }
  if (compiler) {
    const proto = compiler.Compiler.prototype;
    const group = proto.compileGroup;
    proto.compileGroup = function (node, frame) {
      if (node.children.length > 1) {
        // A tuple is a list that prints as a tuple (python-repr.ts).
        this._emit('runtime.__lakeTuple(');
        this._compileAggregate(node, frame, '[', ']');
        this._emit(')');
        return;
      }
      return group.call(this, node, frame);
    };
    // `%` and `*` as Python has them (JavaScript's gave NaN for "%02d" % 5 and 'ab' * 2).
    const call = (fn: string) => function (this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown) {
      this._emit(`runtime.${fn}(`);
      this.compile(node.left, frame);
      this._emit(', ');
      this.compile(node.right, frame);
      this._emit(')');
    };
    // The name Nunjucks puts in a call's error message is the callee's source text, emitted in a
    // JavaScript string without escaping line breaks: a method called on a multi-line string
    // literal (dbt_utils' safe_add: '...\n...'.format(...)) made the compiled template invalid.
    const nodeName = proto._getNodeName;
    proto._getNodeName = function (this: CompilerProto, node: unknown) {
      return String(nodeName.call(this, node)).replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
    };
    // Jinja's loop scope: a {% set %} in a for loop's body lasts for that iteration only (Nunjucks
    // wrote it to the enclosing scope, so `{% set found = true %}` in a loop leaked out). The body
    // runs in a frame of its own, pushed per iteration, that does not write upward.
    const compileFor = proto.compileFor;
    proto.compileFor = function (this: CompilerProto, node: ForNode, frame: unknown) {
      const { body, arr } = node;
      // `{% for x in xs if cond %}` (Jinja's loop filter; Nunjucks parses `xs if cond` as an inline
      // if without else): the items for which cond holds are collected first, so loop.index,
      // loop.length and loop.last count them only.
      const inline = arr as { typename?: string; cond?: unknown; body?: unknown; else_?: unknown; lineno: number; colno: number };
      const loopName = (node.name as { typename?: string; value?: string; children?: { value?: string }[] });
      const names = loopName.typename === 'Symbol' ? [loopName.value!] : loopName.typename === 'Array' ? (loopName.children ?? []).map((c) => c.value!) : [];
      if (inline.typename === 'InlineIf' && (inline.else_ === null || inline.else_ === undefined) && names.length) {
        const [kept, src, i] = [this._tmpid(), this._tmpid(), this._tmpid()];
        this._emitLine(`var ${kept} = [];`);
        this._emit(`var ${src} = `);
        this._compileExpression(inline.body, frame);
        this._emitLine(';');
        this._emitLine(`${src} = runtime.fromIterator(${src}); if (${src} && typeof ${src} === 'object' && !Array.isArray(${src})) ${src} = Object.keys(${src});`);
        const bind = names.length === 1 ? `frame.set(${JSON.stringify(names[0])}, ${src}[${i}]);`
          : names.map((n, k) => `frame.set(${JSON.stringify(n)}, ${src}[${i}][${k}]);`).join(' ');
        this._emitLine(`frame = frame.push(); for (var ${i} = 0; ${src} && ${i} < ${src}.length; ${i}++) { ${bind}`);
        this._emit('if (runtime.__lakeTruthy(');
        this._compileExpression(inline.cond, frame);
        this._emitLine(`)) ${kept}.push(${src}[${i}]); } frame = frame.pop();`);
        const alias = `__lake_filtered_${kept}`;
        (frame as { set(n: string, v: string): void }).set(alias, kept);
        node.arr = new nodes.Symbol(inline.lineno, inline.colno, alias);
      }
      node.body = { typename: 'LakeIterationScope', body };
      // `for key in dict` iterates its keys, as in Python (Nunjucks iterated nothing); `for k, v in ...` is left as it is.
      if ((node.name as { typename?: string }).typename !== 'Array') {
        const at = node.arr as { lineno: number; colno: number };
        node.arr = new nodes.FunCall(at.lineno, at.colno, new nodes.Symbol(at.lineno, at.colno, '__lake_iterable'), new nodes.NodeList(at.lineno, at.colno, [node.arr]));
      }
      try {
        compileFor.call(this, node, frame);
      } finally {
        node.body = body;
        node.arr = arr;
      }
    };

    // Jinja's loop controls (dbt's environment enables the loopcontrols extension): `{% break %}` and
    // `{% continue %}` leave the iteration's frame, then step the JavaScript loop the for compiles to.
    // Each iteration scope records its frame (see outOfReach below for bodies that are functions).
    const loopsOf = (c: CompilerProto) => ((c as unknown as { __lakeLoops?: string[] }).__lakeLoops ??= []);
    proto.compileLakeIterationScope = function (this: CompilerProto, node: { body: unknown }, frame: unknown) {
      const scope = this._tmpid();
      this._emitLine(`var ${scope} = frame = frame.push(true);`);
      const loops = loopsOf(this);
      loops.push(scope);
      try {
        this.compile(node.body, frame);
      } finally {
        loops.pop();
      }
      this._emitLine('frame = frame.pop();');
    };
    proto.compileLakeLoopControl = function (this: CompilerProto, node: { kind: string; lineno: number; colno: number }) {
      const scope = loopsOf(this).at(-1);
      if (!scope) this.fail(`{% ${node.kind} %} outside a for loop`, node.lineno, node.colno);
      this._emitLine(`frame = ${scope}.pop(); ${node.kind};`);
    };
    // The rest of Jinja's loop object: cycle(), changed(), previtem, nextitem, depth, depth0.
    const emitLoopBindings = proto._emitLoopBindings;
    proto._emitLoopBindings = function (this: CompilerProto, node: unknown, arr: string, i: string, len: string) {
      emitLoopBindings.call(this, node, arr, i, len);
      const seen = this._tmpid();
      // depth counts the levels of a recursive loop (which lake does not have), not nesting: 1.
      this._emitLine(`frame.set("loop.cycle", runtime.__lakeCycle(${i})); frame.set("loop.depth", 1); frame.set("loop.depth0", 0);`);
      this._emitLine(`frame.set("loop.previtem", runtime.isArray(${arr}) && ${i} > 0 ? ${arr}[${i} - 1] : undefined); frame.set("loop.nextitem", runtime.isArray(${arr}) && ${i} < ${len} - 1 ? ${arr}[${i} + 1] : undefined);`);
      this._emitLine(`var ${seen} = ${i} === 0 || ${seen} === undefined ? {} : ${seen}; frame.set("loop.changed", runtime.__lakeChanged(${seen}));`);
    };
    Object.assign(runtime, { __lakeCycle: loopCycle, __lakeChanged: loopChanged });
    // A macro, call block or {% set %} block body is a function of its own: the loops around it are out of reach.
    const outOfReach = (name: '_compileMacro' | 'compileCapture') => {
      const compile = proto[name] as (this: CompilerProto, ...args: unknown[]) => unknown;
      (proto as unknown as Record<string, unknown>)[name] = function (this: CompilerProto, ...args: unknown[]) {
        const c = this as unknown as { __lakeLoops?: string[] };
        const outer = c.__lakeLoops;
        c.__lakeLoops = [];
        try {
          return compile.apply(this, args);
        } finally {
          c.__lakeLoops = outer;
        }
      };
    };
    outOfReach('_compileMacro');
    outOfReach('compileCapture');
    // A dict literal's keys are expressions, as in Python: `{c: loop.index}` keys by the value of c
    // (Nunjucks took the name `c` as the key, and refused numbers and other expressions).
    proto.compilePair = function (this: CompilerProto, node: { key: { typename?: string; value?: unknown }; value: unknown }, frame: unknown) {
      const key = node.key;
      if (key.typename === 'Literal' && typeof key.value === 'string') this.compile(key, frame);
      else {
        this._emit('[runtime.__lakeKey(');
        this.compile(key, frame);
        this._emit(')]');
      }
      this._emit(': ');
      this._compileExpression(node.value, frame);
    };
    // Keyword arguments (`f(a=1)`) are a dict of names, not of expressions.
    proto.compileKeywordArgs = function (this: CompilerProto, node: { children: { key: { value?: unknown }; value: unknown }[] }, frame: unknown) {
      this._emit('runtime.makeKeywordArgs({');
      node.children.forEach((pair, i) => {
        if (i > 0) this._emit(',');
        this._emit(`${JSON.stringify(String(pair.key.value))}: `);
        this._compileExpression(pair.value, frame);
      });
      this._emit('})');
    };
    Object.assign(runtime, { __lakeKey: (k: unknown) => (typeof k === 'string' ? k : k instanceof String ? String(k) : pyStr(k === undefined ? null : k)) });
    // Jinja's truth in if / elif, `a if c else b`, not, and, or (python-repr.ts): [] and {} are false.
    proto.compileIf = function (this: CompilerProto, node: IfNode, frame: unknown, async?: boolean) {
      this._emit('if(runtime.__lakeTruthy(');
      this._compileExpression(node.cond, frame);
      this._emitLine(')) {');
      this._withScopedSyntax(() => {
        this.compile(node.body, frame);
        if (async) this._emit('cb()');
      });
      if (node.else_) {
        this._emitLine('}\nelse {');
        this._withScopedSyntax(() => {
          this.compile(node.else_, frame);
          if (async) this._emit('cb()');
        });
      } else if (async) {
        this._emitLine('}\nelse {');
        this._emit('cb()');
      }
      this._emitLine('}');
    };
    proto.compileInlineIf = function (this: CompilerProto, node: IfNode, frame: unknown) {
      this._emit('(runtime.__lakeTruthy(');
      this.compile(node.cond, frame);
      this._emit(')?');
      this.compile(node.body, frame);
      this._emit(':');
      // Jinja's `a if c` without else is undefined (it prints nothing; `| join` of it is '').
      if (node.else_ !== null) this.compile(node.else_, frame);
      else this._emit('undefined');
      this._emit(')');
    };
    proto.compileNot = function (this: CompilerProto, node: { target: unknown }, frame: unknown) {
      this._emit('!runtime.__lakeTruthy(');
      this.compile(node.target, frame);
      this._emit(')');
    };
    // The right side only when needed (`x and x.y()`), as a function evaluated in place.
    const logical = (fn: string) => function (this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown) {
      this._emit(`runtime.${fn}(`);
      this.compile(node.left, frame);
      this._emit(', function() { return ');
      this.compile(node.right, frame);
      this._emit('; })');
    };
    proto.compileAnd = logical('__lakeAnd');
    proto.compileOr = logical('__lakeOr');
    Object.assign(runtime, {
      __lakeTruthy: truthy,
      __lakeAnd: (l: unknown, r: () => unknown) => (truthy(l) ? r() : l),
      __lakeOr: (l: unknown, r: () => unknown) => (truthy(l) ? l : r()),
    });
    // Python's comparisons: `==` without JavaScript's coercions and item by item for lists and
    // dicts, and chains (`3 > 2 > 1` is `3 > 2 and 2 > 1`).
    proto.compileCompare = function (this: CompilerProto, node: { expr: unknown; ops: { type: string; expr: unknown }[] }, frame: unknown) {
      this._emit('runtime.__lakeCompare(');
      this.compile(node.expr, frame);
      for (const op of node.ops) {
        this._emit(`, ${JSON.stringify(op.type)}, `);
        this.compile(op.expr, frame);
      }
      this._emit(')');
    };
    // `~` joins what Python's str() gives (None, True, [1, 2]); an undefined name is ''.
    proto.compileConcat = call('__lakeConcat');
    Object.assign(runtime, { __lakeCompare: pyCompare, __lakeConcat: (a: unknown, b: unknown) => pyStr(a) + pyStr(b) });
    proto.compileMod = call('__lakeMod');
    proto.compileMul = call('__lakeMul');
    // `+` of two lists concatenates them, as in Python (JavaScript made a string of both).
    proto.compileAdd = call('__lakeAdd');
    // A date minus a timedelta, or minus another date (a timedelta), as Python's datetime.
    proto.compileSub = call('__lakeSub');
    // `/` is Python 3's true division: a float, even of two ints (6 / 2 is 3.0).
    proto.compileDiv = call('__lakeDiv');
    const pythonSub = (a: unknown, b: unknown) => (typeof a === 'object' && a !== null && !(a instanceof Number) ? datetimeSub(a, b) ?? (a as unknown as number) - (b as number) : decimalResult(a, b, (a as number) - (b as number), Math.max));
    Object.assign(runtime, { __lakeMod: pythonMod, __lakeMul: pythonMul, __lakeAdd: pythonAdd, __lakeSub: pythonSub, __lakeDiv: pythonDiv, __lakeTuple: markTuple });
    // `f(a, **kwargs)`: the dict's entries are keyword arguments of the call (see spreadKeywords).
    const callWrap = (runtime as unknown as { callWrap: (obj: unknown, name: string, context: unknown, args: unknown[]) => unknown }).callWrap;
    (runtime as unknown as { callWrap: typeof callWrap }).callWrap = function (obj, name, context, args) {
      const positional = args.some(isStar) ? spreadPositional(args) : args;
      return callWrap.call(this, obj, name, context, positional.some(isSplat) ? spreadKeywords(positional) : positional);
    };
  }
  // `{{ list }}`, `{{ dict }}` print as Python prints them.
  const r = runtime as unknown as { suppressValue: (v: unknown, autoescape: boolean) => unknown };
  const suppress = r.suppressValue;
  r.suppressValue = function (this: unknown, v: unknown, autoescape: boolean) {
    return suppress.call(this, printable(v), autoescape);
  };
  const lookup = runtime.memberLookup;
  runtime.memberLookup = function (this: unknown, ...args: unknown[]) {
    const [obj, val] = args;
    // A callable with attributes of its own (`modules.datetime.datetime(...)` and `.now()`) is
    // itself, not a bare wrapper that would lose them.
    if (obj && typeof val === 'string' && args.length !== 4) {
      const v = (obj as Record<string, unknown>)[val];
      if (typeof v === 'function' && (v as { __lakeNamespace?: boolean }).__lakeNamespace) return v;
    }
    if (typeof obj === 'string' || obj instanceof String) {
      const s = String(obj);
      if (refAttribute && typeof val === 'string' && RELATION_ATTRIBUTES.has(val) && s.startsWith('__lake_ref_')) return refAttribute(s, val);
      // Relation methods that give a relation printing the same in DuckDB (one database, quoted names).
      if (refAttribute && (val === 'include' || val === 'quote' || val === 'incorporate') && s.startsWith('__lake_ref_')) return () => s;
      // (`render()` also says, in a microbatch batch or under --empty, that the ref is read whole: see refAttribute.)
      if (refAttribute && val === 'render' && s.startsWith('__lake_ref_')) return () => refAttribute!(s, 'render()');
      // dbt's Relation is a mapping: ref('x').get('metadata', {}).get('type') is its class's name.
      if (refAttribute && val === 'get' && s.startsWith('__lake_ref_')) {
        return (k: unknown, d: unknown = null) => (k === 'metadata' ? { type: 'DuckDBRelation' } : typeof k === 'string' && RELATION_ATTRIBUTES.has(k) ? refAttribute!(s, k) : d);
      }
      if (args.length === 4) return sliceString(s, args[1], args[2], args[3]);
      if (typeof val === 'string' && Object.prototype.hasOwnProperty.call(STRING_MEMBERS, val) && !(obj instanceof String && val in obj)) {
        const m = STRING_MEMBERS[val]!;
        return (...a: unknown[]) => m(s, ...a);
      }
      if (typeof val === 'number' && Number.isInteger(val)) return val < 0 ? [...s].at(val) : [...s][val];
    }
    if (Array.isArray(obj)) {
      // Python's slice (Nunjucks' padded a slice past the end with undefined and dropped a start before it).
      if (args.length === 4) {
        const part = slicePy(obj, args[1], args[2], args[3]);
        return isTuple(obj) ? markTuple(part) : part;
      }
      if (typeof val === 'number' && val < 0) return obj.at(val);
      if (typeof val === 'string' && Object.prototype.hasOwnProperty.call(EXTRA_ARRAY_MEMBERS, val)) {
        const m = EXTRA_ARRAY_MEMBERS[val]!;
        return (...a: unknown[]) => m(obj, ...a);
      }
    }
    // A dict's items() are (key, value) tuples.
    if (val === 'items' && Object.prototype.toString.call(obj) === '[object Object]' && !Object.prototype.hasOwnProperty.call(obj, 'items')) {
      const d = obj as Record<string, unknown>;
      return () => Object.keys(d).filter((k) => k !== '__keywords').map((k) => markTuple([k, d[k]]));
    }
    // A dict's get(key) of a missing key is None (Nunjucks' gave undefined, which prints '').
    if (val === 'get' && Object.prototype.toString.call(obj) === '[object Object]' && !Object.prototype.hasOwnProperty.call(obj, 'get')) {
      const d = obj as Record<string, unknown>;
      return (key: unknown, dflt?: unknown) => (Object.prototype.hasOwnProperty.call(d, String(key)) && d[String(key)] !== undefined ? d[String(key)] : dflt === undefined ? null : dflt);
    }
    return lookup.apply(this, args);
  };
}

const attr = (x: unknown, name: unknown): unknown => (name === undefined ? x : String(name).split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), x));
const cmp = (a: unknown, b: unknown) => (a === b ? 0 : (a as number) < (b as number) ? -1 : 1);

/** dbt's filters for vars and env_vars given as text (every environment lake renders with). */
export function addConversionFilters(env: nunjucks.Environment): void {
  env.addFilter('as_bool', (v: unknown) => (typeof v === 'string' ? ['true', 'True', 'TRUE', '1', 'yes'].includes(v.trim()) : Boolean(v)));
  env.addFilter('as_number', (v: unknown) => (typeof v === 'string' ? Number(v) : v));
  // Jinja's int and string: a value that is not a number is the default (0); None is 'None'.
  env.addFilter('int', (v: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const dflt = pos[0] ?? kw.default ?? 0;
    const base = pos[1] ?? kw.base ?? 10;
    const t = String(v ?? '').trim();
    const n = typeof v === 'number' ? Math.trunc(v) : typeof v === 'boolean' ? Number(v)
      : Number(base) !== 10 ? (/^[0-9a-z]+$/i.test(t) ? parseInt(t, Number(base)) : NaN) : t === '' ? NaN : Math.trunc(Number(t));
    return Number.isNaN(n) ? dflt : n;
  });
  env.addFilter('string', (v: unknown) => pyStr(v));
  env.addFilter('as_text', (v: unknown) => (v === undefined || v === null ? '' : String(v)));
  env.addFilter('as_native', (v: unknown) => {
    if (typeof v !== 'string') return v;
    try { return JSON.parse(v) as unknown; } catch { return v; }
  });
}

/** Jinja filters Nunjucks does not have. */
function addFilters(env: nunjucks.Environment): void {
  // Jinja's tests Nunjucks lacks (a JavaScript number is an integer when it has no fraction),
  // and its `count` (length) and `attr` (an attribute, not a dict's item) filters.
  const addTest = (name: string, fn: (v: unknown, ...a: unknown[]) => boolean) => {
    const e = env as unknown as { tests: Record<string, unknown>; addTest(n: string, f: unknown): void };
    if (!e.tests?.[name]) e.addTest(name, fn);
  };
  addTest('sequence', (v) => typeof v === 'string' || v instanceof String || Array.isArray(v) || isPlain(v));
  // A query's DECIMAL (Python's Decimal, pyNumber) is a number.
  const number = (env as unknown as { tests: Record<string, (v: unknown) => boolean> }).tests.number;
  (env as unknown as { tests: Record<string, (v: unknown) => boolean> }).tests.number = (v) => v instanceof Number || !!number?.(v);
  // A ref() is a Relation, which is a mapping in dbt (dbt_utils' _is_relation checks `is mapping`).
  const mapping = (env as unknown as { tests: Record<string, (v: unknown) => boolean> }).tests.mapping;
  (env as unknown as { tests: Record<string, (v: unknown) => boolean> }).tests.mapping = (v) => (typeof v === 'string' && /^__lake_(ref|stream)_\d+__$/.test(v)) || !!mapping?.(v);
  addTest('integer', (v) => typeof v === 'number' && Number.isInteger(v));
  addTest('float', (v) => isPyFloat(v) || (typeof v === 'number' && !Number.isInteger(v)));
  addTest('boolean', (v) => typeof v === 'boolean');
  addTest('true', (v) => v === true);
  addTest('false', (v) => v === false);
  addTest('none', (v) => v === null);
  addTest('in', (v, seq) => (typeof seq === 'string' ? seq.includes(String(v)) : Array.isArray(seq) ? seq.some((x) => pyEq(x, v)) : isPlain(seq) ? Object.prototype.hasOwnProperty.call(seq, String(v)) : false));
  env.addFilter('count', env.getFilter('length'));
  env.addFilter('attr', (obj: unknown, name: unknown) => (obj === null || obj === undefined || isPlain(obj) ? undefined : (obj as Record<string, unknown>)[String(name)]));
  // dictsort's pairs are tuples, as Python's items.
  const dictsort = env.getFilter('dictsort') as Fn;
  env.addFilter('dictsort', (...args: unknown[]) => (dictsort(...args) as unknown[][]).map((pair) => markTuple([...pair])));
  env.addFilter('map', (seq: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const items = toList(seq);
    if (kw.attribute !== undefined) return items.map((x) => attr(x, kw.attribute) ?? kw.default);
    const name = pos[0];
    if (typeof name !== 'string') return items;
    const f = env.getFilter(name) as Fn;
    return items.map((x) => f(x, ...pos.slice(1)));
  });
  const extreme = (dir: number) => (seq: unknown, ...args: unknown[]) => {
    const { kw } = splitKwargs(args);
    const items = toList(seq);
    if (!items.length) return undefined;
    const key = (x: unknown) => attr(x, kw.attribute);
    return items.reduce((best, x) => (cmp(key(x), key(best)) * dir > 0 ? x : best));
  };
  env.addFilter('max', extreme(1));
  env.addFilter('min', extreme(-1));
  env.addFilter('unique', (seq: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const caseSensitive = truthy(pos[0] ?? kw.case_sensitive ?? false);
    const seen = new Set<unknown>();
    return toList(seq).filter((x) => {
      const v = attr(x, kw.attribute);
      // Jinja's unique ignores case unless case_sensitive.
      const k = !caseSensitive && typeof v === 'string' ? v.toLowerCase() : v;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  });
  env.addFilter('items', (d: unknown) => (d && typeof d === 'object' ? Object.entries(d as object) : []));
  // Jinja's select / reject / selectattr / rejectattr: with a test and its arguments
  // (`selectattr('type', 'equalto', 'int')`, `rejectattr('name', 'in', names)`), not truthiness only.
  const pick = (keep: boolean, byAttr: boolean) => (seq: unknown, ...args: unknown[]) => {
    const { pos } = splitKwargs(args);
    const [name, test, ...rest] = byAttr ? pos : [undefined, ...pos];
    const check = test === undefined ? (v: unknown) => truthy(v) : jinjaTest(env, String(test), rest);
    return toList(seq).filter((x) => check(byAttr ? attr(x, name) : x) === keep);
  };
  env.addFilter('select', pick(true, false));
  env.addFilter('reject', pick(false, false));
  env.addFilter('selectattr', pick(true, true));
  env.addFilter('rejectattr', pick(false, true));
  // Jinja's list: of an undefined value (a missing attribute), an empty list.
  const list = env.getFilter('list') as Fn;
  env.addFilter('list', (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? [...v] : isPlain(v) ? Object.keys(v as object).filter((k) => k !== '__keywords') : list(v)));
  // join(d, attribute=...) and trim(chars) as Jinja has them.
  const join = env.getFilter('join') as Fn;
  env.addFilter('join', (seq: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const d = pos[0] ?? kw.d ?? '';
    const a = pos[1] ?? kw.attribute;
    // Jinja's undefined iterates as nothing (a missing attribute joined is ''); a string, as its characters.
    if (seq === undefined) return '';
    if (typeof seq === 'string' || seq instanceof String) seq = [...String(seq)];
    return a === undefined ? join(seq, d) : toList(seq).map((x) => attr(x, a)).join(String(d));
  });
  env.addFilter('trim', (v: unknown, chars?: unknown) => {
    const str = v === undefined || v === null ? '' : String(v);
    if (chars === undefined || chars === null || typeof chars === 'object') return str.trim();
    const set = new Set(String(chars));
    let a = 0, b = str.length;
    while (a < b && set.has(str[a]!)) a++;
    while (b > a && set.has(str[b - 1]!)) b--;
    return str.slice(a, b);
  });
  // Jinja's round: Python's round (half to even) for 'common', else floor or ceil, at `precision` places.
  env.addFilter('round', (v: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const places = Number(pos[0] ?? kw.precision ?? 0);
    const method = String(pos[1] ?? kw.method ?? 'common');
    const x = Number(v);
    const f = 10 ** places;
    if (method === 'floor') return Math.floor(x * f) / f;
    if (method === 'ceil') return Math.ceil(x * f) / f;
    if (!Number.isFinite(x) || places < 0 || places > 30) return Math.round(x * f) / f;
    // Python rounds the double's exact value (2.675 is 2.67499..., so 2.67) and a true tie to even
    // (2.5 → 2, 0.125 → 0.12): the exact decimal digits say which (toFixed rounds the exact value).
    const [, frac = ''] = Math.abs(x).toFixed(Math.min(100, places + 70)).split('.');
    if (/^50*$/.test(frac.slice(places))) {
      const kept = Number(`${Math.abs(x).toFixed(places + 1).slice(0, -1)}`);
      const lastDigit = Math.round(kept * f) % 10;
      const r = lastDigit % 2 === 0 ? kept : kept + 1 / f;
      return Math.sign(x) * Number(r.toFixed(places));
    }
    return Number(x.toFixed(places));
  });
  // Jinja's round and float give Python floats (`3.5 | round` is 4.0, `3 | float` 3.0; `7 | round` stays 7).
  const round = env.getFilter('round') as (...a: unknown[]) => unknown;
  env.addFilter('round', (v: unknown, ...a: unknown[]) => {
    const r = Number(round(v, ...a));
    // Python's round of an int is an int.
    return typeof v === 'number' && Number.isInteger(v) ? r : pyFloat(r);
  });
  const float = env.getFilter('float') as (...a: unknown[]) => unknown;
  env.addFilter('float', (v: unknown, ...a: unknown[]) => {
    // Jinja's float(default=0.0): a value that is not a number gives the default.
    const r = float(v instanceof Number ? v.valueOf() : v, a.length ? a[0] : pyFloat(0));
    return typeof r === 'number' ? pyFloat(r) : r;
  });
  // Jinja's groupby: (grouper, list) pairs sorted by the grouper, usable as group.grouper / group.list.
  env.addFilter('groupby', (seq: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const by = pos[0] ?? kw.attribute;
    const groups = new Map<unknown, unknown[]>();
    for (const x of toList(seq)) {
      const k = attr(x, by);
      groups.set(k, [...(groups.get(k) ?? []), x]);
    }
    return [...groups.entries()].sort((a, b) => cmp(a[0], b[0])).map(([grouper, list]) => Object.assign(markTuple([grouper, list]), { grouper, list }));
  });
  // sum(attribute=, start=): Python's sum, so start=[] joins lists.
  env.addFilter('sum', (seq: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const a = pos[0] ?? kw.attribute;
    return toList(seq).reduce((acc: unknown, x) => pythonAdd(acc, a === undefined || a === null ? x : attr(x, a)), pos[1] ?? kw.start ?? 0);
  });
  // truncate(length=255, killwords=False, end='...', leeway=5): a string up to length + leeway is kept whole.
  env.addFilter('truncate', (v: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const str = pyStr(v);
    const length = Number(pos[0] ?? kw.length ?? 255);
    const killwords = truthy(pos[1] ?? kw.killwords ?? false);
    const end = String(pos[2] ?? kw.end ?? '...');
    const leeway = Number(pos[3] ?? kw.leeway ?? 5);
    if (str.length <= length + leeway) return str;
    if (killwords) return str.slice(0, length - end.length) + end;
    const cut = str.slice(0, length - end.length);
    const space = cut.lastIndexOf(' ');
    return (space > 0 ? cut.slice(0, space) : cut) + end;
  });
  // Jinja's tojson filter (json.dumps' separators, sorted keys, HTML-safe); dbt's tojson() function is plain json.dumps.
  env.addFilter('tojson', (v: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    return htmlSafeJson(v, pos[0] ?? kw.indent);
  });
  // Jinja's batch(linecount, fill_with=None): the last batch filled up when fill_with is given (0 too).
  env.addFilter('batch', (seq: unknown, ...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const [n, fill] = [Number(pos[0] ?? kw.linecount), pos[1] ?? kw.fill_with];
    const items = toList(seq);
    const out: unknown[][] = [];
    for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
    const last = out[out.length - 1];
    if (last && fill !== undefined && fill !== null) while (last.length < n) last.push(fill);
    return out;
  });
  env.addFilter('format', (s: unknown, ...args: unknown[]) => percentFormat(String(s), splitKwargs(args).pos));
}

/** dbt's context functions that need no database. */
function addFunctions(env: nunjucks.Environment): void {
  env.addGlobal('zip', (...lists: unknown[]) => {
    const ls = lists.map(toList);
    const n = ls.length ? Math.min(...ls.map((l) => l.length)) : 0;
    return Array.from({ length: n }, (_x, i) => markTuple(ls.map((l) => l[i])));
  });
  // Python's dict(): keyword arguments, a mapping or a list of pairs (then the keywords over them).
  env.addGlobal('dict', (...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const out: Record<string, unknown> = {};
    const first = pos[0];
    if (Array.isArray(first)) for (const pair of first) if (Array.isArray(pair) && pair.length === 2) out[String(pair[0])] = pair[1];
    if (first && typeof first === 'object' && !Array.isArray(first)) Object.assign(out, first);
    return Object.assign(out, kw);
  });
  // dbt's fromjson(string, default=None), tojson(value, default=None, sort_keys=False) and the
  // same for YAML: the default (None) when the text does not parse.
  env.addGlobal('fromjson', (...a: unknown[]) => {
    const [s, dflt] = bindArgs(a, ['string', 'default']);
    try { return JSON.parse(String(s)) as unknown; } catch { return dflt ?? null; }
  });
  env.addGlobal('tojson', (...a: unknown[]) => {
    const [v, , sortKeys] = bindArgs(a, ['value', 'default', 'sort_keys']);
    return pythonJson(v, truthy(sortKeys));
  });
  env.addGlobal('fromyaml', (...a: unknown[]) => {
    const [s, dflt] = bindArgs(a, ['value', 'default']);
    try { return fromYaml(String(s)); } catch { return dflt ?? null; }
  });
  env.addGlobal('toyaml', (...a: unknown[]) => {
    const [v, , sortKeys] = bindArgs(a, ['value', 'default', 'sort_keys']);
    return toYaml(v, truthy(sortKeys));
  });
  env.addGlobal('set', (v: unknown) => [...new Set(toList(v))]);
  env.addGlobal('local_md5', (s: unknown) => createHash('md5').update(String(s)).digest('hex'));
}

/**
 * json.dumps with its default separators (`{"a": 1, "b": [1, "x"]}`), as dbt's tojson writes JSON;
 * with `indent`, one item a line indented by that many spaces more each level (`,` ending a line).
 */
export function pythonJson(v: unknown, sortKeys = false, indent?: number, depth = 0): string {
  const wrap = (open: string, items: string[], close: string) => {
    if (indent === undefined || !items.length) return `${open}${items.join(', ')}${close}`;
    const pad = (d: number) => `\n${' '.repeat(indent * d)}`;
    return `${open}${pad(depth + 1)}${items.join(`,${pad(depth + 1)}`)}${pad(depth)}${close}`;
  };
  if (Array.isArray(v)) return wrap('[', v.map((x) => pythonJson(x, sortKeys, indent, depth + 1)), ']');
  // A Python float or Decimal (1.0): its Python text; NaN and infinities as json.dumps writes them.
  if (v instanceof Number) return Number.isFinite(Number(v)) ? pyStr(v) : Number.isNaN(Number(v)) ? 'NaN' : Number(v) > 0 ? 'Infinity' : '-Infinity';
  if (v && typeof v === 'object' && !(v instanceof String)) {
    const entries = Object.entries(v as Record<string, unknown>).filter(([k, x]) => k !== '__keywords' && x !== undefined);
    if (sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return wrap('{', entries.map(([k, x]) => `${asciiJson(k)}: ${pythonJson(x, sortKeys, indent, depth + 1)}`), '}');
  }
  return asciiJson(v instanceof String ? String(v) : v);
}

/** JSON.stringify with json.dumps' ensure_ascii: characters past ASCII as \uXXXX. */
function asciiJson(v: unknown): string {
  return (JSON.stringify(v) ?? 'null').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Jinja's tojson filter: sorted keys, and <, >, & and ' escaped, so the JSON is safe in HTML. */
function htmlSafeJson(v: unknown, indent?: unknown): string {
  return pythonJson(v, true, indent === undefined || indent === null ? undefined : Number(indent)).replace(/[<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A Jinja test by name with its arguments, for select/reject: Nunjucks' own tests, and the names
 * and operators Jinja adds (`in`, `==`, `true`, `boolean`, `integer`...).
 */
function jinjaTest(env: nunjucks.Environment, name: string, args: readonly unknown[]): (v: unknown) => boolean {
  const a = args[0];
  const own: Record<string, (v: unknown) => boolean> = {
    in: (v) => (Array.isArray(a) ? a.includes(v) : typeof a === 'string' ? a.includes(String(v)) : !!a && typeof a === 'object' && String(v) in (a as object)),
    '==': (v) => pyEq(v, a), eq: (v) => pyEq(v, a), equalto: (v) => pyEq(v, a), sameas: (v) => v === a,
    '!=': (v) => !pyEq(v, a), ne: (v) => !pyEq(v, a),
    '>': (v) => (v as number) > (a as number), gt: (v) => (v as number) > (a as number), greaterthan: (v) => (v as number) > (a as number),
    '>=': (v) => (v as number) >= (a as number), ge: (v) => (v as number) >= (a as number),
    '<': (v) => (v as number) < (a as number), lt: (v) => (v as number) < (a as number), lessthan: (v) => (v as number) < (a as number),
    '<=': (v) => (v as number) <= (a as number), le: (v) => (v as number) <= (a as number),
    true: (v) => v === true, false: (v) => v === false, boolean: (v) => typeof v === 'boolean',
    none: (v) => v === null, integer: (v) => typeof v === 'number' && Number.isInteger(v), float: (v) => isPyFloat(v) || (typeof v === 'number' && !Number.isInteger(v)),
    sequence: (v) => Array.isArray(v) || typeof v === 'string', truthy: (v) => truthy(v), falsy: (v) => !truthy(v),
  };
  if (own[name]) return own[name]!;
  const t = (env as unknown as { tests: Record<string, Fn> }).tests[name];
  if (!t) throw new Error(`no test named '${name}'`);
  return (v) => truthy(t(v, ...args));
}

/** Install the filters, functions and the `dbt` namespace into one environment. */
export function installDbtCompat(env: nunjucks.Environment): void {
  // What `for x in <dict>` iterates (see compileFor): its keys, as in Python.
  env.addGlobal('__lake_iterable', (v: unknown) => (isPlain(v) ? Object.keys(v as object).filter((k) => k !== '__keywords') : v));
  addFilters(env);
  addFunctions(env);
  const macros = Object.fromEntries(Object.entries(crossDatabaseMacros()).map(([k, fn]) => [k, keywordCallable(fn)]));
  env.addGlobal('dbt', macros);
  // dbt's own macros are global too ({{ current_timestamp() }}, {{ dateadd(...) }}); a project
  // macro of the same name, loaded later, wins. Not the generic names a template may use itself.
  for (const [name, fn] of Object.entries(macros)) if (!UNPREFIXED_ONLY_IN_DBT.has(name)) env.addGlobal(name, fn);
}

const UNPREFIXED_ONLY_IN_DBT = new Set(['cast', 'replace', 'length', 'right', 'position', 'hash', 'concat', 'except', 'intersect', 'date', 'equals']);

/** The parser's side of `{% break %}` and `{% continue %}` (compiled by compileLakeLoopControl). */
export class LoopControlExtension {
  tags = ['break', 'continue'];
  private static node?: new (lineno: number, colno: number, kind: string) => unknown;
  parse(parser: { nextToken(): { value: string; lineno: number; colno: number }; advanceAfterBlockEnd(name: string): void }, nodes: { Node: { extend(name: string, props: { fields: string[] }): new (lineno: number, colno: number, kind: string) => unknown } }): unknown {
    const tok = parser.nextToken();
    parser.advanceAfterBlockEnd(tok.value);
    LoopControlExtension.node ??= nodes.Node.extend('LakeLoopControl', { fields: ['kind'] });
    return new LoopControlExtension.node(tok.lineno, tok.colno, tok.value);
  }
}

/** Jinja's `{% do expr %}`: evaluates the expression, prints nothing. */
export class DoExtension {
  tags = ['do'];
  parse(parser: any, nodes: any): unknown { // eslint-disable-line @typescript-eslint/no-explicit-any -- nunjucks' parser API is untyped
    const tok = parser.nextToken();
    const args = parser.parseSignature(null, true);
    parser.advanceAfterBlockEnd(tok.value);
    return new nodes.CallExtension(this, 'run', args);
  }
  run(): string {
    return '';
  }
}
