/**
 * dbt's YAML selectors (`selectors.yml`, `--selector name`): a named definition made of selector
 * strings (`tag:nightly`), method entries (`{method: tag, value: nightly, children: true,
 * parents_depth: 2, childrens_parents: true}`), `union:` / `intersection:` lists and `exclude:`
 * inside them (excluded at that level), and `{method: selector, value: other}`. Evaluated with set
 * operations over what each leaf selects (`select`: lake's selector syntax, and the entry's
 * `indirect_selection` if it has one → ids of nodes and tests; dbt applies the indirect selection
 * of tests at each leaf, before the set operations). Pure.
 */

export interface YamlSelector {
  readonly name: string;
  readonly definition: unknown;
  readonly default?: boolean;
}

/** A selectors.yml problem, for a person: what is wrong, and where in the file (the selector's name). */
export class SelectorError extends Error {}

const INDIRECT = ['eager', 'cautious', 'buildable', 'empty'];

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** A method entry as lake's selector text: `2+tag:x+`, `@path:models`. */
function methodText(d: Record<string, unknown>, where: string): string {
  const method = String(d.method ?? '');
  const value = String(d.value ?? '');
  if (!method || d.value === undefined) throw new SelectorError(`${where}: a method entry needs method and value (e.g. {method: tag, value: nightly})`);
  const atom = method === 'fqn' ? value : `${method}:${value}`;
  if (d.childrens_parents === true) return `@${atom}`;
  const up = d.parents_depth !== undefined ? `${Number(d.parents_depth)}+` : d.parents === true ? '+' : '';
  const down = d.children_depth !== undefined ? `+${Number(d.children_depth)}` : d.children === true ? '+' : '';
  return `${up}${atom}${down}`;
}

/**
 * The node ids selector `name` selects: `select(text)` gives what one of lake's selector strings
 * selects; `all` is every node (an intersection or exclusion with nothing else starts from it).
 */
export function evaluateSelector(selectors: ReadonlyMap<string, YamlSelector>, name: string, select: (text: string, indirectSelection?: string) => ReadonlySet<string>, seen: readonly string[] = []): Set<string> {
  const sel = selectors.get(name);
  if (!sel) throw new SelectorError(`no selector named '${name}' in selectors.yml${selectors.size ? ` (there are ${[...selectors.keys()].join(', ')})` : ''}`);
  if (seen.includes(name)) throw new SelectorError(`selector ${[...seen, name].join(' > ')} refers to itself`);
  const where = `selector ${name}`;
  const walk = (d: unknown): Set<string> => {
    if (typeof d === 'string') return new Set(select(d));
    if (Array.isArray(d)) return union(d);
    if (!isRecord(d)) throw new SelectorError(`${where}: ${JSON.stringify(d)} is not a selector definition`);
    if ('union' in d) return union(asList(d.union));
    if ('intersection' in d) return intersection(asList(d.intersection));
    if (d.method === 'selector') return evaluateSelector(selectors, String(d.value), select, [...seen, name]);
    // The key-value form, `{tag: nightly}`: one method and its value, no graph operators.
    const keys = Object.keys(d);
    if (d.method === undefined && keys.length === 1 && keys[0] !== 'exclude') return walk({ method: keys[0], value: d[keys[0]!] });
    const indirect = d.indirect_selection;
    if (indirect !== undefined && !INDIRECT.includes(String(indirect))) {
      throw new SelectorError(`${where}: indirect_selection ${JSON.stringify(indirect)} is not a mode (use ${INDIRECT.join(', ')})`);
    }
    return new Set(select(methodText(d, where), indirect === undefined ? undefined : String(indirect)));
  };
  const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
  const excluded = (items: unknown[]): Set<string> => {
    const out = new Set<string>();
    for (const i of items) if (isRecord(i) && 'exclude' in i) for (const id of union(asList(i.exclude))) out.add(id);
    return out;
  };
  const kept = (items: unknown[]) => items.filter((i) => !(isRecord(i) && 'exclude' in i));
  function union(items: unknown[]): Set<string> {
    const out = new Set<string>();
    for (const i of kept(items)) for (const id of walk(i)) out.add(id);
    for (const id of excluded(items)) out.delete(id);
    return out;
  }
  function intersection(items: unknown[]): Set<string> {
    const parts = kept(items).map(walk);
    let out = parts.length ? parts[0]! : new Set(select(''));
    for (const p of parts.slice(1)) out = new Set([...out].filter((id) => p.has(id)));
    for (const id of excluded(items)) out.delete(id);
    return out;
  }
  return walk(sel.definition);
}
