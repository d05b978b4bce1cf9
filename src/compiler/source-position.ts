/**
 * Where in a model's file an engine error is. DuckDB reports a position in the SQL it ran
 * (`LINE 2: ...` and a caret); the compiled SQL is the rendered template, so the line is found
 * again in the raw file: the same text on a nearby line, a line whose literal parts around
 * `{{ }}` match, else the offending name. Used by `lake run` (the error names the model line) and
 * `lake watch` (a diagnostic with a code frame).
 */
import type { CompiledNode } from '../core/types.js';

/** A position in the compiled SQL parsed from a DuckDB error message. */
export interface EnginePosition {
  readonly line: number;
  /** 1-based column in the compiled line, when the caret could be placed. */
  readonly col?: number;
}

/** `LINE n: <snippet>` followed by a caret line; `prefix` is text DuckDB saw before the SQL on line 1. */
export function enginePosition(message: string, compiledSql: string, prefix = ''): EnginePosition | undefined {
  const m = /^LINE (\d+): (.*)\n(\s*)\^/m.exec(message);
  if (!m) return undefined;
  const line = Number(m[1]);
  const label = `LINE ${m[1]}: `;
  let snippet = m[2]!;
  let caret = m[3]!.length - label.length;
  if (line === 1 && prefix && snippet.startsWith(prefix)) {
    snippet = snippet.slice(prefix.length);
    caret -= prefix.length;
  }
  // Long lines come as a window with "..." on either side.
  if (snippet.startsWith('...')) {
    snippet = snippet.slice(3);
    caret -= 3;
  }
  if (snippet.endsWith('...')) snippet = snippet.slice(0, -3);
  const full = compiledSql.split('\n')[line - 1];
  if (full === undefined) return { line };
  const at = full.indexOf(snippet);
  return at >= 0 && caret >= 0 ? { line, col: at + caret + 1 } : { line };
}

/** Names an error message is about (`Referenced column "x"`, `Table with name "s.t"`), most specific first. */
function namesInMessage(message: string): string[] {
  const first = message.split('\n')[0]!;
  const out: string[] = [];
  for (const m of first.matchAll(/with name "?([\w.]+)"?|"([^"]+)"/g)) {
    const name = m[1] ?? m[2]!;
    if (!/^[\w.]+$/.test(name)) continue;
    out.push(name);
    if (name.includes('.')) out.push(name.slice(name.lastIndexOf('.') + 1));
  }
  return out;
}

function wordAt(text: string, col: number): string | undefined {
  const m = /^"?([A-Za-z_]\w*)/.exec(text.slice(col - 1));
  return m?.[1];
}

/** The raw-file line (1-based) closest to `near` satisfying `test`, with the column test gives. */
function closestLine(lines: readonly string[], near: number, test: (l: string) => number): { line: number; col: number } | undefined {
  let best: { line: number; col: number } | undefined;
  lines.forEach((l, i) => {
    const col = test(l);
    if (col < 0) return;
    if (!best || Math.abs(i + 1 - near) < Math.abs(best.line - near)) best = { line: i + 1, col: col + 1 };
  });
  return best;
}

/** Where in the raw model file an engine error at `pos` of the compiled SQL is, if it can be told. */
export function locateInRaw(node: CompiledNode, message: string, pos: EnginePosition | undefined): { line: number; col: number } | undefined {
  const raw = node.node.rawSql.split('\n');
  const compiledLine = pos ? node.sql.split('\n')[pos.line - 1] : undefined;
  const near = pos?.line ?? 1;
  const text = compiledLine?.trim();
  if (compiledLine !== undefined && text) {
    const hit = closestLine(raw, near, (l) => (l.trim() === text ? l.indexOf(text) : -1));
    if (hit) {
      const shift = pos?.col !== undefined ? pos.col - 1 - compiledLine.indexOf(text) : 0;
      return { line: hit.line, col: hit.col + Math.max(0, shift) };
    }
  }
  // A raw line with templates ({{ ref('x') }}) matches the compiled line when its literal parts do.
  if (compiledLine !== undefined && text) {
    const hit = closestLine(raw, near, (l) => {
      if (!l.includes('{{')) return -1;
      const parts = l.trim().split(/\{\{[\s\S]*?\}\}/);
      // A line that is all template (`{{ config(...) }}`) says nothing about the text it gave.
      if (!parts.some((part) => part.trim())) return -1;
      const pattern = parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*?');
      return new RegExp(`^${pattern}$`).test(text) ? l.indexOf(l.trim()) : -1;
    });
    if (hit) {
      // The column of the word the engine pointed at, found again in the raw line.
      const word = pos?.col !== undefined ? wordAt(compiledLine, pos.col) : undefined;
      const at = word ? raw[hit.line - 1]!.search(new RegExp(`(?<![\\w])${word}(?![\\w])`)) : -1;
      return { line: hit.line, col: at >= 0 ? at + 1 : hit.col };
    }
  }
  const names = [...namesInMessage(message), pos?.col !== undefined && compiledLine !== undefined ? wordAt(compiledLine, pos.col) : undefined];
  for (const name of names) {
    if (!name) continue;
    const re = new RegExp(`(^|[^\\w])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w])`);
    const hit = closestLine(raw, near, (l) => {
      if (/^\s*--/.test(l)) return -1;
      const m = re.exec(l);
      return m ? m.index + m[1]!.length : -1;
    });
    if (hit) return hit;
  }
  return undefined;
}
