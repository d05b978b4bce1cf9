/**
 * dbt snapshots as nodes: `{% snapshot name %} ... {% endsnapshot %}` blocks in the .sql files of
 * the snapshot paths, and (dbt 1.9) YAML `snapshots:` entries with a `relation:`. Each becomes a
 * ModelNode with resourceType 'snapshot' and materialized 'snapshot' (materialize/snapshot.ts keeps
 * its history); its SQL is the block's body, after as many blank lines and spaces as came before
 * it in the file, so that template errors point at the file's own lines and columns.
 */
import type { Diagnostic } from '../errors/index.js';
import type { ModelConfig, ModelNode } from '../core/types.js';
import type { ProjectSettings } from './settings.js';
import type { ModelPatch } from './yaml-entries.js';
import { normaliseConfig, mergeConfig, defaultConfig } from './config.js';
import { underRoot } from './files.js';

interface SnapshotBlock {
  readonly name: string;
  /** The body, padded to its place in the file (see the header). */
  readonly sql: string;
  readonly line: number;
}

const OPEN = /\{%-?\s*snapshot\s+([A-Za-z_][\w]*)\s*-?%\}/g;
const CLOSE = /\{%-?\s*endsnapshot\s*-?%\}/g;

/** The snapshot blocks of one file, and what is wrong with its blocks (an unclosed one, a nameless one). */
export function snapshotBlocks(file: string, text: string, diags: Diagnostic[]): SnapshotBlock[] {
  const out: SnapshotBlock[] = [];
  const lineAt = (i: number) => text.slice(0, i).split('\n').length;
  OPEN.lastIndex = 0;
  for (let m = OPEN.exec(text); m; m = OPEN.exec(text)) {
    const start = m.index + m[0].length;
    CLOSE.lastIndex = start;
    const end = CLOSE.exec(text);
    const nextOpen = text.slice(start).search(/\{%-?\s*snapshot\s/);
    if (!end || (nextOpen >= 0 && start + nextOpen < end.index)) {
      diags.push({ code: 'LAKE-P060', severity: 'error', message: `snapshot '${m[1]}' has no {% endsnapshot %}`, file, line: lineAt(m.index), hint: 'close the block with {% endsnapshot %} after its SELECT' });
      break;
    }
    const before = text.slice(0, start);
    const lines = before.split('\n');
    const sql = `${'\n'.repeat(lines.length - 1)}${' '.repeat(lines[lines.length - 1]!.length)}${text.slice(start, end.index)}`;
    out.push({ name: m[1]!, sql, line: lineAt(m.index) });
    OPEN.lastIndex = end.index + end[0].length;
  }
  if (out.length === 0 && !diags.some((d) => d.file === file) && /\{%-?\s*snapshot\b/.test(text)) {
    diags.push({ code: 'LAKE-P060', severity: 'error', message: 'a {% snapshot %} block needs a name', file, line: lineAt(text.search(/\{%-?\s*snapshot\b/)), hint: 'write {% snapshot orders_snapshot %} ... {% endsnapshot %}' });
  }
  return out;
}

/** Config from the project file's `snapshots:` tree for a file's folders (and the snapshot by name). */
type TreeConfig = (tree: Record<string, unknown>, folders: readonly string[], name?: string) => Record<string, unknown>;

/**
 * A snapshot's node. Its schema: `target_schema` as written (dbt's older config), else a `schema`
 * config named as a model's custom schema is, else the snapshots' default (lake: `snapshots`; dbt:
 * the target's schema). A config() call in the body may change it again (compiler).
 */
export function snapshotNode(settings: ProjectSettings, tree: TreeConfig, at: { file: string; folders: readonly string[] }, name: string, sql: string, patch: ModelPatch | undefined): ModelNode {
  const folder = normaliseConfig(tree(settings.snapshotConfigs, at.folders));
  const own = normaliseConfig(tree(settings.snapshotConfigs, at.folders, name));
  const layered: ModelConfig = mergeConfig(defaultConfig(''), folder, own, patch?.config ?? {}, { materialized: 'snapshot' });
  const schema = snapshotSchema(settings, layered, name, at.file);
  return {
    kind: 'model', resourceType: 'snapshot', id: `${schema}.${name}`, name, path: at.file,
    absPath: underRoot(settings.root, at.file), rawSql: sql, config: { ...layered, schema },
    description: patch?.description, columns: patch?.columns ?? [], tests: patch?.tests ?? [], patchPath: patch?.file,
  };
}

function snapshotSchema(settings: ProjectSettings, c: ModelConfig, name: string, file: string): string {
  if (typeof c.target_schema === 'string' && c.target_schema) return c.target_schema;
  const custom = typeof c.schema === 'string' && c.schema ? c.schema : null;
  if (settings.nameSchema) return settings.nameSchema(custom, { name, resource_type: 'snapshot', path: file });
  if (custom) return settings.customSchema(custom);
  return settings.flavor === 'dbt' ? settings.defaultSchema([]) : 'snapshots';
}

/** The SQL of a YAML-defined snapshot (`relation: source('s', 't')`): every row of the relation. */
function relationSnapshotSql(relation: string): string {
  return `select * from {{ ${relation.trim()} }}`;
}

/**
 * Every snapshot of the project: the blocks of the snapshot paths' .sql files (their YAML entries
 * patch them), then the YAML entries with a `relation:` and no block. A YAML entry that names no
 * snapshot is a warning.
 */
export function loadSnapshots(
  settings: ProjectSettings, files: readonly string[], read: (rel: string) => string | undefined,
  patches: ReadonlyMap<string, ModelPatch>, tree: TreeConfig, diags: Diagnostic[],
): ModelNode[] {
  const out: ModelNode[] = [];
  const seen = new Map<string, string>();
  const dirs = (settings.paths.snapshots ?? ['snapshots']).map((d) => d.replace(/\/$/, ''));
  const foldersOf = (rel: string) => {
    const dir = dirs.find((d) => rel.startsWith(`${d}/`));
    return (dir ? rel.slice(dir.length + 1) : rel).split('/').slice(0, -1);
  };
  const add = (node: ModelNode, line: number | undefined) => {
    const prev = seen.get(node.name);
    if (prev) {
      diags.push({ code: 'LAKE-P061', severity: 'error', message: `two snapshots are named ${node.name} (also in ${prev})`, file: node.path, line, hint: 'rename one of them: a snapshot is a table, named after its block' });
      return;
    }
    seen.set(node.name, node.path);
    if (node.config.enabled !== false) out.push(node);
  };
  for (const rel of files) {
    const text = read(rel);
    if (text === undefined) continue;
    // dbt's fqn of a snapshot includes its file's name: `snapshots: {sub: {orders_file: {+schema: x}}}` applies to the file's blocks.
    const folders = [...foldersOf(rel), rel.slice(rel.lastIndexOf('/') + 1).replace(/\.sql$/, '')];
    for (const b of snapshotBlocks(rel, text, diags)) add(snapshotNode(settings, tree, { file: rel, folders }, b.name, b.sql, patches.get(b.name)), b.line);
  }
  for (const [name, patch] of patches) {
    if (seen.has(name)) continue;
    if (patch.relation && !/^\s*(ref|source)\s*\(.*\)\s*$/s.test(patch.relation)) {
      diags.push({ code: 'LAKE-P063', severity: 'error', message: `snapshot '${name}': relation must be a ref() or source() call, not ${patch.relation}`, file: patch.file, line: patch.line, hint: "e.g. relation: source('shop', 'orders') or relation: ref('stg_orders')" });
    } else if (patch.relation) {
      // Its "file" is the YAML entry's: errors in the generated SQL point there.
      const pad = '\n'.repeat(Math.max(0, (patch.line ?? 1) - 1));
      add(snapshotNode(settings, tree, { file: patch.file, folders: foldersOf(patch.file) }, name, `${pad}${relationSnapshotSql(patch.relation)}`, patch), patch.line);
    } else {
      diags.push({ code: 'LAKE-P062', severity: 'warn', message: `YAML describes snapshot '${name}', but no {% snapshot ${name} %} block defines it`, file: patch.file, line: patch.line, hint: `add relation: source('...', '...') (or ref('...')) to the entry to define it in YAML, or write the block in ${dirs[0] ?? 'snapshots'}/${name}.sql` });
    }
  }
  return out;
}

