/**
 * The docs site in real headless Chromium (Debian's chromium driven by playwright-core): opened from
 * file:// and through serveDocs. Skips only when /usr/bin/chromium is absent outside CI; in CI
 * (scripts/install-chromium.sh runs first) a missing browser fails the test.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDocsData, type DocsData } from '../../src/docs/docs-data.js';
import { serveDocs } from '../../src/docs/serve.js';
import { writeSite } from '../../src/docs/site.js';
import { smallFixture } from './fixture.js';
import { openDocsPage } from './open-page.js';

const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
const skip = !available && !process.env.CI;
if (skip) {
  console.warn(`[docs browser test] skipped: ${CHROMIUM} not found (run scripts/install-chromium.sh); it is required when CI is set`);
}

const ARTIFACTS = path.resolve('test-artifacts');

describe.skipIf(skip)('docs site in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let data: DocsData;
  const fixture = smallFixture();

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} not found: CI is set, so the browser tests must run; install it with scripts/install-chromium.sh`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-'));
    data = buildDocsData(fixture.manifest, fixture.catalog, fixture.runResults, undefined, { generatedAt: '2024-05-01T10:02:00.000Z' });
    writeSite(path.join(dir, 'docs'), data);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const open = (url: string) => openDocsPage(browser, url);

  const highlighted = (page: Page, cls: string): Promise<string[]> =>
    page.$$eval(`#graph g.n.${cls}`, (els) => els.map((e) => (e as SVGGElement).dataset.id ?? '').sort());

  it('searches, selects a node, shows its SQL and columns, and highlights column lineage (file://)', async () => {
    const url = pathToFileURL(path.join(dir, 'docs', 'index.html')).href;
    const { page, errors, requests } = await open(url);

    expect(await page.locator('#graph g.n').count()).toBe(12);
    expect(await page.title()).toBe('wearables · lake docs');

    // search highlights matches and lists them; Enter selects the first
    await page.fill('#search', 'workout');
    expect(await highlighted(page, 'match')).toEqual(['gold.workout_bpm_summary', 'silver.workout_bpm']);
    expect(await page.locator('#search-results .sr-item').count()).toBe(2);
    await page.press('#search', 'Enter');
    await expect.poll(() => page.locator('#panel h2').textContent()).toBe('workout_bpm');
    expect(await highlighted(page, 'sel')).toEqual(['silver.workout_bpm']);

    // compiled SQL and columns with types and descriptions
    const compiled = await page.locator('#panel .sql-compiled').innerText();
    expect(compiled).toContain('from "bronze"."bpm" b');
    expect(compiled).toContain('join "silver"."users" u using (device_id)');
    expect(await page.locator('#panel .sql-compiled').isVisible()).toBe(true);
    const rows = await page.$$eval('#panel tr.col', (trs) =>
      trs.map((tr) => [tr.querySelector('.cn')!.childNodes[0]!.textContent, tr.querySelector('.ct')!.textContent, tr.querySelector('.cd')!.textContent]),
    );
    expect(rows).toEqual([
      ['user_id', 'BIGINT', 'User id'],
      ['time', 'TIMESTAMP', 'Reading time'],
      ['heartrate', 'DOUBLE', 'Beats per minute'],
    ]);
    await page.click('#panel [data-sql="raw"]');
    expect(await page.locator('#panel .sql-raw').innerText()).toContain("{{ ref('bpm') }}");
    expect(await page.locator('#panel .sql-compiled').isVisible()).toBe(false);
    await page.click('#panel [data-sql="compiled"]');

    // clicking a column highlights its lineage across the graph
    await page.click('#panel tr.col[data-col="user_id"]');
    await expect.poll(() => highlighted(page, 'hl-self')).toEqual(['silver.workout_bpm']);
    expect(await highlighted(page, 'hl-up')).toEqual(['bronze.registered_users', 'silver.users', 'source:landing.registered_users']);
    expect(await highlighted(page, 'hl-down')).toEqual(['gold.workout_bpm_summary']);
    const lineage = await page.$$eval('#panel .lin-item', (els) => els.map((e) => `${e.className.replace('lin-item ', '')} ${(e as HTMLElement).dataset.node}.${(e as HTMLElement).dataset.column}`).sort());
    expect(lineage).toEqual([
      'down gold.workout_bpm_summary.user_id',
      'up bronze.registered_users.user_id',
      'up silver.users.user_id',
      'up source:landing.registered_users.user_id',
    ]);
    expect(await page.getAttribute('#edges-hl-up', 'd')).toMatch(/^M/);
    expect(await page.getAttribute('#edges-hl-down', 'd')).toMatch(/^M/);
    expect(await page.locator('#overlay .badge').count()).toBe(5);
    // unrelated nodes are dimmed
    const dimmed = await page.$eval('#graph g.n[data-id="bronze.bpm"]', (e) => Number(getComputedStyle(e).opacity));
    expect(dimmed).toBeLessThan(0.5);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs.png') });

    // following a lineage entry moves to that node and keeps tracing the column
    await page.click('#panel .lin-item.down .ref');
    await expect.poll(() => page.locator('#panel h2').textContent()).toBe('workout_bpm_summary');
    expect(await highlighted(page, 'hl-up')).toEqual(['bronze.registered_users', 'silver.users', 'silver.workout_bpm', 'source:landing.registered_users']);
    expect(await highlighted(page, 'hl-down')).toEqual([]);

    // a source shows its landing-zone file count; a failed node its error
    await page.click('#graph g.n[data-id="source:kafka.bpm"]');
    await expect.poll(() => page.locator('#panel h2').textContent()).toBe('kafka.bpm');
    expect(await page.locator('#panel .landing-files').textContent()).toBe('12');
    expect(await page.locator('#graph g.n.hl-up').count()).toBe(0);
    await page.click('#graph g.n[data-id="gold.workout_bpm_summary"]');
    expect(await page.locator('#panel pre.err').textContent()).toContain('Binder Error');

    expect(errors).toEqual([]);
    expect(requests.every((r) => r.startsWith('file://'))).toBe(true);
    await page.close();
  });

  it('zooms with the wheel, pans with a drag and fits', async () => {
    const { page, errors } = await open(pathToFileURL(path.join(dir, 'docs', 'index.html')).href);
    const transform = () => page.getAttribute('#viewport', 'transform');
    const scale = async () => Number(/scale\(([\d.]+)\)/.exec((await transform()) ?? '')![1]);
    const translate = async () => /translate\(([-\d.]+),([-\d.]+)\)/.exec((await transform()) ?? '')!.slice(1).map(Number);
    const k0 = await scale();
    await page.mouse.move(700, 450);
    await page.mouse.wheel(0, -300);
    await expect.poll(scale).toBeGreaterThan(k0 * 1.2);
    const [x0, y0] = await translate();
    await page.mouse.move(300, 700);
    await page.mouse.down();
    await page.mouse.move(400, 650, { steps: 5 });
    await page.mouse.up();
    await expect.poll(translate).toEqual([x0! + 100, y0! - 50]);
    // a drag is not a click: nothing got selected
    expect(await page.locator('#panel').isHidden()).toBe(true);
    await page.click('#fit');
    await expect.poll(scale).toBeCloseTo(k0, 3);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows one timeline bar per node of the last run', async () => {
    const { page, errors } = await open(pathToFileURL(path.join(dir, 'docs', 'index.html')).href);
    await page.click('#tab-timeline');
    const bars = await page.$$eval('#timeline .tl-bar', (els) => els.map((e) => (e as SVGRectElement).dataset.id));
    expect(bars).toEqual(fixture.runResults.results!.map((r) => r.id));
    // bars start in run order and are as long as their durations (same scale)
    const geo = await page.$$eval('#timeline .tl-bar', (els) => els.map((e) => [Number(e.getAttribute('x')), Number(e.getAttribute('width'))]));
    for (let i = 1; i < geo.length; i++) expect(geo[i]![0]).toBeGreaterThanOrEqual(geo[i - 1]![0]!);
    const bpm = geo[3]!;
    const users = geo[4]!;
    expect(bpm[1]! / users[1]!).toBeCloseTo(480 / 120, 1);
    expect(await page.locator('#timeline .tl-bar.st-bad').count()).toBe(1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs-timeline.png') });
    // clicking a bar opens the node
    await page.click('#timeline .tl-bar[data-id="silver.users"]');
    await expect.poll(() => page.locator('#panel h2').textContent()).toBe('users');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('opens the node named in the address (#id) and follows hash changes', async () => {
    const base = pathToFileURL(path.join(dir, 'docs', 'index.html')).href;
    const { page, errors } = await open(`${base}#silver.users`);
    await expect.poll(() => page.locator('#panel h2').textContent()).toBe('users');
    await page.evaluate(() => (location.hash = '#source:kafka.bpm'));
    await expect.poll(() => page.locator('#panel h2').textContent()).toBe('kafka.bpm');
    await page.keyboard.press('Escape');
    expect(await page.locator('#panel').isHidden()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('renders an empty project without errors', async () => {
    const empty = buildDocsData({ metadata: { project: 'empty' }, nodes: {} });
    writeSite(path.join(dir, 'empty'), empty);
    const { page, errors } = await open(pathToFileURL(path.join(dir, 'empty', 'index.html')).href);
    expect(await page.locator('#graph g.n').count()).toBe(0);
    expect(await page.locator('#graph-view .empty').textContent()).toContain('no models');
    await page.click('#tab-timeline');
    expect(await page.locator('#timeline .empty').textContent()).toContain('lake run');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows Markdown descriptions as formatted text, and never runs HTML from one', async () => {
    const f = smallFixture();
    f.manifest.nodes['silver.users']!.description = '**Bold** and a [link](https://example.com).\n\n<img src=x onerror="window.__pwned = 1">';
    const manifest = { ...f.manifest, docs: { __overview__: { name: '__overview__', block_contents: '# Wearables\n\nThe *lakehouse* of SBIT.' } } };
    writeSite(path.join(dir, 'md'), buildDocsData(manifest, f.catalog, f.runResults, undefined, { generatedAt: '2024-05-01T10:02:00.000Z' }));
    // The front page is the __overview__ docs block.
    const home = await open(pathToFileURL(path.join(dir, 'md', 'index.html')).href);
    expect(await home.page.locator('#panel .overview h1').textContent()).toBe('Wearables');
    expect(await home.page.locator('#panel .overview em').textContent()).toBe('lakehouse');
    await home.page.click('#panel-close');
    expect(await home.page.locator('#panel').isHidden()).toBe(true);
    expect(home.errors).toEqual([]);
    await home.page.close();
    const { page, errors } = await open(`${pathToFileURL(path.join(dir, 'md', 'index.html')).href}#silver.users`);
    await expect.poll(() => page.locator('#panel h2').textContent()).toBe('users');
    expect(await page.locator('#panel .desc strong').textContent()).toBe('Bold');
    expect(await page.locator('#panel .desc a').getAttribute('href')).toBe('https://example.com');
    expect(await page.locator('#panel .desc img').count()).toBe(0);
    expect(await page.locator('#panel .desc').innerText()).toContain('<img src=x');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('works the same when served by serveDocs', async () => {
    const server = await serveDocs(path.join(dir, 'docs'), 0);
    try {
      const { page, errors, requests } = await open(server.url);
      expect(await page.locator('#graph g.n').count()).toBe(data.nodes.length);
      await page.fill('#search', 'gym_summary');
      await page.press('#search', 'Enter');
      await expect.poll(() => page.locator('#panel h2').textContent()).toBe('gym_summary');
      expect(await page.locator('#panel .sql-compiled').innerText()).toContain('join "main"."gym_macs" g using (mac_address)');
      await page.click('#panel tr.col[data-col="gym"]');
      await expect.poll(() => highlighted(page, 'hl-up')).toEqual(['main.gym_macs']);
      expect(errors).toEqual([]);
      expect(requests.every((r) => r.startsWith(server.url))).toBe(true);
      await page.close();
    } finally {
      await server.close();
    }
  });
});
