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

/** Where a CSV record starts: its physical line, and the line DuckDB's reader reports for it. */
export interface CsvRecordLine {
  /** 1-based physical line of the record's first character. */
  readonly line: number;
  /** The line DuckDB reports (in its rejects table): line breaks inside quoted values before the record are not counted. */
  readonly reported: number;
}

/**
 * The records of a CSV text, in order (a header line is the first), with the line each starts on.
 * An empty line (`\n` or `\r\n`) holds no record, as DuckDB's reader skips it; a quoted value may
 * span lines (`""` inside it, or `escape` before a character, does not close it).
 */
export function csvRecordLines(text: string, quote = '"', escape = quote): CsvRecordLine[] {
  const out: CsvRecordLine[] = [];
  let line = 1;
  let quotedBreaks = 0;
  let inQuote = false;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (atStart) {
      if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
        if (ch === '\r') i++;
        line++;
        continue;
      }
      atStart = false;
      out.push({ line, reported: line - quotedBreaks });
    }
    if (ch === '\n') {
      line++;
      if (inQuote) quotedBreaks++;
      else atStart = true;
    } else if (inQuote) {
      if (ch === escape && escape !== quote) {
        i++;
        if (text[i] === '\n') { line++; quotedBreaks++; }
      } else if (ch === quote) {
        if (escape === quote && text[i + 1] === quote) i++;
        else inQuote = false;
      }
    } else if (ch === quote) inQuote = true;
  }
  return out;
}
