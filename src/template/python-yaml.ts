/**
 * dbt's `fromyaml()` and `toyaml()`: PyYAML's safe_load (YAML 1.1: `yes` is true, `1.0` a float,
 * `2024-01-01` a date) and safe_dump (block style, sequences under a key not indented, strings
 * quoted only where PyYAML quotes them, long plain strings folded at 80 columns, a plain scalar
 * document ended by `...`).
 */
import { parseYaml11 } from '../project/yaml-file.js';
import { pyDate } from './python-datetime.js';
import { isPlain, isPyFloat, pyFloat, pyStr } from './python-repr.js';

/** PyYAML's implicit resolvers (YAML 1.1): a plain string matching one reads back as another type. */
const IMPLICIT = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:<<|=|~|null|Null|NULL|)$/,
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/,
];

/** dbt's fromyaml(): the value PyYAML's safe_load gives (floats stay floats, dates dates). */
export function fromYaml(text: string): unknown {
  return parseYaml11(text, (value, source) => {
    if (value instanceof Date) return pyDate(value, !/[Tt ]\d/.test(source ?? ''));
    if (typeof value === 'number' && source !== undefined && IMPLICIT[1]!.test(source)) return pyFloat(value);
    return value;
  });
}

const WIDTH = 80;
const INDICATOR_FIRST = '#,[]{}&*!|>\'"%@`';

type Style = 'plain' | 'single' | 'double';

/** How PyYAML's emitter writes string `s` in block context (its analyze_scalar and choose_scalar_style). */
function stringStyle(s: string): Style {
  if (s === '') return 'single';
  if (/[^\n\x20-\x7e]/.test(s) || / \n|\n /.test(s) || /^\n|\n$/.test(s)) return 'double';
  if (s.includes('\n')) return 'single';
  if (IMPLICIT.some((re) => re.test(s))) return 'single';
  if (s.startsWith('---') || s.startsWith('...') || /^\s|\s$/.test(s)) return 'single';
  const ws = (i: number) => i >= s.length || s[i] === ' ' || s[i] === '\t';
  if (INDICATOR_FIRST.includes(s[0]!) || ('-?:'.includes(s[0]!) && ws(1))) return 'single';
  for (let i = 1; i < s.length; i++) {
    if (s[i] === ':' && ws(i + 1)) return 'single';
    if (s[i] === '#' && (s[i - 1] === ' ' || s[i - 1] === '\t')) return 'single';
  }
  return 'plain';
}

/** Python's double-quoted YAML escapes (PyYAML writes non-ASCII escaped: allow_unicode is off). */
function doubleQuoted(s: string): string {
  const named: Record<string, string> = { '\0': '0', '\x07': 'a', '\b': 'b', '\t': 't', '\n': 'n', '\v': 'v', '\f': 'f', '\r': 'r', '\x1b': 'e', '"': '"', '\\': '\\' };
  return `"${[...s].map((c) => {
    if (named[c]) return `\\${named[c]}`;
    const code = c.codePointAt(0)!;
    if (code >= 0x20 && code <= 0x7e) return c;
    return code <= 0xff ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : code <= 0xffff ? `\\u${code.toString(16).toUpperCase().padStart(4, '0')}` : `\\U${code.toString(16).toUpperCase().padStart(8, '0')}`;
  }).join('')}"`;
}

/** Text written from `column`, single spaces turned into a line break once past 80 columns (PyYAML's folding). */
function folded(text: string, column: number, indent: number, fold: boolean): string {
  if (!fold) return text;
  let out = '';
  let col = column;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' && col > WIDTH && text[i - 1] !== ' ' && text[i + 1] !== ' ' && i > 0 && i < text.length - 1) {
      out += `\n${' '.repeat(indent)}`;
      col = indent;
      continue;
    }
    if (c === '\n') col = 0;
    out += c;
    col++;
  }
  return out;
}

/** A scalar as PyYAML represents it, written from `column`; continuation lines at `indent`. */
function scalar(v: unknown, column: number, indent: number, fold = true): { text: string; plain: boolean } {
  if (v === null || v === undefined) return { text: 'null', plain: true };
  if (v === true || v === false) return { text: String(v), plain: true };
  if (typeof v === 'number' || v instanceof Number) {
    const n = Number(v);
    if (Number.isNaN(n)) return { text: '.nan', plain: true };
    if (!Number.isFinite(n)) return { text: n > 0 ? '.inf' : '-.inf', plain: true };
    if (!isPyFloat(v) && Number.isInteger(n) && typeof v === 'number') return { text: String(n), plain: true };
    const r = pyStr(v).toLowerCase();
    return { text: !r.includes('.') && r.includes('e') ? r.replace('e', '.0e') : r, plain: true };
  }
  const iso = (v as { isoformat?: unknown }).isoformat;
  if (typeof v === 'object' && typeof iso === 'function') return { text: String((iso as () => unknown).call(v)).replace('T', ' '), plain: true };
  const s = pyStr(v);
  const style = stringStyle(s);
  if (style === 'plain') return { text: folded(s, column, indent, fold), plain: true };
  if (style === 'double') return { text: doubleQuoted(s), plain: false };
  const quoted = `'${s.replace(/'/g, "''").replace(/\n+/g, (br) => `${'\n'.repeat(br.length + 1)}${' '.repeat(indent)}`)}'`;
  return { text: folded(quoted, column, indent, fold), plain: false };
}

const isCollection = (v: unknown): v is unknown[] | Record<string, unknown> => Array.isArray(v) ? v.length > 0 : isPlain(v) && entries(v as object, false).length > 0;

function entries(o: object, sortKeys: boolean): [string, unknown][] {
  const list = Object.entries(o).filter(([k, x]) => k !== '__keywords' && x !== undefined);
  return sortKeys ? list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : list;
}

/** dbt's toyaml(): PyYAML's safe_dump(value, sort_keys=...) in block style. */
export function toYaml(value: unknown, sortKeys = false): string {
  let out = '';
  const column = () => out.length - out.lastIndexOf('\n') - 1;
  const newline = (indent: number) => { out += `\n${' '.repeat(indent)}`; };
  const leaf = (v: unknown, indent: number) => {
    if (Array.isArray(v)) out += '[]';
    else if (isPlain(v)) out += '{}';
    else out += scalar(v, column(), indent).text;
  };
  const mapping = (o: object, indent: number, inline: boolean) => {
    entries(o, sortKeys).forEach(([k, x], i) => {
      if (i > 0 || !inline) newline(indent);
      out += `${scalar(k, column(), indent, false).text}:`;
      if (Array.isArray(x) && isCollection(x)) sequence(x, indent, false);
      else if (isCollection(x)) mapping(x, indent + 2, false);
      else {
        out += ' ';
        leaf(x, indent + 2);
      }
    });
  };
  const sequence = (l: unknown[], indent: number, inline: boolean) => {
    l.forEach((x, i) => {
      if (i > 0 || !inline) newline(indent);
      out += '- ';
      if (Array.isArray(x) && isCollection(x)) sequence(x, indent + 2, true);
      else if (isCollection(x)) mapping(x, indent + 2, true);
      else leaf(x, indent + 2);
    });
  };
  if (Array.isArray(value) && isCollection(value)) sequence(value, 0, true);
  else if (isCollection(value)) mapping(value, 0, true);
  else {
    const s = Array.isArray(value) ? { text: '[]', plain: false } : isPlain(value) ? { text: '{}', plain: false } : scalar(value, 0, 2);
    return `${s.text}\n${s.plain ? '...\n' : ''}`;
  }
  return `${out}\n`;
}
