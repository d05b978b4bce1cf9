/**
 * `lake clean`: remove what builds leave on disk (the target folder, or a dbt project's
 * clean-targets) — only folders inside the project that hold no models, seeds or macros, and
 * never a database another lake process holds (its target folder often holds the database).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedProject } from '../core/types.js';
import { LakeError } from '../errors/index.js';
import { openDatabase } from '../executor/open.js';

export interface Cleaned {
  /** The folders removed, relative to the project. */
  readonly removed: string[];
  /** The target databases removed with them, relative to the project. */
  readonly databases: string[];
}

export async function cleanProject(project: LoadedProject): Promise<Cleaned> {
  const root = project.root;
  const folders: string[] = [];
  // A dbt project's clean-targets, else the target folder.
  // Only inside the project, and never the project itself or one of its source folders.
  const sources = [...project.paths.models, ...project.paths.seeds, ...project.paths.macros].map((x) => path.resolve(root, x));
  for (const t of project.cleanTargets ?? [project.paths.target]) {
    const abs = path.resolve(root, t);
    const rel = path.relative(root, abs);
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel) || sources.some((x) => x === abs || x.startsWith(`${abs}${path.sep}`))) {
      throw new LakeError('usage', { code: 'LAKE-U056', severity: 'error', message: `clean target '${t}' is not a folder lake may remove: it must be inside the project and hold no models, seeds or macros`, hint: 'list build outputs only (target, dbt_packages, logs) under clean-targets' });
    }
    if (fs.existsSync(abs)) folders.push(abs);
  }
  // The targets' databases under them: each is opened (DuckDB's lock) before anything is removed,
  // so a database a running lake holds stops the clean, all of it.
  const databases = [...new Set(Object.values(project.targets).map((t) => t.path))]
    .filter((db) => db !== ':memory:' && fs.existsSync(db) && folders.some((f) => db.startsWith(`${f}${path.sep}`)));
  for (const db of databases) {
    try {
      await (await openDatabase(db, 'clean')).release();
    } catch (e) {
      const d = e instanceof LakeError ? e.diagnostics[0] : undefined;
      // Not a DuckDB file: it is removed as any other file of the folder.
      if (d?.code !== 'LAKE-E001') continue;
      throw new LakeError('usage', { ...d, hint: 'stop that run first: lake clean removes the database with the target folder' });
    }
  }
  for (const abs of folders) fs.rmSync(abs, { recursive: true, force: true });
  const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
  return { removed: folders.map(rel), databases: databases.map(rel) };
}
