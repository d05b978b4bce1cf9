/** The dependency graph: the DAG of project nodes and dbt-style node selection over it. */
export { Dag, type DagNode } from './dag.js';
export { select, pathMatcher, fileMatcher, glob, type Selection } from './select.js';
