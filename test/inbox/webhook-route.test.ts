import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { providerSession } from '../helpers/sandbox.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import { MessageReceived } from './documents.ts';

function post(app: TestApp, body: string, headers: Record<string, string> = {}, path = '/api/whatsapp/webhook') {
  return fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

function textEvent(apiKey: string, id: string) {
  return JSON.stringify({
    event: 'messages.received',
    timestamp: Math.floor(Date.now() / 1000),
    sessionId: apiKey,
    data: {
      messages: {
        key: { id, fromMe: false, remoteJid: '255755000001@s.whatsapp.net', cleanedSenderPn: '255755000001' },
        messageBody: 'forged?',
        message: { conversation: 'forged?' },
      },
    },
  });
}

describe('webhook route', () => {
  let app: TestApp;
  let ws: WsClient;
  let session: ConnectedSession;
  let secrets: { api_key: string; webhook_secret: string };
  beforeAll(async () => {
    app = await startTestApp();
    ws = connectWs(app.url);
    session = await connectedSession(app, 'Hooks');
    secrets = (await providerSession(app, session.providerSessionId))!;
  });
  afterAll(async () => {
    await ws.close();
    await app.stop();
  });

  const stored = () => app.running.db.prisma.webhookEvent.count();

  it('accepts a correctly signed event on both paths, once', async () => {
    const before = await stored();
    const body = textEvent(secrets.api_key, '3EB0AAAAAAAAAAAAAAAAA1');
    const first = await post(app, body, { 'x-webhook-signature': secrets.webhook_secret });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: true, duplicate: false });
    const again = await post(app, body, { 'X-Webhook-Signature': secrets.webhook_secret }, '/api/whatsapp/webhook.php');
    expect(await again.json()).toEqual({ received: true, duplicate: true });
    expect(await stored()).toBe(before + 1);
    await settled(app);
  });

  it('refuses forged, unsigned, unknown, oversized and malformed webhooks, storing and pushing nothing', async () => {
    const feed = ws.subscribe(MessageReceived, { sessionId: session.id });
    await new Promise((r) => setTimeout(r, 100));
    const before = await stored();
    const cases: [string, Promise<Response>, number][] = [
      ['wrong signature', post(app, textEvent(secrets.api_key, '3EB0BAD000000000000001'), { 'x-webhook-signature': 'f'.repeat(32) }), 401],
      ['no signature', post(app, textEvent(secrets.api_key, '3EB0BAD000000000000002')), 401],
      ['unknown session', post(app, textEvent('a'.repeat(64), '3EB0BAD000000000000003'), { 'x-webhook-signature': secrets.webhook_secret }), 401],
      ['no session key', post(app, JSON.stringify({ event: 'messages.received', data: {} }), { 'x-webhook-signature': secrets.webhook_secret }), 401],
      ['not JSON', post(app, '{"event": ', { 'x-webhook-signature': secrets.webhook_secret }), 400],
      ['no event', post(app, JSON.stringify({ sessionId: secrets.api_key, data: {} }), { 'x-webhook-signature': secrets.webhook_secret }), 400],
      ['too large', post(app, ' '.repeat(5 * 1024 * 1024 + 10), { 'x-webhook-signature': secrets.webhook_secret }), 413],
    ];
    for (const [label, response, status] of cases) {
      expect({ label, status: (await response).status }).toEqual({ label, status });
    }
    expect((await fetch(`${app.url}/api/whatsapp/webhook`)).status).toBe(405);
    await settled(app);
    expect(await stored()).toBe(before);
    await expect(feed.next(300)).rejects.toThrow(/no subscription event/);
    feed.unsubscribe();
  });

  it('answers 5xx when the event cannot be stored, and stores the retry once the database is back', async () => {
    const prisma = app.running.db.prisma;
    await prisma.$executeRawUnsafe('ALTER TABLE webhook_events RENAME TO webhook_events_offline');
    let id: string;
    try {
      // The sandbox delivers the inbound message; our route cannot store it and says so.
      id = await inbound(app, session, { from: '+255766000001', text: 'are you there?' });
      const failed = await prisma.message.count({ where: { providerMessageId: id } });
      expect(failed).toBe(0);
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE webhook_events_offline RENAME TO webhook_events');
    }
    // The provider retries the delivery (the sandbox's redelivery with backoff).
    const feed = ws.subscribe(MessageReceived, { sessionId: session.id });
    await new Promise((r) => setTimeout(r, 100));
    const { messageReceived } = await feed.next(15_000);
    expect(messageReceived).toMatchObject({ providerMessageId: id!, text: 'are you there?' });
    await settled(app);
    expect(await prisma.message.count({ where: { providerMessageId: id! } })).toBe(1);
    feed.unsubscribe();
  });
});
