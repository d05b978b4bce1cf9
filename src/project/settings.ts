/**
 * Project-level settings from `project.yml` (lake) or `dbt_project.yml` + `profiles.yml` (dbt):
 * name, targets, vars, paths, folder configs and run hooks, in one shape.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Diagnostic } from '../errors/index.js';
import { closest, LakeError } from '../errors/index.js';
import type { ProjectPaths, TargetConfig } from '../core/types.js';
import { parseYamlFile, isRecord, asList } from './yaml-file.js';
import { readDispatch } from './packages.js';
import { isConfigEntry, normaliseKey } from './config.js';

export interface ProjectSettings {
  readonly root: string;
  readonly name: string;
  readonly flavor: 'lake' | 'dbt';
  readonly target: TargetConfig;
  readonly targets: Record<string, TargetConfig>;
  readonly vars: Record<string, unknown>;
  readonly paths: ProjectPaths;
  /** Folder-config tree for models (already stripped of dbt's project-name level). */
  readonly modelConfigs: Record<string, unknown>;
  /** `data_tests:` (or dbt's older `tests:`) of the project file: config for every data test. */
  readonly testConfigs: Record<string, unknown>;
  /** `unit_tests:` of the project file: config (tags, enabled, meta) by the folders of the YAML file declaring a unit test. */
  readonly unitTestConfigs?: Record<string, unknown>;
  readonly seedConfigs: Record<string, unknown>;
  /** Folder-config tree for snapshots (`snapshots:` of the project file, without dbt's project-name level). */
  readonly snapshotConfigs: Record<string, unknown>;
  /** dbt's `sources:` of the project file (project level stripped): `+event_time`... by source, then table. */
  readonly sourceConfigs?: Record<string, unknown>;
  readonly onRunStart: string[];
  readonly onRunEnd: string[];
  /** Schema of a model with no explicit schema, from its folder segments under the models path. */
  defaultSchema(folders: readonly string[]): string;
  /** Final schema name for a configured `schema` (dbt prefixes the target schema). */
  customSchema(schema: string): string;
  readonly seedSchema: string;
  /** A dbt project's generate_schema_name: every node's schema from its custom schema and itself. */
  readonly nameSchema?: (custom: string | null, node: Readonly<Record<string, unknown>>) => string;
  readonly projectFile: string;
  /** Where `dbt deps` installs packages (dbt's `packages-install-path`, lake's `paths.packages`). */
  readonly packagesPath: string;
  /** dbt's `clean-targets` (what `lake clean` removes; absent: the target folder). */
  readonly cleanTargets?: readonly string[];
  /** `dispatch:` of the project file: the packages searched for a namespace's dispatched macros. */
  readonly dispatch: readonly { readonly namespace: string; readonly searchOrder: readonly string[] }[];
  /** Things of the project files lake does not apply (reported with the load's diagnostics). */
  readonly warnings?: readonly Diagnostic[];
  /**
   * A dbt project file's trees as written, project-name levels included (`models: {<package>:
   * {...}}` configures an installed package's models), its vars as written and --vars: what
   * packageSettings layers over a package's own.
   */
  readonly scoped?: {
    readonly models: Record<string, unknown>; readonly seeds: Record<string, unknown>; readonly snapshots: Record<string, unknown>;
    readonly sources: Record<string, unknown>; readonly vars: Record<string, unknown>; readonly cliVars: Record<string, unknown>;
  };
  /**
   * A package's: the root project's `models:` tree as written (its top level, then `<package>:`
   * and the folders under it, applied over modelConfigs, the package's own).
   */
  readonly modelOverrides?: Record<string, unknown>;
  /** A package's: the root project's `seeds:` tree as written. */
  readonly seedOverrides?: Record<string, unknown>;
  /** A package's: the root project's `snapshots:` tree as written. */
  readonly snapshotOverrides?: Record<string, unknown>;
}

export interface SettingsOptions {
  readonly target?: string;
  readonly vars?: Record<string, unknown>;
  readonly threads?: number;
}

/** Walk up from `start` to the folder with project.yml or dbt_project.yml. */
export function findProjectRoot(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'project.yml')) || fs.existsSync(path.join(dir, 'dbt_project.yml'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * dbt's `models:` (`seeds:`, `snapshots:`) tree for the project's own nodes: with a `<project>:`
 * level, the configs at the top level and then that level's, as one level (tags and hooks add up,
 * any other key the deeper level's), with the folders under it. dbt applies both; the top level's
 * other keys name installed packages.
 */
function ownTree(tree: Record<string, unknown>, project: string): Record<string, unknown> {
  const own = tree[project];
  if (!isRecord(own)) return tree;
  const out: Record<string, unknown> = {};
  for (const level of [tree, own]) {
    for (const [k, v] of Object.entries(level)) {
      if (!isConfigEntry(k, v)) continue;
      const key = `+${normaliseKey(k)}`;
      const additive = key === '+tags' || key === '+pre_hook' || key === '+post_hook';
      out[key] = additive && out[key] !== undefined ? [...asList(out[key]), ...asList(v)] : v;
    }
  }
  for (const [k, v] of Object.entries(own)) if (!isConfigEntry(k, v)) out[k] = v;
  return out;
}

function fail(file: string, message: string, hint: string, line?: number): never {
  throw new LakeError('project', { code: 'LAKE-P002', severity: 'error', message, file, line, hint });
}

function readYaml(root: string, rel: string, dbt = false): { data: Record<string, unknown>; lineOf: (k: (string | number)[]) => number | undefined } {
  const text = fs.readFileSync(path.join(root, rel), 'utf8');
  const diags: Diagnostic[] = [];
  const y = parseYamlFile(rel, text, diags, { yaml11Booleans: dbt });
  if (!y) throw new LakeError('project', diags);
  if (y.data === null || y.data === undefined) return { data: {}, lineOf: y.lineOf };
  if (!isRecord(y.data)) fail(rel, 'expected a mapping at the top of the file', 'write keys like `name: my_project`', 1);
  return { data: y.data, lineOf: y.lineOf };
}

const TARGET_KEYS = ['type', 'path', 'threads'];

function makeTarget(root: string, file: string, name: string, raw: unknown, threads?: number): TargetConfig {
  if (!isRecord(raw)) fail(file, `target '${name}' must be a mapping`, 'e.g. dev: { type: duckdb, path: target/lake.duckdb }');
  const type = String(raw.type ?? 'duckdb');
  if (type !== 'duckdb') fail(file, `target '${name}' has type '${type}', but only duckdb is supported`, 'set type: duckdb');
  // A misspelt key would be ignored: `pth:` would build into target/<name>.duckdb unnoticed.
  for (const key of Object.keys(raw)) {
    if (TARGET_KEYS.includes(key)) continue;
    const near = closest(key, TARGET_KEYS, 1);
    if (near.length) fail(file, `target '${name}' has an unknown key '${key}'`, `did you mean ${near[0]}?`);
  }
  if (raw.threads !== undefined && !(Number.isInteger(Number(raw.threads)) && Number(raw.threads) >= 1)) {
    fail(file, `target '${name}': threads must be a whole number, at least 1 (not ${String(raw.threads)})`, 'e.g. threads: 4');
  }
  const p = String(raw.path ?? `target/${name}.duckdb`);
  return {
    name,
    type: 'duckdb',
    path: p === ':memory:' ? p : path.resolve(root, p),
    threads: threads ?? Math.max(1, Number(raw.threads ?? 4)),
  };
}

/** The keys of project.yml lake reads (lakeSettings), at the top level and under `paths:`. */
const LAKE_PROJECT_KEYS = ['name', 'target', 'targets', 'vars', 'paths', 'models', 'seeds', 'snapshots', 'data_tests', 'tests', 'unit_tests', 'dispatch', 'on_run_start', 'on-run-start', 'on_run_end', 'on-run-end'];
const LAKE_PATH_KEYS = ['models', 'seeds', 'macros', 'tests', 'snapshots', 'target', 'packages'];

/**
 * project.yml keys lake does not read: a misspelt one (`varz:`, `thread:`, `paths: {modles: ...}`)
 * would otherwise be dropped without a word. Warnings, with the key meant.
 */
function unknownLakeKeys(data: Record<string, unknown>, lineOf: (k: (string | number)[]) => number | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const warn = (keyPath: string[], message: string, hint: string) => out.push({ code: 'LAKE-P051', severity: 'warn', message, file: 'project.yml', line: lineOf(keyPath), hint });
  for (const key of Object.keys(data)) {
    if (LAKE_PROJECT_KEYS.includes(key)) continue;
    // A target's own key written at the top level.
    const targetKey = closest(key, TARGET_KEYS, 1)[0];
    const near = closest(key, LAKE_PROJECT_KEYS, 2);
    warn([key], `'${key}' is not a project.yml key: lake does nothing with it`,
      targetKey && !near.length ? `did you mean targets: { <name>: { ${targetKey}: ... } }?` : near.length ? `did you mean ${near.join(' or ')}?` : `project.yml keys: ${LAKE_PROJECT_KEYS.filter((k) => !k.includes('-')).join(', ')}`);
  }
  if (isRecord(data.paths)) {
    for (const key of Object.keys(data.paths)) {
      if (LAKE_PATH_KEYS.includes(key)) continue;
      const near = closest(key, LAKE_PATH_KEYS, 2);
      warn(['paths', key], `paths: '${key}' is not a path lake knows: lake does nothing with it`, near.length ? `did you mean ${near.join(' or ')}?` : `paths: ${LAKE_PATH_KEYS.join(', ')}`);
    }
  }
  return out;
}

function lakeSettings(root: string, opts: SettingsOptions): ProjectSettings {
  const file = 'project.yml';
  const { data, lineOf } = readYaml(root, file);
  if (typeof data.name !== 'string' || !data.name) fail(file, 'project.yml needs a `name`', 'add `name: my_lakehouse`', 1);
  const rawTargets = isRecord(data.targets) ? data.targets : { dev: { type: 'duckdb', path: 'target/lake.duckdb' } };
  const targets: Record<string, TargetConfig> = {};
  for (const [n, t] of Object.entries(rawTargets)) targets[n] = makeTarget(root, file, n, t, opts.threads);
  const targetName = opts.target ?? process.env.LAKE_TARGET ?? (typeof data.target === 'string' ? data.target : Object.keys(targets)[0]!);
  const target = targets[targetName];
  if (!target) fail(file, `unknown target '${targetName}'`, `use one of: ${Object.keys(targets).join(', ')}`, lineOf(['targets']));
  const p = isRecord(data.paths) ? data.paths : {};
  const paths: ProjectPaths = {
    models: p.models ? asList(p.models) : ['models'],
    seeds: p.seeds ? asList(p.seeds) : ['seeds'],
    macros: p.macros ? asList(p.macros) : ['macros'],
    // data_tests/ is lake's place for singular tests; tests/ (dbt's) is read too, so files moved
    // over from a dbt project are not silently left out.
    tests: p.tests ? asList(p.tests) : ['data_tests', 'tests'],
    snapshots: p.snapshots ? asList(p.snapshots) : ['snapshots'],
    target: typeof p.target === 'string' ? p.target : 'target',
  };
  const warnings: Diagnostic[] = unknownLakeKeys(data, lineOf);
  const dispatch = readDispatch(data.dispatch, file, warnings, lineOf);
  return {
    root, name: data.name as string, flavor: 'lake', target, targets, warnings, dispatch,
    packagesPath: typeof p.packages === 'string' ? p.packages : 'dbt_packages',
    vars: { ...(isRecord(data.vars) ? data.vars : {}), ...(opts.vars ?? {}) },
    paths,
    modelConfigs: isRecord(data.models) ? data.models : {},
    testConfigs: isRecord(data.data_tests) ? data.data_tests : isRecord(data.tests) ? data.tests : {},
    ...(isRecord(data.unit_tests) ? { unitTestConfigs: data.unit_tests } : {}),
    seedConfigs: isRecord(data.seeds) ? data.seeds : {},
    snapshotConfigs: isRecord(data.snapshots) ? data.snapshots : {},
    onRunStart: asList(data.on_run_start ?? data['on-run-start']),
    onRunEnd: asList(data.on_run_end ?? data['on-run-end']),
    defaultSchema: (folders) => folders[0] ?? 'main',
    customSchema: (s) => s,
    seedSchema: typeof (data.seeds as Record<string, unknown> | undefined)?.schema === 'string' ? String((data.seeds as Record<string, unknown>).schema) : 'seeds',
    projectFile: file,
  };
}

/**
 * The folder of the profiles.yml a dbt project uses, as dbt looks for it: the one --profiles-dir
 * or DBT_PROFILES_DIR names (which must have it: dbt stops there too, rather than using another),
 * else the project folder, then ~/.dbt. Undefined when there is none: lake then builds into
 * target/dev.duckdb (dbt would stop).
 */
export function findProfilesDir(root: string): string | undefined {
  const given = process.env.DBT_PROFILES_DIR;
  if (given) {
    if (fs.existsSync(path.join(given, 'profiles.yml'))) return given;
    fail(path.join(given, 'profiles.yml'), `no profiles.yml in ${given} (given by --profiles-dir or DBT_PROFILES_DIR)`, "point --profiles-dir (or DBT_PROFILES_DIR) at the folder holding the project's profiles.yml, or leave both out to use the project's or ~/.dbt's");
  }
  return [root, path.join(os.homedir(), '.dbt')].find((d) => fs.existsSync(path.join(d, 'profiles.yml')));
}

function dbtSettings(root: string, opts: SettingsOptions): ProjectSettings {
  const file = 'dbt_project.yml';
  // dbt renders dbt_project.yml: {{ env_var('X', 'default') }} in its values is the environment's
  // (other Jinja, such as var() in a config, is left for the model's render).
  const projectYaml = readYaml(root, file, true);
  const projectLineOf = projectYaml.lineOf;
  const data = renderEnvVars(projectYaml.data, file) as Record<string, unknown>;
  const name = String(data.name ?? 'dbt_project');
  const profileName = String(data.profile ?? name);
  const profilesDir = findProfilesDir(root);
  const targets: Record<string, TargetConfig> = {};
  let targetSchema = 'main';
  let targetName = opts.target;
  const warnings: Diagnostic[] = [];
  if (profilesDir) {
    const prel = path.relative(root, path.join(profilesDir, 'profiles.yml')) || 'profiles.yml';
    const { data: profiles, lineOf } = readYaml(profilesDir, 'profiles.yml', true);
    const profile = profiles[profileName];
    if (!isRecord(profile)) fail(prel, `profile '${profileName}' not found`, `add a '${profileName}:' profile with a duckdb output`);
    const outputs = isRecord(profile.outputs) ? profile.outputs : {};
    targetName ??= String(renderProfileValue(profile.target, prel, lineOf([profileName, 'target'])) ?? Object.keys(outputs)[0]);
    for (const [n, o] of Object.entries(outputs)) {
      if (!isRecord(o)) continue;
      // dbt renders profiles.yml: {{ env_var('X', 'default') }} in a value is the environment's.
      const v = (k: string) => renderProfileValue(o[k], prel, lineOf([profileName, 'outputs', n, k]));
      const type = String(v('type') ?? 'duckdb');
      // Outputs for other warehouses (prod on Snowflake...) are allowed beside the duckdb one;
      // only choosing one of them is an error.
      if (type !== 'duckdb') {
        if (n === targetName) fail(prel, `target '${n}' has type '${type}', but lake runs on duckdb only`, `choose a duckdb output with --target (${Object.entries(outputs).filter(([, x]) => isRecord(x) && (x.type ?? 'duckdb') === 'duckdb').map(([k]) => k).join(', ') || 'none here'}), or set the profile's target:`, lineOf([profileName, 'outputs', n, 'type']));
        continue;
      }
      // dbt's default is one thread (its profile.py DEFAULT_THREADS), and projects rely on its order.
      targets[n] = makeTarget(root, prel, n, { type, path: v('path') ?? `target/${n}.duckdb`, threads: v('threads') ?? 1 }, opts.threads);
      if (typeof v('external_root') === 'string') targets[n] = { ...targets[n]!, externalRoot: String(v('external_root')) };
      // dbt-duckdb's options that change what SQL can read, which lake does not apply: said, not dropped silently.
      for (const k of ['attach', 'extensions', 'settings', 'plugins', 'filesystems', 'secrets']) {
        if (n === targetName && o[k] !== undefined) {
          warnings.push({ code: 'LAKE-P052', severity: 'warn', message: `profiles.yml output '${n}': '${k}' is not applied by lake`, file: prel, line: lineOf([profileName, 'outputs', n, k]), hint: k === 'attach' ? "ATTACH it in an on-run-start hook instead (ATTACH IF NOT EXISTS 'path' AS alias); sources with database: alias then read from it" : `set it up in an on_run_start hook (e.g. INSTALL/LOAD, SET) instead` });
        }
      }
      if (n === targetName && typeof v('schema') === 'string') targetSchema = String(v('schema'));
    }
  } else {
    targets.dev = makeTarget(root, file, 'dev', { type: 'duckdb', path: 'target/dev.duckdb' }, opts.threads);
    targetName ??= 'dev';
  }
  const target = targets[targetName!];
  if (!target) fail('profiles.yml', `unknown target '${targetName}'`, `use one of: ${Object.keys(targets).join(', ')}`);
  const models = isRecord(data.models) ? data.models : {};
  const seeds = isRecord(data.seeds) ? data.seeds : {};
  const snapshots = isRecord(data.snapshots) ? data.snapshots : {};
  const dispatch = readDispatch(data.dispatch, file, warnings, projectLineOf);
  return {
    root, name, flavor: 'dbt', target, targets, warnings, dispatch,
    packagesPath: typeof data['packages-install-path'] === 'string' ? (data['packages-install-path'] as string) : 'dbt_packages',
    ...(Array.isArray(data['clean-targets']) ? { cleanTargets: (data['clean-targets'] as unknown[]).map(String) } : {}),
    // dbt allows vars scoped to the project (`vars: {jaffle_shop: {...}}`): flatten ours.
    vars: { ...flatVars(data.vars, name), ...(opts.vars ?? {}) },
    paths: {
      models: data['model-paths'] ? asList(data['model-paths']) : ['models'],
      seeds: data['seed-paths'] ? asList(data['seed-paths']) : ['seeds'],
      macros: data['macro-paths'] ? asList(data['macro-paths']) : ['macros'],
      tests: data['test-paths'] ? asList(data['test-paths']) : ['tests'],
      snapshots: data['snapshot-paths'] ? asList(data['snapshot-paths']) : ['snapshots'],
      target: typeof data['target-path'] === 'string' ? (data['target-path'] as string) : 'target',
    },
    modelConfigs: ownTree(models, name),
    testConfigs: ((t: unknown) => (isRecord(t) ? (isRecord(t[name]) ? { ...t, ...(t[name] as Record<string, unknown>) } : t) : {}))(data.data_tests ?? data.tests),
    ...(isRecord(data.unit_tests) ? { unitTestConfigs: isRecord(data.unit_tests[name]) ? { ...data.unit_tests, ...(data.unit_tests[name] as Record<string, unknown>) } : data.unit_tests } : {}),
    seedConfigs: ownTree(seeds, name),
    snapshotConfigs: ownTree(snapshots, name),
    sourceConfigs: ((t: unknown) => (isRecord(t) ? (isRecord(t[name]) ? (t[name] as Record<string, unknown>) : t) : {}))(data.sources),
    onRunStart: asList(data['on-run-start']),
    onRunEnd: asList(data['on-run-end']),
    scoped: { models, seeds, snapshots, sources: isRecord(data.sources) ? data.sources : {}, vars: isRecord(data.vars) ? data.vars : {}, cliVars: opts.vars ?? {} },
    defaultSchema: () => targetSchema,
    customSchema: (s) => `${targetSchema}_${s}`,
    seedSchema: targetSchema,
    projectFile: file,
  };
}

/**
 * A profiles.yml value with its `{{ env_var('NAME') }}` / `{{ env_var('NAME', 'default') }}`
 * calls (optionally `| int`, `| as_number`) replaced, as dbt renders the file. A value that is
 * only such a call and ends in `| int` or `| as_number` becomes a number.
 */
function renderProfileValue(v: unknown, file: string, line: number | undefined, strict = true): unknown {
  if (typeof v !== 'string' || !v.includes('{{')) return v;
  const call = /\{\{\s*env_var\(\s*(['"])([^'"]+)\1\s*(?:,\s*(?:(['"])(.*?)\3|([\w.-]+))\s*)?\)\s*(?:\|\s*(int|as_number|as_text|string)\s*)?\}\}/g;
  let numeric = false;
  const out = v.replace(call, (_m, _q, name: string, _q2, quoted: string | undefined, bare: string | undefined, filter: string | undefined) => {
    const value = process.env[name] ?? quoted ?? bare;
    if (value === undefined) fail(file, `environment variable '${name}' is not set`, `export ${name}=... or give a default: env_var('${name}', '...')`, line);
    numeric = filter === 'int' || filter === 'as_number';
    return value!;
  });
  if (strict && (out.includes('{{') || out.includes('{%'))) fail(file, `only {{ env_var(...) }} is rendered in profiles.yml, not: ${v}`, 'write the value itself, or use env_var()', line);
  return numeric && /^-?\d+(\.\d+)?$/.test(out.trim()) ? Number(out) : out;
}

function renderEnvVars(v: unknown, file: string): unknown {
  if (typeof v === 'string') return renderProfileValue(v, file, undefined, false);
  if (Array.isArray(v)) return v.map((x) => renderEnvVars(x, file));
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderEnvVars(x, file)]));
  return v;
}

function flatVars(raw: unknown, project: string): Record<string, unknown> {
  if (!isRecord(raw)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (k !== project) out[k] = v;
  if (isRecord(raw[project])) Object.assign(out, raw[project]);
  return out;
}

export function readSettings(root: string, opts: SettingsOptions = {}): ProjectSettings {
  if (fs.existsSync(path.join(root, 'project.yml'))) return lakeSettings(root, opts);
  if (fs.existsSync(path.join(root, 'dbt_project.yml'))) return dbtSettings(root, opts);
  throw new LakeError('project', {
    code: 'LAKE-P000', severity: 'error', message: `no project.yml (or dbt_project.yml) in ${root}`,
    hint: 'run lake from a project folder, pass --project-dir, or create one with `lake init <dir>`',
  });
}
