/**
 * Python's string formatting as dbt's Jinja gives it: `str.format` (fields `{}`, `{0}`, `{name}`,
 * `{0.attr}`, `{name[key]}`, conversions `!r`/`!s`, and the format-spec mini-language: fill, align,
 * sign, `#`, `0`, width, `,`/`_` grouping, precision and the types s d f F e E g G % x X o b c n;
 * a date's spec is its strftime) and `%` formatting (`'%05.2f' % x`, Jinja's `format` filter).
 */
import { splitKwargs } from './call-args.js';
import { isNumberLike, isPyFloat, pyRepr, pyStr } from './python-repr.js';

const SPEC = /^(?:([\s\S])?([<>=^]))?([+\- ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/;

/**
 * `x` with `prec` digits after the point as Python writes it: a value exactly half-way (2.25, a
 * binary fraction) rounds to the even digit (`2.2`), where JavaScript's toFixed rounds up (`2.3`).
 */
export function pyFixed(x: number, prec: number): string {
  const exact = x.toFixed(Math.min(100, prec + 30));
  const [int, frac = ''] = exact.split('.') as [string, string | undefined];
  if (!/^50*$/.test(frac.slice(prec))) return x.toFixed(prec);
  const kept = prec > 0 ? `${int}.${frac.slice(0, prec)}` : int;
  return Number(kept[kept.length - 1]) % 2 === 0 ? kept : x.toFixed(prec);
}

/** Python's exponent notation: `1.50e+03`, the exponent two digits at least. */
function exponential(x: number, prec: number): string {
  return x.toExponential(prec).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Python's general format (`g`): fixed or exponential by the exponent, trailing zeros dropped unless `alt`. */
function general(x: number, prec: number, alt: boolean): string {
  const p = prec === 0 ? 1 : prec;
  if (x === 0) return alt ? (0).toFixed(p - 1) : '0';
  const exp = Number(exponential(x, p - 1).split('e')[1]);
  const trim = (s: string) => (alt ? s : s.replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1'));
  return exp >= -4 && exp < p ? trim(pyFixed(x, p - 1 - exp)) : trim(exponential(x, p - 1));
}

/** Digits grouped by `sep` in threes (the integer part only). */
function group(digits: string, sep: string | undefined): string {
  if (!sep) return digits;
  const [int, frac] = digits.split(/(?=[.eE%])/, 2) as [string, string | undefined];
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, sep) + (frac ?? '');
}

/** `format(v, spec)`: Python's format-spec mini-language. */
export function formatValue(v: unknown, spec: string): string {
  if (spec === '') return pyStr(v === undefined ? null : v);
  // A date or datetime formats with its spec as strftime's ('{:%Y-%m-%d}').
  const strftime = v && typeof v === 'object' ? (v as { strftime?: unknown }).strftime : undefined;
  if (typeof strftime === 'function') return String((strftime as (f: string) => unknown).call(v, spec));
  const m = SPEC.exec(spec);
  if (!m) throw new Error(`Invalid format specifier '${spec}' (Python's format-spec: [[fill]align][sign][#][0][width][,][.precision][type])`);
  const [, fillGiven, alignGiven, sign = '-', alt, zero, widthText, sep, precText, typeGiven] = m;
  const numeric = typeof v === 'boolean' || isNumberLike(v);
  const prec = precText === undefined ? undefined : Number(precText);
  let body: string;
  let neg = false;
  if (!numeric) {
    if (typeGiven && typeGiven !== 's') throw new Error(`Unknown format code '${typeGiven}' for object of type '${typeof v === 'string' ? 'str' : 'object'}'`);
    const s = typeof v === 'string' || v instanceof String ? String(v) : pyStr(v === undefined ? null : v);
    body = prec === undefined ? s : s.slice(0, prec);
  } else {
    const x = Number(v);
    const isFloat = isPyFloat(v) || !Number.isInteger(x);
    neg = x < 0 || Object.is(x, -0);
    const a = Math.abs(x);
    const type = typeGiven ?? (isFloat ? (prec === undefined ? '' : 'g') : 'd');
    if ('dxXobcn'.includes(type) && isFloat && type !== 'n') throw new Error(`Unknown format code '${type}' for object of type 'float'`);
    const radix = (r: number, p: string) => (alt ? p : '') + a.toString(r);
    switch (type) {
      case 'd': case 'n': body = isFloat ? general(a, prec ?? 6, !!alt) : String(a); break;
      case 'x': body = radix(16, '0x'); break;
      case 'X': body = radix(16, '0X').toUpperCase(); break;
      case 'o': body = radix(8, '0o'); break;
      case 'b': body = radix(2, '0b'); break;
      case 'c': body = String.fromCodePoint(x); neg = false; break;
      case 'f': case 'F': body = pyFixed(a, prec ?? 6); break;
      case 'e': case 'E': body = exponential(a, prec ?? 6); if (type === 'E') body = body.toUpperCase(); break;
      case 'g': case 'G': body = general(a, prec ?? 6, !!alt); if (type === 'G') body = body.toUpperCase(); break;
      case '%': body = `${pyFixed(a * 100, prec ?? 6)}%`; break;
      default: body = pyStr(isFloat ? v : a).replace(/^-/, '');
    }
    body = group(body, sep);
  }
  const signText = numeric ? (neg ? '-' : sign === '+' ? '+' : sign === ' ' ? ' ' : '') : '';
  const width = Number(widthText ?? 0);
  const fill = fillGiven ?? (zero && !alignGiven ? '0' : ' ');
  const align = alignGiven ?? (zero && numeric ? '=' : numeric ? '>' : '<');
  const pad = Math.max(0, width - signText.length - body.length);
  if (align === '<') return signText + body + fill.repeat(pad);
  if (align === '^') return fill.repeat(Math.floor(pad / 2)) + signText + body + fill.repeat(pad - Math.floor(pad / 2));
  if (align === '=') return signText + fill.repeat(pad) + body;
  return fill.repeat(pad) + signText + body;
}

/** The value a field name points at: `0`, `name`, then `.attr` and `[key]` steps. */
function field(name: string, auto: () => number, numbering: (kind: 'manual' | 'automatic') => void, pos: readonly unknown[], kw: Record<string, unknown>, template: string): unknown {
  const first = /^[^.[]*/.exec(name)![0];
  if (/^\d*$/.test(first)) numbering(first === '' ? 'automatic' : 'manual');
  const missing = () => new Error(`'${template}'.format(...): no argument for {${name}} (Python raises ${/^\d*$/.test(first) ? 'IndexError' : 'KeyError'})`);
  const index = first === '' ? auto() : /^\d+$/.test(first) ? Number(first) : undefined;
  if (index !== undefined ? index >= pos.length : !(first in kw)) throw missing();
  let v: unknown = index !== undefined ? pos[index] : kw[first];
  for (const step of name.slice(first.length).matchAll(/\.(\w+)|\[([^\]]*)\]/g)) {
    const key = step[1] ?? step[2]!;
    v = Array.isArray(v) && /^\d+$/.test(key) ? v[Number(key)] : (v as Record<string, unknown> | null)?.[key];
  }
  return v;
}

/** Python's str.format. */
export function pyFormat(s: string, args: unknown[]): string {
  const { pos, kw } = splitKwargs(args);
  let next = 0;
  const auto = () => next++;
  // As Python: '{}' and '{0}' in one string is an error.
  let mode: 'manual' | 'automatic' | undefined;
  const numbering = (kind: 'manual' | 'automatic') => {
    const what = { manual: 'manual field specification', automatic: 'automatic field numbering' };
    if (mode && mode !== kind) throw new Error(`'${s}'.format(...): cannot switch from ${what[mode]} to ${what[kind]} (number every {} field, or none)`);
    mode = kind;
  };
  const value = (name: string, conv: string | undefined, spec: string) => {
    const v = field(name.trim(), auto, numbering, pos, kw, s);
    const shown = conv === 'r' || conv === 'a' ? pyRepr(v) : conv === 's' ? pyStr(v) : v;
    return formatValue(shown, spec);
  };
  return s.replace(/\{\{|\}\}|\{([^{}!:]*)(?:!([rsa]))?(?::((?:[^{}]|\{[^{}]*\})*))?\}/g, (m, name: string, conv: string | undefined, spec: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    // A spec may hold fields of its own ('{:>{width}}').
    const inner = (spec ?? '').replace(/\{([^{}]*)\}/g, (_x, n: string) => pyStr(field(n.trim(), auto, numbering, pos, kw, s)));
    return value(name, conv, inner);
  });
}

/** Python's `%` formatting, for Jinja's `format` filter: %s %d %i %f %.2f %05d %%. */
export function percentFormat(s: string, args: readonly unknown[]): string {
  let i = 0;
  // `'%(name)s' % {'name': 5}`: a dict's values by key.
  const byName = args.length === 1 && args[0] && typeof args[0] === 'object' && !Array.isArray(args[0]) && !(args[0] instanceof String) ? args[0] as Record<string, unknown> : undefined;
  return s.replace(/%(?:\((\w+)\))?(-?0?)(\d*)(?:\.(\d+))?([sdifr%])/g, (_m, key: string | undefined, flags: string, width: string, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const v = key !== undefined && byName ? byName[key] : args[i++];
    let out: string;
    if (conv === 'd' || conv === 'i') out = String(Math.trunc(Number(v)));
    else if (conv === 'f') out = pyFixed(Number(v), prec !== undefined ? Number(prec) : 6);
    else if (conv === 'r') out = pyRepr(v === undefined ? null : v);
    else out = pyStr(v === undefined ? null : v);
    const w = Number(width || 0);
    if (out.length < w) out = flags.startsWith('-') ? out.padEnd(w) : out.padStart(w, flags.includes('0') && conv !== 's' ? '0' : ' ');
    return out;
  });
}
