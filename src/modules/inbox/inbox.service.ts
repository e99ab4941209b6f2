/**
 * The inbox: messages, chats and contacts kept true from the provider's events, and the read side
 * of the live feed. Messages are written in batches under one lock so that the ordered cursor (seq)
 * is assigned in commit order: a reader that has seen seq N has seen every message before it.
 */
import type { Clock } from '../../lib/clock.ts';
import { bulkInsert, bulkInsertSql } from '../../lib/bulk-insert.ts';
import { SQL_UTC_NOW, type Prisma } from '../../lib/database.ts';
import type { PlainSql, RawExecutor } from '../../lib/plain-sql.ts';
import { NotFoundError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { AppPubSub, MessageEvent } from '../../lib/pubsub.ts';
import type { MessageStatus, MessageKind } from '../../generated/prisma/enums.ts';
import type { Message } from '../../generated/prisma/client.ts';
import type { InboundMessage, MessageKey } from '../../provider/webhook-events.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import type { SessionService } from '../sessions/session.service.ts';
import { assertCanAct, canSeeSession, type Viewer } from '../auth/viewer.ts';
import { createIdentityResolver, identityOf, isLidJid, mergeLidPairs, phoneJidOf, rememberLidsSql, type MergeOutcome } from './identity.ts';
import { linkOwnEcho, OwnSendNotLinkedYet } from '../outbox/outbox.link.ts';
import { deliverySeconds, deliverySecondsSql } from '../monitoring/delivery-seconds.ts';
import { recomputeTurns, turnsAtChatEnds } from '../monitoring/response-turns.ts';
import { MESSAGE_COLUMNS, type MessageRow } from './inbox-reads.ts';
import { createJustReceived } from './just-received.ts';

/** Serialises message inserts (see above); any constant shared by all processes. */
export const MESSAGE_SEQ_LOCK = 7_301_001;

/** Delivery statuses only move forward; FAILED and READ/PLAYED end the line. */
export const STATUS_RANK: Record<MessageStatus, number> = { PENDING: 0, SENT: 1, RECEIVED: 1, DELIVERED: 2, READ: 3, PLAYED: 4, FAILED: 5 };
/** The same ranks, in SQL, of a status column or expression. */
export function statusRankSql(status: string) {
  return `(CASE ${status} ${Object.entries(STATUS_RANK)
    .map(([name, rank]) => `WHEN '${name}' THEN ${rank}`)
    .join(' ')} END)`;
}

/** Each delivery milestone's time column and the statuses that reach it: set once, when first reached. */
const MILESTONES = {
  sentAt: ['SENT', 'DELIVERED', 'READ', 'PLAYED'],
  deliveredAt: ['DELIVERED', 'READ', 'PLAYED'],
  readAt: ['READ', 'PLAYED'],
  failedAt: ['FAILED'],
} as const satisfies Record<string, readonly MessageStatus[]>;

/** SET items stamping the milestones that `status` (an SQL expression) reaches on `row`, and the delivery time they make. */
function milestonesSql(status: string, row: string) {
  const reachedValue = (column: keyof typeof MILESTONES) =>
    `CASE WHEN ${status} IN (${MILESTONES[column].map((s) => `'${s}'`).join(', ')}) THEN COALESCE(${row}."${column}", ${SQL_UTC_NOW}) ELSE ${row}."${column}" END`;
  return [
    ...Object.keys(MILESTONES).map((column) => `"${column}" = ${reachedValue(column as keyof typeof MILESTONES)}`),
    `"deliverySeconds" = ${deliverySecondsSql(reachedValue('sentAt'), reachedValue('deliveredAt'))}`,
  ].join(', ');
}

/** The same for a Prisma update of `message` to `status`. */
function milestones(message: Pick<Message, keyof typeof MILESTONES>, status: MessageStatus, now: Date) {
  const reached: Partial<Record<keyof typeof MILESTONES, Date>> = Object.fromEntries(
    Object.entries(MILESTONES)
      .filter(([column, statuses]) => (statuses as readonly MessageStatus[]).includes(status) && !message[column as keyof typeof MILESTONES])
      .map(([column]) => [column, now]),
  );
  return { ...reached, deliverySeconds: deliverySeconds(reached.sentAt ?? message.sentAt, reached.deliveredAt ?? message.deliveredAt) };
}

/** A delivery status reported for one of the session's messages (by WhatsApp's message id). */
export interface StatusChange {
  id: string;
  status: MessageStatus;
}

export interface ChatUpsert {
  jid: string;
  name?: string | null;
  unreadCount?: number | null;
  conversationTimestampMs?: number | null;
}

export interface ContactUpsert {
  jid: string;
  phone?: string | null;
  lid?: string | null;
  name?: string | null;
  notify?: string | null;
  verifiedName?: string | null;
  imgUrl?: string | null;
}

function isGroupJid(jid: string) {
  return jid.endsWith('@g.us');
}

function phoneOfUserJid(jid: string): string | null {
  const m = /^(\d{6,15})@s\.whatsapp\.net$/.exec(jid);
  return m ? `+${m[1]}` : null;
}

/** JSON text for a jsonb parameter (null stays SQL NULL). */
function jsonOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** What we keep of a message's content besides its text, by kind. */
function contentOf(m: InboundMessage): object | undefined {
  if (m.media) return { media: m.media };
  if (m.location) return { location: m.location };
  if (m.contact) return { contact: m.contact };
  if (m.poll) return { poll: m.poll };
  return undefined;
}

export function createInboxService(deps: {
  prisma: Prisma;
  /** Plain SQL for what webhooks apply in bulk (messages, delivery statuses). */
  sql: PlainSql;
  pubsub: AppPubSub;
  clock: Clock;
  logger: Logger;
  provider: WasenderClient;
  sessions: SessionService;
}) {
  const { prisma, pubsub, logger } = deps;
  const identities = createIdentityResolver(deps);
  const justReceived = createJustReceived();

  function publishMessage(topic: 'received' | 'updated', m: Pick<Message, 'id' | 'sessionId' | 'chatId' | 'seq'>) {
    const event: MessageEvent = { id: m.id, sessionId: m.sessionId, chatId: m.chatId, seq: m.seq.toString() };
    if (topic === 'received') {
      pubsub.publish('messageReceived', m.sessionId, event);
      pubsub.publish('chatMessageReceived', m.chatId, event);
      pubsub.publish('anyMessageReceived', event);
    } else {
      justReceived.forget(m.id);
      pubsub.publish('messageUpdated', m.sessionId, event);
      pubsub.publish('chatMessageUpdated', m.chatId, event);
      pubsub.publish('anyMessageUpdated', event);
    }
  }

  function publishChat(chat: { id: string; sessionId: string }) {
    const event = { id: chat.id, sessionId: chat.sessionId };
    pubsub.publish('chatUpdated', chat.sessionId, event);
    pubsub.publish('anyChatUpdated', event);
  }

  function publishChatDeleted(chat: { id: string; sessionId: string }) {
    const event = { id: chat.id, sessionId: chat.sessionId };
    pubsub.publish('chatDeleted', chat.sessionId, event);
    pubsub.publish('anyChatDeleted', event);
  }

  /**
   * Applies a change to an existing message (status, edit, deletion), computed from the row as it is:
   * the row is locked while the change is made, so concurrent changes apply one after the other.
   */
  async function updateMessage(sessionId: string, providerMessageId: string, change: (m: Message) => object | null) {
    const result = await prisma.$transaction(async (tx) => {
      const [locked] = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM messages WHERE "sessionId" = ${sessionId}::uuid AND "providerMessageId" = ${providerMessageId} FOR UPDATE`;
      if (!locked) return null;
      const message = await tx.message.findUniqueOrThrow({ where: { id: locked.id } });
      const data = change(message);
      if (!data) return { message, changed: false };
      return { message: await tx.message.update({ where: { id: message.id }, data }), changed: true };
    });
    if (result?.changed) publishMessage('updated', result.message);
    return result?.message ?? null;
  }

  /** Changes a message's `content` in one statement (jsonb operators): no concurrent change is lost. */
  async function updateContent(sessionId: string, providerMessageId: string, newContent: (content: string) => string, params: unknown[]) {
    // $1 session, $2 provider message id; the expression's own parameters follow.
    const content = `(CASE WHEN jsonb_typeof(content) = 'object' THEN content ELSE '{}'::jsonb END)`;
    const [updated] = await prisma.$queryRawUnsafe<{ id: string; chatId: string; seq: bigint | number | string }[]>(
      `UPDATE messages SET content = ${newContent(content)}, "updatedAt" = ${SQL_UTC_NOW}
       WHERE "sessionId" = $1::uuid AND "providerMessageId" = $2
       RETURNING id, "chatId", seq`,
      sessionId,
      providerMessageId,
      ...params,
    );
    if (updated) publishMessage('updated', { id: updated.id, sessionId, chatId: updated.chatId, seq: BigInt(updated.seq) });
  }

  function publishMerge(sessionId: string, merged: MergeOutcome) {
    for (const id of merged.deletedChatIds) publishChatDeleted({ id, sessionId });
    for (const id of merged.updatedChatIds) publishChat({ id, sessionId });
  }

  /** A lid↔phone pair learnt outside a message batch: merged under the same lock as message inserts. */
  async function mergePair(sessionId: string, lid: string, phoneJid: string) {
    // Contact lists arrive in bulk: take the shared lock only when something is kept under the lid.
    const [kept] = await prisma.$queryRaw<unknown[]>`
      SELECT 1 FROM chats WHERE "sessionId" = ${sessionId}::uuid AND "remoteJid" = ${lid}
      UNION ALL SELECT 1 FROM contacts WHERE "sessionId" = ${sessionId}::uuid AND jid = ${lid} LIMIT 1`;
    if (!kept) return;
    const merged = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${MESSAGE_SEQ_LOCK})`;
      return mergeLidPairs(tx, sessionId, new Map([[lid, phoneJid]]));
    });
    publishMerge(sessionId, merged);
  }

    /**
   * Our send learnt its WhatsApp id (from the provider's message info or logs): stored unless the
   * message already has one or another message holds it, with any status that came first.
   */
  async function adoptKey(sessionId: string, messageId: string, providerMessageId: string): Promise<boolean> {
    const [linked] = await prisma.$queryRawUnsafe<{ id: string; chatId: string; seq: bigint | number | string }[]>(
      `UPDATE messages SET "providerMessageId" = $2, "updatedAt" = ${SQL_UTC_NOW}
       WHERE id = $1::uuid AND "providerMessageId" IS NULL
         AND NOT EXISTS (SELECT 1 FROM messages x WHERE x."sessionId" = $3::uuid AND x."providerMessageId" = $2)
       RETURNING id, "chatId", seq`,
      messageId,
      providerMessageId,
      sessionId,
    );
    if (!linked) return false;
    await takePendingStatuses(prisma, sessionId, [providerMessageId]);
    publishMessage('updated', { id: linked.id, sessionId, chatId: linked.chatId, seq: BigInt(linked.seq) });
    return true;
  }

  /**
   * A fromMe message we do not know may be one of our own sends that has not learnt its WhatsApp id
   * yet (outbox.link.ts): then that send takes the id, and `linked` is true. Throws to be applied
   * again shortly while such a send is still learning it.
   */
  async function linkOwnSend(sessionId: string, m: InboundMessage, chatJid: string): Promise<boolean> {
    const known = await prisma.message.findUnique({ where: { sessionId_providerMessageId: { sessionId, providerMessageId: m.id } }, select: { id: true } });
    if (known) return false;
    const outcome = await linkOwnEcho(prisma, sessionId, { id: m.id, chatJid, kind: m.kind, text: m.text }, deps.clock.now());
    if ('wait' in outcome) throw new OwnSendNotLinkedYet(sessionId, m.id);
    if ('none' in outcome) return false;
    if (await adoptKey(sessionId, outcome.match, m.id)) return true;
    // Another message took that id meanwhile (the send's own info answer): look again shortly.
    throw new OwnSendNotLinkedYet(sessionId, m.id);
  }

  async function applyMessages(sessionId: string, items: InboundMessage[]) {
    // Edits, deletions and reactions change earlier messages rather than adding one.
    const fresh: InboundMessage[] = [];
    for (const m of items) {
      if (m.edit) await updateMessage(sessionId, m.edit.targetId, () => ({ text: m.edit!.text, editedAt: new Date(m.timestampMs) }));
      else if (m.revokedId) await updateMessage(sessionId, m.revokedId, (old) => (old.deletedAt ? null : { deletedAt: new Date(m.timestampMs) }));
      else if (m.reaction) await applyReaction(sessionId, { id: m.reaction.targetId, remoteJid: m.chatJid, fromMe: false, participant: null }, m.reaction.text, m.senderJid ?? m.remoteJid);
      else if (m.fromMe && (await linkOwnSend(sessionId, m, m.chatJid))) {
        // Our own send echoed back: it went out.
        await updateMessage(sessionId, m.id, (old) => (STATUS_RANK[old.status] < STATUS_RANK.SENT ? { status: 'SENT', ...milestones(old, 'SENT', new Date(deps.clock.now())) } : null));
      } else fresh.push(m);
    }
    // Keyed by the phone JID wherever the person's lid↔phone pair is known (resolved here, as it
    // may ask the provider, which no transaction should wait on).
    const pairs = await identities.resolve(sessionId, fresh);
    const unique = [...new Map(fresh.map((m) => [m.id, m])).values()].map((m) => {
      const who = identityOf(m, pairs);
      return { ...m, chatJid: who.chatJid, senderPhone: who.senderPhone, contactJid: who.contactJid };
    });
    if (unique.length === 0) return;

    const result = await deps.sql.transaction(async (tx) => {
      const merged = await mergeLidPairs(tx, sessionId, pairs, { rememberLids: false });
      // Contacts for 1:1 senders (groups: the participant), then chats: one statement with the lids
      // remembered and whether delivery statuses wait for these messages.
      const contacts = new Map<string, { jid: string; phoneNumber: string | null; pushName: string | null; lid: string | null }>();
      for (const m of unique) {
        if (m.fromMe || !m.contactJid) continue;
        contacts.set(m.contactJid, { jid: m.contactJid, phoneNumber: m.senderPhone, pushName: m.pushName, lid: m.senderLid });
      }
      const firstByChat = new Map<string, (typeof unique)[number]>();
      for (const m of unique) if (!firstByChat.has(m.chatJid)) firstByChat.set(m.chatJid, m);
      const chatsOfBatch = [...firstByChat].map(([jid, first]) => {
        const group = isGroupJid(jid);
        return {
          jid,
          group,
          phoneNumber: group ? null : (phoneOfUserJid(jid) ?? (first.fromMe ? null : first.senderPhone)),
          name: group || first.fromMe ? null : first.pushName,
        };
      });
      const params: unknown[] = [];
      const p = (value: unknown) => `$${params.push(value)}`;
      const contactsSql = bulkInsertSql(
        {
          table: 'contacts',
          rows: [...contacts.values()],
          shared: { sessionId: { type: 'uuid', value: sessionId } },
          columns: {
            jid: { type: 'text', value: (c) => c.jid },
            phoneNumber: { type: 'text', value: (c) => c.phoneNumber },
            pushName: { type: 'text', value: (c) => c.pushName },
            lid: { type: 'text', value: (c) => c.lid },
          },
          conflictOn: ['sessionId', 'jid'],
        },
        params,
      );
      const chatsSql = bulkInsertSql(
        {
          table: 'chats',
          rows: chatsOfBatch,
          shared: { sessionId: { type: 'uuid', value: sessionId } },
          columns: {
            remoteJid: { type: 'text', value: (c) => c.jid },
            isGroup: { type: 'boolean', value: (c) => c.group },
            phoneNumber: { type: 'text', value: (c) => c.phoneNumber },
            name: { type: 'text', value: (c) => c.name },
          },
          conflictOn: ['sessionId', 'remoteJid'],
          returning: ['id', 'remoteJid'],
        },
        params,
      );
      const rememberSql = pairs.size ? rememberLidsSql(sessionId, pairs, params) : null;
      const session = p(sessionId);
      const jids = p(chatsOfBatch.map((c) => c.jid));
      const messageIds = p(unique.map((m) => m.id));
      // One snapshot for the whole statement: the chats it inserts are returned by the insert (with
      // no messages yet), the others by the select, with their last message in time order (what a
      // new message's turn follows; no other writer adds messages while this lock is held).
      const found = await tx.$queryRawUnsafe<{ id: string; remoteJid: string; pending: boolean; lastDirection: string | null; lastAt: Date | null }[]>(
        `WITH added_contacts AS (${contactsSql}),
         ${rememberSql ? `remembered AS (${rememberSql}),` : ''}
         added_chats AS (${chatsSql}),
         waiting AS (SELECT EXISTS (SELECT 1 FROM pending_message_statuses
           WHERE "sessionId" = ${session}::uuid AND "providerMessageId" = ANY(${messageIds}::text[])) AS pending)
         SELECT c.id, c."remoteJid", waiting.pending, NULL::text AS "lastDirection", NULL::timestamp(3) AS "lastAt" FROM added_chats c, waiting
         UNION ALL
         SELECT c.id, c."remoteJid", waiting.pending, last.direction::text, last.timestamp
         FROM chats c CROSS JOIN waiting
         LEFT JOIN LATERAL (
           SELECT m.direction, m.timestamp FROM messages m WHERE m."chatId" = c.id ORDER BY m.timestamp DESC, m.seq DESC LIMIT 1) last ON true
         WHERE c."sessionId" = ${session}::uuid AND c."remoteJid" = ANY(${jids}::text[])`,
        ...params,
      );
      const chatByJid = new Map(found.map((c) => [c.remoteJid, c.id]));
      const lastOfChat = new Map(found.map((c) => [c.id, c.lastDirection ? { direction: c.lastDirection, atMs: new Date(c.lastAt!).getTime() } : null]));
      if (chatsOfBatch.some((c) => !chatByJid.has(c.jid))) {
        // Inserted by another transaction after this statement's snapshot: read again.
        const again = await tx.$queryRawUnsafe<{ id: string; remoteJid: string }[]>(
          `SELECT id, "remoteJid" FROM chats WHERE "sessionId" = $1::uuid AND "remoteJid" = ANY($2::text[])`,
          sessionId,
          chatsOfBatch.map((c) => c.jid),
        );
        for (const c of again) chatByJid.set(c.remoteJid, c.id);
      }
      const pending = found.some((c) => c.pending);
      // Inbound messages at their chats' ends (the usual case) are inserted with their turn columns.
      const chatOfMessage = unique.map((m) => chatByJid.get(m.chatJid)!);
      const turns = turnsAtChatEnds(unique.map((m, i) => ({ chatId: chatOfMessage[i]!, inbound: !m.fromMe, atMs: new Date(m.timestampMs).getTime() })), lastOfChat);
      const startsTurn = new Set([...turns.starts].map((i) => unique[i]));

      // Messages already stored (a redelivery) are skipped by the unique key and not returned. Every
      // touched chat's last message and unread count are set in the same statement: its latest new
      // message (time, then commit order) becomes the last unless an older one arrived late, and
      // replying from the phone (an outbound latest) reads the chat there.
      const messageParams: unknown[] = [];
      const messagesSql = bulkInsertSql<(typeof unique)[number]>(
        {
          table: 'messages',
          rows: unique,
          shared: { sessionId: { type: 'uuid', value: sessionId } },
          columns: {
            chatId: { type: 'uuid', value: (m) => chatByJid.get(m.chatJid)! },
            direction: { type: 'text', castTo: '"MessageDirection"', value: (m) => (m.fromMe ? 'OUTBOUND' : 'INBOUND') },
            kind: { type: 'text', castTo: '"MessageKind"', value: (m) => m.kind },
            status: { type: 'text', castTo: '"MessageStatus"', value: (m) => (m.fromMe ? 'SENT' : 'RECEIVED') },
            sentAt: { type: 'timestamp(3)', value: (m) => (m.fromMe ? new Date(m.timestampMs).toISOString() : null) },
            providerMessageId: { type: 'text', value: (m) => m.id },
            fromJid: { type: 'text', value: (m) => (m.fromMe ? 'me' : (m.senderJid ?? m.remoteJid)) },
            senderPhone: { type: 'text', value: (m) => (m.fromMe ? null : m.senderPhone) },
            senderName: { type: 'text', value: (m) => (m.fromMe ? null : m.pushName) },
            text: { type: 'text', value: (m) => m.text },
            content: { type: 'jsonb', value: (m) => jsonOrNull(contentOf(m)) },
            replyToProviderId: { type: 'text', value: (m) => m.quotedMessageId },
            raw: { type: 'jsonb', value: (m) => jsonOrNull(m.raw) },
            timestamp: { type: 'timestamp(3)', value: (m) => new Date(m.timestampMs).toISOString() },
            startsTurn: { type: 'boolean', value: (m) => startsTurn.has(m) },
          },
          conflictOn: ['sessionId', 'providerMessageId'],
          // What the live feed reads of a new message (MESSAGE_COLUMNS), so it need not read it back.
          returning: [...new Set(['chatId', ...MESSAGE_COLUMNS])],
        },
        messageParams,
      );
      const newer = `(c."lastMessageAt" IS NULL OR l."timestamp" >= c."lastMessageAt")`;
      const inserted = (
        await tx.$queryRawUnsafe<(Omit<MessageRow, 'seq'> & { seq: bigint | number | string; chatId: string })[]>(
          `WITH inserted AS (${messagesSql}),
           latest AS (
             SELECT DISTINCT ON ("chatId") "chatId", id, seq, "timestamp", direction,
               count(*) FILTER (WHERE direction = 'INBOUND') OVER (PARTITION BY "chatId")::int AS inbound
             FROM inserted ORDER BY "chatId", "timestamp" DESC, seq DESC),
           chats_updated AS (
             UPDATE chats c SET
               "lastMessageAt" = CASE WHEN ${newer} THEN l."timestamp" ELSE c."lastMessageAt" END,
               "lastMessageId" = CASE WHEN ${newer} THEN l.id ELSE c."lastMessageId" END,
               "lastMessageSeq" = CASE WHEN ${newer} THEN l.seq ELSE c."lastMessageSeq" END,
               "unreadCount" = CASE WHEN ${newer} AND l.direction = 'OUTBOUND' THEN 0 ELSE c."unreadCount" + l.inbound END,
               "updatedAt" = ${SQL_UTC_NOW}
             FROM latest l WHERE c.id = l."chatId")
           SELECT * FROM inserted`,
          ...messageParams,
        )
      )
        .map(({ chatId, ...r }) => ({ id: r.id, sessionId, chatId, direction: r.direction, seq: BigInt(r.seq), timestamp: new Date(r.timestamp), row: { ...r, seq: BigInt(r.seq) } }))
        .sort((a, b) => (a.seq < b.seq ? -1 : 1));
      const pendingTaken = inserted.length > 0 && pending;
      if (pendingTaken) await takePendingStatuses(tx, sessionId, unique.map((m) => m.id));
      // A message of a settled chat already stored (a redelivery) was not inserted, so the turns
      // were reckoned from the wrong neighbour: that chat is computed again too.
      const perChat = (chatIds: string[]) => chatIds.reduce((n, id) => n.set(id, (n.get(id) ?? 0) + 1), new Map<string, number>());
      const added = perChat(chatOfMessage);
      const stored = perChat(inserted.map((m) => m.chatId));
      const unsettled = inserted.filter((m) => turns.recompute.has(m.chatId) || stored.get(m.chatId) !== added.get(m.chatId));
      await recomputeTurns(tx, unsettled.map((m) => ({ chatId: m.chatId, since: m.timestamp })));
      const touched = [...new Set(inserted.map((m) => m.chatId))].map((id) => ({ id, sessionId }));
      return { inserted, touched, merged, pendingTaken };
    }, { advisoryLock: MESSAGE_SEQ_LOCK });
    for (const id of result.merged.deletedChatIds) publishChatDeleted({ id, sessionId });
    for (const m of result.inserted) {
      // A delivery status taken in the same transaction changed the row after it was returned.
      if (m.direction === 'INBOUND' && !result.pendingTaken) justReceived.keep(m.row);
      publishMessage(m.direction === 'INBOUND' ? 'received' : 'updated', m);
    }
    const touchedIds = new Set(result.touched.map((c) => c.id));
    for (const id of result.merged.updatedChatIds) if (!touchedIds.has(id)) publishChat({ id, sessionId });
    for (const chat of result.touched) publishChat(chat);
  }

  /**
   * Delivery statuses that came before their messages, applied to the messages just inserted (in the
   * inserting transaction, so each is published once, already carrying its status).
   */
  async function takePendingStatuses(tx: Pick<RawExecutor, '$executeRawUnsafe'>, sessionId: string, providerMessageIds: string[]) {
    await tx.$executeRawUnsafe(
      `WITH taken AS (
         DELETE FROM pending_message_statuses
         WHERE "sessionId" = $1::uuid AND "providerMessageId" = ANY($2::text[])
         RETURNING "providerMessageId" AS pid, status)
       UPDATE messages m SET status = taken.status, ${milestonesSql('taken.status', 'm')}, "updatedAt" = ${SQL_UTC_NOW}
       FROM taken
       WHERE m."sessionId" = $1::uuid AND m."providerMessageId" = taken.pid
         AND ${statusRankSql('taken.status')} > ${statusRankSql('m.status')}`,
      sessionId,
      providerMessageIds,
    );
  }

  /** One reaction per sender: an empty text takes the sender's reaction back. */
  async function applyReaction(sessionId: string, target: MessageKey, text: string, senderJid: string) {
    if (text) {
      await updateContent(
        sessionId,
        target.id,
        (c) => `jsonb_set(${c}, '{reactions}', COALESCE(${c}->'reactions', '{}'::jsonb) || jsonb_build_object($3::text, $4::text))`,
        [senderJid, text],
      );
    } else {
      await updateContent(sessionId, target.id, (c) => `${c} #- ARRAY['reactions', $3::text]`, [senderJid]);
    }
  }

  return {
    applyMessages,
    applyReaction,
    publishMessage,
    publishChat,
    /** An inbound message this process inserted a moment ago, as the live feed reads it; undefined when not kept. */
    justReceived: (id: string) => justReceived.get(id),

    /**
     * Delivery statuses of many messages in one statement. Statuses only move forward, so of several
     * for one message the furthest counts, and none moves a message back. A status for a message we
     * do not have yet is kept until it arrives (providers reorder).
     */
    async applyStatuses(sessionId: string, changes: StatusChange[]) {
      const furthest = new Map<string, MessageStatus>();
      for (const { id, status } of changes) {
        const seen = furthest.get(id);
        if (!seen || STATUS_RANK[status] > STATUS_RANK[seen]) furthest.set(id, status);
      }
      if (furthest.size === 0) return;
      const updated = await deps.sql.$queryRawUnsafe<{ id: string; chatId: string; seq: bigint | number | string }[]>(
        `WITH u AS (SELECT * FROM unnest($2::text[], $3::text[]) AS u(pid, status)),
         kept AS (
           INSERT INTO pending_message_statuses ("sessionId", "providerMessageId", status, "receivedAt")
           SELECT $1::uuid, u.pid, u.status::"MessageStatus", ${SQL_UTC_NOW} FROM u
           WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m."sessionId" = $1::uuid AND m."providerMessageId" = u.pid)
           ON CONFLICT ("sessionId", "providerMessageId") DO UPDATE SET status = EXCLUDED.status, "receivedAt" = EXCLUDED."receivedAt"
           WHERE ${statusRankSql('EXCLUDED.status')} > ${statusRankSql('pending_message_statuses.status')})
         UPDATE messages m SET status = u.status::"MessageStatus", ${milestonesSql('u.status', 'm')}, "updatedAt" = ${SQL_UTC_NOW}
         FROM u
         WHERE m."sessionId" = $1::uuid AND m."providerMessageId" = u.pid
           AND ${statusRankSql('u.status')} > ${statusRankSql('m.status')}
         RETURNING m.id, m."chatId", m.seq`,
        sessionId,
        [...furthest.keys()],
        [...furthest.values()],
      );
      for (const m of updated) publishMessage('updated', { id: m.id, sessionId, chatId: m.chatId, seq: BigInt(m.seq) });
    },

    adoptKey,

    /** Drops kept delivery statuses older than the retention: their messages never came. */
    async prunePendingStatuses(retentionMs: number): Promise<number> {
      return prisma.$executeRawUnsafe(
        `DELETE FROM pending_message_statuses WHERE "receivedAt" < ${SQL_UTC_NOW} - make_interval(secs => $1)`,
        retentionMs / 1000,
      );
    },

    async applySent(sessionId: string, key: MessageKey, success: boolean, message: InboundMessage) {
      const now = new Date(deps.clock.now());
      const change = (m: Message) =>
        success
          ? STATUS_RANK[m.status] < STATUS_RANK.SENT
            ? { status: 'SENT' as const, ...milestones(m, 'SENT', now) }
            : null
          : m.status === 'FAILED'
            ? null
            : { status: 'FAILED' as const, ...milestones(m, 'FAILED', now) };
      const existing = await updateMessage(sessionId, key.id, change);
      if (existing) return;
      if (await linkOwnSend(sessionId, message, key.remoteJid)) {
        await updateMessage(sessionId, key.id, change);
        return;
      }
      // Sent from the phone or another client: it belongs in the chat too.
      await applyMessages(sessionId, [message]);
      if (!success) await updateMessage(sessionId, key.id, (m) => ({ status: 'FAILED', ...milestones(m, 'FAILED', now) }));
    },

    async applyDeleted(sessionId: string, key: MessageKey, atMs: number) {
      return updateMessage(sessionId, key.id, (m) => (m.deletedAt ? null : { deletedAt: new Date(atMs) }));
    },

    /** The provider sends the whole tally each time: it replaces the last one, and nothing else. */
    async applyPollResults(sessionId: string, key: MessageKey, results: { name: string; voters: string[] }[]) {
      await updateContent(sessionId, key.id, (c) => `${c} || jsonb_build_object('pollResults', $3::jsonb)`, [JSON.stringify(results)]);
    },

    async upsertChats(sessionId: string, chats: ChatUpsert[]) {
      for (const given of chats) {
        const c = { ...given, jid: await identities.knownJid(sessionId, given.jid) };
        const data = {
          ...(c.name ? { name: c.name } : {}),
          ...(c.unreadCount != null ? { unreadCount: c.unreadCount } : {}),
        };
        const chat = await prisma.chat.upsert({
          where: { sessionId_remoteJid: { sessionId, remoteJid: c.jid } },
          create: { sessionId, remoteJid: c.jid, isGroup: isGroupJid(c.jid), phoneNumber: phoneOfUserJid(c.jid), ...data },
          update: data,
        });
        publishChat(chat);
      }
    },

    async deleteChat(sessionId: string, lidOrJid: string) {
      const jid = await identities.knownJid(sessionId, lidOrJid);
      const gone = await prisma.$queryRaw<{ id: string }[]>`DELETE FROM chats WHERE "sessionId" = ${sessionId}::uuid AND "remoteJid" = ${jid} RETURNING id`;
      for (const chat of gone) publishChatDeleted({ id: chat.id, sessionId });
    },

    async upsertContacts(sessionId: string, contacts: ContactUpsert[]) {
      for (const given of contacts) {
        // One person, one contact: a phone contact naming its lid takes over what was kept under it.
        if (given.phone && isLidJid(given.lid)) await mergePair(sessionId, given.lid, phoneJidOf(given.phone));
        const jid = await identities.knownJid(sessionId, given.jid);
        const c = jid === given.jid ? given : { ...given, jid, lid: given.jid };
        const data = {
          ...(c.name ? { name: c.name } : {}),
          ...(c.notify ? { pushName: c.notify } : {}),
          ...(c.verifiedName ? { verifiedName: c.verifiedName } : {}),
          ...(c.imgUrl !== undefined && c.imgUrl !== null ? { imgUrl: c.imgUrl } : {}),
          ...(c.phone ? { phoneNumber: c.phone } : {}),
          ...(c.lid ? { lid: c.lid } : {}),
        };
        const contact = await prisma.contact.upsert({
          where: { sessionId_jid: { sessionId, jid: c.jid } },
          create: { sessionId, jid: c.jid, ...data },
          update: data,
        });
        // A saved name is the best chat title; the sender's own push name only fills a gap (a
        // message that came without one).
        const saved = contact.name ?? contact.verifiedName ?? null;
        const chats = await prisma.chat.findMany({ where: { sessionId, remoteJid: c.jid } });
        for (const chat of chats) {
          const title = saved ?? (chat.name ? null : contact.pushName);
          if (title && chat.name !== title) publishChat(await prisma.chat.update({ where: { id: chat.id }, data: { name: title, contactId: contact.id } }));
          else if (!chat.contactId) await prisma.chat.update({ where: { id: chat.id }, data: { contactId: contact.id } });
        }
      }
    },

    async renameGroup(sessionId: string, jid: string, subject: string | null | undefined) {
      if (!subject) return;
      await this.upsertChats(sessionId, [{ jid, name: subject }]);
    },

    /** Zeroes the unread count; tells the provider too unless it marks messages read by itself. */
    async markChatRead(viewer: Viewer, chatId: string) {
      const chat = await prisma.chat.findUnique({ where: { id: chatId }, include: { session: true } });
      if (!chat) throw new NotFoundError('Chat');
      assertCanAct(viewer, chat.sessionId, 'Chat');
      if (chat.unreadCount === 0) return chat;
      if (!chat.session.autoReadMessages) {
        const last = await prisma.message.findFirst({
          where: { chatId, direction: 'INBOUND', providerMessageId: { not: null } },
          orderBy: { seq: 'desc' },
        });
        const apiKey = deps.sessions.apiKeyOf(chat.session);
        if (last && apiKey) {
          await deps.sessions.callProvider(chat.session, 'Mark chat read', () =>
            deps.provider.session(apiKey).markRead({ id: last.providerMessageId!, remoteJid: chat.remoteJid, fromMe: false }),
          );
        }
      }
      const updated = await prisma.chat.update({ where: { id: chatId }, data: { unreadCount: 0 } });
      publishChat(updated);
      return updated;
    },

    /** Stored inbound messages after `afterSeq` matching the filter, oldest first, a page at a time. */
    async inboundAfter(filter: { sessionIds: readonly string[] | null; chatId: string | null }, afterSeq: bigint, limit: number) {
      return prisma.message.findMany({
        where: {
          direction: 'INBOUND',
          seq: { gt: afterSeq },
          ...(filter.chatId ? { chatId: filter.chatId } : {}),
          ...(filter.sessionIds ? { sessionId: { in: [...filter.sessionIds] } } : {}),
        },
        orderBy: { seq: 'asc' },
        take: limit,
      });
    },
  };
}

export type InboxService = ReturnType<typeof createInboxService>;
