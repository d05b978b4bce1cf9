/**
 * Errors and diagnostics shared by every phase. A Diagnostic is for a person: it names the file,
 * line and column, says what is wrong and how to fix it. LakeError carries one or more of them.
 */

export type Severity = 'error' | 'warn';

export type Phase = 'project' | 'template' | 'compile' | 'graph' | 'plan' | 'execute' | 'ingest' | 'test' | 'usage';

/** One finding about the user's project or command line. */
export interface Diagnostic {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  readonly node?: string;
  readonly hint?: string;
  /** A few lines of source around line:col, already formatted. */
  readonly frame?: string;
}

/** An error that should be shown to a person (no stack trace unless --debug). */
export class LakeError extends Error {
  readonly phase: Phase;
  readonly diagnostics: readonly Diagnostic[];
  /** CLI exit code this error maps to: 2 project/usage, 1 a node failed. */
  readonly exitCode: number;

  constructor(phase: Phase, diagnostics: Diagnostic | readonly Diagnostic[], exitCode = 2) {
    const list = Array.isArray(diagnostics) ? (diagnostics as readonly Diagnostic[]) : [diagnostics as Diagnostic];
    super(list.map(formatDiagnostic).join('\n'));
    this.name = 'LakeError';
    this.phase = phase;
    this.diagnostics = list;
    this.exitCode = exitCode;
  }
}

/** `file:line:col: error CODE: message` + frame + hint, as printed by the CLI. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}${d.col ? `:${d.col}` : ''}` : ''}: ` : '';
  const node = d.node && !d.file ? `${d.node}: ` : '';
  let out = `${where}${node}${d.severity} ${d.code}: ${d.message}`;
  if (d.frame) out += `\n${d.frame}`;
  if (d.hint) out += `\n  hint: ${d.hint}`;
  return out;
}

/** Lines around `line` (1-based) with a caret under `col`, like a compiler's code frame. */
export function codeFrame(source: string, line: number, col?: number, context = 2): string {
  const lines = source.split('\n');
  const from = Math.max(1, line - context);
  const to = Math.min(lines.length, line + context);
  const width = String(to).length;
  const out: string[] = [];
  for (let i = from; i <= to; i++) {
    const mark = i === line ? '>' : ' ';
    out.push(`${mark} ${String(i).padStart(width)} | ${lines[i - 1] ?? ''}`);
    if (i === line && col && col > 0) out.push(`  ${' '.repeat(width)} | ${' '.repeat(col - 1)}^`);
  }
  return out.join('\n');
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const m = a.length, n = b.length;
  const prev = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= n; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[n]!;
}

/** The candidates closest to `name`, best first (at most `max`). */
export function closest(name: string, candidates: Iterable<string>, max = 3): string[] {
  const scored: [string, number][] = [];
  for (const c of candidates) {
    const short = c.includes('.') ? c.slice(c.lastIndexOf('.') + 1) : c;
    const d = Math.min(editDistance(name, c), editDistance(name, short));
    // Not a rewrite of the whole name: 'zz' is 2 edits from every 1- or 2-letter name.
    const near = d <= Math.max(2, Math.floor(name.length / 3)) && (d < name.length || d < short.length);
    if (near || c.endsWith(`.${name}`)) scored.push([c, d]);
  }
  return scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).slice(0, max).map((s) => s[0]);
}
