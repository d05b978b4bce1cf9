/**
 * test/fixtures/broken: one project with every common mistake. `lake compile` (and `lake run`) must
 * print all of them in one go — code, file:line, hint — exit 2, never open the database and never
 * print a stack trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { copyFixture, lake, jsonLines } from './helpers.js';

/** What each deliberate mistake must produce: code, where, and words of the message and hint. */
const EXPECTED: { code: string; where: string; message: RegExp; hint: RegExp }[] = [
  { code: 'LAKE-P001', where: 'models/silver/docs.yml:6', message: /invalid YAML: All mapping items must start at the same column/, hint: /indentation/ },
  { code: 'LAKE-C001', where: 'models/gold/unknown_ref.sql:2', message: /ref\('customerz'\) matches no model or seed/, hint: /did you mean ref\('gold\.customers'\)\?/ },
  { code: 'LAKE-C001', where: 'models/gold/ambiguous_ref.sql:2', message: /ref\('orders'\) is ambiguous: bronze\.orders, silver\.orders/, hint: /ref\('bronze\.orders'\) or ref\('silver\.orders'\)/ },
  { code: 'LAKE-T001', where: 'models/gold/syntax_error.sql:4', message: /\{% if %\} is never closed/, hint: /\{% endif %\}/ },
  { code: 'LAKE-T002', where: 'models/gold/unknown_macro.sql:2', message: /unknown macro or function 'cents_to_dollar'/, hint: /did you mean cents_to_dollars\?/ },
  { code: 'LAKE-G001', where: 'models/gold/cycle_a.sql:1', message: /cycle: gold\.cycle_a > gold\.cycle_b > gold\.cycle_a/, hint: /remove one of these refs/ },
  { code: 'LAKE-C010', where: 'models/gold/unknown_materialization.sql:1', message: /unknown materialized 'tabel'/, hint: /view, table, incremental, ephemeral, external/ },
  { code: 'LAKE-C010', where: 'models/gold/missing_unique_key.sql:1', message: /incremental_strategy 'merge' needs a unique_key/, hint: /unique_key=/ },
  { code: 'LAKE-C010', where: 'models/gold/merge_columns_both.sql:1', message: /merge_update_columns and merge_exclude_columns cannot both be set/, hint: /keep one/ },
  { code: 'LAKE-C010', where: 'models/gold/track_columns.sql:1', message: /track_columns .* is not supported yet/, hint: /except_columns/ },
  { code: 'LAKE-C012', where: 'models/gold/two_statements.sql:1', message: /holds more than one statement/, hint: /pre_hook/ },
  { code: 'LAKE-C012', where: 'models/gold/empty_model.sql:1', message: /the model's SQL is empty/, hint: /write the SELECT/ },
  { code: 'LAKE-P040', where: 'models/gold/latin1.sql:1', message: /the file is not UTF-8 text/, hint: /UTF-8/ },
  { code: 'LAKE-T001', where: 'models/gold/unknown_filter.sql:2', message: /unknown filter 'uper'/, hint: /did you mean upper\?/ },
  { code: 'LAKE-C002', where: 'models/gold/unknown_source.sql:2', message: /unknown source 'crm\.acounts'/, hint: /did you mean source\('crm', 'accounts'\)\?/ },
  { code: 'LAKE-T003', where: 'models/gold/var_without_default.sql:3', message: /var 'min_order_id' is not set/, hint: /--vars|default/ },
];

describe('the broken fixture', () => {
  it('reports every mistake in one run of lake compile, exit 2, no stack trace, no database', () => {
    const dir = copyFixture('broken');
    const r = lake(dir, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/\n\s+at \S+ \(/);
    expect(r.stderr).not.toContain('internal error');
    for (const e of EXPECTED) {
      // `file:line[:col]: error CODE: message` then the frame and `hint: ...` lines.
      const block = r.stderr.split(/\n(?=[^\s>])/).find((b) => b.startsWith(e.where) && b.includes(e.code) && e.message.test(b));
      expect(block, `${e.code} at ${e.where}\n--- stderr:\n${r.stderr}`).toBeDefined();
      expect(block!.split('\n')[0]).toMatch(new RegExp(`^${e.where.replace(/\./g, '\\.')}(:\\d+)*: error ${e.code}: `));
      expect(block).toMatch(/\n {2}hint: /);
      expect(block!.slice(block!.indexOf('hint: '))).toMatch(e.hint);
    }
    expect(r.stderr).toMatch(new RegExp(`\\n${EXPECTED.length + 1} errors\\n?$`));
    expect(fs.existsSync(path.join(dir, 'target/broken.duckdb'))).toBe(false);
  });

  it('gives the same diagnostics as JSON with --log-format json, and lake run stops before the database', () => {
    const dir = copyFixture('broken');
    const r = lake(dir, ['run', '--log-format', 'json']);
    expect(r.code).toBe(2);
    const diags = jsonLines(r.stdout).filter((l) => l.kind === 'diagnostic');
    for (const e of EXPECTED) {
      const [file, line] = e.where.split(':');
      const d = diags.find((x) => x.code === e.code && x.file === file && e.message.test(String(x.message)));
      expect(d, `${e.code} ${e.where}`).toBeDefined();
      if (line) expect(d!.line).toBe(Number(line));
      expect(String(d!.hint)).toMatch(e.hint);
    }
    expect(fs.existsSync(path.join(dir, 'target/broken.duckdb'))).toBe(false);
  });
});
