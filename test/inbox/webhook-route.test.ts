import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, subscriptionsStarting } from '../helpers/app.ts';
import { connectedSession, inbound, postWebhook as post, settled, textEvent, type ConnectedSession } from '../helpers/inbox.ts';
import { providerSession } from '../helpers/sandbox.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import { DeleteSession, RotateKey } from '../sessions/documents.ts';
import { encodeMessageCursor } from '../../src/modules/inbox/cursor.ts';
import { MessageReceived } from './documents.ts';

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

  it('stores and applies an event whose text holds a NUL character, which PostgreSQL text cannot', async () => {
    const id = '3EB0NUL00000000000000001';
    const body = textEvent(secrets.api_key, id).replaceAll('forged?', 'before\\u0000after');
    expect(body).toContain('\\u0000');
    const res = await post(app, body, { 'x-webhook-signature': secrets.webhook_secret });
    expect(res.status).toBe(200);
    await settled(app);
    const message = await app.running.db.prisma.message.findFirst({ where: { providerMessageId: id } });
    expect(message?.text).toBe('before\uFFFDafter');
  });

  it('refuses a rotated-out key at once, and the webhooks of a deleted session', async () => {
    const other = await connectedSession(app, 'Rotated');
    const old = (await providerSession(app, other.providerSessionId))!;
    const signed = { 'x-webhook-signature': old.webhook_secret };
    // The route has looked the key up (and may keep it a while) …
    expect((await post(app, textEvent(old.api_key, '3EB0ROTATE00000000000001'), signed)).status).toBe(200);
    await app.data(RotateKey, { id: other.id });
    // … but a rotated-out key is refused from the moment the rotation is done.
    expect((await post(app, textEvent(old.api_key, '3EB0ROTATE00000000000002'), signed)).status).toBe(401);
    const current = (await providerSession(app, other.providerSessionId))!;
    expect((await post(app, textEvent(current.api_key, '3EB0ROTATE00000000000003'), signed)).status).toBe(200);

    await settled(app);
    await app.data(DeleteSession, { id: other.id });
    expect((await post(app, textEvent(current.api_key, '3EB0ROTATE00000000000004'), signed)).status).toBe(401);
  });

  it('refuses forged, unsigned, unknown, oversized and malformed webhooks, storing and pushing nothing', async () => {
    const subscribed = subscriptionsStarting(app, 1);
    const feed = ws.subscribe(MessageReceived, { sessionId: session.id });
    await subscribed();
    const before = await stored();
    const cases: [string, Promise<Response>, number][] = [
      ['wrong signature', post(app, textEvent(secrets.api_key, '3EB0BAD000000000000001'), { 'x-webhook-signature': 'f'.repeat(32) }), 401],
      ['no signature', post(app, textEvent(secrets.api_key, '3EB0BAD000000000000002')), 401],
      ['unknown session', post(app, textEvent('a'.repeat(64), '3EB0BAD000000000000003'), { 'x-webhook-signature': secrets.webhook_secret }), 401],
      ['no session key, no session\'s secret', post(app, JSON.stringify({ event: 'messages.received', data: {} }), { 'x-webhook-signature': 'f'.repeat(32) }), 401],
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
    // Resume from the last message stored so far, as a client does: the retried message comes
    // whether its redelivery lands before or after the subscription starts.
    const last = await prisma.message.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
    const after = encodeMessageCursor(last?.seq ?? 0n);
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
    const feed = ws.subscribe(MessageReceived, { sessionId: session.id, after });
    const { messageReceived } = await feed.next(15_000);
    expect(messageReceived).toMatchObject({ providerMessageId: id!, text: 'are you there?' });
    await settled(app);
    expect(await prisma.message.count({ where: { providerMessageId: id! } })).toBe(1);
    feed.unsubscribe();
  });
});
