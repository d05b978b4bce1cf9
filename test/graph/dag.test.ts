import { describe, expect, it } from 'vitest';
import { Dag, type DagNode } from '../../src/graph/dag.js';
import { LakeError } from '../../src/errors/index.js';

const model = (id: string): DagNode => {
  const [schema, name] = id.split('.') as [string, string];
  return { id, kind: 'model', name, schema, path: `models/${schema}/${name}.sql`, tags: [], config: {} };
};
const dagOf = (edges: [string, string][], extra: string[] = []): Dag => {
  const ids = [...new Set([...edges.flat(), ...extra])];
  return new Dag(ids.map(model), edges);
};

describe('Dag', () => {
  // a -> b -> d, a -> c -> d, d -> e
  const diamond = dagOf([['s.a', 's.b'], ['s.a', 's.c'], ['s.b', 's.d'], ['s.c', 's.d'], ['s.d', 's.e']]);

  it('gives parents and children', () => {
    expect([...diamond.parents('s.d')].sort()).toEqual(['s.b', 's.c']);
    expect([...diamond.children('s.a')].sort()).toEqual(['s.b', 's.c']);
    expect(diamond.parents('s.a')).toEqual([]);
    expect(() => diamond.parents('s.nope')).toThrow(/unknown node s\.nope/);
  });

  it('walks ancestors and descendants, with and without a depth', () => {
    expect(diamond.ancestors('s.e').sort()).toEqual(['s.a', 's.b', 's.c', 's.d']);
    expect(diamond.ancestors('s.e', 1)).toEqual(['s.d']);
    expect(diamond.ancestors('s.e', 2).sort()).toEqual(['s.b', 's.c', 's.d']);
    expect(diamond.descendants('s.a', 1).sort()).toEqual(['s.b', 's.c']);
    expect(diamond.descendants('s.b').sort()).toEqual(['s.d', 's.e']);
    expect(diamond.descendants(['s.b', 's.c'], 1)).toEqual(['s.d']);
    expect(diamond.descendants('s.e')).toEqual([]);
  });

  it('orders by ordering-only edges but walks them only when not asked for read edges alone (selection)', () => {
    // seed -> src is ordering-only (a source over the seed's table); src -> m and seed -> t are reads.
    const dag = new Dag(['s.seed', 's.src', 's.m', 's.t'].map(model), [['s.src', 's.m'], ['s.seed', 's.t']], [['s.seed', 's.src'], ['s.seed', 's.m'], ['s.seed', 's.t']]);
    expect(dag.levels()).toEqual([['s.seed'], ['s.src', 's.t'], ['s.m']]);
    expect([...dag.parents('s.m')].sort()).toEqual(['s.seed', 's.src']);
    expect(dag.descendants('s.seed').sort()).toEqual(['s.m', 's.src', 's.t']);
    // A pair that is also a read edge stays one.
    expect(dag.descendants('s.seed', Infinity, { reads: true })).toEqual(['s.t']);
    expect(dag.ancestors('s.m', Infinity, { reads: true })).toEqual(['s.src']);
    expect(dag.ancestors('s.m').sort()).toEqual(['s.seed', 's.src']);
  });

  it('puts a diamond into levels', () => {
    expect(diamond.levels()).toEqual([['s.a'], ['s.b', 's.c'], ['s.d'], ['s.e']]);
    expect(diamond.topoOrder()).toEqual(['s.a', 's.b', 's.c', 's.d', 's.e']);
  });

  it('levels a node by its longest path and keeps isolated nodes at level 0', () => {
    const g = dagOf([['s.a', 's.b'], ['s.b', 's.c'], ['s.a', 's.c']], ['s.lonely']);
    expect(g.levels()).toEqual([['s.a', 's.lonely'], ['s.b'], ['s.c']]);
  });

  it('gives the same levels whatever order the nodes arrive in', () => {
    const edges: [string, string][] = [['s.z', 's.m'], ['s.a', 's.m'], ['s.m', 's.b']];
    const a = new Dag(['s.z', 's.a', 's.m', 's.b'].map(model), edges);
    const b = new Dag(['s.b', 's.m', 's.a', 's.z'].map(model), edges);
    expect(a.levels()).toEqual([['s.a', 's.z'], ['s.m'], ['s.b']]);
    expect(b.levels()).toEqual(a.levels());
  });

  it('finds no cycle in a DAG', () => {
    expect(diamond.findCycles()).toEqual([]);
    expect(diamond.cycleDiagnostics()).toEqual([]);
  });

  it('names a 2-cycle', () => {
    const g = dagOf([['silver.a', 'silver.b'], ['silver.b', 'silver.a'], ['bronze.x', 'silver.a']]);
    expect(g.findCycles()).toEqual([['silver.a', 'silver.b', 'silver.a']]);
    const [d, ...rest] = g.cycleDiagnostics();
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      code: 'LAKE-G001',
      severity: 'error',
      message: 'cycle: silver.a > silver.b > silver.a',
      file: 'models/silver/a.sql',
    });
  });

  it('names a 3-cycle starting from its smallest id, following the edges', () => {
    // Edges run parent -> child: a feeds c, c feeds b, b feeds a.
    const g = dagOf([['silver.a', 'silver.c'], ['silver.c', 'silver.b'], ['silver.b', 'silver.a'], ['silver.b', 'gold.out']]);
    expect(g.cycleDiagnostics().map((d) => d.message)).toEqual(['cycle: silver.a > silver.c > silver.b > silver.a']);
    expect(g.cycleDiagnostics()[0]!.file).toBe('models/silver/a.sql');
  });

  it('reports each cyclic component once, and a self-reference', () => {
    const g = dagOf([
      ['silver.a', 'silver.b'], ['silver.b', 'silver.a'],
      ['gold.x', 'gold.y'], ['gold.y', 'gold.z'], ['gold.z', 'gold.x'], ['gold.z', 'gold.y'],
      ['silver.self', 'silver.self'],
      ['silver.b', 'gold.x'],
    ]);
    expect(g.cycleDiagnostics().map((d) => d.message)).toEqual([
      'cycle: gold.x > gold.y > gold.z > gold.x',
      'cycle: silver.a > silver.b > silver.a',
      'cycle: silver.self > silver.self',
    ]);
  });

  it('refuses to order a cyclic graph, naming the cycle', () => {
    const g = dagOf([['silver.a', 'silver.b'], ['silver.b', 'silver.a']]);
    let err: unknown;
    try {
      g.topoOrder();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LakeError);
    expect((err as LakeError).phase).toBe('graph');
    expect((err as LakeError).diagnostics.map((d) => d.message)).toEqual(['cycle: silver.a > silver.b > silver.a']);
  });

  it('rejects an edge to an unknown node and a duplicate node, ignores a repeated edge', () => {
    expect(() => new Dag([model('s.a')], [['s.a', 's.b']])).toThrow(/s\.a > s\.b/);
    expect(() => new Dag([model('s.a'), model('s.a')])).toThrow(/duplicate node s\.a/);
    const g = dagOf([['s.a', 's.b'], ['s.a', 's.b']]);
    expect(g.children('s.a')).toEqual(['s.b']);
    expect(g.parents('s.b')).toEqual(['s.a']);
  });

  it('exports the same graph to graphlib', () => {
    const g = diamond.toGraphlib();
    expect(g.nodeCount()).toBe(5);
    expect(g.edgeCount()).toBe(5);
    expect(g.hasEdge('s.b', 's.d')).toBe(true);
    expect(g.hasEdge('s.d', 's.b')).toBe(false);
    expect(g.node('s.e')).toBe(diamond.node('s.e'));
  });

  it('orders a random 10,000-node DAG so every edge goes forward', () => {
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const n = 10_000;
    // Node i may only feed a node with a larger rank; ids are shuffled so rank != id order.
    const ids = Array.from({ length: n }, (_, i) => `s.m${i}`);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const edges: [string, string][] = [];
    for (let i = 1; i < n; i++) {
      const k = Math.floor(rand() * 4);
      for (let e = 0; e < k; e++) edges.push([ids[Math.floor(rand() * i)]!, ids[i]!]);
    }
    const g = new Dag(ids.map(model), edges);
    const order = g.topoOrder();
    expect(order.length).toBe(n);
    expect(new Set(order).size).toBe(n);
    const pos = new Map(order.map((id, i) => [id, i]));
    for (const [p, c] of edges) expect(pos.get(p)! < pos.get(c)!).toBe(true);

    const level = new Map<string, number>();
    g.levels().forEach((ids, l) => ids.forEach((id) => level.set(id, l)));
    for (const id of ids) {
      const ps = g.parents(id).map((p) => level.get(p)!);
      // Level = 1 + the deepest parent's level (0 without parents).
      expect(level.get(id)).toBe(ps.length === 0 ? 0 : Math.max(...ps) + 1);
    }
    expect(g.findCycles()).toEqual([]);

    // Adding one back edge makes exactly one cycle, and it is a real path along edges.
    const [p, c] = edges[edges.length - 1]!;
    const cyclic = new Dag(ids.map(model), [...edges, [c, p]]);
    const cycles = cyclic.findCycles();
    expect(cycles.length).toBe(1);
    const cycle = cycles[0]!;
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    const edgeSet = new Set([...edges, [c, p]].map(([a, b]) => `${a}>${b}`));
    for (let i = 0; i + 1 < cycle.length; i++) expect(edgeSet.has(`${cycle[i]}>${cycle[i + 1]}`)).toBe(true);
  });

  it('handles a 10,000-deep chain and a 10,000-long cycle without recursion', () => {
    const n = 10_000;
    const ids = Array.from({ length: n }, (_, i) => `s.c${String(i).padStart(5, '0')}`);
    const chain = ids.slice(1).map((id, i): [string, string] => [ids[i]!, id]);
    const g = new Dag(ids.map(model), chain);
    expect(g.levels().length).toBe(n);
    expect(g.ancestors(ids[n - 1]!).length).toBe(n - 1);
    expect(g.ancestors(ids[n - 1]!, 3)).toEqual([ids[n - 2], ids[n - 3], ids[n - 4]]);
    const ring = new Dag(ids.map(model), [...chain, [ids[n - 1]!, ids[0]!]]);
    const [cycle] = ring.findCycles();
    expect(cycle).toEqual([...ids, ids[0]]);
  });
});
