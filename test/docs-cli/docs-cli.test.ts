/**
 * `lake lineage`, `lake docs generate` and `lake docs serve` end to end: real child processes of
 * `node bin/lake.js` on a tiny project built by `lake run`, then the generated page in real headless
 * Chromium (playwright-core). The browser part skips only when /usr/bin/chromium is absent outside
 * CI, like test/docs/browser.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { openDocsPage } from '../docs/open-page.js';
import { buildCli, freePort, lake, makeProject, rawRequest, startLake, tryConnect, type CliResult } from './project.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
const skipBrowser = !available && !process.env.CI;
if (skipBrowser) {
  console.warn(`[docs-cli browser test] skipped: ${CHROMIUM} not found (run scripts/install-chromium.sh); it is required when CI is set`);
}
const ARTIFACTS = path.resolve('test-artifacts');

/** The lineage lake must find in the fixture project, every edge written out. */
const EXPECTED_LINEAGE = {
  'bronze.devices': {
    device_id: [{ relation: 'source:raw.devices', column: 'device_id' }],
    user_name: [{ relation: 'source:raw.devices', column: 'user_name' }],
    gym_id: [{ relation: 'source:raw.devices', column: 'gym_id' }],
  },
  'bronze.readings': {
    device_id: [{ relation: 'source:raw.readings', column: 'device_id' }],
    reading_time: [{ relation: 'source:raw.readings', column: 'reading_time' }],
    bpm: [{ relation: 'source:raw.readings', column: 'bpm' }],
  },
  'silver.device_bpm': {
    device_id: [{ relation: 'bronze.readings', column: 'device_id' }],
    owner: [{ relation: 'bronze.devices', column: 'user_name' }],
    gym_id: [{ relation: 'bronze.devices', column: 'gym_id' }],
    bpm: [{ relation: 'bronze.readings', column: 'bpm' }],
    reading_time: [{ relation: 'bronze.readings', column: 'reading_time' }],
  },
  'gold.owner_summary': {
    owner: [{ relation: 'silver.device_bpm', column: 'owner' }],
    gym_name: [{ relation: 'seeds.gyms', column: 'gym_name' }],
    avg_bpm: [{ relation: 'silver.device_bpm', column: 'bpm' }],
    bpm_range: [{ relation: 'silver.device_bpm', column: 'bpm' }],
    readings: [],
  },
  'gold.gym_summary': {
    gym_id: [{ relation: 'seeds.gyms', column: 'gym_id' }],
    gym_name: [{ relation: 'seeds.gyms', column: 'gym_name' }],
    devices: [{ relation: 'silver.device_bpm', column: 'device_id' }],
    avg_bpm: [{ relation: 'silver.device_bpm', column: 'bpm' }],
  },
};

/** Column names and types of every relation, read from the database file itself. */
async function databaseTypes(dbFile: string): Promise<Map<string, [string, string][]>> {
  const db = await DuckDBAdapter.open(dbFile);
  try {
    const rows = await db.query<{ s: string; t: string; c: string; ty: string }>(
      `select table_schema as s, table_name as t, column_name as c, data_type as ty from information_schema.columns
       where table_schema in ('raw', 'seeds', 'bronze', 'silver', 'gold') order by table_schema, table_name, ordinal_position`,
    );
    const out = new Map<string, [string, string][]>();
    for (const r of rows) out.set(`${r.s}.${r.t}`, [...(out.get(`${r.s}.${r.t}`) ?? []), [r.c, r.ty]]);
    return out;
  } finally {
    await db.close();
  }
}

const noStack = (r: CliResult): void => {
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  expect(r.stderr).not.toContain('internal error');
};

describe('lake lineage and lake docs (child processes)', () => {
  let bin: string;
  let dir: string;
  let types: Map<string, [string, string][]>;

  beforeAll(async () => {
    bin = buildCli();
    dir = makeProject();
    const run = await lake(bin, dir, ['run']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Done in .*: 6 ok, 0 errors, 0 skipped/);
    types = await databaseTypes(path.join(dir, 'target/docs_cli.duckdb'));
    // the hook-created tables and a few model types the page must show
    expect(types.get('raw.readings')).toEqual([['device_id', 'INTEGER'], ['reading_time', 'TIMESTAMP'], ['bpm', 'DOUBLE']]);
    expect(types.get('silver.device_bpm')).toEqual([['device_id', 'INTEGER'], ['owner', 'VARCHAR'], ['gym_id', 'SMALLINT'], ['bpm', 'DOUBLE'], ['reading_time', 'TIMESTAMP']]);
  }, 180_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (bin) fs.rmSync(path.dirname(path.dirname(bin)), { recursive: true, force: true });
  });

  it('lake lineage --upstream lists what a gold column is computed from, through CTEs, joins and an aggregate', async () => {
    const r = await lake(bin, dir, ['lineage', 'gold.owner_summary.avg_bpm', '--upstream']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(['upstream of gold.owner_summary.avg_bpm:', '  silver.device_bpm.bpm', '    bronze.readings.bpm', '      source:raw.readings.bpm', ''].join('\n'));

    // a renamed column in a CTE, then `select *` in bronze
    const owner = await lake(bin, dir, ['lineage', 'owner_summary.owner', '--upstream']);
    expect(owner.code).toBe(0);
    expect(owner.stdout).toBe(
      ['upstream of gold.owner_summary.owner:', '  silver.device_bpm.owner', '    bronze.devices.user_name', '      source:raw.devices.user_name', ''].join('\n'),
    );
  });

  it('lake lineage --downstream lists every column computed from a source column', async () => {
    const r = await lake(bin, dir, ['lineage', 'source:raw.readings.bpm', '--downstream']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'downstream of source:raw.readings.bpm:',
        '  bronze.readings.bpm',
        '    silver.device_bpm.bpm',
        '      gold.gym_summary.avg_bpm',
        '      gold.owner_summary.avg_bpm',
        '      gold.owner_summary.bpm_range',
        '',
      ].join('\n'),
    );
    const seed = await lake(bin, dir, ['lineage', 'seeds.gyms.gym_name', '--downstream']);
    expect(seed.code).toBe(0);
    expect(seed.stdout).toBe(['downstream of seeds.gyms.gym_name:', '  gold.gym_summary.gym_name', '  gold.owner_summary.gym_name', ''].join('\n'));
  });

  it('lake lineage without a direction prints both; a count(*) has no upstream', async () => {
    const r = await lake(bin, dir, ['lineage', 'gold.owner_summary.readings']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('upstream of gold.owner_summary.readings: (none)\ndownstream of gold.owner_summary.readings: (none)\n');
  });

  it('--log-format json gives one parseable record per line', async () => {
    const r = await lake(bin, dir, ['--log-format', 'json', 'lineage', 'silver.device_bpm.bpm']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((x) => [x.kind, x.direction, x.column])).toEqual([
      ['lineage', 'upstream', 'silver.device_bpm.bpm'],
      ['lineage', 'downstream', 'silver.device_bpm.bpm'],
    ]);
    expect(records[0]!.hops).toEqual([
      { relation: 'bronze.readings', column: 'bpm', depth: 1, via: 'silver.device_bpm.bpm' },
      { relation: 'source:raw.readings', column: 'bpm', depth: 2, via: 'bronze.readings.bpm' },
    ]);
    expect(records[1]!.hops).toEqual([
      { relation: 'gold.gym_summary', column: 'avg_bpm', depth: 1, via: 'silver.device_bpm.bpm' },
      { relation: 'gold.owner_summary', column: 'avg_bpm', depth: 1, via: 'silver.device_bpm.bpm' },
      { relation: 'gold.owner_summary', column: 'bpm_range', depth: 1, via: 'silver.device_bpm.bpm' },
    ]);
    for (const x of records) expect(Number.isNaN(Date.parse(String(x.ts)))).toBe(false);

    // errors are JSON records too
    const bad = await lake(bin, dir, ['--log-format', 'json', 'lineage', 'gold.owner_summary.nope']);
    expect(bad.code).toBe(2);
    const diag = bad.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(diag).toEqual([expect.objectContaining({ kind: 'diagnostic', code: 'LAKE-U032', severity: 'error', message: "gold.owner_summary has no column 'nope'" })]);
  });

  it('an unknown model, column or argument is a clear error with exit 2', async () => {
    const model = await lake(bin, dir, ['lineage', 'gold.nope.avg_bpm']);
    expect(model.code).toBe(2);
    expect(model.stdout).toBe('');
    expect(model.stderr).toMatch(/^error LAKE-U031: 'gold\.nope' matches no model or seed\n {2}hint: /);
    noStack(model);
    const typo = await lake(bin, dir, ['lineage', 'gold.owner_sumary.avg_bpm']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^error LAKE-U031: 'gold\.owner_sumary' matches no model or seed\n {2}hint: did you mean gold\.owner_summary\?/);

    const column = await lake(bin, dir, ['lineage', 'gold.owner_summary.avg_bmp', '--upstream']);
    expect(column.code).toBe(2);
    expect(column.stderr).toBe("error LAKE-U032: gold.owner_summary has no column 'avg_bmp'\n  hint: columns: owner, gym_name, avg_bpm, bpm_range, readings\n");

    // seeds and sources have no lineage of their own; their columns come from the database
    const seed = await lake(bin, dir, ['lineage', 'seeds.gyms.name']);
    expect(seed.code).toBe(2);
    expect(seed.stderr).toBe("error LAKE-U032: seeds.gyms has no column 'name'\n  hint: columns: gym_id, gym_name\n");
    const source = await lake(bin, dir, ['lineage', 'source:raw.readings.heartrate', '--downstream']);
    expect(source.code).toBe(2);
    expect(source.stderr).toBe("error LAKE-U032: source:raw.readings has no column 'heartrate'\n  hint: columns: device_id, reading_time, bpm\n");

    const shape = await lake(bin, dir, ['lineage', 'avg_bpm']);
    expect(shape.code).toBe(2);
    expect(shape.stderr).toMatch(/^error LAKE-U030: 'avg_bpm' is not <model>\.<column>/);
    noStack(shape);
    // A model alone (schema.model): it asks for a column, instead of "'gold' matches no model".
    const modelOnly = await lake(bin, dir, ['lineage', 'seeds.gyms']);
    expect(modelOnly.code).toBe(2);
    expect(modelOnly.stderr).toMatch(/^error LAKE-U030: 'seeds\.gyms' is a model: name one of its columns/);
  });

  describe('lake docs generate', () => {
    let generated: CliResult;
    beforeAll(async () => {
      fs.rmSync(path.join(dir, 'target/docs'), { recursive: true, force: true });
      fs.rmSync(path.join(dir, 'target/catalog.json'), { force: true });
      generated = await lake(bin, dir, ['docs', 'generate']);
    }, 120_000);

    it('writes one self-contained index.html', () => {
      expect(generated.stderr).toBe('');
      expect(generated.code).toBe(0);
      expect(generated.stdout).toMatch(/^wrote target\/docs\/index\.html in \d+ ms\n$/);
      const html = fs.readFileSync(path.join(dir, 'target/docs/index.html'), 'utf8');
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('<title>docs_cli · lake docs</title>');
      // nothing is fetched: no external scripts, styles or links
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);
      expect(fs.readdirSync(path.join(dir, 'target/docs'))).toEqual(['index.html']);
    });

    it('colours the seed as a seed, not as a source, in the graph and its legend', () => {
      const html = fs.readFileSync(path.join(dir, 'target/docs/index.html'), 'utf8');
      const legend = html.match(/<div class="legend">(.*?)<span class="lg-sep">/)?.[1];
      expect(legend).toBe('<span class="lg l-source"><i></i>source <small>2</small></span><span class="lg l-seed"><i></i>seed <small>1</small></span>'
        + '<span class="lg l-bronze"><i></i>bronze <small>2</small></span><span class="lg l-silver"><i></i>silver <small>1</small></span><span class="lg l-gold"><i></i>gold <small>2</small></span>');
      expect(html).toMatch(/<g class="n l-seed[^"]*" data-i="\d+" data-id="seeds\.gyms"/);
      expect(html).toMatch(/\.l-seed\{--c:var\(--seed\)/);
    });

    it('writes catalog.json with the column types the database has', () => {
      const catalog = JSON.parse(fs.readFileSync(path.join(dir, 'target/catalog.json'), 'utf8')) as {
        nodes: Record<string, { columns: { name: string; type: string }[]; rows?: number }>;
        sources: Record<string, { columns?: { name: string; type: string }[] }>;
      };
      const asPairs = (cols: { name: string; type: string }[] | undefined) => cols?.map((c) => [c.name, c.type]);
      expect(Object.keys(catalog.nodes).sort()).toEqual(['bronze.devices', 'bronze.readings', 'gold.gym_summary', 'gold.owner_summary', 'seeds.gyms', 'silver.device_bpm']);
      for (const [id, node] of Object.entries(catalog.nodes)) expect(asPairs(node.columns), id).toEqual(types.get(id));
      expect(asPairs(catalog.nodes['gold.owner_summary']!.columns)).toEqual([
        ['owner', 'VARCHAR'],
        ['gym_name', 'VARCHAR'],
        ['avg_bpm', 'DOUBLE'],
        ['bpm_range', 'DOUBLE'],
        ['readings', 'BIGINT'],
      ]);
      expect(catalog.nodes['silver.device_bpm']!.rows).toBe(3);
      expect(catalog.nodes['gold.owner_summary']!.rows).toBe(2);
      // sources over existing tables: their types come from the database too
      expect(asPairs(catalog.sources['source:raw.readings']?.columns)).toEqual(types.get('raw.readings'));
      expect(asPairs(catalog.sources['source:raw.devices']?.columns)).toEqual([['device_id', 'INTEGER'], ['user_name', 'VARCHAR'], ['gym_id', 'SMALLINT']]);
    });

    it('writes manifest.json with column_lineage filled', () => {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8')) as {
        nodes: Record<string, { compiled_sql?: string }>;
        column_lineage?: unknown;
      };
      expect(manifest.column_lineage).toEqual(EXPECTED_LINEAGE);
      expect(manifest.nodes['silver.device_bpm']!.compiled_sql).toContain('from "bronze"."readings" where bpm > 0');
    });
  });

  describe('lake docs serve', () => {
    it('serves the docs on 127.0.0.1 only, refuses paths outside the docs folder, and exits 0 on SIGINT', async () => {
      if (!fs.existsSync(path.join(dir, 'target/docs/index.html'))) expect((await lake(bin, dir, ['docs', 'generate'])).code).toBe(0);
      const port = await freePort();
      const served = await startLake(bin, dir, ['docs', 'serve', '--port', String(port)], /serving .* at http:\/\/127\.0\.0\.1:\d+\//);
      const exited = new Promise<number | null>((resolve) => served.child.on('exit', (code) => resolve(code)));
      try {
        expect(served.stdout()).toContain(`at http://127.0.0.1:${port}/`);

        const index = await rawRequest(port, 'GET / HTTP/1.1');
        expect(index).toMatch(/^HTTP\/1\.1 200 /);
        expect(index).toContain('<title>docs_cli · lake docs</title>');
        const file = await rawRequest(port, 'GET /index.html HTTP/1.1');
        expect(file).toMatch(/^HTTP\/1\.1 200 /);

        // target/catalog.json and the database sit right above the docs folder
        expect(fs.existsSync(path.join(dir, 'target/catalog.json'))).toBe(true);
        for (const target of ['/../catalog.json', '/../docs_cli.duckdb', '/%2e%2e/catalog.json', '/..%2fcatalog.json', '/docs/../../project.yml', '/../../project.yml']) {
          const reply = await rawRequest(port, `GET ${target} HTTP/1.1`);
          expect(reply, target).toMatch(/^HTTP\/1\.1 (403|404) /);
          expect(reply, target).not.toContain('"nodes"');
          expect(reply, target).not.toContain('docs_cli.duckdb');
          expect(reply, target).not.toContain('on_run_start');
        }
        expect(await rawRequest(port, 'GET /../catalog.json HTTP/1.1')).toMatch(/^HTTP\/1\.1 403 /);
        // read-only
        expect(await rawRequest(port, 'PUT /index.html HTTP/1.1')).toMatch(/^HTTP\/1\.1 405 /);

        // the socket listens on the loopback address only
        const listening = listeningAddresses(port);
        if (listening) expect(listening).toEqual(['127.0.0.1']);
        for (const addr of otherAddresses()) expect(await tryConnect(addr, port), addr).not.toBe('connected');
      } finally {
        served.child.kill('SIGINT');
      }
      expect(await exited).toBe(0);
      expect(served.stderr()).toBe('');
      // the port is free again
      expect(await tryConnect('127.0.0.1', port)).toBe('ECONNREFUSED');
    });

    it('prints the line, URL and flag the README tells a user to open the site with', async () => {
      if (!fs.existsSync(path.join(dir, 'target/docs/index.html'))) expect((await lake(bin, dir, ['docs', 'generate'])).code).toBe(0);
      const port = await freePort();
      const served = await startLake(bin, dir, ['docs', 'serve', '--port', String(port)], /\(Ctrl-C to stop\)\n/);
      const exited = new Promise<number | null>((resolve) => served.child.on('exit', (code) => resolve(code)));
      try {
        const url = `http://127.0.0.1:${port}/`;
        expect(served.stdout()).toBe(`serving ${fs.realpathSync(dir)}/target/docs at ${url} (Ctrl-C to stop)\n`);
        expect(await rawRequest(port, 'GET / HTTP/1.1')).toContain('<title>docs_cli · lake docs</title>');
        // The README quotes that line (with the default port) and says to open the URL, and how to pick another port.
        const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
        const line = served.stdout().trim().replace(fs.realpathSync(dir), '/path/to/project').replace(String(port), '8080');
        expect(readme).toContain(line);
        expect(readme).toMatch(/open\s+http:\/\/127\.0\.0\.1:8080\/\s+in a browser/);
        expect(readme).toContain('lake docs serve --port 9000');
      } finally {
        served.child.kill('SIGINT');
      }
      expect(await exited).toBe(0);
    });

    it('explains a missing docs folder and a taken port with exit 2', async () => {
      const fresh = makeProject();
      try {
        const none = await lake(bin, fresh, ['docs', 'serve', '--port', String(await freePort())]);
        expect(none.code).toBe(2);
        expect(none.stderr).toMatch(/^error LAKE-U053: no .*target\/docs\/index\.html\n {2}hint: run `lake docs generate` first\n$/);
      } finally {
        fs.rmSync(fresh, { recursive: true, force: true });
      }
      // A port no socket can have is a usage error, not an internal one.
      for (const bad of ['80808', 'abc', '-1']) {
        const r = await lake(bin, dir, ['docs', 'serve', '--port', bad]);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(`error LAKE-U055: --port must be a whole number from 1 to 65535, not ${bad}\n  hint: e.g. --port 8080\n`);
      }
      const port = await freePort();
      const first = await startLake(bin, dir, ['docs', 'serve', '--port', String(port)], /serving /);
      const exited = new Promise<number | null>((resolve) => first.child.on('exit', (code) => resolve(code)));
      try {
        const second = await lake(bin, dir, ['docs', 'serve', '--port', String(port)]);
        expect(second.code).toBe(2);
        expect(second.stderr).toMatch(/LAKE-U054: cannot listen on 127\.0\.0\.1:\d+: port already in use\n {2}hint: choose another port with --port/);
      } finally {
        first.child.kill('SIGINT');
      }
      expect(await exited).toBe(0);
    });
  });

  describe.skipIf(skipBrowser)('the generated page in headless Chromium', () => {
    let browser: Browser;

    beforeAll(async () => {
      if (!available) throw new Error(`${CHROMIUM} not found: CI is set, so the browser tests must run; install it with scripts/install-chromium.sh`);
      if (!fs.existsSync(path.join(dir, 'target/docs/index.html'))) expect((await lake(bin, dir, ['docs', 'generate'])).code).toBe(0);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
    });

    const highlighted = (page: Page, cls: string): Promise<string[]> =>
      page.$$eval(`#graph g.n.${cls}`, (els) => els.map((e) => (e as SVGGElement).dataset.id ?? '').sort());
    const columnRows = (page: Page): Promise<string[][]> =>
      page.$$eval('#panel tr.col', (trs) => trs.map((tr) => [tr.querySelector('.cn')!.childNodes[0]!.textContent ?? '', tr.querySelector('.ct')!.textContent ?? '']));

    it('shows compiled SQL and database types of this project, and highlights the lineage lake computed', async () => {
      const { page, errors, requests } = await openDocsPage(browser, pathToFileURL(path.join(dir, 'target/docs/index.html')).href);

      expect(
        (await page.$$eval('#graph g.n', (els) => els.map((e) => (e as SVGGElement).dataset.id ?? ''))).sort(),
      ).toEqual(['bronze.devices', 'bronze.readings', 'gold.gym_summary', 'gold.owner_summary', 'seeds.gyms', 'silver.device_bpm', 'source:raw.devices', 'source:raw.readings']);

      // a model: its compiled SQL as lake wrote it, and the column types from the database
      await page.click('#graph g.n[data-id="silver.device_bpm"]');
      await expect.poll(() => page.locator('#panel h2').textContent()).toBe('device_bpm');
      const compiledFile = fs.readFileSync(path.join(dir, 'target/compiled/silver/device_bpm.sql'), 'utf8');
      expect((await page.locator('#panel .sql-compiled').innerText()).trim()).toBe(compiledFile.trim());
      expect(await columnRows(page)).toEqual(types.get('silver.device_bpm'));
      expect(await page.locator('#panel tr.col[data-col="owner"] .cd').textContent()).toBe('Who wears the device');

      // a source over a hook-created table: its types come from the database as well
      await page.click('#graph g.n[data-id="source:raw.readings"]');
      await expect.poll(() => page.locator('#panel h2').textContent()).toBe('raw.readings');
      expect(await columnRows(page)).toEqual(types.get('raw.readings'));

      // clicking a column highlights what `lake lineage` computes for it
      const cli = await lake(bin, dir, ['--log-format', 'json', 'lineage', 'silver.device_bpm.bpm']);
      const [up, down] = cli.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { hops: { relation: string; column: string }[] }).hops);
      const nodesOf = (hops: { relation: string }[]) => [...new Set(hops.map((h) => h.relation))].sort();
      await page.click('#graph g.n[data-id="silver.device_bpm"]');
      await expect.poll(() => page.locator('#panel h2').textContent()).toBe('device_bpm');
      await page.click('#panel tr.col[data-col="bpm"]');
      await expect.poll(() => highlighted(page, 'hl-self')).toEqual(['silver.device_bpm']);
      expect(await highlighted(page, 'hl-up')).toEqual(nodesOf(up!));
      expect(await highlighted(page, 'hl-down')).toEqual(nodesOf(down!));
      expect(await highlighted(page, 'hl-up')).toEqual(['bronze.readings', 'source:raw.readings']);
      expect(await highlighted(page, 'hl-down')).toEqual(['gold.gym_summary', 'gold.owner_summary']);
      const listed = await page.$$eval('#panel .lin-item', (els) =>
        els.map((e) => `${e.className.replace('lin-item ', '')} ${(e as HTMLElement).dataset.node}.${(e as HTMLElement).dataset.column}`).sort(),
      );
      expect(listed).toEqual([...up!.map((h) => `up ${h.relation}.${h.column}`), ...down!.map((h) => `down ${h.relation}.${h.column}`)].sort());
      // nodes off the lineage are dimmed
      expect(await page.$eval('#graph g.n[data-id="bronze.devices"]', (e) => Number(getComputedStyle(e).opacity))).toBeLessThan(0.5);

      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'docs-cli.png') });

      expect(errors).toEqual([]);
      expect(requests.every((r) => r.startsWith('file://'))).toBe(true);
      await page.close();
    });
  });
});

/** Local addresses a server bound to 0.0.0.0 or :: would also answer on. */
function otherAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') out.push(a.address);
  }
  return out;
}

/**
 * The addresses with a listening TCP socket on `port`, from /proc/net/tcp{,6} (Linux), or
 * undefined where that is not available.
 */
function listeningAddresses(port: number): string[] | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  let readable = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
      readable = true;
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A = LISTEN
      const [addr, p] = f[1]!.split(':');
      if (p !== hexPort) continue;
      if (addr!.length === 8) {
        const b = addr!.match(/../g)!.map((h) => parseInt(h, 16)).reverse();
        found.push(b.join('.'));
      } else found.push(`ipv6:${addr}`);
    }
  }
  return readable ? found : undefined;
}
