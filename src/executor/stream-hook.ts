/**
 * `stream(ref('x'))`: in an incremental model, the rows of x written since this model last
 * succeeded (per-consumer watermark on `_lake_batch`, saved in the model's transaction);
 * elsewhere all of x.
 */
import type { CompiledNode, Relation } from '../core/types.js';
import { streamViewName, quoteIdent, relationSql } from '../core/types.js';
import { LakeError } from '../errors/index.js';
import type { HookContext, HookOutcome, NodeHook } from './hooks.js';
import { getWatermark, setWatermarkSql } from './state.js';

export function streamHook(relationOf: (id: string) => Relation | undefined): NodeHook {
  return {
    name: 'stream',
    async prepare(ctx: HookContext): Promise<HookOutcome | undefined> {
      const reads = ctx.node.streamReads;
      if (reads.length === 0) return undefined;
      const marks: [string, number][] = [];
      for (const up of reads) {
        const rel = relationOf(up)!;
        const cols = await ctx.tx.describe(rel);
        if (!cols) throw streamError(ctx.node, `stream(ref('${up}')) reads ${up}, which has not been built yet`, `build ${up} first (lake run -s +${ctx.node.node.name})`);
        const hasBatch = cols.some((c) => c.name === '_lake_batch');
        let where = '';
        if (ctx.incremental) {
          if (!hasBatch) throw streamError(ctx.node, `stream(ref('${up}')) needs a _lake_batch column in ${up}`, `select the _lake_batch column in ${up} (it comes with every landing-zone source), or use ref() instead of stream()`);
          const wm = await getWatermark(ctx.tx, ctx.node.id, up);
          marks.push([up, wm]);
          where = ` where _lake_batch > ${wm}`;
        }
        await ctx.tx.execute(`create or replace temp view ${quoteIdent(streamViewName(rel))} as select * from ${relationSql(rel)}${where}`);
      }
      return {
        stats: ctx.incremental ? { stream_watermarks: Object.fromEntries(marks) } : undefined,
        finalize: async (tx) => {
          for (const up of reads) await tx.execute(setWatermarkSql(ctx.node.id, up, ctx.batchId));
        },
      };
    },
  };
}

function streamError(node: CompiledNode, message: string, hint: string): LakeError {
  return new LakeError('execute', { code: 'LAKE-X020', severity: 'error', node: node.id, file: node.node.path, message, hint }, 1);
}
