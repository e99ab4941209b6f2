/**
 * Each session's webhook events are applied in the order they were stored, however many processes
 * apply them: a failing event holds its session (and only its session) until it is applied or
 * parked, and a delivery status that comes before its message waits for it. Run on one embedded
 * instance, and on two instances sharing one PostgreSQL database (webhooks posted to both).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startDeployment, startTestApp, type TestApp } from '../helpers/app.ts';
import { serviceAvailable } from '../helpers/database.ts';
import { connectedSession, postWebhook, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { providerSession } from '../helpers/sandbox.ts';
import { GetSession, SessionLogs } from '../sessions/documents.ts';
import { Chats } from './documents.ts';

/** Quick retries, so a failing event is retried, and parked, within a second or two. */
const webhookProcessing = { maxAttempts: 8, retryBaseMs: 100, retryMaxMs: 400, pollIntervalMs: 50 };
const POISON = 'poisoned by the test';

let counter = 0;
const waId = () => `3EB0ORD${(++counter).toString(16).toUpperCase().padStart(13, '0')}${randomBytes(2).toString('hex').toUpperCase()}`;
const nowS = () => Math.floor(Date.now() / 1000);

interface Signed extends ConnectedSession {
  apiKey: string;
  secret: string;
}

function scenarios(name: string, setup: () => Promise<{ apps: [TestApp, TestApp]; stop: () => Promise<void> }>) {
  describe(name, () => {
    let apps: [TestApp, TestApp];
    let stop: () => Promise<void>;
    beforeAll(async () => {
      ({ apps, stop } = await setup());
      // Fails any insert of a message whose text names it: a poisoned event, applied through the real path.
      await apps[0].running.db.prisma.$executeRawUnsafe(`
        CREATE FUNCTION poison_messages() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.text LIKE 'poison%' AND NOT EXISTS (SELECT 1 FROM poison_cured WHERE text = NEW.text) THEN
            RAISE EXCEPTION '${POISON}';
          END IF;
          RETURN NEW;
        END $$`);
      await apps[0].running.db.prisma.$executeRawUnsafe(`CREATE TABLE poison_cured (text text PRIMARY KEY)`);
      await apps[0].running.db.prisma.$executeRawUnsafe(
        `CREATE TRIGGER poison_messages BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION poison_messages()`,
      );
    });
    afterAll(() => stop?.());

    const prisma = () => apps[0].running.db.prisma;

    async function signedSession(label: string): Promise<Signed> {
      const s = await connectedSession(apps[0], label);
      const secrets = (await providerSession(apps[0], s.providerSessionId))!;
      return { ...s, apiKey: secrets.api_key, secret: secrets.webhook_secret };
    }

    /** Posts a provider event for the session to one of the processes, as the provider would. */
    async function post(s: Signed, event: string, data: unknown, to = 0) {
      const body = JSON.stringify({ event, timestamp: Date.now(), sessionId: s.apiKey, data });
      const res = await postWebhook(apps[to % 2]!, body, { 'x-webhook-signature': s.secret });
      expect(res.status).toBe(200);
    }
    const inboundMessage = (id: string, digits: string, text: string) => ({
      messages: {
        key: { id, fromMe: false, remoteJid: `${digits}@s.whatsapp.net`, cleanedSenderPn: digits },
        messageBody: text,
        message: { conversation: text },
        pushName: 'Neema',
        messageTimestamp: nowS(),
      },
    });
    const sent = (id: string, digits: string, text: string) => ({ key: { id, fromMe: true, remoteJid: `${digits}@s.whatsapp.net` }, message: { conversation: text }, success: true });
    const statusUpdate = (id: string, digits: string, status: number) => ({ update: { status }, key: { id, fromMe: true, remoteJid: `${digits}@s.whatsapp.net` } });

    async function settledAll() {
      await Promise.all(apps.map((app) => settled(app)));
    }
    /** The session's messages in the order they were applied. */
    function messagesOf(s: ConnectedSession) {
      return prisma().message.findMany({ where: { sessionId: s.dbId }, orderBy: { seq: 'asc' }, select: { providerMessageId: true, text: true, status: true } });
    }
    async function unread(s: ConnectedSession) {
      const { session } = await apps[1].data(Chats, { id: s.id, first: 50 });
      return Object.fromEntries(session!.chats.edges.map((e) => [e.node.remoteJid, e.node.unreadCount]));
    }
    /** The session's log, oldest first. */
    async function logs(s: ConnectedSession) {
      const { session } = await apps[0].data(SessionLogs, { id: s.id, first: 100 });
      return session!.logs.edges.map((e) => e.node).reverse();
    }
    function attemptsOf(messageId: string) {
      return prisma().$queryRawUnsafe<{ attempts: number; processedAt: Date | null; parkedAt: Date | null; error: string | null }[]>(
        `SELECT attempts, "processedAt", "parkedAt", error FROM webhook_events WHERE payload::text LIKE '%' || $1 || '%'`,
        messageId,
      );
    }

    it('keeps a status that comes before its message, and applies it when the message arrives', async () => {
      const s = await signedSession('Early status');
      const digits = '255781000001';
      const [read, delivered, never] = [waId(), waId(), waId()];
      await post(s, 'messages.update', statusUpdate(read, digits, 4), 0);
      await post(s, 'messages.update', statusUpdate(read, digits, 3), 1);
      await post(s, 'message-receipt.update', { message: { key: { id: delivered, fromMe: true, remoteJid: `${digits}@s.whatsapp.net` }, receipt: { userJid: `${digits}@s.whatsapp.net`, receiptTimestamp: nowS() } } }, 1);
      await post(s, 'messages.update', statusUpdate(never, digits, 4), 0);
      await settledAll();
      expect(await messagesOf(s)).toEqual([]);

      // The messages arrive: the sent echo of one, the phone's own copy of the other.
      await post(s, 'message.sent', sent(read, digits, 'your order is ready'), 1);
      await post(s, 'messages.upsert', { messages: { ...inboundMessage(delivered, digits, 'on its way').messages, key: { id: delivered, fromMe: true, remoteJid: `${digits}@s.whatsapp.net` } } }, 0);
      await settledAll();
      // The furthest status wins; a late lesser one does not move it back.
      expect(await messagesOf(s)).toEqual([
        { providerMessageId: read, text: 'your order is ready', status: 'READ' },
        { providerMessageId: delivered, text: 'on its way', status: 'DELIVERED' },
      ]);

      // A status whose message never came is dropped after the retention.
      await prisma().$executeRawUnsafe(
        `UPDATE pending_message_statuses SET "receivedAt" = "receivedAt" - interval '25 hours' WHERE "sessionId" = $1::uuid`,
        s.dbId,
      );
      await apps[1].running.services.webhookProcessor.prune();
      await post(s, 'message.sent', sent(never, digits, 'too late'), 0);
      await settledAll();
      expect((await messagesOf(s)).find((m) => m.providerMessageId === never)?.status).toBe('SENT');
      expect(await prisma().pendingMessageStatus.count({ where: { sessionId: s.dbId } })).toBe(0);
    });

    it('holds a session behind a failing event until its retry succeeds, while other sessions go on', async () => {
      const [s, other] = [await signedSession('Held'), await signedSession('Not held')];
      const digits = '255781000002';
      const [first, poisoned, after] = [waId(), waId(), waId()];
      await post(s, 'messages.upsert', inboundMessage(first, digits, 'first'), 0);
      await post(s, 'messages.upsert', inboundMessage(poisoned, digits, 'poison once'), 1);
      await post(s, 'messages.upsert', inboundMessage(after, digits, 'after'), 0);
      await post(other, 'messages.upsert', inboundMessage(waId(), digits, 'elsewhere'), 1);
      // It fails and waits for its retry, and so does the message stored after it; another
      // session's message does not.
      await eventually(async () => (await attemptsOf(poisoned))[0]!.attempts >= 1 && (await messagesOf(other)).length === 1);
      expect((await messagesOf(s)).map((m) => m.text)).toEqual(['first']);

      await prisma().$executeRawUnsafe(`INSERT INTO poison_cured VALUES ('poison once')`);
      await eventually(async () => (await messagesOf(s)).length === 3);
      await settledAll();
      // Applied in the order stored, each once.
      expect((await messagesOf(s)).map((m) => m.text)).toEqual(['first', 'poison once', 'after']);
      expect(await unread(s)).toEqual({ [`${digits}@s.whatsapp.net`]: 3 });
      const [event] = await attemptsOf(poisoned);
      expect(event).toMatchObject({ parkedAt: null, error: null });
      expect(event!.processedAt).not.toBeNull();
      expect((await logs(s)).filter((l) => l.type === 'ERROR')).toEqual([]);
    });

    it('parks an event that keeps failing, logs it on the session, and moves on', async () => {
      const s = await signedSession('Parked');
      const digits = '255781000003';
      const [first, poisoned, after] = [waId(), waId(), waId()];
      await post(s, 'messages.upsert', inboundMessage(first, digits, 'first'), 1);
      await post(s, 'messages.upsert', inboundMessage(poisoned, digits, 'poison for good'), 0);
      await post(s, 'messages.upsert', inboundMessage(after, digits, 'after'), 1);
      await eventually(async () => (await messagesOf(s)).length === 2, 10_000);
      await settledAll();
      expect((await messagesOf(s)).map((m) => m.text)).toEqual(['first', 'after']);
      expect(await unread(s)).toEqual({ [`${digits}@s.whatsapp.net`]: 2 });
      const [event] = await attemptsOf(poisoned);
      expect(event!.attempts).toBe(webhookProcessing.maxAttempts);
      expect(event!.parkedAt).not.toBeNull();
      expect(event!.processedAt).not.toBeNull();
      expect(event!.error).toContain(POISON);
      const errors = (await logs(s)).filter((l) => l.type === 'ERROR');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ status: 'CONNECTED' });
      expect(errors[0]!.message).toContain('messages.upsert');
      expect(errors[0]!.message).toContain(POISON);
    });

    it('applies a burst across many sessions in order, each event once', async () => {
      const sessions = await Promise.all(Array.from({ length: 4 }, (_, i) => signedSession(`Burst ${i}`)));
      const before = await Promise.all(sessions.map(logs));
      const perSession = 6;
      const customer = '255781000004';
      const shop = '255781000005';
      await Promise.all(
        sessions.map(async (s) => {
          let to = 0;
          for (let i = 0; i < perSession; i++) {
            const out = waId();
            await post(s, 'messages.upsert', inboundMessage(waId(), customer, `in ${i}`), to++);
            // The provider reorders: the read receipt comes before the message it is for.
            await post(s, 'messages.update', statusUpdate(out, shop, 4), to++);
            await post(s, 'message.sent', sent(out, shop, `out ${i}`), to++);
            await post(s, 'messages.update', statusUpdate(out, shop, 3), to++);
          }
          await post(s, 'session.status', { status: 'connecting' }, to++);
          await post(s, 'session.status', { status: 'connected' }, to++);
        }),
      );
      await settledAll();
      for (const [i, s] of sessions.entries()) {
        const messages = await messagesOf(s);
        expect(messages.filter((m) => m.text!.startsWith('in ')).map((m) => m.text)).toEqual(Array.from({ length: perSession }, (_, n) => `in ${n}`));
        expect(messages.filter((m) => m.text!.startsWith('out ')).map((m) => [m.text, m.status])).toEqual(
          Array.from({ length: perSession }, (_, n) => [`out ${n}`, 'READ']),
        );
        expect(await unread(s)).toEqual({ [`${customer}@s.whatsapp.net`]: perSession, [`${shop}@s.whatsapp.net`]: 0 });
        expect((await apps[1].data(GetSession, { id: s.id })).session?.status).toBe('CONNECTED');
        const added = (await logs(s)).slice(before[i]!.length);
        expect(added.map((l) => [l.type, l.status])).toEqual([
          ['STATUS_CHANGED', 'CONNECTING'],
          ['CONNECTED', 'CONNECTED'],
        ]);
      }
    });
  });
}

scenarios('webhook order on one embedded instance', async () => {
  const app = await startTestApp({ webhookProcessing });
  return { apps: [app, app], stop: () => app.stop() };
});

describe.runIf(serviceAvailable('DATABASE_URL'))('across processes', () => {
  scenarios('webhook order on two instances sharing PostgreSQL', async () => {
    const deployment = await startDeployment(2, { webhookProcessing });
    return { apps: deployment.apps as [TestApp, TestApp], stop: deployment.stop };
  });
});
