/**
 * The console's bulk send and health figures in a real browser against the app on the sandbox: a
 * CSV pasted with a bad row is reported and nothing is sent; the good rows (uploaded as a file) go
 * out with live progress to 100 %, paused and resumed from the screen on the injected clock
 * (account protection paces one message per 5 s); the session's health figures are the API's.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { fileBrowser, filePages, overflowsSideways, PHONE, screenshot, signIn } from '../helpers/browser.ts';
import { connectedSession, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { sandboxSends } from '../helpers/sandbox.ts';
import { SessionHealth } from '../monitoring/documents.ts';
import { BulkSend } from '../sending/documents.ts';

/** Provider round trips are slow on a busy machine: wait long enough. */
const waitFor: typeof eventually = (check, timeoutMs = 30_000) => eventually(check, timeoutMs);

const PREFIX = '+25578810000';
const WITH_A_BAD_ROW = ['phone,name', `${PREFIX}1,Asha`, `"+255 788 100 002","Baraka, the baker"`, '0788 100,Chausiku', `${PREFIX}4,Dora`, `${PREFIX}5,Esther`].join('\n');
const GOOD = WITH_A_BAD_ROW.replace('0788 100,Chausiku', `${PREFIX}3,Chausiku`);

describe('the console: bulk send and health', () => {
  let app: TestApp;
  let session: ConnectedSession;
  let jobUrl: string;
  const pages = filePages(fileBrowser());
  beforeAll(async () => {
    app = await startTestApp({ manualClock: true });
    session = await connectedSession(app, 'Promotions', { accountProtection: true });
    // The injected clock stood still since the app started: catch up with the browser's, so times
    // the page shows (the estimated finish) read sensibly.
    app.clock!.advance(Math.max(0, Date.now() - app.clock!.now()));
    // A cold start (database, browser) on a busy machine.
  }, 120_000);
  afterAll(async () => {
    await pages.closeAll();
    await app?.stop();
  });

  async function open(viewport?: { width: number; height: number }) {
    const opened = await pages.open(viewport);
    await signIn(opened.page, app);
    return opened;
  }

  const sent = async () => (await sandboxSends(app, session.providerSessionId)).filter((s) => s.to.startsWith(PREFIX));
  const done = (page: Page) => page.getByRole('region', { name: 'Progress' }).locator('.progress-text');

  it('reports a bad CSV row and sends nothing; then sends 5 good rows to 100 %, paused and resumed from the screen', async () => {
    const { page, problems } = await open();
    await page.getByRole('link', { name: 'Bulk send' }).click();
    await page.getByRole('heading', { name: 'Bulk send', level: 1 }).waitFor();
    expect(await page.getByLabel('Session').inputValue()).toBe(session.id);
    await page.getByRole('region', { name: 'Recent bulk sends' }).getByText('None through this session yet.').waitFor();
    await page.getByLabel('Message template').fill('Hello {{name}}, fresh bread today!');
    await page.getByLabel('Recipients (CSV)').fill(WITH_A_BAD_ROW);

    // Checked as it is typed, before anything is sent: the bad row by its line, with the reason.
    const toFix = page.getByRole('region', { name: /Rows to fix/ });
    await toFix.getByRole('listitem').filter({ hasText: 'Line 4' }).getByText(/E\.164/).waitFor();
    expect(await toFix.getByRole('listitem').count()).toBe(1);
    await page.getByRole('status').filter({ hasText: '4 recipients ready; 1 row to fix' }).waitFor();
    await page.getByRole('button', { name: 'Start sending' }).click();
    expect(await toFix.getByRole('heading').evaluate((el) => el === document.activeElement)).toBe(true);
    await screenshot(page, 'bulk-rows-to-fix');
    expect(await sent()).toEqual([]);
    expect(await app.running.db.prisma.bulkSendJob.count()).toBe(0);

    // The good rows, as a file.
    await page.getByLabel('Or upload a CSV file').setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(GOOD) });
    await eventually(async () => (await page.getByLabel('Recipients (CSV)').inputValue()) === GOOD);
    await page.getByRole('status').filter({ hasText: /^5 recipients ready$/ }).waitFor();
    expect(await toFix.count()).toBe(0);
    // A quoted name keeps its comma.
    await page.getByText('Hello Asha, fresh bread today!').waitFor();
    await page.getByRole('button', { name: 'Start sending' }).click();

    const progress = page.getByRole('region', { name: 'Progress' });
    await progress.waitFor();
    jobUrl = page.url();
    expect(jobUrl).toMatch(/\/console\/bulk\/[^/]+$/);
    // One message leaves at once; account protection holds the next 5 s on the injected clock.
    await waitFor(async () => (await sent()).length === 1);
    await done(page).getByText('1 of 5 done').waitFor();

    await progress.getByRole('button', { name: 'Pause' }).click();
    await progress.getByRole('status').filter({ hasText: /^Paused by a user$/ }).waitFor();
    const atPause = (await sent()).length;
    app.clock!.advance(20_000);
    await app.running.services.outboxWorker.idle();
    expect((await sent()).length).toBe(atPause);
    expect(await progress.getByRole('button', { name: 'Pause' }).count()).toBe(0);
    await screenshot(page, 'bulk-paused');

    await progress.getByRole('button', { name: 'Resume' }).click();
    await progress.getByRole('button', { name: 'Pause' }).waitFor();
    await waitFor(async () => {
      app.clock!.advance(5_000);
      return (await sent()).length === 5;
    });
    await waitFor(async () => {
      app.clock!.advance(1_000);
      return (await progress.getByRole('status').textContent()) === 'Completed';
    });
    await done(page).getByText('100 % · 5 of 5 done').waitFor();
    expect(await progress.locator('progress').evaluate((el: HTMLProgressElement) => [el.value, el.max])).toEqual([5, 5]);
    expect(await progress.getByRole('button').count()).toBe(0);
    expect((await sent()).map((s) => s.body.text)).toEqual([
      'Hello Asha, fresh bread today!',
      'Hello Baraka, the baker, fresh bread today!',
      'Hello Chausiku, fresh bread today!',
      'Hello Dora, fresh bread today!',
      'Hello Esther, fresh bread today!',
    ]);
    const id = decodeURIComponent(jobUrl.split('/').at(-1)!);
    expect((await app.data(BulkSend, { id })).bulkSend).toMatchObject({ status: 'COMPLETED', total: 5, sent: 5, failed: 0 });
    await screenshot(page, 'bulk-completed');

    // The session's recent bulk sends lead back to it.
    await page.getByRole('link', { name: 'New bulk send' }).click();
    const recent = page.getByRole('region', { name: 'Recent bulk sends' }).getByRole('listitem');
    await recent.filter({ hasText: 'Completed · 5 of 5 sent' }).getByRole('link', { name: 'Hello {{name}}, fresh bread today!' }).waitFor();
    expect(await recent.count()).toBe(1);
    await recent.getByRole('link').click();
    await page.waitForURL(jobUrl);
    expect(problems).toEqual([]);
  });

  it('shows the session\'s health figures as the API gives them', async () => {
    // Delivery and read reports of the bulk send have all come in.
    await waitFor(async () => {
      app.clock!.advance(1_000);
      await settled(app);
      return (await app.data(SessionHealth, { id: session.id })).session!.health.read === 5;
    });
    const { page, problems } = await open();
    await page.getByRole('region', { name: 'All sessions, last 24 hours' }).locator('data').first().waitFor();
    await screenshot(page, 'sessions-health-totals');
    await page.getByRole('article', { name: 'Promotions' }).getByRole('link', { name: 'Promotions' }).click();
    const health = page.getByRole('region', { name: 'Health, last 24 hours' });
    await health.locator('data').first().waitFor();
    const expected = (await app.data(SessionHealth, { id: session.id })).session!.health;
    const shown = Object.fromEntries(
      await health.locator('dl > div').evaluateAll((items) => items.map((item) => [item.querySelector('dt')!.textContent, item.querySelector('data')!.value])),
    );
    const asShown = (value: number | null) => (value === null ? '' : String(value));
    expect(shown).toEqual({
      Uptime: asShown(expected.uptimePercent),
      'Delivery rate': asShown(expected.deliveryRate),
      'Read rate': asShown(expected.readRate),
      'Median delivery time': asShown(expected.medianDeliverySeconds),
      'Median response time': asShown(expected.medianResponseSeconds),
      Sent: '5',
      Delivered: '5',
      Read: '5',
      Failed: '0',
      Received: asShown(expected.received),
      Unanswered: asShown(expected.unanswered),
      Disconnects: asShown(expected.disconnects),
    });
    expect(expected).toMatchObject({ sent: 5, delivered: 5, read: 5, failed: 0, deliveryRate: 1, readRate: 1 });
    // In words: rates as percentages.
    await health.locator('dl > div').filter({ hasText: 'Delivery rate' }).getByText('100 %').waitFor();
    await screenshot(page, 'session-health');
    expect(problems).toEqual([]);
  });

  it('fits a phone-sized screen: the form, the progress and the health figures', async () => {
    const { page, problems } = await open(PHONE);
    await page.getByRole('link', { name: 'Bulk send' }).click();
    await page.getByLabel('Recipients (CSV)').fill(WITH_A_BAD_ROW);
    await page.getByRole('region', { name: /Rows to fix/ }).waitFor();
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, 'bulk-phone');
    await page.goto(jobUrl);
    await page.getByRole('region', { name: 'Progress' }).getByText('100 %').waitFor();
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, 'bulk-completed-phone');
    await page.getByRole('link', { name: 'Promotions' }).click();
    await page.getByRole('region', { name: 'Health, last 24 hours' }).locator('data').first().waitFor();
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, 'session-health-phone');
    expect(problems).toEqual([]);
  });
});
