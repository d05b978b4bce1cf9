/**
 * Python's `re` module as dbt gives templates `modules.re` (sub, match, fullmatch, search, findall,
 * split, compile, escape, the flags), on JavaScript's regular expressions: Python's named groups
 * and \A / \Z are translated, and so are \1 and \g<name> in replacement strings.
 */
import { bindArgs } from './call-args.js';

type Fn = (...args: unknown[]) => unknown;

/** A Python `re` match: group(n), groups(), start(), end(), span(); None (null) when nothing matched. */
function reMatch(m: RegExpExecArray | null): object | null {
  if (!m) return null;
  const group = (...ns: unknown[]) => {
    const one = (n: unknown) => (typeof n === 'string' ? m.groups?.[n] : m[Number(n ?? 0)]) ?? null;
    return ns.length > 1 ? ns.map(one) : one(ns[0]);
  };
  return { group, groups: () => m.slice(1).map((x) => x ?? null), start: () => m.index, end: () => m.index + m[0].length, span: () => [m.index, m.index + m[0].length], string: m.input };
}

/** Python's regular expression syntax where it differs from JavaScript's: named groups, flags. */
function jsRegExp(pattern: unknown, flags: unknown, extra = ''): RegExp {
  if (pattern instanceof RegExp) return new RegExp(pattern.source, [...new Set(pattern.flags + extra)].join(''));
  const f = Number(flags ?? 0);
  const fl = `${f & 2 ? 'i' : ''}${f & 8 ? 'm' : ''}${f & 16 ? 's' : ''}${extra}`;
  return new RegExp(String(pattern).replace(/\(\?P<(\w+)>/g, '(?<$1>').replace(/\(\?P=(\w+)\)/g, '\\k<$1>').replace(/\\A/g, '^').replace(/\\Z/g, '$'), fl);
}

/** Python's `re` module, as dbt gives templates `modules.re` (sub, match, search, findall, split, compile, escape). */
export function pythonRe(): Record<string, unknown> {
  const repl = (r: unknown) => (typeof r === 'function' ? (m: string, ...g: unknown[]) => String((r as Fn)(reMatch(Object.assign([m, ...g.slice(0, -2)], { index: g[g.length - 2] as number, input: g[g.length - 1] as string }) as unknown as RegExpExecArray)))
    : String(r).replace(/\$/g, '$$$$').replace(/\\g<(\w+)>/g, (_m, n: string) => (/^\d+$/.test(n) ? `$${n}` : `$<${n}>`)).replace(/\\(\d+)/g, '$$$1'));
  const mod: Record<string, unknown> = {
    I: 2, IGNORECASE: 2, M: 8, MULTILINE: 8, S: 16, DOTALL: 16, X: 64, VERBOSE: 64,
    sub: (...a: unknown[]) => {
      const [pattern, r, string, count, flags] = bindArgs(a, ['pattern', 'repl', 'string', 'count', 'flags']);
      const n = Number(count ?? 0);
      if (n <= 0) return String(string).replace(jsRegExp(pattern, flags, 'g'), repl(r) as string);
      let left = n;
      const re = jsRegExp(pattern, flags, 'g');
      const rr = repl(r);
      return String(string).replace(re, (...m: unknown[]) => (left-- > 0 ? (typeof rr === 'function' ? rr(...(m as [string])) : (m[0] as string).replace(jsRegExp(pattern, flags), rr)) : (m[0] as string)));
    },
    match: (...a: unknown[]) => {
      const [pattern, string, flags] = bindArgs(a, ['pattern', 'string', 'flags']);
      const re = jsRegExp(pattern, flags, 'y');
      return reMatch(re.exec(String(string)));
    },
    fullmatch: (...a: unknown[]) => {
      const [pattern, string, flags] = bindArgs(a, ['pattern', 'string', 'flags']);
      const re = jsRegExp(`(?:${pattern instanceof RegExp ? pattern.source : String(pattern)})$`, flags, 'y');
      return reMatch(re.exec(String(string)));
    },
    search: (...a: unknown[]) => {
      const [pattern, string, flags] = bindArgs(a, ['pattern', 'string', 'flags']);
      return reMatch(jsRegExp(pattern, flags).exec(String(string)));
    },
    findall: (...a: unknown[]) => {
      const [pattern, string, flags] = bindArgs(a, ['pattern', 'string', 'flags']);
      return [...String(string).matchAll(jsRegExp(pattern, flags, 'g'))].map((m) => (m.length === 1 ? m[0] : m.length === 2 ? m[1] ?? '' : m.slice(1).map((x) => x ?? '')));
    },
    split: (...a: unknown[]) => {
      const [pattern, string, maxsplit, flags] = bindArgs(a, ['pattern', 'string', 'maxsplit', 'flags']);
      const parts = String(string).split(jsRegExp(pattern, flags));
      const n = Number(maxsplit ?? 0);
      return n > 0 && parts.length > n + 1 ? [...parts.slice(0, n), parts.slice(n).join('')] : parts;
    },
    escape: (p: unknown) => String(p).replace(/[.*+?^${}()|[\]\\\/-]/g, '\\$&'),
  };
  mod.compile = (pattern: unknown, flags?: unknown) => {
    const re = jsRegExp(pattern, flags);
    const bind = (name: string) => (...a: unknown[]) => (mod[name] as Fn)(re, ...a);
    return { pattern: String(pattern), sub: bind('sub'), match: bind('match'), fullmatch: bind('fullmatch'), search: bind('search'), findall: bind('findall'), split: bind('split') };
  };
  return mod;
}
