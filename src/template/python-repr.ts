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

function repr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string' || v instanceof String) return `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return listRepr(v);
  if (isPlain(v)) return dictRepr(v as Record<string, unknown>);
  return String(v);
}

function listRepr(v: unknown[]): string {
  const items = v.map(repr);
  if ((v as unknown as Record<symbol, boolean>)[TUPLE]) return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  return `[${items.join(', ')}]`;
}

function dictRepr(o: Record<string, unknown>): string {
  return `{${Object.entries(o).filter(([k]) => k !== '__keywords').map(([k, x]) => `${repr(k)}: ${repr(x)}`).join(', ')}}`;
}

function isPlain(v: unknown): boolean {
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
  if (isPlain(v)) return Object.keys(v).some((k) => k !== '__keywords');
  return true;
}

/** The value `{{ v }}` prints, before Nunjucks' own conversion (lists and dicts as Python prints them). */
export function printable(v: unknown): unknown {
  if (Array.isArray(v)) return listRepr(v);
  if (isPlain(v)) return dictRepr(v as Record<string, unknown>);
  return v;
}
