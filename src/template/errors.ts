/** Turns Nunjucks errors into diagnostics with file:line:col and a code frame. */
import type { Diagnostic } from '../errors/index.js';
import { codeFrame } from '../errors/index.js';

const POS = /\[Line (\d+), Column (\d+)\]/;

/** A diagnostic for a template error thrown while compiling or rendering `source`. */
export function templateDiagnostic(err: unknown, file: string, source: string, node?: string): Diagnostic {
  const e = err as { message?: string; lineno?: number; colno?: number; lakeDiagnostic?: Diagnostic };
  const carried = e.lakeDiagnostic ?? (e as { cause?: { lakeDiagnostic?: Diagnostic } }).cause?.lakeDiagnostic;
  if (carried) return carried;
  const raw = String(e.message ?? err);
  const m = POS.exec(raw);
  const line = m ? Number(m[1]) : e.lineno;
  const col = m ? Number(m[2]) : e.colno;
  // Nunjucks prefixes "(path) [Line, Column]" and may nest "Error: ..." lines; keep the last meaningful line.
  const lines = raw.split('\n').map((l) => l.trim()).filter((l) => l && !POS.test(l) && !/^\(.*\)$/.test(l));
  let message = (lines[lines.length - 1] ?? raw).replace(/^(Template render error|Error|TypeError):\s*/i, '');
  if (/unable to call `(\w+)`/.test(message)) {
    const fn = /unable to call `(\w+)`/.exec(message)![1];
    message = `'${fn}' is not a macro or function here`;
  }
  return {
    code: 'LAKE-T001', severity: 'error', message: `template error: ${message}`, file, line, col, node,
    frame: line ? codeFrame(source, line, col) : undefined,
    hint: 'check the {{ }} / {% %} syntax near this line; macros must be defined in macros/',
  };
}

/** Line and column (1-based) of the first occurrence of `needle` in `source`. */
export function locate(source: string, needle: RegExp): { line: number; col: number } | undefined {
  const m = needle.exec(source);
  if (!m) return undefined;
  const before = source.slice(0, m.index);
  const line = before.split('\n').length;
  const col = m.index - before.lastIndexOf('\n');
  return { line, col };
}

/** An Error that carries a ready diagnostic through Nunjucks' wrapping. */
export function lakeTemplateError(d: Diagnostic): Error {
  const e = new Error(d.message) as Error & { lakeDiagnostic: Diagnostic };
  e.lakeDiagnostic = d;
  return e;
}
