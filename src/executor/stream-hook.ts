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
      const marks = new Map<string, number>();
      // Whether each upstream had rows when read: the watermark only moves past a batch in which
      // the upstream had rows (an empty upstream's first rows are all new to this model, whatever
      // their batch).
      const hadRows = new Map<string, boolean>();
      // What this model read with stream() before. An upstream it no longer reads, next to one it
      // has never read, is most likely a renamed model: reading all of the new name would
      // duplicate what this model holds.
      const before = ctx.incremental ? await ctx.tx.query<{ up: string }>('select upstream as up from _lake.watermarks where consumer = $1', [ctx.node.id]) : [];
      const stale = before.map((b) => b.up).filter((u) => !reads.includes(u));
      for (const up of reads) {
        const rel = relationOf(up)!;
        const cols = await ctx.tx.describe(rel);
        if (!cols) throw streamError(ctx.node, `stream(ref('${up}')) reads ${up}, which has not been built yet`, `build ${up} first (lake run -s +${ctx.node.node.name})`);
        const hasBatch = cols.some((c) => c.name === '_lake_batch');
        let where = '';
        // Checked on the first build too (not only once the model is incremental): the second run
        // would fail, after deployment.
        if (ctx.node.config.materialized === 'incremental' && !hasBatch) {
          throw streamError(ctx.node, `stream(ref('${up}')) needs a _lake_batch column in ${up}`, `select the _lake_batch column in ${up} (it comes with every landing-zone source), or use ref() instead of stream()`);
        }
        if (hasBatch) {
          const wm = ctx.incremental ? await getWatermark(ctx.tx, ctx.node.id, up) : 0;
          const [r] = await ctx.tx.query<{ kept: boolean; any: boolean }>(
            `select exists (select 1 from ${relationSql(rel)} where _lake_batch <= ${wm}) as kept, exists (select 1 from ${relationSql(rel)}) as any`);
          hadRows.set(up, !!r?.any);
          if (ctx.incremental) {
            // Rows this model read before are gone, yet the table has rows: it was rewritten (a
            // --full-refresh, a table rebuild) and every row carries a new batch. Reading them again
            // would duplicate what this model holds (DLT fails the same way).
            if (wm > 0 && r?.any && !r.kept) {
              throw streamError(ctx.node, `${up} was rebuilt since ${ctx.node.id} last read it with stream(): all its rows are new to the watermark, and reading them again would duplicate what ${ctx.node.id} holds`,
                `rebuild ${ctx.node.id} from all of ${up}: lake run -s ${ctx.node.node.name} --full-refresh (a table model is rebuilt every run: read it with ref(), not stream())`);
            }
            if (stale.length && r?.any && !before.some((b) => b.up === up)) {
              const name = ctx.node.node.name;
              throw streamError(ctx.node, `${ctx.node.id} has never read ${up} with stream() and no longer reads ${stale.join(', ')}: if ${up} is ${stale[0]} renamed, reading all of it would duplicate what ${ctx.node.id} holds`,
                `rebuild it: lake run -s ${name} --full-refresh; if ${up} holds other rows than ${stale[0]} did, forget the old read instead: delete from _lake.watermarks where consumer = '${ctx.node.id}' and upstream = '${stale[0]}'`);
            }
            marks.set(up, wm);
            where = ` where _lake_batch > ${wm}`;
          }
        }
        await ctx.tx.execute(`create or replace temp view ${quoteIdent(streamViewName(rel))} as select * from ${relationSql(rel)}${where}`);
      }
      return {
        stats: ctx.incremental ? { stream_watermarks: Object.fromEntries(marks) } : undefined,
        finalize: async (tx) => {
          // Upstreams this model no longer reads: forgotten once it has built without them.
          await tx.execute(`delete from _lake.watermarks where consumer = ${sqlString(ctx.node.id)}${reads.length ? ` and upstream not in (${reads.map(sqlString).join(', ')})` : ''}`);
          for (const up of reads) {
            const prev = marks.get(up) ?? 0;
            // An incremental read of an empty upstream keeps the watermark where it was; a full
            // read of one starts it over.
            const batch = hadRows.get(up) === false ? (ctx.incremental ? prev : 0) : ctx.batchId;
            await tx.execute(setWatermarkSql(ctx.node.id, up, batch));
          }
        },
      };
    },
  };
}

function streamError(node: CompiledNode, message: string, hint: string): LakeError {
  // The line of the (first) stream() call in the model's file.
  const at = node.node.rawSql.search(/stream\s*\(/);
  const line = at < 0 ? undefined : node.node.rawSql.slice(0, at).split('\n').length;
  return new LakeError('execute', { code: 'LAKE-X020', severity: 'error', node: node.id, file: node.node.path, line, message, hint }, 1);
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
