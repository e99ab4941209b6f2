import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageLogsQueryVariables } from '../generated/graphql.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { databaseId } from '../helpers/inbox.ts';
import { CreateSession } from '../sessions/documents.ts';
import { Analytics, CreateScopedToken, MessageLogs, SessionHealth } from './documents.ts';
import { seedChat, seedCounter, seedMessages, seedStatusLog, seedWebhookLags } from './seed.ts';

const DAY = '2026-01-10';
const FROM = `${DAY}T00:00:00.000Z`;
const TO = '2026-01-11T00:00:00.000Z';

/** Every figure of a window with nothing in it. */
const EMPTY = {
  uptimePercent: 0,
  connectedSince: null,
  disconnects: 0,
  disconnectsByStatus: [],
  sent: 0,
  delivered: 0,
  read: 0,
  failed: 0,
  deliveryRate: null,
  readRate: null,
  medianDeliverySeconds: null,
  p90DeliverySeconds: null,
  medianResponseSeconds: null,
  p90ResponseSeconds: null,
  responses: 0,
  unanswered: 0,
  received: 0,
  providerCalls: 0,
  providerErrorRate: null,
  providerErrors: [],
  webhookRejections: 0,
  medianWebhookLagSeconds: null,
  p90WebhookLagSeconds: null,
};

describe('session health and analytics over a seeded history', () => {
  let app: TestApp;
  let shop: { id: string; dbId: string };
  let quiet: { id: string; dbId: string };

  beforeAll(async () => {
    app = await startTestApp();
    const prisma = app.running.db.prisma;
    const create = async (name: string, phoneNumber: string) => {
      const { createSession } = await app.data(CreateSession, { input: { name, phoneNumber } });
      return { id: createSession.id, dbId: databaseId(createSession.id) };
    };
    shop = await create('Shop', '+255712400001');
    // Never connected: created (today), nothing in the seeded window.
    quiet = await create('Quiet', '+255712400002');

    // Status history: connected since the evening before; lost at 06:00, relinking at 08:00,
    // connected 12:00–18:00, logged out, connected again from 20:00 on.
    await seedStatusLog(prisma, shop.dbId, [
      ['CREATED', 'DISCONNECTED', '2026-01-09T10:00:00.000Z'],
      ['STATUS_CHANGED', 'QR_READY', '2026-01-09T19:55:00.000Z'],
      ['CONNECTED', 'CONNECTED', '2026-01-09T20:00:00.000Z'],
      ['DISCONNECTED', 'DISCONNECTED', `${DAY}T06:00:00.000Z`],
      ['STATUS_CHANGED', 'QR_READY', `${DAY}T08:00:00.000Z`],
      ['CONNECTED', 'CONNECTED', `${DAY}T12:00:00.000Z`],
      ['STATUS_CHANGED', 'LOGGED_OUT', `${DAY}T18:00:00.000Z`],
      ['CONNECTED', 'CONNECTED', `${DAY}T20:00:00.000Z`],
    ]);

    const asha = await seedChat(prisma, shop.dbId, '+255700000001');
    const baraka = await seedChat(prisma, shop.dbId, '+255700000002');
    const chausiku = await seedChat(prisma, shop.dbId, '+255700000003');
    const dotto = await seedChat(prisma, shop.dbId, '+255700000004');
    const promo = await seedChat(prisma, shop.dbId, '+255700000005');
    await seedMessages(prisma, shop.dbId, [
      // Before the window: a read reply (not counted), and Dotto's turn that began before midnight.
      { chatId: asha.id, direction: 'OUTBOUND', at: '2026-01-09T15:00:00.000Z', status: 'READ', sentAt: '2026-01-09T15:00:00.000Z', deliveredAt: '2026-01-09T15:00:05.000Z', readAt: '2026-01-09T15:01:00.000Z' },
      { chatId: dotto.id, direction: 'INBOUND', at: '2026-01-09T23:59:00.000Z' },
      // Dotto writes again after midnight (same turn, begun before the window) and gets an answer.
      { chatId: dotto.id, direction: 'INBOUND', at: `${DAY}T00:01:00.000Z` },
      { chatId: dotto.id, direction: 'OUTBOUND', at: `${DAY}T00:02:00.000Z`, status: 'SENT', sentAt: `${DAY}T00:02:00.000Z` },
      // Asha: two messages, answered after 5 minutes (read); then a question answered in 30 s (delivered).
      { chatId: asha.id, direction: 'INBOUND', at: `${DAY}T09:00:00.000Z` },
      { chatId: asha.id, direction: 'INBOUND', at: `${DAY}T09:01:00.000Z`, kind: 'IMAGE' },
      { chatId: asha.id, direction: 'OUTBOUND', at: `${DAY}T09:05:00.000Z`, status: 'READ', sentAt: `${DAY}T09:05:00.000Z`, deliveredAt: `${DAY}T09:05:10.000Z`, readAt: `${DAY}T09:06:00.000Z` },
      { chatId: asha.id, direction: 'INBOUND', at: `${DAY}T10:00:00.000Z` },
      { chatId: asha.id, direction: 'OUTBOUND', at: `${DAY}T10:00:30.000Z`, status: 'DELIVERED', sentAt: `${DAY}T10:00:30.000Z`, deliveredAt: `${DAY}T10:00:50.000Z` },
      // Baraka gets no reply at all.
      { chatId: baraka.id, direction: 'INBOUND', at: `${DAY}T11:00:00.000Z` },
      // A promotion: one failed with the provider's reason, one still pending, one sent.
      { chatId: promo.id, direction: 'OUTBOUND', at: `${DAY}T12:00:00.000Z`, status: 'FAILED', failedAt: `${DAY}T12:00:03.000Z`, error: 'The number is not on WhatsApp' },
      { chatId: promo.id, direction: 'OUTBOUND', at: `${DAY}T13:00:00.000Z`, status: 'PENDING' },
      { chatId: promo.id, direction: 'OUTBOUND', at: `${DAY}T14:00:00.000Z`, status: 'SENT', sentAt: `${DAY}T14:00:00.000Z` },
      // Chausiku writes late and is answered after midnight (the reply falls outside the window).
      { chatId: chausiku.id, direction: 'INBOUND', at: `${DAY}T23:50:00.000Z` },
      { chatId: chausiku.id, direction: 'OUTBOUND', at: '2026-01-11T00:10:00.000Z', status: 'DELIVERED', sentAt: '2026-01-11T00:10:00.000Z', deliveredAt: '2026-01-11T00:10:04.000Z' },
    ]);
    // Provider calls in three hours of the day (one hour holds two kinds of failure), refused webhooks, and lags.
    await seedCounter(prisma, shop.dbId, `${DAY}T09:00:00.000Z`, 'provider_call:OK', 14);
    await seedCounter(prisma, shop.dbId, `${DAY}T09:00:00.000Z`, 'provider_call:RATE_LIMITED', 4);
    await seedCounter(prisma, shop.dbId, `${DAY}T09:00:00.000Z`, 'provider_call:TIMEOUT', 1);
    await seedCounter(prisma, shop.dbId, `${DAY}T15:00:00.000Z`, 'provider_call:OK', 1);
    await seedCounter(prisma, shop.dbId, '2026-01-09T23:00:00.000Z', 'provider_call:OK', 7);
    await seedCounter(prisma, shop.dbId, `${DAY}T10:00:00.000Z`, 'webhook_rejected', 2);
    await seedWebhookLags(prisma, shop.dbId, [
      { receivedAt: `${DAY}T09:00:02.000Z`, lagSeconds: 2 },
      { receivedAt: `${DAY}T10:00:00.000Z`, lagSeconds: 10 },
      { receivedAt: '2026-01-09T10:00:00.000Z', lagSeconds: 500 },
    ]);
  });
  afterAll(() => app.stop());

  it('gives every figure of a day exactly', async () => {
    const { session } = await app.data(SessionHealth, { id: shop.id, from: FROM, to: TO });
    expect(session!.health).toEqual({
      from: FROM,
      to: TO,
      // 00:00–06:00, 12:00–18:00 and 20:00–24:00: 16 of 24 hours.
      uptimePercent: (100 * 16) / 24,
      connectedSince: `${DAY}T20:00:00.000Z`,
      disconnects: 2,
      disconnectsByStatus: [
        { status: 'DISCONNECTED', count: 1 },
        { status: 'LOGGED_OUT', count: 1 },
      ],
      // Dotto's reply, Asha's two and the promotion's sent one; the failed and the pending did not leave.
      sent: 4,
      delivered: 2,
      read: 1,
      failed: 1,
      deliveryRate: 0.5,
      readRate: 0.25,
      // 10 s and 20 s.
      medianDeliverySeconds: 15,
      p90DeliverySeconds: 19,
      // Turns begun in the window: Asha 300 s, Asha 30 s, Chausiku 1200 s (after the window), Baraka none.
      medianResponseSeconds: 300,
      p90ResponseSeconds: 300 + 0.8 * 900,
      responses: 3,
      unanswered: 1,
      received: 6,
      providerCalls: 20,
      providerErrorRate: 5 / 20,
      providerErrors: [
        { code: 'RATE_LIMITED', count: 4 },
        { code: 'TIMEOUT', count: 1 },
      ],
      webhookRejections: 2,
      medianWebhookLagSeconds: 6,
      p90WebhookLagSeconds: 2 + 0.9 * 8,
    });
  });

  it('gives empty figures for a window before anything happened and for a session never connected', async () => {
    const before = await app.data(SessionHealth, { id: shop.id, from: '2026-01-05T00:00:00.000Z', to: '2026-01-06T00:00:00.000Z' });
    expect(before.session!.health).toEqual({ from: '2026-01-05T00:00:00.000Z', to: '2026-01-06T00:00:00.000Z', ...EMPTY });
    const never = await app.data(SessionHealth, { id: quiet.id, from: FROM, to: TO });
    expect(never.session!.health).toEqual({ from: FROM, to: TO, ...EMPTY });
    // Its default window is the last 24 hours, in which it was created and never connected.
    const recent = await app.data(SessionHealth, { id: quiet.id });
    const { from, to, ...figures } = recent.session!.health;
    expect(Date.parse(to) - Date.parse(from)).toBe(24 * 3_600_000);
    expect(Math.abs(Date.parse(to) - Date.now())).toBeLessThan(60_000);
    expect(figures).toEqual(EMPTY);
  });

  it('splits the same figures into hours and days', async () => {
    const { analytics: hours } = await app.data(Analytics, { sessionId: shop.id, from: FROM, to: TO, bucket: 'HOUR' });
    expect(hours).toHaveLength(24);
    expect(hours.map((h) => h.from)).toEqual(Array.from({ length: 24 }, (_, i) => new Date(Date.parse(FROM) + i * 3_600_000).toISOString()));
    expect(hours.map((h) => h.uptimePercent)).toEqual([...Array(6).fill(100), ...Array(6).fill(0), ...Array(6).fill(100), 0, 0, ...Array(4).fill(100)]);
    expect(hours.map((h) => h.received)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(hours[6]).toMatchObject({ disconnects: 1, disconnectsByStatus: [{ status: 'DISCONNECTED', count: 1 }], connectedSince: null });
    expect(hours[9]).toMatchObject({
      sent: 1,
      delivered: 1,
      read: 1,
      medianDeliverySeconds: 10,
      medianResponseSeconds: 300,
      responses: 1,
      providerCalls: 19,
      providerErrorRate: 5 / 19,
      medianWebhookLagSeconds: 2,
    });
    expect(hours[11]).toMatchObject({ received: 1, responses: 0, unanswered: 1, medianResponseSeconds: null });
    expect(hours[12]).toMatchObject({ sent: 0, failed: 1, deliveryRate: null, connectedSince: `${DAY}T12:00:00.000Z` });
    expect(hours[23]).toMatchObject({ medianResponseSeconds: 1200, connectedSince: `${DAY}T20:00:00.000Z`, uptimePercent: 100 });
    // The day's bucket is the day's health.
    const { analytics: days } = await app.data(Analytics, { sessionId: shop.id, from: FROM, to: TO, bucket: 'DAY' });
    const { session } = await app.data(SessionHealth, { id: shop.id, from: FROM, to: TO });
    expect(days).toEqual([session!.health]);
    // A window that ends mid-bucket: the last bucket is shorter.
    const { analytics: partial } = await app.data(Analytics, { sessionId: shop.id, from: FROM, to: `${DAY}T01:30:00.000Z`, bucket: 'HOUR' });
    expect(partial.map((h) => [h.from, h.to])).toEqual([
      [FROM, `${DAY}T01:00:00.000Z`],
      [`${DAY}T01:00:00.000Z`, `${DAY}T01:30:00.000Z`],
    ]);
  });

  it('totals every session the caller may see, and a scoped token sees only its own', async () => {
    const { analytics: [all] } = await app.data(Analytics, { from: FROM, to: TO, bucket: 'DAY' });
    // The quiet session was made after the window: it adds no hours, connected or not.
    expect(all).toMatchObject({ uptimePercent: (100 * 16) / 24, connectedSince: null, sent: 4, received: 6, responses: 3, providerCalls: 20 });

    const { createApiToken } = await app.data(CreateScopedToken, { input: { name: 'Quiet only', role: 'VIEWER', sessionIds: [quiet.id] } });
    const quietOnly = createApiToken.token;
    const scoped = await app.execute(Analytics, { from: FROM, to: TO, bucket: 'DAY' }, { token: quietOnly });
    expect(scoped.errors).toBeUndefined();
    expect(scoped.data!.analytics).toEqual([{ from: FROM, to: TO, ...EMPTY }]);
    const other = await app.execute(Analytics, { sessionId: shop.id, from: FROM, to: TO, bucket: 'DAY' }, { token: quietOnly });
    expect(other.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const health = await app.execute(SessionHealth, { id: shop.id, from: FROM, to: TO }, { token: quietOnly });
    expect(health.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const logs = await app.execute(MessageLogs, { first: 50 }, { token: quietOnly });
    expect(logs.data!.messageLogs.edges).toEqual([]);
    const anonymous = await app.execute(Analytics, { from: FROM, to: TO, bucket: 'DAY' }, { token: null });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lists messages by session, direction, status, kind, time and phone, with delivery times and failure reasons', async () => {
    const page = async (vars: MessageLogsQueryVariables) =>
      (await app.data(MessageLogs, { sessionId: shop.id, first: 50, ...vars })).messageLogs;
    const failed = await page({ direction: 'OUTBOUND', status: 'FAILED' });
    expect(failed.edges.map((e) => e.node)).toMatchObject([
      { status: 'FAILED', failureReason: 'The number is not on WhatsApp', failedAt: `${DAY}T12:00:03.000Z`, sentAt: null, deliverySeconds: null, chat: { phoneNumber: '+255700000005' } },
    ]);
    const delivered = await page({ direction: 'OUTBOUND', status: 'DELIVERED' });
    expect(delivered.edges.map((e) => [e.node.timestamp, e.node.deliverySeconds])).toEqual([
      ['2026-01-11T00:10:00.000Z', 4],
      [`${DAY}T10:00:30.000Z`, 20],
    ]);
    const asha = await page({ phone: '+255 700 000 001', from: FROM, to: TO });
    expect(asha.edges.map((e) => e.node.timestamp)).toEqual([`${DAY}T10:00:30.000Z`, `${DAY}T10:00:00.000Z`, `${DAY}T09:05:00.000Z`, `${DAY}T09:01:00.000Z`, `${DAY}T09:00:00.000Z`]);
    expect((await page({ kind: 'IMAGE' })).edges.map((e) => e.node.timestamp)).toEqual([`${DAY}T09:01:00.000Z`]);
    expect((await page({ direction: 'INBOUND', from: FROM, to: TO })).edges).toHaveLength(6);
    expect((await page({ sessionId: quiet.id })).edges).toEqual([]);
    // Pages follow each other without a gap or a repeat.
    const all = await page({});
    const first = await page({ first: 7 });
    const rest = await page({ first: 50, after: first.pageInfo.endCursor });
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect([...first.edges, ...rest.edges].map((e) => e.node.id)).toEqual(all.edges.map((e) => e.node.id));
    expect(all.edges).toHaveLength(15);

    const badPhone = await app.execute(MessageLogs, { phone: '0712' });
    expect(badPhone.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { phone: expect.stringContaining('E.164') } });
    const backwards = await app.execute(MessageLogs, { from: TO, to: FROM });
    expect(backwards.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { to: 'must be after from' } });
  });

  it('refuses windows that end before they start or hold too many buckets', async () => {
    const backwards = await app.execute(Analytics, { sessionId: shop.id, from: TO, to: FROM, bucket: 'HOUR' });
    expect(backwards.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { to: 'must be after from' } });
    const huge = await app.execute(Analytics, { sessionId: shop.id, from: '2020-01-01T00:00:00.000Z', to: TO, bucket: 'HOUR' });
    expect(huge.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(Object.keys(huge.errors?.[0]?.extensions?.fields as object)).toEqual(['to']);
    const health = await app.execute(SessionHealth, { id: shop.id, from: TO, to: FROM });
    expect(health.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { to: 'must be after from' } });
  });
});
