import { builder } from '../../graphql/builder.ts';
import { parseGlobalId } from '../../graphql/ids.ts';
import { NotFoundError } from '../../lib/errors.ts';
import type { JobEvent } from '../../lib/pubsub.ts';
import { MediaInputRef, DocumentInputRef } from '../outbox/outbox.graphql.ts';

const BulkSendStatusEnum = builder.enumType('BulkSendStatus', {
  description: 'Where a bulk send is.',
  values: {
    QUEUED: { description: 'Waiting for its first message to leave.' },
    RUNNING: { description: 'Sending, at the session\'s pace.' },
    PAUSED: { description: 'Stopped for now (pausedReason says why); resume to go on.' },
    COMPLETED: { description: 'Every recipient\'s message left (or failed).' },
    CANCELLED: { description: 'Stopped for good; what had not left never will.' },
  } as const,
});

builder.prismaNode('BulkSendJob', {
  id: { field: 'id' },
  description: 'One template sent to many recipients through the outbox, at the session\'s pace.',
  fields: (t) => ({
    status: t.expose('status', { type: BulkSendStatusEnum, description: 'Where it is.' }),
    pausedReason: t.exposeString('pausedReason', { nullable: true, description: 'Why it is paused (by a person, or its session is not connected).' }),
    session: t.relation('session', { description: 'The session it sends through.' }),
    template: t.exposeString('template', { description: 'The text, with {{name}} and {{<variable>}} filled per recipient.' }),
    total: t.exposeInt('total', { description: 'Recipients, after duplicate phones were removed.' }),
    queued: t.exposeInt('queued', { description: 'Messages that have not left yet.' }),
    sent: t.exposeInt('sent', { description: 'Messages that left (cumulative: delivered and read ones count too).' }),
    delivered: t.exposeInt('delivered', { description: 'Messages delivered (read ones count too).' }),
    read: t.exposeInt('read', { description: 'Messages read.' }),
    failed: t.exposeInt('failed', { description: 'Messages that failed.' }),
    estimatedFinishAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the last queued message should leave at the session\'s pace; null when none wait (or paused).',
      select: { id: true, sessionId: true, status: true },
      resolve: (job, _args, ctx) => ctx.services.bulk.estimatedFinishAt(job),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was queued.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When its first message left.' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When it completed or was cancelled.' }),
  }),
});

const BulkRecipientInputRef = builder.inputType('BulkRecipientInput', {
  description: 'One recipient of a bulk send.',
  fields: (t) => ({
    phone: t.string({ required: true, description: 'E.164, e.g. "+255712345678". Repeated phones are sent once.' }),
    name: t.string({ description: 'Fills {{name}}.' }),
    variables: t.field({ type: 'JSON', description: 'Fills {{<variable>}}: an object of text, number or boolean values.' }),
  }),
});

const StartBulkSendInputRef = builder.inputType('StartBulkSendInput', {
  description: 'A bulk send: every phone is validated first (BAD_USER_INPUT names each bad row, e.g. recipients.3.phone, and nothing is queued).',
  fields: (t) => ({
    sessionId: t.id({ required: true, description: 'The session to send through; it must be CONNECTED.' }),
    template: t.string({ required: true, description: 'The text (the caption with an image or a document); every {{placeholder}} needs a value for every recipient.' }),
    recipients: t.field({ type: [BulkRecipientInputRef], required: true, description: 'Up to 10,000 recipients.' }),
    image: t.field({ type: MediaInputRef, description: 'An image sent with the text as its caption.' }),
    document: t.field({ type: DocumentInputRef, description: 'A document sent with the text as its caption.' }),
  }),
});

builder.queryField('bulkSend', (t) =>
  t.prismaField({
    type: 'BulkSendJob',
    nullable: true,
    description: 'One bulk send by id; NOT_FOUND when it does not exist or you may not see its session.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const job = await ctx.services.bulk.visibleJob(ctx.viewer!, parseGlobalId(args.id, 'BulkSendJob'));
      return ctx.prisma.bulkSendJob.findUniqueOrThrow({ ...query, where: { id: job.id } });
    },
  }),
);

builder.mutationFields((t) => {
  const change = (description: string, action: 'pause' | 'resume' | 'cancel') =>
    t.prismaField({
      type: 'BulkSendJob',
      description,
      authScopes: { agent: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (query, _root, args, ctx) => {
        const id = parseGlobalId(args.id, 'BulkSendJob');
        await ctx.services.bulk[action](ctx.viewer!, id);
        return ctx.prisma.bulkSendJob.findUniqueOrThrow({ ...query, where: { id: id! } });
      },
    });
  return {
    startBulkSend: t.prismaField({
      type: 'BulkSendJob',
      description: 'Queues one message per unique recipient; they leave through the outbox at the session\'s pace.',
      authScopes: { agent: true },
      args: { input: t.arg({ type: StartBulkSendInputRef, required: true }) },
      resolve: async (query, _root, args, ctx) => {
        const job = await ctx.services.bulk.queue(ctx.viewer!, args.input, parseGlobalId(args.input.sessionId, 'WhatsAppSession'));
        return ctx.prisma.bulkSendJob.findUniqueOrThrow({ ...query, where: { id: job.id } });
      },
    }),
    pauseBulkSend: change('Stops sending the job\'s queued messages until it is resumed (INVALID_STATE unless QUEUED or RUNNING).', 'pause'),
    resumeBulkSend: change('Goes on with a paused job (INVALID_STATE unless PAUSED).', 'resume'),
    cancelBulkSend: change('Stops the job for good: its queued messages never leave (INVALID_STATE once COMPLETED or CANCELLED).', 'cancel'),
  };
});

builder.subscriptionField('bulkSendProgress', (t) =>
  t.prismaField({
    type: 'BulkSendJob',
    description: 'The job as it is, then again at every change of its status or counters.',
    authScopes: { authenticated: true },
    args: { jobId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const job = await ctx.services.bulk.visibleJob(ctx.viewer!, parseGlobalId(args.jobId, 'BulkSendJob'));
      // Listening before the first answer: no change between the two is missed.
      const changes = ctx.pubsub.subscribe('bulkSendProgress', job.id);
      return (async function* (): AsyncGenerator<JobEvent> {
        try {
          yield { id: job.id };
          yield* changes;
        } finally {
          await changes.return?.();
        }
      })();
    },
    resolve: async (query, event: JobEvent, _args, ctx) => {
      const job = await ctx.prisma.bulkSendJob.findUnique({ ...query, where: { id: event.id } });
      if (!job) throw new NotFoundError('Bulk send job');
      return job;
    },
  }),
);
