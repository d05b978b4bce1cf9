/**
 * Installed dbt packages: what `dbt deps` put under `dbt_packages/` (or the project's
 * `packages-install-path`), plus `local:` packages of packages.yml / dependencies.yml read where
 * they are. lake reads their macros (and the generic tests written as `{% test %}` blocks among
 * them), namespaced by the package's name (`dbt_utils.generate_surrogate_key(...)`), and the
 * settings their models, seeds and sources are loaded with (`packageSettings`: the package's own
 * dbt_project.yml under the root project's configs for it, as dbt layers them); it never
 * downloads a package. Read-only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from '../errors/index.js';
import type { PackageMacros } from '../core/types.js';
import { listFiles } from './files.js';
import { parseYamlFile, isRecord, asList } from './yaml-file.js';
import type { ProjectSettings } from './settings.js';

export interface ReadPackages {
  readonly packages: readonly PackageMacros[];
  /** Each package's dbt_project.yml as written, by package name. */
  readonly projects: ReadonlyMap<string, Record<string, unknown>>;
  readonly diagnostics: readonly Diagnostic[];
}

/** The packages a project has installed (or declared as local), each with its macro files. */
export function readPackages(root: string, installPath: string, projectName: string): ReadPackages {
  const diags: Diagnostic[] = [];
  const found = new Map<string, PackageMacros>();
  const projects = new Map<string, Record<string, unknown>>();
  const read = (dir: string, declaredIn?: { file: string; line?: number }) => {
    const file = `${dir}/dbt_project.yml`;
    const abs = path.join(root, file);
    if (!fs.existsSync(abs)) {
      if (declaredIn) diags.push({ code: 'LAKE-P053', severity: 'warn', message: `local package ${dir} has no dbt_project.yml`, file: declaredIn.file, line: declaredIn.line, hint: 'point local: at the folder holding the package\'s dbt_project.yml' });
      return;
    }
    const parsed = parseYamlFile(file, fs.readFileSync(abs, 'utf8'), diags, { yaml11Booleans: true });
    const data = parsed && isRecord(parsed.data) ? parsed.data : {};
    const name = typeof data.name === 'string' && data.name ? data.name : path.basename(dir);
    if (name === projectName || found.has(name)) return;
    const macroFiles = new Map<string, string>();
    for (const m of data['macro-paths'] ? asList(data['macro-paths']) : ['macros']) {
      for (const f of listFiles(root, `${dir}/${m}`, ['.sql', '.jinja'])) macroFiles.set(f, fs.readFileSync(path.join(root, f), 'utf8'));
    }
    // dbt's place for generic tests: <test-paths>/generic/ holds {% test %} blocks, macros of the package.
    for (const t of data['test-paths'] ? asList(data['test-paths']) : ['tests']) {
      for (const f of listFiles(root, `${dir}/${t.replace(/\/$/, '')}/generic`, ['.sql'])) macroFiles.set(f, fs.readFileSync(path.join(root, f), 'utf8'));
    }
    found.set(name, { name, dir, macroFiles });
    projects.set(name, data);
  };

  const install = installPath.replace(/\/$/, '');
  const installAbs = path.join(root, install);
  if (fs.existsSync(installAbs)) {
    for (const e of fs.readdirSync(installAbs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if ((e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.')) read(`${install}/${e.name}`);
    }
  }

  // packages.yml (or dependencies.yml, dbt 1.6+): local packages are read in place; the others
  // must have been installed by `dbt deps`, which lake does not do.
  for (const declFile of ['packages.yml', 'dependencies.yml']) {
    const abs = path.join(root, declFile);
    if (!fs.existsSync(abs)) continue;
    const parsed = parseYamlFile(declFile, fs.readFileSync(abs, 'utf8'), diags, { yaml11Booleans: true });
    if (!parsed || !isRecord(parsed.data)) continue;
    const list = Array.isArray(parsed.data.packages) ? parsed.data.packages : [];
    list.forEach((entry, i) => {
      if (!isRecord(entry)) return;
      const line = parsed.lineOf(['packages', i]);
      if (typeof entry.local === 'string') {
        read(path.relative(root, path.resolve(root, entry.local)).split(path.sep).join('/'), { file: declFile, line });
        return;
      }
      const spec = typeof entry.package === 'string' ? entry.package : typeof entry.git === 'string' ? entry.git : typeof entry.tarball === 'string' ? entry.tarball : undefined;
      if (!spec) return;
      // dbt names the installed folder after the package's project; a hub name's last part, or a
      // repository's name, is the usual one (dbt-labs/dbt_utils, .../dbt-utils.git).
      const guess = spec.replace(/\.git$|\/$/g, '').split(/[/:]/).pop()!.replace(/-/g, '_');
      if (found.has(guess) || [...found.values()].some((p) => path.basename(p.dir).replace(/-/g, '_') === guess)) return;
      diags.push({
        code: 'LAKE-P054', severity: 'warn', message: `package ${spec} is not installed in ${install}/: its macros, models and tests are unknown`, file: declFile, line,
        hint: 'run `dbt deps` once (lake reads installed packages but never downloads them), or copy what the project uses into macros/ and models/',
      });
    });
  }
  return { packages: [...found.values()], projects, diagnostics: diags };
}

/**
 * The settings a package's models, seeds and sources load with: its own paths (under its folder),
 * its dbt_project.yml's configs with the root project's for it on top (`models: {<package>:
 * {+schema: x}}` in the root's file: applied after the package's own, as dbt's), its vars under
 * the root project's (global ones, then those scoped to it, then --vars), its run hooks. Targets
 * and schema naming are the root project's.
 */
export function packageSettings(rootSettings: ProjectSettings, pkg: { readonly name: string; readonly dir: string }, data: Record<string, unknown>, packageNames: readonly string[]): ProjectSettings {
  const name = pkg.name;
  const scoped = rootSettings.scoped;
  const own = (key: string): Record<string, unknown> => {
    const t = data[key];
    return isRecord(t) ? (isRecord(t[name]) ? (t[name] as Record<string, unknown>) : t) : {};
  };
  const override = (key: 'sources'): Record<string, unknown> | undefined => {
    const t = scoped?.[key][name];
    return isRecord(t) ? t : undefined;
  };
  const paths = (key: string, dflt: string): string[] => (data[key] ? asList(data[key]) : [dflt]).map((p) => `${pkg.dir}/${p.replace(/\/$/, '')}`);
  const ownVars = isRecord(data.vars) ? data.vars : {};
  const rootVars = scoped?.vars ?? {};
  const projectNames = new Set([rootSettings.name, ...packageNames]);
  const globals = (vars: Record<string, unknown>) => Object.fromEntries(Object.entries(vars).filter(([k]) => !projectNames.has(k)));
  const vars = {
    ...globals(ownVars), ...(isRecord(ownVars[name]) ? ownVars[name] as Record<string, unknown> : {}),
    ...globals(rootVars), ...(isRecord(rootVars[name]) ? rootVars[name] as Record<string, unknown> : {}),
    ...(scoped?.cliVars ?? {}),
  };
  const sourceOverride = override('sources');
  const { unitTestConfigs: _rootUnitTests, ...base } = rootSettings;
  return {
    ...base,
    name, vars, warnings: [], dispatch: [],
    paths: {
      models: paths('model-paths', 'models'), seeds: paths('seed-paths', 'seeds'), macros: paths('macro-paths', 'macros'),
      tests: paths('test-paths', 'tests'), snapshots: paths('snapshot-paths', 'snapshots'), target: rootSettings.paths.target,
    },
    modelConfigs: own('models'),
    seedConfigs: own('seeds'),
    snapshotConfigs: own('snapshots'),
    sourceConfigs: sourceOverride ? deepMerge(own('sources'), sourceOverride) : own('sources'),
    // The root project's trees whole: their top level applies to every package's nodes too.
    ...(scoped && Object.keys(scoped.models).length ? { modelOverrides: scoped.models } : {}),
    ...(scoped && Object.keys(scoped.seeds).length ? { seedOverrides: scoped.seeds } : {}),
    ...(scoped && Object.keys(scoped.snapshots).length ? { snapshotOverrides: scoped.snapshots } : {}),
    onRunStart: asList(data['on-run-start']),
    onRunEnd: asList(data['on-run-end']),
    projectFile: `${pkg.dir}/dbt_project.yml`,
  };
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isRecord(v) && isRecord(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** dbt_project.yml's `dispatch:` (which packages implement a namespace's macros, in order). */
export function readDispatch(raw: unknown, file: string, diags: Diagnostic[], lineOf: (keys: (string | number)[]) => number | undefined): { namespace: string; searchOrder: string[] }[] {
  if (raw === undefined) return [];
  const out: { namespace: string; searchOrder: string[] }[] = [];
  const list = Array.isArray(raw) ? raw : [];
  if (!Array.isArray(raw)) diags.push({ code: 'LAKE-P055', severity: 'error', message: 'dispatch: must be a list of {macro_namespace, search_order}', file, line: lineOf(['dispatch']), hint: 'dispatch:\n  - macro_namespace: dbt_utils\n    search_order: [my_project, dbt_utils]' });
  list.forEach((d, i) => {
    if (!isRecord(d) || typeof d.macro_namespace !== 'string' || !Array.isArray(d.search_order)) {
      diags.push({ code: 'LAKE-P055', severity: 'error', message: 'a dispatch: entry needs macro_namespace (a package name) and search_order (a list of package names)', file, line: lineOf(['dispatch', i]), hint: '- macro_namespace: dbt_utils\n  search_order: [my_project, dbt_utils]' });
      return;
    }
    out.push({ namespace: d.macro_namespace, searchOrder: d.search_order.map(String) });
  });
  return out;
}
