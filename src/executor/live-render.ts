/**
 * Renders a model that queries the database while rendering (dbt's run_query, statement /
 * load_result, adapter.get_columns_in_relation...: `CompiledNode.introspective`) against the
 * database, right before the model is built — dbt renders at execution time the same way, once
 * the model's parents are built. A render stops at each query whose answer it does not have
 * (template/introspection.ts); this runs that query on the model's connection and renders again
 * from the start, each query already run answered by its position with its result, until a render
 * completes. Each query runs once, in the order the template asks them. Tests, hooks, `lake show`
 * and `lake run-operation` render through answerQueries the same way.
 */
import type { Adapter } from '../adapter/types.js';
import { EngineError } from '../adapter/types.js';
import type { CompiledNode } from '../core/types.js';
import type { MicrobatchWindow } from '../core/event-time.js';
import { formatDiagnostic } from '../errors/index.js';
import type { Compiler } from '../compiler/compile.js';
import { renderAdhoc } from '../compiler/compile.js';
import type { QueryAnswer, RenderDatabase } from '../template/introspection.js';

/** More queries than this in one render: stopped (each query costs a render of the template). */
const MAX_QUERIES = 1000;

/** Thrown with a message for a person (the executor turns it into the node's error). */
export class LiveRenderError extends Error {}

/**
 * Answers a template's queries on `db` until `render` completes: `render` renders with the
 * database it is given and says the query it stopped at, or gives its value. `label` names what
 * renders (a model, a test) and its file, for messages.
 */
export async function answerQueries<T>(db: Adapter, render: (database: RenderDatabase) => { pendingQuery: string } | { value: T }, label: { id: string; path: string }): Promise<T> {
  // What each position of each channel's renders got (a model, and an ephemeral model it inlines,
  // render in one pass: each keeps its own count).
  const log = new Map<string, QueryAnswer[]>();
  let pending: { channel: string; sql: string } | undefined;
  let asked = 0;
  const database: RenderDatabase = {
    answer(channel, index, sql) {
      const got = log.get(channel)?.[index];
      if (got) return got;
      pending ??= { channel, sql };
      return undefined;
    },
  };
  for (;;) {
    pending = undefined;
    const r = render(database);
    if ('value' in r) return r.value;
    if (!pending) throw new Error(`${label.id}: a render stopped at a query it did not ask`);
    const { channel, sql } = pending as { channel: string; sql: string };
    if (++asked > MAX_QUERIES) throw new LiveRenderError(`${label.id}: the template asked more than ${MAX_QUERIES} queries while rendering (${label.path})\n  hint: lake renders such a template again after each query it asks (the answers of the earlier ones are kept); ask for the values in fewer queries (one query can return them all)`);
    let answer: QueryAnswer;
    try {
      answer = await db.queryTable(sql);
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      const shown = sql.trim().length > 500 ? `${sql.trim().slice(0, 500)}...` : sql.trim();
      throw new LiveRenderError(`${label.id}: a query the template ran while rendering failed: ${e.message.split('\n')[0]}\n  in ${label.path} (run_query, statement or an adapter call)\n  query: ${shown.replace(/\n/g, '\n    ')}`);
    }
    const list = log.get(channel) ?? [];
    list.push(answer);
    log.set(channel, list);
  }
}

/** A render's result as answerQueries takes it: the query it stopped at, or the result itself. */
function stoppedOr<R extends { readonly pendingQuery?: string }>(x: R): { pendingQuery: string } | { value: R } {
  return x.pendingQuery !== undefined ? { pendingQuery: x.pendingQuery } : { value: x };
}

/**
 * A template that is not a model (a hook, `lake show --inline`) rendered with the database on
 * `db`, as renderAdhoc renders it; throws LiveRenderError when one of its queries fails.
 */
export function renderAdhocLive(db: Adapter, compiler: Compiler, text: string, file: string, label: string, self?: CompiledNode, extra?: Record<string, unknown>, incremental = false): Promise<ReturnType<typeof renderAdhoc>> {
  return answerQueries(db, (database) => stoppedOr(renderAdhoc(compiler, text, file, self, extra, incremental, database)), { id: label, path: file });
}

/** The model rendered live on `db`: its SQL with every query's real answer. */
export async function renderLive(db: Adapter, compiler: Compiler, compiled: CompiledNode, incremental: boolean, batch?: MicrobatchWindow): Promise<CompiledNode> {
  const r = await answerQueries(db, (database) => stoppedOr(compiler.compileOne(compiled.id, incremental, database, batch)), { id: compiled.id, path: compiled.node.path });
  if (!r.node || r.diagnostics.some((d) => d.severity === 'error')) throw new LiveRenderError(r.diagnostics.map(formatDiagnostic).join('\n'));
  const known = new Set(compiled.dependsOn.nodes);
  // (A model that queries nothing keeps what its is_incremental() branch refs, as before.)
  const added = r.node.introspective ? r.node.dependsOn.nodes.filter((d) => !known.has(d)) : [];
  if (added.length) {
    throw new LiveRenderError(`${compiled.id}: ${added.map((d) => `ref to ${d}`).join(', ')} appears only when the model renders with the database (${compiled.node.path})\n`
      + `  hint: lake, like dbt, takes a model's dependencies from its render without the database (execute is false there): add a line \`-- depends_on: {{ ref('${added[0]!.split('.').pop()}') }}\` to the model`);
  }
  return r.node;
}
