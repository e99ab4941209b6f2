import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { databaseId, postWebhook, settled, textEvent } from '../helpers/inbox.ts';
import { scrape, type Scrape } from '../helpers/metrics.ts';
import { control, providerSession } from '../helpers/sandbox.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import { ConnectSession, CreateSession, DisconnectSession, ListSessions, SessionStatusFeed } from '../sessions/documents.ts';

const M = 'whatsapp_graphql_';

/** How much each sample moved between two scrapes. */
function moved(before: Scrape, after: Scrape) {
  return {
    value: (name: string, labels: Record<string, string> = {}) => after.value(M + name, labels) - before.value(M + name, labels),
    count: (name: string, labels: Record<string, string> = {}) => after.count(M + name, labels) - before.count(M + name, labels),
  };
}

describe('GET /metrics', () => {
  let app: TestApp;
  let ws: WsClient;
  beforeAll(async () => {
    app = await startTestApp();
    ws = connectWs(app.url);
  });
  afterAll(async () => {
    await ws.close();
    await app.stop();
  });

  it('is open by default and its counters move as a session goes through a whole life', async () => {
    const before = await scrape(`${app.url}/metrics`);
    expect(before.type(`${M}graphql_operations_total`)).toBe('COUNTER');
    expect(before.type(`${M}provider_call_duration_seconds`)).toBe('HISTOGRAM');
    expect(before.value(`${M}websocket_connections`)).toBe(0);
    // The process's own figures, beside the app's.
    expect(before.value(`${M}process_resident_memory_bytes`)).toBeGreaterThan(0);
    expect(before.type(`${M}nodejs_eventloop_lag_seconds`)).toBe('GAUGE');

    const feed = ws.subscribe(SessionStatusFeed, {});
    await eventually(async () => (await scrape(`${app.url}/metrics`)).value(`${M}active_subscriptions`) === 1);

    const { createSession } = await app.data(CreateSession, { input: { name: 'Metrics', phoneNumber: '+255712300001', accountProtection: false } });
    const providerId = createSession.providerSessionId!;
    await app.data(ConnectSession, { id: createSession.id });
    await control(app, providerId, 'scan');
    await settled(app);
    const connected = await scrape(`${app.url}/metrics`);
    expect(connected.value(`${M}sessions`, { status: 'CONNECTED' })).toBe(1);
    expect(connected.value(`${M}sessions`, { status: 'DISCONNECTED' })).toBe(0);
    expect(connected.value(`${M}websocket_connections`)).toBe(1);
    expect(connected.value(`${M}active_subscriptions`)).toBe(1);

    const inboundId = (await control(app, providerId, 'inbound', { from: '+255700000101', text: 'hello', pushName: 'Asha' })).id as string;
    expect(inboundId).toBeTruthy();
    const sentId = (await control(app, providerId, 'from-phone', { to: '+255700000101', text: 'karibu' })).id as string;
    await control(app, providerId, 'receipt', { id: sentId, status: 3 });
    await control(app, providerId, 'receipt', { id: sentId, status: 4 });
    await app.data(DisconnectSession, { id: createSession.id });
    await settled(app);

    // Refused and failed operations count under their codes.
    expect((await app.execute(ListSessions, {}, { token: null })).status).toBe(401);
    const bad = await app.execute(CreateSession, { input: { name: 'Bad', phoneNumber: '0712' } });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // A forged webhook for a known session, and one for none.
    const apiKey = (await providerSession(app, providerId))!.api_key;
    expect((await postWebhook(app, textEvent(apiKey, 'forged-1'), { 'x-webhook-signature': 'wrong' })).status).toBe(401);
    expect((await postWebhook(app, JSON.stringify({ event: 'made.up', sessionId: 'nobody', data: {} }), { 'x-webhook-signature': 'x' })).status).toBe(401);

    const after = await scrape(`${app.url}/metrics`);
    const d = moved(before, after);
    expect(d.value('graphql_operations_total', { operation: 'CreateSession', type: 'mutation', outcome: 'ok' })).toBe(1);
    expect(d.value('graphql_operations_total', { operation: 'ConnectSession', type: 'mutation', outcome: 'ok' })).toBe(1);
    expect(d.value('graphql_operations_total', { operation: 'DisconnectSession', type: 'mutation', outcome: 'ok' })).toBe(1);
    expect(d.value('graphql_operations_total', { operation: 'CreateSession', outcome: 'BAD_USER_INPUT' })).toBe(1);
    expect(d.value('graphql_operations_total', { operation: 'ListSessions', type: 'query', outcome: 'UNAUTHENTICATED' })).toBe(1);
    expect(d.value('graphql_operations_total', { operation: 'SessionStatusFeed', type: 'subscription', outcome: 'ok' })).toBe(1);
    expect(d.count('graphql_operation_duration_seconds', { operation: 'CreateSession', outcome: 'ok' })).toBe(1);

    expect(d.value('provider_calls_total', { method: 'POST', endpoint: '/whatsapp-sessions', status: '201' }) + d.value('provider_calls_total', { method: 'POST', endpoint: '/whatsapp-sessions', status: '200' })).toBe(1);
    expect(d.value('provider_calls_total', { method: 'POST', endpoint: '/whatsapp-sessions/{sessionId}/connect', status: '200' })).toBe(1);
    expect(d.value('provider_calls_total', { method: 'POST', endpoint: '/whatsapp-sessions/{sessionId}/disconnect', status: '200' })).toBe(1);
    expect(d.count('provider_call_duration_seconds', { endpoint: '/whatsapp-sessions/{sessionId}/connect' })).toBe(1);
    // Path templates only: no provider id, phone number or key in any label.
    for (const family of after.families.filter((f) => f.name.startsWith(`${M}provider_call`))) {
      for (const sample of family.metrics) expect(sample.labels?.endpoint ?? '').not.toMatch(/\d{3,}|sandbox-|\+/);
    }

    expect(d.value('webhook_events_total', { event: 'session.status', outcome: 'stored' })).toBeGreaterThanOrEqual(2);
    expect(d.value('webhook_events_total', { event: 'qrcode.updated', outcome: 'stored' })).toBeGreaterThanOrEqual(1);
    expect(d.value('webhook_events_total', { event: 'messages.received', outcome: 'stored' })).toBeGreaterThanOrEqual(1);
    // The inbound message's upsert repeats its messages.received (a duplicate); the phone's is new.
    expect(d.value('webhook_events_total', { event: 'messages.upsert' })).toBeGreaterThanOrEqual(2);
    expect(d.value('webhook_events_total', { event: 'messages.upsert', outcome: 'stored' })).toBeGreaterThanOrEqual(1);
    expect(d.value('webhook_events_total', { event: 'messages.update', outcome: 'stored' })).toBe(2);
    expect(d.value('webhook_events_total', { event: 'messages.received', outcome: 'bad_signature' })).toBe(1);
    // An unknown sender's event name is not a label value.
    expect(d.value('webhook_events_total', { event: 'other', outcome: 'unknown_session' })).toBe(1);
    expect(after.families.some((f) => f.metrics.some((s) => s.labels?.event === 'made.up'))).toBe(false);
    expect(d.count('webhook_lag_seconds')).toBeGreaterThanOrEqual(1);

    expect(after.value(`${M}sessions`, { status: 'DISCONNECTED' })).toBe(1);
    expect(after.value(`${M}sessions`, { status: 'CONNECTED' })).toBe(0);

    feed.unsubscribe();
    await eventually(async () => (await scrape(`${app.url}/metrics`)).value(`${M}active_subscriptions`) === 0);
  });

  it('reports the outbox depth and the age of the oldest pending send', async () => {
    const { createSession } = await app.data(CreateSession, { input: { name: 'Outbox', phoneNumber: '+255712300002', accountProtection: false } });
    const sessionId = databaseId(createSession.id);
    const empty = await scrape(`${app.url}/metrics`);
    expect(empty.value(`${M}outbox_depth`)).toBe(0);
    expect(empty.value(`${M}outbox_oldest_pending_age_seconds`)).toBe(0);
    const now = Date.now();
    await app.running.db.prisma.outboxMessage.createMany({
      data: [
        { sessionId, to: '+255700000201', payload: {}, status: 'QUEUED', createdAt: new Date(now - 120_000) },
        { sessionId, to: '+255700000202', payload: {}, status: 'SENDING', createdAt: new Date(now - 30_000) },
        { sessionId, to: '+255700000203', payload: {}, status: 'SENT', createdAt: new Date(now - 900_000) },
      ],
    });
    const queued = await scrape(`${app.url}/metrics`);
    expect(queued.value(`${M}outbox_depth`)).toBe(2);
    expect(queued.value(`${M}outbox_oldest_pending_age_seconds`)).toBeGreaterThanOrEqual(120);
    expect(queued.value(`${M}outbox_oldest_pending_age_seconds`)).toBeLessThan(900);
  });
});

describe('GET /metrics with METRICS_TOKEN and METRICS_PORT', () => {
  const METRICS_TOKEN = 'metrics-token-0123456789';
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { METRICS_TOKEN, METRICS_PORT: '0' } });
  });
  afterAll(() => app.stop());

  it('serves it only on its own port, to that token or the admin token', async () => {
    const { metricsUrl } = app.running;
    expect(metricsUrl).not.toBe(`${app.url}/metrics`);
    expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
    expect((await fetch(metricsUrl)).status).toBe(401);
    expect((await fetch(metricsUrl, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);
    expect((await scrape(metricsUrl, METRICS_TOKEN)).type(`${M}sessions`)).toBe('GAUGE');
    expect((await scrape(metricsUrl, ADMIN_TOKEN)).type(`${M}sessions`)).toBe('GAUGE');
    expect((await fetch(metricsUrl.replace(/\/metrics$/, '/graphql'))).status).toBe(404);
  });
});
