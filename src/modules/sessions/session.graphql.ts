import { prismaConnectionHelpers } from '@pothos/plugin-prisma';
import QRCode from 'qrcode';
import { builder } from '../../graphql/builder.ts';
import { cursorUuid, parseGlobalId, toGlobalId } from '../../graphql/ids.ts';
import { ownProperty } from '../../graphql/own-property.ts';
import { pageConnection } from '../../graphql/page-connection.ts';
import { columnsOf, connectionNodes, ownSelections, perSelection, selectedNames } from '../../graphql/selected-fields.ts';
import type { SessionColumn, SessionPageQuery, SessionRow } from './session-reads.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { filterEvents, type PubSubChannels } from '../../lib/pubsub.ts';
import type { Context } from '../../context.ts';
import { canSeeSession, type Viewer } from '../auth/viewer.ts';
import { availableActions } from './session.rules.ts';
import { SessionLogType } from '../../generated/prisma/enums.ts';
import type { GraphQLResolveInfo } from 'graphql';

export const SessionStatusEnum = builder.enumType('SessionStatus', {
  description: 'Where a session is in its life cycle.',
  values: {
    DISCONNECTED: { description: 'Not connected; connect to get a QR code.' },
    CONNECTING: { description: 'The phone scanned the QR code; the link is being established.' },
    QR_READY: { description: 'Waiting for the phone to scan the current QR code.' },
    CONNECTED: { description: 'Linked: messages flow.' },
    LOGGED_OUT: { description: 'The phone logged the session out; connect again to relink.' },
    EXPIRED: { description: 'The provider invalidated the session; connect again.' },
  } as const,
});

export const SessionActionEnum = builder.enumType('SessionAction', {
  description: 'Actions the current status allows.',
  values: ['CONNECT', 'DISCONNECT', 'RESTART', 'DELETE'] as const,
});

const SessionLogTypeEnum = builder.enumType('SessionLogType', {
  description: 'Kinds of session log entries.',
  // One vocabulary: the database's enum.
  values: Object.values(SessionLogType),
});

export interface QrCodeShape {
  value: string;
  expiresAt: Date;
}

export const QrCodeRef = builder.objectRef<QrCodeShape>('QrCode').implement({
  description: 'A QR code for linking the phone (WhatsApp → Settings → Linked Devices).',
  fields: (t) => ({
    value: t.exposeString('value', { description: 'The raw string the phone scans.' }),
    dataUrl: t.string({
      description: 'The QR as a PNG image data URL ("data:image/png;base64,…").',
      resolve: (qr) => QRCode.toDataURL(qr.value, { errorCorrectionLevel: 'M', margin: 2, width: 300 }),
    }),
    svg: t.string({
      description: 'The QR as an SVG document.',
      resolve: (qr) => QRCode.toString(qr.value, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When this QR stops being valid.' }),
  }),
});

builder.prismaNode('SessionLog', {
  id: { field: 'id' },
  description: 'An entry of a session\'s event log.',
  fields: (t) => ({
    type: t.expose('type', { type: SessionLogTypeEnum, description: 'What happened.' }),
    message: t.exposeString('message', { description: 'A human-readable account of it.' }),
    status: t.expose('status', { type: SessionStatusEnum, nullable: true, description: 'The session status at the time.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
  }),
});

/*
 * Sessions always select their own columns (never a secret's ciphertext) and read them with plain
 * resolvers (a field exposed in select mode would look up its selection for every row), marked as
 * reads of their own property so that they run as none (own-property.ts). No type-level auth scope:
 * every field of a type with one runs it for every row, and no operation runs without a viewer
 * (yoga.ts refuses it before execution), as for chats and messages.
 */
export const WhatsAppSessionRef = builder.prismaNode('WhatsAppSession', {
  id: { field: 'id' },
  select: {
    id: true, name: true, phoneNumber: true, status: true, accountProtection: true, logMessages: true, autoReadMessages: true,
    autoRejectCalls: true, webhookUrl: true, providerSessionId: true, lastConnectedAt: true, createdAt: true, updatedAt: true,
  },
  description: 'One WhatsApp number run through the provider.',
  fields: (t) => ({
    name: t.string({ description: 'A name for people, e.g. "Sales".', resolve: (s) => s.name, ...ownProperty('name') }),
    phoneNumber: t.string({ description: 'E.164, e.g. "+255712345678".', resolve: (s) => s.phoneNumber, ...ownProperty('phoneNumber') }),
    status: t.field({ type: SessionStatusEnum, description: 'Current status.', resolve: (s) => s.status, ...ownProperty('status') }),
    availableActions: t.field({ type: [SessionActionEnum], description: 'What the current status allows.', resolve: (s) => availableActions(s.status) }),
    accountProtection: t.boolean({ description: 'The provider paces sends to 1 per 5 seconds to protect the number.', resolve: (s) => s.accountProtection, ...ownProperty('accountProtection') }),
    logMessages: t.boolean({ description: 'The provider keeps message logs (needed to resend).', resolve: (s) => s.logMessages, ...ownProperty('logMessages') }),
    autoReadMessages: t.boolean({ description: 'Incoming messages are marked read automatically.', resolve: (s) => s.autoReadMessages, ...ownProperty('autoReadMessages') }),
    autoRejectCalls: t.boolean({ description: 'Incoming calls are rejected automatically.', resolve: (s) => s.autoRejectCalls, ...ownProperty('autoRejectCalls') }),
    webhookUrl: t.string({ nullable: true, description: 'Where the provider posts this session\'s events.', resolve: (s) => s.webhookUrl, ...ownProperty('webhookUrl') }),
    providerSessionId: t.string({ nullable: true, description: 'The provider\'s own id, for support requests.', resolve: (s) => s.providerSessionId, ...ownProperty('providerSessionId') }),
    lastConnectedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it last became connected.', resolve: (s) => s.lastConnectedAt, ...ownProperty('lastConnectedAt') }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was created.', resolve: (s) => s.createdAt, ...ownProperty('createdAt') }),
    updatedAt: t.field({ type: 'DateTime', description: 'When it last changed.', resolve: (s) => s.updatedAt, ...ownProperty('updatedAt') }),
    qrCode: t.field({
      type: QrCodeRef,
      nullable: true,
      description: 'The current QR while the status is QR_READY and it has not expired.',
      select: { status: true, qrCode: true, qrExpiresAt: true },
      resolve: (s, _args, ctx) =>
        s.status === 'QR_READY' && s.qrCode && s.qrExpiresAt && s.qrExpiresAt.getTime() > ctx.services.clock.now()
          ? { value: s.qrCode, expiresAt: s.qrExpiresAt }
          : null,
    }),
    logs: t.relatedConnection(
      'logs',
      { description: 'The event log, newest first.', cursor: 'seq', query: () => ({ orderBy: { seq: 'desc' } }) },
      { name: 'SessionLogConnection' },
      { name: 'SessionLogEdge' },
    ),
    bulkSends: t.relatedConnection(
      'bulkSendJobs',
      // Ids are time-ordered (uuid v7): newest first without a sort column of its own.
      { description: 'Its bulk sends, newest first.', cursor: 'id', query: () => ({ orderBy: { id: 'desc' } }) },
      { name: 'BulkSendJobConnection' },
      { name: 'BulkSendJobEdge' },
    ),
  }),
});

/** A session id from a global id that the viewer may see, or NOT_FOUND. */
export function sessionIdFrom(globalId: string, viewer: Viewer | null): string {
  const id = parseGlobalId(globalId, 'WhatsAppSession');
  if (!id || !viewer || !canSeeSession(viewer, id)) throw new NotFoundError('Session');
  return id;
}

/** Per-session topics and the all-sessions topic carrying the same events. */
const SESSION_FEEDS = {
  sessionStatusChanged: 'anySessionStatusChanged',
  sessionDeleted: 'anySessionDeleted',
  chatUpdated: 'anyChatUpdated',
  chatDeleted: 'anyChatDeleted',
} as const satisfies Partial<Record<keyof PubSubChannels, keyof PubSubChannels>>;

type SessionFeedTopic = keyof typeof SESSION_FEEDS;

/**
 * The arguments, auth and source of a subscription to one session's events (by its global id, if
 * the caller may see it) or, without an id, to those of every session the caller may see: the
 * all-sessions topic filtered once per shared execution.
 */
export function sessionFeed<K extends SessionFeedTopic, Arg>(t: { arg: { id: (o: { required: false; description: string }) => Arg } }, topic: K) {
  return {
    authScopes: { authenticated: true } as const,
    args: { sessionId: t.arg.id({ required: false, description: 'One session; every session you may see when omitted.' }) },
    subscribe: (_root: unknown, args: { sessionId?: string | null }, ctx: Context) => {
      const { viewer, pubsub } = ctx;
      // One topic of a pair known at run time: the pair table ties their payload types together.
      const subscribe = pubsub.subscribe as unknown as (...topic: unknown[]) => AsyncIterable<PubSubChannels[K][1]>;
      if (args.sessionId) return subscribe(topic, sessionIdFrom(args.sessionId, viewer));
      return filterEvents(subscribe(SESSION_FEEDS[topic]), (e) => viewer !== null && canSeeSession(viewer, e.sessionId));
    },
  };
}

/*
 * The columns each field of WhatsAppSession reads, for a page that reads only what its request
 * selects. Fields not listed read none of ours: fields with a Prisma `select` and relations load what
 * they need themselves (by the row's id). A field added above with a plain resolver belongs here.
 */
const SESSION_FIELD_COLUMNS: Record<string, SessionColumn[]> = {
  name: ['name'], phoneNumber: ['phoneNumber'], status: ['status'], availableActions: ['status'], accountProtection: ['accountProtection'],
  logMessages: ['logMessages'], autoReadMessages: ['autoReadMessages'], autoRejectCalls: ['autoRejectCalls'], webhookUrl: ['webhookUrl'],
  providerSessionId: ['providerSessionId'], lastConnectedAt: ['lastConnectedAt'], createdAt: ['createdAt'], updatedAt: ['updatedAt'],
};
const sessionColumns = perSelection((info) =>
  columnsOf(selectedNames(connectionNodes(ownSelections(info.fieldNodes), info.fragments), info.fragments), SESSION_FIELD_COLUMNS),
);
const sessionConnection = prismaConnectionHelpers(builder, WhatsAppSessionRef, { cursor: 'id' });

/**
 * Reads the `sessions` page together with rows selected beneath it, in one statement, or answers
 * null when the document selects nothing it reads that way. Set by the module whose rows those are
 * (the inbox's chat pages): that module imports this one, not the other way round.
 */
export type SessionPageWithNested = (ctx: Context, info: GraphQLResolveInfo, page: SessionPageQuery) => Promise<SessionRow[]> | null;
let readWithNested: SessionPageWithNested = () => null;
export function readSessionPagesWith(reader: SessionPageWithNested) {
  readWithNested = reader;
}

builder.queryFields((t) => ({
  // Read with a statement of our own (session-reads.ts), with the page sizes of Pothos' Prisma connections and their cursors and page info (page-connection.ts).
  sessions: t.connection(
    {
      type: WhatsAppSessionRef,
      description: 'Sessions you may see, oldest first.',
      authScopes: { authenticated: true },
      args: { status: t.arg({ type: SessionStatusEnum, required: false, description: 'Only sessions in this status.' }) },
      resolve: async (root, args, ctx, info) => {
        const { take, cursor } = sessionConnection.getQuery(args, ctx, () => null);
        const page: SessionPageQuery = {
          take: take!,
          cursor: cursorUuid(cursor, args),
          visible: ctx.viewer?.sessionIds ?? null,
          status: args.status ?? null,
          columns: sessionColumns(info),
        };
        const sessions = await (readWithNested(ctx, info, page) ?? ctx.services.sessionReads.sessionPage(page));
        return pageConnection(sessions, args, page.take) as never;
      },
    },
    { name: 'WhatsAppSessionConnection' },
    { name: 'WhatsAppSessionEdge' },
  ),
  session: t.prismaField({
    type: 'WhatsAppSession',
    nullable: true,
    description: 'One session by id; NOT_FOUND when it does not exist or you may not see it.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = sessionIdFrom(args.id, ctx.viewer);
      const session = await ctx.prisma.whatsAppSession.findUnique({ ...query, where: { id } });
      if (!session) throw new NotFoundError('Session');
      return session;
    },
  }),
}));

const CreateSessionInputRef = builder.inputType('CreateSessionInput', {
  description: 'A new session. Account protection and message logging are on unless turned off.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1–100 characters.' }),
    phoneNumber: t.string({ required: true, description: 'E.164, e.g. "+255712345678".' }),
    accountProtection: t.boolean({ defaultValue: true }),
    logMessages: t.boolean({ defaultValue: true }),
    autoReadMessages: t.boolean({ defaultValue: false }),
    autoRejectCalls: t.boolean({ defaultValue: false }),
  }),
});

const UpdateSessionInputRef = builder.inputType('UpdateSessionInput', {
  description: 'Settings to change; omitted fields stay as they are.',
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    accountProtection: t.boolean(),
    logMessages: t.boolean(),
    autoReadMessages: t.boolean(),
    autoRejectCalls: t.boolean(),
  }),
});

builder.mutationFields((t) => {
  const lifecycle = (description: string, action: 'connect' | 'disconnect' | 'restart' | 'rotateApiKey') =>
    t.prismaField({
      type: 'WhatsAppSession',
      description,
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (query, _root, args, ctx) => {
        const id = sessionIdFrom(args.id, ctx.viewer);
        await ctx.services.sessions[action](id);
        return ctx.prisma.whatsAppSession.findUniqueOrThrow({ ...query, where: { id } });
      },
    });
  return {
    createSession: t.prismaField({
      type: 'WhatsAppSession',
      description: 'Creates the session at the provider (with our webhook) and here.',
      authScopes: { admin: true },
      args: { input: t.arg({ type: CreateSessionInputRef, required: true }) },
      resolve: async (query, _root, args, ctx) => {
        const session = await ctx.services.sessions.create(args.input);
        return ctx.prisma.whatsAppSession.findUniqueOrThrow({ ...query, where: { id: session.id } });
      },
    }),
    updateSession: t.prismaField({
      type: 'WhatsAppSession',
      description: 'Changes settings at the provider and here.',
      authScopes: { admin: true },
      args: { input: t.arg({ type: UpdateSessionInputRef, required: true }) },
      resolve: async (query, _root, args, ctx) => {
        const { id: globalId, ...changes } = args.input;
        const id = sessionIdFrom(globalId, ctx.viewer);
        await ctx.services.sessions.update(id, changes);
        return ctx.prisma.whatsAppSession.findUniqueOrThrow({ ...query, where: { id } });
      },
    }),
    connectSession: lifecycle('Asks the provider for a QR code; the session becomes QR_READY with qrCode set.', 'connect'),
    disconnectSession: lifecycle('Disconnects the session from WhatsApp.', 'disconnect'),
    restartSession: lifecycle('Restarts a connected session without a new scan.', 'restart'),
    regenerateSessionApiKey: lifecycle('Rotates the provider\'s API key of the session; the old key stops working.', 'rotateApiKey'),
    importProviderSessions: t.prismaField({
      type: ['WhatsAppSession'],
      description:
        'Adopts sessions that exist at the provider but not here (made in its dashboard or by another system): sets our webhook URL and events there and stores their credentials. ' +
        'With providerSessionIds, exactly those, or BAD_USER_INPUT on providerSessionIds naming each that cannot be adopted (unknown at the provider, already ours, a phone number another session uses) and nothing changed. ' +
        'Without (null or omitted), every provider session not yet ours whose number is free; an empty list adopts nothing. Returns the sessions adopted.',
      authScopes: { admin: true },
      args: { providerSessionIds: t.arg.stringList({ required: false, description: 'The provider\'s own session ids; all not yet ours when omitted.' }) },
      resolve: async (query, _root, args, ctx) => {
        const adopted = await ctx.services.sessionImport.importProviderSessions(args.providerSessionIds);
        const sessions = await ctx.prisma.whatsAppSession.findMany({ ...query, where: { id: { in: adopted.map((s) => s.id) } } });
        const order = new Map(adopted.map((s, i) => [s.id, i]));
        return sessions.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      },
    }),
    revealSessionApiKey: t.string({
      description:
        'The provider\'s own API key of the session (admins only), for tools that talk to the provider directly. Each reveal is written to the session\'s log (API_KEY_REVEALED, naming the token) and to the server log.',
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => ctx.services.sessions.revealApiKey(ctx.viewer!, sessionIdFrom(args.id, ctx.viewer)),
    }),
    deleteSession: t.field({
      type: 'ID',
      description: 'Deletes the session at the provider and here; returns its id.',
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, args, ctx) => {
        const id = sessionIdFrom(args.id, ctx.viewer);
        await ctx.services.sessions.remove(id);
        return args.id;
      },
    }),
  };
});

builder.subscriptionFields((t) => ({
  qrCodeUpdated: t.field({
    type: QrCodeRef,
    description: 'Every new QR of the session until it is connected.',
    authScopes: { authenticated: true },
    args: { sessionId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => ctx.pubsub.subscribe('qrCodeUpdated', sessionIdFrom(args.sessionId, ctx.viewer)),
    resolve: (event) => ({ value: event.value, expiresAt: new Date(event.expiresAt) }),
  }),
  sessionStatusChanged: t.prismaField({
    type: 'WhatsAppSession',
    description: 'Status changes of one session, or of every session you may see when no id is given.',
    ...sessionFeed(t, 'sessionStatusChanged'),
    resolve: async (query, event: { sessionId: string }, _args, ctx) => {
      const session = await ctx.prisma.whatsAppSession.findUnique({ ...query, where: { id: event.sessionId } });
      if (!session) throw new NotFoundError('Session');
      return session;
    },
  }),
  sessionDeleted: t.field({
    type: 'ID',
    description: 'The id of each deleted session (of one, or of every session you may see), to drop it from a list.',
    ...sessionFeed(t, 'sessionDeleted'),
    resolve: (event: { sessionId: string }) => toGlobalId('WhatsAppSession', event.sessionId),
  }),
}));
