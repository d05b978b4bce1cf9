/**
 * Warnings (and bad folder-config values) about a project's files that loading does not need but
 * a user does: what applies to nothing, what lake leaves out. Read-only; returns diagnostics.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from '../errors/index.js';
import { closest } from '../errors/index.js';
import type { ProjectSettings } from './settings.js';
import { listFiles } from './files.js';
import { parseYamlFile, isRecord, type YamlFile } from './yaml-file.js';
import { CONFIG_KEYS, normaliseKey, enumValueProblem } from './config.js';

/**
 * Parts of a dbt project lake does not build, said once instead of left out silently: Python
 * models, analyses (packages: see packages.ts).
 */
export function unsupportedDbtParts(root: string, settings: ProjectSettings): Diagnostic[] {
  const out: Diagnostic[] = [];
  const warn = (file: string, message: string, hint: string) => out.push({ code: 'LAKE-P050', severity: 'warn', message, file, hint });
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const python = settings.paths.models.flatMap((d) => listFiles(root, d, ['.py']));
  if (python.length) warn(python[0]!, `lake does not run Python models (${count(python.length, '.py file')} under the models left out)`, 'write them as SQL models, or keep them in dbt');
  const analyses = listFiles(root, 'analyses', ['.sql']);
  if (analyses.length) warn('analyses', `lake does not compile analyses (${count(analyses.length, 'file')} in analyses/ left out)`, 'run them with lake show --inline "$(cat analyses/x.sql)"');
  return out;
}

/**
 * Folder configs of the project file that apply to nothing: a config key lake does not know
 * (`+materilized`), a folder or model name no model file has (`stagign:`) — as dbt warns about
 * unused config paths. Their YAML line is found in the project file. A top-level entry naming an
 * installed package (`packages`) configures that package's models: not checked here.
 */
export function unusedConfigPaths(settings: ProjectSettings, modelFiles: readonly string[], packages: readonly string[] = [], customStrategy?: (s: string) => boolean): Diagnostic[] {
  const tree = settings.modelConfigs;
  if (Object.keys(tree).length === 0) return [];
  // Few entries to check against many files: each looks for a file under it (or of its name).
  const dirs = settings.paths.models.map((d) => d.replace(/\/$/, ''));
  const folders = {
    has: (p: string) => {
      const prefixes = dirs.map((d) => `${d}/${p}/`);
      return modelFiles.some((f) => prefixes.some((x) => f.startsWith(x)));
    },
  };
  const models = { has: (p: string) => dirs.some((d) => modelFiles.includes(`${d}/${p}.sql`)) };
  const siblings = (depth: number): string[] => {
    const out = new Set<string>();
    for (const f of modelFiles) {
      const d = dirs.find((x) => f.startsWith(`${x}/`));
      const parts = (d ? f.slice(d.length + 1) : f).split('/');
      if (parts.length > depth) out.add(parts[depth - 1]!);
    }
    return [...out];
  };
  let file: YamlFile | undefined;
  const lineOf = (keyPath: string[]): number | undefined => {
    if (file === undefined) {
      try {
        file = parseYamlFile(settings.projectFile, fs.readFileSync(path.join(settings.root, settings.projectFile), 'utf8'), [], { yaml11Booleans: settings.flavor === 'dbt' }) ?? undefined;
      } catch { /* no line then */ }
    }
    return file?.lineOf(['models', settings.name, ...keyPath]) ?? file?.lineOf(['models', ...keyPath]);
  };
  const out: Diagnostic[] = [];
  const known = [...CONFIG_KEYS];
  const walk = (node: Record<string, unknown>, at: string[]) => {
    for (const [k, v] of Object.entries(node)) {
      const key = normaliseKey(k);
      if (k.startsWith('+') || (CONFIG_KEYS.has(key) && !isRecord(v)) || (!isRecord(v) && settings.flavor === 'lake')) {
        // A bad value is said once, here, at its line (every model under the folder has it).
        const bad = isRecord(v) ? undefined : enumValueProblem(key, v, customStrategy);
        if (bad) out.push({ code: 'LAKE-C010', severity: 'error', message: `models: ${[...at, k].join('.')}: ${bad.message}`, file: settings.projectFile, line: lineOf([...at, k]), hint: bad.hint });
        if (!CONFIG_KEYS.has(key)) {
          const near = closest(key, known, 2);
          // dbt takes any config key (a project's own, read with config.get): in a dbt project only a
          // near miss of a known one (a typo) is said.
          if (settings.flavor === 'lake' || near.length) {
            out.push({ code: 'LAKE-P051', severity: 'warn', message: `models: ${[...at, k].join('.')}: '${k}' is not a config lake knows: lake does nothing with it (config.get still gives it)`, file: settings.projectFile, line: lineOf([...at, k]), hint: near.length ? `did you mean ${near.map((x) => (k.startsWith('+') ? `+${x}` : x)).join(' or ')}?` : `configs: ${known.slice(0, 8).join(', ')}, ...` });
          }
        }
        continue;
      }
      if (!isRecord(v)) continue;
      // `models: {<installed package>: {...}}`: the package's models' config (packageSettings).
      if (at.length === 0 && packages.includes(k)) continue;
      const here = [...at, k];
      const p = here.join('/');
      if (folders.has(p)) {
        walk(v, here);
        continue;
      }
      // A mapping-valued config (docs: {show: false}, meta: {...}) where no folder has that name.
      if (models.has(p) || CONFIG_KEYS.has(key)) continue;
      const near = closest(k, siblings(here.length), 2);
      out.push({ code: 'LAKE-P051', severity: 'warn', message: `models: ${here.join('.')} applies to no model: no folder or model of that name under ${settings.paths.models.join(', ')}`, file: settings.projectFile, line: lineOf(here), hint: near.length ? `did you mean ${near.join(' or ')}?` : settings.flavor === 'dbt' && /^(true|false)$/.test(here[here.length - 1]!) ? "dbt reads YAML 1.1, where a plain yes, no, on or off is a boolean, also as a key: quote the folder's name (e.g. 'off':)" : 'fix the folder name, or remove the entry' });
    }
  };
  walk(tree, []);
  return out;
}
