/**
 * An outbound message enters its chat: the chat found or made, the message stored PENDING, and
 * the chat's last message moved to it as for an inbound one (the unread count stays: we wrote it).
 * Called in the caller's transaction, under the inbox's message lock (the cursor follows commits).
 */
import type { Prisma as PrismaTypes } from '../../generated/prisma/client.ts';
import type { Message } from '../../generated/prisma/client.ts';
import type { OutboundContent } from './outbox.schemas.ts';
import { recomputeTurns } from '../monitoring/response-turns.ts';

export interface OutboundMessage {
  sessionId: string;
  /** The chat to write in, or the JID (and phone) of a person's chat to find or make. */
  chatId: string | null;
  remoteJid: string;
  phone: string | null;
  stored: OutboundContent;
  replyToProviderId?: string | null;
  idempotencyKey?: string | null;
  bulkSendJobId?: string | null;
  now: Date;
}

export async function insertOutbound(tx: PrismaTypes.TransactionClient, m: OutboundMessage): Promise<Message> {
  const chatId =
    m.chatId ??
    (
      await tx.chat.upsert({
        where: { sessionId_remoteJid: { sessionId: m.sessionId, remoteJid: m.remoteJid } },
        create: { sessionId: m.sessionId, remoteJid: m.remoteJid, phoneNumber: m.phone, isGroup: false },
        update: {},
        select: { id: true },
      })
    ).id;
  const message = await tx.message.create({
    data: {
      sessionId: m.sessionId,
      chatId,
      direction: 'OUTBOUND',
      kind: m.stored.kind,
      status: 'PENDING',
      fromJid: 'me',
      text: m.stored.text,
      content: m.stored.content ?? undefined,
      replyToProviderId: m.replyToProviderId ?? null,
      idempotencyKey: m.idempotencyKey ?? null,
      bulkSendJobId: m.bulkSendJobId ?? null,
      timestamp: m.now,
    },
  });
  await recomputeTurns(tx, [{ chatId, since: m.now }]);
  await tx.chat.updateMany({
    where: { id: chatId, OR: [{ lastMessageAt: null }, { lastMessageAt: { lte: m.now } }] },
    data: { lastMessageAt: m.now, lastMessageId: message.id, lastMessageSeq: message.seq },
  });
  return message;
}

/** The session's place in the outbox, made with its first message. */
export async function ensureOutboxState(tx: PrismaTypes.TransactionClient, sessionId: string, now: Date) {
  await tx.$executeRaw`INSERT INTO outbox_session_states ("sessionId", "nextSendAt") VALUES (${sessionId}::uuid, ${now.toISOString()}::timestamp(3)) ON CONFLICT ("sessionId") DO NOTHING`;
}
