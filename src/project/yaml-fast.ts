/**
 * A fast reader for the plain YAML that project files are written in: block mappings and
 * sequences, plain and quoted one-line scalars, one-line flow lists and maps of scalars, `|` and
 * `>` block scalars, comments — resolved with the YAML 1.2 core schema, as the `yaml` package does
 * by default.
 *
 * Why: the `yaml` package needs 150–300 ms (mostly before the JIT warms up) for the few thousand
 * lines of schema.yml a large project has, a third of the compile budget. This reader gives the
 * same data and the same line numbers, and returns undefined for anything else — tags, merge keys,
 * anchors inside flow collections or before a key on the same line, multi-line plain or quoted
 * scalars, duplicate keys, tabs in indentation, anything malformed — so the caller hands that file
 * to the `yaml` package, which also produces the error messages. Anchors on a value (`- &cols`,
 * `key: &a value`) and aliases as a whole value (`- *cols`) are read: shared column docs use them.
 * Tests compare both readers on many documents.
 */

/** One parsed value and the line (1-based) its node starts on, as `yaml`'s ranges report it. */
export interface FastYamlNode {
  readonly line: number;
  readonly value: unknown;
  /** Children by key (mappings) or index (sequences). */
  readonly children?: Map<string, FastYamlNode> | FastYamlNode[];
}

class Unsupported extends Error {}
const no = (why: string): never => { throw new Unsupported(why); };

interface Line {
  /** 1-based line number. */
  readonly no: number;
  readonly indent: number;
  /** Text after the indentation (comment not yet removed). */
  readonly text: string;
}

/** YAML 1.2 core schema resolution of a plain scalar, in the `yaml` package's tag order. */
export function resolvePlain(s: string): unknown {
  if (/^(?:~|[Nn]ull|NULL)?$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return s[0] === 't' || s[0] === 'T';
  if (yaml11 && YAML11_BOOL.test(s)) return yaml11True(s);
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}

/** A plain scalar's text in block context, or unsupported. `rest` has no leading spaces. */
function plainBlock(rest: string): string {
  const first = rest[0]!;
  if ('&*!%@`|>\'"{}[],#'.includes(first)) no('indicator');
  if ((first === '-' || first === '?' || first === ':') && (rest.length === 1 || rest[1] === ' ')) no('indicator');
  let end = rest.length;
  const hash = rest.search(/[ \t]#/);
  if (hash >= 0) end = hash;
  const s = rest.slice(0, end).replace(/[ \t]+$/, '');
  if (/:( |\t|$)/.test(s)) no('colon in plain scalar');
  if (s.includes('\t')) no('tab');
  return s;
}

/** After a closed quote or flow collection only a comment may follow. */
function onlyComment(after: string): void {
  const t = after.replace(/^[ \t]+/, '');
  if (t && !(t[0] === '#' && after.length > t.length)) no('text after value');
}

const DQ_ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f', ' ': ' ' };

/** A quoted scalar starting at rest[0]; returns the value and the text after the closing quote. */
function quoted(rest: string): { value: string; after: string } {
  const q = rest[0];
  let i = 1;
  let out = '';
  if (q === "'") {
    for (;;) {
      const j = rest.indexOf("'", i);
      if (j < 0) no('multi-line quoted scalar');
      out += rest.slice(i, j);
      if (rest[j + 1] === "'") { out += "'"; i = j + 2; continue; }
      return { value: out, after: rest.slice(j + 1) };
    }
  }
  for (;;) {
    if (i >= rest.length) no('multi-line quoted scalar');
    const c = rest[i]!;
    if (c === '"') return { value: out, after: rest.slice(i + 1) };
    if (c === '\\') {
      const e = rest[i + 1];
      if (e === undefined) no('escaped line break');
      if (e === 'u' || e === 'x') {
        const len = e === 'u' ? 4 : 2;
        const hex = rest.slice(i + 2, i + 2 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) no('bad escape');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 2 + len;
        continue;
      }
      const m = DQ_ESCAPES[e!];
      if (m === undefined) no('escape');
      out += m;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
}

/** A one-line flow collection `[...]` or `{...}` (nested ones included) of scalars. */
function flow(rest: string, line: number): { node: FastYamlNode; after: string } {
  let i = 0;
  const skip = () => { while (rest[i] === ' ' || rest[i] === '\t') i++; };
  const scalar = (stops: string): { value: unknown; wasQuoted: boolean } => {
    skip();
    const c = rest[i];
    if (c === undefined) return no('unclosed flow collection');
    if (c === '"' || c === "'") {
      const q = quoted(rest.slice(i));
      i = rest.length - q.after.length;
      return { value: q.value, wasQuoted: true };
    }
    if ('[]{}&*!|>%@`#,'.includes(c) || ((c === '-' || c === '?' || c === ':') && ' \t,]}'.includes(rest[i + 1] ?? ' '))) no('flow indicator');
    let j = i;
    while (j < rest.length && !stops.includes(rest[j]!)) j++;
    const text = rest.slice(i, j).replace(/[ \t]+$/, '');
    if (text.includes(':') || text.includes('#') || !text) no('flow plain scalar');
    i = j;
    return { value: resolvePlain(text), wasQuoted: false };
  };
  const value = (stops: string): FastYamlNode => {
    skip();
    if (rest[i] === '[' || rest[i] === '{') return collection();
    return { line, value: scalar(stops).value };
  };
  const collection = (): FastYamlNode => {
    const open = rest[i]!;
    const close = open === '[' ? ']' : '}';
    i++;
    const items: FastYamlNode[] = [];
    const map = new Map<string, FastYamlNode>();
    const obj: Record<string, unknown> = {};
    skip();
    if (rest[i] === close) {
      i++;
    } else {
      for (;;) {
        if (open === '[') {
          items.push(value(',]'));
        } else {
          const k = scalar(':,}');
          if (!k.wasQuoted && typeof k.value !== 'string') no('non-string key');
          skip();
          if (rest[i] !== ':') no('flow map entry without value');
          i++;
          if (rest[i] !== ' ' && rest[i] !== '\t') no('flow map colon');
          const key = String(k.value);
          if (map.has(key) || key === '__proto__' || key === '<<') no('duplicate key');
          const v = value(',}');
          map.set(key, v);
          obj[key] = v.value;
        }
        skip();
        if (rest[i] === ',') { i++; skip(); if (rest[i] === close || rest[i] === ',') no('trailing comma'); continue; }
        if (rest[i] === close) { i++; break; }
        no('flow collection syntax');
      }
    }
    return open === '[' ? { line, value: items.map((x) => x.value), children: items } : { line, value: obj, children: map };
  };
  const node = collection();
  return { node, after: rest.slice(i) };
}

/** `&name` at the start of a value, and the text after it. */
const ANCHOR = /^&([^\s,[\]{}]+)(?:[ \t]+|$)/;
/** `*name` as a whole value (an optional comment after it). */
const ALIAS = /^\*([^\s,[\]{}]+)[ \t]*(?:#.*)?$/;

class Reader {
  private i = 0;
  /** Anchored nodes by name, as far as the document has been read (a later anchor replaces one). */
  private readonly anchors = new Map<string, FastYamlNode>();
  constructor(private readonly lines: Line[], private readonly raw: readonly string[]) {}

  /** Split a leading anchor off a value's text. */
  private anchorOf(rest: string): { name?: string; rest: string } {
    const m = ANCHOR.exec(rest);
    if (m && m[1]!.endsWith(':')) no('anchor or key');
    return m ? { name: m[1]!, rest: rest.slice(m[0].length) } : { rest };
  }

  /** Remember `node` under `name` (when there is one) and return it. */
  private anchored(name: string | undefined, node: FastYamlNode): FastYamlNode {
    if (name !== undefined) this.anchors.set(name, node);
    return node;
  }

  /** An alias value: the anchored node's value, on the alias's line, without children (as `yaml`'s lineOf sees an Alias). */
  private alias(rest: string, l: Line, parentIndent: number): FastYamlNode | undefined {
    const m = ALIAS.exec(rest);
    if (!m) return undefined;
    if (m[1]!.endsWith(':')) no('alias or key');
    const target = this.anchors.get(m[1]!);
    if (!target) no('unknown alias');
    const nx = this.peek();
    if (nx && nx.indent > parentIndent) no('continuation line');
    return { line: l.no, value: target!.value };
  }

  /** The next content line (skipping blanks and comment-only lines), without consuming it. */
  private peek(): Line | undefined {
    while (this.i < this.lines.length) {
      const l = this.lines[this.i]!;
      if (l.text === '' || l.text[0] === '#') { this.i++; continue; }
      return l;
    }
    return undefined;
  }

  document(): FastYamlNode | undefined {
    let l = this.peek();
    if (l && (l.text === '---' || l.text.startsWith('--- #'))) { this.i++; l = this.peek(); }
    if (!l) return undefined;
    if (l.indent !== 0) no('indented document');
    const node = this.block(l);
    if (this.peek()) no('trailing content');
    return node;
  }

  /** A block node whose first line is `l` (sequence or mapping). */
  private block(l: Line): FastYamlNode {
    if (l.text === '-' || l.text.startsWith('- ')) return this.sequence(l.indent);
    return this.mapping(l.indent);
  }

  private sequence(indent: number): FastYamlNode {
    const items: FastYamlNode[] = [];
    let first: number | undefined;
    for (;;) {
      const l = this.peek();
      if (!l || l.indent < indent) break;
      if (l.indent > indent) no('bad indentation');
      if (!(l.text === '-' || l.text.startsWith('- '))) break;
      first ??= l.no;
      this.i++;
      let rest = l.text.slice(1);
      const pad = rest.length - rest.replace(/^ +/, '').length;
      rest = rest.slice(pad);
      const a = this.anchorOf(rest);
      rest = a.rest;
      if (rest === '' || rest[0] === '#') {
        const nx = this.peek();
        if (nx && nx.indent > indent) items.push(this.anchored(a.name, this.block(nx)));
        else items.push(this.anchored(a.name, { line: l.no, value: null }));
        continue;
      }
      if (rest === '-' || rest.startsWith('- ')) no('compact nested sequence');
      const alias = this.alias(rest, l, indent);
      if (alias) {
        if (a.name !== undefined) no('anchored alias');
        items.push(alias);
        continue;
      }
      if (this.isKeyLine(rest)) {
        // `- &a key: value` starts the mapping after the anchor: left to `yaml`.
        if (a.name !== undefined) no('anchor before a key');
        // `- key: value`: a mapping indented at the key's column, starting on this line.
        const col = indent + 1 + pad;
        // The dash line is consumed: put the key's part back in its place (no array shifting).
        this.lines[--this.i] = { no: l.no, indent: col, text: rest };
        items.push(this.mapping(col));
        continue;
      }
      items.push(this.anchored(a.name, this.inlineValue(rest, l, indent)));
    }
    if (first === undefined) no('empty sequence');
    return { line: first!, value: items.map((x) => x.value), children: items };
  }

  /** Does `text` start with a mapping key (`key:` followed by a space or the end)? */
  private isKeyLine(text: string): boolean {
    if (text[0] === '"' || text[0] === "'") {
      try {
        const q = quoted(text);
        return /^[ \t]*:( |\t|$)/.test(q.after);
      } catch {
        return false;
      }
    }
    return /^[^#]*?:( |\t|$)/.test(text) && !/^[[{]/.test(text);
  }

  private mapping(indent: number): FastYamlNode {
    const children = new Map<string, FastYamlNode>();
    const obj: Record<string, unknown> = {};
    let first: number | undefined;
    for (;;) {
      const l = this.peek();
      if (!l || l.indent < indent) break;
      if (l.indent > indent) no('bad indentation');
      if (l.text === '-' || l.text.startsWith('- ')) break;
      first ??= l.no;
      this.i++;
      let key: string;
      let rest: string;
      if (l.text[0] === '"' || l.text[0] === "'") {
        const q = quoted(l.text);
        const m = /^[ \t]*:( |\t|$)/.exec(q.after);
        if (!m) return no('quoted key without colon');
        key = q.value;
        rest = q.after.slice(m[0].length);
      } else {
        const m = /^([^#]*?):( |\t|$)/.exec(l.text);
        if (!m) return no('not a mapping entry');
        const k = m[1]!;
        if (!k || /["'{}[\],&*!|>%@`]/.test(k[0]!) || /^[-?:]( |$)/.test(k) || k !== k.trim() || /\s#/.test(k)) no('key');
        const resolved = resolvePlain(k);
        if (typeof resolved !== 'string') no('non-string key');
        key = k;
        rest = l.text.slice(m[0].length);
      }
      if (children.has(key) || key === '__proto__' || key === '<<') no('duplicate or special key');
      rest = rest.replace(/^[ \t]+/, '');
      const a = this.anchorOf(rest);
      rest = a.rest;
      let node: FastYamlNode;
      if (rest === '' || rest[0] === '#') {
        const nx = this.peek();
        if (nx && nx.indent > indent) node = this.block(nx);
        else if (nx && nx.indent === indent && (nx.text === '-' || nx.text.startsWith('- '))) node = this.sequence(indent);
        else node = { line: l.no, value: null };
      } else {
        const alias = this.alias(rest, l, indent);
        if (alias && a.name !== undefined) no('anchored alias');
        node = alias ?? this.inlineValue(rest, l, indent);
      }
      this.anchored(a.name, node);
      children.set(key, node);
      obj[key] = node.value;
    }
    if (first === undefined) no('empty mapping');
    return { line: first!, value: obj, children };
  }

  /** A value that starts on line `l` after a key or dash: scalar, quoted, flow or block scalar. */
  private inlineValue(rest: string, l: Line, parentIndent: number): FastYamlNode {
    const c = rest[0]!;
    if (c === '|' || c === '>') return this.blockScalar(rest, l, parentIndent);
    let node: FastYamlNode;
    if (c === '[' || c === '{') {
      const f = flow(rest, l.no);
      onlyComment(f.after);
      node = f.node;
    } else if (c === '"' || c === "'") {
      const q = quoted(rest);
      onlyComment(q.after);
      node = { line: l.no, value: q.value };
    } else {
      node = { line: l.no, value: resolvePlain(plainBlock(rest)) };
    }
    // A more-indented line after a one-line value would continue it (or be an error): leave it to `yaml`.
    const nx = this.peek();
    if (nx && nx.indent > parentIndent) no('continuation line');
    return node;
  }

  private blockScalar(rest: string, l: Line, parentIndent: number): FastYamlNode {
    const m = /^([|>])([-+]?)[ \t]*(#.*)?$/.exec(rest);
    if (!m || m[2] === '+') return no('block scalar header');
    const literal = m[1] === '|';
    const strip = m[2] === '-';
    // Content: following raw lines that are blank or indented deeper than the parent.
    const body: string[] = [];
    let contentIndent = -1;
    let j = this.i;
    for (; j < this.lines.length; j++) {
      const ln = this.lines[j]!;
      const rawLine = this.raw[ln.no - 1]!;
      if (rawLine.trim() === '') {
        // A line of only spaces inside a block scalar may be content; leave those to `yaml`.
        if (rawLine !== '') no('whitespace-only line in block scalar');
        body.push('');
        continue;
      }
      if (ln.indent <= parentIndent) break;
      if (contentIndent < 0) contentIndent = ln.indent;
      if (ln.indent < contentIndent) no('less indented block scalar line');
      if (/^[ ]*\t/.test(rawLine)) no('tab');
      body.push(rawLine.slice(contentIndent));
    }
    this.i = j;
    while (body.length && body[body.length - 1] === '') body.pop();
    if (body.some((b, k) => k === 0 && b === '')) {
      // Leading blank lines are kept as newlines by YAML; rare in project files.
      no('leading blank lines in block scalar');
    }
    let text: string;
    if (literal) {
      text = body.join('\n');
    } else {
      if (body.some((b) => b.startsWith(' ') || b.startsWith('\t'))) no('more-indented folded line');
      text = '';
      for (let k = 0; k < body.length; k++) {
        const b = body[k]!;
        if (k === 0) { text = b; continue; }
        if (b === '') { text += '\n'; continue; }
        text += body[k - 1] === '' ? b : ` ${b}`;
      }
    }
    if (body.length && !strip) text += '\n';
    return { line: l.no, value: text };
  }
}

/**
 * Parse `text`; undefined when it uses anything outside the subset (the caller then uses the
 * `yaml` package). An empty document gives `{ value: null }` without a node.
 */
export function parseYamlFast(text: string, opts: { yaml11Booleans?: boolean } = {}): { value: unknown; root?: FastYamlNode } | undefined {
  yaml11 = opts.yaml11Booleans === true;
  try {
    return parseFast(text);
  } finally {
    yaml11 = false;
  }
}

/**
 * YAML 1.1's other booleans, as PyYAML (and so dbt) reads them: a plain `yes`, `no`, `on` or `off`
 * (`enabled: no` is false in dbt; YAML 1.2 makes it the string "no").
 */
export const YAML11_BOOL = /^(?:[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF)$/;
export function yaml11True(s: string): boolean {
  return /^(?:[Yy]es|YES|[Oo]n|ON)$/.test(s);
}
/** Set for the duration of one parse with yaml11Booleans. */
let yaml11 = false;

function parseFast(text: string): { value: unknown; root?: FastYamlNode } | undefined {
  if (text.includes('\r') || text.charCodeAt(0) === 0xfeff) return undefined;
  const raw = text.split('\n');
  const lines: Line[] = [];
  for (let k = 0; k < raw.length; k++) {
    const s = raw[k]!;
    let n = 0;
    while (s.charCodeAt(n) === 32) n++;
    const rest = s.slice(n);
    if (rest[0] === '\t' && rest.trim() !== '') return undefined;
    lines.push({ no: k + 1, indent: n, text: rest.replace(/[ \t]+$/, '') });
  }
  try {
    if (lines.some((l) => l.indent === 0 && (l.text.startsWith('%') || l.text === '...' || (l.text.startsWith('---') && l.no !== firstContent(lines))))) return undefined;
    const root = new Reader(lines, raw).document();
    return root ? { value: root.value, root } : { value: null };
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

function firstContent(lines: readonly Line[]): number {
  for (const l of lines) if (l.text !== '' && l.text[0] !== '#') return l.no;
  return -1;
}

/** Line of the node at `keyPath`, as `yaml`'s `lineOf` would give it. */
export function fastLineOf(root: FastYamlNode | undefined, keyPath: readonly (string | number)[]): number | undefined {
  let node: FastYamlNode | undefined = root;
  for (const k of keyPath) {
    if (!node || !node.children) return undefined;
    node = node.children instanceof Map ? (typeof k === 'string' ? node.children.get(k) : undefined) : (typeof k === 'number' ? node.children[k] : undefined);
  }
  return node?.line;
}
