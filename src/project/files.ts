/** File discovery under the project's folders (sorted, forward-slash relative paths). */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Files under `dir` (absolute) whose name ends with one of `exts`, relative to `root`. */
export function listFiles(root: string, dir: string, exts: readonly string[]): string[] {
  const abs = path.resolve(root, dir);
  if (!fs.existsSync(abs)) return [];
  const out: string[] = [];
  // Relative folder per parent, computed once per folder rather than once per file (10,000 models).
  const relDirs = new Map<string, string | null>();
  for (const entry of fs.readdirSync(abs, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const name = entry.name;
    if (name.startsWith('.') || !exts.some((e) => name.endsWith(e))) continue;
    const parent = (entry as unknown as { parentPath?: string; path?: string }).parentPath ?? (entry as unknown as { path: string }).path;
    let relDir = relDirs.get(parent);
    if (relDir === undefined) {
      const r = path.relative(root, parent).split(path.sep).join('/');
      // Hidden folders and node_modules are never project files.
      relDir = r.split('/').some((seg) => seg === 'node_modules' || (seg.startsWith('.') && seg !== '.' && seg !== '..')) ? null : r;
      relDirs.set(parent, relDir);
    }
    if (relDir === null) continue;
    out.push(relDir ? `${relDir}/${name}` : name);
  }
  return out.sort();
}

/** `root` + a relative path with forward slashes (what path.join does, without re-normalising). */
export function underRoot(root: string, rel: string): string {
  return root.endsWith('/') || root.endsWith(path.sep) ? `${root}${rel}` : `${root}/${rel}`;
}

/** "2s", "500ms", "1m", 3 (seconds) → milliseconds. */
export function parseDuration(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v * 1000;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(String(v));
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  return n * mult;
}
