/**
 * A key per test declaration, for `state:` selection of tests: manifest.json lists the keys of the
 * project's tests (`test_checksums`), and a test whose key an earlier manifest lacks is new or
 * modified. Generic tests: the node and the YAML entry (name, column, arguments, config);
 * singular tests: the file and its text; unit tests: their YAML entry.
 */
import { createHash } from 'node:crypto';
import type { LoadedProject, TestDecl } from '../core/types.js';
import { stableJson } from '../graph/state.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 32);

/**
 * Not hashed: a project has thousands of generic tests and a hash each cost ~10-20 ms in a fresh
 * process; the declaration as JSON (in the YAML's own key order) is as exact and cheaper.
 */
export function genericTestKey(target: string, decl: Pick<TestDecl, 'name' | 'args' | 'config'>, column?: string): string {
  return `${target}|${column ?? ''}|${decl.name}|${JSON.stringify(decl.args)}|${JSON.stringify(decl.config)}`;
}

export function singularTestKey(file: string, text: string): string {
  return sha(`singular|${file}|${text}`);
}

export function unitTestKey(raw: Readonly<Record<string, unknown>>): string {
  return sha(`unit|${stableJson(Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('__'))))}`);
}

type Declared = { readonly tests: readonly TestDecl[]; readonly columns: readonly { readonly name: string; readonly tests: readonly TestDecl[] }[] };

/** The keys of every test the project declares (the compiled models, seeds, sources; singular; unit). */
export function projectTestKeys(project: LoadedProject, models: Iterable<readonly [string, Declared]>): string[] {
  const out: string[] = [];
  const of = (id: string, node: Declared) => {
    for (const d of node.tests) out.push(genericTestKey(id, d));
    for (const c of node.columns) for (const d of c.tests) out.push(genericTestKey(id, d, c.name));
  };
  for (const [id, m] of models) of(id, m);
  for (const s of project.seeds.values()) of(s.id, s);
  for (const s of project.sources.values()) of(s.id, s);
  for (const [file, text] of project.singularTests) out.push(singularTestKey(file, text));
  for (const raw of project.unitTests) out.push(unitTestKey(raw));
  return out.sort();
}
