/**
 * `--state <dir>`: read an earlier invocation's manifest.json and run_results.json for the
 * `state:` and `result:` selectors (graph/state.ts compares; this file only reads and reshapes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LakeError } from '../errors/index.js';
import type { Manifest } from './artifacts.js';
import type { SelectorState, StateEntry, StateManifest } from '../graph/state.js';

/** Manifest JSON (as written, or as built) → the entries the comparison reads. */
export function stateManifest(m: Pick<Manifest, 'nodes' | 'sources'> & { macros?: Record<string, unknown>; test_checksums?: unknown; metadata?: Record<string, unknown> }): StateManifest {
  const entries = new Map<string, StateEntry>();
  for (const [id, n] of Object.entries(m.nodes ?? {})) entries.set(id, n as unknown as StateEntry);
  for (const [id, n] of Object.entries(m.sources ?? {})) entries.set(id, n as unknown as StateEntry);
  const macros = new Map<string, string | undefined>();
  for (const [name, x] of Object.entries(m.macros ?? {})) {
    const sum = (x as { checksum?: unknown } | null)?.checksum;
    macros.set(name, typeof sum === 'string' ? sum : undefined);
  }
  const tests = Array.isArray(m.test_checksums) ? new Set(m.test_checksums.map(String)) : undefined;
  const targetPath = typeof m.metadata?.target_path === 'string' ? m.metadata.target_path : undefined;
  const target = typeof m.metadata?.target === 'string' ? m.metadata.target : undefined;
  return { entries, macros, ...(tests ? { tests } : {}), ...(targetPath ? { targetPath } : {}), ...(target ? { target } : {}) };
}

function readJson(file: string, dir: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* below */ }
  throw new LakeError('usage', { code: 'LAKE-G104', severity: 'error', message: `--state ${dir}: ${path.basename(file)} is not a JSON object`, file, hint: 'point --state at a target/ folder that lake wrote' });
}

/**
 * The state of `dir` for the selectors. `current` builds the project's own manifest on demand.
 * Throws LakeError('usage') when the folder does not exist.
 */
export function readSelectorState(dir: string, current: () => Pick<Manifest, 'nodes' | 'sources' | 'macros'>): SelectorState {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new LakeError('usage', { code: 'LAKE-G104', severity: 'error', message: `--state ${dir} is not a folder`, hint: 'point --state at the target/ folder of the invocation to compare with' });
  }
  const manifest = readJson(path.join(abs, 'manifest.json'), dir);
  const runResults = readJson(path.join(abs, 'run_results.json'), dir);
  let results: SelectorState['results'];
  if (runResults) {
    const list: { node: string; status: string; test?: string }[] = [];
    for (const r of Array.isArray(runResults.results) ? runResults.results as Record<string, unknown>[] : []) {
      if (typeof r?.id === 'string' && typeof r.status === 'string') list.push({ node: r.id, status: r.status });
    }
    for (const t of Array.isArray(runResults.tests) ? runResults.tests as Record<string, unknown>[] : []) {
      if (typeof t?.node === 'string' && typeof t.status === 'string') list.push({ node: t.node, status: t.status, test: typeof t.name === 'string' ? t.name : undefined });
    }
    results = list;
  }
  let cur: StateManifest | undefined;
  return {
    dir,
    previous: manifest ? stateManifest(manifest as unknown as Manifest) : undefined,
    current: () => (cur ??= stateManifest(current())),
    results,
  };
}
