/**
 * CDC upserts with DLT APPLY CHANGES semantics (SCD type 1 and 2). Written as part of the
 * landing-zone work; see issue 3.
 */
import type { Column, CompiledNode } from '../core/types.js';
import type { PlanContext, Statement } from './types.js';
import { PlanError } from './types.js';

export function planCdc(node: CompiledNode, _ctx: PlanContext, _columns: readonly Column[]): Statement[] {
  throw new PlanError({ code: 'LAKE-X099', severity: 'error', node: node.id, message: `${node.id}: incremental_strategy 'cdc' is not available yet`, hint: 'use merge for now' });
}
