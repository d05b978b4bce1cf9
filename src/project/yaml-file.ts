/**
 * YAML reading with positions: parse errors become diagnostics with the file's line, and values
 * can be mapped back to the line they were written on. Plain project YAML goes through the fast
 * reader (yaml-fast.ts); anything else, errors included, through the `yaml` package, which is
 * loaded only then (it costs ~25 ms to load).
 */
import { createRequire } from 'node:module';
import type { Node as YamlNode } from 'yaml';
import type { Diagnostic } from '../errors/index.js';
import { codeFrame } from '../errors/index.js';
import { parseYamlFast, fastLineOf, YAML11_BOOL, yaml11True } from './yaml-fast.js';

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;
/** A YAML value (flow mappings like `{round: 2}` included), for `--vars` given as dbt accepts it. */
export function parseYamlValue(text: string): unknown {
  return yamlLib().parse(text);
}

/**
 * A YAML value read as PyYAML's safe_load reads it (YAML 1.1: `yes`/`on` are true, `010` is octal,
 * dates are timestamps), each plain scalar passed through `scalar` with its source text, so that
 * the caller can type it (a `1.0` is a float in Python). Throws on invalid YAML.
 */
export function parseYaml11(text: string, scalar: (value: unknown, source: string | undefined) => unknown): unknown {
  const lib = yamlLib();
  const doc = lib.parseDocument(text, { version: '1.1' });
  if (doc.errors.length) throw doc.errors[0];
  lib.visit(doc, {
    Scalar(_key, node) {
      if (node.type === 'PLAIN') node.value = scalar(node.value, node.source);
    },
  });
  return doc.toJS({ maxAliasCount: -1 });
}

function yamlLib(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule;
}

/** Use the fast reader where it applies (tests turn it off to compare; LAKE_FAST_YAML=0 too). */
let fastYaml = process.env.LAKE_FAST_YAML !== '0';
export function setFastYaml(on: boolean): void {
  fastYaml = on;
}

export interface YamlFile {
  readonly path: string;
  readonly data: unknown;
  /** Line (1-based) of the node at a key path, e.g. ['models', 0, 'name']. */
  lineOf(keyPath: readonly (string | number)[]): number | undefined;
}

/**
 * The yaml library's error in a user's words, at the line to fix. `key: value` followed by a line
 * indented deeper is reported at the value ("Nested mappings are not allowed in compact
 * mappings"): the deeper line is the mistake. Without one, the value itself holds ': ' unquoted.
 */
function explainYamlError(text: string, code: string, message: string, pos: { line: number; col: number } | undefined): { message: string; hint: string; pos?: { line: number; col: number } } {
  const generic = { message, hint: 'fix the YAML syntax (indentation, a missing colon or quote)', ...(pos ? { pos } : {}) };
  if (!pos || (code !== 'BLOCK_AS_IMPLICIT_KEY' && code !== 'MULTILINE_IMPLICIT_KEY')) return generic;
  const lines = text.split(/\r?\n/);
  const here = lines[pos.line - 1] ?? '';
  const keyMatch = /^(\s*(?:-\s+)?)([^\s:#][^:#]*?):\s/.exec(here);
  if (!keyMatch) return generic;
  const keyCol = keyMatch[1]!.length;
  let next = pos.line;
  while (next < lines.length && !lines[next]!.trim()) next++;
  const indent = next < lines.length ? /^\s*/.exec(lines[next]!)![0].length : -1;
  if (indent > keyCol) {
    return {
      message: `line ${next + 1} is indented more than the key on line ${pos.line} (${keyMatch[2]}:)`,
      hint: 'indent it as the keys beside it (keys of one mapping start in the same column)',
      pos: { line: next + 1, col: indent + 1 },
    };
  }
  const value = here.slice(pos.col - 1).trim();
  return { message, hint: `a value holding ': ' needs quotes (${keyMatch[2]}: "${value.replace(/"/g, '\\"')}")`, pos };
}

/**
 * `yaml11Booleans`: a dbt project's YAML, which dbt reads with PyYAML (YAML 1.1): a plain `yes`,
 * `no`, `on` or `off` is a boolean there (quoted, a string). Its other 1.1 readings (dates as
 * date objects, `0777` as octal) are left as YAML 1.2 reads them.
 */
export function parseYamlFile(relPath: string, text: string, diagnostics: Diagnostic[], opts: { yaml11Booleans?: boolean } = {}): YamlFile | undefined {
  if (fastYaml) {
    const fast = parseYamlFast(text, opts);
    if (fast) return { path: relPath, data: fast.value, lineOf: (keyPath) => fastLineOf(fast.root, keyPath) };
  }
  const { parseDocument, isMap, isSeq, isScalar, LineCounter, visit, Scalar } = yamlLib();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (opts.yaml11Booleans && doc.errors.length === 0) {
    visit(doc, {
      Scalar(_key, node) {
        if (node.type === Scalar.PLAIN && typeof node.value === 'string' && YAML11_BOOL.test(node.value)) node.value = yaml11True(node.value);
      },
    });
  }
  if (doc.errors.length > 0) {
    const seen = new Set<string>();
    for (const err of doc.errors) {
      // Without prettyErrors, `linePos` is not filled in: map the offset ourselves.
      const at = err.linePos?.[0] ?? (err.pos ? lc.linePos(err.pos[0]) : undefined);
      // One mistake, one message: the library may report it twice at one place.
      const key = at ? `${at.line}:${at.col}` : err.message;
      if (seen.has(key)) continue;
      seen.add(key);
      const said = explainYamlError(text, err.code, err.message.split('\n')[0]!, at);
      const pos = said.pos;
      diagnostics.push({
        code: 'LAKE-P001',
        severity: 'error',
        message: `invalid YAML: ${said.message}`,
        file: relPath,
        line: pos?.line,
        col: pos?.col,
        frame: pos ? codeFrame(text, pos.line, pos.col) : undefined,
        hint: said.hint,
      });
    }
    return undefined;
  }
  const data = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  return {
    path: relPath,
    data,
    lineOf(keyPath) {
      let node: unknown = doc.contents;
      for (const k of keyPath) {
        if (isMap(node)) node = node.get(k, true);
        else if (isSeq(node) && typeof k === 'number') node = node.items[k];
        else return undefined;
        if (node === undefined) return undefined;
      }
      const range = (node as YamlNode | undefined)?.range ?? (isScalar(node) ? node.range : undefined);
      return range ? lc.linePos(range[0]).line : undefined;
    },
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string or list of strings as a list. */
export function asList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x) => String(x));
  return [String(v)];
}
