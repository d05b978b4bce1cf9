/**
 * Reads a project from disk into a `LoadedProject`: settings, model/seed/macro/test files and the
 * YAML beside them. Collects every problem as a diagnostic instead of stopping at the first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hash } from 'node:crypto';
import type { Diagnostic } from '../errors/index.js';
import type { LoadedProject, ModelNode, SeedNode, SourceNode, ModelConfig, TestDecl } from '../core/types.js';
import { versionNodeName } from '../core/types.js';
import { readSettings, type ProjectSettings, type SettingsOptions } from './settings.js';
import { readPackages, packageSettings } from './packages.js';
import { listFiles, underRoot } from './files.js';
import { FilePrefetch } from './prefetch.js';
import { parseYamlFile, isRecord, asList } from './yaml-file.js';
import { freshnessOf, parseModelPatches, parseSources, type ModelPatch } from './yaml-entries.js';
import { isConfigEntry, normaliseConfig, normaliseKey, mergeConfig, defaultConfig, strategyMacroName } from './config.js';
import { unsupportedDbtParts, unusedConfigPaths } from './checks.js';
import { loadSnapshots } from './snapshots.js';
import { foldStoreFailuresAs } from '../core/store-failures.js';
import { expandVersions, missingVersionFile, pastDeprecation, placeLatestVersions } from './versions.js';
import { namingMacro, propertiesRenderer, renderConfigValues, NAMES_RELATION, type PropertiesContext, type ValueRenderer } from '../template/properties.js';

export type LoadOptions = SettingsOptions;

/** Config from a folder tree (`models: {silver: {materialized: table}}`) for a file's folders. */
export function folderConfig(tree: Record<string, unknown>, folders: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const level of folderLevels(tree, folders)) {
    for (const [k, v] of Object.entries(level)) {
      const nk = normaliseKey(k);
      if (isConfigEntry(k, v)) {
        if ((nk === 'tags' || nk === 'pre_hook' || nk === 'post_hook') && out[nk] !== undefined) {
          out[nk] = [...(Array.isArray(out[nk]) ? (out[nk] as unknown[]) : [out[nk]]), ...(Array.isArray(v) ? v : [v])];
        } else out[nk] = v;
      }
    }
  }
  return out;
}

/** The levels of a folder-config tree that apply to a file in `folders`: the top, then each folder's (while there is one). */
export function folderLevels(tree: Record<string, unknown>, folders: readonly string[]): Record<string, unknown>[] {
  const levels = [tree];
  let level: unknown = tree;
  for (const f of folders) {
    level = isRecord(level) ? level[f] : undefined;
    if (!isRecord(level)) break;
    levels.push(level);
  }
  return levels;
}

/**
 * Config for one model or seed by name under its folders (`models: {staging: {stg_orders:
 * {+materialized: table}}}`, as dbt allows), or {} when there is none.
 */
export function nodeConfig(tree: Record<string, unknown>, folders: readonly string[], name: string): Record<string, unknown> {
  let level: unknown = tree;
  for (const f of folders) {
    level = isRecord(level) ? level[f] : undefined;
    if (!isRecord(level)) return {};
  }
  const leaf = isRecord(level) ? level[name] : undefined;
  if (!isRecord(leaf)) return {};
  return folderConfig(leaf, []);
}

/** sha256 (hex) of the parts, each followed by a NUL. */
export function checksum(...parts: string[]): string {
  // One-shot hash of the joined text: the same digest as update() per part, without a Hash object per call.
  return hash('sha256', `${parts.join('\0')}\0`, 'hex');
}

interface YamlDecls {
  models: Map<string, ModelPatch>;
  seeds: Map<string, ModelPatch>;
  snapshots: Map<string, ModelPatch>;
  sources: SourceNode[];
  unitTests: Record<string, unknown>[];
  /** dbt's properties of singular tests (top-level `data_tests:` entries): config and description by test name. */
  singularTestProps: Map<string, { config: Record<string, unknown>; description?: string }>;
}

/**
 * A file's text, or undefined when it was deleted between listing the folder and reading it (an
 * editor's save) — or, with `diags`, when it is not UTF-8 (a Latin-1 'café' would be read as
 * 'caf\uFFFD' and written to tables so): then a diagnostic names its first bad line.
 */
function readIfPresent(file: string, diags?: Diagnostic[], rel?: string, prefetch?: FilePrefetch): string | undefined {
  let text: string;
  try {
    text = prefetch ? prefetch.text(file) : fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  // Decoding replaced invalid bytes with U+FFFD; a U+FFFD written in the file is fine.
  if (diags && text.includes('\uFFFD')) {
    const bytes = fs.readFileSync(file);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const line = text.slice(0, text.indexOf('\uFFFD')).split('\n').length;
      diags.push({ code: 'LAKE-P040', severity: 'error', message: 'the file is not UTF-8 text', file: rel ?? file, line, hint: 'save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)' });
      return undefined;
    }
  }
  return text;
}

function readYamlDecls(settings: ProjectSettings, files: readonly string[], diags: Diagnostic[], render: ValueRenderer): YamlDecls {
  // A test's argument or config (`where:`) that calls one of the project's macros (`hash_fields:
  // "{{ as_sql_list([...]) }}"`) is rendered when the test is, with the macros (dq/collect.ts), as
  // dbt renders test arguments.
  const renderArg: ValueRenderer = (text, site) => {
    try {
      return render(text, site);
    } catch (e) {
      if (/Unable to call `[\w.]+`, which is undefined/.test((e as Error).message)) return text;
      throw e;
    }
  };
  const out: YamlDecls = { models: new Map(), seeds: new Map(), snapshots: new Map(), sources: [], unitTests: [], singularTestProps: new Map() };
  for (const rel of files) {
    const text = readIfPresent(path.join(settings.root, rel), diags, rel);
    if (text === undefined) continue;
    const y = parseYamlFile(rel, text, diags, { yaml11Booleans: settings.flavor === 'dbt' });
    if (!y || !isRecord(y.data)) continue;
    for (const key of ['models', 'seeds', 'snapshots'] as const) {
      // A versioned model's entry: one patch per version, keyed by its file's stem (versions.ts).
      for (const parsed of parseModelPatches(y, key, diags).flatMap(expandVersions)) {
        const tests = (ts: readonly TestDecl[]) => ts.map((t) => ({ ...t, config: renderConfigValues(t.config, renderArg, rel, t.line ?? parsed.line), args: renderConfigValues(t.args, renderArg, rel, t.line ?? parsed.line, '', NAMES_RELATION) }));
        const patch = {
          ...parsed, config: renderConfigValues(parsed.config, render, rel, parsed.line), tests: tests(parsed.tests),
          columns: parsed.columns.map((c) => ({ ...c, tests: tests(c.tests) })),
        };
        const map = out[key];
        const prev = map.get(patch.name);
        if (prev) {
          diags.push({ code: 'LAKE-P020', severity: 'error', message: `${key.slice(0, -1)} '${patch.name}' is documented twice (also in ${prev.file}:${prev.line ?? 1})`, file: rel, line: patch.line, hint: 'keep one YAML entry per model' });
        } else map.set(patch.name, patch);
      }
    }
    for (const src of parseSources(settings.root, y, diags)) {
      const tests = (ts: readonly TestDecl[]) => ts.map((t) => ({ ...t, config: renderConfigValues(t.config, renderArg, rel, t.line ?? src.line), args: renderConfigValues(t.args, renderArg, rel, t.line ?? src.line, '', NAMES_RELATION) }));
      // dbt renders a source's schema, database, identifier (and loaded_at_field) with the properties context.
      const names = renderConfigValues({ schema: src.schema, identifier: src.identifier, database: src.database, loaded_at_field: src.loadedAtField }, render, rel, src.line);
      const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
      out.sources.push({
        ...src, schema: String(names.schema), identifier: String(names.identifier),
        ...(str(names.database) !== undefined ? { database: str(names.database) } : {}), loadedAtField: str(names.loaded_at_field),
        tests: tests(src.tests), columns: src.columns.map((c) => ({ ...c, tests: tests(c.tests) })),
      });
    }
    for (const key of ['data_tests', 'tests']) {
      const entries = (y.data as Record<string, unknown>)[key];
      if (!Array.isArray(entries)) continue;
      entries.forEach((e, i) => {
        if (!isRecord(e) || typeof e.name !== 'string') return;
        const config = isRecord(e.config) ? renderConfigValues(e.config as Record<string, unknown>, render, rel, y.lineOf([key, i])) : {};
        out.singularTestProps.set(e.name, { config, ...(typeof e.description === 'string' ? { description: e.description } : {}) });
      });
    }
    const uts = (y.data as Record<string, unknown>).unit_tests;
    if (Array.isArray(uts)) {
      uts.forEach((u, i) => {
        if (!isRecord(u)) return;
        // The project file's unit_tests: config for the folders of this file (under its models folder), under the entry's own; tags accumulate.
        const root = settings.paths.models.map((d) => d.replace(/\/$/, '')).find((d) => rel.startsWith(`${d}/`));
        const folders = root ? rel.slice(root.length + 1).split('/').slice(0, -1) : [];
        const fc = settings.unitTestConfigs ? normaliseConfig(folderConfig(settings.unitTestConfigs, folders)) as Record<string, unknown> : {};
        const own = isRecord(u.config) ? u.config : {};
        const tags = [...new Set([...(Array.isArray(fc.tags) ? fc.tags.map(String) : []), ...(Array.isArray(own.tags) ? own.tags.map(String) : own.tags !== undefined ? [String(own.tags)] : [])])];
        const config = Object.keys(fc).length ? { ...fc, ...own, ...(tags.length ? { tags } : {}) } : u.config;
        out.unitTests.push({ ...u, ...(config !== undefined ? { config } : {}), __file: rel, __line: y.lineOf(['unit_tests', i]) });
      });
    }
  }
  return out;
}

/** dbt's docs blocks: `{% docs name %}text{% enddocs %}` in .md files beside the models. */
function readDocBlocks(root: string, files: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    const text = readIfPresent(path.join(root, f));
    if (text === undefined) continue;
    for (const m of text.matchAll(/\{%-?\s*docs\s+(\w+)\s*-?%\}([\s\S]*?)\{%-?\s*enddocs\s*-?%\}/g)) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

/** Descriptions with `{{ doc('name') }}` replaced by the docs block's text (an unknown name is a diagnostic). */
function withDocBlocks(root: string, decls: YamlDecls, blocks: ReadonlyMap<string, string>, diags: Diagnostic[]): YamlDecls {
  const call = /\{\{\s*doc\(\s*(['"])(\w+)\1\s*\)\s*\}\}/g;
  // The line of an unknown doc() call in its YAML file (the entry's own line is where the model starts).
  const lineOfCall = (file: string, name: string, fallback: number | undefined): number | undefined => {
    const text = readIfPresent(path.join(root, file));
    const at = text?.search(new RegExp(`doc\\(\\s*['"]${name}['"]`)) ?? -1;
    return text && at >= 0 ? text.slice(0, at).split('\n').length : fallback;
  };
  const render = <T extends { description?: string }>(o: T, file: string, line: number | undefined): T => {
    if (!o.description || !o.description.includes('doc(')) return o;
    const description = o.description.replace(call, (m, _q, name: string) => {
      const b = blocks.get(name);
      if (b !== undefined) return b;
      diags.push({ code: 'LAKE-P030', severity: 'error', message: `doc('${name}') names no docs block`, file, line: lineOfCall(file, name, line), hint: `write {% docs ${name} %}...{% enddocs %} in a .md file under the models folder${blocks.size ? ` (blocks: ${[...blocks.keys()].slice(0, 5).join(', ')})` : ''}` });
      return m;
    });
    return { ...o, description };
  };
  const patch = (p: ModelPatch): ModelPatch => ({ ...render(p, p.file, p.line), columns: p.columns.map((c) => render(c, p.file, p.line)) });
  return {
    ...decls,
    models: new Map([...decls.models].map(([k, p]) => [k, patch(p)])),
    seeds: new Map([...decls.seeds].map(([k, p]) => [k, patch(p)])),
    snapshots: new Map([...decls.snapshots].map(([k, p]) => [k, patch(p)])),
    sources: decls.sources.map((s) => ({ ...render(s, s.path, s.line), columns: s.columns.map((c) => render(c, s.path, s.line)) })),
  };
}

type NamingMacro = (custom: string | null, node: Readonly<Record<string, unknown>>) => string;

/** The project's generate_schema_name / generate_alias_name macros, if its macro files define them. */
function namingMacros(root: string, read: ProjectSettings): { schema?: NamingMacro; alias?: NamingMacro } {
  const out: { schema?: NamingMacro; alias?: NamingMacro } = {};
  const ctx = propertiesContext(read);
  const texts: string[] = [];
  let schemaFile: string | undefined;
  let aliasFile: string | undefined;
  for (const dir of read.paths.macros) {
    for (const f of listFiles(root, dir, ['.sql'])) {
      const text = readIfPresent(underRoot(root, f));
      if (!text) continue;
      texts.push(text);
      if (/\{%-?\s*macro\s+generate_schema_name\s*\(/.test(text)) schemaFile = f;
      if (/\{%-?\s*macro\s+generate_alias_name\s*\(/.test(text)) aliasFile = f;
    }
  }
  // Every macro file, so that the naming macro may call the project's other macros.
  const all = texts.join('\n');
  // The node as dbt hands it to the macro: fqn, paths, package and id besides name and type.
  const withNode = (fn: NamingMacro): NamingMacro => (custom, node) => fn(custom, namingNode(read, node));
  if (schemaFile) out.schema = withNode(namingMacro(ctx, all, 'generate_schema_name', schemaFile));
  if (aliasFile) out.alias = withNode(namingMacro(ctx, all, 'generate_alias_name', aliasFile));
  return out;
}

/**
 * What dbt's naming macros see of a node (`{name, resource_type, path}` as lake knows it at load):
 * `original_file_path` (from the project root), `path` (from its resource folder: models/, seeds/,
 * snapshots/), `fqn` (the project, the folders, the name; a snapshot's has its file's name too),
 * `package_name`, `unique_id`.
 */
function namingNode(settings: ProjectSettings, node: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const file = typeof node.path === 'string' ? node.path : undefined;
  const name = String(node.name ?? '');
  const type = String(node.resource_type ?? 'model');
  if (!file) return { package_name: settings.name, fqn: [settings.name, name], unique_id: `${type}.${settings.name}.${name}`, ...node };
  const roots = type === 'seed' ? settings.paths.seeds : type === 'snapshot' ? settings.paths.snapshots ?? ['snapshots'] : settings.paths.models;
  const root = roots.map((d) => d.replace(/\/$/, '')).find((d) => file.startsWith(`${d}/`));
  const inner = root ? file.slice(root.length + 1) : file;
  const folders = inner.split('/').slice(0, -1);
  const stem = inner.slice(inner.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '');
  const fqn = type === 'snapshot' && /\.sql$/.test(file) ? [settings.name, ...folders, stem, name] : [settings.name, ...folders, name];
  return { ...node, path: inner, original_file_path: file, fqn, package_name: settings.name, unique_id: `${type}.${settings.name}.${name}` };
}

/** dbt's properties context for Jinja in YAML and project-file values: target and vars. */
function propertiesContext(settings: ProjectSettings): PropertiesContext {
  const t = settings.target;
  return { target: { name: t.name, type: t.type, path: t.path, threads: t.threads, schema: settings.customSchema('').replace(/_$/, '') || 'main', profile_name: settings.name }, vars: settings.vars };
}

/** The files of a project's (or package's) paths: models, YAML beside them and in seeds/tests/snapshots, docs, seeds, snapshots. */
function projectFiles(settings: ProjectSettings): { modelFiles: string[]; yamlFiles: string[]; docFiles: string[]; seedFiles: string[]; snapshotFiles: string[] } {
  const root = settings.root;
  const out = { modelFiles: [] as string[], yamlFiles: [] as string[], docFiles: [] as string[], seedFiles: [] as string[], snapshotFiles: [] as string[] };
  for (const dir of settings.paths.models) {
    for (const f of listFiles(root, dir, ['.sql', '.yml', '.yaml', '.md'])) (f.endsWith('.sql') ? out.modelFiles : f.endsWith('.md') ? out.docFiles : out.yamlFiles).push(f);
  }
  for (const dir of settings.paths.seeds) {
    for (const f of listFiles(root, dir, ['.csv', '.yml', '.yaml'])) (f.endsWith('.csv') ? out.seedFiles : out.yamlFiles).push(f);
  }
  for (const dir of settings.paths.tests) for (const f of listFiles(root, dir, ['.yml', '.yaml'])) out.yamlFiles.push(f);
  for (const dir of settings.paths.snapshots ?? []) {
    for (const f of listFiles(root, dir, ['.sql', '.yml', '.yaml'])) (f.endsWith('.sql') ? out.snapshotFiles : out.yamlFiles).push(f);
  }
  return out;
}

/** Load the project at `root` (the folder holding project.yml or dbt_project.yml). */
export function loadProject(root: string, opts: LoadOptions = {}): LoadedProject {
  const read = readSettings(root, opts);
  // Jinja in config values (dbt's properties context: target, var(), env_var()).
  const render = propertiesRenderer(propertiesContext(read));
  // A dbt project's own generate_schema_name / generate_alias_name macros name every node.
  const naming = read.flavor === 'dbt' ? namingMacros(root, read) : {};
  const settings: ProjectSettings = {
    ...read,
    ...(naming.schema ? { nameSchema: naming.schema } : {}),
    modelConfigs: renderConfigValues(read.modelConfigs, render, read.projectFile),
    seedConfigs: renderConfigValues(read.seedConfigs, render, read.projectFile),
    snapshotConfigs: renderConfigValues(read.snapshotConfigs, render, read.projectFile),
    testConfigs: renderConfigValues(read.testConfigs, render, read.projectFile),
  };
  const diags: Diagnostic[] = [];
  const { modelFiles, yamlFiles, docFiles, seedFiles, snapshotFiles } = projectFiles(settings);
  // A big project's model files are read on a worker while the YAML is parsed, and handed over in order.
  const prefetch = FilePrefetch.start(modelFiles.map((rel) => underRoot(root, rel)));
  const docBlocks = readDocBlocks(root, docFiles);
  const decls = withDocBlocks(root, readYamlDecls(settings, [...new Set(yamlFiles)], diags, render), docBlocks, diags);

  placeLatestVersions(decls.models, new Set(modelFiles.map((f) => path.posix.basename(f, '.sql'))));
  const factory = new ModelFactory(settings, decls.models, naming.alias);
  const models = new Map<string, ModelNode>();
  const disabledModels = new Map<string, string>();
  const usedPatches = new Set<string>();
  try {
    for (const rel of modelFiles) {
      const rawSql = readIfPresent(underRoot(root, rel), diags, rel, prefetch);
      if (rawSql === undefined) continue;
      const node = factory.build(rel, rawSql);
      const stem = path.posix.basename(rel, '.sql');
      if (decls.models.has(stem)) usedPatches.add(stem);
      const prev = models.get(node.id);
      if (prev) {
        diags.push(duplicateModel(node.id, prev.path, rel));
        continue;
      }
      if (node.config.enabled === false) {
        disabledModels.set(node.name, rel);
        continue;
      }
      models.set(node.id, node);
      const past = pastDeprecation(node.version ? `${node.version.model}.v${node.version.v}` : node.name, node.deprecationDate, node.patchPath, decls.models.get(stem)?.line, new Date());
      if (past) diags.push(past);
    }
  } finally {
    prefetch.close();
  }
  for (const [name, patch] of decls.models) {
    if (!usedPatches.has(name) && patch.version) diags.push(missingVersionFile(name, patch));
    else if (!usedPatches.has(name)) {
      const known = [...models.values()].map((m) => m.name);
      const near = known.filter((k) => k.includes(name) || name.includes(k)).slice(0, 3);
      diags.push({ code: 'LAKE-P022', severity: 'warn', message: `YAML documents model '${name}', but there is no models/**/${name}.sql`, file: patch.file, line: patch.line, hint: near.length ? `did you mean ${near.join(', ')}?` : 'rename the entry or add the model' });
    }
  }

  const tree = (t: Record<string, unknown>, folders: readonly string[], name?: string) => (name === undefined ? folderConfig(t, folders) : nodeConfig(t, folders, name));
  const modelNames = new Map([...models.values()].map((m) => [m.name, m.path]));
  for (const node of loadSnapshots(settings, snapshotFiles, (rel) => readIfPresent(underRoot(root, rel), diags, rel), decls.snapshots, tree, diags)) {
    // As dbt: one name, one resource (ref() could not tell them apart).
    const model = modelNames.get(node.name);
    if (model) diags.push({ code: 'LAKE-P064', severity: 'error', message: `a snapshot and a model are both named ${node.name} (the model is ${model})`, file: node.path, line: (node.rawSql.match(/^\n*/)?.[0].length ?? 0) + 1, hint: 'rename the snapshot or the model: ref() names one of them' });
    else models.set(node.id, node);
  }

  if (settings.flavor === 'dbt') diags.push(...unsupportedDbtParts(root, settings));
  diags.push(...(settings.warnings ?? []));

  const seeds = new Map<string, SeedNode>();
  for (const seed of readSeeds(settings, seedFiles, decls.seeds, naming.alias)) seeds.set(seed.id, seed);

  const sources = new Map<string, SourceNode>();
  for (const s of configuredSources(settings, decls.sources, diags)) sources.set(s.id, s);

  const macroFiles = new Map<string, string>();
  for (const dir of settings.paths.macros) {
    for (const f of listFiles(root, dir, ['.sql', '.jinja', '.njk'])) {
      const text = readIfPresent(path.join(root, f), diags, f);
      if (text !== undefined) macroFiles.set(f, text);
    }
  }
  // A folder's incremental_strategy may be the project's own (a get_incremental_<name>_sql macro).
  const macroTexts = [...macroFiles.values()];
  const pkgs = readPackages(root, settings.packagesPath, settings.name);
  diags.push(...unusedConfigPaths(settings, modelFiles, pkgs.packages.map((p) => p.name), (s) => macroTexts.some((t) => new RegExp(`macro\\s+${strategyMacroName(s).replace(/[^\w]/g, '')}\\s*\\(`).test(t))));
  // Data tests' defaults from the project file: the top level for every test, and per file the
  // levels of the folders it is in under its models, seeds or tests folder (as dbt applies them).
  const testDefaults = Object.fromEntries(Object.entries(settings.testConfigs).filter(([, v]) => !isRecord(v)).map(([k, v]) => [normaliseKey(k), v]));
  const testDefaultsByFile: Record<string, Record<string, unknown>> = {};
  const testRoots = [...settings.paths.models, ...settings.paths.seeds, ...settings.paths.tests].map((d) => d.replace(/\/$/, ''));
  const defaultsFor = (file: string) => {
    const root = testRoots.find((d) => file.startsWith(`${d}/`));
    const folders = root ? file.slice(root.length + 1).split('/').slice(0, -1) : [];
    if (!folders.length) return;
    const merged: Record<string, unknown> = { ...testDefaults, ...normaliseConfig(folderConfig(settings.testConfigs, folders)) };
    // store_failures(_as) as dbt merges them, level by level (core/store-failures.ts).
    const as = foldStoreFailuresAs(folderLevels(settings.testConfigs, folders).map((l) => Object.fromEntries(Object.entries(l).filter(([k, v]) => isConfigEntry(k, v)).map(([k, v]) => [normaliseKey(k), v]))));
    if (as !== undefined) merged.store_failures_as = as;
    testDefaultsByFile[file] = merged;
  };
  for (const f of yamlFiles) defaultsFor(f);
  const singularTests = new Map<string, string>();
  for (const dir of settings.paths.tests) {
    for (const f of listFiles(root, dir, ['.sql'])) {
      const text = readIfPresent(path.join(root, f), diags, f);
      if (text === undefined) continue;
      // dbt's place for generic tests: <test-paths>/generic/*.sql holds {% test %} blocks, read as
      // macros; <test-paths>/fixtures/ holds unit-test fixtures (read by `fixture:`), not tests.
      const within = f.slice(dir.replace(/\/$/, '').length + 1);
      if (within.startsWith('generic/')) macroFiles.set(f, text);
      else if (!within.startsWith('fixtures/')) {
        singularTests.set(f, text);
        defaultsFor(f);
      }
    }
  }

  diags.push(...pkgs.diagnostics);
  // Installed packages' models, seeds and sources are the project's nodes too (dbt builds them).
  const unitTests = [...decls.unitTests];
  const packages = pkgs.packages.map((pkg) => {
    const data = pkgs.projects.get(pkg.name);
    if (!data) return pkg;
    if (settings.flavor !== 'dbt') {
      // A lake project (project.yml) reads packages' macros only: their models are not said to apply.
      const n = (data['model-paths'] ? asList(data['model-paths']) : ['models']).flatMap((m) => listFiles(root, `${pkg.dir}/${m}`, ['.sql'])).length;
      if (n) diags.push({ code: 'LAKE-P050', severity: 'warn', message: `package ${pkg.name} has ${n} model${n === 1 ? '' : 's'}: a lake project (project.yml) builds its own models only (the package's macros and tests are read)`, file: `${pkg.dir}/dbt_project.yml`, hint: 'copy the package models the project needs into models/ (a dbt project, dbt_project.yml, builds them)' });
      return pkg;
    }
    const common = packageSettings(settings, pkg, data, pkgs.packages.map((p) => p.name));
    // A package's own generate_schema_name / generate_alias_name names its nodes, before the root
    // project's (dbt's RelationUpdate: the package's macro, else the root's, else dbt's default).
    const own = namingMacros(root, common);
    const ps: ProjectSettings = own.schema ? { ...common, nameSchema: own.schema } : common;
    const loaded = loadPackageNodes(ps, pkg.name, docBlocks, own.alias ?? naming.alias, diags);
    for (const m of loaded.models) {
      const prev = models.get(m.id);
      if (prev) diags.push(duplicateRelation(m.id, prev, m));
      else models.set(m.id, m);
    }
    for (const [f, text] of loaded.singularTests) singularTests.set(f, text);
    unitTests.push(...loaded.unitTests);
    for (const sd of loaded.seeds) {
      const prev = seeds.get(sd.id);
      if (prev) diags.push(duplicateRelation(sd.id, prev, sd));
      else seeds.set(sd.id, sd);
    }
    for (const src of loaded.sources) {
      const prev = sources.get(src.id);
      // dbt finds the root project's source first, from the package's models too: the package's is unused.
      if (prev) diags.push({ code: 'LAKE-P056', severity: 'warn', message: `source ${src.sourceName}.${src.name} of package ${pkg.name} is declared in ${prev.path} too: source('${src.sourceName}', '${src.name}') reads ${prev.package ? `package ${prev.package}'s` : 'the root project\'s'}, and ${src.path}'s tests are not run`, file: src.path, line: src.line, hint: 'rename one of the sources, or drop the root project\'s declaration if the package\'s is meant' });
      else sources.set(src.id, src);
    }
    return { ...pkg, vars: ps.vars, onRunStart: ps.onRunStart, onRunEnd: ps.onRunEnd };
  });
  const project: LoadedProject = {
    root, name: settings.name, flavor: settings.flavor, target: settings.target, targets: settings.targets,
    ...(settings.cleanTargets ? { cleanTargets: settings.cleanTargets } : {}),
    // A package's own vars are not the project's (dbt keeps them to the package's nodes and hooks:
    // PackageMacros.vars): dbt_date's default time zone must not stand in for a var the project lacks.
    vars: settings.vars,
    ...(packages.length ? { packages } : {}), ...(settings.dispatch.length ? { dispatch: settings.dispatch } : {}), paths: settings.paths, models, seeds, sources, macroFiles, singularTests, docBlocks,
    unitTests, ...(decls.singularTestProps.size ? { singularTestProps: decls.singularTestProps } : {}), ...(disabledModels.size ? { disabledModels } : {}), customSchemaPrefix: read.customSchema(''), ...(naming.schema ? { customSchema: (s: string, node?: Readonly<Record<string, unknown>>) => naming.schema!(s, node ?? { resource_type: 'model' }) } : {}), onRunStart: settings.onRunStart, onRunEnd: settings.onRunEnd, testDefaults, testDefaultsByFile, diagnostics: diags,
  };
  factories.set(project, factory);
  return project;
}

/** Seed nodes of `files` (CSV paths under the seed paths), with their folder, project-file and YAML config. */
function readSeeds(settings: ProjectSettings, files: readonly string[], patches: ReadonlyMap<string, ModelPatch>, aliasName?: NamingMacro, packageName?: string): SeedNode[] {
  const out: SeedNode[] = [];
  for (const rel of files) {
    const name = path.basename(rel, '.csv');
    const patch = patches.get(name);
    const seedDir = settings.paths.seeds.find((d) => rel.startsWith(`${d.replace(/\/$/, '')}/`)) ?? '';
    const folders = rel.slice(seedDir.length + 1).split('/').slice(0, -1);
    const tree = (t: Record<string, unknown>, at: readonly string[]) => ({ ...folderConfig(t, at), ...nodeConfig(t, at, name) });
    // A package's seed: the root project's `seeds:` (top level, then `<package>:` and its folders) over the package's own.
    const fc = normaliseConfig({ ...tree(settings.seedConfigs, folders), ...(settings.seedOverrides ? tree(settings.seedOverrides, [settings.name, ...folders]) : {}) }) as Record<string, unknown>;
    const cfg = { ...fc, ...(patch?.config ?? {}) };
    // Hooks add up (folder configs, then the seed's YAML), as a model's do.
    const hooks = (k: 'pre_hook' | 'post_hook') => [...new Set([...(fc[k] as string[] | undefined) ?? [], ...(normaliseConfig(patch?.config ?? {})[k] ?? [])])];
    const [preHook, postHook] = [hooks('pre_hook'), hooks('post_hook')];
    if (cfg.enabled === false || String(cfg.enabled).toLowerCase() === 'false') continue;
    const schema = settings.nameSchema ? settings.nameSchema(typeof cfg.schema === 'string' ? cfg.schema : null, { name, resource_type: 'seed', path: rel })
      : typeof cfg.schema === 'string' ? settings.customSchema(cfg.schema) : settings.seedSchema;
    // dbt's alias (a project's generate_alias_name names seeds as it names models).
    const configured = typeof cfg.alias === 'string' && cfg.alias.trim() ? cfg.alias.trim() : null;
    const named = aliasName ? aliasName(configured, { name, resource_type: 'seed', path: rel }) : configured;
    const alias = named && named !== name ? named : undefined;
    const abs = path.join(settings.root, rel);
    const text = fs.readFileSync(abs);
    out.push({
      kind: 'seed', id: `${schema}.${name}`, name, schema, path: rel, absPath: abs,
      columnTypes: isRecord(cfg.column_types) ? (cfg.column_types as Record<string, string>) : {},
      description: patch?.description, columns: patch?.columns ?? [], tests: patch?.tests ?? [],
      tags: Array.isArray(cfg.tags) ? (cfg.tags as string[]) : [],
      ...(alias ? { alias } : {}),
      ...(typeof cfg.event_time === 'string' && cfg.event_time.trim() ? { eventTime: cfg.event_time.trim() } : {}),
      ...(settings.flavor === 'dbt' ? { typing: 'dbt' as const } : {}),
      ...(preHook.length ? { preHook } : {}), ...(postHook.length ? { postHook } : {}),
      // (Its hooks too, when it has some: state:modified sees a changed hook.)
      checksum: checksum(text.toString('utf8'), JSON.stringify(cfg.column_types ?? {}) + (preHook.length || postHook.length ? JSON.stringify([preHook, postHook]) : '')),
      ...(packageName ? { package: packageName } : {}),
    });
  }
  return out;
}

/** The folders of a YAML file under the project's (or package's) model path (`models/staging/x.yml` → `[staging]`). */
function yamlFolders(settings: ProjectSettings, file: string): string[] {
  const root = settings.paths.models.map((d) => d.replace(/\/$/, '')).find((d) => file.startsWith(`${d}/`));
  return root ? file.slice(root.length + 1).split('/').slice(0, -1) : [];
}

/** The declared sources that are enabled, with the project file's `sources:` config (one per id: a second declaration is an error). */
function configuredSources(settings: ProjectSettings, declared: readonly SourceNode[], diags: Diagnostic[], packageName?: string): SourceNode[] {
  const out = new Map<string, SourceNode>();
  for (const d of declared) {
    if (out.has(d.id)) {
      diags.push({ code: 'LAKE-P023', severity: 'error', message: `source ${d.sourceName}.${d.name} is declared twice`, file: d.path, line: d.line, hint: 'keep one declaration per source table' });
      continue;
    }
    let s = packageName ? { ...d, package: packageName } : d;
    if (settings.sourceConfigs) {
      // dbt_project.yml's `sources: {project: {+event_time: ..., source: {table: {+enabled: false}}}}`; the YAML's own event_time wins.
      // dbt's path has the folders of the YAML file under the model path first (the source's fqn:
      // `sources: {project: {staging: {source: ...}}}` for models/staging/sources.yml): it wins over the path without them.
      const tree = settings.sourceConfigs;
      const at = (folders: readonly string[]) => ({ ...folderConfig(tree, [...folders, s.sourceName]), ...nodeConfig(tree, [...folders, s.sourceName], s.name) });
      const folders = yamlFolders(settings, s.path);
      const fc = normaliseConfig(folders.length ? { ...at([]), ...at(folders) } : at([])) as Record<string, unknown>;
      if (fc.enabled === false || String(fc.enabled).toLowerCase() === 'false') continue;
      if (!s.eventTime && typeof fc.event_time === 'string' && fc.event_time.trim()) s = { ...s, eventTime: fc.event_time.trim() };
      // dbt 1.9's +freshness: only where the YAML gives none (a YAML freshness replaces it whole; its null turns it off).
      if (s.freshness === undefined && fc.freshness !== undefined) {
        const { freshness } = freshnessOf(fc.freshness, `source ${s.sourceName}.${s.name}`, path.relative(settings.root, settings.projectFile) || settings.projectFile, undefined, diags);
        if (freshness) s = { ...s, freshness };
      }
    }
    out.set(s.id, s);
  }
  return [...out.values()];
}

/**
 * An installed package's models, snapshots, seeds and sources (with the YAML beside them:
 * descriptions, columns, data tests), loaded as the root project's are, with `settings` from packageSettings.
 * Its singular tests and unit tests are read too (rendered as the root project's are); its analyses are not.
 */
function loadPackageNodes(settings: ProjectSettings, packageName: string, docBlocks: ReadonlyMap<string, string>, aliasName: NamingMacro | undefined, diags: Diagnostic[]): { models: ModelNode[]; seeds: SeedNode[]; sources: SourceNode[]; docBlocks: Map<string, string>; singularTests: Map<string, string>; unitTests: Record<string, unknown>[] } {
  const root = settings.root;
  // Jinja in its YAML renders with its vars.
  const render = propertiesRenderer(propertiesContext(settings));
  const { modelFiles, yamlFiles, docFiles, seedFiles, snapshotFiles } = projectFiles(settings);
  const ownBlocks = readDocBlocks(root, docFiles);
  const blocks = new Map([...docBlocks, ...ownBlocks]);
  const decls = withDocBlocks(root, readYamlDecls(settings, [...new Set(yamlFiles)], diags, render), blocks, diags);
  const factory = new ModelFactory(settings, decls.models, aliasName, packageName);
  const models = new Map<string, ModelNode>();
  for (const rel of modelFiles) {
    const rawSql = readIfPresent(underRoot(root, rel), diags, rel);
    if (rawSql === undefined) continue;
    const node = factory.build(rel, rawSql);
    const prev = models.get(node.id);
    if (prev) diags.push(duplicateModel(node.id, prev.path, rel));
    else if (node.config.enabled !== false) models.set(node.id, node);
  }
  // Its snapshots: the root project's `snapshots:` (top level, `<package>:`, folders) over its own.
  const over = settings.snapshotOverrides;
  const tree = (t: Record<string, unknown>, folders: readonly string[], name?: string) => {
    const at = (x: Record<string, unknown>, f: readonly string[]) => (name === undefined ? folderConfig(x, f) : nodeConfig(x, f, name));
    return over ? { ...at(t, folders), ...at(over, [packageName, ...folders]) } : at(t, folders);
  };
  for (const node of loadSnapshots(settings, snapshotFiles, (rel) => readIfPresent(underRoot(root, rel), diags, rel), decls.snapshots, tree, diags)) {
    if (models.has(node.id)) diags.push(duplicateModel(node.id, models.get(node.id)!.path, node.path));
    else models.set(node.id, { ...node, package: packageName });
  }
  // Its singular tests (its test-paths' .sql files; generic/ holds {% test %} blocks, read with its macros).
  const singularTests = new Map<string, string>();
  for (const dir of settings.paths.tests) {
    for (const f of listFiles(root, dir, ['.sql'])) {
      const within = f.slice(dir.length + 1);
      if (within.startsWith('generic/') || within.startsWith('fixtures/')) continue;
      const text = readIfPresent(path.join(root, f), diags, f);
      if (text !== undefined) singularTests.set(f, text);
    }
  }
  return { models: [...models.values()], seeds: readSeeds(settings, seedFiles, decls.seeds, aliasName, packageName), sources: configuredSources(settings, decls.sources, diags, packageName), docBlocks: ownBlocks, singularTests, unitTests: decls.unitTests };
}

/** The diagnostic for two model files that get the same id. */
export function duplicateModel(id: string, first: string, second: string): Diagnostic {
  return { code: 'LAKE-P021', severity: 'error', message: `two models are named ${id}: ${first} and ${second}`, file: second, line: 1, hint: 'rename one of the files (a model is named after its file)' };
}

/** A package's model or seed would build into the relation another node builds (as dbt, an error). */
function duplicateRelation(id: string, first: { readonly path: string; readonly package?: string }, second: { readonly path: string; readonly package?: string }): Diagnostic {
  const who = (n: { readonly path: string; readonly package?: string }) => `${n.path} (${n.package ? `package ${n.package}` : 'the root project'})`;
  return {
    code: 'LAKE-P021', severity: 'error', message: `two nodes would build ${id}: ${who(first)} and ${who(second)}`, file: second.path, line: 1,
    hint: `give one of them another schema or alias (for the package's, in the root project file: models: {${second.package ?? first.package}: {<name>: {+schema: ...}}}), or disable it (+enabled: false)`,
  };
}

/**
 * Builds a ModelNode from a model file's path and text: name from the file stem, schema from the
 * top folder (or `schema` config), config from folder defaults and the YAML beside the models.
 * Kept per loaded project so one changed file can be re-read without loading everything again.
 */
export class ModelFactory {
  private readonly folderCache = new Map<string, { config: Partial<ModelConfig>; schema: unknown; defaultSchema: string }>();

  /** `packageName`: the installed package whose models these are (settings are then packageSettings'). */
  constructor(private readonly settings: ProjectSettings, private readonly patches: ReadonlyMap<string, ModelPatch>, private readonly aliasName?: NamingMacro, private readonly packageName?: string) {}

  /** Is `rel` (relative, forward slashes) a model file of this project? */
  isModelPath(rel: string): boolean {
    return rel.endsWith('.sql') && this.settings.paths.models.some((d) => rel.startsWith(`${d.replace(/\/$/, '')}/`));
  }

  build(rel: string, rawSql: string): ModelNode {
    const settings = this.settings;
    const modelsDir = settings.paths.models.find((d) => rel.startsWith(`${d.replace(/\/$/, '')}/`)) ?? '';
    const inner = rel.slice(modelsDir ? modelsDir.replace(/\/$/, '').length + 1 : 0);
    const slash = inner.lastIndexOf('/');
    const folderKey = slash < 0 ? '' : inner.slice(0, slash);
    let folder = this.folderCache.get(folderKey);
    if (!folder) {
      const folders = folderKey ? folderKey.split('/') : [];
      const fc = folderConfig(settings.modelConfigs, folders);
      folder = { config: normaliseConfig(fc), schema: fc.schema, defaultSchema: settings.defaultSchema(folders) };
      this.folderCache.set(folderKey, folder);
    }
    const stem = inner.slice(slash + 1, -'.sql'.length);
    const patch = this.patches.get(stem);
    // A version of a versioned model is named `<model>_v<v>`, whatever its file's name (defined_in).
    const version = patch?.version;
    const name = version ? versionNodeName(version.model, version.v) : stem;
    // The model by name in the project file's tree, over its folders' config.
    const own = nodeConfig(settings.modelConfigs, folderKey ? folderKey.split('/') : [], version?.model ?? name);
    const hasOwn = Object.keys(own).length > 0;
    // A package's model: the root project's configs (its top level, then under the package's name,
    // its folders, the model's name) over all of the package's own, as dbt applies them.
    const fqnFolders = [settings.name, ...(folderKey ? folderKey.split('/') : [])];
    const overFolder = settings.modelOverrides ? folderConfig(settings.modelOverrides, fqnFolders) : {};
    const overNode = settings.modelOverrides ? nodeConfig(settings.modelOverrides, fqnFolders, name) : {};
    const layered = mergeConfig(defaultConfig(folder.defaultSchema), folder.config, hasOwn ? normaliseConfig(own) : {}, normaliseConfig(overFolder), normaliseConfig(overNode), patch?.config ?? {});
    const folderSchema = overNode.schema ?? overFolder.schema ?? (hasOwn && own.schema !== undefined ? own.schema : folder.schema);
    const custom = patch?.config.schema ?? folderSchema;
    const named = settings.nameSchema
      ? { ...layered, schema: settings.nameSchema(typeof custom === 'string' ? custom : null, { name, resource_type: 'model', path: rel }) }
      : withSchema(layered, settings, folderSchema, patch?.config.schema);
    // A project's generate_alias_name sees a version as dbt's node: the model's name and its version.
    const config = this.aliasName ? { ...named, alias: this.aliasName(typeof named.alias === 'string' ? named.alias : null, { name: version?.model ?? name, resource_type: 'model', path: rel, ...(version ? { version: version.v } : {}) }) } : named;
    return {
      kind: 'model', id: `${config.schema}.${name}`, name, path: rel, absPath: underRoot(settings.root, rel), rawSql, config,
      description: patch?.description, columns: patch?.columns ?? [], tests: patch?.tests ?? [], patchPath: patch?.file,
      ...(typeof custom === 'string' ? { customSchema: custom } : {}),
      ...(version ? { version } : {}), ...(patch?.deprecationDate ? { deprecationDate: patch.deprecationDate } : {}),
      ...(this.packageName ? { package: this.packageName } : {}),
    };
  }
}

const factories = new WeakMap<LoadedProject, ModelFactory>();

/** The ModelFactory of a project returned by loadProject (or derived with withModels). */
export function modelFactory(project: LoadedProject): ModelFactory | undefined {
  return factories.get(project);
}

/**
 * A copy of `project` with another set of models (same settings, YAML and macros), and its load
 * diagnostics replaced when `diagnostics` is given.
 */
export function withModels(project: LoadedProject, models: ReadonlyMap<string, ModelNode>, diagnostics?: readonly Diagnostic[]): LoadedProject {
  const next: LoadedProject = diagnostics ? { ...project, models, diagnostics } : { ...project, models };
  const f = factories.get(project);
  if (f) factories.set(next, f);
  return next;
}

function withSchema(c: ModelConfig, settings: ProjectSettings, folderSchema: unknown, yamlSchema: unknown): ModelConfig {
  const custom = yamlSchema ?? folderSchema;
  if (typeof custom === 'string') return { ...c, schema: settings.customSchema(custom) };
  return c;
}

