/**
 * The inbox's reads for many parents at once, in plain SQL: a page of chats for each of a list of
 * sessions with each chat's last message (one statement, a `LATERAL` top-N per session read from
 * the inbox-order index), and messages by id. One statement, not one per level: on PostgreSQL each
 * round trip costs CPU. Rows come back as Prisma's models would (Date, bigint, parsed JSON), shaped
 * once into the objects the GraphQL types read, so their resolvers are property reads; a page reads
 * only the columns its request selects (on the embedded database, handing each value over from
 * PGlite costs more than finding it). Prisma's relation loading built the JSON of every chat and
 * its last message in the database and parsed it again here, which was most of the first screen's cost.
 */
import type { PlainSql } from '../../lib/plain-sql.ts';
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

/** A chat of a page: the columns its request selects, and its last message when that was read with it. */
export interface PageChat extends ChatRow {
  lastMessage?: MessageRow | null;
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

export type ChatColumn = keyof ChatRow;
export type MessageColumn = keyof MessageRow;
/** What every page's chat carries: its id, where it belongs, its place in the order, its last message's id. */
const CHAT_KEYS: readonly ChatColumn[] = ['id', 'sessionId', 'lastMessageId', 'lastMessageSeq'];
/** Every column of a message a GraphQL Message reads (never the raw payload). */
export const MESSAGE_COLUMNS: readonly MessageColumn[] = [
  'id', 'seq', 'direction', 'kind', 'status', 'text', 'content', 'fromJid', 'senderName', 'senderPhone', 'timestamp',
  'providerMessageId', 'replyToProviderId', 'editedAt', 'deletedAt',
];

const columns = (alias: string, names: readonly string[], prefix = '') => names.map((n) => `${alias}."${n}"${prefix ? ` AS "${prefix}${n}"` : ''}`).join(', ');
/** The last message's columns beside the chat's, named apart. */
const LAST = 'last.';

/** One page of each session's chats, in the inbox's order: latest message first, then newest id. */
export interface ChatPageQuery {
  /** Rows to read: positive reads forward from the cursor, negative backward (a connection's `take`). */
  take: number;
  /** The chat whose position the page starts after (forward) or ends before (backward); null from the start or end. */
  cursor: string | null;
  unreadOnly: boolean;
  /** The chat columns to read beside its keys. */
  chatColumns: readonly ChatColumn[];
  /** The last message's columns beside its id, or null to leave it out. */
  lastMessageColumns: readonly MessageColumn[] | null;
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

export interface InboxReads {
  /** Each session's page of chats with their last messages, in the inbox's order (a backward page too), by session id. */
  chatPages(sessionIds: string[], page: ChatPageQuery): Promise<Map<string, PageChat[]>>;
  /** Messages by id (those that exist). */
  messagesById(ids: string[]): Promise<Map<string, MessageRow>>;
}

/*
 * Straight through the driver: Prisma's raw queries handle every value of every row on their way
 * (about 2 ms for a first screen's 100 chats, ten times the statement's own cost).
 */
export function createInboxReads({ sql }: { sql: PlainSql }): InboxReads {
  return { chatPages: (sessionIds, page) => chatPages(sql, sessionIds, page), messagesById: (ids) => messagesById(sql, ids) };
}

async function chatPages(sql: PlainSql, sessionIds: string[], page: ChatPageQuery): Promise<Map<string, PageChat[]>> {
  const backward = page.take < 0;
  const conditions = ['c."sessionId" = s.id'];
  if (page.unreadOnly) conditions.push('c."unreadCount" > 0');
  if (page.cursor !== null) conditions.push(`(${backward ? BEFORE_CURSOR : AFTER_CURSOR})`);
  const cursorRow = page.cursor !== null ? `, (SELECT "lastMessageSeq" AS seq, id FROM chats WHERE id = $3::uuid AND "sessionId" = s.id) k` : '';
  const order = backward ? BACKWARD : FORWARD;
  const chatColumns = [...new Set([...CHAT_KEYS, ...page.chatColumns])];
  const messageColumns = page.lastMessageColumns && [...new Set<MessageColumn>(['id', ...page.lastMessageColumns])];
  const rows = await sql.read<Record<string, unknown>>(
    `SELECT c.*${messageColumns ? `, ${columns('m', messageColumns, LAST)}` : ''} FROM unnest($1::uuid[]) AS s(id)
       CROSS JOIN LATERAL (
         SELECT ${columns('c', chatColumns)} FROM chats c${cursorRow}
          WHERE ${conditions.join(' AND ')}
          ORDER BY ${order}
          LIMIT $2
       ) c
       ${messageColumns ? 'LEFT JOIN messages m ON m.id = c."lastMessageId"' : ''}
      ORDER BY c."sessionId", ${order}`,
    [sessionIds, Math.abs(page.take), ...(page.cursor !== null ? [page.cursor] : [])],
  );
  const pages = new Map<string, PageChat[]>(sessionIds.map((id) => [id, []]));
  for (const row of rows) {
    const chat = {} as Record<string, unknown>;
    for (const name of chatColumns) chat[name] = row[name];
    if (messageColumns) {
      let lastMessage: Record<string, unknown> | null = null;
      if (row[`${LAST}id`] !== null) {
        lastMessage = {};
        for (const name of messageColumns) lastMessage[name] = row[`${LAST}${name}`];
      }
      chat.lastMessage = lastMessage;
    }
    pages.get(chat.sessionId as string)!.push(chat as unknown as PageChat);
  }
  // A backward page is read nearest the cursor first; a connection lists it in the inbox's order.
  if (backward) for (const list of pages.values()) list.reverse();
  return pages;
}

async function messagesById(sql: PlainSql, ids: string[]): Promise<Map<string, MessageRow>> {
  const rows = await sql.read<MessageRow>(`SELECT ${columns('m', MESSAGE_COLUMNS)} FROM messages m WHERE m.id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((m) => [m.id, m]));
}
