/**
 * Python's `itertools` module as dbt gives templates `modules.itertools` (product, chain,
 * combinations, permutations, islice, zip_longest, accumulate, compress, starmap, tee), each giving a
 * list — a template only iterates them, prints them with `| list` or takes their `length`, so a
 * list does what Python's iterator does there. Tuples print as Python's, `(1, 'a')`. The
 * endless ones (count, cycle, repeat without times) say so: lake's lists cannot be endless.
 */
import { bindArgs, splitKwargs } from './call-args.js';
import { markTuple, toList, truthy } from './python-repr.js';

type Fn = (...args: unknown[]) => unknown;

/** r-length tuples of `pool`'s positions, in lexicographic order (`repeat`: a position may repeat; `ordered`: any order). */
function indexTuples(n: number, r: number, opts: { repeat: boolean; ordered: boolean }): number[][] {
  const out: number[][] = [];
  const walk = (prefix: number[]): void => {
    if (prefix.length === r) {
      out.push(prefix);
      return;
    }
    const start = opts.ordered ? 0 : opts.repeat ? (prefix[prefix.length - 1] ?? 0) : (prefix[prefix.length - 1] ?? -1) + 1;
    for (let i = start; i < n; i++) if (opts.repeat || !prefix.includes(i)) walk([...prefix, i]);
  };
  if (r >= 0 && (opts.repeat ? r === 0 || n > 0 : r <= n)) walk([]);
  return out;
}

/** Tuples of `pool`'s items at the positions of `idx`. */
const pick = (pool: unknown[], idx: number[][]): unknown[][] => idx.map((t) => markTuple(t.map((i) => pool[i])));

const endless = (name: string) => `modules.itertools.${name}() without an end is not available in lake: it yields values for ever; use range(), loop.index or loop.cycle() instead${name === 'repeat' ? ', or repeat(x, times)' : ''}`;

/** `modules.itertools`: the functions dbt exports (base.py's get_itertools_module_context), no others. */
export function pythonItertools(add: (a: unknown, b: unknown) => unknown): Record<string, unknown> {
  // chain.from_iterable: a callable with an attribute, kept whole by member lookup (__lakeNamespace).
  const chain = Object.assign((...its: unknown[]) => its.flatMap(toList), {
    from_iterable: (its: unknown) => toList(its).flatMap(toList),
    __lakeNamespace: true,
  });
  return {
    chain,
    product: (...args: unknown[]) => {
      const { pos, kw } = splitKwargs(args);
      const pools = pos.map(toList);
      const all = Array.from({ length: Math.max(0, Number(kw.repeat ?? 1)) }, () => pools).flat();
      return all.reduce<unknown[][]>((acc, pool) => acc.flatMap((t) => pool.map((x) => [...t, x])), [[]]).map((t) => markTuple(t));
    },
    combinations: (...a: unknown[]) => {
      const [it, r] = bindArgs(a, ['iterable', 'r']);
      const pool = toList(it);
      return pick(pool, indexTuples(pool.length, Number(r), { repeat: false, ordered: false }));
    },
    combinations_with_replacement: (...a: unknown[]) => {
      const [it, r] = bindArgs(a, ['iterable', 'r']);
      const pool = toList(it);
      return pick(pool, indexTuples(pool.length, Number(r), { repeat: true, ordered: false }));
    },
    permutations: (...a: unknown[]) => {
      const [it, r] = bindArgs(a, ['iterable', 'r']);
      const pool = toList(it);
      return pick(pool, indexTuples(pool.length, r === undefined || r === null ? pool.length : Number(r), { repeat: false, ordered: true }));
    },
    // islice(it, stop) or islice(it, start, stop[, step]); None for stop is the end.
    islice: (it: unknown, ...a: unknown[]) => {
      const list = toList(it);
      const [start, stop, step] = a.length === 1 ? [0, a[0], 1] : [a[0] ?? 0, a[1], a[2] ?? 1];
      const out: unknown[] = [];
      const end = stop === null || stop === undefined ? list.length : Math.min(Number(stop), list.length);
      for (let i = Number(start); i < end; i += Number(step)) out.push(list[i]);
      return out;
    },
    zip_longest: (...args: unknown[]) => {
      const { pos, kw } = splitKwargs(args);
      const ls = pos.map(toList);
      const n = ls.length ? Math.max(...ls.map((l) => l.length)) : 0;
      const fill = kw.fillvalue ?? null;
      return Array.from({ length: n }, (_x, i) => markTuple(ls.map((l) => (i < l.length ? l[i] : fill))));
    },
    accumulate: (...args: unknown[]) => {
      const { pos, kw } = splitKwargs(args);
      const list = toList(pos[0]);
      const fn = (pos[1] ?? kw.func ?? add) as Fn;
      const out: unknown[] = 'initial' in kw && kw.initial !== null ? [kw.initial] : [];
      for (const x of list) out.push(out.length ? fn(out[out.length - 1], x) : x);
      return out;
    },
    compress: (data: unknown, selectors: unknown) => {
      const s = toList(selectors);
      return toList(data).filter((_x, i) => i < s.length && truthy(s[i]));
    },
    starmap: (fn: Fn, it: unknown) => toList(it).map((args) => fn(...toList(args))),
    tee: (it: unknown, n: unknown = 2) => markTuple(Array.from({ length: Number(n) }, () => [...toList(it)])),
    count: () => { throw new Error(endless('count')); },
    cycle: () => { throw new Error(endless('cycle')); },
    // repeat(x, times): finite only; without times it would never end.
    repeat: (...a: unknown[]) => {
      const [x, times] = bindArgs(a, ['object', 'times']);
      if (times === undefined || times === null) throw new Error(endless('repeat'));
      return Array.from({ length: Math.max(0, Number(times)) }, () => x);
    },
  };
}
