/**
 * The outbox against the sandbox's limits and failures: account protection paces sends one per
 * 5 s (on the injected clock, asserted from the sandbox's record); a 429 pauses the session for its
 * retry_after; a number not on WhatsApp ends FAILED with the provider's reason; a provider that
 * answers 5xx is retried, then FAILED; an answer lost after the provider did the work is settled
 * from its webhooks or its message logs and never sent again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, subscriptionsStarting, type TestApp } from '../helpers/app.ts';
import { connectedSession, databaseId, type ConnectedSession } from '../helpers/inbox.ts';
import { clearFaults, injectFault, notOnWhatsApp, sandboxSends } from '../helpers/sandbox.ts';
import { connectWs } from '../helpers/ws.ts';
import { MessageUpdated } from '../inbox/documents.ts';
import { MessageById, SendMessage } from './documents.ts';

/** Provider round trips (sends, webhooks, settling) are slow on a busy machine: wait long enough. */
const waitFor: typeof eventually = (check, timeoutMs = 20_000) => eventually(check, timeoutMs);

async function messageOf(app: TestApp, id: string) {
  const { node } = await app.data(MessageById, { id });
  if (!node || !('status' in node)) throw new Error('no such message');
  return node;
}

function outboxOf(app: TestApp, messageId: string) {
  return app.running.db.prisma.outboxMessage.findUniqueOrThrow({ where: { messageId: databaseId(messageId) } });
}

describe('pacing on the injected clock', () => {
  let app: TestApp;
  let session: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp({ manualClock: true });
    session = await connectedSession(app, 'Protected', { accountProtection: true });
  });
  afterAll(() => app.stop());

  /** Lets the worker finish what it may do at this instant. */
  async function quiet() {
    await app.running.services.outboxWorker.idle();
  }

  it('sends no faster than one message per 5 s with account protection, and never meets the provider\'s 429', async () => {
    const clock = app.clock!;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await app.data(SendMessage, { input: { sessionId: session.id, to: '+255766000001', text: `Paced ${i}` } })).sendMessage.id);
    for (let sent = 1; sent <= 4; sent++) {
      await waitFor(async () => (await sandboxSends(app, session.providerSessionId)).length === sent);
      if (sent === 4) break;
      // Just before its turn the next one waits …
      clock.advance(4_999);
      await quiet();
      expect(await sandboxSends(app, session.providerSessionId)).toHaveLength(sent);
      // … and goes when it comes.
      clock.advance(1);
    }
    const sends = await sandboxSends(app, session.providerSessionId);
    expect(sends.map((s) => s.body.text)).toEqual(['Paced 0', 'Paced 1', 'Paced 2', 'Paced 3']);
    for (let i = 1; i < sends.length; i++) expect(sends[i]!.received_at - sends[i - 1]!.received_at).toBeGreaterThanOrEqual(5_000);
    for (const id of ids) expect((await outboxOf(app, id)).lastError).toBeNull();
  });

  it('pauses the session for a 429\'s retry_after, then resumes', async () => {
    const clock = app.clock!;
    clock.advance(5_000);
    const before = (await sandboxSends(app, session.providerSessionId)).length;
    await injectFault(app, { path: '/send-message', status: 429, count: 1, body: { message: 'Account protection: wait a little.', retry_after: 7 } });
    const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255766000002', text: 'After the limit' } });
    const waiting = await waitFor(async () => {
      const row = await outboxOf(app, m.id);
      return row.lastError ? row : undefined;
    });
    expect(waiting).toMatchObject({ status: 'QUEUED', attempts: 0 });
    expect(waiting.lastError).toMatch(/retrying after 7 s/);
    clock.advance(6_999);
    await quiet();
    expect(await sandboxSends(app, session.providerSessionId)).toHaveLength(before);
    clock.advance(1);
    const sends = await waitFor(async () => {
      const all = await sandboxSends(app, session.providerSessionId);
      return all.length === before + 1 ? all : undefined;
    });
    expect(sends.at(-1)!.body).toEqual({ to: '+255766000002', text: 'After the limit' });
    // The sandbox's delivery reports come on its clock.
    await waitFor(async () => {
      clock.advance(100);
      return (await messageOf(app, m.id)).status === 'READ';
    });
  });
});

describe('provider failures', () => {
  let app: TestApp;
  let session: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp({ outbox: { retryBaseMs: 20, retryMaxMs: 100, maxAttempts: 3, settleIntervalMs: 100 } });
    session = await connectedSession(app, 'Failures');
  });
  afterAll(() => app.stop());

  it('ends a send to a number not on WhatsApp FAILED with the provider\'s reason, live', async () => {
    await notOnWhatsApp(app, ['+255799000001']);
    const ws = connectWs(app.url);
    const subscribed = subscriptionsStarting(app, 1);
    const feed = ws.subscribe(MessageUpdated, { sessionId: session.id });
    await subscribed();
    const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255799000001', text: 'Anyone there?' } });
    const failed = await waitFor(async () => {
      const node = await messageOf(app, m.id);
      return node.failureReason ? node : undefined;
    });
    expect(failed).toMatchObject({ status: 'FAILED', failureReason: 'invalid WhatsApp number' });
    await waitFor(() => feed.pending().some((e) => e.messageUpdated.id === m.id && e.messageUpdated.status === 'FAILED' && e.messageUpdated.failureReason === 'invalid WhatsApp number') || undefined);
    expect((await outboxOf(app, m.id)).status).toBe('FAILED');
    await ws.close();
  });

  it('retries a provider answering 5xx with back-off, then sends once it recovers', async () => {
    await injectFault(app, { path: '/send-message', status: 503, count: 2 });
    const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255766000101', text: 'Third time lucky' } });
    await waitFor(async () => (await messageOf(app, m.id)).status === 'READ');
    expect((await outboxOf(app, m.id)).attempts).toBe(3);
    expect((await sandboxSends(app, session.providerSessionId)).filter((s) => s.to === '+255766000101')).toHaveLength(1);
  });

  it('fails a send the provider keeps answering 5xx, with a clear reason, and goes on with the next', async () => {
    await injectFault(app, { path: '/send-message', status: 500, count: 3 });
    const { sendMessage: down } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255766000102', text: 'Provider down' } });
    const { sendMessage: next } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255766000103', text: 'Next in line' } });
    const failed = await waitFor(async () => {
      const node = await messageOf(app, down.id);
      return node.status === 'FAILED' ? node : undefined;
    });
    expect(failed.failureReason).toMatch(/provider was unavailable \(HTTP 500\) after 3 attempts/);
    expect((await outboxOf(app, down.id)).attempts).toBe(3);
    await waitFor(async () => (await messageOf(app, next.id)).status === 'READ');
    await clearFaults(app);
  });

  it('fails a send the provider refuses (422) with the provider\'s message', async () => {
    await injectFault(app, { path: '/send-message', status: 422, count: 1, body: { success: false, message: 'Validation failed', errors: { to: ['The to field is invalid.'] } } });
    const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255766000104', text: 'Refused' } });
    const failed = await waitFor(async () => {
      const node = await messageOf(app, m.id);
      return node.status === 'FAILED' ? node : undefined;
    });
    expect(failed.failureReason).toBe('Validation failed (to: The to field is invalid.)');
    expect((await outboxOf(app, m.id)).attempts).toBe(1);
  });

  it('settles a send whose answer was lost from the provider\'s webhooks, without sending it again', async () => {
    await injectFault(app, { path: '/send-message', afterHandling: true, count: 1 });
    const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255766000105', text: 'Did it go?' } });
    const settled = await waitFor(async () => {
      const node = await messageOf(app, m.id);
      return node.status === 'READ' ? node : undefined;
    });
    expect(settled.providerMessageId).toMatch(/^3EB0/);
    await waitFor(async () => (await outboxOf(app, m.id)).status === 'SENT');
    expect((await sandboxSends(app, session.providerSessionId)).filter((s) => s.to === '+255766000105')).toHaveLength(1);
  });
});

describe('unknown outcomes without webhooks', () => {
  let app: TestApp;
  let session: ConnectedSession;
  beforeAll(async () => {
    // The provider's reports take a minute: only its logs can tell in time.
    app = await startTestApp({
      sandbox: { deliveryDelayMs: 240_000 },
      // Long enough for a busy machine's ordinary calls; the stalled send below outlasts it.
      provider: { timeoutMs: 2_500 },
      outbox: { settleIntervalMs: 100, unknownSettleMs: 1_500 },
    });
    session = await connectedSession(app, 'Unknown');
  });
  afterAll(() => app.stop());

  it('settles a lost answer from the provider\'s message logs, learning its ids, without a second send', async () => {
    await injectFault(app, { path: '/send-message', afterHandling: true, count: 1 });
    const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255766000201', image: { url: 'https://cdn.example.com/x.jpg', caption: 'Logged' } } });
    const row = await waitFor(async () => {
      const r = await outboxOf(app, m.id);
      return r.status === 'SENT' ? r : undefined;
    });
    expect(row.attempts).toBe(1);
    const message = await messageOf(app, m.id);
    expect(message.providerMessageId).toMatch(/^3EB0/);
    expect(message.status).toBe('PENDING');
    const stored = await app.running.db.prisma.message.findUniqueOrThrow({ where: { id: databaseId(m.id) } });
    const sends = (await sandboxSends(app, session.providerSessionId)).filter((s) => s.to === '+255766000201');
    expect(sends.map((s) => String(s.msg_id))).toEqual([stored.providerMsgId]);
  });

  it('fails a send found nowhere after the bound as "outcome unknown", never sending it again', async () => {
    // The request stalls past our timeout and is then answered with an error: it did nothing.
    await injectFault(app, { path: '/send-message', status: 500, delayMs: 5_000, count: 1 });
    const { sendMessage: m } = await app.data(SendMessage, { input: { sessionId: session.id, to: '+255766000202', text: 'Into the void' } });
    const failed = await waitFor(async () => {
      const node = await messageOf(app, m.id);
      return node.status === 'FAILED' ? node : undefined;
    });
    expect(failed.failureReason).toMatch(/^outcome unknown/);
    const row = await outboxOf(app, m.id);
    expect(row).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect((await sandboxSends(app, session.providerSessionId)).filter((s) => s.to === '+255766000202')).toHaveLength(0);
  });
});
