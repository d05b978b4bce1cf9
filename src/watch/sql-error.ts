/**
 * Points an engine error at the line of the model file the user edits (see
 * compiler/source-position.ts); when nothing matches, the diagnostic points at the compiled file
 * instead.
 */
import type { Adapter } from '../adapter/types.js';
import type { CompiledNode } from '../core/types.js';
import { enginePosition, locateInRaw } from '../compiler/source-position.js';
import { codeFrame, type Diagnostic } from '../errors/index.js';

/**
 * A diagnostic with file:line and a code frame for a model whose SQL the engine rejected.
 * `error` is the executor's message; the full engine message (with its position) is obtained by
 * asking the engine to describe the compiled SQL again, which only binds it.
 */
export async function sqlErrorDiagnostic(db: Adapter, node: CompiledNode, error: string, compiledPath: string): Promise<Diagnostic> {
  const reported = error.replace(new RegExp(`^${node.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), '').split('\n')[0]!;
  let full = reported;
  try {
    await db.describeQuery(node.sql);
  } catch (e) {
    const again = (e as Error).message;
    // Only trust the second message when it is the same error (the build may have failed elsewhere).
    if (again.split('\n')[0] === reported) full = again;
  }
  const pos = enginePosition(full, node.sql, 'describe ');
  const at = locateInRaw(node, full, pos);
  const base = { code: 'LAKE-X050', severity: 'error' as const, message: `${node.id}: ${reported}`, node: node.id };
  if (at) {
    return { ...base, file: node.node.path, line: at.line, col: at.col, frame: codeFrame(node.node.rawSql, at.line, at.col), hint: `compiled SQL: ${compiledPath}${pos ? `:${pos.line}` : ''}` };
  }
  if (pos) {
    return { ...base, file: compiledPath, line: pos.line, col: pos.col, frame: codeFrame(node.sql, pos.line, pos.col), hint: `the line comes from ${node.node.path}; fix it there` };
  }
  return { ...base, file: node.node.path, hint: `compiled SQL: ${compiledPath}` };
}
