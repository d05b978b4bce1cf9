import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDocsData, layerOf, lineageClosure, type DocsData } from '../../src/docs/docs-data.js';
import { readDocsInputs, type Manifest, type RunResults } from '../../src/docs/inputs.js';
import { LakeError } from '../../src/errors/index.js';
import { renderSite } from '../../src/docs/site.js';
import { smallFixture } from './fixture.js';

const build = (): DocsData => {
  const f = smallFixture();
  return buildDocsData(f.manifest, f.catalog, f.runResults, undefined, { generatedAt: '2024-05-01T10:02:00.000Z' });
};
const byId = (d: DocsData, id: string) => {
  const n = d.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id}`);
  return n;
};
const idx = (d: DocsData, id: string): number => d.nodes.findIndex((x) => x.id === id);
const names = (d: DocsData, list: [number, string][]): string[] => list.map(([n, c]) => `${d.nodes[n]!.id}.${c}`).sort();

describe('buildDocsData: nodes and layers', () => {
  it('assigns source/bronze/silver/gold layers from kind and schema', () => {
    const d = build();
    const layers = Object.fromEntries(d.nodes.map((n) => [n.id, n.layer]));
    expect(layers).toEqual({
      'source:kafka.bpm': 'source',
      'source:kafka.user_info': 'source',
      'source:landing.registered_users': 'source',
      // a seed outside a layer has its own colour, not the sources' (the legend said source for it)
      'main.gym_macs': 'seed',
      'bronze.registered_users': 'bronze',
      'bronze.user_info': 'bronze',
      'bronze.bpm': 'bronze',
      'silver.users': 'silver',
      'silver.user_profile': 'silver',
      'silver.workout_bpm': 'silver',
      'gold.workout_bpm_summary': 'gold',
      'gold.gym_summary': 'gold',
    });
    expect(byId(d, 'main.gym_macs').kind).toBe('seed');
    expect(byId(d, 'source:kafka.bpm').label).toBe('kafka.bpm');
  });

  it('infers layers from prefixed schemas, aliases and folders', () => {
    expect(layerOf('model', 'dev_silver')).toBe('silver');
    expect(layerOf('model', 'marts')).toBe('gold');
    expect(layerOf('model', 'staging')).toBe('bronze');
    expect(layerOf('model', 'main', 'models/gold/report.sql')).toBe('gold');
    expect(layerOf('model', 'main', 'models/misc/x.sql')).toBe('other');
    expect(layerOf('seed', 'main', 'seeds/a.csv')).toBe('seed');
    expect(layerOf('seed', 'bronze', 'seeds/a.csv')).toBe('bronze');
    expect(layerOf('source', 'gold')).toBe('source');
  });

  it('merges database column types with documented descriptions and tests', () => {
    const d = build();
    const users = byId(d, 'silver.users');
    expect(users.columns.map((c) => [c.name, c.type])).toEqual([
      ['user_id', 'BIGINT'],
      ['device_id', 'BIGINT'],
      ['mac_address', 'VARCHAR'],
      ['registration_timestamp', 'TIMESTAMP'],
      ['_lake_file', 'VARCHAR'],
    ]);
    expect(users.columns[0]).toMatchObject({ description: 'User id', tests: ['unique', 'not_null'] });
    expect(users.columns[4]!.description).toBeUndefined();
    // documented but absent from the database
    const state = byId(d, 'bronze.user_info').columns.find((c) => c.name === 'state');
    expect(state).toMatchObject({ missing: true });
  });

  it('keeps config, SQL, tests with last results, expectations, run and landing figures', () => {
    const d = build();
    const profile = byId(d, 'silver.user_profile');
    expect(profile.materialized).toBe('incremental');
    expect(profile.config).toMatchObject({ incremental_strategy: 'cdc', unique_key: ['user_id'] });
    expect(profile.rawSql).toContain("{{ ref('users') }}");
    expect(profile.compiledSql).toContain('from "silver"."users" u');
    expect(profile.macros).toEqual(['age_band']);
    expect(profile.tests).toEqual([
      { name: 'accepted_values', id: 'test.accepted_values_silver_user_profile_sex', column: 'sex', args: { values: ['M', 'F'] }, status: 'fail', failures: 2, durationMs: 4 },
    ]);
    expect(profile.expectations).toEqual([
      { name: 'valid_sex', condition: "sex in ('M', 'F')", passed: 118, failed: 2, action: 'drop' },
      { name: 'has_city', condition: 'city is not null', passed: 120, failed: 0, action: 'drop' },
    ]);
    expect(byId(d, 'silver.users').tests!.map((t) => [t.name, t.status])).toEqual([
      ['unique', 'pass'],
      ['not_null', 'pass'],
    ]);
    expect(byId(d, 'bronze.bpm').run).toEqual({ status: 'success', rows: 3454, durationMs: 480, offsetMs: 230, files: 12, badRecords: 2 });
    expect(byId(d, 'gold.workout_bpm_summary').run).toMatchObject({ status: 'error', error: 'Binder Error: column "state" not found' });
    expect(byId(d, 'source:kafka.bpm').landing).toEqual({
      dir: 'landing/stream',
      format: 'kafka',
      files: 'bpm/*.jsonl',
      schemaEvolution: 'rescue',
      badRecords: 'quarantine',
      fileCount: 12,
      rows: 3456,
      badRecordCount: 2,
    });
    expect(byId(d, 'bronze.bpm').rows).toBe(400);
  });

  it('lets newer test and expectation results win over the run results', () => {
    const f = smallFixture();
    const d = buildDocsData(f.manifest, f.catalog, f.runResults, {
      tests: [{ id: 'test.accepted_values_silver_user_profile_sex', node: 'silver.user_profile', status: 'pass', failures: 0 }],
      expectations: { 'silver.user_profile': [{ name: 'valid_sex', passed: 120, failed: 0, action: 'drop' }] },
    });
    const profile = byId(d, 'silver.user_profile');
    expect(profile.tests!.map((t) => [t.name, t.status, t.failures])).toEqual([['accepted_values', 'pass', 0]]);
    expect(profile.expectations!.find((e) => e.name === 'valid_sex')).toMatchObject({ passed: 120, failed: 0 });
    // other nodes keep the results of the run
    expect(byId(d, 'silver.users').tests!.every((t) => t.status === 'pass')).toBe(true);
  });

  it('accepts the nulls lake writes for absent values', () => {
    const f = smallFixture();
    const users = f.manifest.nodes['silver.users']!;
    const manifest = {
      ...f.manifest,
      nodes: {
        ...f.manifest.nodes,
        'silver.users': {
          ...users,
          description: '',
          columns: { user_id: { name: 'user_id', description: '', data_type: null } },
          tests: [{ name: 'row_count_positive', column: null, args: {}, config: {} }],
        },
      },
    } as unknown as Manifest;
    const runResults = {
      ...f.runResults,
      results: f.runResults.results!.map((r) => (r.id === 'silver.users' ? { ...r, rows: null, message: null, error: null } : r)),
      tests: [{ id: 'test.row_count_positive_silver_users', node: 'silver.users', status: 'pass', failures: null }],
    } as unknown as RunResults;
    const d = buildDocsData(manifest, undefined, runResults);
    const n = byId(d, 'silver.users');
    expect(JSON.stringify(n)).not.toContain('null');
    expect(n.description).toBeUndefined();
    expect(n.columns).toEqual([{ name: 'user_id' }]);
    expect(n.tests).toEqual([{ name: 'row_count_positive', id: 'test.row_count_positive_silver_users', status: 'pass' }]);
    expect(n.run).toEqual({ status: 'success', durationMs: 120, offsetMs: 240 });
  });

  it('puts each column test result on its own column when a column name is also in the model name', () => {
    const f = smallFixture();
    const users = f.manifest.nodes['silver.users']!;
    const manifest = {
      ...f.manifest,
      nodes: {
        ...f.manifest.nodes,
        'gold.gym_summary': {
          ...users, id: 'gold.gym_summary', name: 'gym_summary', schema: 'gold', path: 'models/gold/gym_summary.sql', description: '',
          columns: { gym: { name: 'gym', description: '', data_type: null }, date: { name: 'date', description: '', data_type: null } },
          tests: [{ name: 'not_null', column: 'gym', args: {}, config: {} }, { name: 'not_null', column: 'date', args: {}, config: {} }],
        },
      },
    } as unknown as Manifest;
    const runResults = {
      ...f.runResults,
      // As run_results.json writes them: the date test first, both ids holding "gym".
      tests: [
        { id: 'test.not_null_gym_summary_date', name: 'not_null_gym_summary_date', node: 'gold.gym_summary', column: 'date', status: 'fail', failures: 17 },
        { id: 'test.not_null_gym_summary_gym', name: 'not_null_gym_summary_gym', node: 'gold.gym_summary', column: 'gym', status: 'pass', failures: 0 },
      ],
    } as unknown as RunResults;
    const n = byId(buildDocsData(manifest, undefined, runResults), 'gold.gym_summary');
    expect(n.tests!.map((t) => [t.column, t.id, t.status])).toEqual([
      ['gym', 'test.not_null_gym_summary_gym', 'pass'],
      ['date', 'test.not_null_gym_summary_date', 'fail'],
    ]);
  });

  it('builds from a manifest alone (no catalog, no run)', () => {
    const f = smallFixture();
    const d = buildDocsData(f.manifest);
    expect(d.run).toBeUndefined();
    expect(d.nodes).toHaveLength(12);
    const users = byId(d, 'silver.users');
    expect(users.run).toBeUndefined();
    expect(users.columns.map((c) => c.name)).toEqual(['user_id', 'device_id', 'mac_address', 'registration_timestamp']);
    expect(users.columns.some((c) => c.missing)).toBe(false);
    expect(users.tests!.map((t) => t.status)).toEqual([undefined, undefined]);
  });
});

describe('buildDocsData: Markdown descriptions and hidden models', () => {
  it('renders Markdown to HTML, shows raw HTML as text, drops unsafe links; plain text carries no HTML', () => {
    const f = smallFixture();
    const users = f.manifest.nodes['silver.users']!;
    users.description = '**One row** per user, see [the spec](https://example.com/spec).\n\n- a\n- b <script>alert(1)</script> [x](javascript:alert(1))';
    users.columns = { ...users.columns, user_id: { name: 'user_id', description: 'The `id`.' } };
    const d = buildDocsData(f.manifest, f.catalog, f.runResults, undefined, { generatedAt: '2024-05-01T10:02:00.000Z' });
    const n = byId(d, 'silver.users');
    expect(n.descriptionHtml).toContain('<strong>One row</strong>');
    expect(n.descriptionHtml).toContain('<a href="https://example.com/spec" target="_blank" rel="noopener noreferrer">the spec</a>');
    expect(n.descriptionHtml).toContain('<li>b &lt;script&gt;alert(1)&lt;/script&gt; x</li>');
    expect(n.descriptionHtml).not.toMatch(/<script|javascript:/);
    expect(n.columns.find((c) => c.name === 'user_id')?.descriptionHtml).toBe('<p>The <code>id</code>.</p>');
    expect(byId(d, 'gold.gym_summary').descriptionHtml).toBeUndefined();
  });

  it('leaves out models with docs: {show: false}', () => {
    const f = smallFixture();
    f.manifest.nodes['silver.users']!.config = { ...f.manifest.nodes['silver.users']!.config, docs: { show: false } };
    const d = buildDocsData(f.manifest, f.catalog, f.runResults, undefined, { generatedAt: '2024-05-01T10:02:00.000Z' });
    expect(d.nodes.map((x) => x.id)).not.toContain('silver.users');
    expect(d.edges.every(([a, b]) => d.nodes[a] && d.nodes[b])).toBe(true);
  });
});

describe('buildDocsData: edges and column lineage', () => {
  it('has one edge per parent relation, sources included', () => {
    const d = build();
    const edges = d.edges.map(([a, b]) => `${d.nodes[a]!.id} > ${d.nodes[b]!.id}`).sort();
    expect(edges).toEqual(
      [
        'source:landing.registered_users > bronze.registered_users',
        'source:kafka.user_info > bronze.user_info',
        'source:kafka.bpm > bronze.bpm',
        'bronze.registered_users > silver.users',
        'silver.users > silver.user_profile',
        'bronze.user_info > silver.user_profile',
        'bronze.bpm > silver.workout_bpm',
        'silver.users > silver.workout_bpm',
        'silver.workout_bpm > gold.workout_bpm_summary',
        'silver.user_profile > gold.workout_bpm_summary',
        'silver.users > gold.gym_summary',
        'main.gym_macs > gold.gym_summary',
      ].sort(),
    );
  });

  it('resolves column lineage to node indexes, through source labels, and counts what it cannot resolve', () => {
    const d = build();
    const edges = d.columnEdges.map(([a, ca, b, cb]) => `${d.nodes[a]!.id}.${ca} > ${d.nodes[b]!.id}.${cb}`);
    expect(edges).toContain('source:kafka.bpm.value > bronze.bpm.heartrate');
    expect(edges).toContain('source:kafka.bpm.timestamp > bronze.bpm.time');
    expect(edges).toContain('silver.workout_bpm.heartrate > gold.workout_bpm_summary.avg_bpm');
    expect(edges).toContain('main.gym_macs.gym > gold.gym_summary.gym');
    expect(edges).toHaveLength(32);
    expect(d.unresolvedLineage).toBe(1);
    // every column edge runs along a node edge
    const nodeEdges = new Set(d.edges.map(([a, b]) => `${a}>${b}`));
    for (const [a, , b] of d.columnEdges) expect(nodeEdges.has(`${a}>${b}`)).toBe(true);
  });

  it('walks column lineage transitively both ways', () => {
    const d = build();
    const lin = lineageClosure(d.columnEdges, idx(d, 'silver.workout_bpm'), 'user_id');
    expect(names(d, lin.upstream)).toEqual(['bronze.registered_users.user_id', 'silver.users.user_id', 'source:landing.registered_users.user_id']);
    expect(names(d, lin.downstream)).toEqual(['gold.workout_bpm_summary.user_id']);

    const hr = lineageClosure(d.columnEdges, idx(d, 'bronze.bpm'), 'HeartRate');
    expect(names(d, hr.upstream)).toEqual(['source:kafka.bpm.value']);
    expect(names(d, hr.downstream)).toEqual([
      'gold.workout_bpm_summary.avg_bpm',
      'gold.workout_bpm_summary.max_bpm',
      'gold.workout_bpm_summary.min_bpm',
      'silver.workout_bpm.heartrate',
    ]);

    const users = lineageClosure(d.columnEdges, idx(d, 'silver.users'), 'user_id');
    expect(names(d, users.downstream)).toEqual(['gold.workout_bpm_summary.user_id', 'silver.user_profile.user_id', 'silver.workout_bpm.user_id']);

    const none = lineageClosure(d.columnEdges, idx(d, 'silver.users'), 'registration_timestamp');
    expect(none.downstream).toEqual([]);
  });
});

describe('buildDocsData: run timeline', () => {
  it('has one bar per run node, by start offset, with the run totals', () => {
    const f = smallFixture();
    const d = build();
    expect(d.run).toBeDefined();
    const run = d.run!;
    expect(run.bars).toHaveLength(f.runResults.results!.length);
    expect(run.bars.map((b) => [b.id, b.offsetMs, b.durationMs])).toEqual([
      ['main.gym_macs', 10, 40],
      ['bronze.registered_users', 12, 210],
      ['bronze.user_info', 15, 260],
      ['bronze.bpm', 230, 480],
      ['silver.users', 240, 120],
      ['silver.user_profile', 370, 150],
      ['silver.workout_bpm', 720, 300],
      ['gold.workout_bpm_summary', 1030, 60],
      ['gold.gym_summary', 1040, 35],
    ]);
    for (const b of run.bars) expect(d.nodes[b.node]!.id).toBe(b.id);
    expect(run.bars.find((b) => b.id === 'gold.workout_bpm_summary')!.status).toBe('error');
    expect(run).toMatchObject({ runId: 'run-42', elapsedMs: 1500, status: 'error', tests: { pass: 3, fail: 1, warn: 0, error: 0 } });
  });

  it('measures offsets from the earliest result when the run has no start time', () => {
    const f = smallFixture();
    const { started_at: _drop, ...rest } = f.runResults;
    const d = buildDocsData(f.manifest, f.catalog, rest);
    expect(d.run!.bars[0]).toMatchObject({ id: 'main.gym_macs', offsetMs: 0 });
    expect(d.run!.bars.find((b) => b.id === 'bronze.bpm')!.offsetMs).toBe(220);
  });
});

describe('buildDocsData: layout', () => {
  it('lays the graph out left to right without overlapping boxes', () => {
    const d = build();
    const { boxes, width, height } = d.layout;
    expect(boxes).toHaveLength(d.nodes.length * 4);
    const box = (i: number) => ({ x: boxes[i * 4]!, y: boxes[i * 4 + 1]!, w: boxes[i * 4 + 2]!, h: boxes[i * 4 + 3]! });
    for (let i = 0; i < d.nodes.length; i++) {
      const b = box(i);
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.y).toBeGreaterThanOrEqual(0);
      expect(b.x + b.w).toBeLessThanOrEqual(width);
      expect(b.y + b.h).toBeLessThanOrEqual(height);
      for (let j = i + 1; j < d.nodes.length; j++) {
        const o = box(j);
        const overlap = b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h;
        expect(overlap, `${d.nodes[i]!.id} overlaps ${d.nodes[j]!.id}`).toBe(false);
      }
    }
    for (const [a, b] of d.edges) expect(box(a).x + box(a).w).toBeLessThan(box(b).x);
    expect(d.layout.edges).toHaveLength(d.edges.length);
    for (const p of d.layout.edges) expect(p).toMatch(/^M-?\d+ -?\d+[CL]/);
  });
});

describe('readDocsInputs', () => {
  it('reads the target folder and names the file and line of bad JSON', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-'));
    try {
      expect(() => readDocsInputs(dir)).toThrow(/no manifest[\s\S]*lake compile/);
      const f = smallFixture();
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(f.manifest, null, 1));
      const only = readDocsInputs(dir);
      expect(Object.keys(only.manifest.nodes)).toHaveLength(9);
      expect(only.catalog).toBeUndefined();
      expect(only.runResults).toBeUndefined();
      fs.writeFileSync(path.join(dir, 'run_results.json'), '{\n "run_id": "x",\n "results": [,]\n}');
      let err: unknown;
      try {
        readDocsInputs(dir);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LakeError);
      const diag = (err as LakeError).diagnostics[0]!;
      expect(diag.file).toBe(path.join(dir, 'run_results.json'));
      expect(diag.line).toBe(3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderSite', () => {
  it('embeds the data and one SVG group per node, with no external resources', () => {
    const d = build();
    const html = renderSite(d);
    expect(html.match(/<g class="n /g)).toHaveLength(d.nodes.length);
    const json = /<script type="application\/json" id="lake-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(d)));
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(html.replace('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
    expect(html.match(/<script/g)).toHaveLength(2);
  });

  it('escapes hostile text in descriptions, names and SQL', () => {
    const f = smallFixture();
    const evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
    const node = f.manifest.nodes['silver.users']!;
    const manifest = {
      ...f.manifest,
      nodes: { ...f.manifest.nodes, 'silver.users': { ...node, description: evil, compiled_sql: `select '${evil}'`, name: `users<b>` } },
    };
    const d = buildDocsData(manifest, f.catalog, f.runResults);
    const html = renderSite(d);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('users&lt;b&gt;');
    const json = /<script type="application\/json" id="lake-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(json).nodes.find((n: { id: string }) => n.id === 'silver.users').description).toBe(evil);
  });
});
