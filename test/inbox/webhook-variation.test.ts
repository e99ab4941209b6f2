/**
 * The provider's documented variation, produced by the sandbox over HTTP: envelopes without
 * `sessionId`, messages without push name or timestamps, messages typed on the phone, status words
 * we do not know.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.ts';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, databaseId, inbound, postWebhook, settled, textEvent, type ConnectedSession } from '../helpers/inbox.ts';
import { control, clearFaults, injectFault, providerSession } from '../helpers/sandbox.ts';
import { connectWs } from '../helpers/ws.ts';
import { CreateSession, DeleteSession, GetSession, SessionLogs } from '../sessions/documents.ts';
import { ChatMessages, Chats, ChatUpdated, MessageReceived, MessageUpdated } from './documents.ts';

let counter = 0;
const waId = () => `3EB0VAR${(++counter).toString(16).toUpperCase().padStart(14, '0')}`;
const digits = () => `2557640${String(10_000 + counter++).padStart(5, '0')}`;

const textMessage = (id: string, from: string, text: string) => ({
  messages: {
    key: { id, fromMe: false, remoteJid: `${from}@s.whatsapp.net`, addressingMode: 'pn', senderPn: `${from}@s.whatsapp.net`, cleanedSenderPn: from },
    messageBody: text,
    message: { conversation: text },
    pushName: 'Asha',
    messageTimestamp: Math.floor(Date.now() / 1000),
  },
});

describe('webhook variation', () => {
  let app: TestApp;
  let a: ConnectedSession;
  let b: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    a = await connectedSession(app, 'Variation A');
    b = await connectedSession(app, 'Variation B');
  });
  afterAll(() => app.stop());

  const prisma = () => app.running.db.prisma;
  async function chats(session: ConnectedSession) {
    await settled(app);
    return (await app.data(Chats, { id: session.id, first: 100 })).session!.chats.edges.map((e) => e.node);
  }
  async function messages(chatId: string) {
    return (await app.data(ChatMessages, { id: chatId, first: 50 })).chat!.messages.edges.map((e) => e.node);
  }
  async function logs(session: ConnectedSession) {
    return (await app.data(SessionLogs, { id: session.id, first: 100 })).session!.logs.edges.map((e) => e.node);
  }
  const send = (session: ConnectedSession, body: Record<string, unknown>) => control(app, session.providerSessionId, 'webhook', body);

  describe('an envelope without sessionId', () => {
    it('is attributed to the session whose secret signed it', async () => {
      const from = digits();
      const id = waId();
      expect(await send(b, { event: 'messages.received', data: textMessage(id, from, 'no session id'), withoutSessionId: true })).toEqual({ status: 200 });
      const chat = (await chats(b)).find((c) => c.remoteJid === `${from}@s.whatsapp.net`);
      expect(chat?.lastMessage?.text).toBe('no session id');
      expect((await chats(a)).some((c) => c.remoteJid === `${from}@s.whatsapp.net`)).toBe(false);
      // Nothing of the API key is stored with it.
      const stored = await prisma().webhookEvent.findFirstOrThrow({ where: { sessionId: b.dbId, event: 'messages.received' }, orderBy: { seq: 'desc' } });
      expect(JSON.stringify(stored.payload)).not.toContain((await providerSession(app, b.providerSessionId))!.api_key);
    });

    it("takes the older session.status shape (data.session_id) and applies it", async () => {
      const s = await connectedSession(app, 'Variation old status');
      expect(await send(s, { event: 'session.status', data: { status: 'logged_out', session_id: Number(s.providerSessionId) }, withoutSessionId: true })).toEqual({ status: 200 });
      await settled(app);
      expect((await app.data(GetSession, { id: s.id })).session!.status).toBe('LOGGED_OUT');
    });

    it('finds a session stored before secrets were hashed', async () => {
      const s = await connectedSession(app, 'Variation unhashed');
      // As a row written before the column existed.
      await prisma().whatsAppSession.update({ where: { id: s.dbId }, data: { webhookSecretHash: null } });
      const from = digits();
      expect(await send(s, { event: 'messages.received', data: textMessage(waId(), from, 'old row'), withoutSessionId: true })).toEqual({ status: 200 });
      expect((await chats(s)).find((c) => c.remoteJid === `${from}@s.whatsapp.net`)?.lastMessage?.text).toBe('old row');
      expect((await prisma().whatsAppSession.findUniqueOrThrow({ where: { id: s.dbId } })).webhookSecretHash).not.toBeNull();
    });

    it('hashes, at start, the secrets of sessions stored before the column existed', async () => {
      const db = await createTestDatabase();
      const env = { ENCRYPTION_KEY: randomBytes(32).toString('hex'), ...(db.url ? {} : { DATA_DIR: await mkdtemp(join(tmpdir(), 'webhook-secrets-')) }) };
      const first = await startTestApp({ databaseUrl: db.url, env });
      let sessionId: string;
      let secret: string;
      try {
        const { createSession } = await first.data(CreateSession, { input: { name: 'Before the column', phoneNumber: '+255764999001', accountProtection: false } });
        sessionId = databaseId(createSession.id);
        secret = (await providerSession(first, createSession.providerSessionId!))!.webhook_secret;
        await first.running.db.prisma.whatsAppSession.update({ where: { id: sessionId }, data: { webhookSecretHash: null } });
      } finally {
        await first.stop();
      }
      const second = await startTestApp({ databaseUrl: db.url, env });
      try {
        const row = await second.running.db.prisma.whatsAppSession.findUniqueOrThrow({ where: { id: sessionId } });
        expect(row.webhookSecretHash).toBe(second.running.services.sessions.webhookSecretHashOf(secret));
      } finally {
        await second.stop();
        await db.drop();
        if (env.DATA_DIR) await rm(env.DATA_DIR, { recursive: true, force: true });
      }
    });

    it('is refused (401) when no session’s secret verifies it, and stores nothing', async () => {
      const before = await prisma().webhookEvent.count();
      const withoutKey = JSON.parse(textEvent('unused', waId())) as Record<string, unknown>;
      delete withoutKey.sessionId;
      const res = await postWebhook(app, JSON.stringify(withoutKey), { 'x-webhook-signature': 'not-a-secret-of-any-session' });
      expect(res.status).toBe(401);
      const unsigned = await postWebhook(app, JSON.stringify(withoutKey));
      expect(unsigned.status).toBe(401);
      expect(await prisma().webhookEvent.count()).toBe(before);
    });

    it('with both present, the API key decides: another session’s secret does not pass', async () => {
      const secretOfA = (await providerSession(app, a.providerSessionId))!.webhook_secret;
      const keyOfB = (await providerSession(app, b.providerSessionId))!.api_key;
      const res = await postWebhook(app, textEvent(keyOfB, waId()), { 'x-webhook-signature': secretOfA });
      expect(res.status).toBe(401);
    });

    it('stops being found the moment its session is deleted (the cached look-up is dropped)', async () => {
      const s = await connectedSession(app, 'Variation deleted');
      const secret = (await providerSession(app, s.providerSessionId))!.webhook_secret;
      // A first webhook caches the look-up by secret.
      expect(await send(s, { event: 'chats.upsert', data: [{ id: `${digits()}@s.whatsapp.net`, name: 'Warm cache' }], withoutSessionId: true })).toEqual({ status: 200 });
      await settled(app);
      await app.data(DeleteSession, { id: s.id });
      const withoutKey = JSON.parse(textEvent('unused', waId())) as Record<string, unknown>;
      delete withoutKey.sessionId;
      expect((await postWebhook(app, JSON.stringify(withoutKey), { 'x-webhook-signature': secret })).status).toBe(401);
    });
  });

  describe('missing fields', () => {
    it('a message without push name or timestamps is timed by its arrival and named by contacts.upsert', async () => {
      const from = digits();
      const id = waId();
      const data = textMessage(id, from, 'bare');
      delete (data.messages as Partial<typeof data.messages>).pushName;
      delete (data.messages as Partial<typeof data.messages>).messageTimestamp;
      expect(await send(a, { event: 'messages.upsert', data, timestamp: null })).toEqual({ status: 200 });
      const chat = (await chats(a)).find((c) => c.remoteJid === `${from}@s.whatsapp.net`)!;
      expect(chat.name).toBeNull();
      const stored = await prisma().webhookEvent.findFirstOrThrow({ where: { sessionId: a.dbId, event: 'messages.upsert' }, orderBy: { seq: 'desc' } });
      const [message] = await messages(chat.id);
      expect(message!.providerMessageId).toBe(id);
      expect(message!.senderName).toBeNull();
      expect(new Date(message!.timestamp).getTime()).toBe(stored.receivedAt.getTime());

      expect(await send(a, { event: 'contacts.upsert', data: [{ jid: `${from}@s.whatsapp.net`, notify: 'Baraka', verifiedName: null, status: null }] })).toEqual({ status: 200 });
      expect((await chats(a)).find((c) => c.id === chat.id)!.name).toBe('Baraka');
    });

    it('a bare inbound message (sandbox `bare`) takes the envelope time and a later contacts.upsert name', async () => {
      const from = `+${digits()}`;
      const before = Date.now();
      const id = await inbound(app, a, { from, text: 'bare inbound', bare: true });
      const chat = (await chats(a)).find((c) => c.phoneNumber === from)!;
      expect(chat.name).toBeNull();
      const [message] = await messages(chat.id);
      expect(message!.providerMessageId).toBe(id);
      // The envelope's timestamp is in whole seconds.
      expect(new Date(message!.timestamp).getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(new Date(message!.timestamp).getTime()).toBeLessThanOrEqual(Date.now());
      // The contact list's shape: a bare number as jid.
      await send(a, { event: 'contacts.upsert', data: [{ jid: from.slice(1), name: 'Zawadi Saved', notify: 'Zawadi' }] });
      expect((await chats(a)).find((c) => c.id === chat.id)!.name).toBe('Zawadi Saved');
    });
  });

  describe('messages typed on the phone', () => {
    it('arrive as OUTBOUND on messageUpdated and chatUpdated, never messageReceived, and read the chat', async () => {
      const ws = connectWs(app.url);
      try {
        const received = ws.subscribe(MessageReceived, { sessionId: a.id });
        const updated = ws.subscribe(MessageUpdated, { sessionId: a.id });
        const chatUpdates = ws.subscribe(ChatUpdated, { sessionId: a.id });
        await eventually(() => app.running.liveStats().subscribers >= 3);
        const from = `+${digits()}`;
        await inbound(app, a, { from, text: 'first, from the contact' });
        await inbound(app, a, { from, text: 'second, from the contact' });
        await received.next();
        await received.next();
        await eventually(async () => (await chats(a)).find((c) => c.phoneNumber === from)?.unreadCount === 2);
        chatUpdates.pending();
        updated.pending();

        const { id } = await control(app, a.providerSessionId, 'from-phone', { to: from, text: 'typed on the phone' });
        const update = await updated.next();
        const chatUpdate = await eventually(() => chatUpdates.pending().find((c) => c.chatUpdated.lastMessage?.text === 'typed on the phone'));
        expect(chatUpdate.chatUpdated.unreadCount).toBe(0);
        const chat = (await chats(a)).find((c) => c.phoneNumber === from)!;
        expect(chat.unreadCount).toBe(0);
        const mine = (await messages(chat.id)).find((m) => m.providerMessageId === id)!;
        expect(mine).toMatchObject({ direction: 'OUTBOUND', text: 'typed on the phone', fromJid: 'me', senderName: null });
        expect(update.messageUpdated.id).toBe(mine.id);
        // Another inbound message proves the feed is live and that the phone's message never came on it.
        await inbound(app, a, { from, text: 'third, from the contact' });
        expect((await received.next()).messageReceived.text).toBe('third, from the contact');
        expect(received.pending()).toEqual([]);
        expect((await chats(a)).find((c) => c.id === chat.id)!.unreadCount).toBe(1);
      } finally {
        await ws.close();
      }
    });
  });

  describe('status words we do not know', () => {
    it('in session.status: the status stays, with a warning in the session log and no STATUS_CHANGED', async () => {
      const s = await connectedSession(app, 'Variation unknown word');
      const statusChanges = (await logs(s)).filter((l) => l.type === 'STATUS_CHANGED').length;
      expect(await send(s, { event: 'session.status', data: { status: 'error', reason: 'stream errored' }, timestamp: null })).toEqual({ status: 200 });
      await settled(app);
      expect((await app.data(GetSession, { id: s.id })).session!.status).toBe('CONNECTED');
      const after = await logs(s);
      expect(after.filter((l) => l.type === 'STATUS_CHANGED').length).toBe(statusChanges);
      expect(after.find((l) => l.type === 'ERROR' && l.message.includes('"error"'))).toMatchObject({ status: 'CONNECTED' });

      // Upper-case forms of known words still map.
      await send(s, { event: 'session.status', data: { status: 'LOGGED_OUT' } });
      await settled(app);
      expect((await app.data(GetSession, { id: s.id })).session!.status).toBe('LOGGED_OUT');
    });

    it('in the provider’s own status (reconciliation): the status stays, reported once', async () => {
      const s = await connectedSession(app, 'Variation unknown reconcile');
      const remote = (await providerSession(app, s.providerSessionId))!;
      try {
        await injectFault(app, { method: 'GET', path: `/whatsapp-sessions/${s.providerSessionId}`, status: 200, count: 2, body: { success: true, data: { ...remote, status: 'Hibernating' } } });
        const sessions = app.running.services.sessions;
        await sessions.reconcile();
        await prisma().whatsAppSession.update({ where: { id: s.dbId }, data: { reconciledAt: null } });
        await sessions.reconcile();
      } finally {
        await clearFaults(app);
      }
      expect((await app.data(GetSession, { id: s.id })).session!.status).toBe('CONNECTED');
      const reported = (await logs(s)).filter((l) => l.type === 'ERROR' && l.message.includes('"Hibernating"'));
      expect(reported).toHaveLength(1);
      expect(reported[0]!.status).toBe('CONNECTED');
    });
  });
});
