/**
 * What Jinja prints for a list, tuple or dict: Python's repr (`['a', 'b']`, `('a', 'b')`,
 * `{'k': 'v'}`), so `where id in {{ ids }}` with a tuple gives SQL, not JavaScript's `a,b` or
 * `[object Object]`. Strings, numbers and objects with their own text print as before.
 */
const TUPLE = Symbol('lake.tuple');

/** A list Nunjucks made from a parenthesised group `(a, b)`: printed as a tuple. */
export function markTuple<T extends unknown[]>(list: T): T {
  Object.defineProperty(list, TUPLE, { value: true, enumerable: false });
  return list;
}

/** Python's repr(): strings quoted, None/True/False, lists, tuples and dicts as Python writes them. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string' || v instanceof String) return `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return listRepr(v);
  if (isPlain(v)) return dictRepr(v as Record<string, unknown>);
  return String(v);
}

function listRepr(v: unknown[]): string {
  const items = v.map(pyRepr);
  if ((v as unknown as Record<symbol, boolean>)[TUPLE]) return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  return `[${items.join(', ')}]`;
}

function dictRepr(o: Record<string, unknown>): string {
  return `{${Object.entries(o).filter(([k]) => k !== '__keywords').map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
}

const PY_NUMBER = Symbol('python number');

/**
 * A number that prints as `text` (a query's DECIMAL `1.50`, a DOUBLE `3.0`, as dbt's agate gives
 * them: Python's Decimal) and otherwise computes and compares as the number.
 */
export function pyNumber(n: number, text: string): number {
  const o = new Number(n);
  Object.defineProperty(o, 'toString', { value: () => text });
  Object.defineProperty(o, PY_NUMBER, { value: true });
  return o as unknown as number;
}

const PY_FLOAT = Symbol('python float');

/** Python's repr of a float: `1.0`, `0.30000000000000004`, `1e+16`, `1e-05`, `inf`, `nan`. */
export function floatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const [mantissa, e] = n.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 16) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const fixed = String(n);
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

/**
 * A Python float (a literal with a point, `/`, `| float`, `| round`): computes and compares as the
 * number, prints as Python does (`3.0`, where a JavaScript number prints `3`).
 */
export function pyFloat(n: number): number {
  const o = pyNumber(n, floatRepr(n)) as unknown as Record<symbol, unknown>;
  Object.defineProperty(o, PY_FLOAT, { value: true });
  return o as unknown as number;
}

export function isPyFloat(v: unknown): boolean {
  return v instanceof Number && !!(v as unknown as Record<symbol, unknown>)[PY_FLOAT];
}

/** A number, or one made by pyNumber. */
export function isNumberLike(v: unknown): boolean {
  return typeof v === 'number' || v instanceof Number;
}

/** A plain object (a dict), not a class instance or a String. */
export function isPlain(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as { toString?: unknown }).toString !== 'function' ? true
    : (proto === Object.prototype || proto === null) && (v as { toString: unknown }).toString === Object.prototype.toString;
}

/**
 * Jinja's (Python's) truth of a value: an empty list, dict or string (a macro's empty output
 * included) is false, as are None, False and 0; JavaScript held `[]` and `{}` true, so
 * `{% if except %}` with `except=[]` took the branch dbt does not.
 */
export function truthy(v: unknown): boolean {
  if (!v) return false;
  if (typeof v !== 'object') return true;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof String) return v.length > 0;
  if (v instanceof Number) return v.valueOf() !== 0;
  if (isPlain(v)) return Object.keys(v).some((k) => k !== '__keywords');
  return true;
}

/** The value `{{ v }}` prints, before Nunjucks' own conversion (lists and dicts as Python prints them). */
export function printable(v: unknown): unknown {
  // A pyNumber prints its text (as a string: concatenation would take its value).
  if (v instanceof Number) return v.toString();
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  if (Array.isArray(v)) return listRepr(v);
  if (isPlain(v)) return dictRepr(v as Record<string, unknown>);
  return v;
}

export function isTuple(v: unknown[]): boolean {
  return !!(v as unknown as Record<symbol, boolean>)[TUPLE];
}

/**
 * Python's `==`: numbers (booleans count as 1 and 0) and strings by value, lists and dicts item by
 * item, None only equal to None; never JavaScript's coercions (`1 == '1'`, `'' == 0`).
 */
export function pyEq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return (a === null || a === undefined) && (b === null || b === undefined);
  const num = (v: unknown) => typeof v === 'number' || typeof v === 'boolean' || v instanceof Number;
  if (num(a) && num(b)) return Number(a) === Number(b);
  const str = (v: unknown) => typeof v === 'string' || v instanceof String;
  if (str(a) && str(b)) return String(a) === String(b);
  // A tuple never equals a list (Python: (1, 2) != [1, 2]).
  if (Array.isArray(a) && Array.isArray(b)) return isTuple(a) === isTuple(b) && a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  if (isPlain(a) && isPlain(b)) {
    const ka = Object.keys(a as object).filter((k) => k !== '__keywords');
    const kb = Object.keys(b as object).filter((k) => k !== '__keywords');
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && pyEq((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

/** One Python comparison (`==`, `!=`, `<`, ... as Nunjucks spells them, `===`/`!==` too). */
export function pyCompareOne(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==': case '===': return pyEq(a, b);
    case '!=': case '!==': return !pyEq(a, b);
    case '<': return (a as number) < (b as number);
    case '>': return (a as number) > (b as number);
    case '<=': return (a as number) <= (b as number);
    default: return (a as number) >= (b as number);
  }
}

/** A Python comparison chain: `a < b < c` is `a < b and b < c`. */
export function pyCompare(first: unknown, ...rest: unknown[]): boolean {
  let left = first;
  for (let i = 0; i < rest.length; i += 2) {
    const right = rest[i + 1];
    if (!pyCompareOne(rest[i] as string, left, right)) return false;
    left = right;
  }
  return true;
}

/** Python's str() of a value as a template prints or concatenates it: None, True, lists as Python writes them; undefined is ''. */
export function pyStr(v: unknown): string {
  if (v === undefined) return '';
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  const p = printable(v);
  return typeof p === 'string' ? p : String(p);
}

/** Jinja's `loop.cycle(a, b, ...)` at iteration `i`: its arguments in turn. */
export function loopCycle(i: number): (...values: unknown[]) => unknown {
  return (...values: unknown[]) => (values.length ? values[i % values.length] : undefined);
}

/** Jinja's `loop.changed(*values)`: true at its first call in a loop and whenever the values differ from the last call's. */
export function loopChanged(state: { last?: unknown[] }): (...values: unknown[]) => boolean {
  return (...values: unknown[]) => {
    if (state.last !== undefined && pyEq(state.last, values)) return false;
    state.last = values;
    return true;
  };
}

/** What Python iterates: a list's items, a dict's keys, a string's characters (nothing for anything else). */
export const toList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.keys(v) : typeof v === 'string' ? [...v] : []);
