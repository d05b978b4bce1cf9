/** Seeds: a CSV file loaded into a table with read_csv (declared column_types win over detection). */
import type { SeedNode } from '../core/types.js';
import type { Dialect } from '../adapter/types.js';
import type { Statement } from './types.js';
import { buildAndSwap } from './common.js';

export function planSeed(seed: SeedNode, d: Dialect, existing: { kind: 'table' | 'view'; columns: [] } | undefined): Statement[] {
  const types = Object.entries(seed.columnTypes);
  const typeArg = types.length ? `, types = {${types.map(([k, v]) => `${d.literal(k)}: ${d.literal(v)}`).join(', ')}}` : '';
  const select = `select * from read_csv(${d.literal(seed.absPath)}, header = true, auto_detect = true, sample_size = -1${typeArg})`;
  return buildAndSwap({ dialect: d, relation: { schema: seed.schema, name: seed.name }, existing, incoming: [], fullRefresh: true, projectRoot: '' }, select);
}

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
