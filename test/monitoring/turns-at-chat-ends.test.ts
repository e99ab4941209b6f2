/**
 * Inbound messages added after everything in their chat take their turn columns as they are
 * inserted (response-turns.ts, turnsAtChatEnds); the figures must be those of a full recompute:
 * several in one webhook, a redelivery of them, one at the same time as another, and the reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, replay, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { SessionHealth } from './documents.ts';

const DAY = '2026-03-05';
const seconds = (iso: string) => Date.parse(iso) / 1000;
/** Many webhooks, each applied before the next: room for a busy machine. */
const BUSY_MACHINE_MS = 180_000;
let seq = 0;
const waId = () => `3EB0F17${(++seq).toString(16).toUpperCase().padStart(15, '0')}`;

describe('turns of messages added at their chat’s end', () => {
  let app: TestApp;
  let s: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    s = await connectedSession(app, 'Chat ends');
  }, BUSY_MACHINE_MS);
  afterAll(() => app.stop());

  const entry = (digits: string, fromMe: boolean, at: string, id = waId()) => {
    const jid = `${digits}@s.whatsapp.net`;
    const key = fromMe ? { id, fromMe, remoteJid: jid } : { id, fromMe, remoteJid: jid, addressingMode: 'pn', senderPn: jid, cleanedSenderPn: digits };
    return { key, messageBody: at, message: { conversation: at }, pushName: 'Asha', messageTimestamp: seconds(`${DAY}T${at}Z`) };
  };
  async function upsert(messages: object[]) {
    expect(await replay(app, s, 'messages.upsert', { messages })).toBe(200);
    await settled(app);
  }
  const day = async () => (await app.data(SessionHealth, { id: s.id, from: `${DAY}T00:00:00.000Z`, to: `${DAY}T23:59:59.999Z` })).session!.health;

  it('counts one turn for a run of questions however they come, answered by the first reply', async () => {
    await upsert([entry('255782000001', true, '08:00:00.000')]);
    const questions = [entry('255782000001', false, '09:00:00.000'), entry('255782000001', false, '09:01:00.000'), entry('255782000001', false, '09:02:00.000')];
    await upsert(questions);
    await upsert(questions);
    await upsert([entry('255782000001', false, '09:03:00.000')]);
    expect(await day()).toMatchObject({ received: 4, responses: 0, unanswered: 1 });
    await upsert([entry('255782000001', true, '09:10:00.000')]);
    expect(await day()).toMatchObject({ received: 4, sent: 2, responses: 1, unanswered: 0, medianResponseSeconds: 600 });

    // Two questions at the same moment, the first of a new chat: still one turn.
    await upsert([entry('255782000002', false, '10:00:00.000'), entry('255782000002', false, '10:00:00.000')]);
    expect(await day()).toMatchObject({ received: 6, responses: 1, unanswered: 1 });
    await upsert([entry('255782000002', true, '10:05:00.000')]);
    expect(await day()).toMatchObject({ received: 6, responses: 2, unanswered: 0, medianResponseSeconds: 450 });
  }, BUSY_MACHINE_MS);
});
