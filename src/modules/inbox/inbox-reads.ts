/**
 * The inbox's reads for many parents at once, in plain SQL: a page of chats for each of a list of
 * sessions (one statement, a `LATERAL` top-N per session read from the inbox-order index), and
 * messages by id. Rows come back as Prisma's models would (Date, bigint, parsed JSON), with exactly
 * the columns the GraphQL types read, so their resolvers are property reads. Prisma's relation
 * loading built the JSON of every chat and its last message in the database and parsed it again
 * here, which was most of the inbox's first screen's cost.
 */
import type { Prisma } from '../../lib/database.ts';
import type { Prisma as PrismaTypes } from '../../generated/prisma/client.ts';
import type { MessageDirection, MessageKind, MessageStatus } from '../../generated/prisma/enums.ts';

export interface ChatRow {
  id: string;
  sessionId: string;
  remoteJid: string;
  phoneNumber: string | null;
  name: string | null;
  isGroup: boolean;
  unreadCount: number;
  lastMessageAt: Date | null;
  lastMessageId: string | null;
  /** Its place in the inbox's order. */
  lastMessageSeq: bigint | null;
}

export interface MessageRow {
  id: string;
  seq: bigint;
  direction: MessageDirection;
  kind: MessageKind;
  status: MessageStatus;
  text: string | null;
  content: PrismaTypes.JsonValue | null;
  fromJid: string;
  senderName: string | null;
  senderPhone: string | null;
  timestamp: Date;
  providerMessageId: string | null;
  replyToProviderId: string | null;
  editedAt: Date | null;
  deletedAt: Date | null;
}

/** The columns a Chat is read with (its GraphQL type's selection, and what its last message is found by). */
export const CHAT_COLUMNS = ['id', 'sessionId', 'remoteJid', 'phoneNumber', 'name', 'isGroup', 'unreadCount', 'lastMessageAt', 'lastMessageId'] as const;
/** The columns a Message is read with (its GraphQL type's selection; never the raw payload). */
export const MESSAGE_COLUMNS = [
  'id', 'seq', 'direction', 'kind', 'status', 'text', 'content', 'fromJid', 'senderName', 'senderPhone', 'timestamp',
  'providerMessageId', 'replyToProviderId', 'editedAt', 'deletedAt',
] as const;

const columns = (alias: string, names: readonly string[]) => names.map((n) => `${alias}."${n}"`).join(', ');

/** One page of each session's chats, in the inbox's order: latest message first, then newest id. */
export interface ChatPageQuery {
  /** Rows to read: positive reads forward from the cursor, negative backward (a connection's `take`). */
  take: number;
  /** The chat whose position the page starts after (forward) or ends before (backward); null from the start or end. */
  cursor: string | null;
  unreadOnly: boolean;
}

/*
 * The cursor chat's position in the inbox's order (`lastMessageSeq DESC NULLS LAST, id DESC`):
 * rows after it, or before it. A cursor chat that is not the session's gives an empty page.
 */
const AFTER_CURSOR = `(k.seq IS NULL AND c."lastMessageSeq" IS NULL AND c.id < k.id)
  OR (k.seq IS NOT NULL AND (c."lastMessageSeq" IS NULL OR c."lastMessageSeq" < k.seq OR (c."lastMessageSeq" = k.seq AND c.id < k.id)))`;
const BEFORE_CURSOR = `(k.seq IS NULL AND (c."lastMessageSeq" IS NOT NULL OR c.id > k.id))
  OR (k.seq IS NOT NULL AND (c."lastMessageSeq" > k.seq OR (c."lastMessageSeq" = k.seq AND c.id > k.id)))`;
const FORWARD = 'c."lastMessageSeq" DESC NULLS LAST, c.id DESC';
const BACKWARD = 'c."lastMessageSeq" ASC NULLS FIRST, c.id ASC';

/** Each session's page of chats, in the inbox's order (a backward page too), by session id. */
export async function chatPages(prisma: Prisma, sessionIds: string[], page: ChatPageQuery): Promise<Map<string, ChatRow[]>> {
  const backward = page.take < 0;
  const conditions = ['c."sessionId" = s.id'];
  if (page.unreadOnly) conditions.push('c."unreadCount" > 0');
  if (page.cursor !== null) conditions.push(`(${backward ? BEFORE_CURSOR : AFTER_CURSOR})`);
  const cursorRow = page.cursor !== null ? `, (SELECT "lastMessageSeq" AS seq, id FROM chats WHERE id = $3::uuid AND "sessionId" = s.id) k` : '';
  const order = backward ? BACKWARD : FORWARD;
  const rows = await prisma.$queryRawUnsafe<ChatRow[]>(
    `SELECT c.* FROM unnest($1::uuid[]) AS s(id)
       CROSS JOIN LATERAL (
         SELECT ${columns('c', CHAT_COLUMNS)}, c."lastMessageSeq" FROM chats c${cursorRow}
          WHERE ${conditions.join(' AND ')}
          ORDER BY ${order}
          LIMIT $2
       ) c
      ORDER BY c."sessionId", ${order}`,
    sessionIds,
    Math.abs(page.take),
    ...(page.cursor !== null ? [page.cursor] : []),
  );
  const pages = new Map<string, ChatRow[]>(sessionIds.map((id) => [id, []]));
  for (const chat of rows) pages.get(chat.sessionId)!.push(chat);
  // A backward page is read nearest the cursor first; a connection lists it in the inbox's order.
  if (backward) for (const list of pages.values()) list.reverse();
  return pages;
}

/** Messages by id (those that exist). */
export async function messagesById(prisma: Prisma, ids: string[]): Promise<Map<string, MessageRow>> {
  const rows = await prisma.$queryRawUnsafe<MessageRow[]>(
    `SELECT ${columns('m', MESSAGE_COLUMNS)} FROM messages m WHERE m.id = ANY($1::uuid[])`,
    ids,
  );
  return new Map(rows.map((m) => [m.id, m]));
}
