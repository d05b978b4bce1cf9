/** A seed CSV with a quoted value never closed is an error naming its line (DuckDB would read it as one column). */
import { describe, expect, it } from 'vitest';
import { unclosedQuote } from '../../src/core/csv-text.js';
import { lake, writeProject } from './helpers.js';

describe('seed CSV problems', () => {
  it('finds the line where an unclosed quote opens; pairs and doubled quotes are fine', () => {
    expect(unclosedQuote('a,b\n1,"x\n')).toBe(2);
    expect(unclosedQuote('a,b\n1,"x, ""y"""\n2,"multi\nline"\n3,"z\n')).toBe(5);
    expect(unclosedQuote('a,b\n1,"say ""hi"""\n2,"multi\nline"\n')).toBeUndefined();
  });

  it('lake seed stops with the file and line, loads nothing, exit 1', () => {
    const dir = writeProject({
      'project.yml': 'name: s\ntargets:\n  dev: { type: duckdb, path: target/s.duckdb }\n',
      'seeds/orders.csv': 'order_id,customer,amount_cents\n1,ada,"12\n2,bob,5\n',
    });
    const r = lake(dir, ['seed']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/seed seeds\/orders\.csv:2: a quoted value opens on this line and is never closed; nothing was loaded/);
  });
});
