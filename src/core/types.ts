/**
 * Plain data types shared by every module: nodes, configs, relations, columns.
 * No behaviour lives here beyond tiny pure helpers.
 */

/** `schema.name` for models and seeds, `source:<source>.<table>` for sources. */
export type NodeId = string;

export type Materialized = 'view' | 'table' | 'incremental' | 'ephemeral' | 'external' | 'seed' | 'snapshot';
export type IncrementalStrategy = 'append' | 'merge' | 'delete+insert' | 'insert_new' | 'cdc' | 'microbatch';
export type OnSchemaChange = 'ignore' | 'append_new_columns' | 'sync_all_columns' | 'fail';
export type OnViolation = 'warn' | 'drop' | 'fail';

/** A relation in the target database (one database file: schema + name). */
export interface Relation {
  readonly schema: string;
  readonly name: string;
}

/** A column as the engine describes it. */
export interface Column {
  readonly name: string;
  readonly type: string;
  readonly nullable?: boolean;
}

/** Declared documentation for a column (YAML). */
export interface ColumnDoc {
  readonly name: string;
  readonly description?: string;
  readonly dataType?: string;
  readonly tests: readonly TestDecl[];
  readonly meta?: Readonly<Record<string, unknown>>;
  /** The column's tags (`tags:` or `config: {tags:}`): its tests have them too (dbt). */
  readonly tags?: readonly string[];
  /** `quote: true`: the name is quoted where tests use it (a name with spaces, a reserved word). */
  readonly quote?: boolean;
  /** dbt's `constraints:` (applied when the model's contract is enforced: materialize/contract.ts). */
  readonly constraints?: readonly ColumnConstraint[];
}

/** A dbt constraint: on a column, or on the model (`columns:` then names them). */
export interface ColumnConstraint {
  readonly type: string;
  readonly expression?: string;
  readonly columns?: readonly string[];
  readonly name?: string;
}

/** A data test as declared in YAML: a name (unique, not_null, ...) and its arguments. */
export interface TestDecl {
  readonly name: string;
  /** The package a test was written with (`dbt_utils` of `dbt_utils.accepted_range`): part of its dbt name. */
  readonly namespace?: string;
  readonly args: Readonly<Record<string, unknown>>;
  /** severity, where, warn_if, error_if, limit, store_failures, ... */
  readonly config: Readonly<Record<string, unknown>>;
  readonly file?: string;
  readonly line?: number;
}

/** Model configuration after folder defaults, YAML and `config()` are merged. */
export interface ModelConfig {
  materialized: Materialized;
  schema: string;
  alias?: string;
  enabled: boolean;
  tags: string[];
  incremental_strategy?: IncrementalStrategy;
  unique_key?: string[];
  incremental_predicates?: string[];
  on_schema_change: OnSchemaChange;
  /** CDC (`incremental_strategy: cdc`). */
  sequence_by?: string[];
  delete_when?: string;
  scd_type?: 1 | 2;
  ignore_null_updates?: boolean;
  /** `external` materialization. */
  location?: string;
  format?: 'parquet' | 'csv';
  partition_by?: string[];
  pre_hook: string[];
  post_hook: string[];
  /** DLT-style expectations: name -> SQL condition that a valid row satisfies. */
  expectations?: Record<string, string>;
  on_violation?: OnViolation | Record<string, OnViolation>;
  /** Anything else the user set; kept for the manifest and for macros. */
  [key: string]: unknown;
}

export interface ModelNode {
  readonly kind: 'model';
  /** A dbt snapshot (a `{% snapshot %}` block, or a YAML `snapshots:` entry with a relation): materialized 'snapshot'. */
  readonly resourceType?: 'snapshot';
  readonly id: NodeId;
  readonly name: string;
  /** Path relative to the project root, forward slashes. */
  readonly path: string;
  /** Absolute path. */
  readonly absPath: string;
  readonly rawSql: string;
  /** Config from folder defaults + YAML (before `config()` in the SQL). */
  readonly config: ModelConfig;
  readonly description?: string;
  readonly columns: readonly ColumnDoc[];
  readonly tests: readonly TestDecl[];
  /** YAML file that documents this model, if any. */
  readonly patchPath?: string;
  /** The `schema` its folder or YAML config sets, as written (config.schema is the schema it builds into). */
  readonly customSchema?: string;
  /** The installed dbt package it comes from (dbt's package_name); absent for the root project's. */
  readonly package?: string;
  /** dbt's model versions: the node is one version of a model (its own file and relation). */
  readonly version?: ModelVersion;
  /** dbt's `deprecation_date` (ISO text): a warning once it has passed, and for every model reading it. */
  readonly deprecationDate?: string;
}

/**
 * One version of a versioned dbt model (YAML `versions:`). The node's own name is `<model>_v<v>`
 * (its id, relation and test names use it, as dbt's relation and test names do); ref('<model>')
 * reads the latest version, ref('<model>', v=<v>) this one.
 */
export interface ModelVersion {
  /** The model's name as dbt knows it (`dim_customers` of the node `dim_customers_v2`). */
  readonly model: string;
  /** `v` as written in the YAML, as text (`2`, `1.5`). */
  readonly v: string;
  /** The model's latest version: `latest_version`, else the highest `v`. */
  readonly latest: string;
}

/** The node name of a model's version: dbt's default relation name, `<model>_v<v>` (a `.` in v as `_`). */
export function versionNodeName(model: string, v: string): string {
  return `${model}_v${v.replace(/\./g, '_')}`;
}

/**
 * How a template's `ref('m', v=2)` is recorded among a render's refs: `m@v2` (`@` is in no model
 * name, so the key cannot be mistaken for a model or for `schema.name`).
 */
export function versionedRefKey(name: string, v: string): string {
  return `${name}@v${v}`;
}

/** The model and version of a ref key (`m@v2`), or the name alone. */
export function splitRefKey(key: string): { name: string; v?: string } {
  const at = key.lastIndexOf('@v');
  return at < 0 ? { name: key } : { name: key.slice(0, at), v: key.slice(at + 2) };
}

/**
 * The ref names that read a model: its name; for a version, `<model>@v<v>` and, for the latest
 * version, the model's name (dbt has no ref to `<model>_v<v>`).
 */
export function refKeysOf(node: Pick<ModelNode, 'name' | 'version'>): string[] {
  const v = node.version;
  if (!v) return [node.name];
  return v.v === v.latest ? [versionedRefKey(v.model, v.v), v.model] : [versionedRefKey(v.model, v.v)];
}

/** dbt's unique_id of a source table: `source.<project or package>.<source>.<table>`. */
export function sourceUniqueId(project: string, s: Pick<SourceNode, 'package' | 'sourceName' | 'name'>): string {
  return `source.${s.package ?? project}.${s.sourceName}.${s.name}`;
}

/** dbt's unique_id of a model: `model.<project>.<name>`; a version's `model.<project>.<model>.v<v>`. */
export function modelUniqueId(project: string, node: Pick<ModelNode, 'name' | 'version' | 'resourceType'>): string {
  const type = node.resourceType ?? 'model';
  return node.version ? `${type}.${project}.${node.version.model}.v${node.version.v}` : `${type}.${project}.${node.name}`;
}

/**
 * What dbt's manifest and `model` context say of a version: the model's name, `version` and
 * `latest_version` (numbers where the YAML wrote numbers), nothing for an unversioned model.
 */
export function versionFields(node: Pick<ModelNode, 'version'>): { name?: string; version?: string | number; latest_version?: string | number } {
  const v = node.version;
  if (!v) return {};
  const value = (x: string) => (/^\d+(\.\d+)?$/.test(x) ? Number(x) : x);
  return { name: v.model, version: value(v.v), latest_version: value(v.latest) };
}

/** A ref as the user wrote it: `ref('m')`, `ref('m', v=2)`. */
export function refText(key: string): string {
  const { name, v } = splitRefKey(key);
  return v === undefined ? `ref('${name}')` : `ref('${name}', v=${/^\d+(\.\d+)?$/.test(v) ? v : `'${v}'`})`;
}

/** dbt's order of versions: numerically when both are numbers, else as text. */
export function compareVersions(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface SeedNode {
  readonly kind: 'seed';
  readonly id: NodeId;
  readonly name: string;
  readonly schema: string;
  readonly path: string;
  readonly absPath: string;
  readonly columnTypes: Readonly<Record<string, string>>;
  readonly description?: string;
  readonly columns: readonly ColumnDoc[];
  readonly tests: readonly TestDecl[];
  readonly tags: readonly string[];
  /** The table's name when it is not the file's (dbt's `alias` config, or a project's generate_alias_name). */
  readonly alias?: string;
  /** dbt's event_time config: a microbatch model's batches read the seed filtered by it. */
  readonly eventTime?: string;
  /**
   * How undeclared column types are found: DuckDB's CSV sniffer (lake's projects), or dbt's agate
   * rules (`dbt`, a dbt project: the types dbt-duckdb would create, so its models' SQL still fits).
   */
  readonly typing?: 'dbt';
  /** dbt's pre-hook / post-hook of a seed (folder configs' first, then its YAML's), as config.ts keeps hooks. */
  readonly preHook?: readonly string[];
  readonly postHook?: readonly string[];
  readonly checksum: string;
  /** The installed dbt package it comes from; absent for the root project's. */
  readonly package?: string;
}

export type LandingFormat = 'json' | 'jsonl' | 'csv' | 'parquet' | 'kafka';
export type SchemaEvolution = 'add_new_columns' | 'rescue' | 'fail' | 'none';
export type BadRecords = 'quarantine' | 'drop' | 'fail';

/** A landing-zone folder that a source table reads files from. */
export interface LandingSpec {
  /** Absolute folder. */
  readonly dir: string;
  /** Folder as written, relative to the project root. */
  readonly relDir: string;
  readonly format: LandingFormat;
  /** Glob under `dir`. */
  readonly files: string;
  /** Declared column types (optional: inferred otherwise). */
  readonly columns?: Readonly<Record<string, string>>;
  readonly schemaEvolution: SchemaEvolution;
  readonly badRecords: BadRecords;
  readonly maxFilesPerTrigger: number;
  readonly minFileAgeMs: number;
  /** min_file_age was written in the YAML (else a continuous run holds files back 1 s: see LIVE_MIN_FILE_AGE_MS). */
  readonly minFileAgeSet?: boolean;
  readonly allowOverwrites: boolean;
  /**
   * Columns nobody declared (a first read without `columns:`, new fields under add_new_columns)
   * typed from their values (true) or VARCHAR (false, the default: as Auto Loader, so the same
   * files give the same table in one run or in many micro-batches). Parquet keeps its own types.
   */
  readonly inferTypes?: boolean;
  /**
   * Hive-style folders (`date=2024-01-01/`) below the glob's written-out folders whose values
   * become VARCHAR columns (or the declared type): these names, or — undefined — every `key=` the
   * batch's paths have (Auto Loader's cloudFiles.partitionColumns; `[]` reads none).
   */
  readonly partitionColumns?: readonly string[];
  /** Extra reader options (csv delimiter, header, ...). */
  readonly options: Readonly<Record<string, unknown>>;
}

/** SQL naming a source's table: `"schema"."table"`, or `"database"."schema"."table"` for one in an attached database. */
export function sourceRelationSql(s: { readonly schema: string; readonly identifier: string; readonly database?: string; readonly externalLocation?: string }): string {
  // dbt-duckdb's external_location: the files, read by DuckDB's replacement scan (csv, parquet, json by their extension).
  if (s.externalLocation) return `'${s.externalLocation.replace(/'/g, "''")}'`;
  const rel = relationSql({ schema: s.schema, name: s.identifier });
  return s.database ? `${quoteIdent(s.database)}.${rel}` : rel;
}

export interface SourceNode {
  readonly kind: 'source';
  /** `source:<source>.<table>` */
  readonly id: NodeId;
  readonly sourceName: string;
  readonly name: string;
  /** For sources over existing tables: where the table lives. */
  readonly schema: string;
  readonly identifier: string;
  /** The attached database it is in (`database:`, as dbt-duckdb reads an attached file), if not the target's. */
  readonly database?: string;
  /** `quoting: {column: true}` on the table or the source: its columns are quoted in its tests (dbt). */
  readonly quoteColumns?: boolean;
  /** dbt-duckdb's `meta: {external_location}` (or config): files it reads in place of a table, `{name}` filled in. */
  readonly externalLocation?: string;
  readonly landing?: LandingSpec;
  readonly description?: string;
  readonly columns: readonly ColumnDoc[];
  readonly tests: readonly TestDecl[];
  readonly loadedAtField?: string;
  /** dbt's `config: {event_time}` (on the table or its source): a microbatch model's batches filter it by this column. */
  readonly eventTime?: string;
  /**
   * dbt's `freshness:` (warn_after / error_after), for `lake source freshness`; `null`: the YAML
   * turned it off (`freshness: null`), so the project file's `+freshness` does not apply either.
   */
  readonly freshness?: FreshnessConfig | null;
  readonly tags: readonly string[];
  /** YAML file that declares it. */
  readonly path: string;
  readonly line?: number;
  /** The installed dbt package that declares it; absent for the root project's. */
  readonly package?: string;
}

/** `{count: 12, period: hour}`. */
export interface FreshnessRule {
  readonly count: number;
  readonly period: 'minute' | 'hour' | 'day';
}

export interface FreshnessConfig {
  readonly warnAfter?: FreshnessRule;
  readonly errorAfter?: FreshnessRule;
  /** SQL condition on the rows `max(loaded_at_field)` is taken over. */
  readonly filter?: string;
}

export interface MacroDef {
  readonly name: string;
  readonly path: string;
  readonly line: number;
}

export interface TargetConfig {
  readonly name: string;
  readonly type: 'duckdb';
  /** Absolute path to the database file, or ':memory:'. */
  readonly path: string;
  readonly threads: number;
  /** dbt-duckdb's external_root: where an external model without a location writes (`.` by default). */
  readonly externalRoot?: string;
}

/** Everything read from disk, before any template is rendered. */
export interface LoadedProject {
  readonly root: string;
  readonly name: string;
  /** 'lake' for project.yml, 'dbt' for dbt_project.yml. */
  readonly flavor: 'lake' | 'dbt';
  /** dbt's `clean-targets` (what `lake clean` removes; absent: the target folder). */
  readonly cleanTargets?: readonly string[];
  readonly target: TargetConfig;
  readonly targets: Readonly<Record<string, TargetConfig>>;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly paths: ProjectPaths;
  readonly models: ReadonlyMap<NodeId, ModelNode>;
  readonly seeds: ReadonlyMap<NodeId, SeedNode>;
  readonly sources: ReadonlyMap<NodeId, SourceNode>;
  /** Macro files: path (relative) -> source text. */
  readonly macroFiles: ReadonlyMap<string, string>;
  /** Installed dbt packages whose macros are read (namespaced by the package's name). */
  readonly packages?: readonly PackageMacros[];
  /** `dispatch:` of the project file: packages searched, in order, for a namespace's dispatched macros. */
  readonly dispatch?: readonly { readonly namespace: string; readonly searchOrder: readonly string[] }[];
  /** Singular data tests: path (relative) -> SQL. */
  readonly singularTests: ReadonlyMap<string, string>;
  /** dbt's properties of singular tests (YAML's top-level `data_tests:`), by test name: its config under the SQL's own. */
  readonly singularTestProps?: ReadonlyMap<string, { readonly config: Readonly<Record<string, unknown>>; readonly description?: string }>;
  /** Models a folder or YAML config disables (`enabled: false`): name → file, for a ref's error. */
  readonly disabledModels?: ReadonlyMap<string, string>;
  /** `unit_tests:` entries from YAML, as parsed (validated by dq). */
  readonly unitTests: readonly Readonly<Record<string, unknown>>[];
  /** dbt's docs blocks (`{% docs name %}...{% enddocs %}` in .md files): name → text. */
  readonly docBlocks?: ReadonlyMap<string, string>;
  /** Prefix of a custom `schema` config: '' (lake) or '<target schema>_' (dbt). */
  readonly customSchemaPrefix: string;
  /** A dbt project's generate_schema_name macro for a `schema` config (instead of the prefix). */
  readonly customSchema?: (schema: string, node?: Readonly<Record<string, unknown>>) => string;
  readonly onRunStart: readonly string[];
  readonly onRunEnd: readonly string[];
  /** Defaults for every data test (`data_tests:` / `tests:` in the project file: +severity, +store_failures...). */
  readonly testDefaults?: Readonly<Record<string, unknown>>;
  /** Per YAML or singular test file: the defaults with the levels of its folders (`data_tests: {staging: {+severity: warn}}`). */
  readonly testDefaultsByFile?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Diagnostics found while loading (the load goes on where it can). */
  readonly diagnostics: readonly import('../errors/index.js').Diagnostic[];
}

/**
 * An installed dbt package (dbt_packages/<name>, or a `local:` one), as read by the project load:
 * its macros, and what its nodes and hooks render with. Its models, seeds and sources are nodes of
 * the project (with `package` set).
 */
export interface PackageMacros {
  /** The package's name (its dbt_project.yml `name`): the namespace of its macros. */
  readonly name: string;
  /** Its folder, relative to the project root. */
  readonly dir: string;
  /** Macro files: path relative to the project root -> text. */
  readonly macroFiles: ReadonlyMap<string, string>;
  /** What var() gives in its nodes and hooks: its own vars under the root project's (global, then scoped to it) and --vars. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** Its dbt_project.yml's on-run-start / on-run-end (run after the root project's, as dbt). */
  readonly onRunStart?: readonly string[];
  readonly onRunEnd?: readonly string[];
}

/** One on-run-start / on-run-end hook: its SQL, and the installed package whose dbt_project.yml has it (absent: the root project's). */
export interface ProjectHook {
  readonly sql: string;
  readonly package?: PackageMacros;
}

/**
 * The project's on-run-start (or on-run-end) hooks in dbt's order: the root project's, then each
 * installed package's, packages by name (dbt 1.9 sorts hooks by package, the root project first).
 */
export function runHooks(project: Pick<LoadedProject, 'onRunStart' | 'onRunEnd' | 'packages'>, when: 'start' | 'end'): ProjectHook[] {
  const own = (when === 'start' ? project.onRunStart : project.onRunEnd).map((sql) => ({ sql }));
  const pkgs = [...(project.packages ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...own, ...pkgs.flatMap((p) => ((when === 'start' ? p.onRunStart : p.onRunEnd) ?? []).map((sql) => ({ sql, package: p })))];
}

/**
 * A node's file from its own project's folder: a root project's path as it is, a package's
 * without the package's folder (`dbt_packages/p/models/x.sql` → `models/x.sql`), as dbt's
 * original_file_path is.
 */
export function pathInProject(project: Pick<LoadedProject, 'packages'>, node: { readonly path: string; readonly package?: string }): string {
  const dir = node.package ? project.packages?.find((p) => p.name === node.package)?.dir : undefined;
  return dir && node.path.startsWith(`${dir}/`) ? node.path.slice(dir.length + 1) : node.path;
}

/**
 * Which of the nodes a `ref(name)` matches is meant, as dbt resolves it: the root project's first,
 * then one of the referring node's own package (`from`), then the only one left. Undefined when
 * several are left (dbt takes an arbitrary one; lake asks for `ref('package', 'name')`).
 */
export function preferredRef<T extends { readonly package?: string }>(candidates: readonly T[], from?: string): T | undefined {
  if (candidates.length <= 1) return candidates[0];
  const root = candidates.filter((c) => c.package === undefined);
  if (root.length === 1) return root[0];
  if (root.length > 1) return undefined;
  const own = from === undefined ? [] : candidates.filter((c) => c.package === from);
  return own.length === 1 ? own[0] : undefined;
}

export interface ProjectPaths {
  readonly models: readonly string[];
  readonly seeds: readonly string[];
  readonly macros: readonly string[];
  readonly tests: readonly string[];
  /** dbt's snapshot-paths (files of `{% snapshot %}` blocks and YAML `snapshots:`); ['snapshots'] when absent. */
  readonly snapshots?: readonly string[];
  readonly target: string;
}

/** A model after rendering. */
export interface CompiledNode {
  readonly id: NodeId;
  readonly node: ModelNode;
  /** Final config (folder defaults + YAML + `config()` calls). */
  readonly config: ModelConfig;
  readonly relation: Relation;
  /** The rendered SELECT (ephemeral refs already inlined as CTEs). */
  readonly sql: string;
  readonly dependsOn: {
    readonly nodes: readonly NodeId[];
    readonly sources: readonly NodeId[];
    readonly macros: readonly string[];
  };
  /** Sources read through landing zones (`source()` of a source with `landing:`). */
  readonly landingReads: readonly NodeId[];
  /** Nodes read with `stream(ref(...))`. */
  readonly streamReads: readonly NodeId[];
  /** sha256 of raw SQL + config. */
  readonly checksum: string;
  /** Whether the render used `is_incremental()` = true. */
  readonly renderedIncremental: boolean;
  /**
   * The model queries the database while rendering (run_query, statement, get_columns_in_relation):
   * `sql` is its render without a database (dbt's parse phase); a run renders it again, live.
   */
  readonly introspective?: boolean;
  /**
   * Its render fails only where `execute` is true (`{% if execute %}{{ exceptions.raise_compiler_error(...) }}`):
   * dbt parses it (execute false) and fails the node when it compiles it. `sql` is the parse's render;
   * the model is `introspective` too, so a run renders it again and fails it (its children are skipped).
   */
  readonly executeError?: import('../errors/index.js').Diagnostic;
  /** What its render's log(..., info=True) and print() said (printed when it builds). */
  readonly logs?: readonly string[];
}

export interface CompiledProject {
  readonly project: LoadedProject;
  readonly nodes: ReadonlyMap<NodeId, CompiledNode>;
  readonly diagnostics: readonly import('../errors/index.js').Diagnostic[];
}

/** Temp-view names the executor defines before running a model. */
export const landingViewName = (sourceName: string, table: string): string => `__lake_source__${sourceName}__${table}`;
export const streamViewName = (rel: Relation): string => `__lake_stream__${rel.schema}__${rel.name}`;

/** `"schema"."name"` */
export function quoteIdent(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}
export function relationSql(rel: Relation): string {
  return `${quoteIdent(rel.schema)}.${quoteIdent(rel.name)}`;
}
/** The table a seed loads into: its schema, and its alias or file name. */
export function seedRelation(seed: Pick<SeedNode, 'schema' | 'name' | 'alias'>): Relation {
  return { schema: seed.schema, name: seed.alias ?? seed.name };
}
export function relationId(rel: Relation): string {
  return `${rel.schema}.${rel.name}`;
}
