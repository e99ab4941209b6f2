/**
 * Sending: a message is validated, then stored PENDING in its chat together with its outbox row in
 * one transaction, published, and handed to the outbox worker (outbox.worker.ts), which sends it
 * when the session's pace allows. The same idempotency key returns the same message, once sent.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Prisma } from '../../lib/database.ts';
import { BadUserInputError, badInputFromIssues, NotFoundError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { mediaUrlProblem, type ResolveHost } from '../../lib/media-url.ts';
import { isUniqueViolation } from '../../lib/prisma-errors.ts';
import type { Message } from '../../generated/prisma/client.ts';
import { assertCanAct, type Viewer } from '../auth/viewer.ts';
import { phoneJidOf } from '../inbox/identity.ts';
import { MESSAGE_SEQ_LOCK, type InboxService } from '../inbox/inbox.service.ts';
import { invalidStateError } from '../sessions/session.rules.ts';
import { bodyOf, combinationIssues, contentOf, SendMessageInput, storedOf } from './outbox.schemas.ts';
import { ensureOutboxState, insertOutbound } from './outbox.store.ts';

export interface OutboxServiceDeps {
  prisma: Prisma;
  clock: Clock;
  logger: Logger;
  inbox: InboxService;
  /** Production refuses media URLs on loopback or private addresses. */
  production: boolean;
  resolveHost?: ResolveHost;
  /** Wakes this process's outbox worker. */
  wake: () => void;
}

/** Ids decoded from the input's global ids (null when one is malformed or of another type). */
export interface SendIds {
  sessionId: string | null;
  chatId: string | null;
  replyToMessageId: string | null;
}

/** The session a viewer sends through: NOT_FOUND unless visible, INVALID_STATE unless CONNECTED. */
export async function sendingSession(prisma: Prisma, viewer: Viewer, sessionId: string | null, opts: { connected?: boolean } = {}) {
  if (!sessionId) throw new NotFoundError('Session');
  // NOT_FOUND unless visible; a read-only token may not send.
  assertCanAct(viewer, sessionId);
  const session = await prisma.whatsAppSession.findUnique({ where: { id: sessionId } });
  if (!session) throw new NotFoundError('Session');
  if (opts.connected !== false && session.status !== 'CONNECTED') {
    throw invalidStateError(session.status, `Cannot send through a session that is ${session.status}: connect it first`);
  }
  return session;
}

export function createOutboxService(deps: OutboxServiceDeps) {
  const { prisma, clock, inbox } = deps;

  function parse(raw: Record<string, unknown>): SendMessageInput {
    const parsed = SendMessageInput.safeParse(raw);
    const issues = [...(parsed.success ? [] : parsed.error.issues), ...combinationIssues(raw)];
    if (issues.length || !parsed.success) throw badInputFromIssues(issues);
    return parsed.data;
  }

  async function byIdempotencyKey(sessionId: string, key: string | null | undefined) {
    return key ? prisma.message.findUnique({ where: { sessionId_idempotencyKey: { sessionId, idempotencyKey: key } } }) : null;
  }

  return {
    /**
     * Queues one message; resolves to it (PENDING, or as it is now for a repeated idempotency key).
     * Validation failures store nothing.
     */
    async send(viewer: Viewer, raw: Record<string, unknown>, ids: SendIds): Promise<Message> {
      const input = parse(raw);
      const { field, mediaUrl } = contentOf(input);
      const urlProblem = mediaUrl ? await mediaUrlProblem(mediaUrl, { production: deps.production, resolve: deps.resolveHost }) : null;
      if (urlProblem) throw new BadUserInputError({ [`${field}.url`]: urlProblem });
      // A repeated key answers whatever the session's state now.
      const session = await sendingSession(prisma, viewer, ids.sessionId, { connected: false });
      const repeated = await byIdempotencyKey(session.id, input.idempotencyKey);
      if (repeated) return repeated;
      await sendingSession(prisma, viewer, session.id);

      const fields: Record<string, string> = {};
      const chat = input.chatId ? (ids.chatId ? await prisma.chat.findUnique({ where: { id: ids.chatId } }) : null) : null;
      if (input.chatId && (!chat || chat.sessionId !== session.id)) fields.chatId = 'is not a chat of this session';
      const remoteJid = chat ? chat.remoteJid : phoneJidOf(input.to!);
      let replyTo: Pick<Message, 'providerMessageId' | 'providerMsgId'> | null = null;
      if (input.replyToMessageId) {
        const target = ids.replyToMessageId ? await prisma.message.findUnique({ where: { id: ids.replyToMessageId }, include: { chat: { select: { remoteJid: true } } } }) : null;
        if (!target || target.sessionId !== session.id || target.chat.remoteJid !== remoteJid) fields.replyToMessageId = 'is not a message of this chat';
        else replyTo = target;
      }
      if (Object.keys(fields).length) throw new BadUserInputError(fields);

      // The provider takes a phone for a person and a JID for a group (or a chat known only by its lid).
      const to = chat ? (chat.isGroup || !chat.phoneNumber ? chat.remoteJid : chat.phoneNumber) : input.to!;
      const body = bodyOf(input);
      // The provider quotes by its own msgId, which only messages sent through it have.
      const payload = { ...body, ...(replyTo?.providerMsgId ? { replyTo: Number(replyTo.providerMsgId) } : {}) };
      const now = new Date(clock.now());

      let result: { message: Message; created: boolean };
      try {
        result = await prisma.$transaction(async (tx) => {
          // Under the inbox's lock: the message's cursor follows commit order, and one of two
          // simultaneous calls with the same key finds the other's message.
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(${MESSAGE_SEQ_LOCK})`;
          const existing = input.idempotencyKey
            ? await tx.message.findUnique({ where: { sessionId_idempotencyKey: { sessionId: session.id, idempotencyKey: input.idempotencyKey } } })
            : null;
          if (existing) return { message: existing, created: false };
          const message = await insertOutbound(tx, {
            sessionId: session.id,
            chatId: chat?.id ?? null,
            remoteJid,
            phone: input.to ?? null,
            stored: storedOf(body),
            replyToProviderId: replyTo?.providerMessageId ?? null,
            idempotencyKey: input.idempotencyKey ?? null,
            now,
          });
          await tx.outboxMessage.create({ data: { sessionId: session.id, messageId: message.id, to, payload, nextAttemptAt: now } });
          await ensureOutboxState(tx, session.id, now);
          return { message, created: true };
        });
      } catch (error) {
        // The unique index settles what the lock did not (it never should): the winner's message.
        const winner = isUniqueViolation(error) ? await byIdempotencyKey(session.id, input.idempotencyKey) : null;
        if (winner) return winner;
        throw error;
      }
      if (result.created) {
        inbox.publishMessage('updated', result.message);
        inbox.publishChat({ id: result.message.chatId, sessionId: session.id });
        deps.wake();
      }
      return result.message;
    },
  };
}

export type OutboxService = ReturnType<typeof createOutboxService>;
