/** A known history written straight into our own tables: past timestamps the webhooks cannot make. */
import { randomUUID } from 'node:crypto';
import type { Prisma } from '../../src/lib/database.ts';
import { deliverySeconds } from '../../src/modules/monitoring/delivery-seconds.ts';
import { recomputeTurns } from '../../src/modules/monitoring/response-turns.ts';
import type { MessageStatus, SessionLogType, SessionStatus } from '../../src/generated/prisma/enums.ts';

export const at = (iso: string) => new Date(iso);

export async function seedChat(prisma: Prisma, sessionId: string, phone: string) {
  const digits = phone.slice(1);
  return prisma.chat.create({ data: { sessionId, remoteJid: `${digits}@s.whatsapp.net`, phoneNumber: phone } });
}

export interface SeedMessage {
  chatId: string;
  direction: 'INBOUND' | 'OUTBOUND';
  at: string;
  status?: MessageStatus;
  sentAt?: string;
  deliveredAt?: string;
  readAt?: string;
  failedAt?: string;
  error?: string;
  kind?: 'TEXT' | 'IMAGE';
  text?: string;
}

/** Messages in the order given (their cursors follow it). */
export async function seedMessages(prisma: Prisma, sessionId: string, messages: SeedMessage[]) {
  for (const m of messages) {
    await prisma.message.create({
      data: {
        sessionId,
        chatId: m.chatId,
        direction: m.direction,
        kind: m.kind ?? 'TEXT',
        status: m.status ?? (m.direction === 'INBOUND' ? 'RECEIVED' : 'SENT'),
        providerMessageId: randomUUID(),
        fromJid: m.direction === 'INBOUND' ? 'them@s.whatsapp.net' : 'me',
        text: m.text ?? `${m.direction} ${m.at}`,
        timestamp: at(m.at),
        sentAt: m.sentAt ? at(m.sentAt) : null,
        deliveredAt: m.deliveredAt ? at(m.deliveredAt) : null,
        readAt: m.readAt ? at(m.readAt) : null,
        failedAt: m.failedAt ? at(m.failedAt) : null,
        deliverySeconds: deliverySeconds(m.sentAt ? at(m.sentAt) : null, m.deliveredAt ? at(m.deliveredAt) : null),
        error: m.error ?? null,
      },
    });
    // As the product does when it stores a message: the chat's turns from there on.
    await recomputeTurns(prisma, [{ chatId: m.chatId, since: at(m.at) }]);
  }
}

export async function seedStatusLog(prisma: Prisma, sessionId: string, entries: [type: SessionLogType, status: SessionStatus, at: string][]) {
  for (const [type, status, when] of entries) {
    await prisma.sessionLog.create({ data: { sessionId, type, status, message: `${type} ${status}`, createdAt: at(when) } });
  }
}

/** Webhook events received at `receivedAt`, each `lagSeconds` after its envelope's timestamp. */
export async function seedWebhookLags(prisma: Prisma, sessionId: string, events: { receivedAt: string; lagSeconds: number }[]) {
  for (const e of events) {
    const received = at(e.receivedAt);
    await prisma.webhookEvent.create({
      data: {
        sessionId,
        event: 'messages.update',
        dedupeKey: randomUUID(),
        payload: { event: 'messages.update', timestamp: (received.getTime() - e.lagSeconds * 1000) / 1000, data: {} },
        receivedAt: received,
        processedAt: received,
      },
    });
  }
}

export async function seedCounter(prisma: Prisma, sessionId: string, hour: string, name: string, count: number) {
  await prisma.sessionCounter.create({ data: { sessionId, hour: at(hour), name, count } });
}
