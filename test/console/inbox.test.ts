/**
 * The console's inbox in a real browser against the app on the sandbox: customers write (the
 * sandbox's inbound control), chats and messages appear live, opening a chat reads it, history pages
 * back as it is scrolled up, and a dropped connection resumes from the last message seen.
 */
import type { Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { fileBrowser, filePages, overflowsSideways, PHONE, screenshot, signIn } from '../helpers/browser.ts';
import { devToken } from '../helpers/http.ts';
import { connectedSession, inbound, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { CreateApiToken } from '../access/documents.ts';
import { ChatMessages, Chats } from '../inbox/documents.ts';
import { CreateSession } from '../sessions/documents.ts';

describe('the console: inbox', () => {
  let app: TestApp;
  let session: ConnectedSession;
  const pages = filePages(fileBrowser());
  const open = pages.open;
  beforeAll(async () => {
    app = await startTestApp();
    session = await connectedSession(app, 'Shop');
    // A cold start (database, browser) on a busy machine.
  }, 120_000);
  afterAll(async () => {
    await pages.closeAll();
    await app?.stop();
  });

  async function chatOf(phone: string) {
    const { session: s } = await app.data(Chats, { id: session.id, first: 100 });
    return s!.chats.edges.map((e) => e.node).find((c) => c.phoneNumber === phone);
  }

  async function openInbox(page: Page) {
    await signIn(page, app);
    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
  }

  it('shows customers\' messages live with unread counts, newest chat first; opening a chat reads it', async () => {
    const { page, problems } = await open();
    await openInbox(page);
    await page.getByText('No chats yet.').waitFor();

    await inbound(app, session, { from: '+255700000101', text: 'Habari, is the shop open?', pushName: 'Asha' });
    const asha = page.getByRole('link', { name: /Asha/ });
    await asha.getByText('1 unread').waitFor();
    await asha.getByText('Habari, is the shop open?').waitFor();
    await inbound(app, session, { from: '+255700000101', text: 'I need two loaves', pushName: 'Asha' });
    await asha.getByText('2 unread').waitFor();
    await inbound(app, session, { from: '+255700000102', text: 'Hello', pushName: 'Baraka' });
    const baraka = page.getByRole('link', { name: /Baraka/ });
    await baraka.getByText('1 unread').waitFor();
    // Ordered by last message: Baraka wrote last.
    const chats = page.getByRole('list').filter({ has: asha }).getByRole('link');
    await eventually(async () => (await chats.first().textContent())?.includes('Baraka'));
    await screenshot(page, 'inbox');

    await asha.click();
    const log = page.getByRole('log', { name: 'Conversation with Asha' });
    await log.getByText('Habari, is the shop open?').waitFor();
    await log.getByText('I need two loaves').waitFor();
    await eventually(async () => (await chatOf('+255700000101'))?.unreadCount === 0);
    await eventually(async () => (await asha.getByText(/unread/).count()) === 0);
    await baraka.getByText('1 unread').waitFor();

    // While the chat is open, a new message appears in it and is read at once.
    await inbound(app, session, { from: '+255700000101', text: 'Are you there?', pushName: 'Asha' });
    await log.getByText('Are you there?').waitFor();
    await eventually(async () => {
      const chat = await chatOf('+255700000101');
      return chat?.lastMessage?.text === 'Are you there?' && chat.unreadCount === 0;
    });
    await screenshot(page, 'inbox-chat');
    expect(problems).toEqual([]);
  });

  it('replies from the open chat: the message shows at once and its ticks move live to Read; a bad poll or location is named on its field and nothing is sent; good ones show their options and place', async () => {
    const { page, problems } = await open();
    await openInbox(page);
    await page.getByRole('link', { name: /Asha/ }).click();
    const log = page.getByRole('log', { name: 'Conversation with Asha' });
    await log.getByText('Are you there?').waitFor();

    await page.getByLabel('Message', { exact: true }).fill('Yes, we open at 8');
    await page.getByRole('button', { name: 'Send' }).click();
    const reply = log.getByRole('listitem').filter({ hasText: 'Yes, we open at 8' });
    await reply.waitFor();
    expect(await page.getByLabel('Message', { exact: true }).inputValue()).toBe('');
    // The sandbox sends it, WhatsApp delivers it and Asha reads it: the ticks follow without a reload.
    await reply.getByText('Read', { exact: true }).waitFor();
    await page.getByRole('link', { name: /Asha/ }).getByText('You: Yes, we open at 8').waitFor();
    // Enter sends too.
    await page.getByLabel('Message', { exact: true }).fill('See you soon');
    await page.getByLabel('Message', { exact: true }).press('Enter');
    await log.getByRole('listitem').filter({ hasText: 'See you soon' }).getByText(/^(Pending|Sent|Delivered|Read)$/).waitFor();
    await screenshot(page, 'inbox-reply');

    const before = await log.getByRole('listitem').count();
    await page.getByLabel('Send as').selectOption({ label: 'Poll' });
    await page.getByLabel('Question').fill('Which loaf?');
    await page.getByLabel('Options, one per line').fill('White');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('must have 2 to 12 options').waitFor();
    expect(await page.getByLabel('Options, one per line').getAttribute('aria-invalid')).toBe('true');
    expect(await log.getByRole('listitem').count()).toBe(before);
    await page.getByLabel('Options, one per line').fill('White\nBrown');
    await page.getByRole('button', { name: 'Send' }).click();
    const options = log.getByRole('listitem').filter({ hasText: 'Which loaf?' }).getByRole('list', { name: 'Options' });
    await options.waitFor();
    expect(await options.getByRole('listitem').allTextContents()).toEqual(['White', 'Brown']);

    await page.getByLabel('Send as').selectOption({ label: 'Location' });
    await page.getByLabel('Latitude').fill('south');
    await page.getByLabel('Longitude').fill('39.28');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('must be a number, e.g. -6.8').waitFor();
    await page.getByLabel('Latitude').fill('-6.8');
    await page.getByLabel('Place name').fill('The bakery');
    await page.getByRole('button', { name: 'Send' }).click();
    await log.getByRole('listitem').filter({ hasText: 'The bakery · -6.8, 39.28' }).waitFor();
    expect(problems).toEqual([]);
  });

  it('shows a customer\'s photo, voice note and document through our media links', async () => {
    await inbound(app, session, { from: '+255700000105', pushName: 'Esther', media: { kind: 'image', caption: 'The cake I want' } });
    await inbound(app, session, { from: '+255700000105', pushName: 'Esther', media: { kind: 'audio' } });
    await inbound(app, session, { from: '+255700000105', pushName: 'Esther', media: { kind: 'document', fileName: 'order.pdf' } });
    const { page, problems } = await open();
    await openInbox(page);
    await page.getByRole('link', { name: /Esther/ }).click();
    const log = page.getByRole('log', { name: 'Conversation with Esther' });

    const photo = log.getByRole('img', { name: 'Photo' });
    await log.getByText('The cake I want').waitFor();
    await eventually(() => photo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0));
    // The voice note's bytes arrive and play: the browser has read its length.
    const voice = log.getByLabel(/^Voice note/);
    await eventually(() => voice.evaluate((audio: HTMLAudioElement) => audio.readyState >= 1 && audio.duration > 0));
    const document = log.getByRole('link', { name: 'order.pdf' });
    const file = await fetch((await document.getAttribute('href'))!);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toContain('order.pdf');
    expect((await file.arrayBuffer()).byteLength).toBeGreaterThan(0);
    await screenshot(page, 'inbox-media');
    expect(problems).toEqual([]);
  });

  it('pages back through a long history as it is scrolled up, keeping the order and the reader\'s place', async () => {
    for (let i = 1; i <= 35; i++) await inbound(app, session, { from: '+255700000103', text: `Line ${i}`, pushName: 'Chausiku' });
    await settled(app);
    const { page, problems } = await open();
    await openInbox(page);
    await page.getByRole('link', { name: /Chausiku/ }).click();
    const log = page.getByRole('log', { name: 'Conversation with Chausiku' });
    await log.getByText('Line 35', { exact: true }).waitFor();
    // One page (the newest 30), the newest in view.
    expect(await log.getByRole('listitem').count()).toBe(30);
    expect(await log.getByText('Line 1', { exact: true }).count()).toBe(0);

    await log.evaluate((el) => (el.scrollTop = 0));
    await log.getByText('Line 1', { exact: true }).waitFor();
    const lines = (await log.getByRole('listitem').locator('.body').allTextContents()).map((t) => t.trim());
    expect(lines).toEqual(Array.from({ length: 35 }, (_, i) => `Line ${i + 1}`));
    // The older page went on top without throwing the reader to its start.
    expect(await log.evaluate((el) => el.scrollTop)).toBeGreaterThan(0);
    await page.getByText('The start of the conversation.').waitFor();
    expect(problems).toEqual([]);
  });

  it('resumes from the last message seen after the connection drops: nothing missed, nothing twice', async () => {
    const { page, problems } = await open();
    // Every WebSocket of the page goes through here, so the test can cut it and hold the next one.
    const sent: { type: string; payload?: { query?: string; variables?: Record<string, unknown> } }[] = [];
    const sockets: WebSocketRoute[] = [];
    let holding = false;
    const held: (() => void)[] = [];
    await page.routeWebSocket(/\/graphql$/, (ws) => {
      sockets.push(ws);
      let server: WebSocketRoute | null = null;
      const queued: (string | Buffer)[] = [];
      ws.onMessage((message) => {
        sent.push(JSON.parse(String(message)));
        if (server) server.send(message);
        else queued.push(message);
      });
      const link = () => {
        server = ws.connectToServer();
        for (const message of queued.splice(0)) server.send(message);
      };
      if (holding) held.push(link);
      else link();
    });

    await inbound(app, session, { from: '+255700000104', text: 'First question', pushName: 'Dora' });
    await openInbox(page);
    await page.getByRole('link', { name: /Dora/ }).click();
    const log = page.getByRole('log', { name: 'Conversation with Dora' });
    await log.getByText('First question').waitFor();
    await inbound(app, session, { from: '+255700000104', text: 'Second question', pushName: 'Dora' });
    await log.getByText('Second question').waitFor();
    const chat = await chatOf('+255700000104');
    const { chat: history } = await app.data(ChatMessages, { id: chat!.id, first: 1 });
    const lastSeen = history!.messages.edges[0]!.node.cursor;

    // The link drops; the page's retry is held until the customer has written again.
    holding = true;
    await sockets.at(-1)!.close({ code: 1001, reason: 'going away' });
    await page.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor();
    await screenshot(page, 'inbox-reconnecting');
    await inbound(app, session, { from: '+255700000104', text: 'Written while you were away', pushName: 'Dora' });
    await settled(app);
    await eventually(() => held.length > 0);
    holding = false;
    held.splice(0).forEach((link) => link());

    await log.getByText('Written while you were away').waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    // The subscription was sent again from the last message it had seen.
    const resubscribed = sent.filter((m) => m.type === 'subscribe' && m.payload?.query?.includes('ConsoleMessageReceived'));
    expect(resubscribed.at(-1)!.payload!.variables).toMatchObject({ chatId: chat!.id, after: lastSeen });
    // Live again, and each message once.
    await inbound(app, session, { from: '+255700000104', text: 'Back again', pushName: 'Dora' });
    await log.getByText('Back again').waitFor();
    const lines = (await log.getByRole('listitem').locator('.body').allTextContents()).map((t) => t.trim());
    expect(lines).toEqual(['First question', 'Second question', 'Written while you were away', 'Back again']);
    expect(problems).toEqual([]);
  });

  it('a token scoped to one session sees only that session: an agent works its inbox but manages nothing; a viewer only reads', async () => {
    await app.data(CreateSession, { input: { name: 'Other shop', phoneNumber: '+255712000077' } });
    const tokenFor = async (role: 'AGENT' | 'VIEWER') =>
      (await app.data(CreateApiToken, { input: { name: `${role} of Shop`, role, sessionIds: [session.id] } })).createApiToken.token;
    const [agent, viewer] = [await tokenFor('AGENT'), await tokenFor('VIEWER')];

    const { page, problems } = await open();
    await signIn(page, app, agent);
    await page.getByRole('article', { name: 'Shop' }).waitFor();
    expect(await page.getByRole('article').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'New session' }).count()).toBe(0);
    expect(await page.getByRole('article', { name: 'Shop' }).getByRole('button').count()).toBe(0);
    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('link', { name: /Asha/ }).click();
    await page.getByLabel('Message', { exact: true }).waitFor();
    await screenshot(page, 'inbox-agent');

    // Signed in again on the same screen (the chat), as a viewer.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').fill(viewer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('log', { name: 'Conversation with Asha' }).waitFor();
    await page.getByText('Your token may read this inbox but not act on it.').waitFor();
    expect(await page.getByLabel('Message', { exact: true }).count()).toBe(0);
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('article', { name: 'Shop' }).waitFor();
    expect(await page.getByRole('article').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'New session' }).count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('fits a phone-sized screen: the chat list, then the open chat with a way back', async () => {
    const { page, problems } = await open(PHONE);
    await openInbox(page);
    await page.getByRole('link', { name: /Asha/ }).click();
    await page.getByRole('log', { name: 'Conversation with Asha' }).getByText('Are you there?').waitFor();
    expect(await page.getByRole('link', { name: /Baraka/ }).isVisible()).toBe(false);
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, 'inbox-chat-phone');
    await page.getByRole('link', { name: 'All chats' }).click();
    await page.getByRole('link', { name: /Baraka/ }).waitFor();
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, 'inbox-phone');
    expect(problems).toEqual([]);
  });

  it('never hands out a chosen ADMIN_TOKEN (the person who set it knows it), and answers only GET and HEAD', async () => {
    expect(app.running.adminToken!.generated).toBe(false);
    expect(await devToken(app.url)).toBeNull();
    const post = await fetch(`${app.url}/console`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});
