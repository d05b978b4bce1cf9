/**
 * Column-lineage data types: what the manifest keeps (`column_lineage`) and what
 * `lake lineage` and the docs site walk.
 */

/** One upstream column: a relation id (`silver.users`, `source:kafka.bpm`) and a column of it. */
export interface LineageEdge {
  readonly relation: string;
  readonly column: string;
}

/**
 * How a column is computed from its sources, strongest transformation on the path wins
 * (`unknown` > `aggregate` > `window` > `derived` > `direct`):
 * - `direct`: the value is an upstream column, passed through (renames, CTEs, UNION branches);
 * - `derived`: computed row by row (expressions, CASE, COALESCE, casts, struct field access, literals);
 * - `window`: a window function is on the path;
 * - `aggregate`: an aggregate function is on the path;
 * - `unknown`: part of the expression could not be resolved (see the warnings).
 */
export type LineageKind = 'direct' | 'derived' | 'aggregate' | 'window' | 'unknown';

/** Lineage of one output column of a model. */
export interface ColumnLineage {
  readonly column: string;
  readonly sources: readonly LineageEdge[];
  readonly kind: LineageKind;
  /** A struct column built field by field: each field's own lineage (`column` is the field name). */
  readonly fields?: readonly ColumnLineage[];
}

/** Result of `modelColumnLineage`. */
export interface ModelLineage {
  /** Output columns in order, named as DuckDB names them in the created relation. */
  readonly columns: ColumnLineage[];
  /** What could not be resolved; the lineage goes on with what can be known. */
  readonly warnings: string[];
}

/** A column reached by walking lineage across models. */
export interface LineageHop extends LineageEdge {
  /** 1 for the columns one step from the start. */
  readonly depth: number;
  /** The column one step closer to the start through which this one was reached. */
  readonly via: LineageEdge;
}
