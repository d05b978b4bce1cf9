/**
 * Graph layout for the docs site, computed once at generation time with dagre (left to right,
 * layered) so the page never lays anything out. The only module that imports @dagrejs/dagre.
 */
import dagre from '@dagrejs/dagre';

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
 * Above this many nodes the layout switches to dagre's cheaper settings (tight-tree ranking,
 * no extra crossing-reduction sweeps): network-simplex on 1,000 nodes takes several seconds.
 */
const LARGE_GRAPH = 300;
const MARGIN = 24;

/** Lay out a DAG left to right. `edges` are `[parentIndex, childIndex]`. */
export function layoutGraph(sizes: readonly LayoutNodeSize[], edges: readonly (readonly [number, number])[]): GraphLayout {
  const large = sizes.length > LARGE_GRAPH;
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({
    rankdir: 'LR',
    // small graphs get room under each box for the column badges of the lineage view
    nodesep: large ? 14 : 26,
    ranksep: large ? 80 : 72,
    edgesep: 6,
    marginx: MARGIN,
    marginy: MARGIN,
    ranker: large ? 'tight-tree' : 'network-simplex',
  });
  g.setDefaultEdgeLabel(() => ({}));
  sizes.forEach((s, i) => g.setNode(String(i), { width: s.w, height: s.h }));
  for (const [from, to] of edges) {
    if (from !== to) g.setEdge(String(from), String(to));
  }
  dagre.layout(g, large ? { disableOptimalOrderHeuristic: true } : {});

  const boxes: number[] = new Array<number>(sizes.length * 4);
  sizes.forEach((s, i) => {
    const n = g.node(String(i)) as { x: number; y: number };
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
  const edgePaths = edges.map(([from, to]) => {
    const fx = boxes[from * 4]! + boxes[from * 4 + 2]!;
    const fy = boxes[from * 4 + 1]! + boxes[from * 4 + 3]! / 2;
    const tx = boxes[to * 4]!;
    const ty = boxes[to * 4 + 1]! + boxes[to * 4 + 3]! / 2;
    arrowTargets.add(to);
    if (from === to) return '';
    const label = g.edge(String(from), String(to)) as { points?: { x: number; y: number }[] } | undefined;
    // dagre's first and last points touch the box borders anywhere, and it adds a bend half-way
    // between ranks (room for edge labels) that only makes kinks. Keep the bends where a long edge
    // crosses a rank of nodes, and run straight through that rank's column so it passes between
    // boxes rather than across them.
    const pts: [number, number][] = [[fx, fy]];
    for (const p of (label?.points ?? []).slice(1, -1)) {
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

  const graph = g.graph() as { width?: number; height?: number };
  return {
    width: Math.ceil(graph.width ?? 0),
    height: Math.ceil(graph.height ?? 0),
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
