/** Seeds: a CSV file loaded into a table with read_csv (declared column_types win over detection). */
import type { SeedNode } from '../core/types.js';
import type { Dialect } from '../adapter/types.js';
import type { Statement } from './types.js';
import { buildAndSwap } from './common.js';

export function planSeed(seed: SeedNode, d: Dialect, existing: { kind: 'table' | 'view'; columns: [] } | undefined): Statement[] {
  const types = Object.entries(seed.columnTypes);
  const typeArg = types.length ? `, types = {${types.map(([k, v]) => `${d.literal(k)}: ${d.literal(v)}`).join(', ')}}` : '';
  const select = `select * from read_csv(${d.literal(seed.absPath)}, header = true, auto_detect = true, sample_size = -1${typeArg})`;
  return buildAndSwap({ dialect: d, relation: { schema: seed.schema, name: seed.name }, existing, incoming: [], fullRefresh: true, projectRoot: '' }, select);
}
