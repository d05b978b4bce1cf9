/** What every command gets: parsed global options, a reporter, and a way to open the session. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LakeError, type Diagnostic } from '../errors/index.js';
import type { Reporter } from '../reporter/types.js';
import { makeReporter } from '../reporter/reporters.js';
import type { Session } from '../app/session.js';
import { findProjectRoot } from '../project/settings.js';
import { parseYamlFile, parseYamlValue } from '../project/yaml-file.js';
import { evaluateSelector, SelectorError } from '../graph/yaml-selectors.js';

export interface GlobalOptions {
  projectDir?: string;
  target?: string;
  vars?: string;
  threads?: string;
  logFormat?: string;
  profilesDir?: string;
  state?: string;
  defer?: boolean;
  debug?: boolean;
  /** dbt's --warn-error: warnings are errors (compile warnings stop the command, warning tests fail, run warnings exit 1). */
  warnError?: boolean;
  /** dbt's --selector: a named selector of the project's selectors.yml. */
  selector?: string;
  /** dbt's --warn-error-options ({"include": "all"} or "*": as --warn-error; lake has no dbt event names to pick from). */
  warnErrorOptions?: string;
}

/** Does dbt's --warn-error-options text include every warning (`include: all` or `'*'`)? */
function includesAll(text: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    try {
      v = parseYamlValue(text);
    } catch {
      return false;
    }
  }
  const inc = v && typeof v === 'object' ? (v as { include?: unknown }).include ?? (v as { error?: unknown }).error : undefined;
  const all = (x: unknown) => typeof x === 'string' && ['all', '*'].includes(x.toLowerCase());
  return all(inc) || (Array.isArray(inc) && inc.some(all));
}

export class CommandContext {
  readonly reporter: Reporter;
  constructor(readonly opts: GlobalOptions) {
    if (opts.warnErrorOptions && !opts.warnError && includesAll(opts.warnErrorOptions)) this.opts = { ...opts, warnError: true };
    // dbt's --profiles-dir wins over DBT_PROFILES_DIR, which the project loader reads.
    if (opts.profilesDir) process.env.DBT_PROFILES_DIR = path.resolve(opts.profilesDir);
    const format = opts.logFormat?.toLowerCase();
    this.reporter = makeReporter(format === 'json' ? 'json' : 'text');
  }

  /** A global option that is wrong whatever the command (thrown before the command runs). */
  checkOptions(): void {
    const format = this.opts.logFormat?.toLowerCase();
    if (format !== undefined && format !== 'text' && format !== 'json') {
      throw new LakeError('usage', { code: 'LAKE-U003', severity: 'error', message: `--log-format must be text or json, not ${this.opts.logFormat}`, hint: 'e.g. --log-format json' });
    }
  }

  projectRoot(): string {
    const start = this.opts.projectDir ?? process.cwd();
    // A mistyped --project-dir must not silently run the project of a folder above it.
    if (this.opts.projectDir !== undefined && !fs.existsSync(this.opts.projectDir)) {
      throw new LakeError('usage', { code: 'LAKE-U002', severity: 'error', message: `--project-dir ${this.opts.projectDir} does not exist`, hint: 'check the path (it is relative to the current folder)' });
    }
    const root = findProjectRoot(start);
    if (!root) {
      throw new LakeError('usage', { code: 'LAKE-U001', severity: 'error', message: `no project.yml or dbt_project.yml in ${start} or above`, hint: 'cd into a project, pass --project-dir, or create one with `lake init <dir>`' });
    }
    return root;
  }

  vars(): Record<string, unknown> | undefined {
    if (!this.opts.vars) return undefined;
    try {
      // JSON, or YAML as dbt takes it ({round: 2}).
      let v: unknown;
      try {
        v = JSON.parse(this.opts.vars) as unknown;
      } catch {
        v = parseYamlValue(this.opts.vars);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch {
      throw new LakeError('usage', { code: 'LAKE-U002', severity: 'error', message: `--vars is not a JSON or YAML mapping: ${this.opts.vars}`, hint: `write --vars '{"name": "value"}' (or YAML: '{name: value}')` });
    }
  }

  threads(): number | undefined {
    if (this.opts.threads === undefined) return undefined;
    const n = Number(this.opts.threads);
    if (!Number.isInteger(n) || n < 1) throw new LakeError('usage', { code: 'LAKE-U003', severity: 'error', message: `--threads must be a positive integer, not ${this.opts.threads}`, hint: 'e.g. --threads 4' });
    return n;
  }

  /**
   * Load and compile the project (imported lazily so `lake --version` and `lake init` stay fast);
   * `run`: what the command asks of templates (dbt's --empty and `flags`).
   */
  async session(run: { empty?: boolean; flags?: Record<string, unknown> } = {}): Promise<Session> {
    const { Session } = await import('../app/session.js');
    // dbt's flags a template may read: the command's own, and the invocation's (warn_error, the command line).
    const flags = { ...run.flags, WARN_ERROR: this.opts.warnError ? true : null, INVOCATION_COMMAND: `lake ${process.argv.slice(2).join(' ')}` };
    const s = Session.open({ projectDir: this.projectRoot(), target: this.opts.target, vars: this.vars(), threads: this.threads(), ...run, flags });
    this.projectWarnings(s.warnings);
    this.applyState(s);
    return s;
  }

  /** The project's load and compile warnings: printed, or with --warn-error the command's error (exit 2). */
  projectWarnings(warnings: readonly Diagnostic[]): void {
    if (warnings.length && this.opts.warnError) {
      throw new LakeError('project', warnings.map((w) => ({ ...w, severity: 'error' as const, message: `${w.message} (a warning, an error with --warn-error)` })));
    }
    if (warnings.length) this.reporter.diagnostics(warnings);
  }

  /**
   * dbt's YAML selectors: with `--selector name` (or, without --select, the selector of
   * selectors.yml marked `default: true`), the nodes it selects, as the command's selection.
   */
  selection<T extends { select?: string[]; exclude?: string[] }>(s: Session, flags: T): T {
    const ids = this.selectorKeys(s, flags, (text) => new Set(s.select(text ? { select: [text] } : {})));
    return ids ? { ...flags, select: [[...ids].join(' ')] } : flags;
  }

  /**
   * What the YAML selector in effect selects (undefined: none is), each leaf of its definition
   * evaluated by `leaf` (its selector text, and the entry's `indirect_selection`): node ids, and
   * for lake test / build the keys of the tests picked at that leaf.
   */
  selectorKeys(s: Session, flags: { select?: string[] }, leaf: (text: string, indirectSelection?: string) => ReadonlySet<string>): Set<string> | undefined {
    const name = this.opts.selector;
    const file = path.join(s.project.root, 'selectors.yml');
    const fail = (message: string, hint: string) => new LakeError('usage', { code: 'LAKE-U060', severity: 'error', message, file: 'selectors.yml', hint });
    if (!fs.existsSync(file)) {
      if (name) throw fail(`--selector ${name}: the project has no selectors.yml`, 'write selectors.yml beside the project file (selectors: [{name, definition}]), or use --select');
      return undefined;
    }
    if (!name && flags.select?.length) return undefined;
    if (name && flags.select?.length) throw fail('--selector and --select cannot be used together', 'put the selection in the selector, or drop --selector');
    const diags: Diagnostic[] = [];
    const data = parseYamlFile('selectors.yml', fs.readFileSync(file, 'utf8'), diags, { yaml11Booleans: s.project.flavor === 'dbt' })?.data as { selectors?: unknown } | undefined;
    if (diags.some((d) => d.severity === 'error')) throw new LakeError('project', diags);
    const list = Array.isArray(data?.selectors) ? (data!.selectors as Record<string, unknown>[]) : [];
    const selectors = new Map(list.filter((x) => x && typeof x.name === 'string').map((x) => [String(x.name), { name: String(x.name), definition: x.definition, default: x.default === true }]));
    const chosen = name ?? [...selectors.values()].find((x) => x.default)?.name;
    if (!chosen) return undefined;
    let ids: Set<string>;
    try {
      ids = evaluateSelector(selectors, chosen, leaf);
    } catch (e) {
      if (e instanceof SelectorError) throw fail(e.message, 'see dbt\'s YAML selectors: union, intersection, exclude, method/value, and selector strings such as tag:nightly');
      throw e;
    }
    if (ids.size === 0) throw fail(`selector ${chosen} selects no node`, 'check its definition with lake ls --selector');
    return ids;
  }

  /** With --warn-error, the run's warnings make it fail: says so and gives true. */
  warnedAsError(warnings: number): boolean {
    if (!this.opts.warnError || warnings === 0) return false;
    this.reporter.record('warn_error', { warnings }, `${warnings} warning${warnings === 1 ? '' : 's'} above, errors with --warn-error`);
    return true;
  }

  /** The global flags a run records in run_results.json's `args` (`lake retry` reuses them). */
  invocation(): Record<string, unknown> {
    const state = this.opts.state ?? process.env.LAKE_STATE ?? process.env.DBT_STATE;
    return {
      ...(this.opts.target ? { target: this.opts.target } : {}), ...(this.opts.vars ? { vars: this.opts.vars } : {}), ...(this.opts.threads ? { threads: this.opts.threads } : {}),
      ...(state ? { state: path.resolve(state) } : {}), ...(this.opts.defer ? { defer: true } : {}), ...(this.opts.selector ? { selector: this.opts.selector } : {}),
    };
  }

  /** `--state <dir>` (or dbt's DBT_STATE) for the `state:` and `result:` selectors. */
  applyState(s: Session): void {
    const dir = this.opts.state ?? process.env.LAKE_STATE ?? process.env.DBT_STATE;
    if (dir) s.useState(dir);
  }
}

/**
 * A command's "no such model" error from the compiler's ref() problem: the name and the names it
 * may mean as the command takes them (`did you mean gold.orders?`), not as a template's ref().
 */
export function unknownNodeError(code: string, problem: { readonly message: string; readonly hint?: string }): LakeError {
  // A name typed on the command line: the names it may mean are enough (not where a file would be, as for a template's ref).
  const bare = (t: string) => t.replace(/ref\('([^']*)'\)/g, '$1').replace(/\? If not, [\s\S]*$/, '?');
  return new LakeError('usage', { code, severity: 'error', message: problem.message.replace(/^ref\('(.*)'\)/, "'$1'"), ...(problem.hint ? { hint: bare(problem.hint) } : {}) });
}

/** `-s a b -s c` → ['a b', 'c'] kept as given; the selector splits on spaces. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Exit code of a command a stop (Ctrl-C, SIGTERM) cut short: 128 + SIGINT, as shells report it. */
export const INTERRUPTED = 130;

/**
 * Run `fn` with Ctrl-C or SIGTERM (a scheduler stopping the job) meaning "finish the running
 * nodes, start no new ones" (a second signal aborts; every table is then as it was or fully
 * updated all the same). `fn` receives the flag to poll.
 */
export async function withInterrupt<T>(c: CommandContext, fn: (stopRequested: () => boolean) => Promise<T>, onAbort?: () => void): Promise<T> {
  let stop = false;
  const onSig = (signal: NodeJS.Signals) => {
    if (stop) {
      try {
        c.reporter.error('aborted: the running nodes stopped without committing (each table is as it was before them); lake retry runs the whole command again');
        onAbort?.();
      } finally {
        process.exit(INTERRUPTED);
      }
    }
    stop = true;
    c.reporter.error(`${signal === 'SIGTERM' ? 'terminate' : 'interrupt'}: finishing the running nodes, starting no new ones (${signal === 'SIGTERM' ? 'send it again' : 'press Ctrl-C again'} to abort)`);
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  try {
    return await fn(() => stop);
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}
