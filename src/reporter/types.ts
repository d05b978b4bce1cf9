/** Events every command emits; reporters turn them into terminal output, JSON lines or nothing. */
import type { Diagnostic } from '../errors/index.js';

export type NodeStatus = 'success' | 'error' | 'skipped';

export interface NodeResult {
  readonly id: string;
  readonly status: NodeStatus;
  readonly materialized: string;
  readonly rows?: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly message?: string;
  readonly error?: string;
  /** File of the compiled SQL, for SQL errors. */
  readonly compiledPath?: string;
  /** Extra figures from hooks (files ingested, bad records, expectations...). */
  readonly stats?: Readonly<Record<string, unknown>>;
  /** What its template's log(..., info=True) and print() said. */
  readonly logs?: readonly string[];
}

export interface RunSummary {
  readonly command: string;
  readonly runId: string;
  readonly elapsedMs: number;
  readonly results: readonly NodeResult[];
}

export interface Reporter {
  diagnostics(list: readonly Diagnostic[]): void;
  runStart(command: string, nodes: number, target: string): void;
  nodeStart(id: string, index: number, total: number): void;
  nodeEnd(result: NodeResult, index: number, total: number): void;
  runEnd(summary: RunSummary): void;
  /** A free line of information (ls output, show tables, status lines...). */
  info(text: string): void;
  /** A machine-readable record (used by --log-format json; pretty reporters print `text`). */
  record(kind: string, data: Readonly<Record<string, unknown>>, text?: string): void;
  error(text: string): void;
}
