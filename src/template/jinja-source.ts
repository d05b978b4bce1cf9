/**
 * Jinja that Nunjucks cannot parse, rewritten into Nunjucks before it is compiled (same lines, so
 * errors keep their positions): `{% set ns.attr = ... %}`, `{% set a, b = ... %}`, nested dict braces, `**kwargs` and
 * `*args`, tests with a bare argument, trailing commas, dbt's `{% test %}` blocks. Text to text,
 * no Nunjucks: the engine and the properties context (project/ naming macros) both use it.
 */

/**
 * Jinja's `{% set ns.attr = value %}` (on a `namespace()`, the way to carry a value out of a
 * loop), which Nunjucks cannot parse: rewritten to a `do` call that sets the attribute (same
 * lines, so errors keep their positions).
 */
export function rewriteNamespaceSets(text: string): string {
  if (!/\{%-?\s*set\s+\w+\./.test(text)) return text;
  return text.replace(/\{%(-?)\s*set\s+(\w+)\.(\w+)\s*=([\s\S]*?)(-?)%\}/g, (_m, l: string, ns: string, attr: string, expr: string, r: string) => `{%${l} do ${ns}.__lake_set('${attr}', ${expr.trim()}) ${r}%}`);
}

/**
 * Nested dict literals (`{% set m = {'a': {'b': 1}} %}`, `var('n', {'a': {'b': 1}})`): Nunjucks'
 * lexer ends the tag at the first `}}`, which here closes two dicts. A space goes between such
 * braces (same lines and columns up to the tag's end).
 */
export function spaceNestedBraces(text: string): string {
  // Only a tag holding a `{` of its own can hold such a `}}`.
  if (!text.includes('}}') || !/\{[{%][^}%]*\{/.test(text)) return text;
  let out = '';
  let from = 0;
  const n = text.length;
  for (let i = 0; i < n - 1; i++) {
    if (text[i] !== '{' || (text[i + 1] !== '{' && text[i + 1] !== '%')) continue;
    const block = text[i + 1] === '%';
    let depth = 0;
    let quote = '';
    let j = i + 2;
    for (; j < n; j++) {
      const c = text[j]!;
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = '';
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      else if (c === '{') depth++;
      else if (c === '}') {
        if (depth === 0) {
          if (!block && text[j + 1] === '}') break; // the end of {{ ... }}
          continue;
        }
        depth--;
        if (text[j + 1] === '}') {
          out += `${text.slice(from, j + 1)} `;
          from = j + 1;
        }
      } else if (block && depth === 0 && c === '%' && text[j + 1] === '}') break;
    }
    i = j;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Where the tag opening at `start` (`{{` or `{%`) ends: past its `}}` or `%}`, the first one outside
 * string literals (a `"{:.1%}"` or `'}}'` in a string does not end it); -1 when it never ends.
 */
function tagEnd(text: string, start: number): number {
  const close = text[start + 1] === '%' ? '%' : '}';
  let quote = '';
  for (let j = start + 2; j < text.length - 1; j++) {
    const c = text[j]!;
    if (quote) {
      if (c === '\\') j++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === close && text[j + 1] === '}') return j + 2;
  }
  return -1;
}

/** `text` with each `{{ ... }}` / `{% ... %}` tag passed through `fn` (a light rewrite of tag contents). */
function mapTags(text: string, fn: (tag: string) => string): string {
  let out = '';
  let from = 0;
  for (let i = text.indexOf('{'); i >= 0 && i < text.length - 1; i = text.indexOf('{', i + 1)) {
    if (text[i + 1] !== '{' && text[i + 1] !== '%') continue;
    const end = tagEnd(text, i);
    if (end < 0) break;
    out += text.slice(from, i) + fn(text.slice(i, end));
    from = end;
    i = end - 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Jinja's `f(a, **kwargs)` and `f(*args)` (Nunjucks has neither): inside tags, `**x` after `(` or
 * `,` becomes `__lake_splat(x)`, which the patched call spreads into keyword arguments, and `*x`
 * there `__lake_star(x)`, spread into positional ones (dbt-compat.ts).
 */
export function rewriteSplats(text: string): string {
  // A quick look first: `*` right after `(` or `,` inside a tag (SQL's count(*) outside tags is not one).
  if (!/\{[{%][^}]*?[(,]\s*\*/.test(text)) return text;
  // Only a whole argument (`*name` or `**name` up to the next `,` or `)`), and never inside a string
  // literal (`{% set cols = "id, * exclude (v)" %}` is SQL text).
  return mapTags(text, (tag) => outsideStrings(tag, (code) => code
    .replace(/([(,]\s*)\*\*\s*([A-Za-z_][\w.]*)(?=\s*[,)])/g, '$1__lake_splat($2)')
    .replace(/([(,]\s*)\*\s*([A-Za-z_][\w.]*)(?=\s*[,)])/g, '$1__lake_star($2)')));
}

/** `tag` with `fn` applied to its parts outside '...' and "..." string literals. */
function outsideStrings(tag: string, fn: (code: string) => string): string {
  let out = '';
  let code = '';
  for (let i = 0; i < tag.length; i++) {
    const c = tag[i]!;
    if (c !== '"' && c !== "'") {
      code += c;
      continue;
    }
    let j = i + 1;
    while (j < tag.length && tag[j] !== c) j += tag[j] === '\\' ? 2 : 1;
    out += fn(code) + tag.slice(i, j + 1);
    code = '';
    i = j;
  }
  return out + fn(code);
}

/**
 * Jinja's tests with one argument written without parentheses (`x is sameas true`, `n is
 * divisibleby 3`, `x is not equalto 'a'`): Nunjucks needs `sameas(true)`.
 */
export function parenthesiseTestArgs(text: string): string {
  if (!/\bis\s+(?:not\s+)?(?:sameas|divisibleby|equalto|eq|ne|gt|ge|lt|le|greaterthan|lessthan)\s+[^\s(]/.test(text)) return text;
  return mapTags(text, (tag) => tag.replace(
    /\bis(\s+)(not\s+)?(sameas|divisibleby|equalto|eq|ne|gt|ge|lt|le|greaterthan|lessthan)\s+(-?\d+(?:\.\d+)?|'[^']*'|"[^"]*"|[A-Za-z_][\w.]*)/g,
    (m, sp: string, not: string | undefined, test: string, arg: string) => (/^(and|or|not|if|else|in|is)$/.test(arg) ? m : `is${sp}${not ?? ''}${test}(${arg})`),
  ));
}

/**
 * Jinja accepts a trailing comma in calls, lists, dicts and tuples (`config(materialized='table',)`,
 * `['a', 'b',]`); Nunjucks does not. Inside `{{ }}` and `{% %}` tags, outside string literals, such
 * a comma becomes a space (same lines and columns; a one-element tuple's `(` becomes a call, which
 * moves the rest of its line).
 */
export function dropTrailingCommas(text: string): string {
  if (!/,\s*[)\]}]/.test(text)) return text;
  const chars = text.split('');
  let changed = false;
  const n = text.length;
  for (let i = 0; i < n - 1; i++) {
    if (text[i] !== '{' || (text[i + 1] !== '{' && text[i + 1] !== '%')) continue;
    const block = text[i + 1] === '%';
    let quote = '';
    // Open brackets in the tag; for `(`, whether it is a call and how many commas it holds.
    const open: { c: string; at: number; call: boolean; commas: number }[] = [];
    let j = i + 2;
    for (; j < n; j++) {
      const c = text[j]!;
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = '';
        continue;
      }
      const top = open[open.length - 1];
      if (c === "'" || c === '"') quote = c;
      else if (c === '(' || c === '[' || c === '{') open.push({ c, at: j, call: c === '(' && isCallParen(text.slice(i + 2, j)), commas: 0 });
      else if (c === ')' || c === ']') open.pop();
      else if (c === '}') {
        if (!top && !block && text[j + 1] === '}') break; // the end of {{ ... }}
        if (top) open.pop();
      } else if (!top && block && c === '%' && text[j + 1] === '}') break;
      else if (c === ',') {
        if (top) top.commas++;
        let k = j + 1;
        while (k < n && /\s/.test(text[k]!)) k++;
        const next = text[k];
        // Before the closing bracket of a call, list, dict or tuple. A one-element tuple
        // (`('a',)`, which Nunjucks cannot parse) becomes a call that makes the tuple.
        const closes = top && ((next === ')' && top.c === '(') || (next === ']' && top.c === '[') || (next === '}' && top.c === '{'));
        if (closes) {
          chars[j] = ' ';
          if (next === ')' && !top.call && top.commas === 1) chars[top.at] = '__lake_tuple1(';
          changed = true;
        }
      }
    }
    i = j;
  }
  return changed ? chars.join('') : text;
}

/** Does a `(` after `before` open a call's arguments (`f(`, `x.y(`, `f()(`), not a group? */
function isCallParen(before: string): boolean {
  const m = /(\w+|[)\]])\s*$/.exec(before);
  return !!m && !/^(in|and|or|not|if|else|elif|is|for|set|return)$/.test(m[1]!);
}

/**
 * Float literals (`1.0`, `2.5e-1`, `1e3`): inside tags and outside strings, `__lake_float(...)`,
 * a Python float that prints as Jinja prints it (`1.0`, where a JavaScript number prints `1`).
 * Nunjucks' lexer also splits a literal with an exponent (`{{ 1e3 }}` printed nothing): it is
 * written out.
 */
export function rewriteFloats(text: string): string {
  if (!/\d\.\d|\d[eE][+-]?\d/.test(text)) return text;
  return mapTags(text, (tag) => outsideStrings(tag, (code) => code.replace(/(?<![\w.])(\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)(?![\w.])/g, (lit) => {
    const v = Number(lit);
    return Number.isFinite(v) && !String(v).includes('e') ? `__lake_float(${String(v)})` : lit;
  })));
}

/**
 * Jinja's unpacking `{% set a, b = pair %}` (or `= 1, 2`): Nunjucks would give every name the whole
 * value. Rewritten, on the same line, to one set of the value and one set per name of its item.
 */
export function rewriteSetUnpacking(text: string): string {
  if (!/\{%-?\s*set\s+\w+\s*,/.test(text)) return text;
  return mapTags(text, (tag) => {
    const m = /^\{%(-?)\s*set\s+(\w+(?:\s*,\s*\w+)+)\s*,?\s*=([\s\S]*?)(-?)%\}$/.exec(tag);
    if (!m) return tag;
    const [, l, names, expr, r] = m;
    const list = names!.split(',').map((n) => n.trim());
    return `{%${l} set __lake_unpack = (${expr!.trim()}) %}${list.map((n, i) => `{% set ${n} = __lake_unpack[${i}] ${i === list.length - 1 ? r : ''}%}`).join('')}`;
  });
}

/** Template text as Nunjucks can compile it: every rewrite above, in order. */
export function jinjaSource(text: string): string {
  return spaceNestedBraces(rewriteNamespaceSets(rewriteSetUnpacking(rewriteSplats(parenthesiseTestArgs(rewriteFloats(dropTrailingCommas(text)))))));
}

/**
 * dbt's `{% test name(...) %}` blocks are macros named `test_name`. `{% materialization %}` blocks
 * (custom materializations, which lake does not run: a model naming one is refused by name) are
 * left out, their lines kept blank, so the file's macros still load.
 */
export function rewriteTestBlocks(text: string): string {
  return jinjaSource(dropMaterializations(text))
    .replace(/\{%(-?)\s*test\s+(\w+)\s*\(/g, '{%$1 macro test_$2(')
    .replace(/\{%(-?)\s*endtest\s*(-?)%\}/g, '{%$1 endmacro $2%}');
}

/** The file without its `{% materialization %}` blocks (each line of one kept, empty). */
export function dropMaterializations(text: string): string {
  return text.replace(/\{%-?\s*materialization\s[\s\S]*?\{%-?\s*endmaterialization\s*-?%\}/g, (block) => block.replace(/[^\n]/g, ''));
}
