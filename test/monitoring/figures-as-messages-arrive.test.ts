/**
 * Response and delivery times are kept on the messages as webhooks store them: messages that arrive
 * late or out of order, replies in another hour than the question, and statuses that come before
 * their message, go backwards or fail after a send still give the exact figures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, replay, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { Analytics, MessageLogs, SessionHealth } from './documents.ts';

const DAY = '2026-02-03';
const FROM = `${DAY}T00:00:00.000Z`;
const TO = '2026-02-04T00:00:00.000Z';
const seconds = (iso: string) => Date.parse(iso) / 1000;
/** Many webhooks, each applied before the next: room for a busy machine. */
const BUSY_MACHINE_MS = 180_000;
let seq = 0;
const waId = () => `3EB0F16${(++seq).toString(16).toUpperCase().padStart(15, '0')}`;

describe('figures kept as messages arrive', () => {
  let app: TestApp;
  let s: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    s = await connectedSession(app, 'Turns');
  }, BUSY_MACHINE_MS);
  afterAll(() => app.stop());

  /** One message stored through the webhook, applied before the next one is sent. */
  async function message(digits: string, fromMe: boolean, at: string, id = waId()) {
    const jid = `${digits}@s.whatsapp.net`;
    const key = fromMe ? { id, fromMe, remoteJid: jid } : { id, fromMe, remoteJid: jid, addressingMode: 'pn', senderPn: jid, cleanedSenderPn: digits };
    expect(await replay(app, s, 'messages.upsert', { messages: [{ key, messageBody: at, message: { conversation: at }, pushName: 'Neema', messageTimestamp: seconds(`${DAY}T${at}Z`) }] })).toBe(200);
    await settled(app);
    return id;
  }
  async function status(digits: string, id: string, code: number) {
    expect(await replay(app, s, 'messages.update', { update: { status: code }, key: { remoteJid: `${digits}@s.whatsapp.net`, id, fromMe: true } })).toBe(200);
    await settled(app);
  }
  const day = async () => (await app.data(SessionHealth, { id: s.id, from: FROM, to: TO })).session!.health;
  const hours = async () => (await app.data(Analytics, { sessionId: s.id, from: FROM, to: TO, bucket: 'HOUR' })).analytics;

  it('counts each customer turn from its first message to the first reply after it, whatever order they arrive in', async () => {
    // The reply is stored before the question it answers, and an earlier question comes last.
    await message('255781000001', true, '10:20:00.000');
    await message('255781000001', false, '09:50:00.000');
    expect(await day()).toMatchObject({ responses: 1, unanswered: 0, medianResponseSeconds: 1800 });
    await message('255781000001', false, '09:40:00.000');
    // One turn, begun at 09:40 (hour 9) and answered at 10:20 (hour 10).
    expect(await day()).toMatchObject({ responses: 1, unanswered: 0, medianResponseSeconds: 2400, received: 2, sent: 1 });

    // A reply that arrives after a later one answers first.
    await message('255781000002', false, '11:00:00.000');
    await message('255781000002', true, '11:05:00.000');
    expect((await hours())[11]).toMatchObject({ responses: 1, medianResponseSeconds: 300 });
    await message('255781000002', true, '11:02:00.000');
    expect((await hours())[11]).toMatchObject({ responses: 1, medianResponseSeconds: 120, sent: 2 });

    // Unanswered until the answer comes the next day: then answered, in the question's hour.
    await message('255781000003', false, '12:00:00.000');
    expect(await day()).toMatchObject({ responses: 2, unanswered: 1 });
    const jid = '255781000003@s.whatsapp.net';
    expect(
      await replay(app, s, 'messages.upsert', {
        messages: [{ key: { id: waId(), fromMe: true, remoteJid: jid }, messageBody: 'sorry', message: { conversation: 'sorry' }, messageTimestamp: seconds('2026-02-04T01:00:00.000Z') }],
      }),
    ).toBe(200);
    await settled(app);

    expect(await day()).toMatchObject({
      received: 4,
      sent: 3,
      responses: 3,
      unanswered: 0,
      // 120 s, 2,400 s and 46,800 s.
      medianResponseSeconds: 2400,
      p90ResponseSeconds: 2400 + 0.8 * (46_800 - 2400),
    });
    const byHour = await hours();
    expect(byHour.map((h) => h.responses)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(byHour.map((h) => h.medianResponseSeconds).filter((v) => v !== null)).toEqual([2400, 120, 46_800]);
    expect(byHour[10]).toMatchObject({ sent: 1, responses: 0, unanswered: 0, medianResponseSeconds: null });
  }, BUSY_MACHINE_MS);

  it('times a delivery whose status came before its message, ignores a status going back, and counts a failure after a send', async () => {
    const digits = '255781000004';
    const early = waId();
    // Delivered is reported before the message itself is stored.
    await status(digits, early, 3);
    await message(digits, true, '14:00:00.000', early);
    await status(digits, early, 2);
    const failing = await message(digits, true, '15:00:00.000');
    await status(digits, failing, 0);

    const { messageLogs } = await app.data(MessageLogs, { sessionId: s.id, direction: 'OUTBOUND', from: `${DAY}T14:00:00.000Z`, to: `${DAY}T16:00:00.000Z` });
    const [failed, delivered] = messageLogs.edges.map((e) => e.node);
    expect(delivered).toMatchObject({ status: 'DELIVERED', sentAt: `${DAY}T14:00:00.000Z` });
    expect(failed).toMatchObject({ status: 'FAILED', sentAt: `${DAY}T15:00:00.000Z`, deliveredAt: null, deliverySeconds: null });
    const deliverySeconds = (Date.parse(delivered!.deliveredAt!) - Date.parse(delivered!.sentAt!)) / 1000;
    expect(delivered!.deliverySeconds).toBe(deliverySeconds);

    const byHour = await hours();
    // Each counts in the hour it was sent in, though delivered (or failed) long after.
    expect(byHour[14]).toMatchObject({ sent: 1, delivered: 1, failed: 0, deliveryRate: 1, medianDeliverySeconds: deliverySeconds, p90DeliverySeconds: deliverySeconds });
    expect(byHour[15]).toMatchObject({ sent: 1, delivered: 0, failed: 1, deliveryRate: 0, medianDeliverySeconds: null });
    expect(await day()).toMatchObject({ sent: 5, delivered: 1, failed: 1, responses: 3, unanswered: 0, medianDeliverySeconds: deliverySeconds });
  }, BUSY_MACHINE_MS);
});
