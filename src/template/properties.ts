/**
 * Jinja in YAML config values, as dbt renders them in properties files and in the folder configs
 * of dbt_project.yml: `materialized: "{{ 'view' if target.name == 'dev' else 'table' }}"`,
 * `enabled: "{{ target.name == 'prod' }}"`, `schema: "{{ env_var('SCHEMA', 'silver') }}"`. The
 * context is dbt's properties context: `target`, `var()`, `env_var()` (no refs, no macros). The
 * result is read as YAML would read it (dbt renders natively): `true`/`false` are booleans, a
 * number is a number, anything else stays text.
 *
 * Keys whose text is SQL rendered later, at build time with `this` (hooks, predicates,
 * expectations, delete conditions), are left as written — as dbt defers `pre-hook`/`post-hook`.
 */
import { createRequire } from 'node:module';
import type nunjucksType from 'nunjucks';
import { LakeError } from '../errors/index.js';
import { addConversionFilters, DoExtension, LoopControlExtension, namespace, splat, star } from './dbt-compat.js';
import { dropMaterializations, jinjaSource } from './jinja-source.js';
import { pyFloat } from './python-repr.js';

/** Config keys whose values are templates of the build (rendered per model, with `this`). */
const DEFERRED = new Set(['pre_hook', 'post_hook', 'pre-hook', 'post-hook', 'incremental_predicates', 'expectations', 'delete_when', 'sql_header']);

export interface PropertiesContext {
  readonly target: { readonly name: string; readonly type: string; readonly path: string; readonly threads: number; readonly schema: string; readonly profile_name: string };
  readonly vars: Readonly<Record<string, unknown>>;
}

/** Where a value is, for the error of a template that does not render. */
export interface ValueSite {
  readonly file: string;
  readonly line?: number;
  readonly key: string;
}

export type ValueRenderer = (text: string, site: ValueSite) => unknown;

/** Test arguments that name relations (`to: "{{ ref('x') }}"`) are the test collector's to resolve. */
export const NAMES_RELATION = (text: string): boolean => /\b(ref|source)\s*\(/.test(text);

export function isTemplated(v: unknown): v is string {
  return typeof v === 'string' && (v.includes('{{') || v.includes('{%'));
}

/** A renderer of YAML values over `ctx` (one Nunjucks environment, made on first use). */
export function propertiesRenderer(ctx: PropertiesContext): ValueRenderer {
  let env: nunjucksType.Environment | undefined;
  const make = () => {
    // Loaded on first use: most projects have no templated YAML value, and `lake --version` loads this module.
    const nunjucks = createRequire(import.meta.url)('nunjucks') as typeof nunjucksType;
    // An undefined name is an error, not '' (a typo in a YAML config became an empty value).
    const e = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });
    e.addGlobal('target', ctx.target);
    e.addGlobal('var', (name: string, dflt?: unknown) => {
      if (name in ctx.vars) return ctx.vars[name];
      if (dflt !== undefined) return dflt;
      throw new Error(`var '${name}' is not set (set it under vars:, pass --vars, or give a default: var('${name}', ...))`);
    });
    e.addGlobal('env_var', (name: string, dflt?: unknown) => {
      const v = process.env[name];
      if (v !== undefined) return v;
      if (dflt !== undefined) return dflt;
      throw new Error(`environment variable '${name}' is not set (export ${name}=... or give a default: env_var('${name}', ...))`);
    });
    addConversionFilters(e);
    return e;
  };
  let captured: unknown;
  return (text, site) => {
    env ??= make();
    let out: string;
    try {
      // A value that is one expression ("{{ var('methods') }}") gives the expression's value — a
      // list stays a list, as dbt renders natively; anything else renders to text.
      const whole = /^\s*\{\{([\s\S]*)\}\}\s*$/.exec(text);
      if (whole && !whole[1]!.includes('}}') && !whole[1]!.includes('{{')) {
        captured = undefined;
        env.addGlobal('__lake_capture', (v: unknown) => { captured = v; return ''; });
        env.renderString(`{{ __lake_capture(${whole[1]}) }}`, {});
        if (captured !== null && typeof captured === 'object') return captured;
        if (typeof captured === 'boolean' || typeof captured === 'number') return captured;
      }
      out = env.renderString(text, {});
    } catch (err) {
      const msg = String((err as Error).message ?? err).replace(/^\(unknown path\)\s*(\[Line \d+, Column \d+\])?\s*/, '').replace(/^Error: /, '').trim();
      throw new LakeError('project', { code: 'LAKE-P031', severity: 'error', message: `${site.key}: the template ${JSON.stringify(text)} does not render: ${msg}`, file: site.file, line: site.line, hint: 'YAML values may use target, var() and env_var() (as in dbt properties files)' });
    }
    return nativeValue(out);
  };
}

/** The rendered text read as YAML would read a plain value. */
function nativeValue(text: string): unknown {
  const t = text.trim();
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true';
  if (/^(none|null)$/i.test(t)) return null;
  if (/^-?\d+(\.\d+)?$/.test(t) && Number.isFinite(Number(t))) return Number(t);
  return text;
}

/**
 * `config` with its templated values rendered (strings, and strings in lists; nested mappings
 * such as folder levels and `meta` too), deferred keys left alone. The same object when nothing
 * in it is templated.
 */
export function renderConfigValues<T extends Record<string, unknown>>(config: T, render: ValueRenderer, file: string, line?: number, keyPath = '', skip?: (text: string) => boolean): T {
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(config)) {
    const bare = k.startsWith('+') ? k.slice(1) : k;
    if (DEFERRED.has(bare)) continue;
    const key = keyPath ? `${keyPath}.${k}` : k;
    let next: unknown = v;
    const todo = (x: unknown): x is string => isTemplated(x) && !skip?.(x);
    if (todo(v)) next = render(v, { file, line, key });
    else if (Array.isArray(v) && v.some(todo)) next = v.map((x) => (todo(x) ? render(x, { file, line, key }) : x));
    else if (v && typeof v === 'object' && !Array.isArray(v)) next = renderConfigValues(v as Record<string, unknown>, render, file, line, key, skip);
    if (next !== v) (out ??= { ...config })[k] = next;
  }
  return (out ?? config) as T;
}

/**
 * A project's own `generate_schema_name` / `generate_alias_name` macro (dbt calls it for every
 * node's schema and alias), rendered over the properties context: `(custom, node)` → the name.
 * dbt's defaults are there for a macro that calls them (`default__generate_schema_name`).
 */
export function namingMacro(ctx: PropertiesContext, macroText: string, macroName: 'generate_schema_name' | 'generate_alias_name', file: string): (custom: string | null, node: Readonly<Record<string, unknown>>) => string {
  const nunjucks = createRequire(import.meta.url)('nunjucks') as typeof nunjucksType;
  const e = new nunjucks.Environment(null, { autoescape: false });
  e.addGlobal('target', ctx.target);
  e.addGlobal('var', (name: string, dflt?: unknown) => (name in ctx.vars ? ctx.vars[name] : dflt));
  e.addGlobal('env_var', (name: string, dflt?: unknown) => process.env[name] ?? dflt);
  e.addGlobal('default__generate_schema_name', (custom: unknown) => (custom === null || custom === undefined || custom === '' ? ctx.target.schema : `${ctx.target.schema}_${String(custom).trim()}`));
  e.addGlobal('default__generate_alias_name', (custom: unknown, node: { name?: string } | undefined) => (custom === null || custom === undefined || custom === '' ? node?.name ?? '' : String(custom).trim()));
  addConversionFilters(e);
  // The macro files are read whole: their other macros may use dbt's `do` and loop controls.
  e.addExtension('do', new DoExtension());
  e.addExtension('loopcontrols', new LoopControlExtension());
  // Jinja of other macros in those files that Nunjucks cannot parse as written (`{% set ns.x = ... %}`,
  // `**kwargs`, trailing commas...): rewritten as the engine rewrites it.
  e.addGlobal('namespace', namespace);
  e.addGlobal('__lake_splat', splat);
  e.addGlobal('__lake_star', star);
  e.addGlobal('__lake_tuple1', (x: unknown) => [x]);
  e.addGlobal('__lake_float', (x: unknown) => pyFloat(Number(x)));
  // `{% test %}` and `{% materialization %}` blocks in those files are not macros it may call: left out.
  const body = jinjaSource(dropMaterializations(macroText).replace(/\{%-?\s*test\s[\s\S]*?\{%-?\s*endtest\s*-?%\}/g, ''));
  // Text of the macro files outside their macros (comments, blank lines) renders too: the name is what follows the mark.
  const mark = '\u0000__lake_name__\u0000';
  return (custom, node) => {
    try {
      const out = e.renderString(`${body}${mark}{{ ${macroName}(__lake_custom, __lake_node) }}`, { __lake_custom: custom, __lake_node: node });
      return out.slice(out.lastIndexOf(mark) + mark.length).trim();
    } catch (err) {
      const msg = String((err as Error).message ?? err).replace(/^\(unknown path\)\s*(\[Line \d+, Column \d+\])?\s*/, '').replace(/^Error: /, '').trim();
      throw new LakeError('project', { code: 'LAKE-P032', severity: 'error', message: `${macroName} does not render: ${msg}`, file, hint: 'it may use target, var(), env_var(), custom_schema_name / custom_alias_name and the node (name, resource_type, fqn, path, original_file_path, package_name, unique_id)' });
    }
  };
}
