/**
 * The Nunjucks environment (Jinja-compatible) with lake's context: ref, source, stream, config,
 * var, env_var, is_incremental, this, target, run_started_at, and every macro in macros/ by name.
 * The only module that imports nunjucks.
 *
 * `ref()` and `this` render to placeholders (`__lake_ref_N__`, `__lake_this__`) that the compiler
 * replaces once every model's final config (and so its relation) is known; this keeps rendering
 * independent of render order.
 *
 * Most models render through the fast path (fast.ts: an interpreter for the common subset of
 * Nunjucks that gives the same text); the rest, and any render the fast path is not sure about,
 * go through Nunjucks. Parsed templates of both kinds are cached by their text.
 */
import { createHash, randomUUID } from 'node:crypto';
import nunjucks from 'nunjucks';
import type { Diagnostic } from '../errors/index.js';
import { closest } from '../errors/index.js';
import type { LoadedProject, ModelConfig, SourceNode } from '../core/types.js';
import { landingViewName, modelUniqueId, pathInProject, preferredRef, quoteIdent, refKeysOf, versionFields, seedRelation, sourceRelationSql, versionedRefKey } from '../core/types.js';
import { normaliseConfig } from '../project/config.js';
import { dropTrailingCommas, jinjaSource, rewriteFloats, rewriteTestBlocks } from './jinja-source.js';
import { emptyRelation, filteredRelation, type MicrobatchWindow } from '../core/event-time.js';
import { templateDiagnostic, locate, lakeTemplateError } from './errors.js';
import { parseFast, renderFast, FastPathBail, type FastTemplate, type FastScope } from './fast.js';
import { graphContext, type GraphContext } from './graph-context.js';
import { addConversionFilters, catalogName, DoExtension, installDbtCompat, installRuntimeCompat, LoopControlExtension, namespace, pythonAdd, relationValue, setDefaultDatabase, setRefAttributes, splat, star } from './dbt-compat.js';
import { packageBuiltIns } from './dbt-macros.js';
import { pythonRe } from './python-re.js';
import { pythonItertools } from './python-itertools.js';
import { markTuple, pyFloat, truthy } from './python-repr.js';
import { splitKwargs } from './call-args.js';
import { pyDate, pythonDatetimeModule } from './python-datetime.js';
import { installIntrospection, type IntrospectionMode, type IntrospectionState, type RenderDatabase } from './introspection.js';

nunjucks.installJinjaCompat();
installRuntimeCompat(
  (nunjucks as unknown as { runtime: { memberLookup: (...a: unknown[]) => unknown } }).runtime,
  (nunjucks as unknown as { compiler: Parameters<typeof installRuntimeCompat>[1] }).compiler,
  (nunjucks as unknown as { lexer: Parameters<typeof installRuntimeCompat>[2] }).lexer,
);

/**
 * dbt's `{{ return(value) }}`: a macro that calls it gives `value` (a list, a dict, a number...)
 * instead of its rendered text, so `{% for m in payment_methods() %}` iterates the list. Every
 * macro Nunjucks makes (in macros/, in a model, nested, `caller`) is wrapped: a call opens a slot
 * that `return()` fills (the first call wins, as dbt stops there) and the call gives the slot's
 * value when it was filled. (Nunjucks' own runtime object: compiled templates look makeMacro up
 * on it when they run.)
 */
const NO_RETURN = Symbol('no return');
const returnSlots: unknown[] = [];
/** Whether the macro call that ended last gave a return() value (a `{% call %}` body's, for statement). */
let lastCallReturned = false;
const runtime = (nunjucks as unknown as { runtime: { makeMacro: (a: unknown, k: unknown, f: unknown) => (...args: unknown[]) => unknown } }).runtime;
const makeMacro = runtime.makeMacro;
/** Jinja's `kwargs` and `varargs` inside a macro: the keyword and positional arguments its signature does not name. */
const macroExtras: { kwargs: Record<string, unknown>; varargs: unknown[] }[] = [];
runtime.makeMacro = (argNames, kwargNames, func) => {
  const macro = makeMacro(argNames, kwargNames, func);
  const named = new Set<string>([...(argNames as string[]), ...(kwargNames as string[]), '__keywords', 'caller']);
  const arity = (argNames as string[]).length + (kwargNames as string[]).length;
  // A macro whose body never reads `kwargs` takes no keyword argument its signature lacks (Jinja
  // raises, so dbt stops at `gap: ...` for `gaps`); Nunjucks dropped it silently.
  const takesKwargs = String(func).includes('"kwargs"');
  return function (this: unknown, ...args: unknown[]) {
    const last = args[args.length - 1] as Record<string, unknown> | undefined;
    const keywords = last && typeof last === 'object' && last.__keywords ? last : undefined;
    const kwargs: Record<string, unknown> = {};
    if (keywords) for (const [k, v] of Object.entries(keywords)) if (!named.has(k)) kwargs[k] = v;
    if (!takesKwargs) {
      const extra = Object.keys(kwargs);
      if (extra.length) throw new Error(`a macro taking (${[...(argNames as string[]), ...(kwargNames as string[])].join(', ')}) was given the keyword argument '${extra[0]}', which it does not take`);
    }
    macroExtras.push({ kwargs, varargs: markTuple(args.slice(arity, keywords ? args.length - 1 : args.length)) });
    returnSlots.push(NO_RETURN);
    try {
      const out = macro.apply(this, args);
      const returned = returnSlots[returnSlots.length - 1];
      lastCallReturned = returned !== NO_RETURN;
      return returned === NO_RETURN ? out : returned;
    } finally {
      returnSlots.pop();
      macroExtras.pop();
    }
  };
};

export const REF_PLACEHOLDER = /__lake_(ref|stream)_(\d+)__/g;
export const THIS_PLACEHOLDER = '__lake_this__';

/** What one render recorded. */
export interface RenderResult {
  readonly sql: string;
  /** Ref arguments in call order; placeholder N refers to refs[N]. */
  readonly refs: readonly string[];
  /** Indexes into refs read through stream(). */
  readonly streamed: ReadonlySet<number>;
  readonly sources: readonly SourceNode[];
  readonly config: Partial<ModelConfig>;
  readonly macros: readonly string[];
  readonly usedIncremental: boolean;
  readonly diagnostics: readonly Diagnostic[];
  /** Indexes into refs printed with `.render()` in a microbatch batch or under --empty: read whole (dbt's opt-out). */
  readonly unfilteredRefs?: ReadonlySet<number>;
  /** The output depends on more than the text and the project: env_var(), run_started_at, today's date. */
  readonly volatile?: boolean;
  /**
   * The template queries the database while rendering (run_query, statement, get_columns_in_relation...):
   * without a database it was rendered as in dbt's parse phase (`execute` false), and a run renders it again, live.
   */
  readonly introspective?: true;
  /** A live render stopped at this query, whose answer it does not have yet: run it and render again. */
  readonly pendingQuery?: string;
  /** Rendered without the database as dbt parses (execute false): not the SQL a run builds. */
  readonly parsed?: true;
  /** The error of the render with `execute` true, when only that render fails (see CompiledNode.executeError). */
  readonly executeError?: Diagnostic;
  /** It read `graph` (whose depends_on the compiler knows only after rendering every model). */
  readonly readsGraph?: true;
  /** What log() (`info` when log(..., info=True)) and print() said, in order. */
  readonly logs?: readonly { readonly message: string; readonly info: boolean }[];
}

export interface RenderOptions {
  /** is_incremental() answer (the executor knows whether the relation exists). */
  readonly incremental: boolean;
  readonly materialized: string;
  readonly file: string;
  readonly node?: string;
  /** Extra variables for this render (tests: model, column_name...). */
  readonly extra?: Record<string, unknown>;
  /** Answers the render's database queries (a live render, by `lake run`); without it, dbt's parse phase. */
  readonly database?: RenderDatabase;
  /** One batch of a microbatch model (`model.batch`; sources with event_time read filtered to it). */
  readonly batch?: MicrobatchWindow;
}

export interface EngineOptions {
  /** Use the fast path where it applies (default true; tests turn it off to compare). */
  readonly fastPath?: boolean;
  /** dbt's --empty: refs and sources read as zero rows (`.render()` reads them whole). */
  readonly empty?: boolean;
  /** dbt's `flags` (FULL_REFRESH, EMPTY, WHICH, ...): the command line this render serves. */
  readonly flags?: Readonly<Record<string, unknown>>;
}

/** How renders went, for benchmarks and tests. */
export interface RenderStats {
  fast: number;
  nunjucks: number;
  /** Fast-path renders that handed over to Nunjucks at run time. */
  bailed: number;
}

interface RenderState {
  opts: RenderOptions;
  source: string;
  refs: string[];
  streamed: Set<number>;
  sources: SourceNode[];
  config: Record<string, unknown>;
  macros: Set<string>;
  usedIncremental: boolean;
  diagnostics: Diagnostic[];
  volatile?: boolean;
  /** A diagnostic thrown by one of lake's functions (Nunjucks drops the thrown error's fields when it wraps it). */
  thrown?: Diagnostic;
  /** Database access of this render (introspection.ts). */
  db: IntrospectionState;
  /** What log() and print() said. */
  logs?: { message: string; info: boolean }[];
  /** The template read `graph`. */
  readsGraph?: boolean;
  /** Refs whose `.render()` was printed in a microbatch batch or under --empty. */
  unfiltered?: Set<number>;
}


/** Macros named `_x` are private to Nunjucks' exports: exported under another name as well. */
const PRIVATE_EXPORT = 'lake_private_';
function exportPrivateMacros(text: string): string {
  const names = [...text.matchAll(/\{%-?\s*macro\s+(_\w+)/g)].map((m) => m[1]!);
  return names.length ? `${text}${names.map((n) => `{% set ${PRIVATE_EXPORT}${n} = ${n} %}`).join('')}` : text;
}
/** A macro's name from its export name. */
function exportedName(n: string): string {
  return n.startsWith(PRIVATE_EXPORT) ? n.slice(PRIVATE_EXPORT.length) : n;
}

export class TemplateEngine {
  private readonly env: nunjucks.Environment;
  private state: RenderState | undefined;
  private readonly cache = new Map<string, nunjucks.Template>();
  private readonly fastPath: boolean;
  readonly stats: RenderStats = { fast: 0, nunjucks: 0, bailed: 0 };
  readonly macroNames = new Set<string>();
  /** Custom materializations (`{% materialization name %}`, which lake does not run) → their file. */
  readonly materializations = new Map<string, string>();
  readonly macroDiagnostics: Diagnostic[] = [];
  /** Macro name → where it is defined and a checksum of its text (`state:modified.macros`). */
  readonly macroIndex = new Map<string, { path: string; line: number; checksum: string }>();
  /** Macros by package (the root project under its own name): for adapter.dispatch's search order. */
  private readonly packageMacros = new Map<string, Map<string, (...a: unknown[]) => unknown>>();
  /** Each installed package's environment (its macros unprefixed over the project's): its nodes and hooks render in it. */
  private readonly packageEnvs = new Map<string, nunjucks.Environment>();
  /** Macro files of the project and its packages (where an error inside a macro is looked for). */
  private readonly allMacroFiles: ReadonlyMap<string, string>;
  private readonly sourcesByName = new Map<string, SourceNode>();

  /** The catalog of the target's database (dbt-duckdb's `database`: the file's stem). */
  readonly database: string;
  private readonly empty: boolean;
  private readonly flags: Readonly<Record<string, unknown>>;

  constructor(private readonly project: LoadedProject, private readonly runStartedAt = new Date(), opts: EngineOptions = {}) {
    this.database = catalogName(project.target.path);
    setDefaultDatabase(this.database);
    databaseInUse = this.database;
    this.fastPath = opts.fastPath ?? process.env.LAKE_FAST_PATH !== '0';
    this.empty = !!opts.empty;
    // (None where the command has no such flag, as dbt's.)
    this.flags = { WHICH: null, FULL_REFRESH: false, EMPTY: this.empty ? true : null, STORE_FAILURES: false, FAIL_FAST: false, WARN_ERROR: null, ...opts.flags };
    this.env = new nunjucks.Environment(null, { dev: true, autoescape: false, throwOnUndefined: false, trimBlocks: false, lstripBlocks: false });
    this.env.addExtension('do', new DoExtension());
    this.env.addExtension('loopcontrols', new LoopControlExtension());
    for (const s of project.sources.values()) this.sourcesByName.set(`${s.sourceName}.${s.name}`, s);
    this.installGlobals();
    this.allMacroFiles = project.packages?.length ? new Map([...project.macroFiles, ...project.packages.flatMap((p) => [...p.macroFiles])]) : project.macroFiles;
    this.loadMacros();
    this.loadPackages();
  }

  private graph?: GraphContext;
  private graphDependsOn?: (id: string) => readonly string[] | undefined;
  private graphConfig?: (id: string) => Readonly<Record<string, unknown>> | undefined;

  /**
   * Every model's depends_on and config with its config() calls (after a compile), for `graph`:
   * renders from now on see them.
   */
  setGraphRendered(dependsOn: (id: string) => readonly string[] | undefined, config: (id: string) => Readonly<Record<string, unknown>> | undefined): void {
    this.graphDependsOn = dependsOn;
    this.graphConfig = config;
    this.graph = undefined;
  }

  /** Throw `d` out of a render; the render reports it as is. */
  private raise(st: RenderState, d: Diagnostic): Error {
    st.thrown = d;
    return lakeTemplateError(d);
  }

  private st(): RenderState {
    if (!this.state) throw new Error('lake template function called outside a render');
    return this.state;
  }

  /** Relations by model or seed name, by schema.name and by package.name, as loaded (built on first use). */
  private relationsByName?: Map<string, { schema: string; name: string; package?: string }[]>;

  /**
   * `ref('x').identifier` and the like: the relation as the project file and YAML place x (a
   * config() call inside x could move it later; rare), looked up for the render under way.
   */
  private readonly refAttributes = (placeholder: string, attr: string): unknown => this.refAttribute(placeholder, attr);

  private refAttribute(placeholder: string, attr: string): unknown {
    const n = Number(/\d+/.exec(placeholder)?.[0]);
    if (attr === 'render()') {
      // dbt's `ref('x').render()` in a microbatch batch or under --empty: x read whole, not filtered.
      const st = this.state;
      if (st?.opts.batch || this.empty) (st!.unfiltered ??= new Set()).add(n);
      return placeholder;
    }
    const name = this.state?.refs[n];
    const rel = name !== undefined ? this.relationByName(name) : undefined;
    if (!rel) return undefined;
    return attr === 'schema' ? rel.schema : attr === 'database' ? this.database : rel.name;
  }

  /** `sql` with the render's ref(), stream() and this placeholders as the relations they stand for (for a query run while rendering). */
  private resolvePlaceholders(sql: string): string {
    const st = this.st();
    let out = sql.replace(REF_PLACEHOLDER, (m, _kind: string, n: string) => {
      const name = st.refs[Number(n)];
      const rel = name !== undefined ? this.relationByName(name) : undefined;
      return rel ? `${quoteIdent(rel.schema)}.${quoteIdent(rel.name)}` : m;
    });
    if (out.includes(THIS_PLACEHOLDER)) {
      const self = (this.env as unknown as { globals: Record<string, unknown> }).globals.this as ThisRelation;
      out = out.split(THIS_PLACEHOLDER).join(`${quoteIdent(self.schema)}.${quoteIdent(self.name)}`);
    }
    return out;
  }

  /** schema and identifier of what a template passes as a relation: ref(), this, source(), a Relation, 'schema.name'. */
  private relationParts(rel: unknown): { database?: string; schema?: string; identifier: string } | undefined {
    if (rel instanceof ThisRelation) return { schema: rel.schema, identifier: rel.name };
    const text = String(rel ?? '');
    const ref = /^__lake_ref_\d+__$/.exec(text);
    if (ref) {
      const schema = this.refAttribute(text, 'schema');
      const identifier = this.refAttribute(text, 'identifier');
      return typeof identifier === 'string' ? { schema: typeof schema === 'string' ? schema : undefined, identifier } : undefined;
    }
    const o = (rel && typeof rel === 'object' ? rel : relationValue(text)) as Record<string, unknown>;
    const identifier = o.identifier ?? o.name;
    if (typeof identifier !== 'string' || !identifier) return undefined;
    return { identifier, ...(typeof o.schema === 'string' ? { schema: o.schema } : {}), ...(typeof o.database === 'string' ? { database: o.database } : {}) };
  }

  /**
   * The relation `ref(name)` points at, when one model or seed has that name — or, as dbt
   * resolves a name several have, the root project's, else the rendering package's own.
   */
  relationByName(name: string): { schema: string; name: string } | undefined {
    if (!this.relationsByName) {
      const m = new Map<string, { schema: string; name: string; package?: string }[]>();
      const add = (key: string, rel: { schema: string; name: string }, pkg: string | undefined) => {
        const entry = pkg ? { ...rel, package: pkg } : rel;
        const list = m.get(key);
        if (list) list.push(entry);
        else m.set(key, [entry]);
      };
      for (const n of [...this.project.models.values(), ...this.project.seeds.values()]) {
        const rel = n.kind === 'seed' ? seedRelation(n) : { schema: n.config.schema, name: (n.config.alias as string | undefined) ?? n.name };
        for (const key of n.kind === 'seed' ? [n.name] : refKeysOf(n)) add(key, rel, n.package);
        add(n.id, rel, n.package);
        if (n.package) add(`${n.package}.${n.name}`, rel, n.package);
      }
      this.relationsByName = m;
    }
    return preferredRef(this.relationsByName.get(name) ?? [], this.renderingPackage());
  }

  /** The installed package whose node, hook or test is being rendered (undefined: the root project's). */
  private renderingPackage(): string | undefined {
    return this.state ? this.packageOfRender(this.state.opts) : undefined;
  }

  /**
   * The installed package a render belongs to: a package's hook (`__package`), its node, or a
   * template in its folder (its tests' SQL and YAML), as dbt renders each in its package's context.
   */
  private packageOfRender(opts: RenderOptions): string | undefined {
    if (typeof opts.extra?.__package === 'string') return opts.extra.__package;
    const node = opts.node !== undefined ? this.project.models.get(opts.node) : undefined;
    if (node) return node.package;
    const file = opts.file;
    return file && this.project.packages?.length ? this.project.packages.find((p) => file.startsWith(`${p.dir}/`))?.name : undefined;
  }

  private installGlobals(): void {
    const env = this.env;
    const project = this.project;
    const self = this;

    env.addGlobal('ref', (...args: unknown[]) => {
      const st = self.st();
      const { pos, kw } = splitKwargs(args);
      const parts = pos.filter((a) => typeof a === 'string') as string[];
      // ref('schema', 'name') is lake's; dbt's ref('package', 'model') with this project's own
      // name is a ref to one of its models.
      const name = parts.length >= 2 ? (parts[0] === project.name ? parts[1]! : `${parts[0]}.${parts[1]}`) : (parts[0] ?? '');
      // dbt's ref('model', v=2) / version=2: that version of a versioned model (else its latest).
      const v = kw.v ?? kw.version;
      st.refs.push(v === undefined || v === null ? name : versionedRefKey(name, String(v).trim()));
      // dbt's Relation attributes (`ref('x').identifier`) are looked up on the placeholder (see refAttribute).
      return `__lake_ref_${st.refs.length - 1}__`;
    });
    env.addGlobal('stream', (rel: unknown) => {
      const st = self.st();
      const m = /^__lake_ref_(\d+)__$/.exec(String(rel));
      if (!m) {
        st.diagnostics.push({ code: 'LAKE-T010', severity: 'error', message: 'stream() takes a ref(), e.g. {{ stream(ref(\'bronze_bpm\')) }}', file: st.opts.file, ...locate(st.source, /stream\s*\(/), hint: 'wrap a ref() call' });
        return String(rel);
      }
      st.streamed.add(Number(m[1]));
      return `__lake_stream_${m[1]}__`;
    });
    env.addGlobal('source', (sourceName: unknown, table: unknown) => {
      const st = self.st();
      const key = `${String(sourceName)}.${String(table)}`;
      const src = self.sourcesByName.get(key);
      if (!src) {
        const near = closest(key, self.sourcesByName.keys());
        st.diagnostics.push({
          code: 'LAKE-C002', severity: 'error', message: `unknown source '${key}'`, file: st.opts.file, node: st.opts.node,
          ...locate(st.source, new RegExp(`source\\s*\\(\\s*['"]${escapeRe(String(sourceName))}['"]`)),
          hint: near.length ? `did you mean ${near.map((n) => `source('${n.replace('.', "', '")}')`).join(' or ')}?` : 'declare it under `sources:` in a YAML file beside the models',
        });
        return `"${key}"`;
      }
      if (!st.sources.includes(src)) st.sources.push(src);
      // A Relation, as dbt's source() gives (dbt_utils' macros check it is one); it prints as its SQL.
      const sql = src.landing ? quoteIdent(landingViewName(src.sourceName, src.name)) : sourceRelationSql(src);
      // --empty: zero rows of it (its columns as they are), as dbt's; in a batch of a microbatch
      // model, a source with event_time read filtered to the batch. (`.render()` reads it whole.)
      if (self.empty) return relationValue(sql, emptyRelation(sql));
      if (st.opts.batch && src.eventTime && !src.landing) return relationValue(sql, filteredRelation(sql, src.eventTime, st.opts.batch));
      return relationValue(sql);
    });
    const config = (...args: unknown[]) => {
      const st = self.st();
      for (const a of args) if (a && typeof a === 'object') Object.assign(st.config, normaliseConfig(a as Record<string, unknown>));
      return '';
    };
    // dbt's config.get / config.require: the model's config as it stands (its config() calls over
    // its YAML and folder configs). unique_key is kept as a list; one key reads back as written, a string.
    const configValue = (key: string): unknown => {
      const st = self.st();
      const k = key.replace(/-/g, '_');
      const node = st.opts.node ? project.models.get(st.opts.node) : undefined;
      // `schema` as configured (`stg`; None when not set), not the schema it builds into (`main_stg`), as dbt's.
      if (k === 'schema' && !(k in st.config)) return node?.customSchema ?? null;
      const v = k in st.config ? st.config[k] : (node?.config as Record<string, unknown> | undefined)?.[k];
      return k === 'unique_key' && Array.isArray(v) && v.length === 1 ? v[0] : v;
    };
    (config as unknown as Record<string, unknown>).get = (key: string, dflt?: unknown) => configValue(String(key)) ?? (dflt === undefined ? null : dflt);
    (config as unknown as Record<string, unknown>).require = (key: string) => {
      const v = configValue(String(key));
      if (v === undefined || v === null) {
        const st = self.st();
        // dbt's parse does not check (its require gives ''): the model fails when it is compiled.
        if (st.db.mode === 'parse') return '';
        throw self.raise(st, { code: 'LAKE-T003', severity: 'error', message: `config.require('${String(key)}'): the model does not set ${String(key)}`, file: st.opts.file, ...locate(st.source, /config\.require\s*\(/), hint: `set it: {{ config(${String(key)}=...) }}, config: in the model's YAML, or +${String(key)} in the project file` });
      }
      return v;
    };
    env.addGlobal('config', config);
    // dbt's hook helpers: a hook as a dict, run outside the model's transaction or in it.
    env.addGlobal('before_begin', (sql: unknown) => ({ sql: String(sql), transaction: false }));
    env.addGlobal('after_commit', (sql: unknown) => ({ sql: String(sql), transaction: false }));
    env.addGlobal('in_transaction', (sql: unknown) => ({ sql: String(sql), transaction: true }));
    env.addGlobal('is_incremental', () => {
      const st = self.st();
      st.usedIncremental = true;
      const mat = (st.config.materialized as string | undefined) ?? st.opts.materialized;
      return st.opts.incremental && mat === 'incremental';
    });
    env.addGlobal('var', (name: string, dflt?: unknown) => {
      const st = self.st();
      if (st.opts.extra && name in (st.opts.extra.__vars as Record<string, unknown> ?? {})) return (st.opts.extra.__vars as Record<string, unknown>)[name];
      // A package's node or hook sees the package's vars (its own under the root project's), as dbt's.
      const pkg = self.renderingPackage();
      const vars = (pkg !== undefined ? project.packages?.find((p) => p.name === pkg)?.vars : undefined) ?? project.vars;
      if (name in vars) return vars[name];
      if (dflt !== undefined) return dflt;
      throw self.raise(st, { code: 'LAKE-T003', severity: 'error', message: `var '${name}' is not set`, file: st.opts.file, ...locate(st.source, new RegExp(`var\\s*\\(\\s*['"]${escapeRe(name)}`)), hint: `set it under vars: in project.yml, pass --vars '{"${name}": ...}', or give a default: var('${name}', ...)` });
    });
    env.addGlobal('env_var', (name: string, dflt?: unknown) => {
      if (self.state) self.state.volatile = true;
      const v = process.env[name];
      if (v !== undefined) return v;
      if (dflt !== undefined) return dflt;
      const st = self.st();
      throw self.raise(st, { code: 'LAKE-T004', severity: 'error', message: `environment variable '${name}' is not set`, file: st.opts.file, ...locate(st.source, new RegExp(`env_var\\s*\\(\\s*['"]${escapeRe(name)}`)), hint: `export ${name}=... or give a default: env_var('${name}', ...)` });
    });
    // `globals` is not in @types/nunjucks, but it is the object lookups fall back to.
    // `{{ this }}` renders a placeholder (the final relation is known after every config() call);
    // `this.schema`, `this.name`, `this.identifier` give the relation as it stands at that point.
    Object.defineProperty((env as unknown as { globals: object }).globals, 'this', {
      get: () => {
        const st = self.state;
        const [nodeSchema, ...rest] = (st?.opts.node ?? '.').split('.');
        const schema = typeof st?.config.schema === 'string' ? (project.customSchema ? project.customSchema(st.config.schema, { name: rest.join('.'), resource_type: 'model' }) : project.customSchemaPrefix + st.config.schema) : nodeSchema;
        const name = typeof st?.config.alias === 'string' ? st.config.alias : rest.join('.');
        return new ThisRelation(schema ?? '', name);
      },
      enumerable: true, configurable: true,
    });
    addConversionFilters(env);
    // dbt's `builtins`: the original ref/source/config, for a project macro that overrides one
    // (`{% macro ref(name) %}{{ return(builtins.ref(name)) }}{% endmacro %}`).
    env.addGlobal('builtins', { ref: env.getGlobal('ref'), source: env.getGlobal('source'), config: env.getGlobal('config') });
    // database: the catalog DuckDB names the file by (its stem; `memory` for :memory:), as dbt-duckdb's.
    const database = this.database;
    env.addGlobal('target', { name: project.target.name, type: project.target.type, path: project.target.path, threads: project.target.threads, schema: project.customSchemaPrefix.replace(/_$/, '') || 'main', database, profile_name: project.name });
    // dbt's: an aware UTC datetime, printed as Python prints it (`2024-01-02 03:04:05.678000+00:00`).
    const startedAt = pyDate(this.runStartedAt, false, true, true);
    Object.defineProperty((env as unknown as { globals: object }).globals, 'run_started_at', {
      get: () => { if (self.state) self.state.volatile = true; return startedAt; }, enumerable: true, configurable: true,
    });
    env.addGlobal('namespace', namespace);
    env.addGlobal('project_name', project.name);
    // Rendering is dbt's execution phase (`{% if execute %}` is true), except for a template that
    // queries the database rendered without one: that render is dbt's parse phase (introspection.ts).
    Object.defineProperty((env as unknown as { globals: object }).globals, 'execute', {
      get: () => self.state?.db.mode !== 'parse', enumerable: true, configurable: true,
    });
    env.addGlobal('invocation_id', INVOCATION_ID);
    // dbt's `flags`: what the command line asked (a render that reads it is not cached: it changes with the command).
    Object.defineProperty((env as unknown as { globals: object }).globals, 'flags', {
      get: () => { if (self.state) self.state.volatile = true; return self.flags; }, enumerable: true, configurable: true,
    });
    env.addGlobal('dbt_version', DBT_VERSION);
    // dbt's `model`: the node being rendered.
    Object.defineProperty((env as unknown as { globals: object }).globals, 'model', {
      get: () => {
        const st = self.state;
        const id = st?.opts.node;
        const node = id ? project.models.get(id) : undefined;
        if (!node) return undefined;
        // model.batch: the batch being built, in a microbatch model's render (None otherwise, as in dbt).
        const b = st?.opts.batch;
        const batch = b ? { id: b.id, event_time_start: pyDate(b.start, false, true, true), event_time_end: pyDate(b.end, false, true, true) } : null;
        // path: under the model folder (dbt's), fqn: the project (or package), the folders under it, the name.
        const file = pathInProject(project, node);
        const under = file.split('/').slice(1);
        const pkg = node.package ?? project.name;
        // A version (dbt's): its model's name, version and latest_version; unique_id and fqn end in v<v>.
        const fqnName = node.version ? [node.version.model, `v${node.version.v}`] : [node.name];
        return { name: node.name, alias: (st?.config.alias as string | undefined) ?? node.name, schema: node.config.schema, unique_id: modelUniqueId(pkg, node), resource_type: 'model', package_name: pkg, original_file_path: file, path: under.join('/'), fqn: [pkg, ...under.slice(0, -1), ...fqnName], config: { ...node.config, ...st?.config }, tags: node.config.tags, batch, version: null, latest_version: null, ...versionFields(node) };
      },
      enumerable: true, configurable: true,
    });
    // dbt's `graph` (graph-context.ts): built when a template first reads it (again once the
    // compiler knows every model's depends_on); a render that reads it is not cached.
    Object.defineProperty((env as unknown as { globals: object }).globals, 'graph', {
      get: () => {
        if (self.state) {
          self.state.readsGraph = true;
          self.state.volatile = true;
        }
        return (self.graph ??= graphContext(project, self.graphDependsOn, self.graphConfig));
      },
      enumerable: true, configurable: true,
    });
    // dbt's log(msg, info=False) and print(msg): kept with the render; info lines are printed when
    // the node builds (and by lake run-operation).
    const keepLog = (msg: unknown, info: boolean) => {
      const st = self.state;
      if (st) {
        (st.logs ??= []).push({ message: String(msg ?? ''), info });
        // Printed each time it renders: never served from the render cache.
        st.volatile = true;
      }
      return '';
    };
    env.addGlobal('log', (msg: unknown, ...rest: unknown[]) => {
      const { pos, kw } = splitKwargs(rest);
      return keepLog(msg, truthy(kw.info ?? pos[0] ?? false));
    });
    env.addGlobal('print', (msg: unknown) => keepLog(msg, true));
    env.addGlobal('return', (v: unknown) => {
      // Inside a macro: its value (see makeMacro above); outside one there is nothing to return from.
      if (returnSlots.length === 0) return v;
      if (returnSlots[returnSlots.length - 1] === NO_RETURN) returnSlots[returnSlots.length - 1] = v;
      return '';
    });
    env.addGlobal('exceptions', {
      raise_compiler_error: (msg: string) => {
        const st = self.st();
        // The message says `this` and refs as the user wrote them, not as placeholders.
        const text = String(msg).replace(/__lake_ref_(\d+)__/g, (m, n: string) => st.refs[Number(n)] ?? m).split(THIS_PLACEHOLDER).join(st.opts.node ?? 'this');
        throw self.raise(st, { code: 'LAKE-T005', severity: 'error', message: text, file: st.opts.file, node: st.opts.node, ...locate(st.source, /raise_compiler_error\s*\(/), hint: 'raised by the project\'s own template code' });
      },
      warn: () => '',
    });
    installDbtCompat(env);
    env.addGlobal('adapter', { quote: (s: string) => quoteIdent(s), dispatch: (name: string, namespace?: string) => this.dispatchMacro(name, namespace) });
    installIntrospection((env as unknown as { globals: Record<string, unknown> }).globals, {
      state: () => self.st().db,
      relationParts: (rel) => self.relationParts(rel),
      resolve: (sql) => self.resolvePlaceholders(sql),
      callCaller: (caller) => {
        const out = caller();
        return lastCallReturned ? { returned: out } : { text: String(out) };
      },
      log: (message) => {
        if (self.state) (self.state.logs ??= []).push({ message, info: true });
      },
      database: this.database,
      propagateReturn: (v) => {
        if (returnSlots.length && returnSlots[returnSlots.length - 1] === NO_RETURN) returnSlots[returnSlots.length - 1] = v;
      },
    });
    const now = () => {
      if (self.state) self.state.volatile = true;
      return new Date();
    };
    env.addGlobal('modules', { datetime: pythonDatetimeModule(now), re: pythonRe(), itertools: pythonItertools(pythonAdd) });
    env.addGlobal('__lake_splat', splat);
    env.addGlobal('__lake_star', star);
    env.addGlobal('__lake_tuple1', (x: unknown) => markTuple([x]));
    env.addGlobal('__lake_float', (x: unknown) => pyFloat(Number(x)));
    for (const name of ['kwargs', 'varargs'] as const) {
      Object.defineProperty((env as unknown as { globals: object }).globals, name, {
        get: () => macroExtras[macroExtras.length - 1]?.[name] ?? (name === 'kwargs' ? {} : []), enumerable: true, configurable: true,
      });
    }
  }

  private loadMacros(): void {
    const bodies = new Map<string, string>();
    const root = new Map<string, (...a: unknown[]) => unknown>();
    this.packageMacros.set(this.project.name, root);
    for (const [file, raw] of this.project.macroFiles) {
      this.noteMaterializations(file, raw);
      const text = exportPrivateMacros(rewriteTestBlocks(raw));
      let exported: Record<string, unknown>;
      try {
        exported = macroExports(text, this.env, file);
      } catch (e) {
        this.macroDiagnostics.push(templateDiagnostic(e, file, raw));
        continue;
      }
      const defs = [...text.matchAll(/\{%-?\s*macro\s+(\w+)/g)];
      for (const [exportName, fn] of Object.entries(exported)) {
        if (typeof fn !== 'function') continue;
        const name = exportedName(exportName);
        const def = defs.find((d) => d[1] === name);
        const prev = this.macroIndex.get(name);
        if (prev) {
          this.macroDiagnostics.push({ code: 'LAKE-T006', severity: 'error', message: `macro '${name}' is defined twice (also in ${prev.path}:${prev.line})`, file, line: def ? text.slice(0, def.index).split('\n').length : 1, hint: 'rename one of them' });
          continue;
        }
        this.macroIndex.set(name, { path: file, line: def ? text.slice(0, def.index).split('\n').length : 1, checksum: '' });
        bodies.set(name, macroBody(text, def?.index));
        this.macroNames.add(name);
        const self = this;
        const wrapped = function (this: unknown, ...args: unknown[]) {
          self.state?.macros.add(name);
          try {
            return (fn as (...a: unknown[]) => unknown).apply(this, args);
          } catch (e) {
            throw markMacroFile(e, file);
          }
        };
        this.env.addGlobal(name, wrapped);
        root.set(name, wrapped);
      }
    }
    this.checksumMacros(bodies);
    // dbt's `<project name>.<macro>()`: the root project is a namespace too (Tuva calls
    // the_tuva_project.tuva_boolean_var(...) in its own models).
    if (globalOf(this.env, this.project.name) === undefined) this.env.addGlobal(this.project.name, Object.fromEntries(root));
  }

  /**
   * The macros of installed dbt packages, as `<package>.<macro>` (a global object per package), and
   * unprefixed inside the package itself (its macros call each other so). A package file is
   * compiled when one of its macros is first called: dbt_utils has
   * ~150 macros, and a project calls a few. A macro's checksum is its package's (an upgrade of the
   * package is a change of every macro in it).
   */
  private loadPackages(): void {
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    const self = this;
    const builtins = packageBuiltIns();
    for (const pkg of this.project.packages ?? []) {
      // The package's own environment: the project's (filters, globals, extensions) underneath,
      // its own macros on top, so an unprefixed call inside the package finds the package's macro
      // and a name the package never defines stays undefined (dbt's scoping), in the project too.
      const penv = Object.create(this.env) as nunjucks.Environment;
      (penv as unknown as { globals: object }).globals = Object.create(globals) as object;
      const own = new Map<string, (...a: unknown[]) => unknown>();
      const ns: Record<string, unknown> = {};
      const sum = createHash('sha256');
      for (const [file, raw] of pkg.macroFiles) {
        sum.update(file).update('\0').update(raw);
        this.noteMaterializations(file, raw);
        const text = exportPrivateMacros(rewriteTestBlocks(raw));
        let exported: Record<string, unknown> | undefined;
        const load = (): Record<string, unknown> => {
          if (exported) return exported;
          try {
            exported = macroExports(text, penv, file);
          } catch (e) {
            const st = this.st();
            throw this.raise(st, { ...templateDiagnostic(e, file, raw), node: st.opts.node, hint: `a macro of package ${pkg.name} (${pkg.dir}) that lake cannot read; copy a fixed version into macros/` });
          }
          return exported ?? {};
        };
        for (const d of text.matchAll(/\{%-?\s*macro\s+(\w+)/g)) {
          const name = d[1]!;
          if (own.has(name)) continue;
          const key = `${pkg.name}.${name}`;
          this.macroIndex.set(key, { path: file, line: text.slice(0, d.index).split('\n').length, checksum: '' });
          // A package macro that queries the database to write its SQL: lake's built-in instead.
          const builtin = builtins[pkg.name]?.[name.replace(/^(default|duckdb)__/, '')];
          const fn = function (this: unknown, ...args: unknown[]) {
            self.state?.macros.add(key);
            const real = builtin ?? load()[name.startsWith('_') ? PRIVATE_EXPORT + name : name];
            if (typeof real !== 'function') throw new Error(`macro ${key} is not defined in ${file}`);
            try {
              return (real as (...a: unknown[]) => unknown).apply(this, args);
            } catch (e) {
              throw markMacroFile(e, file);
            }
          };
          own.set(name, fn);
          ns[name] = fn;
          penv.addGlobal(name, fn);
        }
      }
      const checksum = sum.digest('hex');
      for (const name of own.keys()) this.macroIndex.get(`${pkg.name}.${name}`)!.checksum = checksum;
      this.packageMacros.set(pkg.name, own);
      this.packageEnvs.set(pkg.name, penv);
      const existing = globals[pkg.name];
      this.env.addGlobal(pkg.name, existing && typeof existing === 'object' ? { ...(existing as object), ...ns } : ns);
    }
  }

  /**
   * dbt's `adapter.dispatch(name, namespace)`: `duckdb__<name>`, else `default__<name>`, looked for
   * in the packages of the project file's `dispatch:` search order for that namespace, else in the
   * root project then the namespace's package (dbt's default); then anywhere, and dbt's own macro of
   * that name (the cross-database ones lake provides). Never `<name>` itself: that is the macro that
   * dispatches.
   */
  private dispatchMacro(name: string, namespace?: string): unknown {
    const bare = String(name).replace(/^.*\./, '');
    const candidates = [`duckdb__${bare}`, `default__${bare}`];
    const dbtOwn = (globalOf(this.env, 'dbt') as Record<string, unknown> | undefined)?.[bare];
    if (namespace) {
      const ns = String(namespace);
      const order = this.project.dispatch?.find((d) => d.namespace === ns)?.searchOrder ?? [this.project.name, ns];
      for (const pkg of order) {
        if (pkg === 'dbt' && typeof dbtOwn === 'function') return dbtOwn;
        const macros = this.packageMacros.get(pkg);
        for (const c of candidates) if (macros?.has(c)) return macros.get(c);
      }
    }
    for (const c of candidates) {
      const fn = globalOf(this.env, c);
      if (typeof fn === 'function') return fn;
    }
    if (typeof dbtOwn === 'function') return dbtOwn;
    throw new Error(`adapter.dispatch('${bare}'${namespace ? `, '${String(namespace)}'` : ''}): no macro duckdb__${bare} or default__${bare} in macros/${namespace && namespace !== 'dbt' && !this.packageMacros.has(String(namespace)) ? ` (package ${String(namespace)} is not installed)` : ''}`);
  }

  /**
   * Each macro's checksum covers its own text and, transitively, the macros it calls (a call
   * inside a macro file does not go through the globals, so renders record only the outer macro):
   * `state:modified.macros` then sees an edit of a macro called by a macro a model calls.
   */
  private checksumMacros(bodies: ReadonlyMap<string, string>): void {
    const names = [...bodies.keys()];
    const calls = new Map<string, string[]>();
    for (const [name, body] of bodies) calls.set(name, names.filter((n) => n !== name && new RegExp(`(?<![\\w.])${n}\\s*\\(`).test(body)));
    const done = new Map<string, string>();
    const deep = (name: string, visiting: Set<string>): string => {
      const known = done.get(name);
      if (known) return known;
      visiting.add(name);
      const h = createHash('sha256').update(bodies.get(name) ?? '');
      for (const c of calls.get(name) ?? []) if (!visiting.has(c)) h.update(deep(c, visiting));
      visiting.delete(name);
      const sum = h.digest('hex');
      done.set(name, sum);
      return sum;
    };
    for (const name of names) {
      const m = this.macroIndex.get(name);
      if (m) m.checksum = deep(name, new Set());
    }
  }

  /**
   * The package macro `<package>.<name>` for a name a project does not define: in `namespace` if
   * given (`dbt_utils.test_equal_rowcount`), else in the first package that has it.
   */
  packageMacro(name: string, namespace?: string): string | undefined {
    for (const [pkg, macros] of this.packageMacros) {
      if (pkg === this.project.name || (namespace && pkg !== namespace)) continue;
      if (macros.has(name)) return `${pkg}.${name}`;
    }
    return undefined;
  }

  private noteMaterializations(file: string, raw: string): void {
    for (const m of raw.matchAll(/\{%-?\s*materialization\s+(\w+)/g)) if (!this.materializations.has(m[1]!)) this.materializations.set(m[1]!, file);
  }

  /** Is `name` a macro defined in the project's macros/ folder? */
  hasMacro(name: string): boolean {
    return this.macroNames.has(name);
  }

  /**
   * Make macro `name` (a project macro, a global function, or `dbt.x`-style namespaced one) give
   * `value` whatever its arguments (unit tests' `overrides.macros`). False when there is no such macro.
   */
  overrideMacro(name: string, value: unknown): boolean {
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    const fixed = () => value;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const ns = globals[name.slice(0, dot)];
      if (!ns || typeof ns !== 'object' || typeof (ns as Record<string, unknown>)[name.slice(dot + 1)] !== 'function') return false;
      this.env.addGlobal(name.slice(0, dot), { ...(ns as Record<string, unknown>), [name.slice(dot + 1)]: fixed });
      return true;
    }
    if (!(name in globals)) return false;
    // A value (invocation_id, run_started_at) is the value given; a function gives it whatever its arguments.
    Object.defineProperty(globals, name, { value: typeof globals[name] === 'function' ? fixed : value, writable: true, enumerable: true, configurable: true });
    // dbt's own macros are also called through its namespace (`dbt.current_timestamp()`): the same override.
    const dbt = globals.dbt as Record<string, unknown> | undefined;
    if (dbt && typeof dbt === 'object' && typeof dbt[name] === 'function') this.env.addGlobal('dbt', { ...dbt, [name]: fixed });
    return true;
  }

  /** Call a macro by name outside a model render (tests use this for generic tests). */
  callMacro(name: string, args: Record<string, unknown>, opts: RenderOptions): { sql: string; result: RenderResult } {
    const dot = name.indexOf('.');
    const fn = (dot > 0 ? this.packageMacros.get(name.slice(0, dot))?.get(name.slice(dot + 1)) : this.env.getGlobal(name)) as ((...a: unknown[]) => unknown) | undefined;
    if (typeof fn !== 'function') throw new Error(`no macro ${name}`);
    const call = () => String(fn({ ...args, __keywords: true }));
    const r = this.withState(opts, '', call);
    if (opts.database || !r.result.introspective) return r;
    // It queries the database: without one, as dbt parses it (see render()).
    const parsed = this.withState(opts, '', call, 'parse');
    return { sql: parsed.sql, result: { ...parsed.result, introspective: true, volatile: true } };
  }

  /**
   * Render `text` as a model or any SQL template. Never throws for template errors: they come back as
   * diagnostics. A template that queries the database, rendered without `opts.database`, is
   * rendered again as in dbt's parse phase (see introspection.ts).
   */
  render(text: string, opts: RenderOptions): RenderResult {
    const r = this.renderIn(opts.database ? 'live' : 'compile', text, opts);
    if (!opts.database && !r.introspective) {
      const error = r.diagnostics.find((d) => d.severity === 'error');
      if (!error) return r;
      // dbt parses a model with `execute` false and compiles it with `execute` true: an error of the
      // second render only (code under {% if execute %}) fails that model when it is built, not the
      // project. The parse's render stands for it; a run renders it again (as a model that queries
      // the database) and fails it there.
      const parsed = this.renderIn('parse', text, opts);
      if (parsed.diagnostics.some((d) => d.severity === 'error')) return r;
      return { ...parsed, introspective: true, volatile: true, parsed: true, executeError: error };
    }
    if (!r.introspective || opts.database) return r;
    const parsed = this.renderIn('parse', text, opts);
    if (!parsed.diagnostics.some((d) => d.severity === 'error')) return { ...parsed, introspective: true, volatile: true, parsed: true };
    // The render without the database fails where dbt's parse may not (lake's Jinja is not
    // Python's): the model is still built, rendered with the database; what it reads is what both
    // renders saw before they stopped, and an error there says so.
    const refs = [...parsed.refs, ...r.refs.filter((x) => !parsed.refs.includes(x))];
    const sources = [...parsed.sources, ...r.sources.filter((x) => !parsed.sources.includes(x))];
    const diagnostics = parsed.diagnostics.map((d) => (d.severity === 'error'
      ? { ...d, severity: 'warn' as const, message: `${d.message} (rendering without the database, as dbt parses; the model is rendered with the database when it is built)`, hint: d.hint ?? "guard the code that reads a query's result with {% if execute %}" }
      : d));
    return { ...parsed, sql: 'select 1', refs, sources, diagnostics, introspective: true, volatile: true, parsed: true };
  }

  private renderIn(mode: IntrospectionMode, text: string, opts: RenderOptions): RenderResult {
    // A package's node or hook renders in the package's environment: an unprefixed call finds the
    // package's own macro first, then the root project's (dbt's local, then global, namespace).
    const pkg = this.packageOfRender(opts);
    const env = (pkg !== undefined ? this.packageEnvs.get(pkg) : undefined) ?? this.env;
    const fast = this.fastPath ? this.fastTemplate(text) : null;
    if (fast) {
      try {
        const r = this.withState(opts, text, () => renderFast(fast, this.fastScope(opts.extra, env)), mode).result;
        this.stats.fast++;
        return r;
      } catch (e) {
        if (!(e instanceof FastPathBail)) throw e;
        this.stats.bailed++;
      }
    }
    this.stats.nunjucks++;
    return this.withState(opts, text, () => {
      const tmpl = this.template(text, opts.file, env);
      try {
        return tmpl.render(opts.extra ?? {});
      } catch (e) {
        throw new RenderTimeError(e);
      }
    }, mode).result;
  }

  /** Whether `text` can take the fast path (it may still hand over to Nunjucks at run time). */
  isFastPathTemplate(text: string): boolean {
    return !!this.fastTemplate(text);
  }

  private fastTemplate(text: string): FastTemplate | null {
    // Nothing is cached: parsing costs microseconds (and stops at the first construct it does not
    // take), while keeping 10,000 trees, or hashing 10,000 texts for a cache, costs more.
    return parseFast(rewriteFloats(dropTrailingCommas(text))) ?? null;
  }

  private fastScope(extra: Record<string, unknown> | undefined, env: nunjucks.Environment = this.env): FastScope {
    return {
      // `globals` and `runtime.memberLookup` (as patched by installJinjaCompat) are Nunjucks internals missing from its types.
      globals: (env as unknown as { globals: Record<string, unknown> }).globals,
      ctx: extra ?? {},
      memberLookup: (nunjucks as unknown as { runtime: { memberLookup: FastScope['memberLookup'] } }).runtime.memberLookup,
    };
  }

  private template(text: string, file: string, env: nunjucks.Environment = this.env): nunjucks.Template {
    // The path is part of the key: Nunjucks puts it in its error messages (and a package's file
    // path is its own: its environment is part of the key so).
    const key = `${file}\0${text}`;
    let t = this.cache.get(key);
    if (!t) {
      t = new nunjucks.Template(jinjaSource(text), env, file, true);
      this.cache.set(key, t);
    }
    return t;
  }

  private withState(opts: RenderOptions, source: string, fn: () => string, mode: IntrospectionMode = opts.database ? 'live' : 'compile'): { sql: string; result: RenderResult } {
    const prev = this.state;
    const db: IntrospectionState = { mode, database: opts.database, channel: opts.node ?? opts.file, asked: 0, introspective: false, results: new Map() };
    const st: RenderState = { opts, source, refs: [], streamed: new Set(), sources: [], config: {}, macros: new Set(), usedIncremental: false, diagnostics: [], db };
    this.state = st;
    setRefAttributes(this.refAttributes);
    let sql = '';
    try {
      sql = fn();
    } catch (e) {
      if (e instanceof FastPathBail) throw e;
      const runtime = e instanceof RenderTimeError;
      // Stopped at a query (introspection.ts): not an error of the template; it is rendered again.
      if (db.pending !== undefined) st.diagnostics.length = 0;
      else if (st.thrown) st.diagnostics.push(st.thrown);
      else st.diagnostics.push(templateDiagnostic(runtime ? e.inner : e, opts.file, source, opts.node, {
        runtime, macroFiles: this.allMacroFiles, callable: [...this.macroNames, ...LAKE_FUNCTIONS],
        filters: Object.keys((this.env as unknown as { filters: Record<string, unknown> }).filters ?? {}),
      }));
    } finally {
      this.state = prev;
    }
    // Results live as long as the compiler: share the empty collections (10,000 models × six of them
    // is a lot of garbage-collector work for nothing).
    const result: RenderResult = {
      sql, refs: st.refs, streamed: st.streamed.size ? st.streamed : NO_INDEXES, sources: st.sources.length ? st.sources : NONE,
      config: st.config as Partial<ModelConfig>, macros: st.macros.size ? [...st.macros] : NONE,
      usedIncremental: st.usedIncremental, diagnostics: st.diagnostics.length ? st.diagnostics : NONE,
      ...(st.volatile ? { volatile: true } : {}),
      ...(db.introspective ? { introspective: true as const, volatile: true } : {}),
      ...(db.pending !== undefined ? { pendingQuery: db.pending } : {}),
      ...(st.logs ? { logs: st.logs } : {}),
      ...(st.readsGraph ? { readsGraph: true as const } : {}),
      ...(st.unfiltered ? { unfilteredRefs: st.unfiltered } : {}),
    };
    return { sql, result };
  }
}

/** The catalog of the engine constructed last (one per process in practice), for `this.database`. */
let databaseInUse = 'main';

/**
 * What `{{ this }}` is: it prints as the placeholder the compiler replaces with the final relation,
 * and has dbt's Relation fields for templates that look inside it.
 */
class ThisRelation {
  readonly database = databaseInUse;
  /** As dbt's Relation (dbt_utils' _is_relation reads it). */
  readonly metadata = { type: 'DuckDBRelation' };
  constructor(readonly schema: string, readonly name: string) {}
  get identifier(): string {
    return this.name;
  }
  get table(): string {
    return this.name;
  }
  toString(): string {
    return THIS_PLACEHOLDER;
  }
}

/** dbt's `invocation_id`: one per lake process. */
const INVOCATION_ID = randomUUID();
/** What `dbt_version` says: the dbt-core whose project format lake reads. */
const DBT_VERSION = '1.8.0';

/** Wraps an error thrown by a Nunjucks render (its positions are 0-based, unlike parse errors). */
class RenderTimeError extends Error {
  constructor(readonly inner: unknown) {
    super((inner as Error)?.message ?? String(inner));
  }
}

const LAKE_FUNCTIONS = ['ref', 'source', 'stream', 'config', 'var', 'env_var', 'is_incremental'];
const NO_INDEXES: ReadonlySet<number> = new Set();
const NONE: readonly never[] = Object.freeze([]);

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One macro's definition (from its `{% macro %}` to its `{% endmacro %}`), or the whole file if not found. */
function macroBody(text: string, start: number | undefined): string {
  if (start === undefined) return text;
  const end = /\{%-?\s*endmacro\b[^%]*%\}/g;
  end.lastIndex = start;
  const m = end.exec(text);
  return text.slice(start, m ? m.index + m[0].length : undefined);
}


/** The macros a macro file defines (compiled in `env`, so they see its globals); throws template errors. */
function macroExports(text: string, env: nunjucks.Environment, file: string): Record<string, unknown> {
  const tmpl = new nunjucks.Template(text, env, file, true);
  let exported: Record<string, unknown> = {};
  // getExported is public Nunjucks API missing from @types/nunjucks (synchronous for a sync template).
  (tmpl as unknown as { getExported(ctx: object, frame: null, cb: (err: unknown, ex: Record<string, unknown>) => void): void }).getExported({}, null, (err, ex) => {
    if (err) throw err;
    exported = ex;
  });
  return exported;
}

/** Note on an error the macro file it was thrown in (the innermost macro's: set once). */
function markMacroFile(e: unknown, file: string): unknown {
  if (e && typeof e === 'object' && !('lakeMacroFile' in e)) Object.defineProperty(e, 'lakeMacroFile', { value: file, enumerable: false });
  return e;
}

/** A global of the environment, or undefined (Nunjucks throws for an unknown one). */
function globalOf(env: nunjucks.Environment, n: string): unknown {
  try {
    return env.getGlobal(n);
  } catch {
    return undefined;
  }
}
