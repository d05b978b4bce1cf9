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
import { markTuple, printable } from './python-repr.js';
import { createHash } from 'node:crypto';
import type nunjucks from 'nunjucks';
import { parseYamlValue } from '../project/yaml-file.js';

type Fn = (...args: unknown[]) => unknown;

/** Nunjucks passes keyword arguments as a last object marked `__keywords`. */
function splitKwargs(args: unknown[]): { pos: unknown[]; kw: Record<string, unknown> } {
  const last = args[args.length - 1];
  if (last && typeof last === 'object' && (last as Record<string, unknown>).__keywords) {
    const { __keywords: _k, ...kw } = last as Record<string, unknown>;
    return { pos: args.slice(0, -1), kw };
  }
  return { pos: args, kw: {} };
}

const WS = /\s+/;

/** Python's str.format: `{}`, `{0}`, `{name}` (format specs are ignored). */
function pyFormat(s: string, args: unknown[]): string {
  const { pos, kw } = splitKwargs(args);
  let next = 0;
  return s.replace(/\{\{|\}\}|\{([^{}:!]*)(?:![rsa])?(?::[^{}]*)?\}/g, (m, key: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const k = (key ?? '').trim();
    const v = k === '' ? pos[next++] : /^\d+$/.test(k) ? pos[Number(k)] : kw[k];
    return v === undefined || v === null ? '' : String(v);
  });
}

/** Python's `%` formatting, for Jinja's `format` filter: %s %d %i %f %.2f %05d %%. */
export function percentFormat(s: string, args: readonly unknown[]): string {
  let i = 0;
  return s.replace(/%(-?0?)(\d*)(?:\.(\d+))?([sdifr%])/g, (_m, flags: string, width: string, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const v = args[i++];
    let out: string;
    if (conv === 'd' || conv === 'i') out = String(Math.trunc(Number(v)));
    else if (conv === 'f') out = Number(v).toFixed(prec !== undefined ? Number(prec) : 6);
    else out = v === null || v === undefined ? 'None' : String(v);
    const w = Number(width || 0);
    if (out.length < w) out = flags.startsWith('-') ? out.padEnd(w) : out.padStart(w, flags.includes('0') && conv !== 's' ? '0' : ' ');
    return out;
  });
}

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
  rsplit: (s, sep) => (sep === undefined || sep === null ? s.trim().split(WS) : s.split(String(sep))),
  splitlines: (s) => s.split(/\r?\n/),
  join: (s, items) => (Array.isArray(items) ? items.map(String).join(s) : String(items ?? '')),
  format: (s, ...args) => pyFormat(s, args),
  zfill: (s, w) => (s.startsWith('-') ? `-${s.slice(1).padStart(Number(w) - 1, '0')}` : s.padStart(Number(w), '0')),
  ljust: (s, w, c) => s.padEnd(Number(w), c === undefined ? ' ' : String(c)),
  rjust: (s, w, c) => s.padStart(Number(w), c === undefined ? ' ' : String(c)),
  center: (s, w) => {
    const total = Math.max(0, Number(w) - s.length);
    return ' '.repeat(Math.floor(total / 2)) + s + ' '.repeat(Math.ceil(total / 2));
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

/** Python's slice of a string: s[a:b:c] (negative bounds count from the end). */
function sliceString(s: string, start: unknown, stop: unknown, step: unknown): string {
  const chars = [...s];
  const n = chars.length;
  const st = step === undefined || step === null ? 1 : Number(step);
  const norm = (v: unknown, dflt: number) => {
    if (v === undefined || v === null) return dflt;
    const x = Number(v);
    return x < 0 ? Math.max(n + x, st < 0 ? -1 : 0) : Math.min(x, n);
  };
  let out = '';
  if (st > 0) for (let i = norm(start, 0); i < norm(stop, n); i += st) out += chars[i] ?? '';
  else for (let i = norm(start, n - 1); i > norm(stop, -1); i += st) out += chars[i] ?? '';
  return out;
}

let installed = false;

/** dbt Relation attributes `ref('x').identifier` etc. give (lake's ref() gives a placeholder string). */
const RELATION_ATTRIBUTES = new Set(['identifier', 'schema', 'name', 'table', 'database']);
let refAttribute: ((placeholder: string, attr: string) => unknown) | undefined;

/** The rendering engine says how a ref placeholder's attributes resolve (set as each render starts). */
export function setRefAttributes(fn: (placeholder: string, attr: string) => unknown): void {
  refAttribute = fn;
}

interface CompilerProto {
  compileGroup(this: CompilerProto, node: { children: unknown[] }, frame: unknown): void;
  compileMod(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
  compileMul(this: CompilerProto, node: { left: unknown; right: unknown }, frame: unknown): void;
  _compileAggregate(node: unknown, frame: unknown, open: string, close: string): void;
  compile(node: unknown, frame: unknown): void;
  _emit(code: string): void;
}

/** Python's `%`: string formatting (`"%02d-%s" % (5, 'x')`), else a modulo with the divisor's sign. */
function pythonMod(a: unknown, b: unknown): unknown {
  if (typeof a === 'string') return percentFormat(a, Array.isArray(b) ? b : [b]);
  const x = Number(a);
  const y = Number(b);
  const r = x % y;
  return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
}

/** Python's `*`: a string or list repeated (`'-' * 10`), else a product. */
function pythonMul(a: unknown, b: unknown): unknown {
  const rep = (v: unknown, n: unknown) => (typeof v === 'string' ? v.repeat(Math.max(0, Math.trunc(Number(n)))) : Array.from({ length: Math.max(0, Math.trunc(Number(n))) }, () => v as unknown[]).flat());
  if ((typeof a === 'string' || Array.isArray(a)) && typeof b === 'number') return rep(a, b);
  if ((typeof b === 'string' || Array.isArray(b)) && typeof a === 'number') return rep(b, a);
  return (a as number) * (b as number);
}

/**
 * Patch Nunjucks once: Python string members, string slices, negative indexes (its runtime), and
 * tuples (its compiler): `('id', 'integer')` compiled to JavaScript's comma operator and gave its
 * last element; a parenthesised list of two or more is now a list, as a Python tuple reads.
 */
export function installRuntimeCompat(runtime: { memberLookup: Fn }, compiler?: { Compiler: { prototype: CompilerProto } }): void {
  if (installed) return;
  installed = true;
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
    proto.compileMod = call('__lakeMod');
    proto.compileMul = call('__lakeMul');
    Object.assign(runtime, { __lakeMod: pythonMod, __lakeMul: pythonMul, __lakeTuple: markTuple });
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
    if (typeof obj === 'string' || obj instanceof String) {
      const s = String(obj);
      if (refAttribute && typeof val === 'string' && RELATION_ATTRIBUTES.has(val) && s.startsWith('__lake_ref_')) return refAttribute(s, val);
      if (args.length === 4) return sliceString(s, args[1], args[2], args[3]);
      if (typeof val === 'string' && Object.prototype.hasOwnProperty.call(STRING_MEMBERS, val) && !(obj instanceof String && val in obj)) {
        const m = STRING_MEMBERS[val]!;
        return (...a: unknown[]) => m(s, ...a);
      }
      if (typeof val === 'number' && Number.isInteger(val)) return val < 0 ? [...s].at(val) : [...s][val];
    }
    if (Array.isArray(obj)) {
      if (typeof val === 'number' && val < 0 && args.length !== 4) return obj.at(val);
      if (typeof val === 'string' && Object.prototype.hasOwnProperty.call(EXTRA_ARRAY_MEMBERS, val)) {
        const m = EXTRA_ARRAY_MEMBERS[val]!;
        return (...a: unknown[]) => m(obj, ...a);
      }
    }
    return lookup.apply(this, args);
  };
}

const attr = (x: unknown, name: unknown): unknown => (name === undefined ? x : String(name).split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), x));
const toList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.keys(v) : typeof v === 'string' ? [...v] : []);
const cmp = (a: unknown, b: unknown) => (a === b ? 0 : (a as number) < (b as number) ? -1 : 1);

/** dbt's filters for vars and env_vars given as text (every environment lake renders with). */
export function addConversionFilters(env: nunjucks.Environment): void {
  env.addFilter('as_bool', (v: unknown) => (typeof v === 'string' ? ['true', 'True', 'TRUE', '1', 'yes'].includes(v.trim()) : Boolean(v)));
  env.addFilter('as_number', (v: unknown) => (typeof v === 'string' ? Number(v) : v));
  env.addFilter('as_text', (v: unknown) => (v === undefined || v === null ? '' : String(v)));
  env.addFilter('as_native', (v: unknown) => {
    if (typeof v !== 'string') return v;
    try { return JSON.parse(v) as unknown; } catch { return v; }
  });
}

/** Jinja filters Nunjucks does not have. */
function addFilters(env: nunjucks.Environment): void {
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
    const { kw } = splitKwargs(args);
    const seen = new Set<unknown>();
    return toList(seq).filter((x) => {
      const k = attr(x, kw.attribute);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  });
  env.addFilter('items', (d: unknown) => (d && typeof d === 'object' ? Object.entries(d as object) : []));
  env.addFilter('format', (s: unknown, ...args: unknown[]) => percentFormat(String(s), splitKwargs(args).pos));
}

/** dbt's context functions that need no database. */
function addFunctions(env: nunjucks.Environment): void {
  env.addGlobal('zip', (...lists: unknown[]) => {
    const ls = lists.map(toList);
    const n = ls.length ? Math.min(...ls.map((l) => l.length)) : 0;
    return Array.from({ length: n }, (_x, i) => ls.map((l) => l[i]));
  });
  env.addGlobal('fromjson', (s: unknown, dflt?: unknown) => {
    try { return JSON.parse(String(s)) as unknown; } catch { return dflt; }
  });
  env.addGlobal('tojson', (v: unknown) => JSON.stringify(v));
  env.addGlobal('fromyaml', (s: unknown, dflt?: unknown) => {
    try { return parseYamlValue(String(s)); } catch { return dflt; }
  });
  env.addGlobal('toyaml', (v: unknown) => toYaml(v));
  env.addGlobal('set', (v: unknown) => [...new Set(toList(v))]);
  env.addGlobal('local_md5', (s: unknown) => createHash('md5').update(String(s)).digest('hex'));
  env.addGlobal('print', () => '');
}

function toYaml(v: unknown, indent = ''): string {
  if (Array.isArray(v)) return v.map((x) => `${indent}- ${typeof x === 'object' && x !== null ? `\n${toYaml(x, `${indent}  `)}` : JSON.stringify(x)}`).join('\n');
  if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${indent}${k}:${typeof x === 'object' && x !== null ? `\n${toYaml(x, `${indent}  `)}` : ` ${JSON.stringify(x)}`}`).join('\n');
  return JSON.stringify(v);
}

/**
 * dbt's cross-database macros (`dbt.<name>(...)`, also callable as `dbt_utils.<name>` in older
 * projects would be a package: not these), written for DuckDB.
 */
function crossDatabaseMacros(): Record<string, Fn> {
  const s = (v: unknown) => String(v);
  return {
    current_timestamp: () => 'now()',
    current_timestamp_in_utc_backcompat: () => "(now() at time zone 'UTC')",
    type_string: () => 'varchar',
    type_timestamp: () => 'timestamp',
    type_int: () => 'integer',
    type_bigint: () => 'bigint',
    type_float: () => 'double',
    type_numeric: () => 'numeric(28,6)',
    type_boolean: () => 'boolean',
    dateadd: (datepart, interval, from) => `(${s(from)} + (interval (${s(interval)}) ${s(datepart)}))`,
    datediff: (first, second, datepart) => `date_diff('${s(datepart)}', ${s(first)}, ${s(second)})`,
    date_trunc: (datepart, date) => `date_trunc('${s(datepart)}', ${s(date)})`,
    last_day: (date, datepart) => `(date_trunc('${s(datepart)}', ${s(date)}) + interval 1 ${s(datepart)} - interval 1 day)`,
    concat: (fields) => (Array.isArray(fields) ? fields.map(s).join(' || ') : s(fields)),
    hash: (field) => `md5(cast(${s(field)} as varchar))`,
    safe_cast: (field, type) => `try_cast(${s(field)} as ${s(type)})`,
    cast: (field, type) => `cast(${s(field)} as ${s(type)})`,
    split_part: (text, delimiter, part) => `split_part(${s(text)}, ${s(delimiter)}, ${s(part)})`,
    position: (sub, text) => `position(${s(sub)} in ${s(text)})`,
    length: (expr) => `length(${s(expr)})`,
    right: (text, n) => `right(${s(text)}, ${s(n)})`,
    replace: (field, old, next) => `replace(${s(field)}, ${s(old)}, ${s(next)})`,
    // dbt's order_by_clause is a whole clause ("order by n"); limit_num keeps the first n values.
    listagg: (measure, delimiter, orderBy, limit) => {
      const delim = delimiter === undefined || delimiter === null ? "','" : s(delimiter);
      const order = orderBy ? ` ${/^\s*order\s+by\b/i.test(s(orderBy)) ? s(orderBy) : `order by ${s(orderBy)}`}` : '';
      return limit ? `array_to_string((array_agg(${s(measure)}${order}))[1:${s(limit)}], ${delim})` : `string_agg(${s(measure)}, ${delim}${order})`;
    },
    // dbt's date_spine: one row per datepart from start (included) to end (excluded), as date_<datepart>.
    date_spine: (datepart, start, end) => `select unnest(generate_series(cast(${s(start)} as timestamp), cast(${s(end)} as timestamp) - interval 1 ${s(datepart)}, interval 1 ${s(datepart)})) as date_${s(datepart)}`,
    generate_series: (upper) => `select unnest(generate_series(1, ${s(upper)})) as generated_number`,
    any_value: (expr) => `any_value(${s(expr)})`,
    bool_or: (expr) => `bool_or(${s(expr)})`,
    cast_bool_to_text: (field) => `cast(${s(field)} as varchar)`,
    escape_single_quotes: (expr) => s(expr).replace(/'/g, "''"),
    string_literal: (value) => `'${s(value).replace(/'/g, "''")}'`,
    except: () => 'except',
    intersect: () => 'intersect',
    array_construct: (inputs) => `[${toList(inputs).map(s).join(', ')}]`,
    array_append: (arr, el) => `list_append(${s(arr)}, ${s(el)})`,
    array_concat: (a, b) => `list_concat(${s(a)}, ${s(b)})`,
  };
}

/** Install the filters, functions and the `dbt` namespace into one environment. */
export function installDbtCompat(env: nunjucks.Environment): void {
  addFilters(env);
  addFunctions(env);
  const macros = crossDatabaseMacros();
  env.addGlobal('dbt', macros);
  // dbt's own macros are global too ({{ current_timestamp() }}, {{ dateadd(...) }}); a project
  // macro of the same name, loaded later, wins. Not the generic names a template may use itself.
  for (const [name, fn] of Object.entries(macros)) if (!UNPREFIXED_ONLY_IN_DBT.has(name)) env.addGlobal(name, fn);
}

const UNPREFIXED_ONLY_IN_DBT = new Set(['cast', 'replace', 'length', 'right', 'position', 'hash', 'concat', 'except', 'intersect']);
