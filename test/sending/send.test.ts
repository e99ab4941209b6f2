/**
 * sendMessage through the outbox against the sandbox over HTTP: every content kind reaches the
 * provider as its documented body, the message is in its chat at once, and its status follows the
 * provider's webhooks to subscribers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, subscriptionsStarting, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { clearFaults, control, injectFault, sandboxSends } from '../helpers/sandbox.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import type { SendMessageInput } from '../generated/graphql.ts';
import { ChatMessages, ChatUpdated, MessageUpdated } from '../inbox/documents.ts';
import { MessageById, SendMessage } from './documents.ts';

/** Provider round trips (sends, webhooks, settling) are slow on a busy machine: wait long enough. */
const waitFor: typeof eventually = (check, timeoutMs = 20_000) => eventually(check, timeoutMs);

describe('sendMessage', () => {
  let app: TestApp;
  let ws: WsClient;
  let session: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    ws = connectWs(app.url);
    session = await connectedSession(app, 'Sending');
  });
  afterAll(async () => {
    await ws.close();
    await app.stop();
  });

  async function statusOf(id: string) {
    const { node } = await app.data(MessageById, { id });
    return node && 'status' in node ? node : null;
  }

  it('sends every content kind as the provider documents it', async () => {
    const to = '+255744000101';
    const cases: [Omit<SendMessageInput, 'sessionId'>, string, object][] = [
      [{ text: 'Habari! Your order is ready.' }, 'TEXT', { text: 'Habari! Your order is ready.' }],
      [{ image: { url: 'https://cdn.example.com/p.jpg', caption: 'Price list' } }, 'IMAGE', { imageUrl: 'https://cdn.example.com/p.jpg', text: 'Price list' }],
      [{ video: { url: 'https://cdn.example.com/v.mp4' } }, 'VIDEO', { videoUrl: 'https://cdn.example.com/v.mp4' }],
      [{ audio: { url: 'https://cdn.example.com/a.ogg' } }, 'AUDIO', { audioUrl: 'https://cdn.example.com/a.ogg' }],
      [{ sticker: { url: 'https://cdn.example.com/s.webp' } }, 'STICKER', { stickerUrl: 'https://cdn.example.com/s.webp' }],
      [
        { document: { url: 'https://cdn.example.com/menu.pdf', fileName: 'menu.pdf', caption: 'Menu' } },
        'DOCUMENT',
        { documentUrl: 'https://cdn.example.com/menu.pdf', fileName: 'menu.pdf', text: 'Menu' },
      ],
      [
        { location: { latitude: -6.7924, longitude: 39.2083, name: 'Shop', address: 'Samora Ave' } },
        'LOCATION',
        { location: { latitude: -6.7924, longitude: 39.2083, name: 'Shop', address: 'Samora Ave' } },
      ],
      [{ contact: { name: 'Asha', phone: '+255700000009' } }, 'CONTACT', { contact: { name: 'Asha', phone: '+255700000009' } }],
      [
        { poll: { question: 'Which day?', options: ['Mon', 'Tue', 'Wed'], multiSelect: true } },
        'POLL',
        { poll: { question: 'Which day?', options: ['Mon', 'Tue', 'Wed'], multiSelect: true } },
      ],
    ];
    const ids: string[] = [];
    for (const [content, kind] of cases) {
      const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to, ...content } });
      expect(m).toMatchObject({ direction: 'OUTBOUND', kind, status: 'PENDING', fromJid: 'me', chat: { remoteJid: '255744000101@s.whatsapp.net', phoneNumber: to } });
      ids.push(m.id);
    }
    const sends = await waitFor(async () => {
      const all = await sandboxSends(app, session.providerSessionId);
      return all.length >= cases.length ? all : undefined;
    });
    // In order, one body each, exactly as documented.
    expect(sends.map((s) => s.body)).toEqual(cases.map(([, , body]) => ({ to, ...body })));
    // Every message learns WhatsApp's id and is delivered, then read (the sandbox's own webhooks).
    for (const id of ids) {
      const m = await waitFor(async () => {
        const node = await statusOf(id);
        return node?.status === 'READ' ? node : undefined;
      });
      expect(m.providerMessageId).toMatch(/^3EB0/);
    }
    // Stored like inbound messages: media, location, contact and poll in `content`.
    const poll = await statusOf(ids[8]!);
    expect(poll).toMatchObject({ text: 'Which day?', content: { poll: { question: 'Which day?', options: ['Mon', 'Tue', 'Wed'], multiSelect: true } } });
    expect(await statusOf(ids[1]!)).toMatchObject({ text: 'Price list', content: { media: { url: 'https://cdn.example.com/p.jpg', caption: 'Price list' } } });
    expect((await statusOf(ids[6]!))?.content).toEqual({ location: { latitude: -6.7924, longitude: 39.2083, name: 'Shop', address: 'Samora Ave' } });
    // Nothing was stored twice from the provider's echoes (message.sent, messages.upsert).
    await settled(app);
    expect(await app.running.db.prisma.message.count({ where: { sessionId: session.dbId } })).toBe(cases.length);
  });

  it('shows the message in its chat at once and its statuses live, without counting it unread', async () => {
    const customer = '+255744000202';
    await inbound(app, session, { from: customer, text: 'Do you deliver?', pushName: 'Juma' });
    await settled(app);
    const subscribed = subscriptionsStarting(app, 2);
    const statusFeed = ws.subscribe(MessageUpdated, { sessionId: session.id });
    const chatFeed = ws.subscribe(ChatUpdated, { sessionId: session.id });
    await subscribed();

    const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to: customer, text: 'Yes, tomorrow.' } });
    expect(m.chat.lastMessage?.id).toBe(m.id);
    expect(m.chat.unreadCount).toBe(1);
    const chat = await chatFeed.next();
    expect(chat.chatUpdated).toMatchObject({ id: m.chat.id, unreadCount: 1, lastMessage: { id: m.id, text: 'Yes, tomorrow.' } });

    const seen: string[] = [];
    await waitFor(async () => {
      for (;;) {
        const next = statusFeed.pending().filter((e) => e.messageUpdated.id === m.id);
        seen.push(...next.map((e) => e.messageUpdated.status));
        if (next.length === 0) break;
      }
      return seen.includes('READ');
    });
    expect(seen[0]).toBe('PENDING');
    // Statuses only move forward.
    const order = ['PENDING', 'SENT', 'DELIVERED', 'READ'];
    expect(seen.map((s) => order.indexOf(s))).toEqual([...seen.map((s) => order.indexOf(s))].sort((a, b) => a - b));
    expect(seen).toEqual(expect.arrayContaining(['PENDING', 'SENT', 'DELIVERED', 'READ']));

    // The chat's history has it, newest first; the inbound message before it.
    const history = (await app.data(ChatMessages, { id: m.chat.id, first: 5 })).chat!.messages.edges.map((e) => e.node);
    expect(history.map((h) => [h.direction, h.text])).toEqual([
      ['OUTBOUND', 'Yes, tomorrow.'],
      ['INBOUND', 'Do you deliver?'],
    ]);
    statusFeed.unsubscribe();
    chatFeed.unsubscribe();
  });

  it('sends to an existing chat, quoting one of our earlier messages by the provider\'s msgId', async () => {
    const first = (await app.data(SendMessage, { input: { sessionId: session.id, to: '+255744000303', text: 'Invoice #12' } })).sendMessage;
    const sent = await waitFor(async () => {
      const node = await statusOf(first.id);
      return node?.providerMessageId ? node : undefined;
    });
    const { sendMessage: reply } = await app.data(SendMessage, {
      input: { sessionId: session.id, chatId: first.chat.id, text: 'Paid, thanks', replyToMessageId: first.id },
    });
    expect(reply).toMatchObject({ chat: { id: first.chat.id }, replyToProviderMessageId: sent.providerMessageId });
    const sends = await waitFor(async () => {
      const all = (await sandboxSends(app, session.providerSessionId)).filter((s) => s.to === '+255744000303');
      return all.length === 2 ? all : undefined;
    });
    expect(sends[1]!.body).toEqual({ to: '+255744000303', text: 'Paid, thanks', replyTo: sends[0]!.msg_id });
  });

  it('links the provider\'s echo to the send when the message info is not to be had, storing no second message', async () => {
    // The info call fails (the provider's GET /messages/{msgId}/info): only webhooks tell the id.
    await injectFault(app, { path: '/messages/', method: 'GET', status: 500, count: 50 });
    try {
      const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255744000404', text: 'Race me' } });
      const linked = await waitFor(async () => {
        const node = await statusOf(m.id);
        return node?.status === 'READ' ? node : undefined;
      });
      expect(linked.providerMessageId).toMatch(/^3EB0/);
      await settled(app);
      const stored = await app.running.db.prisma.message.findMany({ where: { sessionId: session.dbId, chat: { remoteJid: '255744000404@s.whatsapp.net' } } });
      expect(stored.map((s) => s.providerMessageId)).toEqual([linked.providerMessageId]);
    } finally {
      await clearFaults(app);
    }
  });

  it('lets a message from the phone in the same chat through as its own message', async () => {
    await app.data(SendMessage, { input: { sessionId: session.id, to: '+255744000505', text: 'From the API' } });
    await control(app, session.providerSessionId, 'from-phone', { to: '+255744000505', text: 'From the phone' });
    await waitFor(async () => {
      await settled(app);
      const texts = (await app.running.db.prisma.message.findMany({ where: { sessionId: session.dbId, chat: { remoteJid: '255744000505@s.whatsapp.net' } } })).map((m) => m.text);
      return texts.length === 2 && texts.includes('From the phone') && texts.includes('From the API');
    });
  });
});
