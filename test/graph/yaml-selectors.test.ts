/**
 * dbt's YAML selectors: the definition forms (a selector string, method entries with
 * parents/children/childrens_parents, union, intersection, exclude at its level, a selector of
 * another selector) evaluated with set operations, and `--selector` / `default: true` through the
 * CLI on a real project.
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateSelector, SelectorError, type YamlSelector } from '../../src/graph/yaml-selectors.js';
import { lake, projectYml, writeProject } from '../core/helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('YAML selectors', () => {
  // What each leaf selects, as lake's selector syntax would: a small table.
  const leaves: Record<string, string[]> = {
    '': ['a', 'b', 'c', 'd'], 'tag:x': ['a', 'd'], 'path:models/silver': ['a', 'b'], 'path:models/silver+': ['a', 'b', 'c'],
    '2+tag:x': ['a', 'd', 'p'], '@tag:x': ['a', 'd', 'q'], d: ['d'], 'fqn_part': ['b'],
  };
  const select = (text: string) => {
    if (!(text in leaves)) throw new Error(`unexpected leaf ${text}`);
    return new Set(leaves[text]);
  };
  const eval1 = (definition: unknown, more: YamlSelector[] = []) => [...evaluateSelector(new Map([{ name: 's', definition }, ...more].map((x) => [x.name, x])), 's', select)].sort();

  it('unions, intersections and exclusions at their level; method entries become selector text', () => {
    expect(eval1('tag:x')).toEqual(['a', 'd']);
    expect(eval1({ union: [{ intersection: [{ method: 'tag', value: 'x' }, { method: 'path', value: 'models/silver', children: true }] }, 'd'] })).toEqual(['a', 'd']);
    // The exclusion applies inside the intersection only: d comes back through the union.
    expect(eval1({ union: [{ intersection: ['path:models/silver+', { exclude: ['path:models/silver'] }] }, 'd'] })).toEqual(['c', 'd']);
    expect(eval1({ method: 'tag', value: 'x', parents_depth: 2 })).toEqual(['a', 'd', 'p']);
    expect(eval1({ method: 'tag', value: 'x', childrens_parents: true })).toEqual(['a', 'd', 'q']);
    expect(eval1({ method: 'fqn', value: 'fqn_part' })).toEqual(['b']);
    expect(eval1({ intersection: [{ exclude: ['d'] }] })).toEqual(['a', 'b', 'c']);
    expect(eval1({ union: [{ method: 'selector', value: 'other' }, 'd'] }, [{ name: 'other', definition: 'path:models/silver' }])).toEqual(['a', 'b', 'd']);
  });

  it('names what is wrong: an unknown selector, a selector that refers to itself, a method entry without a value', () => {
    expect(() => eval1({ method: 'selector', value: 'nope' })).toThrow(/no selector named 'nope'/);
    expect(() => eval1({ method: 'selector', value: 's' })).toThrow(SelectorError);
    expect(() => eval1({ method: 'selector', value: 's' })).toThrow(/selector s > s refers to itself/);
    expect(() => eval1({ method: 'tag' })).toThrow(/needs method and value/);
  });

  it('--selector and a default selector through the CLI', () => {
    const dir = writeProject({
      'project.yml': projectYml(),
      'models/silver/a.sql': "{{ config(tags=['nightly']) }} select 1 as id",
      'models/silver/b.sql': "select * from {{ ref('a') }}",
      'models/gold/c.sql': "select * from {{ ref('b') }}",
      'models/gold/d.sql': "{{ config(tags=['nightly']) }} select 2 as id",
      'selectors.yml': `selectors:
  - name: nightly_silver
    definition:
      union:
        - intersection:
            - method: tag
              value: nightly
            - method: path
              value: models/silver
              children: true
  - name: gold
    default: true
    definition: "path:models/gold"
`,
    });
    dirs.push(dir);
    const ls = (args: string[]) => lake(dir, ['ls', ...args]).stdout.trim().split('\n').sort();
    expect(ls(['--selector', 'nightly_silver'])).toEqual(['silver.a']);
    // Without --select, the default selector; with it, the selection given.
    expect(ls([])).toEqual(['gold.c', 'gold.d']);
    expect(ls(['-s', 'b'])).toEqual(['silver.b']);
    const run = lake(dir, ['run', '--selector', 'nightly_silver']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/1\/1 OK +silver\.a/);
    const both = lake(dir, ['ls', '--selector', 'gold', '-s', 'a']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--selector and --select cannot be used together');
    expect(lake(dir, ['ls', '--selector', 'nope']).stderr).toContain("no selector named 'nope' in selectors.yml (there are nightly_silver, gold)");
  });
});
