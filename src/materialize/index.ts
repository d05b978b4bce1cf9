/** The registry: one strategy object per materialization kind. */
import type { Materialized } from '../core/types.js';
import type { Materialization } from './types.js';
import { viewStrategy, tableStrategy, ephemeralStrategy, externalStrategy } from './simple.js';
import { incrementalStrategy } from './incremental.js';
import { snapshotStrategy } from './snapshot.js';
export { snapshotShapeSql } from './snapshot.js';

const registry: Record<Exclude<Materialized, 'seed'>, Materialization> = {
  view: viewStrategy,
  table: tableStrategy,
  ephemeral: ephemeralStrategy,
  external: externalStrategy,
  incremental: incrementalStrategy,
  snapshot: snapshotStrategy,
};

export function materializationFor(kind: Materialized): Materialization {
  const m = registry[kind as Exclude<Materialized, 'seed'>];
  if (!m) throw new Error(`no materialization '${kind}'`);
  return m;
}

export type { Materialization, PlanContext, Statement } from './types.js';
export { PlanError } from './types.js';
export { planSeed, dbtSeedTypes, dbtSeedTypesSql, seedAsText } from './seed.js';
export { cdcStateRelation } from './incremental-cdc.js';
export { keyColumn } from './common.js';
