/**
 * Landing-zone sources in models: defines the `__lake_source__<source>__<table>` view a model reads,
 * over every file (table/view models) or only the files this model has not consumed (incremental),
 * and writes the ledger in the model's transaction. (Being written: issue 3.)
 */
import type { NodeHook } from '../executor/hooks.js';
import type { Session } from '../app/session.js';
import { LakeError } from '../errors/index.js';

export function landingHook(session: Session): NodeHook {
  return {
    name: 'landing',
    async prepare(ctx) {
      if (ctx.node.landingReads.length === 0) return undefined;
      const src = session.project.sources.get(ctx.node.landingReads[0]!)!;
      throw new LakeError('ingest', { code: 'LAKE-I000', severity: 'error', node: ctx.node.id, message: `landing-zone source ${src.sourceName}.${src.name} cannot be read yet`, hint: 'landing-zone ingestion is being built' }, 1);
    },
  };
}
