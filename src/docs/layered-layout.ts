/**
 * A plain layered layout for large DAGs (left to right), used instead of dagre above
 * `LARGE_GRAPH` nodes: dagre's cost on ~1,000 nodes dominated `lake docs generate`.
 *
 * Longest-path layering (every node one layer right of its deepest parent, sources at 0), a chain
 * of thin dummy nodes for each edge spanning several layers (so long edges get their own lanes
 * between boxes), barycentre sweeps to reduce crossings, then coordinates: x by layer column,
 * y stacked within each layer and centred on the tallest layer. Linear-ish in nodes + edge spans.
 */

export interface LayeredOptions {
  readonly nodesep: number;
  readonly edgesep: number;
  readonly ranksep: number;
  readonly margin: number;
}

export interface LayeredResult {
  readonly width: number;
  readonly height: number;
  /** Centre x/y per real node. */
  readonly cx: Float64Array;
  readonly cy: Float64Array;
  /** Per input edge, the centres of the dummy nodes it passes through (empty for adjacent layers). */
  readonly bends: readonly (readonly { x: number; y: number }[])[];
}

export function layeredLayout(
  sizes: readonly { readonly w: number; readonly h: number }[],
  edges: readonly (readonly [number, number])[],
  opts: LayeredOptions,
): LayeredResult {
  const n = sizes.length;

  // --- unique edges, adjacency -------------------------------------------------------------
  const edgeKey = new Map<number, number>(); // from * n + to → unique edge index
  const uFrom: number[] = [];
  const uTo: number[] = [];
  const inputToUnique = new Int32Array(edges.length).fill(-1);
  edges.forEach(([f, t], i) => {
    if (f === t) return;
    const k = f * n + t;
    let u = edgeKey.get(k);
    if (u === undefined) {
      u = uFrom.length;
      edgeKey.set(k, u);
      uFrom.push(f);
      uTo.push(t);
    }
    inputToUnique[i] = u;
  });
  const outs: number[][] = Array.from({ length: n }, () => []);
  const indeg = new Int32Array(n);
  for (let u = 0; u < uFrom.length; u++) {
    outs[uFrom[u]!]!.push(uTo[u]!);
    indeg[uTo[u]!]!++;
  }

  // --- longest-path layering (Kahn order; nodes on a cycle, if any, are placed afterwards) ---
  const layer = new Int32Array(n);
  const done = new Uint8Array(n);
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) queue.push(v);
  const remaining = Int32Array.from(indeg);
  for (let qi = 0; ; qi++) {
    if (qi >= queue.length) {
      // cycle guard: release the first unplaced node
      let next = -1;
      for (let v = 0; v < n; v++) if (!done[v] && !queue.includes(v)) { next = v; break; }
      if (next < 0) break;
      queue.push(next);
    }
    const v = queue[qi]!;
    done[v] = 1;
    for (const c of outs[v]!) {
      if (done[c]) continue;
      if (layer[v]! + 1 > layer[c]!) layer[c] = layer[v]! + 1;
      if (--remaining[c]! === 0) queue.push(c);
    }
  }
  let layerCount = 0;
  for (let v = 0; v < n; v++) layerCount = Math.max(layerCount, layer[v]! + 1);

  // --- nodes per layer, with dummy chains for long edges --------------------------------------
  // Node ids: 0..n-1 real, n.. dummies. Each node's predecessors/successors in adjacent layers.
  const nodeLayer: number[] = Array.from(layer);
  const preds: number[][] = Array.from({ length: n }, () => []);
  const succs: number[][] = Array.from({ length: n }, () => []);
  const chains: number[][] = new Array<number[]>(uFrom.length);
  for (let u = 0; u < uFrom.length; u++) {
    const f = uFrom[u]!;
    const t = uTo[u]!;
    const chain: number[] = [];
    let prev = f;
    const lf = nodeLayer[f]!;
    const lt = nodeLayer[t]!;
    if (lt <= lf) {
      chains[u] = chain; // back edge from a cycle: drawn directly, not used for ordering
      continue;
    }
    for (let l = lf + 1; l < lt; l++) {
      const d = nodeLayer.length;
      nodeLayer.push(l);
      preds.push([prev]);
      succs.push([]);
      succs[prev]!.push(d);
      chain.push(d);
      prev = d;
    }
    succs[prev]!.push(t);
    preds[t]!.push(prev);
    chains[u] = chain;
  }
  const total = nodeLayer.length;
  const layers: number[][] = Array.from({ length: layerCount }, () => []);
  // initial order: real nodes in input order, dummies in creation order (follows their edge)
  for (let v = 0; v < total; v++) layers[nodeLayer[v]!]!.push(v);

  // --- barycentre sweeps ----------------------------------------------------------------------
  const pos = new Float64Array(total);
  const renumber = (l: number): void => layers[l]!.forEach((v, i) => (pos[v] = i));
  for (let l = 0; l < layerCount; l++) renumber(l);
  const bary = new Float64Array(total);
  const sweep = (l: number, nbrs: number[][]): void => {
    const row = layers[l]!;
    for (const v of row) {
      const ns = nbrs[v]!;
      if (ns.length === 0) {
        bary[v] = pos[v]! * (1 + 1e-9); // keep roughly where it is
        continue;
      }
      let s = 0;
      for (const w of ns) s += pos[w]!;
      bary[v] = s / ns.length;
    }
    // ties (and unconnected nodes) keep their current relative order
    row.sort((a, b) => bary[a]! - bary[b]! || pos[a]! - pos[b]!);
    renumber(l);
  };
  for (let pass = 0; pass < 2; pass++) {
    for (let l = 1; l < layerCount; l++) sweep(l, preds);
    for (let l = layerCount - 2; l >= 0; l--) sweep(l, succs);
  }

  // --- coordinates ----------------------------------------------------------------------------
  const colW = new Float64Array(layerCount);
  for (let v = 0; v < n; v++) colW[layer[v]!] = Math.max(colW[layer[v]!]!, sizes[v]!.w);
  const colX = new Float64Array(layerCount);
  let x = opts.margin;
  for (let l = 0; l < layerCount; l++) {
    colX[l] = x + colW[l]! / 2;
    x += colW[l]! + (l < layerCount - 1 ? opts.ranksep : 0);
  }
  const width = x + opts.margin;

  const isDummy = (v: number): boolean => v >= n;
  const heightOf = (v: number): number => (isDummy(v) ? 0 : sizes[v]!.h);
  const gap = (a: number, b: number): number =>
    (isDummy(a) ? opts.edgesep : opts.nodesep) / 2 + (isDummy(b) ? opts.edgesep : opts.nodesep) / 2;
  const colH = new Float64Array(layerCount);
  for (let l = 0; l < layerCount; l++) {
    const row = layers[l]!;
    let h = 0;
    row.forEach((v, i) => (h += heightOf(v) + (i > 0 ? gap(row[i - 1]!, v) : 0)));
    colH[l] = h;
  }
  let maxH = 0;
  for (let l = 0; l < layerCount; l++) maxH = Math.max(maxH, colH[l]!);

  const ys = new Float64Array(total);
  for (let l = 0; l < layerCount; l++) {
    const row = layers[l]!;
    let y = opts.margin + (maxH - colH[l]!) / 2;
    row.forEach((v, i) => {
      if (i > 0) y += gap(row[i - 1]!, v);
      ys[v] = y + heightOf(v) / 2;
      y += heightOf(v);
    });
  }

  const cx = new Float64Array(n);
  const cy = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    cx[v] = colX[layer[v]!]!;
    cy[v] = ys[v]!;
  }
  const bends = edges.map((_, i) => {
    const u = inputToUnique[i]!;
    if (u < 0) return [];
    return chains[u]!.map((d) => ({ x: colX[nodeLayer[d]!]!, y: ys[d]! }));
  });
  return { width, height: maxH + 2 * opts.margin, cx, cy, bends };
}
