/**
 * Walk column lineage across models: from one column, every column upstream of it (what it is
 * computed from) or downstream of it (what is computed from it), transitively. Used by
 * `lake lineage <model>.<column> --upstream|--downstream` and by the docs site.
 */
import type { ColumnLineage, LineageEdge, LineageHop } from './types.js';

/** Per-model column lineage, keyed by model id (`silver.users`). */
export type LineageMap = ReadonlyMap<string, readonly ColumnLineage[]>;

// Relation ids are matched exactly; column names case-insensitively, as DuckDB does.
const key = (relation: string, column: string): string => `${relation}\u0000${column.toLowerCase()}`;

function walk(start: LineageEdge, next: (at: LineageEdge) => readonly LineageEdge[]): LineageHop[] {
  const out: LineageHop[] = [];
  const seen = new Set<string>([key(start.relation, start.column)]);
  let frontier: LineageEdge[] = [start];
  for (let depth = 1; frontier.length > 0; depth++) {
    const following: LineageEdge[] = [];
    for (const at of frontier) {
      for (const e of next(at)) {
        const k = key(e.relation, e.column);
        if (seen.has(k)) continue; // cycles and diamonds: each column once, at its shortest depth
        seen.add(k);
        out.push({ relation: e.relation, column: e.column, depth, via: at });
        following.push(e);
      }
    }
    frontier = following;
  }
  return out;
}

/**
 * Every column `relation.column` is computed from, across models, breadth first (nearest first).
 * Walking stops at relations that are not in `all` (sources, seeds, unknown relations).
 */
export function upstreamOf(all: LineageMap, relation: string, column: string): LineageHop[] {
  const byKey = new Map<string, readonly LineageEdge[]>();
  for (const [model, cols] of all) for (const c of cols) byKey.set(key(model, c.column), c.sources);
  return walk({ relation, column }, (at) => byKey.get(key(at.relation, at.column)) ?? []);
}

/** Every model column computed from `relation.column`, across models, breadth first. */
export function downstreamOf(all: LineageMap, relation: string, column: string): LineageHop[] {
  const users = new Map<string, LineageEdge[]>();
  for (const [model, cols] of all) {
    for (const c of cols) {
      for (const s of c.sources) {
        const k = key(s.relation, s.column);
        let list = users.get(k);
        if (!list) users.set(k, (list = []));
        list.push({ relation: model, column: c.column });
      }
    }
  }
  return walk({ relation, column }, (at) => users.get(key(at.relation, at.column)) ?? []);
}

/**
 * The hops of a walk from `start` as the lines of a tree: each column under the column it was
 * reached from (its `via`), indented two spaces per level — not by depth alone, which puts a
 * column under whichever column happens to print above it.
 */
export function lineageTreeLines(start: LineageEdge, hops: readonly LineageHop[]): string[] {
  const children = new Map<string, LineageHop[]>();
  for (const h of hops) {
    const k = key(h.via.relation, h.via.column);
    let list = children.get(k);
    if (!list) children.set(k, (list = []));
    list.push(h);
  }
  const lines: string[] = [];
  const visit = (at: LineageEdge, level: number) => {
    for (const h of children.get(key(at.relation, at.column)) ?? []) {
      lines.push(`${'  '.repeat(level)}${h.relation}.${h.column}`);
      visit(h, level + 1);
    }
  };
  visit(start, 1);
  return lines;
}
