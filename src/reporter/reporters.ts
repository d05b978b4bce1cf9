/**
 * Terminal output: pretty (colours unless NO_COLOR or not a TTY), JSON lines (`--log-format json`)
 * and silent (tests). All command output goes through one of these.
 */
import pc from 'picocolors';
import type { Diagnostic } from '../errors/index.js';
import { formatDiagnostic } from '../errors/index.js';
import type { NodeResult, Reporter, RunSummary } from './types.js';

type Write = (s: string) => void;

function colours(enabled: boolean) {
  const id = (s: string) => s;
  return enabled
    ? { green: pc.green, red: pc.red, yellow: pc.yellow, dim: pc.dim, bold: pc.bold, cyan: pc.cyan }
    : { green: id, red: id, yellow: id, dim: id, bold: id, cyan: id };
}

/** 12345 → "12,345". Not toLocaleString: its first call loads ICU data, ~10 ms of a short `lake run`. */
export function fmtCount(n: number): string {
  return Number.isInteger(n) ? String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : String(n);
}

/** `1 row`, `2 rows`, `1,000 rows`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${fmtCount(n)} ${n === 1 ? word : many}`;
}

export function fmtMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function statsText(r: NodeResult): string {
  const s = r.stats ?? {};
  const parts: string[] = [];
  if (typeof s.batches === 'number') parts.push(`${plural(s.batches, 'batch', 'batches')}${typeof s.first_batch === 'string' ? ` ${s.first_batch}${s.last_batch !== s.first_batch ? `..${String(s.last_batch)}` : ''}` : ''}`);
  if (typeof s.files === 'number' && s.files > 0) parts.push(plural(s.files, 'file'));
  if (typeof s.bad_records === 'number' && s.bad_records > 0) parts.push(plural(s.bad_records, 'bad record'));
  if (typeof s.dropped === 'number' && s.dropped > 0) parts.push(`${s.dropped} dropped by expectations`);
  if (typeof s.warned === 'number' && s.warned > 0) parts.push(`${s.warned} kept with failed expectations`);
  // Files held back as still being written: without a word, "0 rows" looks like nothing arrived.
  const cut = typeof s.incomplete_files === 'number' ? s.incomplete_files : 0;
  const young = typeof s.waiting_files === 'number' ? s.waiting_files - cut : 0;
  if (young > 0) parts.push(`${plural(young, 'file')} younger than min_file_age ${young === 1 ? 'waits' : 'wait'}`);
  if (cut > 0) parts.push(`${plural(cut, 'gzip file')} still being written ${cut === 1 ? 'waits' : 'wait'}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export class PrettyReporter implements Reporter {
  private readonly c: ReturnType<typeof colours>;
  constructor(private readonly out: Write = (s) => process.stdout.write(s), private readonly err: Write = (s) => process.stderr.write(s), color = !process.env.NO_COLOR && !!process.stdout.isTTY) {
    this.c = colours(color);
  }
  diagnostics(list: readonly Diagnostic[]): void {
    for (const d of list) {
      const text = formatDiagnostic(d);
      this.err(`${d.severity === 'error' ? this.c.red(text.split('\n')[0]!) : this.c.yellow(text.split('\n')[0]!)}${text.includes('\n') ? `\n${text.slice(text.indexOf('\n') + 1)}` : ''}\n`);
    }
  }
  runStart(command: string, nodes: number, target: string): void {
    this.out(this.c.dim(`lake ${command}: ${nodes} node${nodes === 1 ? '' : 's'} on ${target}${nodes === 0 && command !== 'test' ? ` (nothing to do: the selection matches no ${command === 'snapshot' ? 'snapshot' : command === 'seed' ? 'seed' : 'model or seed'})` : ''}\n`));
  }
  nodeStart(): void {}
  nodeEnd(r: NodeResult, index: number, total: number): void {
    const w = String(total).length;
    const n = `${String(index).padStart(w)}/${total}`;
    const status = r.status === 'success' ? this.c.green('OK   ') : r.status === 'error' ? this.c.red('ERROR') : this.c.yellow('SKIP ');
    const rows = r.rows !== undefined ? plural(r.rows, 'row') : '';
    const detail = r.status === 'success' ? `${rows}${statsText(r)}` : r.status === 'skipped' ? (r.message ?? '') : '';
    // Its template's log(..., info=True) and print() lines, then its line.
    for (const l of r.logs ?? []) this.out(`${l}\n`);
    this.out(`${this.c.dim(n)} ${status} ${r.id.padEnd(32)} ${this.c.dim(r.materialized.padEnd(11))} ${detail.padEnd(18)} ${this.c.dim(fmtMs(r.durationMs))}\n`);
    if (r.status === 'error' && r.error) {
      this.err(`${this.c.red(r.error.split('\n').map((l) => `    ${l}`).join('\n'))}\n`);
    }
  }
  runEnd(s: RunSummary): void {
    const count = (st: string) => s.results.filter((r) => r.status === st).length;
    const ok = count('success'), err = count('error'), skip = count('skipped');
    const line = `Done in ${fmtMs(s.elapsedMs)}: ${ok} ok, ${err} error${err === 1 ? '' : 's'}, ${skip} skipped`;
    this.out(`${err ? this.c.red(line) : this.c.green(line)}\n`);
  }
  info(text: string): void {
    this.out(`${text}\n`);
  }
  record(_kind: string, _data: Readonly<Record<string, unknown>>, text?: string): void {
    if (text !== undefined) this.out(`${text}\n`);
  }
  error(text: string): void {
    this.err(`${this.c.red(text)}\n`);
  }
}

export class JsonReporter implements Reporter {
  constructor(private readonly out: Write = (s) => process.stdout.write(s)) {}
  private emit(kind: string, data: Record<string, unknown>): void {
    this.out(`${JSON.stringify({ ts: new Date().toISOString(), kind, ...data })}\n`);
  }
  diagnostics(list: readonly Diagnostic[]): void {
    for (const d of list) this.emit('diagnostic', { ...d });
  }
  runStart(command: string, nodes: number, target: string): void {
    this.emit('run_start', { command, nodes, target });
  }
  nodeStart(id: string, index: number, total: number): void {
    this.emit('node_start', { id, index, total });
  }
  nodeEnd(r: NodeResult, index: number, total: number): void {
    // A SQL error's place in the model file, as fields (the text has it as "at models/x.sql:5:3").
    const at = r.error ? /\n\s*at (\S+?):(\d+):(\d+)$/m.exec(r.error) : null;
    this.emit('node_end', { ...r, index, total, ...(at ? { file: at[1], line: Number(at[2]), col: Number(at[3]) } : {}) });
  }
  runEnd(s: RunSummary): void {
    const count = (st: string) => s.results.filter((r) => r.status === st).length;
    this.emit('run_end', { command: s.command, run_id: s.runId, elapsed_ms: s.elapsedMs, success: count('success'), error: count('error'), skipped: count('skipped') });
  }
  info(text: string): void {
    this.emit('info', { message: text });
  }
  record(kind: string, data: Readonly<Record<string, unknown>>): void {
    this.emit(kind, { ...data });
  }
  error(text: string): void {
    this.emit('error', { message: text });
  }
}

/** Collects everything (tests read `events`). */
export class MemoryReporter implements Reporter {
  readonly events: { kind: string; data: unknown }[] = [];
  readonly lines: string[] = [];
  diagnostics(list: readonly Diagnostic[]): void { this.events.push({ kind: 'diagnostics', data: list }); }
  runStart(command: string, nodes: number): void { this.events.push({ kind: 'run_start', data: { command, nodes } }); }
  nodeStart(id: string): void { this.events.push({ kind: 'node_start', data: id }); }
  nodeEnd(r: NodeResult): void { this.events.push({ kind: 'node_end', data: r }); }
  runEnd(s: RunSummary): void { this.events.push({ kind: 'run_end', data: s }); }
  info(text: string): void { this.lines.push(text); }
  record(kind: string, data: Readonly<Record<string, unknown>>, text?: string): void { this.events.push({ kind, data }); if (text) this.lines.push(text); }
  error(text: string): void { this.lines.push(text); }
  results(): NodeResult[] { return this.events.filter((e) => e.kind === 'node_end').map((e) => e.data as NodeResult); }
}

export function makeReporter(format: string | undefined): Reporter {
  return format === 'json' ? new JsonReporter() : new PrettyReporter();
}
