/**
 * Debian's Chromium driven by playwright-core, for the console's tests: one browser per test file,
 * a fresh context (profile, session storage) per page, and a screenshot of each screen in
 * test-results/console (not committed) to look at.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN, type TestApp } from './app.ts';

export const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-results/console');

// The machine has no network: nothing of Chromium's own may try to reach out.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium with a fresh profile (playwright gives each launch its own --user-data-dir). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The console's browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (.ci/run does when it is missing).`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
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
 * an afterAll). `browser` is read at each open, as files launch it in a beforeAll.
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
