/**
 * Which project files the watch cares about and what kind each one is. Editors leave swap files,
 * backups and temp files beside the real ones; anything that is not a model, macro, seed, snapshot,
 * YAML or project file is ignored here so it never triggers a rebuild.
 */
import * as path from 'node:path';
import type { ProjectPaths } from '../core/types.js';

/** What a changed file is, which decides how far a change reaches. */
export type FileKind = 'project' | 'model' | 'seed' | 'macro' | 'test' | 'yaml' | 'snapshot';

/** One file that changed on disk, as the watch saw it after debouncing. */
export interface FileChange {
  /** Relative to the project root, forward slashes. */
  readonly path: string;
  readonly kind: FileKind;
  /** The file is gone (deleted or renamed away) when the change is handled. */
  readonly deleted: boolean;
  /**
   * A model file's text as read when the change was confirmed, so the compiler compiles exactly
   * the state the watch looked at (not a later, half-written one). Absent for other kinds.
   */
  readonly text?: string;
}

/** Files at the project root that change the whole project (packages.yml: a `local:` package is read where it lies). */
export const PROJECT_FILES: readonly string[] = ['project.yml', 'dbt_project.yml', 'profiles.yml', 'packages.yml', 'dependencies.yml'];

/** What an installed package's folder holds that lake reads: models, macros, seeds, tests, YAML, docs. */
const PACKAGE_FILE = /\.(sql|ya?ml|csv|md|jinja|njk)$/;

const YAML = /\.ya?ml$/;

function under(rel: string, dirs: readonly string[]): boolean {
  return dirs.some((d) => {
    const dir = d.replace(/^\.\//, '').replace(/\/+$/, '');
    return dir === '' || dir === '.' || rel.startsWith(`${dir}/`);
  });
}

/**
 * The kind of `rel` (relative, forward slashes), or undefined when the watch ignores it.
 * `packages`: the folders of installed dbt packages (dbt_packages/, a `local:` package's folder,
 * possibly outside the project): a file there can change any node, as project.yml can.
 */
export function classify(rel: string, paths: ProjectPaths, packages: readonly string[] = []): FileKind | undefined {
  if (PROJECT_FILES.includes(rel)) return 'project';
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  if (base.startsWith('.') || rel.split('/').some((seg) => seg === 'node_modules' || (seg.startsWith('.') && seg !== '..'))) return undefined;
  const target = paths.target.replace(/^\.\//, '').replace(/\/+$/, '');
  if (target && (rel === target || rel.startsWith(`${target}/`))) return undefined;
  if (packages.length && under(rel, packages)) return PACKAGE_FILE.test(rel) ? 'project' : undefined;
  if (under(rel, paths.models)) {
    if (rel.endsWith('.sql')) return 'model';
    if (YAML.test(rel)) return 'yaml';
  }
  if (under(rel, paths.seeds)) {
    if (rel.endsWith('.csv')) return 'seed';
    if (YAML.test(rel)) return 'yaml';
  }
  if (under(rel, paths.macros)) {
    if (/\.(sql|jinja|njk)$/.test(rel)) return 'macro';
    if (YAML.test(rel)) return 'yaml';
  }
  if (under(rel, paths.tests)) {
    if (rel.endsWith('.sql')) return 'test';
    if (YAML.test(rel)) return 'yaml';
  }
  // A snapshot file is compiled again (its history is taken by lake snapshot, never by a save).
  if (under(rel, paths.snapshots ?? ['snapshots'])) {
    if (rel.endsWith('.sql')) return 'snapshot';
    if (YAML.test(rel)) return 'yaml';
  }
  return undefined;
}

/** Absolute paths to hand to the file watcher: the project files, every project folder and the packages' folders. */
export function watchTargets(root: string, paths: ProjectPaths, packages: readonly string[] = []): string[] {
  const dirs = [...paths.models, ...paths.seeds, ...paths.macros, ...paths.tests, ...(paths.snapshots ?? ['snapshots']), ...packages].map((d) => path.resolve(root, d));
  return [...new Set([...PROJECT_FILES.map((f) => path.join(root, f)), ...dirs])];
}

/** `root`-relative, forward-slash form of an absolute path. */
export function relPath(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}
