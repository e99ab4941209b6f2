import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { scrape } from '../helpers/metrics.ts';
import { SendMessage } from '../sending/documents.ts';
import { postWebhook, settled, textEvent } from '../helpers/inbox.ts';
import { control, injectFault, notOnWhatsApp, providerSession } from '../helpers/sandbox.ts';
import { ConnectSession, CreateSession, DisconnectSession, SessionLogs } from '../sessions/documents.ts';
import { MessageLogs, ProviderMessageLogs, SessionHealth } from './documents.ts';

describe('session health from a live session', () => {
  let app: TestApp;
  beforeAll(async () => {
    // No reconciliation rounds: every provider call of the session is one this test makes.
    app = await startTestApp({ sessionTimings: { reconcileIntervalMs: 3_600_000 } });
  });
  afterAll(() => app.stop());

  it('counts what happens to a session through the provider and its webhooks', async () => {
    const { createSession } = await app.data(CreateSession, { input: { name: 'Live', phoneNumber: '+255712500001', accountProtection: false } });
    const providerId = createSession.providerSessionId!;
    // The first connect attempt meets a 503 and is retried.
    await injectFault(app, { path: `/whatsapp-sessions/${providerId}/connect`, status: 503, count: 1 });
    await app.data(ConnectSession, { id: createSession.id });
    await control(app, providerId, 'scan');
    await control(app, providerId, 'inbound', { from: '+255700000301', text: 'Is the blue dress in stock?', pushName: 'Neema' });
    const reply = (await control(app, providerId, 'from-phone', { to: '+255700000301', text: 'Yes, size M and L' })).id as string;
    await control(app, providerId, 'receipt', { id: reply, status: 3 });
    await control(app, providerId, 'receipt', { id: reply, status: 4 });
    // Nobody answers this one.
    await control(app, providerId, 'inbound', { from: '+255700000302', text: 'Hello?' });
    // A forged webhook naming the session.
    const apiKey = (await providerSession(app, providerId))!.api_key;
    expect((await postWebhook(app, textEvent(apiKey, 'forged-live'), { 'x-webhook-signature': 'not-the-secret' })).status).toBe(401);
    await settled(app);

    const beforeAsking = Date.now();
    const { session } = await app.data(SessionHealth, { id: createSession.id });
    const health = session!.health;
    expect(health).toMatchObject({
      disconnects: 0,
      sent: 1,
      delivered: 1,
      read: 1,
      failed: 0,
      deliveryRate: 1,
      readRate: 1,
      responses: 1,
      unanswered: 1,
      received: 2,
      providerErrors: [{ code: 'UNAVAILABLE', count: 1 }],
      webhookRejections: 1,
    });
    // Counted from the session's creation, not from the window's start a day ago.
    const asked = Date.now();
    const logs = (await app.data(SessionLogs, { id: createSession.id, first: 50 })).session!.logs.edges.map((e) => e.node);
    const created = Date.parse(logs.find((l) => l.type === 'CREATED')!.createdAt);
    const connected = Date.parse(logs.find((l) => l.type === 'CONNECTED')!.createdAt);
    // The share of the session's life since it connected, at some moment while the figures were made.
    const shareAt = (t: number) => (100 * (t - connected)) / (t - created);
    expect(health.uptimePercent).toBeGreaterThanOrEqual(shareAt(beforeAsking) - 1e-9);
    expect(health.uptimePercent).toBeLessThanOrEqual(shareAt(asked) + 1e-9);
    expect(Date.parse(health.connectedSince!)).toBeGreaterThan(Date.now() - 60_000);
    expect(health.medianDeliverySeconds).toBeGreaterThanOrEqual(0);
    expect(health.medianResponseSeconds).toBeGreaterThanOrEqual(0);
    expect(health.medianWebhookLagSeconds).toBeGreaterThanOrEqual(0);
    // The failed attempt, its retry, and the session's other calls.
    expect(health.providerCalls).toBeGreaterThanOrEqual(2);
    expect(health.providerErrorRate).toBe(1 / health.providerCalls);

    const { messageLogs } = await app.data(MessageLogs, { sessionId: createSession.id, direction: 'OUTBOUND' });
    expect(messageLogs.edges).toHaveLength(1);
    const sent = messageLogs.edges[0]!.node;
    expect(sent).toMatchObject({ status: 'READ', text: 'Yes, size M and L', failureReason: null, failedAt: null });
    expect(sent.sentAt && sent.deliveredAt && sent.readAt).toBeTruthy();
    expect(sent.deliverySeconds).toBe(Math.max(0, (Date.parse(sent.deliveredAt!) - Date.parse(sent.sentAt!)) / 1000));

    await app.data(DisconnectSession, { id: createSession.id });
    const after = (await app.data(SessionHealth, { id: createSession.id })).session!.health;
    expect(after).toMatchObject({ disconnects: 1, disconnectsByStatus: [{ status: 'DISCONNECTED', count: 1 }], connectedSince: null });
  });

  it('counts messages sent through the outbox, with delivery times and the provider\'s reason for a failure', async () => {
    const { createSession } = await app.data(CreateSession, { input: { name: 'Outbox', phoneNumber: '+255712500003', accountProtection: false } });
    await app.data(ConnectSession, { id: createSession.id });
    await control(app, createSession.providerSessionId!, 'scan');
    await settled(app);
    await notOnWhatsApp(app, ['+255799000301']);
    const good = (await app.data(SendMessage, { input: { sessionId: createSession.id, to: '+255700000501', text: 'Your order is ready' } })).sendMessage;
    const bad = (await app.data(SendMessage, { input: { sessionId: createSession.id, to: '+255799000301', text: 'Hello?' } })).sendMessage;
    const logs = await eventually(async () => {
      const { messageLogs } = await app.data(MessageLogs, { sessionId: createSession.id, direction: 'OUTBOUND' });
      const byId = new Map(messageLogs.edges.map((e) => [e.node.id, e.node]));
      // The reason comes after the failure (the provider's logs tell it).
      return byId.get(good.id)?.status === 'READ' && byId.get(bad.id)?.failureReason ? byId : undefined;
    }, 15_000);
    expect(logs.get(good.id)).toMatchObject({ failureReason: null, failedAt: null });
    expect(logs.get(good.id)!.deliverySeconds).toBeGreaterThanOrEqual(0);
    expect(logs.get(bad.id)).toMatchObject({ status: 'FAILED', failureReason: 'invalid WhatsApp number', deliveredAt: null, deliverySeconds: null });
    expect(logs.get(bad.id)!.failedAt).toBeTruthy();

    const health = (await app.data(SessionHealth, { id: createSession.id })).session!.health;
    // The failed one never reached SENT: only the other counts as sent.
    expect(health).toMatchObject({ sent: 1, delivered: 1, read: 1, failed: 1, deliveryRate: 1, readRate: 1, received: 0, responses: 0, unanswered: 0 });
    expect(logs.get(bad.id)!.sentAt).toBeNull();
    expect(health.medianDeliverySeconds).toBeGreaterThanOrEqual(0);
    const metrics = await scrape(`${app.url}/metrics`);
    expect(metrics.value('whatsapp_graphql_outbox_depth')).toBe(0);
    expect(metrics.value('whatsapp_graphql_provider_calls_total', { method: 'POST', endpoint: '/send-message', status: '200' })).toBe(2);
  });

  it('reads the provider\'s own message logs of a session', async () => {
    const { createSession } = await app.data(CreateSession, { input: { name: 'Support', phoneNumber: '+255712500002', accountProtection: false } });
    const providerId = createSession.providerSessionId!;
    await app.data(ConnectSession, { id: createSession.id });
    await control(app, providerId, 'scan');
    const apiKey = (await providerSession(app, providerId))!.api_key;
    // A send made straight at the provider (as another client of the account would).
    const sent = await fetch(`${app.running.sandbox!.baseUrl}/send-message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ to: '+255700000401', text: 'Your order has shipped' }),
    });
    expect(sent.status).toBe(200);
    const { session } = await app.data(ProviderMessageLogs, { id: createSession.id, page: 1, perPage: 10 });
    expect(session!.providerMessageLogs).toMatchObject({ page: 1, perPage: 10, total: 1 });
    expect(session!.providerMessageLogs.items).toHaveLength(1);
    expect(session!.providerMessageLogs.items[0]!.to).toContain('255700000401');

    const bad = await app.execute(ProviderMessageLogs, { id: createSession.id, perPage: 500 });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { perPage: 'must be between 1 and 100' } });
  });
});
