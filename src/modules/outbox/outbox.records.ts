/**
 * What became of a send, written to its outbox row and its message together, and published: the
 * worker (a provider answer) and the settler (the provider's logs) record through these alone.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';
import type { WhatsAppSession } from '../../generated/prisma/client.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import { deliveryStatus } from '../../provider/webhook-events.ts';
import type { InboxService } from '../inbox/inbox.service.ts';

/** The outbox row a record is about. */
export interface OutboxRow {
  id: string;
  messageId: string | null;
  bulkSendJobId: string | null;
}

export function createOutboxRecords(deps: {
  prisma: Prisma;
  clock: Clock;
  logger: Logger;
  provider: WasenderClient;
  inbox: InboxService;
  /** A bulk job's counters may have changed. */
  onJobChange?: (jobId: string) => void;
}) {
  const { prisma, logger, provider, inbox } = deps;

  async function publish(messageId: string | null) {
    if (!messageId) return;
    const m = await prisma.message.findUnique({ where: { id: messageId }, select: { id: true, sessionId: true, chatId: true, seq: true } });
    if (m) inbox.publishMessage('updated', m);
  }

  function jobChanged(row: OutboxRow) {
    if (row.bulkSendJobId) deps.onJobChange?.(row.bulkSendJobId);
  }

  /** Learns WhatsApp's id of an accepted send from the provider's message info, with its status. */
  async function learnKey(sessionId: string, messageId: string, msgId: number, apiKey: string) {
    let info;
    try {
      info = await provider.session(apiKey).getMessageInfo(msgId);
    } catch (error) {
      // Webhooks carry the key too: the send is linked by its echo (outbox.link.ts).
      logger.warn({ sessionId, messageId, msgId, err: error }, 'message info failed; the send is linked by its webhook');
      return;
    }
    const keyId = info.key?.id ?? info.id;
    if (!keyId) return;
    await inbox.adoptKey(sessionId, messageId, keyId);
    const status = deliveryStatus(info.status);
    if (status && status !== 'PENDING') await inbox.applyStatuses(sessionId, [{ id: keyId, status: status === 'ERROR' ? 'FAILED' : status }]);
  }

  return {
    learnKey,

    /** The provider took the send (its msgId); the message learns its WhatsApp id next. */
    async accepted(session: Pick<WhatsAppSession, 'id'>, row: OutboxRow, msgId: number, apiKey: string) {
      await prisma.$transaction([
        prisma.outboxMessage.update({ where: { id: row.id }, data: { status: 'SENT', lastError: null } }),
        ...(row.messageId ? [prisma.message.update({ where: { id: row.messageId }, data: { providerMsgId: String(msgId) } })] : []),
      ]);
      jobChanged(row);
      if (row.messageId) await learnKey(session.id, row.messageId, msgId, apiKey);
    },

    /** The send failed for good (or a FAILED message learns why): the message is FAILED with the reason. */
    async fail(row: OutboxRow, reason: string) {
      await prisma.$transaction([
        prisma.outboxMessage.update({ where: { id: row.id }, data: { status: 'FAILED', lastError: reason } }),
        ...(row.messageId ? [prisma.message.update({ where: { id: row.messageId }, data: { status: 'FAILED', error: reason } })] : []),
      ]);
      jobChanged(row);
      await publish(row.messageId);
    },

    /** The request left but its answer was lost: settled later, never resent. */
    async unknown(row: OutboxRow, reason: string) {
      await prisma.outboxMessage.update({ where: { id: row.id }, data: { status: 'UNKNOWN', lastError: reason } });
    },

    /** Back in the queue, at its head (a 429 or a 5xx): `countAttempt` false for a rate limit. */
    async requeue(row: OutboxRow, reason: string, opts: { countAttempt: boolean }) {
      await prisma.outboxMessage.update({
        where: { id: row.id },
        data: { status: 'QUEUED', lastError: reason, nextAttemptAt: new Date(deps.clock.now()), ...(opts.countAttempt ? {} : { attempts: { decrement: 1 } }) },
      });
    },

    /** The provider's logs or a webhook showed the send left: the row is done. */
    async settledSent(row: OutboxRow) {
      await prisma.outboxMessage.update({ where: { id: row.id }, data: { status: 'SENT', lastError: null } });
      jobChanged(row);
    },
  };
}

export type OutboxRecords = ReturnType<typeof createOutboxRecords>;
