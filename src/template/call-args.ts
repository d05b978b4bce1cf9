/**
 * Arguments of a call from a template: Nunjucks passes keyword arguments as a last object marked
 * `__keywords`. Shared by lake's functions that take Jinja keyword arguments.
 */

/** The positional arguments and the keyword ones. */
export function splitKwargs(args: readonly unknown[]): { pos: unknown[]; kw: Record<string, unknown> } {
  const last = args[args.length - 1];
  if (last && typeof last === 'object' && (last as Record<string, unknown>).__keywords) {
    const { __keywords: _k, ...kw } = last as Record<string, unknown>;
    return { pos: args.slice(0, -1), kw };
  }
  return { pos: [...args], kw: {} };
}

/** The arguments in the order of `names`, whether given by position or by keyword. */
export function bindArgs(args: readonly unknown[], names: readonly string[]): unknown[] {
  const { pos, kw } = splitKwargs(args);
  if (pos.length === args.length) return [...args];
  return names.map((n, i) => (i < pos.length ? pos[i] : kw[n]));
}
