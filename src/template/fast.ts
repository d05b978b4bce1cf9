/**
 * The fast path of the template engine: a small parser and interpreter for the subset of
 * Nunjucks that most models use — text, `{{ expr }}`, `{% if/elif/else %}`, `{% for x in list %}`,
 * top-level `{% set x = expr %}`, comments and whitespace control — where expressions are
 * literals, names, `a.b`, calls (positional and keyword arguments), lists, dicts, `not`, `and`,
 * `or`, comparisons and `~`.
 *
 * Why: Nunjucks compiles every template to JavaScript source and evaluates it with `new Function`;
 * for 10,000 models that costs over a second before any SQL exists. This interpreter produces the
 * same text by construction — it follows Nunjucks' lexer (whitespace control, string escapes, token
 * order), its runtime (name lookup order, `memberLookup`, keyword-argument objects, JavaScript
 * truthiness and `==`) and its evaluation order — and it refuses anything else:
 *  - at parse time `parseFast` returns undefined for a construct outside the subset (a filter, a
 *    macro definition, an unknown tag, anything malformed), and the engine uses Nunjucks;
 *  - at render time it throws `FastPathBail` when a value is not what the subset expects (calling
 *    something that is not a function, looping over a non-list) or when a called function throws,
 *    and the engine renders the template again with Nunjucks, which produces the real output or
 *    the real error.
 * The test suite renders many templates both ways and compares the output byte for byte.
 */
import { pythonUnescape } from './python-string.js';
import { printable, truthy, pyCompare, pyStr, loopCycle, loopChanged } from './python-repr.js';
import { NeedsQuery } from './introspection.js';

/** Thrown while rendering when the fast path cannot be sure to match Nunjucks. */
export class FastPathBail extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FastPathBail';
  }
}

type Expr =
  | { readonly k: 'lit'; readonly v: unknown }
  | { readonly k: 'group'; readonly e: Expr }
  | { readonly k: 'sym'; readonly name: string }
  | { readonly k: 'member'; readonly obj: Expr; readonly key: string }
  | { readonly k: 'call'; readonly fn: Expr; readonly args: readonly Expr[]; readonly kwargs: readonly (readonly [string, Expr])[] | null }
  | { readonly k: 'list'; readonly items: readonly Expr[] }
  | { readonly k: 'dict'; readonly entries: readonly (readonly [string, Expr])[] }
  | { readonly k: 'not'; readonly e: Expr }
  | { readonly k: 'and' | 'or' | 'concat'; readonly l: Expr; readonly r: Expr }
  | { readonly k: 'cmp'; readonly l: Expr; readonly ops: readonly (readonly [string, Expr])[] };

type Stmt =
  | string
  | { readonly k: 'out'; readonly e: Expr }
  | { readonly k: 'if'; readonly branches: readonly (readonly [Expr, readonly Stmt[]])[]; readonly else_: readonly Stmt[] | null }
  | { readonly k: 'for'; readonly name: string; readonly iter: Expr; readonly body: readonly Stmt[] }
  | { readonly k: 'set'; readonly name: string; readonly e: Expr };

/** A template the fast path can render. */
export interface FastTemplate {
  readonly body: readonly Stmt[];
  /** Names looked up anywhere in the template (lets callers skip work for templates that use none of theirs). */
  readonly names: ReadonlySet<string>;
}

/** What a render needs from the environment. */
export interface FastScope {
  /** Nunjucks' `env.globals` (getters such as `this` included). */
  readonly globals: Record<string, unknown>;
  /** The render context (`template.render(ctx)`). */
  readonly ctx: Record<string, unknown>;
  /** Nunjucks' `runtime.memberLookup` (patched by installJinjaCompat), so `a.b` behaves the same. */
  readonly memberLookup: (obj: unknown, key: unknown) => unknown;
}

// ---------------------------------------------------------------------------------------------
// Lexer: text mode and code mode, as in nunjucks/src/lexer.js with the default tags.

const WS = ' \n\t\r\u00A0';
const DELIM = '()[]{}%*-+~/#,:|.<>=!';
const COMPLEX_OPS = ['==', '===', '!=', '!==', '<=', '>=', '//', '**'];

type TokType = 'string' | 'int' | 'float' | 'bool' | 'none' | 'symbol' | 'op' | '(' | ')' | '[' | ']' | '{' | '}' | ',' | ':' | '~' | '|';
interface Tok { readonly t: TokType; readonly v: string }

/** One tag's tokens and how it ended. */
interface Tag { readonly kind: 'block' | 'var'; readonly toks: readonly Tok[]; readonly startDash: boolean; readonly endDash: boolean }
type Piece = { readonly kind: 'data'; readonly text: string } | { readonly kind: 'comment'; readonly startDash: boolean; readonly endDash: boolean } | Tag;

class Unsupported extends Error {}
const unsupported = (why: string): never => { throw new Unsupported(why); };

/** Character classes of Nunjucks' lexer, by char code (below 256). */
const IS_WS = new Uint8Array(256);
for (const c of WS) IS_WS[c.charCodeAt(0)] = 1;
const IS_DELIM = new Uint8Array(256);
for (const c of DELIM) IS_DELIM[c.charCodeAt(0)] = 1;
const SINGLE: Record<string, TokType> = { '(': '(', ')': ')', '[': '[', ']': ']', '{': '{', '}': '}', ',': ',', ':': ':', '~': '~', '|': '|' };
const isWs = (code: number): boolean => code < 256 && IS_WS[code] === 1;
const isDelim = (code: number): boolean => code < 256 && IS_DELIM[code] === 1;
const OPEN_BRACE = 123; // {
const CLOSE_BRACE = 125; // }
const PERCENT = 37;
const HASH = 35;
const DASH = 45;

/** Split a template into data, comments and tags; throws Unsupported on anything unusual. */
function lex(src: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  const n = src.length;
  // Position of the next `#}`: outside a comment it is an error in Nunjucks, so such text goes to Nunjucks.
  let hashClose = src.indexOf('#}');
  while (i < n) {
    const c0 = src.charCodeAt(i);
    const c1 = src.charCodeAt(i + 1);
    if (c0 === OPEN_BRACE && (c1 === PERCENT || c1 === OPEN_BRACE)) {
      const kindStart = c1 === PERCENT ? 'block' : 'var';
      i += 2;
      let startDash = false;
      if (src.charCodeAt(i) === DASH) { startDash = true; i++; }
      const toks: Tok[] = [];
      let ended: { kind: 'block' | 'var'; dash: boolean } | undefined;
      while (i < n) {
        const code = src.charCodeAt(i);
        const c = src[i]!;
        if (c === '"' || c === "'") {
          // Nunjucks' _parseString (as patched: Python's escapes, python-string.ts); an unterminated string runs to the end.
          const close = src.indexOf(c, i + 1);
          if (close < 0) return unsupported('unterminated string');
          const bs = src.indexOf('\\', i + 1);
          if (bs < 0 || bs > close) {
            toks.push({ t: 'string', v: src.slice(i + 1, close) });
            i = close + 1;
            continue;
          }
          i++;
          const start = i;
          while (i < n && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
          if (i >= n) unsupported('unterminated string');
          toks.push({ t: 'string', v: pythonUnescape(src.slice(start, i)) });
          i++;
          continue;
        }
        if (isWs(code)) { i++; continue; }
        const next = src.charCodeAt(i + 1);
        if (code === PERCENT && next === CLOSE_BRACE) { ended = { kind: 'block', dash: false }; i += 2; break; }
        if (code === CLOSE_BRACE && next === CLOSE_BRACE) { ended = { kind: 'var', dash: false }; i += 2; break; }
        if (code === DASH && next === PERCENT && src.charCodeAt(i + 2) === CLOSE_BRACE) { ended = { kind: 'block', dash: true }; i += 3; break; }
        if (code === DASH && next === CLOSE_BRACE && src.charCodeAt(i + 2) === CLOSE_BRACE) { ended = { kind: 'var', dash: true }; i += 3; break; }
        if (c === 'r' && src[i + 1] === '/') unsupported('regex literal');
        if (isDelim(code)) {
          i++;
          let op = c;
          if (isDelim(src.charCodeAt(i))) {
            const two = c + src[i]!;
            if (COMPLEX_OPS.includes(two)) {
              op = two;
              i++;
              const three = two + (src[i] ?? '');
              if (COMPLEX_OPS.includes(three)) { op = three; i++; }
            }
          }
          toks.push({ t: SINGLE[op] ?? 'op', v: op });
          continue;
        }
        let j = i + 1;
        while (j < n) {
          const cj = src.charCodeAt(j);
          if (isWs(cj) || isDelim(cj)) break;
          j++;
        }
        const word = src.slice(i, j);
        i = j;
        if (/^[-+]?[0-9]+$/.test(word)) {
          if (src[i] === '.') {
            i++;
            let k = i;
            while (k < n && src[k]! >= '0' && src[k]! <= '9') k++;
            toks.push({ t: 'float', v: `${word}.${src.slice(i, k)}` });
            i = k;
          } else toks.push({ t: 'int', v: word });
        } else if (word === 'true' || word === 'false') toks.push({ t: 'bool', v: word });
        else if (word === 'none' || word === 'null') toks.push({ t: 'none', v: word });
        else toks.push({ t: 'symbol', v: word });
      }
      if (!ended || ended.kind !== kindStart) return unsupported('tag not closed by its own end');
      out.push({ kind: kindStart, toks, startDash, endDash: ended.dash });
      continue;
    }
    if (c0 === OPEN_BRACE && c1 === HASH) {
      const end = src.indexOf('#}', i + 2);
      if (end < 0) unsupported('unterminated comment');
      out.push({ kind: 'comment', startDash: src[i + 2] === '-', endDash: src[end - 1] === '-' && end - 1 >= i + 2 });
      i = end + 2;
      continue;
    }
    // Data runs to the next tag start.
    let j = i;
    for (;;) {
      const k = src.indexOf('{', j);
      if (k < 0) { j = n; break; }
      const nx = src.charCodeAt(k + 1);
      if (nx === PERCENT || nx === OPEN_BRACE || nx === HASH) { j = k; break; }
      j = k + 1;
    }
    while (hashClose >= 0 && hashClose < i) hashClose = src.indexOf('#}', hashClose + 1);
    if (hashClose >= 0 && hashClose + 1 < j) unsupported('stray #}');
    out.push({ kind: 'data', text: src.slice(i, j) });
    i = j;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parser over the pieces: statements, and expressions with Nunjucks' precedence.

class Exprs {
  private i = 0;
  constructor(private readonly toks: readonly Tok[], readonly names: Set<string>) {}
  peek(): Tok | undefined { return this.toks[this.i]; }
  next(): Tok | undefined { return this.toks[this.i++]; }
  done(): boolean { return this.i >= this.toks.length; }
  isSym(v: string): boolean { const t = this.peek(); return !!t && t.t === 'symbol' && t.v === v; }
  expect(t: TokType, v?: string): Tok {
    const tok = this.next();
    if (!tok || tok.t !== t || (v !== undefined && tok.v !== v)) unsupported(`expected ${v ?? t}`);
    return tok!;
  }

  expr(): Expr {
    const e = this.or();
    if (this.isSym('if')) unsupported('inline if');
    return e;
  }
  private or(): Expr {
    let l = this.and();
    while (this.isSym('or')) { this.next(); l = { k: 'or', l, r: this.and() }; }
    return l;
  }
  private and(): Expr {
    let l = this.not();
    while (this.isSym('and')) { this.next(); l = { k: 'and', l, r: this.not() }; }
    return l;
  }
  private not(): Expr {
    if (this.isSym('not')) {
      this.next();
      return negate(this.not());
    }
    const e = this.compare();
    if (this.isSym('in') || this.isSym('is') || this.isSym('not')) unsupported('in / is / not in');
    return e;
  }
  private compare(): Expr {
    const l = this.concat();
    const ops: [string, Expr][] = [];
    for (;;) {
      const t = this.peek();
      if (!t || t.t !== 'op' || !['==', '===', '!=', '!==', '<', '>', '<=', '>='].includes(t.v)) break;
      this.next();
      ops.push([t.v, this.concat()]);
    }
    return ops.length ? { k: 'cmp', l, ops } : l;
  }
  private concat(): Expr {
    let l = this.unary();
    while (this.peek()?.t === '~') { this.next(); l = { k: 'concat', l, r: this.unary() }; }
    return l;
  }
  private unary(): Expr {
    const t = this.peek();
    if (t && t.t === 'op') unsupported(`operator ${t.v}`);
    const e = this.postfix(this.primary());
    const after = this.peek();
    if (after && (after.t === '|' || (after.t === 'op' && ['+', '-', '*', '/', '//', '%', '**'].includes(after.v)))) unsupported('filter or arithmetic');
    return e;
  }
  private primary(): Expr {
    const t = this.next();
    if (!t) return unsupported('expected an expression');
    switch (t.t) {
      case 'string': return { k: 'lit', v: t.v };
      case 'int': return { k: 'lit', v: parseInt(t.v, 10) };
      case 'float': return { k: 'lit', v: parseFloat(t.v) };
      case 'bool': return { k: 'lit', v: t.v === 'true' };
      case 'none': return { k: 'lit', v: null };
      case 'symbol': this.names.add(t.v); return { k: 'sym', name: t.v };
      case '(': {
        const e = this.expr();
        this.expect(')');
        return { k: 'group', e };
      }
      case '[': {
        const items: Expr[] = [];
        while (this.peek()?.t !== ']') {
          if (items.length) this.expect(',');
          items.push(this.expr());
        }
        this.next();
        return { k: 'list', items };
      }
      case '{': {
        const entries: [string, Expr][] = [];
        while (this.peek()?.t !== '}') {
          if (entries.length) this.expect(',');
          const key = this.next();
          // A bare name is a variable whose value is the key (Jinja): left to Nunjucks as patched.
          if (!key || key.t !== 'string') unsupported('dict key');
          this.expect(':');
          entries.push([key!.v, this.expr()]);
        }
        this.next();
        return { k: 'dict', entries };
      }
      default: return unsupported(`unexpected ${t.v}`);
    }
  }
  private postfix(e: Expr): Expr {
    for (;;) {
      const t = this.peek();
      if (!t) return e;
      if (t.t === '(') {
        this.next();
        const args: Expr[] = [];
        const kwargs: [string, Expr][] = [];
        let first = true;
        while (this.peek()?.t !== ')') {
          if (!first) this.expect(',');
          first = false;
          const a = this.expr();
          const eq = this.peek();
          if (eq && eq.t === 'op' && eq.v === '=') {
            this.next();
            if (a.k !== 'sym') unsupported('keyword argument name');
            kwargs.push([(a as { name: string }).name, this.expr()]);
          } else args.push(a);
        }
        this.next();
        e = { k: 'call', fn: e, args, kwargs: kwargs.length ? kwargs : null };
      } else if (t.t === 'op' && t.v === '.') {
        this.next();
        const key = this.expect('symbol');
        e = { k: 'member', obj: e, key: key.v };
      } else if (t.t === '[') {
        return unsupported('subscript');
      } else return e;
    }
  }
}

/**
 * `not x`: of the whole comparison or concatenation (`not a == b` is `not (a == b)`), with Jinja's
 * truth, as Jinja reads it and as the patched Nunjucks compiler emits it (dbt-compat.ts; plain
 * Nunjucks emitted `!` before the leftmost operand, `(!a) == b`).
 */
function negate(e: Expr): Expr {
  return { k: 'not', e };
}

/** Parse `text` for the fast path; undefined when it uses anything outside the subset. */
export function parseFast(text: string): FastTemplate | undefined {
  let pieces: Piece[];
  try {
    pieces = lex(text);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  // Whitespace control, applied to data pieces exactly as Nunjucks' parseNodes does.
  let drop = false;
  const items: (string | Tag)[] = [];
  for (let p = 0; p < pieces.length; p++) {
    const piece = pieces[p]!;
    if (piece.kind === 'data') {
      let data = piece.text;
      if (drop) { data = data.replace(/^\s*/, ''); drop = false; }
      const nx = pieces[p + 1];
      if (nx && nx.kind !== 'data' && nx.startDash) data = data.replace(/\s*$/, '');
      items.push(data);
    } else if (piece.kind === 'comment') {
      drop = piece.endDash;
    } else if (piece.kind === 'block') {
      drop = piece.endDash;
      items.push(piece);
    } else {
      drop = piece.endDash;
      items.push(piece);
    }
  }
  const names = new Set<string>();
  let pos = 0;
  const parseUntil = (ends: readonly string[], depth: number, inFor: boolean): { body: Stmt[]; end?: string; tag?: Tag } => {
    const body: Stmt[] = [];
    while (pos < items.length) {
      const it = items[pos++]!;
      if (typeof it === 'string') { body.push(it); continue; }
      const ex = new Exprs(it.toks, names);
      if (it.kind === 'var') {
        const e = ex.expr();
        if (!ex.done()) unsupported('trailing tokens');
        body.push({ k: 'out', e });
        continue;
      }
      const head = ex.next();
      if (!head || head.t !== 'symbol') return unsupported('tag name');
      const name = head.v;
      if (ends.includes(name)) return { body, end: name, tag: { ...it, toks: it.toks.slice(1) } };
      if (name === 'if') {
        const branches: [Expr, Stmt[]][] = [];
        let cond = ex.expr();
        if (!ex.done()) unsupported('trailing tokens');
        let else_: Stmt[] | null = null;
        for (;;) {
          const r = parseUntil(['elif', 'elseif', 'else', 'endif'], depth + 1, inFor);
          branches.push([cond, r.body]);
          if (!r.end) unsupported('if without endif');
          if (r.end === 'endif') { if (r.tag!.toks.length) unsupported('endif args'); break; }
          if (r.end === 'else') {
            if (r.tag!.toks.length) unsupported('else args');
            const e2 = parseUntil(['endif'], depth + 1, inFor);
            if (e2.end !== 'endif' || e2.tag!.toks.length) unsupported('else without endif');
            else_ = e2.body;
            break;
          }
          const ce = new Exprs(r.tag!.toks, names);
          cond = ce.expr();
          if (!ce.done()) unsupported('trailing tokens');
        }
        body.push({ k: 'if', branches, else_ });
      } else if (name === 'for') {
        const v = ex.expect('symbol');
        if (!ex.isSym('in')) unsupported('for a, b in');
        ex.next();
        const iter = ex.expr();
        if (!ex.done()) unsupported('trailing tokens');
        const r = parseUntil(['endfor', 'else'], depth + 1, true);
        if (r.end !== 'endfor' || r.tag!.toks.length) unsupported('for without endfor (or with else)');
        body.push({ k: 'for', name: v.v, iter, body: r.body });
      } else if (name === 'set') {
        if (inFor) unsupported('set inside for');
        const v = ex.expect('symbol');
        ex.expect('op', '=');
        const e = ex.expr();
        if (!ex.done()) unsupported('trailing tokens');
        body.push({ k: 'set', name: v.v, e });
      } else {
        return unsupported(`tag ${name}`);
      }
    }
    if (ends.length) unsupported('missing end tag');
    return { body };
  };
  try {
    const { body } = parseUntil([], 0, false);
    return { body, names };
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Interpreter.

interface Frame { readonly vars: Map<string, unknown>; readonly parent: Frame | null }

function lookup(name: string, frame: Frame, scope: FastScope, ctx: Record<string, unknown>): unknown {
  for (let f: Frame | null = frame; f; f = f.parent) {
    const v = f.vars.get(name);
    if (v !== undefined) return v;
  }
  const v = name in scope.globals && !(name in ctx) ? scope.globals[name] : ctx[name];
  if (v !== undefined) return v;
  // installJinjaCompat's contextOrFrameLookup.
  return name === 'True' ? true : name === 'False' ? false : name === 'None' ? null : undefined;
}


function evaluate(e: Expr, frame: Frame, scope: FastScope, ctx: Record<string, unknown>): unknown {
  switch (e.k) {
    case 'lit': return e.v;
    case 'group': return evaluate(e.e, frame, scope, ctx);
    case 'sym': return lookup(e.name, frame, scope, ctx);
    case 'member': return scope.memberLookup(evaluate(e.obj, frame, scope, ctx), e.key);
    case 'call': {
      const fn = evaluate(e.fn, frame, scope, ctx);
      if (typeof fn !== 'function') throw new FastPathBail('call of a non-function');
      const args: unknown[] = [];
      for (const a of e.args) args.push(evaluate(a, frame, scope, ctx));
      if (e.kwargs) {
        const kw: Record<string, unknown> = {};
        for (const [k, v] of e.kwargs) kw[k] = evaluate(v, frame, scope, ctx);
        kw.__keywords = true;
        args.push(kw);
      }
      try {
        return (fn as (...a: unknown[]) => unknown)(...args);
      } catch (err) {
        // A query whose answer is not known yet (introspection.ts) stops this render, as it stops Nunjucks'.
        if (err instanceof FastPathBail || err instanceof NeedsQuery) throw err;
        // Let Nunjucks raise it, with its own wrapping and position.
        throw new FastPathBail(`call threw: ${(err as Error)?.message ?? String(err)}`);
      }
    }
    case 'list': return e.items.map((x) => evaluate(x, frame, scope, ctx));
    case 'dict': {
      const o: Record<string, unknown> = {};
      for (const [k, v] of e.entries) o[k] = evaluate(v, frame, scope, ctx);
      return o;
    }
    // Jinja's truth (python-repr.ts), as the patched Nunjucks compiler emits it.
    case 'not': return !truthy(evaluate(e.e, frame, scope, ctx));
    case 'and': {
      const l = evaluate(e.l, frame, scope, ctx);
      return truthy(l) ? evaluate(e.r, frame, scope, ctx) : l;
    }
    case 'or': {
      const l = evaluate(e.l, frame, scope, ctx);
      return truthy(l) ? l : evaluate(e.r, frame, scope, ctx);
    }
    // Python's str() of each side (dbt-compat.ts patches Nunjucks' `~` the same way).
    case 'concat': return pyStr(evaluate(e.l, frame, scope, ctx)) + pyStr(evaluate(e.r, frame, scope, ctx));
    case 'cmp': {
      // Python's comparison chain, as the patched Nunjucks compiler emits it (python-repr.ts).
      const args: unknown[] = [evaluate(e.l, frame, scope, ctx)];
      for (const [op, r] of e.ops) args.push(op, evaluate(r, frame, scope, ctx));
      return pyCompare(args[0], ...args.slice(1));
    }
  }
}

function run(body: readonly Stmt[], frame: Frame, scope: FastScope, ctx: Record<string, unknown>, top: boolean): string {
  let out = '';
  for (const s of body) {
    if (typeof s === 'string') { out += s; continue; }
    switch (s.k) {
      case 'out': {
        const v = evaluate(s.e, frame, scope, ctx);
        // runtime.suppressValue (as lake patches it: lists and dicts as Python prints them) with
        // autoescape off, then `output += value`.
        out += (v !== undefined ? printable(v) : '') as string;
        break;
      }
      case 'if': {
        let done = false;
        for (const [cond, b] of s.branches) {
          if (truthy(evaluate(cond, frame, scope, ctx))) { out += run(b, frame, scope, ctx, top); done = true; break; }
        }
        if (!done && s.else_) out += run(s.else_, frame, scope, ctx, top);
        break;
      }
      case 'for': {
        const arr = evaluate(s.iter, frame, scope, ctx);
        // Nunjucks: `if (arr) { ...loop... }` — JavaScript truthiness.
        if (!arr) break;
        if (!Array.isArray(arr)) throw new FastPathBail('for over a non-list');
        const inner: Frame = { vars: new Map(), parent: frame };
        const loop: Record<string, unknown> = {};
        const len = arr.length;
        const changed = {};
        // depth counts a recursive loop's levels (not nesting): 1 here.
        loop.depth = 1;
        loop.depth0 = 0;
        for (let i = 0; i < arr.length; i++) {
          inner.vars.set(s.name, arr[i]);
          loop.index = i + 1; loop.index0 = i; loop.revindex = len - i; loop.revindex0 = len - i - 1;
          loop.first = i === 0; loop.last = i === len - 1; loop.length = len;
          loop.previtem = i > 0 ? arr[i - 1] : undefined; loop.nextitem = i < len - 1 ? arr[i + 1] : undefined;
          loop.cycle = loopCycle(i); loop.changed = loopChanged(changed);
          inner.vars.set('loop', loop);
          out += run(s.body, inner, scope, ctx, false);
        }
        break;
      }
      case 'set': {
        if (!top) throw new FastPathBail('set below the top level');
        const v = evaluate(s.e, frame, scope, ctx);
        frame.vars.set(s.name, v);
        // Nunjucks also stores top-level sets in the context.
        ctx[s.name] = v;
        break;
      }
    }
  }
  return out;
}

/** Render a parsed template. Throws FastPathBail when Nunjucks must do it instead. */
export function renderFast(t: FastTemplate, scope: FastScope): string {
  const ctx: Record<string, unknown> = { ...scope.ctx };
  return run(t.body, { vars: new Map(), parent: null }, scope, ctx, true);
}
