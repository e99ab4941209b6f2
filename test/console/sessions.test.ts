/**
 * The console's sign-in and sessions screens in a real browser (Debian's Chromium) against the app
 * on the sandbox: what a person sees and does, by accessible names. Also how /console is served: its
 * own assets only, cached by content, and the development token only for this machine.
 */
import jsqr from 'jsqr';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { fileBrowser, filePages, overflowsSideways, PHONE, screenshot } from '../helpers/browser.ts';
import { control } from '../helpers/sandbox.ts';
import { graphql } from '../generated/index.ts';
import { DisconnectSession, UpdateSession } from '../sessions/documents.ts';
import { devToken, get } from '../helpers/http.ts';

const AllSessions = graphql(`
  query ConsoleTestSessions {
    sessions(first: 100) {
      nodes {
        id
        name
        phoneNumber
        status
        providerSessionId
        accountProtection
        autoRejectCalls
        qrCode {
          value
        }
      }
    }
  }
`);

// jsqr's types declare a default export; the CommonJS package exports the function itself.
const jsQR = jsqr as unknown as typeof jsqr.default;

/** The QR the page shows, read back from its pixels. */
async function decodeQr(page: Page): Promise<string | null> {
  const image = await page.getByRole('img', { name: 'QR code' }).evaluate((img: HTMLImageElement) => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d')!;
    context.drawImage(img, 0, 0);
    // As base64: a plain array of every byte would take seconds to pass over.
    const bytes = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { width: canvas.width, height: canvas.height, rgba: btoa(binary) };
  });
  const pixels = new Uint8ClampedArray(Buffer.from(image.rgba, 'base64'));
  return jsQR(pixels, image.width, image.height, { inversionAttempts: 'dontInvert' })?.data ?? null;
}

const browser = fileBrowser();

// One app for the file, as `npm start` runs in development: no ADMIN_TOKEN, so a token is generated
// and pages opened on this machine are signed in with it.
describe('the console: sign-in and sessions', () => {
  let app: TestApp;
  let token: string;
  const pages = filePages(browser);
  beforeAll(async () => {
    app = await startTestApp({ manualClock: true, sandbox: { qrRotateMs: 45_000 }, env: { NODE_ENV: 'development', ADMIN_TOKEN: '' } });
    token = app.running.adminToken!.value;
    // A cold start on a busy machine.
  }, 120_000);
  afterAll(async () => {
    await pages.closeAll();
    await app?.stop();
  });

  async function data<TData, TVars extends Record<string, unknown>>(document: TypedDocumentNode<TData, TVars>, variables: TVars): Promise<TData> {
    const result = await app.execute(document, variables, { token });
    if (result.errors?.length) throw new Error(JSON.stringify(result.errors));
    return result.data!;
  }

  /** A page of the console, signed in by itself with the development token. */
  async function open(viewport?: { width: number; height: number }) {
    const opened = await pages.open(viewport);
    await opened.page.goto(`${app.url}/console`);
    await opened.page.getByRole('heading', { name: 'Sessions', level: 1 }).waitFor();
    return opened;
  }

  it('signs in by itself with the development token; after signing out, refuses a wrong token and takes a good one, kept across a reload', async () => {
    const { page, problems } = await open();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage))).not.toContain(token);
    // Signed out stays signed out: the development token does not sign the tab in again.
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, 'sign-in');

    await page.getByLabel('Token').fill('not-a-token-at-all-0000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token was not accepted.').waitFor();
    expect(await page.getByLabel('Token').getAttribute('aria-invalid')).toBe('true');

    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sessions', level: 1 }).waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(token);
    await page.reload();
    await page.getByRole('heading', { name: 'Sessions', level: 1 }).waitFor();
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
  });

  it('hands the development token only to requests made on this machine, to this machine', async () => {
    expect(app.running.adminToken!.generated).toBe(true);
    expect(await devToken(app.url)).toBe(token);
    expect(await devToken(app.url, { host: `localhost:${new URL(app.url).port}` })).toBe(token);
    // Passed on by a proxy: the browser is somewhere else.
    expect(await devToken(app.url, { 'x-forwarded-for': '203.0.113.7' })).toBeNull();
    expect(await devToken(app.url, { forwarded: 'for=203.0.113.7' })).toBeNull();
    // A page whose name was made to resolve here (DNS rebinding) is not one of ours.
    expect(await devToken(app.url, { host: 'attacker.example' })).toBeNull();
    expect((await get(`${app.url}/console/dev-token`)).headers['cache-control']).toBe('no-store');
  });

  it('serves the page on every console path, with its own assets only, cached by content and gzipped', async () => {
    for (const path of ['/console', '/console/', '/console/inbox', '/console/sessions/abc']) {
      const page = await get(`${app.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    }
    const html = (await get(`${app.url}/console`)).body.toString();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => !u.startsWith('data:'));
    expect(assets.length).toBe(2);
    for (const asset of assets) {
      // Every reference is to this server.
      expect(asset).toMatch(/^\/console\/assets\/app-[A-Z0-9]+\.(js|css)$/);
      const plain = await get(`${app.url}${asset}`);
      expect(plain.status).toBe(200);
      expect(plain.headers['cache-control']).toContain('immutable');
      const zipped = await get(`${app.url}${asset}`, { 'accept-encoding': 'gzip' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.body.length).toBeLessThan(plain.body.length);
      const again = await get(`${app.url}${asset}`, { 'if-none-match': String(plain.headers.etag) });
      expect(again.status).toBe(304);
    }
    // Nothing loaded from elsewhere: no remote imports, no remote fonts or images in the styles.
    const script = (await get(`${app.url}${assets.find((a) => a.endsWith('.js'))}`)).body.toString();
    const styles = (await get(`${app.url}${assets.find((a) => a.endsWith('.css'))}`)).body.toString();
    expect(script).not.toMatch(/\bimport\s*\(?\s*["'`]https?:/);
    expect(styles).not.toMatch(/@import|url\((?!["']?data:)/);
    expect((await get(`${app.url}/console/assets/app-NOPE.js`)).status).toBe(404);
  });

  it('creates a session: a bad phone number is named on its field and nothing is made; then a good one is listed', async () => {
    const { page, problems } = await open();
    await page.getByRole('button', { name: 'New session' }).click();
    await page.getByLabel('Name').fill('Sales');
    await page.getByLabel('Phone number').fill('0712 345');
    await page.getByLabel('Account protection').uncheck();
    await page.getByLabel('Reject calls').check();
    await page.getByRole('button', { name: 'Create' }).click();

    const phone = page.getByLabel('Phone number');
    await page.locator('[aria-invalid="true"]').waitFor();
    expect(await phone.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await phone.getAttribute('aria-describedby'))!.split(' ');
    const errorText = await page.locator(`[id="${describedBy.at(-1)}"]`).textContent();
    expect(errorText).toMatch(/E\.164/);
    expect(await page.getByLabel('Name').getAttribute('aria-invalid')).toBeNull();
    // The field with the error has the keyboard.
    expect(await phone.evaluate((el) => el === document.activeElement)).toBe(true);
    await screenshot(page, 'sessions-create-error');
    expect((await data(AllSessions, {})).sessions.nodes).toEqual([]);

    await phone.fill('+255712000001');
    await page.getByRole('button', { name: 'Create' }).click();
    const card = page.getByRole('article', { name: 'Sales' });
    await card.getByText('Disconnected', { exact: true }).waitFor();
    await card.getByText('+255712000001').waitFor();
    const [created] = (await data(AllSessions, {})).sessions.nodes;
    expect(created).toMatchObject({ name: 'Sales', phoneNumber: '+255712000001', accountProtection: false, autoRejectCalls: true });
    // What DISCONNECTED allows, as buttons; nothing else.
    expect(await card.getByRole('button').allTextContents()).toEqual(['Connect', 'Delete']);
    await screenshot(page, 'sessions');
    expect(problems).toEqual([]);
  });

  it('connects: the QR image decodes to the API\'s value and is replaced as it rotates; the scan turns the badge Connected without a reload', async () => {
    const { page, problems } = await open();
    // The injected clock stood still since the app started: catch up with the browser's, so the
    // QR's expiry (server time) and the page's countdown (its own time) agree.
    app.clock!.advance(Math.max(0, Date.now() - app.clock!.now()));
    await page.getByRole('article', { name: 'Sales' }).getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { name: 'Sales', level: 1 }).waitFor();
    await page.getByRole('img', { name: 'QR code' }).waitFor();
    const qrOf = async () => (await data(AllSessions, {})).sessions.nodes[0]!.qrCode?.value;
    const first = await qrOf();
    expect(first).toMatch(/^2@/);
    expect(await decodeQr(page)).toBe(first);
    await page.getByRole('timer').getByText(/Expires in \d+ s/).waitFor();
    await page.getByRole('status').filter({ hasText: /^QR ready$/ }).waitFor();
    await screenshot(page, 'session-qr');

    // The provider rotates the QR: the page shows the new one, pushed over qrCodeUpdated.
    app.clock!.advance(45_000);
    const second = await eventually(async () => {
      const value = await qrOf();
      return value && value !== first ? value : undefined;
    });
    await eventually(async () => (await decodeQr(page)) === second);

    const [session] = (await data(AllSessions, {})).sessions.nodes;
    await control(app, session!.providerSessionId!, 'scan');
    await page.getByRole('status').filter({ hasText: /^Connected$/ }).waitFor();
    expect(await page.getByRole('img', { name: 'QR code' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Connect|Disconnect|Restart|Delete)$/ }).allTextContents()).toEqual(['Disconnect', 'Restart', 'Delete']);
    // The event log tells the story, newest first.
    await page.getByRole('region', { name: 'Event log' }).getByText('Connected', { exact: true }).first().waitFor();
    await screenshot(page, 'session-connected');

    // Back on the list, the badge is live too: a disconnect elsewhere shows at once.
    await page.getByRole('link', { name: 'All sessions' }).click();
    const card = page.getByRole('article', { name: 'Sales' });
    await card.getByText('Connected', { exact: true }).waitFor();
    await data(DisconnectSession, { id: session!.id });
    await card.getByText('Disconnected', { exact: true }).waitFor();
    expect(problems).toEqual([]);
  });

  it('saves settings from the session\'s screen, and pages back through its event log', async () => {
    const { page, problems } = await open();
    const [session] = (await data(AllSessions, {})).sessions.nodes;
    // More entries than one page holds.
    for (let i = 1; i <= 20; i++) await data(UpdateSession, { input: { id: session!.id, logMessages: i % 2 === 0 } });
    await page.getByRole('link', { name: 'Sales' }).click();
    const settings = page.getByRole('form', { name: 'Settings' });
    await settings.getByLabel('Name').fill('Sales desk');
    await settings.getByLabel('Mark incoming messages read').check();
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await settings.getByText('Settings saved.').waitFor();
    await page.getByRole('heading', { name: 'Sales desk', level: 1 }).waitFor();
    expect((await data(AllSessions, {})).sessions.nodes[0]).toMatchObject({ name: 'Sales desk' });

    const log = page.getByRole('region', { name: 'Event log' });
    await log.getByText('Updated', { exact: true }).first().waitFor();
    const firstPage = await log.getByRole('listitem').count();
    expect(firstPage).toBeGreaterThanOrEqual(20);
    await log.getByText('Created', { exact: true }).waitFor({ state: 'detached' });
    await log.getByRole('button', { name: 'Older entries' }).click();
    await log.getByText('Created', { exact: true }).waitFor();
    expect(await log.getByRole('listitem').count()).toBeGreaterThan(firstPage);
    expect(problems).toEqual([]);
  });

  it('deletes a session after asking', async () => {
    const { page, problems } = await open();
    const card = page.getByRole('article', { name: 'Sales desk' });
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('button', { name: 'Keep it' }).click();
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByText('No sessions yet.').waitFor();
    expect((await data(AllSessions, {})).sessions.nodes).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('fits a phone-sized screen', async () => {
    const { page, problems } = await open(PHONE);
    await page.getByRole('button', { name: 'New session' }).click();
    await page.getByLabel('Name').fill('A name long enough to wrap on a narrow phone screen');
    await page.getByLabel('Phone number').fill('+255712000002');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('article').first().waitFor();
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, 'sessions-phone');
    await page.getByRole('article').first().getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('img', { name: 'QR code' }).waitFor();
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, 'session-qr-phone');
    expect(problems).toEqual([]);
  });
});
