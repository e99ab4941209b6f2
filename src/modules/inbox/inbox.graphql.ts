import { prismaConnectionHelpers } from '@pothos/plugin-prisma';
import { builder } from '../../graphql/builder.ts';
import { cursorUuid, parseGlobalId, toGlobalId } from '../../graphql/ids.ts';
import { BadUserInputError, NotFoundError } from '../../lib/errors.ts';
import { filterEvents, type MessageEvent } from '../../lib/pubsub.ts';
import type { Context } from '../../context.ts';
import type { Message } from '../../generated/prisma/client.ts';
import { canSeeSession, type Viewer } from '../auth/viewer.ts';
import { readSessionPagesWith, sessionFeed, sessionIdFrom } from '../sessions/session.graphql.ts';
import { decodeMessageCursor, encodeMessageCursor } from './cursor.ts';
import { liveAfterReplay } from './live-feed.ts';
import { publicContent } from '../media/media-content.ts';
import { requestBatch } from '../../lib/request-batch.ts';
import { pageConnection } from '../../graphql/page-connection.ts';
import type { ChatColumn, ChatPageQuery, MessageColumn, MessageRow, PageChat } from './inbox-reads.ts';
import { ownProperty } from '../../graphql/own-property.ts';
import { childFields, childSelections, columnsOf, connectionNodes, ownSelections, perSelection, selectedNames, type FieldSyntax } from '../../graphql/selected-fields.ts';
import { getArgumentValues, type FieldNode, type GraphQLObjectType } from 'graphql';

export const MessageDirectionEnum = builder.enumType('MessageDirection', {
  description: 'Whether a message came in or went out.',
  values: ['INBOUND', 'OUTBOUND'] as const,
});
export const MessageStatusEnum = builder.enumType('MessageStatus', {
  description: 'Delivery status. Inbound messages are RECEIVED.',
  values: ['PENDING', 'SENT', 'DELIVERED', 'READ', 'PLAYED', 'FAILED', 'RECEIVED'] as const,
});
export const MessageKindEnum = builder.enumType('MessageKind', {
  description: 'What a message carries.',
  values: ['TEXT', 'IMAGE', 'VIDEO', 'AUDIO', 'DOCUMENT', 'STICKER', 'LOCATION', 'CONTACT', 'POLL', 'REACTION', 'OTHER'] as const,
});

/*
 * The inbox's types always select their own columns (never a message's raw payload) and read them
 * with plain resolvers: a field exposed in select mode would look up its selection for every row,
 * which was most of the first screen's cost. Those that read their own property are marked so that
 * they run as none (own-property.ts). Relations still select what their query asks for.
 */
export const MessageRef = builder.prismaNode('Message', {
  id: { field: 'id' },
  select: {
    id: true, seq: true, direction: true, kind: true, status: true, text: true, content: true, fromJid: true, senderName: true,
    senderPhone: true, timestamp: true, providerMessageId: true, replyToProviderId: true, editedAt: true, deletedAt: true,
  },
  description: 'A WhatsApp message in or out.',
  fields: (t) => ({
    chat: t.relation('chat', { description: 'The conversation it belongs to.' }),
    session: t.relation('session', { description: 'The session it came in or went out through.' }),
    direction: t.field({ type: MessageDirectionEnum, description: 'In or out.', resolve: (m) => m.direction, ...ownProperty('direction') }),
    kind: t.field({ type: MessageKindEnum, description: 'What it carries.', resolve: (m) => m.kind, ...ownProperty('kind') }),
    status: t.field({ type: MessageStatusEnum, description: 'Delivery status.', resolve: (m) => m.status, ...ownProperty('status') }),
    text: t.string({ nullable: true, description: 'Body, caption or poll question.', resolve: (m) => m.text, ...ownProperty('text') }),
    content: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Media metadata, location, contact card or poll (by kind), and reactions. Media is fetched through `media.url`.',
      resolve: (m) => publicContent(m.content),
    }),
    fromJid: t.string({ description: 'The sender\'s WhatsApp id ("me" for our own messages).', resolve: (m) => m.fromJid, ...ownProperty('fromJid') }),
    senderName: t.string({ nullable: true, description: 'The sender\'s WhatsApp display name.', resolve: (m) => m.senderName, ...ownProperty('senderName') }),
    senderPhone: t.string({ nullable: true, description: 'The sender\'s E.164 number where known.', resolve: (m) => m.senderPhone, ...ownProperty('senderPhone') }),
    timestamp: t.field({ type: 'DateTime', description: 'When it was sent.', resolve: (m) => m.timestamp, ...ownProperty('timestamp') }),
    providerMessageId: t.string({ nullable: true, description: 'WhatsApp\'s id (key.id).', resolve: (m) => m.providerMessageId, ...ownProperty('providerMessageId') }),
    replyToProviderMessageId: t.string({ nullable: true, description: 'The WhatsApp id of the message it quotes.', resolve: (m) => m.replyToProviderId }),
    editedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was last edited.', resolve: (m) => m.editedAt, ...ownProperty('editedAt') }),
    deletedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was deleted for everyone.', resolve: (m) => m.deletedAt, ...ownProperty('deletedAt') }),
    cursor: t.string({ description: 'Opaque and ordered: resume messageReceived from here.', resolve: (m) => encodeMessageCursor(m.seq) }),
  }),
});

export const ChatRef = builder.prismaNode('Chat', {
  id: { field: 'id' },
  select: { id: true, remoteJid: true, phoneNumber: true, name: true, isGroup: true, unreadCount: true, lastMessageAt: true, lastMessageId: true },
  description: 'A conversation with one WhatsApp user, group or channel.',
  fields: (t) => ({
    session: t.relation('session', { description: 'The session it belongs to.' }),
    remoteJid: t.string({ description: 'The other side\'s WhatsApp id.', resolve: (c) => c.remoteJid, ...ownProperty('remoteJid') }),
    phoneNumber: t.string({ nullable: true, description: 'E.164 where known (an @lid chat may not know it).', resolve: (c) => c.phoneNumber, ...ownProperty('phoneNumber') }),
    name: t.string({ nullable: true, description: 'Saved name, group subject or display name.', resolve: (c) => c.name, ...ownProperty('name') }),
    isGroup: t.boolean({ description: 'A group chat.', resolve: (c) => c.isGroup, ...ownProperty('isGroup') }),
    unreadCount: t.int({ description: 'Inbound messages not yet read.', resolve: (c) => c.unreadCount, ...ownProperty('unreadCount') }),
    lastMessageAt: t.field({ type: 'DateTime', nullable: true, description: 'When the latest message was sent.', resolve: (c) => c.lastMessageAt, ...ownProperty('lastMessageAt') }),
    lastMessage: t.field({
      type: MessageRef,
      nullable: true,
      description: 'The latest message.',
      // A chat of a page came with it; one loaded elsewhere by Prisma has its id.
      resolve: (c, _args, ctx) =>
        'lastMessage' in c ? asMessage((c as PageChat).lastMessage) : c.lastMessageId ? (loadMessage(ctx, c.lastMessageId, null, '') as Promise<Message | undefined>) : null,
    }),
    messages: t.relatedConnection(
      'messages',
      {
        description: 'Messages, newest first: `first`/`after` page back in time, `last`/`before` forward.',
        cursor: 'seq',
        query: () => ({ orderBy: { seq: 'desc' } }),
      },
      { name: 'MessageConnection' },
      { name: 'MessageEdge' },
    ),
  }),
});

/*
 * A session's chats and each chat's last message are read with a statement of our own, batched
 * across every session of the request, with the page sizes of Pothos' Prisma connections and their
 * cursors and page info (page-connection.ts). A chat loaded elsewhere finds its last message by id, batched the same way.
 */
/**
 * A message row of our reads as the Message type's parent: its timestamps may be printed already
 * and its seq text, which the DateTime scalar and the cursor take as they take Prisma's values.
 */
function asMessage(row: MessageRow): Message;
function asMessage(row: MessageRow | null | undefined): Message | null;
function asMessage(row: MessageRow | null | undefined): Message | null {
  return (row ?? null) as Message | null;
}

const loadChatPage = requestBatch<Context, ChatPageQuery, string, PageChat[]>((ctx, page, sessionIds) => ctx.services.inboxReads.chatPages(sessionIds, page));
const loadMessage = requestBatch<Context, null, string, MessageRow>((ctx, _none, ids) => ctx.services.inboxReads.messagesById(ids));
const chatConnection = prismaConnectionHelpers(builder, ChatRef, { cursor: 'id' });

/*
 * The columns each field of the types above reads, for a page that reads only what its request
 * selects. Fields not listed read none of ours: relations and fields with a Prisma `select` load
 * what they need themselves (by the row's id). A field added above with a plain resolver belongs here.
 */
const CHAT_FIELD_COLUMNS: Record<string, ChatColumn[]> = {
  remoteJid: ['remoteJid'], phoneNumber: ['phoneNumber'], name: ['name'], isGroup: ['isGroup'], unreadCount: ['unreadCount'], lastMessageAt: ['lastMessageAt'],
};
const MESSAGE_FIELD_COLUMNS: Record<string, MessageColumn[]> = {
  direction: ['direction'], kind: ['kind'], status: ['status'], text: ['text'], content: ['content'], fromJid: ['fromJid'], senderName: ['senderName'],
  senderPhone: ['senderPhone'], timestamp: ['timestamp'], providerMessageId: ['providerMessageId'], replyToProviderMessageId: ['replyToProviderId'],
  editedAt: ['editedAt'], deletedAt: ['deletedAt'], cursor: ['seq'],
};
type PageColumns = Pick<ChatPageQuery, 'chatColumns' | 'lastMessageColumns'>;

/** The columns a chats connection's selection reads, of its chats and their last messages. */
const pageColumns = perSelection((info): PageColumns => {
  const nodes = connectionNodes(ownSelections(info.fieldNodes), info.fragments);
  const lastMessage = childSelections(nodes, info.fragments, 'lastMessage');
  return {
    chatColumns: columnsOf(selectedNames(nodes, info.fragments), CHAT_FIELD_COLUMNS),
    lastMessageColumns: lastMessage.length > 0 ? columnsOf(selectedNames(lastMessage, info.fragments), MESSAGE_FIELD_COLUMNS) : null,
  };
});

interface ChatsArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  unreadOnly?: boolean | null;
}

/** The page a `chats` field asks for, and the key of the pages that share its statement (same arguments and columns). */
function chatPageOf(args: ChatsArgs, ctx: Context, field: FieldSyntax): { page: ChatPageQuery; group: string } {
  const { take, cursor } = chatConnection.getQuery(args, ctx, () => null);
  const columns = pageColumns(field);
  const page: ChatPageQuery = { take: take!, cursor: cursorUuid(cursor, args), unreadOnly: args.unreadOnly === true, ...columns };
  return { page, group: `${page.take}:${page.cursor}:${page.unreadOnly}:${columns.chatColumns.join()}:${columns.lastMessageColumns?.join()}` };
}

/** Each `chats` field's page in a request: its arguments are the same for every session beneath it. */
const chatPagesByField = new WeakMap<Context, Map<FieldNode, ReturnType<typeof chatPageOf>>>();

/** The page of a `chats` field (one node: computed once per request), from its arguments when not known yet. */
function chatPageOfField(ctx: Context, field: FieldSyntax, args: () => ChatsArgs): ReturnType<typeof chatPageOf> {
  const node = field.fieldNodes.length === 1 ? field.fieldNodes[0]! : null;
  let byField = chatPagesByField.get(ctx);
  const known = node && byField?.get(node);
  if (known) return known;
  const computed = chatPageOf(args(), ctx, field);
  if (node) {
    if (!byField) chatPagesByField.set(ctx, (byField = new Map()));
    byField.set(node, computed);
  }
  return computed;
}

/** Chat pages read with their request's sessions (below), by page group and session id. */
const pagesReadWithSessions = new WeakMap<Context, Map<string, Map<string, PageChat[]>>>();

/** The `chats` field beneath a sessions connection's nodes when it is there once (one name, one page), else null. */
const chatsBeneathSessions = perSelection((info) => {
  const fields = childFields(connectionNodes(ownSelections(info.fieldNodes), info.fragments), info.fragments, 'chats');
  return fields.length === 1 ? fields[0]! : null;
});

/*
 * The inbox's first screen, `sessions { … chats { … lastMessage } }`, reads the sessions and each
 * one's page of chats in one statement: the page its `chats` field asks for is worked out here,
 * from the document and its variables, and each session's `chats` takes its page when its own
 * arguments give the same page (else it reads as below). A page that cannot be worked out here (a
 * bad cursor, say) is left to the field, which reports it where it belongs.
 */
readSessionPagesWith((ctx, info, sessionPage) => {
  const chats = chatsBeneathSessions(info);
  if (!chats) return null;
  let nested: ReturnType<typeof chatPageOf>;
  try {
    const chatsField = (info.schema.getType('WhatsAppSession') as GraphQLObjectType).getFields().chats!;
    nested = chatPageOfField(ctx, { fieldNodes: [chats], fragments: info.fragments }, () => getArgumentValues(chatsField, chats, info.variableValues) as ChatsArgs);
  } catch {
    return null;
  }
  return ctx.services.inboxReads.sessionsWithChatPages(sessionPage, nested.page).then(({ sessions, chatPages }) => {
    let groups = pagesReadWithSessions.get(ctx);
    if (!groups) pagesReadWithSessions.set(ctx, (groups = new Map()));
    // Another `sessions` of the same document (an alias) may have read pages of the same group.
    const pages = groups.get(nested.group);
    if (pages) for (const [sessionId, chats] of chatPages) pages.set(sessionId, chats);
    else groups.set(nested.group, chatPages);
    return sessions;
  });
});

builder.prismaObjectField('WhatsAppSession', 'chats', (t) =>
  t.connection(
    {
      type: ChatRef,
      description: 'Conversations, most recent message first.',
      args: { unreadOnly: t.arg.boolean({ required: false, description: 'Only chats with unread messages.' }) },
      // Synchronous when the page came with the sessions: no promise to settle for each session.
      resolve: (session, args, ctx, info) => {
        const { page, group } = chatPageOfField(ctx, info, () => args);
        const read = pagesReadWithSessions.get(ctx)?.get(group)?.get(session.id);
        if (read) return pageConnection(read, args, page.take) as never;
        return loadChatPage(ctx, session.id, page, group).then((chats) => pageConnection(chats ?? [], args, page.take) as never);
      },
    },
    { name: 'ChatConnection' },
    { name: 'ChatEdge' },
  ),
);

/** A chat id from a global id that the viewer may see, or NOT_FOUND. */
async function visibleChat(ctx: Context, globalId: string) {
  const id = parseGlobalId(globalId, 'Chat');
  const chat = id ? await ctx.prisma.chat.findUnique({ where: { id }, select: { id: true, sessionId: true } }) : null;
  if (!chat || !ctx.viewer || !canSeeSession(ctx.viewer, chat.sessionId)) throw new NotFoundError('Chat');
  return chat;
}

builder.queryField('chat', (t) =>
  t.prismaField({
    type: 'Chat',
    nullable: true,
    description: 'One chat by id; NOT_FOUND when it does not exist or you may not see it.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const chat = await visibleChat(ctx, args.id);
      return ctx.prisma.chat.findUniqueOrThrow({ ...query, where: { id: chat.id } });
    },
  }),
);

builder.mutationField('markChatRead', (t) =>
  t.prismaField({
    type: 'Chat',
    description: 'Zeroes the unread count and, unless the session reads automatically, tells WhatsApp.',
    authScopes: { agent: true },
    args: { chatId: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const chat = await visibleChat(ctx, args.chatId);
      await ctx.services.inbox.markChatRead(ctx.viewer!, chat.id);
      return ctx.prisma.chat.findUniqueOrThrow({ ...query, where: { id: chat.id } });
    },
  }),
);

/** Which topic carries the events a subscriber asked for, and its access filter. */
async function messageFeed(ctx: Context, args: { sessionId?: string | null; chatId?: string | null }) {
  const viewer = ctx.viewer as Viewer;
  const chat = args.chatId ? await visibleChat(ctx, args.chatId) : null;
  const sessionId = args.sessionId ? sessionIdFrom(args.sessionId, viewer) : null;
  if (chat && sessionId && chat.sessionId !== sessionId) throw new NotFoundError('Chat');
  return { viewer, chat, sessionId };
}

type FeedItem = MessageEvent | Message;

/*
 * Replayed rows are complete already; live events carry only ids. A live event is read once for
 * every subscriber of its subscription, by our own statement (the columns every Message field
 * reads; relations load themselves), not Prisma's per-query work; a message this process has just
 * received is answered from its inserted row.
 */
async function resolveFeedItem(ctx: Context, item: FeedItem, received: boolean): Promise<Message> {
  if ('timestamp' in item) return item;
  const message = (received ? ctx.services.inbox.justReceived(item.id) : undefined) ?? (await ctx.services.inboxReads.messagesById([item.id])).get(item.id);
  if (!message) throw new NotFoundError('Message');
  return asMessage(message);
}

builder.subscriptionFields((t) => ({
  messageReceived: t.field({
    type: MessageRef,
    description:
      'Inbound messages. With `after` (a Message.cursor): first every stored inbound message after it, in order, then live ones; none twice, none skipped.',
    authScopes: { authenticated: true },
    args: {
      sessionId: t.arg.id({ required: false }),
      chatId: t.arg.id({ required: false }),
      after: t.arg.string({ required: false }),
    },
    subscribe: async (_root, args, ctx) => {
      const { viewer, chat, sessionId } = await messageFeed(ctx, args);
      const afterSeq = args.after != null ? decodeMessageCursor(args.after) : null;
      if (args.after != null && afterSeq === null) throw new BadUserInputError({ after: 'is not a message cursor' });
      const live: AsyncIterable<MessageEvent> = chat
        ? ctx.pubsub.subscribe('chatMessageReceived', chat.id)
        : sessionId
          ? ctx.pubsub.subscribe('messageReceived', sessionId)
          : filterEvents(ctx.pubsub.subscribe('anyMessageReceived'), (e) => canSeeSession(viewer, e.sessionId));
      if (afterSeq === null) return live;
      const sessionIds = sessionId ? [sessionId] : chat ? [chat.sessionId] : viewer.sessionIds;
      return liveAfterReplay<FeedItem>({
        live,
        seqOf: (item) => BigInt(item.seq),
        replayPage: (after, limit) => ctx.services.inbox.inboundAfter({ sessionIds, chatId: chat?.id ?? null }, after, limit),
        after: afterSeq,
      });
    },
    resolve: (item: FeedItem, _args, ctx) => resolveFeedItem(ctx, item, true),
  }),
  messageUpdated: t.field({
    type: MessageRef,
    description: 'Changes to messages (delivery status, edits, deletions, reactions) and our own outgoing messages.',
    authScopes: { authenticated: true },
    args: { sessionId: t.arg.id({ required: false }), chatId: t.arg.id({ required: false }) },
    subscribe: async (_root, args, ctx) => {
      const { viewer, chat, sessionId } = await messageFeed(ctx, args);
      return chat
        ? ctx.pubsub.subscribe('chatMessageUpdated', chat.id)
        : sessionId
          ? ctx.pubsub.subscribe('messageUpdated', sessionId)
          : filterEvents(ctx.pubsub.subscribe('anyMessageUpdated'), (e) => canSeeSession(viewer, e.sessionId));
    },
    resolve: (item: MessageEvent, _args, ctx) => resolveFeedItem(ctx, item, false),
  }),
  chatUpdated: t.prismaField({
    type: 'Chat',
    description: 'Chats whose unread count, last message or name changed.',
    ...sessionFeed(t, 'chatUpdated'),
    resolve: async (query, event: { id: string }, _args, ctx) => {
      const chat = await ctx.prisma.chat.findUnique({ ...query, where: { id: event.id } });
      if (!chat) throw new NotFoundError('Chat');
      return chat;
    },
  }),
  chatDeleted: t.field({
    type: 'ID',
    description: 'The id of each chat removed (deleted on the phone), to drop it from an inbox list.',
    ...sessionFeed(t, 'chatDeleted'),
    resolve: (event: { id: string }) => toGlobalId('Chat', event.id),
  }),
}));
