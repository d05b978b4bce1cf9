/**
 * Graph layout for the docs site, computed once at generation time (left to right, layered) so the
 * page never lays anything out: dagre for small graphs, layered-layout.ts for large ones. The only
 * module that imports @dagrejs/dagre.
 */
import dagre from '@dagrejs/dagre';
import { layeredLayout } from './layered-layout.js';

/** Node boxes (top-left x/y) and one SVG path `d` per edge, in the same order as the inputs. */
export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  /** Flattened `[x, y, w, h]` per node (top-left corner), to keep the embedded JSON small. */
  readonly boxes: readonly number[];
  /** SVG path data per edge, from the right middle of the parent to the left middle of the child. */
  readonly edges: readonly string[];
  /** SVG path data of all arrowheads (one per node with parents). */
  readonly arrows: string;
}

export interface LayoutNodeSize {
  readonly w: number;
  readonly h: number;
}

/**
 * Above this many nodes dagre is not used: even with its cheaper settings (tight-tree ranking, no
 * extra crossing-reduction sweeps) it took ~0.9 s plus much GC on 1,000 nodes, so large graphs get
 * our own longest-path + barycentre layering (layered-layout.ts). Small graphs keep dagre.
 */
const LARGE_GRAPH = 300;
const MARGIN = 24;

/** Lay out a DAG left to right. `edges` are `[parentIndex, childIndex]`. */
export function layoutGraph(sizes: readonly LayoutNodeSize[], edges: readonly (readonly [number, number])[]): GraphLayout {
  if (sizes.length > LARGE_GRAPH) {
    const r = layeredLayout(sizes, edges, { nodesep: 14, edgesep: 6, ranksep: 80, margin: MARGIN });
    return finish(sizes, edges, r.width, r.height, (i) => ({ x: r.cx[i]!, y: r.cy[i]! }), (e) => r.bends[e]!);
  }
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({
    rankdir: 'LR',
    // small graphs get room under each box for the column badges of the lineage view
    nodesep: 26,
    ranksep: 72,
    edgesep: 6,
    marginx: MARGIN,
    marginy: MARGIN,
    ranker: 'network-simplex',
  });
  g.setDefaultEdgeLabel(() => ({}));
  sizes.forEach((s, i) => g.setNode(String(i), { width: s.w, height: s.h }));
  for (const [from, to] of edges) {
    if (from !== to) g.setEdge(String(from), String(to));
  }
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  return finish(
    sizes,
    edges,
    graph.width ?? 0,
    graph.height ?? 0,
    (i) => g.node(String(i)) as { x: number; y: number },
    (e) => {
      const [from, to] = edges[e]!;
      const label = g.edge(String(from), String(to)) as { points?: { x: number; y: number }[] } | undefined;
      // dagre's first and last points touch the box borders anywhere: keep only the inner ones
      return (label?.points ?? []).slice(1, -1);
    },
  );
}

/** Boxes, edge paths and arrowheads from node centres and each edge's inner bend points. */
function finish(
  sizes: readonly LayoutNodeSize[],
  edges: readonly (readonly [number, number])[],
  width: number,
  height: number,
  centre: (i: number) => { x: number; y: number },
  inner: (e: number) => readonly { x: number; y: number }[],
): GraphLayout {
  const boxes: number[] = new Array<number>(sizes.length * 4);
  sizes.forEach((s, i) => {
    const n = centre(i);
    boxes[i * 4] = Math.round(n.x - s.w / 2);
    boxes[i * 4 + 1] = Math.round(n.y - s.h / 2);
    boxes[i * 4 + 2] = s.w;
    boxes[i * 4 + 3] = s.h;
  });

  // Rank columns: in a left-to-right layout every real node of a rank shares its centre x.
  const rankHalf = new Map<number, number>();
  sizes.forEach((s, i) => {
    const cx = Math.round(boxes[i * 4]! + s.w / 2);
    rankHalf.set(cx, Math.max(rankHalf.get(cx) ?? 0, s.w / 2));
  });

  const arrowTargets = new Set<number>();
  const edgePaths = edges.map(([from, to], e) => {
    const fx = boxes[from * 4]! + boxes[from * 4 + 2]!;
    const fy = boxes[from * 4 + 1]! + boxes[from * 4 + 3]! / 2;
    const tx = boxes[to * 4]!;
    const ty = boxes[to * 4 + 1]! + boxes[to * 4 + 3]! / 2;
    arrowTargets.add(to);
    if (from === to) return '';
    // dagre adds a bend half-way between ranks (room for edge labels) that only makes kinks. Keep
    // the bends where a long edge crosses a rank of nodes, and run straight through that rank's
    // column so it passes between boxes rather than across them.
    const pts: [number, number][] = [[fx, fy]];
    for (const p of inner(e)) {
      const cx = Math.round(p.x);
      const half = rankHalf.get(cx);
      if (half === undefined || cx - half <= fx || cx + half >= tx) continue;
      const y = Math.round(p.y);
      pts.push([Math.round(cx - half), y], [Math.round(cx + half), y]);
    }
    pts.push([tx - 2, ty]);
    return smoothPath(pts);
  });

  let arrows = '';
  for (const t of arrowTargets) {
    const x = boxes[t * 4]!;
    const y = boxes[t * 4 + 1]! + boxes[t * 4 + 3]! / 2;
    arrows += `M${x - 7} ${y - 4}L${x} ${y}L${x - 7} ${y + 4}Z`;
  }

  return {
    width: Math.ceil(width),
    height: Math.ceil(height),
    boxes,
    edges: edgePaths,
    arrows,
  };
}

/** Cubic segments with horizontal tangents at every point: smooth and clearly left to right. */
function smoothPath(pts: readonly [number, number][]): string {
  let d = `M${pts[0]![0]} ${pts[0]![1]}`;
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1]!;
    const [x1, y1] = pts[i]!;
    if (y0 === y1) {
      d += `L${x1} ${y1}`;
      continue;
    }
    const dx = Math.max(12, (x1 - x0) / 2);
    d += `C${Math.round(x0 + dx)} ${y0} ${Math.round(x1 - dx)} ${y1} ${x1} ${y1}`;
  }
  return d;
}
