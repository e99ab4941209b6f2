/**
 * The inbox's reads for many parents at once, in plain SQL: a page of chats for each of a list of
 * sessions with each chat's last message (one statement, a `LATERAL` top-N per session read from
 * the inbox-order index), and messages by id. One statement, not one per level: on PostgreSQL each
 * round trip costs CPU. Rows come back as arrays of the API's values (plain-sql.ts: timestamps as
 * printed, parsed JSON), shaped once into the objects the GraphQL types read, so their resolvers are
 * property reads; a page reads
 * only the columns its request selects (on the embedded database, handing each value over from
 * PGlite costs more than finding it). Prisma's relation loading built the JSON of every chat and
 * its last message in the database and parsed it again here, which was most of the first screen's cost.
 */
import type { Instant } from '../../lib/iso-instant.ts';
import { rowObjects, type PlainSql } from '../../lib/plain-sql.ts';
import { sessionColumns, sessionPageSql, type SessionPageQuery, type SessionRow } from '../sessions/session-reads.ts';
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
  lastMessageAt: Instant | null;
  lastMessageId: string | null;
}

/** A chat of a page: the columns its request selects, and its last message when that was read with it. */
export interface PageChat extends ChatRow {
  lastMessage?: MessageRow | null;
}

/** A message as the types read it: read here, its seq as text and timestamps as printed; kept after an insert, as Prisma gives them. */
export interface MessageRow {
  id: string;
  seq: bigint | string;
  direction: MessageDirection;
  kind: MessageKind;
  status: MessageStatus;
  text: string | null;
  content: PrismaTypes.JsonValue | null;
  fromJid: string;
  senderName: string | null;
  senderPhone: string | null;
  timestamp: Instant;
  providerMessageId: string | null;
  replyToProviderId: string | null;
  editedAt: Instant | null;
  deletedAt: Instant | null;
}

export type ChatColumn = keyof ChatRow;
export type MessageColumn = keyof MessageRow;
/** What every page's chat carries: its id, where it belongs, its last message's id. */
const CHAT_KEYS: readonly ChatColumn[] = ['id', 'sessionId', 'lastMessageId'];
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

/** A page of sessions, each with its page of chats: the inbox's first screen in one statement. */
export interface SessionsWithChatPages {
  /** The sessions' rows, oldest first, as `SessionReads.sessionPage` gives them. */
  sessions: SessionRow[];
  /** Each session's page of chats, as `chatPages` gives it, by session id. */
  chatPages: Map<string, PageChat[]>;
}

export interface InboxReads {
  /** Each session's page of chats with their last messages, in the inbox's order (a backward page too), by session id. */
  chatPages(sessionIds: string[], page: ChatPageQuery): Promise<Map<string, PageChat[]>>;
  /** A page of sessions and each one's page of chats, in one statement (one round trip, one statement's fixed cost). */
  sessionsWithChatPages(sessions: SessionPageQuery, chats: ChatPageQuery): Promise<SessionsWithChatPages>;
  /** Messages by id (those that exist). */
  messagesById(ids: string[]): Promise<Map<string, MessageRow>>;
}

/*
 * Straight through the driver: Prisma's raw queries handle every value of every row on their way
 * (about 2 ms for a first screen's 100 chats, ten times the statement's own cost).
 */
export function createInboxReads({ sql }: { sql: PlainSql }): InboxReads {
  return {
    chatPages: (sessionIds, page) => chatPages(sql, sessionIds, page),
    sessionsWithChatPages: (sessions, chats) => sessionsWithChatPages(sql, sessions, chats),
    messagesById: (ids) => messagesById(sql, ids),
  };
}

/**
 * What a page's statement reads: the chat's keys and the columns asked for, and its last message's
 * id and columns; and which of the chat's it returns (`shipped`): not those a row gives otherwise
 * (the last message's id beside the last message; the session's id beside the session's columns),
 * each value returned costs its parsing (and on the embedded database its JSON).
 */
function pageColumns(page: ChatPageQuery, withSessions: boolean) {
  const chatColumns = [...new Set([...CHAT_KEYS, ...page.chatColumns])];
  const messageColumns = page.lastMessageColumns && [...new Set<MessageColumn>(['id', ...page.lastMessageColumns])];
  const given = new Set<ChatColumn>([...(messageColumns ? ['lastMessageId' as const] : []), ...(withSessions ? ['sessionId' as const] : [])]);
  return { chatColumns, messageColumns, shipped: chatColumns.filter((c) => !given.has(c)) };
}
type PageColumns = ReturnType<typeof pageColumns>;

/**
 * The chats of the session `s.id` (of the statement around it) on the page, as a `LATERAL`
 * subquery `c` with the last message `m` joined after it; its values pushed onto `values`.
 */
function chatPageSql(page: ChatPageQuery, { chatColumns, messageColumns, shipped }: PageColumns, values: unknown[]) {
  const backward = page.take < 0;
  const conditions = ['c."sessionId" = s.id'];
  if (page.unreadOnly) conditions.push('c."unreadCount" > 0');
  if (page.cursor !== null) conditions.push(`(${backward ? BEFORE_CURSOR : AFTER_CURSOR})`);
  const cursorRow = page.cursor !== null ? `, (SELECT "lastMessageSeq" AS seq, id FROM chats WHERE id = $${values.push(page.cursor)}::uuid AND "sessionId" = s.id) k` : '';
  const order = backward ? BACKWARD : FORWARD;
  return {
    select: `${columns('c', shipped)}${messageColumns ? `, ${columns('m', messageColumns, LAST)}` : ''}`,
    // Its place in the order is read for the order of the statement around it, not returned.
    lateral: `(
         SELECT c."lastMessageSeq", ${columns('c', chatColumns)} FROM chats c${cursorRow}
          WHERE ${conditions.join(' AND ')}
          ORDER BY ${order}
          LIMIT $${values.push(Math.abs(page.take))}
       ) c`,
    join: messageColumns ? 'LEFT JOIN messages m ON m.id = c."lastMessageId"' : '',
    order,
  };
}

/** Where a page's values sit in its statement's rows, found once per statement from its columns. */
function pageIndexes(columns: string[], { messageColumns, shipped }: PageColumns) {
  const at = (name: string) => columns.indexOf(name);
  return {
    chat: shipped.map(at),
    lastMessageId: messageColumns ? at(`${LAST}id`) : -1,
    message: messageColumns ? messageColumns.map((name) => at(`${LAST}${name}`)) : [],
  };
}
type PageIndexes = ReturnType<typeof pageIndexes>;

/** A row of a page's statement as the chat the types read, with its last message when the page reads it. */
function chatOf(row: unknown[], { messageColumns, shipped }: PageColumns, at: PageIndexes, sessionId: string | null): PageChat {
  const chat = {} as Record<string, unknown>;
  for (let i = 0; i < shipped.length; i++) chat[shipped[i]!] = row[at.chat[i]!];
  if (sessionId !== null) chat.sessionId = sessionId;
  if (messageColumns) {
    let lastMessage: Record<string, unknown> | null = null;
    if (row[at.lastMessageId] !== null) {
      lastMessage = {};
      for (let i = 0; i < messageColumns.length; i++) lastMessage[messageColumns[i]!] = row[at.message[i]!];
    }
    chat.lastMessage = lastMessage;
    chat.lastMessageId = lastMessage ? lastMessage.id : null;
  }
  return chat as unknown as PageChat;
}

/** A backward page is read nearest the cursor first; a connection lists it in the inbox's order. */
function inInboxOrder(pages: Map<string, PageChat[]>, page: ChatPageQuery) {
  if (page.take < 0) for (const list of pages.values()) list.reverse();
  return pages;
}

async function chatPages(sql: PlainSql, sessionIds: string[], page: ChatPageQuery): Promise<Map<string, PageChat[]>> {
  const values: unknown[] = [sessionIds];
  const read = pageColumns(page, false);
  const chats = chatPageSql(page, read, values);
  const { columns, rows } = await sql.read(
    `SELECT ${chats.select} FROM unnest($1::uuid[]) AS s(id)
       CROSS JOIN LATERAL ${chats.lateral}
       ${chats.join}
      ORDER BY c."sessionId", ${chats.order}`,
    values,
  );
  const at = pageIndexes(columns, read);
  const sessionIdAt = columns.indexOf('sessionId');
  const pages = new Map<string, PageChat[]>(sessionIds.map((id) => [id, []]));
  for (const row of rows) pages.get(row[sessionIdAt] as string)!.push(chatOf(row, read, at, null));
  return inInboxOrder(pages, page);
}

/** A session's columns beside its chats', named apart. */
const SESSION = 'session.';

async function sessionsWithChatPages(sql: PlainSql, sessionPage: SessionPageQuery, page: ChatPageQuery): Promise<SessionsWithChatPages> {
  const values: unknown[] = [];
  const sessionColumnNames = sessionColumns(sessionPage);
  const sessionsSql = sessionPageSql(sessionPage, values);
  const read = pageColumns(page, true);
  const chats = chatPageSql(page, read, values);
  // A session without chats on the page is one row with no chat (LEFT JOIN ... ON true).
  const result = await sql.read(
    `SELECT ${columns('s', sessionColumnNames, SESSION)}, ${chats.select} FROM (${sessionsSql}) s
       LEFT JOIN LATERAL ${chats.lateral} ON true
       ${chats.join}
      ORDER BY s.id, ${chats.order}`,
    values,
  );
  const at = pageIndexes(result.columns, read);
  const sessionAt = sessionColumnNames.map((name) => result.columns.indexOf(`${SESSION}${name}`));
  const chatIdAt = result.columns.indexOf('id');
  const sessions: SessionRow[] = [];
  const pages = new Map<string, PageChat[]>();
  let chatsOfSession: PageChat[] = [];
  let sessionId: string | null = null;
  for (const row of result.rows) {
    if (row[sessionAt[0]!] !== sessionId) {
      sessionId = row[sessionAt[0]!] as string;
      const session = {} as Record<string, unknown>;
      for (let i = 0; i < sessionColumnNames.length; i++) session[sessionColumnNames[i]!] = row[sessionAt[i]!];
      sessions.push(session as unknown as SessionRow);
      pages.set(sessionId, (chatsOfSession = []));
    }
    if (row[chatIdAt] !== null) chatsOfSession.push(chatOf(row, read, at, sessionId));
  }
  return { sessions, chatPages: inInboxOrder(pages, page) };
}

async function messagesById(sql: PlainSql, ids: string[]): Promise<Map<string, MessageRow>> {
  const rows = rowObjects<MessageRow>(await sql.read(`SELECT ${columns('m', MESSAGE_COLUMNS)} FROM messages m WHERE m.id = ANY($1::uuid[])`, [ids]));
  return new Map(rows.map((m) => [m.id, m]));
}
