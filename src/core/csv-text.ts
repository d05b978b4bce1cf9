/**
 * CSV text facts lake checks itself before DuckDB reads a file (seeds, landing zones): pure
 * functions of the text, no engine.
 */

/**
 * A quoted value that is never closed makes DuckDB's sniffer give up on the delimiter and read
 * every line as one column (or take the rest of the file as one value) without an error: found
 * here first, with the line where the quote opens. Quotes come in pairs ("" inside a value too).
 */
export function unclosedQuote(text: string, quote = '"'): number | undefined {
  let inQuote = false;
  let line = 1;
  let openedAt = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10) line++;
    else if (text[i] === quote) {
      inQuote = !inQuote;
      if (inQuote) openedAt = line;
    }
  }
  return inQuote ? openedAt : undefined;
}

/** The fields of one CSV line (quotes removed, "" inside a quoted field is one "). */
export function csvFields(line: string, delim: string, quote = '"'): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (inQuote) {
      if (ch === quote && line[i + 1] === quote) { cur += quote; i++; } else if (ch === quote) inQuote = false;
      else cur += ch;
    } else if (ch === quote) inQuote = true;
    else if (line.startsWith(delim, i)) { out.push(cur); cur = ''; i += delim.length - 1; } else cur += ch;
  }
  out.push(cur.replace(/\r$/, ''));
  return out;
}

/** The delimiter a header line most likely uses (outside quotes): `,` `;` tab or `|`, `,` when none is there. */
export function headerDelimiter(line: string, quote = '"'): string {
  let best = ',';
  let most = 0;
  for (const d of [',', ';', '\t', '|']) {
    const n = csvFields(line, d, quote).length - 1;
    if (n > most) { most = n; best = d; }
  }
  return best;
}
