import { builder } from '../../graphql/builder.ts';
import { BadUserInputError } from '../../lib/errors.ts';
import { MessageDirectionEnum, MessageKindEnum, MessageStatusEnum } from '../inbox/inbox.graphql.ts';
import { E164 } from '../sessions/session.schemas.ts';
import { SessionStatusEnum, sessionIdFrom } from '../sessions/session.graphql.ts';
import type { SessionHealth } from './monitoring.service.ts';

const AnalyticsBucketEnum = builder.enumType('AnalyticsBucket', {
  description: 'The length of each point of an analytics series (UTC, counted from `from`).',
  values: ['HOUR', 'DAY'] as const,
});

const DisconnectCountRef = builder.objectRef<{ status: string; count: number }>('DisconnectCount').implement({
  description: 'Connections lost, by the status the session went to.',
  fields: (t) => ({
    status: t.field({ type: SessionStatusEnum, description: 'DISCONNECTED, LOGGED_OUT or EXPIRED (or a step of relinking).', resolve: (d) => d.status as never }),
    count: t.exposeInt('count', { description: 'How many times.' }),
  }),
});

const ProviderErrorCountRef = builder.objectRef<{ code: string; count: number }>('ProviderErrorCount').implement({
  description: 'Failed provider calls of one kind.',
  fields: (t) => ({
    code: t.exposeString('code', {
      description: 'What went wrong: UNAUTHORIZED, SESSION_LIMIT, NOT_FOUND, VALIDATION, REFUSED, RATE_LIMITED, INVALID_STATE, UNAVAILABLE, TIMEOUT, BAD_RESPONSE or UNKNOWN.',
    }),
    count: t.exposeInt('count', { description: 'How many calls (attempts).' }),
  }),
});

const SessionHealthRef = builder.objectRef<SessionHealth>('SessionHealth').implement({
  description:
    'How a session (or every session you may see) did over a window: connection uptime, delivery, response times and errors. Message figures count the messages whose time falls in the window.',
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime', description: 'Start of the window (inclusive).' }),
    to: t.expose('to', { type: 'DateTime', description: 'End of the window (exclusive).' }),
    uptimePercent: t.exposeFloat('uptimePercent', {
      description: 'Share of the window spent CONNECTED, 0–100 (a streak begun before the window counts from its start; time after now does not count). Over several sessions: the share of their combined time.',
    }),
    connectedSince: t.expose('connectedSince', {
      type: 'DateTime',
      nullable: true,
      description: 'Start of the connected streak running at the end of the window; null when not connected then, or over several sessions.',
    }),
    disconnects: t.exposeInt('disconnects', { description: 'Times a connection was lost in the window.' }),
    disconnectsByStatus: t.field({ type: [DisconnectCountRef], description: 'The same, by the status the session went to.', resolve: (h) => h.disconnectsByStatus }),
    sent: t.exposeInt('sent', { description: 'Outbound messages that left (reached SENT or beyond).' }),
    delivered: t.exposeInt('delivered', { description: 'Outbound messages delivered (or read).' }),
    read: t.exposeInt('read', { description: 'Outbound messages read (or played).' }),
    failed: t.exposeInt('failed', { description: 'Outbound messages that failed.' }),
    deliveryRate: t.exposeFloat('deliveryRate', { nullable: true, description: 'delivered / sent, 0–1; null when nothing was sent.' }),
    readRate: t.exposeFloat('readRate', { nullable: true, description: 'read / sent, 0–1; null when nothing was sent.' }),
    medianDeliverySeconds: t.exposeFloat('medianDeliverySeconds', { nullable: true, description: 'Median time from sent to delivered.' }),
    p90DeliverySeconds: t.exposeFloat('p90DeliverySeconds', { nullable: true, description: '90th percentile of the time from sent to delivered.' }),
    medianResponseSeconds: t.exposeFloat('medianResponseSeconds', {
      nullable: true,
      description: 'Median time from a customer\'s message (the first of their turn) to our first reply in that chat.',
    }),
    p90ResponseSeconds: t.exposeFloat('p90ResponseSeconds', { nullable: true, description: '90th percentile of the response time.' }),
    responses: t.exposeInt('responses', { description: 'Customer turns begun in the window that got a reply.' }),
    unanswered: t.exposeInt('unanswered', { description: 'Customer turns begun in the window that have no reply yet.' }),
    received: t.exposeInt('received', { description: 'Inbound messages in the window.' }),
    providerCalls: t.exposeInt('providerCalls', { description: 'Calls (attempts) to the provider for the session, in the hours the window touches.' }),
    providerErrorRate: t.exposeFloat('providerErrorRate', { nullable: true, description: 'Failed provider calls / provider calls, 0–1; null when there were none.' }),
    providerErrors: t.field({ type: [ProviderErrorCountRef], description: 'Failed provider calls by kind, most frequent first.', resolve: (h) => h.providerErrors }),
    webhookRejections: t.exposeInt('webhookRejections', { description: 'Webhooks for the session refused for a bad signature, in the hours the window touches.' }),
    medianWebhookLagSeconds: t.exposeFloat('medianWebhookLagSeconds', {
      nullable: true,
      description: 'Median time from the provider\'s event timestamp to our receiving it (events kept for WEBHOOK_RETENTION_DAYS).',
    }),
    p90WebhookLagSeconds: t.exposeFloat('p90WebhookLagSeconds', { nullable: true, description: '90th percentile of the webhook lag.' }),
  }),
});

builder.prismaObjectFields('WhatsAppSession', (t) => ({
  health: t.field({
    type: SessionHealthRef,
    description: 'Uptime, delivery, response times and errors over [from, to); default: the last 24 hours.',
    args: {
      from: t.arg({ type: 'DateTime', required: false, description: 'Default: 24 hours before `to`.' }),
      to: t.arg({ type: 'DateTime', required: false, description: 'Default: now.' }),
    },
    select: { id: true },
    resolve: (session, args, ctx) => ctx.services.monitoring.health(ctx.viewer!, session.id, args.from, args.to),
  }),
  providerMessageLogs: t.field({
    type: ProviderMessageLogPageRef,
    description: 'The provider\'s own log of this session\'s sends (statuses and failure reasons), for support; newest first as the provider pages them.',
    args: {
      page: t.arg.int({ required: false, defaultValue: 1, description: 'From 1.' }),
      perPage: t.arg.int({ required: false, defaultValue: 20, description: '1–100.' }),
    },
    select: { id: true },
    resolve: (session, args, ctx) => ctx.services.monitoring.providerMessageLogs(ctx.viewer!, session.id, args.page ?? 1, args.perPage ?? 20),
  }),
}));

interface ProviderMessageLogShape {
  id: string;
  to: string | null;
  content: unknown;
  status: string | null;
  failedReason: string | null;
  createdAt: string | null;
}

const ProviderMessageLogRef = builder.objectRef<ProviderMessageLogShape>('ProviderMessageLog').implement({
  description: 'One send as the provider logged it.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'The provider\'s message id (msgId).' }),
    to: t.exposeString('to', { nullable: true, description: 'The recipient.' }),
    content: t.expose('content', { type: 'JSON', nullable: true, description: 'What was sent, as the provider keeps it.' }),
    status: t.exposeString('status', { nullable: true, description: 'The provider\'s status word.' }),
    failedReason: t.exposeString('failedReason', { nullable: true, description: 'Why it failed, in the provider\'s words.' }),
    createdAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the provider logged it.',
      resolve: (l) => {
        const at = l.createdAt ? new Date(l.createdAt) : null;
        return at && !Number.isNaN(at.getTime()) ? at : null;
      },
    }),
  }),
});

const ProviderMessageLogPageRef = builder
  .objectRef<{ items: ProviderMessageLogShape[]; page: number; lastPage: number; perPage: number; total: number }>('ProviderMessageLogPage')
  .implement({
    description: 'A page of the provider\'s message logs.',
    fields: (t) => ({
      items: t.field({ type: [ProviderMessageLogRef], description: 'The entries.', resolve: (p) => p.items }),
      page: t.exposeInt('page', { description: 'This page, from 1.' }),
      lastPage: t.exposeInt('lastPage', { description: 'The last page.' }),
      perPage: t.exposeInt('perPage', { description: 'Entries per page.' }),
      total: t.exposeInt('total', { description: 'Entries in all.' }),
    }),
  });

builder.prismaObjectFields('Message', (t) => ({
  sentAt: t.expose('sentAt', { type: 'DateTime', nullable: true, description: 'When it was first known sent (outbound).' }),
  deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true, description: 'When it was first known delivered (outbound).' }),
  readAt: t.expose('readAt', { type: 'DateTime', nullable: true, description: 'When it was first known read (outbound).' }),
  failedAt: t.expose('failedAt', { type: 'DateTime', nullable: true, description: 'When it failed (outbound).' }),
  deliverySeconds: t.float({
    nullable: true,
    description: 'From sent to delivered; null until delivered.',
    select: { sentAt: true, deliveredAt: true },
    resolve: (m) => (m.sentAt && m.deliveredAt ? Math.max(0, (m.deliveredAt.getTime() - m.sentAt.getTime()) / 1000) : null),
  }),
}));

builder.queryFields((t) => ({
  analytics: t.field({
    type: [SessionHealthRef],
    description: 'Session health as a series: one SessionHealth per hour or day of [from, to) (the last may be shorter), for one session or totals across every session you may see.',
    authScopes: { authenticated: true },
    args: {
      sessionId: t.arg.id({ required: false, description: 'One session; every session you may see when omitted.' }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      bucket: t.arg({ type: AnalyticsBucketEnum, required: true }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.monitoring.analytics(ctx.viewer!, {
        sessionId: args.sessionId ? sessionIdFrom(args.sessionId, ctx.viewer) : null,
        from: args.from,
        to: args.to,
        bucket: args.bucket,
      }),
  }),
  messageLogs: t.prismaConnection(
    {
      type: 'Message',
      cursor: 'seq',
      description: 'Messages of the sessions you may see, newest first, filtered: the message log, with delivery times and failure reasons.',
      authScopes: { authenticated: true },
      args: {
        sessionId: t.arg.id({ required: false, description: 'One session; every session you may see when omitted.' }),
        direction: t.arg({ type: MessageDirectionEnum, required: false }),
        status: t.arg({ type: MessageStatusEnum, required: false }),
        kind: t.arg({ type: MessageKindEnum, required: false }),
        from: t.arg({ type: 'DateTime', required: false, description: 'Messages at or after this time.' }),
        to: t.arg({ type: 'DateTime', required: false, description: 'Messages before this time.' }),
        phone: t.arg.string({ required: false, description: 'E.164: the chat\'s number or the sender\'s.' }),
      },
      resolve: (query, _root, args, ctx) => {
        let phone: string | null = null;
        if (args.phone != null) {
          const parsed = E164.safeParse(args.phone);
          if (!parsed.success) throw new BadUserInputError({ phone: parsed.error.issues[0]?.message ?? 'is not a phone number' });
          phone = parsed.data;
        }
        const where = ctx.services.monitoring.messageLogWhere(ctx.viewer!, {
          sessionId: args.sessionId ? sessionIdFrom(args.sessionId, ctx.viewer) : null,
          direction: args.direction,
          status: args.status,
          kind: args.kind,
          from: args.from,
          to: args.to,
          phone,
        });
        return ctx.prisma.message.findMany({ ...query, where, orderBy: { seq: 'desc' } });
      },
    },
    { name: 'MessageLogConnection' },
    { name: 'MessageLogEdge' },
  ),
}));
