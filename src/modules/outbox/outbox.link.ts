/**
 * Our own sends and the provider's echoes of them. A send is stored before its WhatsApp id
 * (`key.id`) is known: the provider answers with its own `msgId`, and the key comes from the
 * message's info or from a webhook (`message.sent`, `messages.upsert` with `fromMe`), in any order.
 * A fromMe event whose key we do not know is first offered here: if it is one of our sends in that
 * chat that left without learning its key, the send takes the key (and no second message is made).
 * Links are made by the inbox's `adoptKey`, whoever learns the key first.
 */
import type { MessageKind } from '../../generated/prisma/enums.ts';

interface Executor {
  $queryRawUnsafe<T>(query: string, ...values: unknown[]): Promise<T>;
}

/** How long a send that left and has not learnt its key holds back unmatched fromMe events of its chat. */
export const LINK_WAIT_MS = 60_000;

export interface OwnEcho {
  id: string;
  chatJid: string;
  kind: MessageKind;
  text: string | null;
}

export type LinkOutcome =
  /** The event is this send of ours (its message id): it takes the key. */
  | { match: string }
  /** A send of that chat is about to learn its key: apply the event later. */
  | { wait: true }
  /** Not ours (sent from the phone or another client). */
  | { none: true };

/** Raised to have a fromMe event applied again shortly (the webhook processor retries it). */
export class OwnSendNotLinkedYet extends Error {
  constructor(sessionId: string, keyId: string) {
    super(`fromMe message ${keyId} of session ${sessionId} may be one of our sends still learning its WhatsApp id; applied again shortly`);
    this.name = 'OwnSendNotLinkedYet';
  }
}

/**
 * Links a fromMe event to the oldest unlinked send of its chat with the same kind and text (the
 * session's sends leave one at a time, in order). `nowMs` is the service clock's time.
 */
export async function linkOwnEcho(db: Executor, sessionId: string, echo: OwnEcho, nowMs: number): Promise<LinkOutcome> {
  const candidates = await db.$queryRawUnsafe<{ id: string; kind: MessageKind; text: string | null; outboxStatus: string; attemptedAtMs: number | null }[]>(
    // attemptedAt holds UTC: the epoch of the bare timestamp is right whatever the connection's zone.
    `SELECT m.id, m.kind, m.text, o.status AS "outboxStatus", (extract(epoch FROM o."attemptedAt") * 1000)::float8 AS "attemptedAtMs"
     FROM messages m
     JOIN outbox_messages o ON o."messageId" = m.id
     JOIN chats c ON c.id = m."chatId"
     WHERE m."sessionId" = $1::uuid AND m."providerMessageId" IS NULL AND m.status <> 'FAILED'
       AND o.status IN ('SENDING', 'SENT', 'UNKNOWN') AND c."remoteJid" = $2
     ORDER BY o.seq`,
    sessionId,
    echo.chatJid,
  );
  if (candidates.length === 0) return { none: true };
  const match = candidates.find((c) => c.kind === echo.kind && (c.text ?? '') === (echo.text ?? ''));
  if (match) return { match: match.id };
  // Content that reads differently from ours (the provider may word it otherwise): wait while a
  // send of that chat is still learning its key from the provider, so it is not stored twice.
  const learning = candidates.some(
    (c) => c.outboxStatus === 'SENDING' || (c.outboxStatus === 'SENT' && c.attemptedAtMs !== null && nowMs - Number(c.attemptedAtMs) < LINK_WAIT_MS),
  );
  return learning ? { wait: true } : { none: true };
}
