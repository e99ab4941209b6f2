/**
 * Debian's Chromium driven by playwright-core, for the console's tests: one browser per run
 * (test/browser-setup.ts launches it when a file first asks), each file connected to it, a fresh
 * context (profile, session storage) per page, and a screenshot of each screen in
 * test-results/console (not committed) to look at.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, inject } from 'vitest';
import { ADMIN_TOKEN, type TestApp } from './app.ts';

const SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-results/console');

/**
 * The run's Chromium for this test file: connected in a beforeAll, disconnected in an afterAll
 * (which closes the contexts the file opened). Read the returned function inside tests and hooks.
 */
export function fileBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    const res = await fetch(inject('browserLauncherUrl'));
    const answer = await res.text();
    if (!res.ok) throw new Error(answer);
    browser = await chromium.connect(answer);
  }, 120_000); // the first file to ask waits for Chromium's cold start, on a busy machine
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('the browser is connected in a beforeAll: read it inside a test or hook');
    return browser;
  };
}

export interface ConsolePage {
  page: Page;
  /** Errors the page threw or logged; a test ends by expecting none. */
  problems: string[];
  close(): Promise<void>;
}

export const PHONE = { width: 390, height: 844 };

/** A new page in its own context (nothing remembered from another page). */
export async function openPage(browser: Browser, opts: { viewport?: { width: number; height: number } } = {}): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1200, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  return { page, problems, close: () => context.close() };
}

/**
 * The pages a test file opens, each in its own context, closed together at the end (`closeAll` in
 * an afterAll). `browser` is read at each open (`fileBrowser()` connects it in a beforeAll).
 */
export function filePages(browser: () => Browser) {
  const pages: ConsolePage[] = [];
  return {
    async open(viewport?: { width: number; height: number }): Promise<ConsolePage> {
      const opened = await openPage(browser(), viewport ? { viewport } : {});
      pages.push(opened);
      return opened;
    },
    closeAll: () => Promise.all(pages.splice(0).map((p) => p.close())).then(() => {}),
  };
}

/** Opens the console and signs in through its form with the test app's admin token. */
export async function signIn(page: Page, app: TestApp, token = ADMIN_TOKEN) {
  await page.goto(`${app.url}/console`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sessions', level: 1 }).waitFor();
}

export async function screenshot(page: Page, name: string) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Whether anything on the page is wider than the viewport (a phone would have to scroll sideways). */
export function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}
