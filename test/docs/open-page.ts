/** Opening the docs page in headless Chromium for the browser tests, recording errors and requests. */
import type { Browser, Page } from 'playwright-core';

/** A fresh page at `url`, ready (the app's `lakeDocsReady` flag), with every error and request it saw. */
export async function openDocsPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { lakeDocsReady?: boolean }).lakeDocsReady === true);
  return { page, errors, requests };
}
