/** The docs graph layout on a graph large enough for lake's own layered layout (over 300 nodes). */
import { describe, it, expect } from 'vitest';
import { layoutGraph } from '../../src/docs/layout.js';
import { randomStream } from '../../tools/generate/prng.js';

function randomDag(n: number, seed: number): { sizes: { w: number; h: number }[]; edges: [number, number][] } {
  const rand = randomStream(seed);
  const sizes = Array.from({ length: n }, () => ({ w: 120 + Math.floor(rand() * 120), h: 40 }));
  const edges: [number, number][] = [];
  for (let child = 5; child < n; child++) {
    const parents = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < parents; k++) edges.push([Math.floor(rand() * child), child]);
  }
  return { sizes, edges };
}

describe('layered layout of a large graph', () => {
  const { sizes, edges } = randomDag(600, 11);
  const l = layoutGraph(sizes, edges);
  const box = (i: number) => ({ x: l.boxes[i * 4]!, y: l.boxes[i * 4 + 1]!, w: l.boxes[i * 4 + 2]!, h: l.boxes[i * 4 + 3]! });

  it('gives every node its size and a place inside the canvas', () => {
    expect(l.boxes.length).toBe(sizes.length * 4);
    sizes.forEach((s, i) => {
      const b = box(i);
      expect([b.w, b.h]).toEqual([s.w, s.h]);
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.y).toBeGreaterThanOrEqual(0);
      expect(b.x + b.w).toBeLessThanOrEqual(l.width);
      expect(b.y + b.h).toBeLessThanOrEqual(l.height);
    });
  });

  it('draws every edge left to right, from parent to child', () => {
    expect(l.edges.length).toBe(edges.length);
    for (const [p, c] of edges) {
      const pb = box(p);
      const cb = box(c);
      expect(cb.x, `edge ${p} -> ${c}`).toBeGreaterThan(pb.x + pb.w);
    }
  });

  it('never overlaps two boxes', () => {
    const order = sizes.map((_, i) => box(i)).sort((a, b) => a.x - b.x || a.y - b.y);
    for (let i = 0; i < order.length; i++) {
      for (let j = i + 1; j < order.length && order[j]!.x < order[i]!.x + order[i]!.w; j++) {
        const a = order[i]!;
        const b = order[j]!;
        const apart = b.y >= a.y + a.h || a.y >= b.y + b.h || b.x >= a.x + a.w;
        expect(apart, `boxes at (${a.x},${a.y}) and (${b.x},${b.y}) overlap`).toBe(true);
      }
    }
  });
});
