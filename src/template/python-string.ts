/**
 * The text of a Jinja string literal, as Jinja (Python's unicode-escape) reads it: `\n`, `\t`,
 * `\\`, `\'`, `\x41`, `\u00e9`... are escapes, a backslash before a line break continues the line,
 * and any other backslash is kept (`'\d+'` is the regex `\d+`, as dbt gives it; Nunjucks alone
 * dropped the backslash). Shared by the Nunjucks lexer patch and the fast path so both read the same.
 */
const SIMPLE: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '\n': '' };

export function pythonUnescape(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\' || i === raw.length - 1) { out += c; continue; }
    const e = raw[i + 1]!;
    const simple = SIMPLE[e];
    if (simple !== undefined) { out += simple; i++; continue; }
    const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hex && new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(raw.slice(i + 2, i + 2 + hex))) {
      out += String.fromCodePoint(parseInt(raw.slice(i + 2, i + 2 + hex), 16));
      i += 1 + hex;
      continue;
    }
    const oct = /^[0-7]{1,3}/.exec(raw.slice(i + 1))?.[0];
    if (oct) { out += String.fromCharCode(parseInt(oct, 8)); i += oct.length; continue; }
    out += c; // an unknown escape keeps its backslash; the next character is read as itself
  }
  return out;
}
