/**
 * The entries of the YAML files beside models and seeds: `models:`, `sources:`, `seeds:` and
 * `unit_tests:` — parsed into plain declarations with file and line, validated shallowly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from '../errors/index.js';
import { closest } from '../errors/index.js';
import type { ColumnConstraint, ColumnDoc, ModelVersion, FreshnessConfig, FreshnessRule, LandingSpec, SourceNode, TestDecl, LandingFormat, SchemaEvolution, BadRecords } from '../core/types.js';
import type { YamlFile } from './yaml-file.js';
import { isRecord, asList } from './yaml-file.js';
import { CONFIG_KEYS, normaliseConfig, normaliseKey } from './config.js';
import { compareVersions } from '../core/types.js';
import { parseDuration } from './files.js';

export interface ModelPatch {
  readonly name: string;
  readonly file: string;
  readonly line?: number;
  readonly description?: string;
  readonly config: Record<string, unknown>;
  readonly columns: ColumnDoc[];
  readonly tests: TestDecl[];
  /** A YAML-defined snapshot's `relation:` (dbt 1.9: `source('s', 't')` or `ref('m')`): the rows it snapshots. */
  readonly relation?: string;
  /** dbt's `versions:` of a model (project/versions.ts makes one patch per version of them). */
  readonly versions?: readonly VersionDecl[];
  /** With `versions`: `latest_version`, else the highest v. */
  readonly latestVersion?: string;
  /** dbt's `deprecation_date` (ISO text) of an unversioned model, or of one version. */
  readonly deprecationDate?: string;
  /** A version's patch: which version of which model the file it documents is. */
  readonly version?: ModelVersion;
}

/** One entry of a model's `versions:` list, as written. */
export interface VersionDecl {
  readonly v: string;
  readonly line?: number;
  /** `defined_in:`: the stem of the version's model file (else `<model>_v<v>`). */
  readonly definedIn?: string;
  readonly description?: string;
  readonly config: Record<string, unknown>;
  /** `- include: all|*|[names]` of the columns: which of the model's columns this version has (all by default). */
  readonly include: '*' | readonly string[];
  readonly exclude: readonly string[];
  /** The version's own columns (added to, or replacing, the model's). */
  readonly columns: ColumnDoc[];
  /** The version's own `data_tests:` (in place of the model's), if it has them. */
  readonly tests?: TestDecl[];
  readonly deprecationDate?: string;
  readonly constraints?: readonly ColumnConstraint[];
}

/** A version's `- include: all, exclude: [a]` entry among its columns. */
const isIncludeExclude = (c: unknown): c is Record<string, unknown> => isRecord(c) && (c.include !== undefined || c.exclude !== undefined) && c.name === undefined;

/** A YAML date (`2024-06-30`, a timestamp, or what the YAML reader made of it) as ISO text. */
function dateText(v: unknown): string | undefined {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string' && v.trim() && !Number.isNaN(Date.parse(v.trim()))) return v.trim();
  return undefined;
}

/**
 * dbt's `versions:` and `latest_version:` of a model entry. Problems (a version without `v`, the
 * same `v` twice, a `latest_version` that is not one of them, two include/exclude entries) are
 * errors, as dbt's parse errors.
 */
function parseVersionList(m: Record<string, unknown>, file: YamlFile, at: (string | number)[], diags: Diagnostic[]): { versions?: VersionDecl[]; latest?: string } {
  if (m.versions === undefined || m.versions === null) {
    if (m.latest_version !== undefined && m.latest_version !== null) {
      diags.push({ code: 'LAKE-P070', severity: 'error', message: `model '${String(m.name)}' has a latest_version but no versions`, file: file.path, line: file.lineOf([...at, 'latest_version']), hint: 'list them: versions: [{v: 1}, {v: 2}] (or remove latest_version)' });
    }
    return {};
  }
  const bad = (message: string, line: number | undefined, hint: string) => diags.push({ code: 'LAKE-P070', severity: 'error', message: `model '${String(m.name)}': ${message}`, file: file.path, line, hint });
  if (!Array.isArray(m.versions)) {
    bad('`versions:` must be a list', file.lineOf([...at, 'versions']), 'write versions: followed by `- v: 1` entries');
    return {};
  }
  const versions: VersionDecl[] = [];
  const seen = new Map<string, number | undefined>();
  m.versions.forEach((raw, j) => {
    const vat = [...at, 'versions', j];
    const line = file.lineOf(vat);
    if (!isRecord(raw) || raw.v === undefined || raw.v === null || String(raw.v).trim() === '') {
      bad('a version needs its number', line, 'write `- v: 2`');
      return;
    }
    const v = String(raw.v).trim();
    if (seen.has(v)) {
      bad(`version ${v} is listed twice (also at line ${seen.get(v) ?? '?'})`, line, 'give every version its own v');
      return;
    }
    seen.set(v, line);
    let include: '*' | readonly string[] = '*';
    let exclude: readonly string[] = [];
    let ie = 0;
    if (raw.columns !== undefined && !Array.isArray(raw.columns)) bad(`version ${v}: columns must be a list`, file.lineOf([...vat, 'columns']), 'write `- include: all` / `- name: x` entries');
    (Array.isArray(raw.columns) ? raw.columns : []).forEach((c, k) => {
      if (isIncludeExclude(c)) {
        if (++ie > 1) bad(`version ${v} has more than one include/exclude entry`, file.lineOf([...vat, 'columns', k]), 'merge them into one `- include: ... exclude: [...]`');
        const inc = c.include === undefined || c.include === null ? '*' : c.include;
        include = inc === '*' || inc === 'all' ? '*' : asList(inc);
        exclude = asList(c.exclude);
      }
    });
    // The version's own columns, parsed as the model's (the include/exclude entry left out).
    const parsed = parseColumns(raw.columns, file, [...vat, 'columns'], diags, isIncludeExclude);
    const testsKey = raw.data_tests !== undefined ? 'data_tests' : raw.tests !== undefined ? 'tests' : undefined;
    versions.push({
      v, line,
      ...(typeof raw.defined_in === 'string' && raw.defined_in.trim() ? { definedIn: raw.defined_in.trim() } : {}),
      ...(typeof raw.description === 'string' && raw.description ? { description: raw.description } : {}),
      config: isRecord(raw.config) ? normaliseConfig({ ...raw.config }) as Record<string, unknown> : {},
      include, exclude, columns: parsed.docs,
      ...(testsKey ? { tests: parseTests(raw[testsKey], file, [...vat, testsKey], diags) } : {}),
      ...(dateText(raw.deprecation_date) ? { deprecationDate: dateText(raw.deprecation_date) } : {}),
      ...(Array.isArray(raw.constraints) && raw.constraints.length ? { constraints: constraintsOf(raw.constraints) } : {}),
    });
  });
  if (versions.length === 0) return {};
  let latest: string | undefined;
  if (m.latest_version !== undefined && m.latest_version !== null) {
    latest = String(m.latest_version).trim();
    if (!seen.has(latest)) {
      bad(`latest_version ${latest} is not one of its versions (${[...seen.keys()].join(', ')})`, file.lineOf([...at, 'latest_version']), 'set latest_version to one of the listed v, or add that version');
      latest = undefined;
    }
  }
  return { versions, latest: latest ?? versions.map((x) => x.v).reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b)) };
}

/** What dbt reads as a test's config when written beside its arguments (never passed to the test's macro). */
const TEST_CONFIG_KEYS = new Set(['severity', 'where', 'warn_if', 'error_if', 'limit', 'store_failures', 'store_failures_as', 'fail_calc', 'tags', 'name', 'enabled', 'meta', 'alias', 'database', 'schema', 'description']);

/** `- unique`, `- accepted_values: {values: [...]}`, `- {name: x, test_name: y, ...}` → TestDecl. */
export function parseTests(raw: unknown, file: YamlFile, keyPath: (string | number)[], diags: Diagnostic[]): TestDecl[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    diags.push({ code: 'LAKE-P010', severity: 'error', message: 'tests must be a list', file: file.path, line: file.lineOf(keyPath), hint: 'write `data_tests:` followed by `- unique` lines' });
    return [];
  }
  const out: TestDecl[] = [];
  raw.forEach((t, i) => {
    const line = file.lineOf([...keyPath, i]);
    if (typeof t === 'string') {
      out.push({ ...testName(t), args: {}, config: {}, file: file.path, line });
      return;
    }
    if (!isRecord(t) || Object.keys(t).length === 0) {
      diags.push({ code: 'LAKE-P011', severity: 'error', message: 'a test must be a name or a mapping', file: file.path, line, hint: 'e.g. `- unique` or `- accepted_values: {values: [a, b]}`' });
      return;
    }
    let name: string;
    let body: Record<string, unknown>;
    if (typeof t.test_name === 'string') {
      name = t.test_name;
      body = { ...t };
      delete body.test_name;
    } else {
      const keys = Object.keys(t);
      name = keys[0]!;
      body = isRecord(t[name]) ? { ...(t[name] as Record<string, unknown>) } : {};
    }
    const config: Record<string, unknown> = isRecord(body.config) ? { ...(body.config as Record<string, unknown>) } : {};
    delete body.config;
    const args: Record<string, unknown> = isRecord(body.arguments) ? { ...(body.arguments as Record<string, unknown>) } : {};
    delete body.arguments;
    for (const [k, v] of Object.entries(body)) {
      if (TEST_CONFIG_KEYS.has(k)) config[k] = v;
      else args[k] = v;
    }
    out.push({ ...testName(name), args, config, file: file.path, line });
  });
  return out;
}

/** `dbt_utils.accepted_range` → the test `accepted_range` of package `dbt_utils` (which dbt puts in the test's name). */
function testName(written: string): { name: string; namespace?: string } {
  const dot = written.lastIndexOf('.');
  return dot < 0 ? { name: written } : { name: written.slice(dot + 1), namespace: written.slice(0, dot) };
}

/** Keys a column declaration may have (dbt's, plus `type` for `data_type`). */
const COLUMN_KEYS = new Set(['name', 'description', 'data_type', 'type', 'data_tests', 'tests', 'meta', 'quote', 'constraints', 'tags', 'config', 'policy_tags', 'granularity', 'docs']);

/**
 * Warn about a key a column declaration does not know. The usual cause is a comma in an unquoted
 * description inside `{ }`: YAML splits `{ description: When it ran, epoch seconds. }` into a
 * description "When it ran" and a key "epoch seconds." — the rest of the text would be lost silently.
 */
function unknownColumnKeys(c: Record<string, unknown>, column: string, file: YamlFile, keyPath: (string | number)[], diags: Diagnostic[]): void {
  for (const [k, v] of Object.entries(c)) {
    if (COLUMN_KEYS.has(k)) continue;
    const split = v === null && typeof c.description === 'string';
    diags.push({
      code: 'LAKE-P024', severity: 'warn',
      message: `column '${column}' has an unknown key '${k}'${split ? ' (the end of a description cut at a comma?)' : ''}`,
      file: file.path, line: file.lineOf([...keyPath, k]) ?? file.lineOf(keyPath),
      hint: split ? 'quote a description that has a comma: description: "text, more text"' : `use one of: ${[...COLUMN_KEYS].join(', ')}`,
    });
  }
}

/**
 * Which key holds an entry's tests: `data_tests` (dbt 1.8's) or `tests`. Both is an error, as in
 * dbt (one list would be lost).
 */
function testsKeyOf(entry: Record<string, unknown>, file: YamlFile, keyPath: (string | number)[], diags: Diagnostic[]): 'data_tests' | 'tests' {
  if (entry.data_tests !== undefined && entry.tests !== undefined) {
    diags.push({ code: 'LAKE-P019', severity: 'error', message: 'both `tests:` and `data_tests:` are given here: dbt reads one of them', file: file.path, line: file.lineOf([...keyPath, 'tests']) ?? file.lineOf(keyPath), hint: 'move the tests into one `data_tests:` list' });
  }
  return entry.data_tests !== undefined ? 'data_tests' : 'tests';
}

/** tags: and config: {tags:} of an entry, together. */
function tagsOf(entry: Record<string, unknown>): string[] {
  const own = asList(entry.tags);
  const cfg = isRecord(entry.config) ? asList(entry.config.tags) : [];
  return [...new Set([...own, ...cfg])];
}

/** `columns:` as a list of docs, or (sources) a map name → type. */
export function parseColumns(raw: unknown, file: YamlFile, keyPath: (string | number)[], diags: Diagnostic[], skip?: (c: unknown) => boolean): { docs: ColumnDoc[]; types?: Record<string, string> } {
  if (raw === undefined || raw === null) return { docs: [] };
  if (isRecord(raw)) {
    const types: Record<string, string> = {};
    const docs: ColumnDoc[] = [];
    for (const [name, v] of Object.entries(raw)) {
      if (typeof v === 'string') {
        types[name] = v;
        docs.push({ name, dataType: v, tests: [] });
      } else if (isRecord(v)) {
        unknownColumnKeys(v, name, file, [...keyPath, name], diags);
        const t = v.data_type ?? v.type;
        if (typeof t === 'string') types[name] = t;
        const testsKey = testsKeyOf(v, file, [...keyPath, name], diags);
        const tags = tagsOf(v);
        docs.push({
          name, description: v.description as string | undefined, dataType: t as string | undefined, tests: parseTests(v[testsKey], file, [...keyPath, name, testsKey], diags),
          ...(tags.length ? { tags } : {}), ...(v.quote === true ? { quote: true } : {}),
        });
      }
    }
    return { docs, types: Object.keys(types).length ? types : undefined };
  }
  if (!Array.isArray(raw)) {
    diags.push({ code: 'LAKE-P012', severity: 'error', message: 'columns must be a list (or a map of name: type)', file: file.path, line: file.lineOf(keyPath), hint: 'write `- name: user_id` entries' });
    return { docs: [] };
  }
  const docs: ColumnDoc[] = [];
  const types: Record<string, string> = {};
  raw.forEach((c, i) => {
    if (skip?.(c)) return;
    if (!isRecord(c) || typeof c.name !== 'string') {
      diags.push({ code: 'LAKE-P013', severity: 'error', message: 'a column needs a name', file: file.path, line: file.lineOf([...keyPath, i]), hint: 'write `- name: column_name`' });
      return;
    }
    unknownColumnKeys(c, c.name, file, [...keyPath, i], diags);
    const dt = (c.data_type ?? c.type) as string | undefined;
    if (dt) types[c.name] = dt;
    const testsKey = testsKeyOf(c, file, [...keyPath, i], diags);
    const tags = tagsOf(c);
    docs.push({
      name: c.name,
      description: typeof c.description === 'string' ? c.description : undefined,
      dataType: dt,
      tests: parseTests(c[testsKey], file, [...keyPath, i, testsKey], diags),
      meta: isRecord(c.meta) ? c.meta : undefined,
      ...(tags.length ? { tags } : {}), ...(c.quote === true ? { quote: true } : {}),
      ...(Array.isArray(c.constraints) && c.constraints.length ? { constraints: constraintsOf(c.constraints) } : {}),
    });
  });
  return { docs, types: Object.keys(types).length ? types : undefined };
}

/** dbt's `constraints:` entries (`- type: not_null`, `- {type: check, expression: "x > 0"}`). */
function constraintsOf(raw: readonly unknown[]): ColumnConstraint[] {
  return raw.filter(isRecord).filter((k) => typeof k.type === 'string').map((k) => ({
    type: String(k.type),
    ...(typeof k.expression === 'string' ? { expression: k.expression } : {}),
    ...(Array.isArray(k.columns) ? { columns: k.columns.map(String) } : {}),
    ...(typeof k.name === 'string' ? { name: k.name } : {}),
  }));
}

export function parseModelPatches(file: YamlFile, key: 'models' | 'seeds' | 'snapshots', diags: Diagnostic[]): ModelPatch[] {
  const data = file.data as Record<string, unknown>;
  const list = data[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    diags.push({ code: 'LAKE-P014', severity: 'error', message: `\`${key}:\` must be a list`, file: file.path, line: file.lineOf([key]), hint: `write \`${key}:\` followed by \`- name: ...\` entries` });
    return [];
  }
  const out: ModelPatch[] = [];
  list.forEach((m, i) => {
    const line = file.lineOf([key, i]);
    if (!isRecord(m) || typeof m.name !== 'string') {
      diags.push({ code: 'LAKE-P015', severity: 'error', message: `each entry under \`${key}:\` needs a name`, file: file.path, line, hint: 'write `- name: model_name`' });
      return;
    }
    const testsKey = testsKeyOf(m, file, [key, i], diags);
    const cols = parseColumns(m.columns, file, [key, i, 'columns'], diags);
    const config = isRecord(m.config) ? { ...(m.config as Record<string, unknown>) } : {};
    // A key that is nearly a known one is a typo (materialised, uniqe_key): it would be ignored.
    for (const k of Object.keys(config)) {
      const nk = normaliseKey(k);
      if (CONFIG_KEYS.has(nk)) continue;
      const near = closest(nk, CONFIG_KEYS, 1);
      if (near.length) diags.push({ code: 'LAKE-C013', severity: 'warn', message: `${m.name}: unknown config key '${k}'`, file: file.path, line: file.lineOf([key, i, 'config', k]) ?? line, hint: `did you mean ${near[0]}?` });
    }
    if (key === 'seeds' && cols.types && !config.column_types) config.column_types = cols.types;
    // dbt reads a model's top-level `tags:` (kept for backwards compatibility), `meta:` and `docs:` as its config's.
    if (m.tags !== undefined) config.tags = [...new Set([...asList(m.tags), ...asList(config.tags)])];
    if (isRecord(m.meta)) config.meta = { ...m.meta, ...(isRecord(config.meta) ? config.meta : {}) };
    if (isRecord(m.docs) && config.docs === undefined) config.docs = m.docs;
    // dbt's model-level constraints (a primary key over two columns, a check): kept with its config.
    if (Array.isArray(m.constraints) && m.constraints.length) config.constraints = constraintsOf(m.constraints);
    const versioned = key === 'models' ? parseVersionList(m, file, [key, i], diags) : {};
    out.push({
      name: m.name, file: file.path, line,
      description: typeof m.description === 'string' ? m.description : undefined,
      config: normaliseConfig(config) as Record<string, unknown>,
      columns: cols.docs,
      tests: parseTests(m[testsKey], file, [key, i, testsKey], diags),
      ...(key === 'snapshots' && typeof m.relation === 'string' ? { relation: m.relation } : {}),
      ...(versioned.versions ? { versions: versioned.versions, latestVersion: versioned.latest! } : {}),
      ...(key === 'models' && dateText(m.deprecation_date) ? { deprecationDate: dateText(m.deprecation_date) } : {}),
    });
  });
  return out;
}

const FORMATS = new Set<LandingFormat>(['json', 'jsonl', 'csv', 'parquet', 'kafka']);
const EVOLUTION = new Set<SchemaEvolution>(['add_new_columns', 'rescue', 'fail', 'none']);
const BAD = new Set<BadRecords>(['quarantine', 'drop', 'fail']);

/** Landing options, on a source, a table or in a table's `landing:` mapping (docs/landing-sources.md). */
const LANDING_OPTIONS = ['format', 'files', 'schema_evolution', 'bad_records', 'max_files_per_trigger', 'min_file_age', 'allow_overwrites', 'infer_types', 'partition_columns', 'delimiter', 'header', 'quote', 'escape', 'timestamp_format', 'date_format', 'null_padding'];
/** dbt's source and source-table properties, and lake's landing options. */
const SOURCE_KEYS = new Set(['name', 'description', 'database', 'schema', 'loader', 'loaded_at_field', 'meta', 'tags', 'config', 'overrides', 'freshness', 'quoting', 'tables', 'docs', 'landing', ...LANDING_OPTIONS]);
const TABLE_KEYS = new Set(['name', 'description', 'identifier', 'loaded_at_field', 'meta', 'tags', 'config', 'columns', 'tests', 'data_tests', 'freshness', 'quoting', 'external', 'docs', 'loader', 'landing', ...LANDING_OPTIONS]);
const LANDING_MAPPING_KEYS = new Set(['path', 'dir', ...LANDING_OPTIONS]);

/**
 * Keys of a source, table or landing mapping that lake does not know: a near miss of a known one
 * (`shema_evolution`, Auto Loader's `maxFilesPerTrigger`) is an error, since the option the user
 * meant would silently not apply; anything else a warning.
 */
function checkKeys(entry: Record<string, unknown>, known: ReadonlySet<string>, what: string, file: YamlFile, at: (string | number)[], diags: Diagnostic[]): void {
  for (const k of Object.keys(entry)) {
    if (known.has(k)) continue;
    const snake = k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    const near = known.has(snake) ? [snake] : closest(k, known);
    const line = file.lineOf([...at, k]) ?? file.lineOf(at);
    if (near.length) diags.push({ code: 'LAKE-P019', severity: 'error', message: `${what}: unknown key '${k}'`, file: file.path, line, hint: `did you mean ${near.join(' or ')}?` });
    else diags.push({ code: 'LAKE-P026', severity: 'warn', message: `${what}: unknown key '${k}' is ignored`, file: file.path, line, hint: `lake reads ${[...known].filter((x) => x !== 'name').slice(0, 12).join(', ')}, ... (docs/landing-sources.md)` });
  }
}

export function parseSources(root: string, file: YamlFile, diags: Diagnostic[]): SourceNode[] {
  const data = file.data as Record<string, unknown>;
  const list = data.sources;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    diags.push({ code: 'LAKE-P016', severity: 'error', message: '`sources:` must be a list', file: file.path, line: file.lineOf(['sources']), hint: 'write `- name: kafka` entries' });
    return [];
  }
  const out: SourceNode[] = [];
  list.forEach((s, i) => {
    const sLine = file.lineOf(['sources', i]);
    if (!isRecord(s) || typeof s.name !== 'string') {
      diags.push({ code: 'LAKE-P017', severity: 'error', message: 'a source needs a name', file: file.path, line: sLine, hint: 'write `- name: kafka`' });
      return;
    }
    checkKeys(s, SOURCE_KEYS, `source ${s.name}`, file, ['sources', i], diags);
    if (isRecord(s.landing)) checkKeys(s.landing, LANDING_MAPPING_KEYS, `source ${s.name}: landing`, file, ['sources', i, 'landing'], diags);
    const tables = Array.isArray(s.tables) ? s.tables : [];
    tables.forEach((t, j) => {
      const line = file.lineOf(['sources', i, 'tables', j]);
      if (!isRecord(t) || typeof t.name !== 'string') {
        diags.push({ code: 'LAKE-P018', severity: 'error', message: `a table of source '${s.name as string}' needs a name`, file: file.path, line, hint: 'write `- name: table_name`' });
        return;
      }
      checkKeys(t, TABLE_KEYS, `source ${s.name as string}.${t.name}`, file, ['sources', i, 'tables', j], diags);
      if (isRecord(t.landing)) checkKeys(t.landing, LANDING_MAPPING_KEYS, `source ${s.name as string}.${t.name}: landing`, file, ['sources', i, 'tables', j, 'landing'], diags);
      // The landing options sit beside `landing: <dir>` on the table (or the source), or inside
      // a `landing:` mapping with the folder as `path:`.
      const nested = isRecord(t.landing) ? t.landing : isRecord(s.landing) && t.landing === undefined ? s.landing : undefined;
      const pick = (k: string): unknown => (nested?.[k] !== undefined ? nested[k] : t[k] !== undefined ? t[k] : s[k]);
      // The line of the key an option was read from (the landing mapping's, the table's or the source's).
      const lineOfKey = (k: string): number | undefined => (nested?.[k] !== undefined
        ? file.lineOf(isRecord(t.landing) ? ['sources', i, 'tables', j, 'landing', k] : ['sources', i, 'landing', k])
        : t[k] !== undefined ? file.lineOf(['sources', i, 'tables', j, k]) : s[k] !== undefined ? file.lineOf(['sources', i, k]) : undefined) ?? line;
      const cols = parseColumns(t.columns, file, ['sources', i, 'tables', j, 'columns'], diags);
      let landing: LandingSpec | undefined;
      const landingDir = nested ? nested.path ?? nested.dir : pick('landing');
      if (nested && (typeof landingDir !== 'string' || landingDir === '')) {
        diags.push({ code: 'LAKE-P019', severity: 'error', message: `source ${s.name as string}.${t.name as string}: \`landing:\` needs the folder, as \`path:\``, file: file.path, line, hint: 'write `landing: { path: landing/events, format: jsonl }` or `landing: landing/events`' });
      } else if (landingDir !== undefined && fs.existsSync(path.resolve(root, String(landingDir))) && !fs.statSync(path.resolve(root, String(landingDir))).isDirectory()) {
        const rel = String(landingDir);
        diags.push({
          code: 'LAKE-P019', severity: 'error', message: `source ${s.name as string}.${t.name as string}: landing ${rel} is a file, not a folder`, file: file.path,
          line: (nested ? file.lineOf(isRecord(t.landing) ? ['sources', i, 'tables', j, 'landing', 'path'] : ['sources', i, 'landing', 'path']) : t.landing !== undefined ? file.lineOf(['sources', i, 'tables', j, 'landing']) : file.lineOf(['sources', i, 'landing'])) ?? line,
          hint: `point landing at its folder and name the files: landing: ${path.posix.dirname(rel)}, files: ${path.posix.basename(rel)}`,
        });
      } else if (landingDir !== undefined) {
        const format = String(pick('format') ?? 'jsonl') as LandingFormat;
        const evo = String(pick('schema_evolution') ?? 'add_new_columns') as SchemaEvolution;
        const bad = String(pick('bad_records') ?? 'quarantine') as BadRecords;
        const check = (ok: boolean, key: string, what: string, hint: string) => {
          if (!ok) diags.push({ code: 'LAKE-P019', severity: 'error', message: `source ${s.name as string}.${t.name as string}: ${what}`, file: file.path, line: lineOfKey(key), hint });
        };
        check(FORMATS.has(format), 'format', `unknown format '${format}'`, `use one of ${[...FORMATS].join(', ')}`);
        check(EVOLUTION.has(evo), 'schema_evolution', `unknown schema_evolution '${evo}'`, `use one of ${[...EVOLUTION].join(', ')}`);
        check(BAD.has(bad), 'bad_records', `unknown bad_records '${bad}'`, `use one of ${[...BAD].join(', ')}`);
        const minAge = parseDuration(pick('min_file_age'));
        if (pick('min_file_age') !== undefined && minAge === undefined) check(false, 'min_file_age', `min_file_age '${String(pick('min_file_age'))}' is not a duration`, 'write a duration such as 2s, 500ms or 1m');
        const maxFiles = Number(pick('max_files_per_trigger') ?? 1000);
        check(Number.isInteger(maxFiles) && maxFiles >= 1, 'max_files_per_trigger', `max_files_per_trigger '${String(pick('max_files_per_trigger'))}' is not a whole number of files, at least 1`, 'write max_files_per_trigger: 1000');
        // YAML's booleans, or the words true/false quoted: "false" must not read as true.
        const flag = (key: string, hint: string): boolean => {
          const raw = pick(key);
          const v = raw === undefined || raw === null ? false : typeof raw === 'boolean' ? raw : /^(true|false)$/i.test(String(raw).trim()) ? /^true$/i.test(String(raw).trim()) : undefined;
          check(v !== undefined, key, `${key} '${String(raw)}' is not true or false`, hint);
          return v ?? false;
        };
        const overwrites = flag('allow_overwrites', 'write allow_overwrites: true (read a changed file again) or false');
        const inferTypes = flag('infer_types', 'write infer_types: true (type undeclared columns from their values) or false (VARCHAR)');
        // A list, or Auto Loader's comma-separated string; '' or [] reads no folder as a column.
        const rawParts = pick('partition_columns');
        const partitionColumns = rawParts === undefined || rawParts === null ? undefined
          : Array.isArray(rawParts) ? rawParts.map((x) => String(x).trim()).filter(Boolean)
            : typeof rawParts === 'string' ? rawParts.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
        check(rawParts === undefined || rawParts === null || partitionColumns !== undefined, 'partition_columns', `partition_columns must be a list of folder keys, not ${JSON.stringify(rawParts)}`, 'e.g. partition_columns: [date, hour] (for folders date=2024-01-01/hour=07/), or [] to read none');
        const options: Record<string, unknown> = {};
        for (const k of ['delimiter', 'header', 'quote', 'escape', 'timestamp_format', 'date_format', 'null_padding']) if (pick(k) !== undefined) options[k] = pick(k);
        landing = {
          dir: path.resolve(root, String(landingDir)),
          relDir: String(landingDir),
          format,
          // A table's own `landing:` (a folder, or `{ path }`) is its folder: every file in it; a
          // source's is the zone, with one folder per table.
          files: String(nested?.files ?? t.files ?? (t.landing !== undefined ? '*' : `${t.name as string}/*`)),
          columns: cols.types,
          schemaEvolution: evo,
          badRecords: bad,
          maxFilesPerTrigger: maxFiles,
          minFileAgeMs: minAge ?? 0,
          ...(minAge !== undefined ? { minFileAgeSet: true } : {}),
          allowOverwrites: overwrites,
          ...(inferTypes ? { inferTypes } : {}),
          ...(partitionColumns ? { partitionColumns } : {}),
          options,
        };
      }
      // dbt's enabled: false (the table's config, else its source's): no source, and none of its tests.
      const enabled = isRecord(t.config) && t.config.enabled !== undefined ? t.config.enabled : isRecord(s.config) ? s.config.enabled : undefined;
      if (enabled === false || String(enabled).toLowerCase() === 'false') return;
      const testsKey = testsKeyOf(t, file, ['sources', i, 'tables', j], diags);
      out.push({
        kind: 'source',
        id: `source:${s.name as string}.${t.name as string}`,
        sourceName: s.name as string,
        name: t.name as string,
        schema: String(s.schema ?? s.name),
        identifier: String(t.identifier ?? t.name),
        ...(typeof (t.database ?? s.database) === 'string' ? { database: String(t.database ?? s.database) } : {}),
        ...externalLocationOf(t, s, root, String(s.schema ?? s.name), String(t.identifier ?? t.name), !!landing),
        ...((isRecord(t.quoting) && t.quoting.column !== undefined ? t.quoting.column : isRecord(s.quoting) ? s.quoting.column : undefined) === true ? { quoteColumns: true } : {}),
        landing,
        description: (t.description ?? s.description) as string | undefined,
        columns: cols.docs,
        tests: parseTests(t[testsKey], file, ['sources', i, 'tables', j, testsKey], diags),
        loadedAtField: (pick('loaded_at_field') as string | undefined) ?? undefined,
        // dbt's event_time (for microbatch models reading it): the table's config, else its source's.
        ...eventTimeOf(t, s),
        ...freshnessOf(mergedFreshness(t, s), `source ${s.name as string}.${t.name as string}`, file.path, line, diags),
        tags: [...new Set([...tagsOf(s), ...tagsOf(t)])],
        path: file.path,
        line,
      });
    });
  });
  return out;
}

/**
 * dbt-duckdb's external_location (`meta:` or `config:` of the table, else of its source): a path or
 * glob with `{name}`, `{identifier}` and `{schema}` filled in; a relative one is under the project.
 */
function externalLocationOf(table: Record<string, unknown>, source: Record<string, unknown>, root: string, schema: string, identifier: string, landing: boolean): { externalLocation?: string } {
  if (landing) return {};
  const from = (x: Record<string, unknown>) => (isRecord(x.meta) && typeof x.meta.external_location === 'string' ? x.meta.external_location
    : isRecord(x.config) && typeof x.config.external_location === 'string' ? x.config.external_location : undefined);
  const raw = from(table) ?? from(source);
  if (!raw) return {};
  const filled = raw.replace(/\{(name|identifier|schema)\}/g, (_m, k: string) => (k === 'schema' ? schema : k === 'name' ? String(table.name) : identifier));
  return { externalLocation: /^[a-z][a-z0-9+.-]*:\/\//i.test(filled) || path.isAbsolute(filled) ? filled : path.join(root, filled) };
}

const PERIODS = new Set(['minute', 'hour', 'day']);

function eventTimeOf(table: Record<string, unknown>, source: Record<string, unknown>): { eventTime?: string } {
  const own = isRecord(table.config) ? table.config.event_time : undefined;
  const v = own ?? (isRecord(source.config) ? source.config.event_time : undefined);
  return typeof v === 'string' && v.trim() ? { eventTime: v.trim() } : {};
}

/**
 * A table's freshness over its source's, as dbt merges them: each key the table sets (warn_after,
 * error_after, filter) replaces the source's, the others are the source's; a table's `null` turns it off.
 */
function mergedFreshness(table: Record<string, unknown>, source: Record<string, unknown>): unknown {
  const own = (x: Record<string, unknown>) => (isRecord(x.config) && x.config.freshness !== undefined ? x.config.freshness : x.freshness);
  const t = own(table);
  const s = own(source);
  if (t === null) return null;
  if (isRecord(t) && isRecord(s)) return { ...s, ...t };
  return t !== undefined ? t : s;
}

/**
 * dbt's `freshness: {warn_after: {count, period}, error_after: ..., filter}`; `null` turns it off
 * (kept as null: the project file's `+freshness` then does not apply).
 */
export function freshnessOf(v: unknown, what: string, file: string, line: number | undefined, diags: Diagnostic[]): { freshness?: FreshnessConfig | null } {
  if (v === undefined) return {};
  if (v === null) return { freshness: null };
  const bad = (message: string) => {
    diags.push({ code: 'LAKE-P025', severity: 'error', message: `${what}: ${message}`, file, line, hint: 'write `freshness: { warn_after: { count: 12, period: hour }, error_after: { count: 1, period: day } }` (period: minute, hour or day)' });
    return {};
  };
  if (!isRecord(v)) return bad('`freshness:` must be a mapping');
  const rule = (key: string): FreshnessRule | undefined | false => {
    const r = v[key];
    if (r === undefined || r === null) return undefined;
    if (!isRecord(r) || !(Number(r.count) > 0) || !PERIODS.has(String(r.period))) return false;
    return { count: Number(r.count), period: String(r.period) as FreshnessRule['period'] };
  };
  const warnAfter = rule('warn_after');
  const errorAfter = rule('error_after');
  if (warnAfter === false) return bad('`warn_after` needs a positive `count` and a `period` of minute, hour or day');
  if (errorAfter === false) return bad('`error_after` needs a positive `count` and a `period` of minute, hour or day');
  const unknown = Object.keys(v).filter((k) => !['warn_after', 'error_after', 'filter'].includes(k));
  if (unknown.length) return bad(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in \`freshness:\``);
  if (!warnAfter && !errorAfter) return {};
  return { freshness: { ...(warnAfter ? { warnAfter } : {}), ...(errorAfter ? { errorAfter } : {}), ...(typeof v.filter === 'string' ? { filter: v.filter } : {}) } };
}
