/** Turns Nunjucks errors into diagnostics with file:line:col and a code frame. */
import type { Diagnostic } from '../errors/index.js';
import { codeFrame, closest } from '../errors/index.js';

const POS = /\[Line (\d+), Column (\d+)\]/;

/** What a template diagnostic can use beyond the error itself. */
export interface TemplateErrorContext {
  /** The error was thrown while rendering (Nunjucks reports 0-based positions then), not while parsing. */
  readonly runtime?: boolean;
  /** Macro files (path → text), to point at the macro where an unknown name is called. */
  readonly macroFiles?: ReadonlyMap<string, string>;
  /** Names that can be called (macros, lake's functions), for "did you mean". */
  readonly callable?: Iterable<string>;
  /** Filter names, for "did you mean" on an unknown filter. */
  readonly filters?: Iterable<string>;
}

/** Globals of lake's template context (not packages): `run_started_at.x()` is a missing method, not a package. */
const BUILTIN_OBJECTS = new Set(['run_started_at', 'target', 'this', 'model', 'modules', 'adapter', 'config', 'graph', 'flags']);

/** A diagnostic for a template error thrown while compiling or rendering `source`. */
export function templateDiagnostic(err: unknown, file: string, source: string, node?: string, ctx: TemplateErrorContext = {}): Diagnostic {
  const e = err as { message?: string; lineno?: number; colno?: number; lakeDiagnostic?: Diagnostic; lakeMacroFile?: string; cause?: { lakeMacroFile?: string } };
  // The macro file that was running when the error was thrown (the innermost macro call).
  const inMacro = e.lakeMacroFile ?? e.cause?.lakeMacroFile;
  const carried = e.lakeDiagnostic ?? (e as { cause?: { lakeDiagnostic?: Diagnostic } }).cause?.lakeDiagnostic;
  if (carried) return carried;
  const raw = String(e.message ?? err);
  const m = POS.exec(raw);
  let line = m ? Number(m[1]) : e.lineno;
  let col = m ? Number(m[2]) : e.colno;
  // Render-time positions are 0-based (parse errors are 1-based).
  if (ctx.runtime && line !== undefined) { line += 1; col = col !== undefined ? col + 1 : col; }
  // Nunjucks prefixes "(path) [Line, Column]" and may nest "Error: ..." lines; keep the last meaningful line.
  const lines = raw.split('\n').map((l) => l.trim()).filter((l) => l && !POS.test(l) && !/^\(.*\)$/.test(l));
  const message = (lines[lines.length - 1] ?? raw).replace(/^(Template render error|Error|TypeError):\s*/i, '');
  const pkg = /unable to call `(\w+)\["(\w+)"\]`/i.exec(message);
  if (pkg) {
    // dbt_utils.star(...): a macro of a dbt package, which lake does not install.
    const [, ns, fn] = pkg;
    const pos = locate(source, new RegExp(`(?<![\\w.])${ns}\\s*\\.\\s*${fn}\\s*\\(`));
    return {
      code: 'LAKE-T002', severity: 'error', message: ns === 'dbt' ? `dbt.${fn}() is not one of dbt's macros lake provides`
        : BUILTIN_OBJECTS.has(ns!) ? `${ns}.${fn}() is not available in lake's ${ns}`
        : `unknown macro '${ns}.${fn}': package ${ns} is not installed (lake reads the packages in dbt_packages/ but never downloads one)`,
      file, line: pos?.line ?? line, col: pos?.col ?? col, node,
      frame: pos ? codeFrame(source, pos.line, pos.col) : undefined,
      hint: `run \`dbt deps\` once to install it, or copy the macro into a file under macros/ and call it as ${fn}(...)`,
    };
  }
  const call = /unable to call `([\w.]+)`/i.exec(message);
  if (call) {
    // An unknown macro or function: point at the call, in the model or in the macro that makes it.
    const fn = call[1]!;
    const re = new RegExp(`(?<![\\w.])${fn.replace(/\./g, '\\.')}\\s*\\(`);
    let where = { file, source, pos: locate(source, re) };
    if (!where.pos && ctx.macroFiles) {
      for (const [mf, text] of macroFilesFrom(ctx.macroFiles, inMacro)) {
        const pos = locate(text, re);
        if (pos) { where = { file: mf, source: text, pos }; break; }
      }
    }
    const near = ctx.callable ? closest(fn, ctx.callable) : [];
    return {
      code: 'LAKE-T002', severity: 'error', message: `unknown macro or function '${fn}'`,
      file: where.file, line: where.pos?.line ?? line, col: where.pos?.col ?? col, node,
      frame: where.pos ? codeFrame(where.source, where.pos.line, where.pos.col) : line ? codeFrame(source, line, col) : undefined,
      hint: DBT_UTILS_QUERYING.has(fn.split('.').pop()!)
        ? `${fn.split('.').pop()}() is a macro of the dbt_utils package: install it into dbt_packages/ (\`dbt deps\`) and call it as dbt_utils.${fn.split('.').pop()}(...)`
        : near.length ? `did you mean ${near.join(' or ')}?` : `define it with {% macro ${fn}(...) %} in a file under macros/`,
    };
  }
  const dispatch = /^adapter\.dispatch\('(\w+)'/.exec(message);
  if (dispatch) {
    // Point at the dispatching call, in the model or in the macro that makes it.
    const re = new RegExp(`dispatch\\(\\s*['"]${dispatch[1]}['"]`);
    let where = { file, source, pos: locate(source, re) };
    if (!where.pos && ctx.macroFiles) {
      for (const [mf, text] of macroFilesFrom(ctx.macroFiles, inMacro)) {
        const pos = locate(text, re);
        if (pos) { where = { file: mf, source: text, pos }; break; }
      }
    }
    return {
      code: 'LAKE-T002', severity: 'error', message, file: where.file, line: where.pos?.line ?? line, col: where.pos?.col ?? col, node,
      frame: where.pos ? codeFrame(where.source, where.pos.line, where.pos.col) : undefined,
      hint: `define {% macro default__${dispatch[1]}(...) %} (or duckdb__${dispatch[1]}) in a file under macros/`,
    };
  }
  const filter = /filter not found: (\w+)/.exec(message);
  if (filter) {
    // Nunjucks names the filter but not where it is: the first `| name` in the template.
    const name = filter[1]!;
    const pos = locate(source, new RegExp(`\\|\\s*${name}\\b`));
    const near = ctx.filters ? closest(name, ctx.filters) : [];
    return {
      code: 'LAKE-T001', severity: 'error', message: `unknown filter '${name}'`, file, line: pos?.line ?? line, col: pos?.col ?? col, node,
      frame: pos ? codeFrame(source, pos.line, pos.col) : undefined,
      hint: near.length ? `did you mean ${near.join(' or ')}?` : 'use a Jinja filter (lower, upper, replace, join, map, default, trim, length, ...) or a macro',
    };
  }
  if (line === undefined && /end of file/.test(message)) {
    // "expected endif, got end of file" has no position: point at the block left open.
    const open = unclosedBlock(source);
    if (open) {
      return {
        code: 'LAKE-T001', severity: 'error', message: `template error: {% ${open.tag} %} is never closed`, file, line: open.line, col: open.col, node,
        frame: codeFrame(source, open.line, open.col), hint: `add {% end${open.tag} %} where the ${open.tag} block ends`,
      };
    }
  }
  return {
    code: 'LAKE-T001', severity: 'error', message: `template error: ${message}`, file, line, col, node,
    frame: line ? codeFrame(source, line, col) : undefined,
    // A render-time error comes from what the template called, not from its syntax.
    hint: ctx.runtime ? 'the error comes from an expression, macro or function called near this line'
      : 'check the {{ }} / {% %} syntax near this line (every {% if %} / {% for %} needs its {% endif %} / {% endfor %})',
  };
}

/** Macro files, the one `first` (where the error was thrown) before the others. */
function macroFilesFrom(files: ReadonlyMap<string, string>, first: string | undefined): Iterable<[string, string]> {
  const text = first === undefined ? undefined : files.get(first);
  return text === undefined ? files : [[first!, text], ...[...files].filter(([f]) => f !== first)];
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

const BLOCK_TAGS = new Set(['if', 'for', 'macro', 'call', 'filter', 'raw', 'block', 'test']);

/** The innermost block tag (`{% if %}`, `{% for %}`, ...) that has no end tag. */
export function unclosedBlock(source: string): { tag: string; line: number; col: number } | undefined {
  const stack: { tag: string; index: number }[] = [];
  const re = /\{%-?\s*(end)?(\w+)/g;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const tag = m[2]!;
    if (m[1]) {
      if (BLOCK_TAGS.has(tag) && stack.length && stack[stack.length - 1]!.tag === tag) stack.pop();
    } else if (BLOCK_TAGS.has(tag)) {
      stack.push({ tag, index: m.index });
    } else if (tag === 'set' && !/^\{%-?\s*set[^%]*=/.test(source.slice(m.index, source.indexOf('%}', m.index) + 2))) {
      stack.push({ tag, index: m.index });
    }
  }
  const top = stack[stack.length - 1];
  if (!top) return undefined;
  const pos = locate(source.slice(0, top.index + 1) + '\u0000', /\u0000/)!;
  return { tag: top.tag, line: pos.line, col: pos.col - 1 };
}

/** dbt_utils' macros that query the database, often called as if they were dbt's own. */
const DBT_UTILS_QUERYING = new Set(['get_relations_by_pattern', 'get_column_values', 'get_query_results_as_dict', 'get_filtered_columns_in_relation', 'get_single_value']);
