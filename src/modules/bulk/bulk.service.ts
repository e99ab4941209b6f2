/**
 * Bulk sends: one template to up to 10,000 recipients, each validated first, duplicates sent once.
 * Queuing writes the job and one outbox row per recipient (one bulk insert), and nothing else: the
 * outbox worker sends them like any message, at the session's pace, making each message in its
 * chat when its turn comes. A restart, or several processes, change nothing: the rows are claimed
 * in the database, and a row leaves once.
 *
 * The job's counters are derived from its rows and their messages and kept on the job; they are
 * refreshed when a send of the job ends and by a round once a second (deliveries and reads come by
 * webhook), which also pauses the jobs of sessions that are not connected and resumes them when
 * they are. Every change is published on `bulkSendProgress`.
 */
import type { Clock } from '../../lib/clock.ts';
import { bulkInsert } from '../../lib/bulk-insert.ts';
import type { Prisma } from '../../lib/database.ts';
import { BadUserInputError, DomainError, NotFoundError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { mediaUrlProblem, type ResolveHost } from '../../lib/media-url.ts';
import { claimRound } from '../../lib/periodic-claim.ts';
import { coalescedRunner } from '../../lib/coalesced-run.ts';
import type { AppPubSub } from '../../lib/pubsub.ts';
import type { BulkSendJob, BulkSendStatus } from '../../generated/prisma/client.ts';
import { assertCanAct, canSeeSession, type Viewer } from '../auth/viewer.ts';
import { bodyOf } from '../outbox/outbox.schemas.ts';
import { sendingSession } from '../outbox/outbox.service.ts';
import { ensureOutboxState } from '../outbox/outbox.store.ts';
import type { OutboxSettings } from '../outbox/outbox.worker.ts';
import { boundedFields, bulkIssues, render, StartBulkSendInput } from './bulk.schemas.ts';

export type BulkAction = 'PAUSE' | 'RESUME' | 'CANCEL';

const ACTIONS: Record<BulkSendStatus, BulkAction[]> = {
  QUEUED: ['PAUSE', 'CANCEL'],
  RUNNING: ['PAUSE', 'CANCEL'],
  PAUSED: ['RESUME', 'CANCEL'],
  COMPLETED: [],
  CANCELLED: [],
};

/** Finished jobs' delivery and read counters keep being refreshed for this long. */
const FINISHED_FOLLOW_MS = 24 * 60 * 60_000;

export function createBulkService(deps: {
  prisma: Prisma;
  pubsub: AppPubSub;
  clock: Clock;
  logger: Logger;
  production: boolean;
  resolveHost?: ResolveHost;
  settings: OutboxSettings;
  /** Wakes this process's outbox worker. */
  wake: () => void;
}) {
  const { prisma, pubsub, clock, logger, settings } = deps;
  const nowIso = () => new Date(clock.now()).toISOString();

  function publish(jobId: string) {
    pubsub.publish('bulkSendProgress', jobId, { id: jobId });
  }

  async function visibleJob(viewer: Viewer, id: string | null): Promise<BulkSendJob> {
    const job = id ? await prisma.bulkSendJob.findUnique({ where: { id } }) : null;
    if (!job || !canSeeSession(viewer, job.sessionId)) throw new NotFoundError('Bulk send job');
    return job;
  }

  /** A job the viewer may change: NOT_FOUND outside its scope, FORBIDDEN for a read-only token. */
  async function changeableJob(viewer: Viewer, id: string | null): Promise<BulkSendJob> {
    const job = await visibleJob(viewer, id);
    assertCanAct(viewer, job.sessionId, 'Bulk send job');
    return job;
  }

  function assertAllowed(job: BulkSendJob, action: BulkAction) {
    if (!ACTIONS[job.status].includes(action)) {
      throw new DomainError('INVALID_STATE', `Cannot ${action.toLowerCase()} a bulk send that is ${job.status}`, { status: job.status, allowedActions: ACTIONS[job.status] });
    }
  }

  /**
   * Counters from the job's rows and messages, stored (and published) when they changed; the job
   * starts running once a row left the queue and completes when none is left to settle.
   */
  async function refresh(jobIds: string[]): Promise<void> {
    if (jobIds.length === 0) return;
    const changed = await prisma.$queryRawUnsafe<{ id: string }[]>(
      `WITH c AS (
         SELECT o."bulkSendJobId" AS id,
           -- A message being handed to the provider right now has left the queue.
           count(*) FILTER (WHERE o.status = 'QUEUED')::int AS queued,
           count(*) FILTER (WHERE m.status IN ('SENT', 'DELIVERED', 'READ', 'PLAYED') OR (o.status = 'SENT' AND m.status = 'PENDING'))::int AS sent,
           count(*) FILTER (WHERE m.status IN ('DELIVERED', 'READ', 'PLAYED'))::int AS delivered,
           count(*) FILTER (WHERE m.status IN ('READ', 'PLAYED'))::int AS read,
           count(*) FILTER (WHERE o.status = 'FAILED' OR m.status = 'FAILED')::int AS failed,
           count(*) FILTER (WHERE o.status IN ('QUEUED', 'SENDING', 'UNKNOWN'))::int AS open
         FROM outbox_messages o LEFT JOIN messages m ON m.id = o."messageId"
         WHERE o."bulkSendJobId" = ANY($1::uuid[])
         GROUP BY o."bulkSendJobId")
       -- The status from the row as it is when updated (a pause committed meanwhile stands).
       UPDATE bulk_send_jobs j SET queued = c.queued, sent = c.sent, delivered = c.delivered, read = c.read, failed = c.failed,
         status = (CASE
           WHEN j.status IN ('QUEUED', 'RUNNING') AND c.open = 0 THEN 'COMPLETED'
           WHEN j.status = 'QUEUED' AND c.queued < j.total THEN 'RUNNING'
           ELSE j.status::text END)::"BulkSendStatus",
         "startedAt" = CASE WHEN j.status = 'QUEUED' AND c.queued < j.total THEN COALESCE(j."startedAt", $2::timestamp(3)) ELSE j."startedAt" END,
         "finishedAt" = CASE WHEN j.status IN ('QUEUED', 'RUNNING') AND c.open = 0 THEN COALESCE(j."finishedAt", $2::timestamp(3)) ELSE j."finishedAt" END,
         "updatedAt" = $2::timestamp(3)
       FROM c
       WHERE j.id = c.id AND (
         (j.queued, j.sent, j.delivered, j.read, j.failed) IS DISTINCT FROM (c.queued, c.sent, c.delivered, c.read, c.failed)
         OR (j.status IN ('QUEUED', 'RUNNING') AND c.open = 0)
         OR (j.status = 'QUEUED' AND c.queued < j.total))
       RETURNING j.id`,
      jobIds,
      nowIso(),
    );
    for (const { id } of changed) publish(id);
  }

  /** Jobs of sessions that are not connected pause (with the reason); they resume when it is again. */
  async function followSessions() {
    const paused = await prisma.$queryRawUnsafe<{ id: string }[]>(
      `UPDATE bulk_send_jobs j SET status = 'PAUSED', "pausedBySession" = true,
         "pausedReason" = 'The session is ' || s.status::text || ': the job resumes when it is connected again', "updatedAt" = $1::timestamp(3)
       FROM whatsapp_sessions s
       WHERE s.id = j."sessionId" AND j.status IN ('QUEUED', 'RUNNING') AND s.status <> 'CONNECTED'
       RETURNING j.id`,
      nowIso(),
    );
    const resumed = await prisma.$queryRawUnsafe<{ id: string }[]>(
      `UPDATE bulk_send_jobs j SET status = (CASE WHEN j."startedAt" IS NULL THEN 'QUEUED' ELSE 'RUNNING' END)::"BulkSendStatus",
         "pausedBySession" = false, "pausedReason" = NULL, "updatedAt" = $1::timestamp(3)
       FROM whatsapp_sessions s
       WHERE s.id = j."sessionId" AND j.status = 'PAUSED' AND j."pausedBySession" AND s.status = 'CONNECTED'
       RETURNING j.id`,
      nowIso(),
    );
    for (const { id } of [...paused, ...resumed]) publish(id);
    await refresh(resumed.map((j) => j.id));
    if (paused.length) logger.info({ jobs: paused.map((j) => j.id) }, 'bulk sends paused: their sessions are not connected');
    if (resumed.length) {
      logger.info({ jobs: resumed.map((j) => j.id) }, 'bulk sends resumed: their sessions are connected again');
      deps.wake();
    }
  }

  /** One round (once per interval across processes): sessions followed, counters refreshed. */
  async function tick() {
    if (!(await claimRound(prisma, 'bulk-send-progress', settings.pollIntervalMs))) return;
    await followSessions();
    const active = await prisma.bulkSendJob.findMany({
      where: { OR: [{ status: { in: ['QUEUED', 'RUNNING', 'PAUSED'] } }, { finishedAt: { gte: new Date(clock.now() - FINISHED_FOLLOW_MS) } }] },
      select: { id: true },
      take: 500,
      orderBy: { updatedAt: 'desc' },
    });
    await refresh(active.map((j) => j.id));
  }

  // Refreshes asked for by sends that ended, and the rounds, run one at a time in this process.
  const dirty = new Set<string>();
  let stopped = true;
  let timer: NodeJS.Timeout | null = null;
  let ticking = false;
  const runner = coalescedRunner(async () => {
    const ids = [...dirty];
    dirty.clear();
    try {
      await refresh(ids);
      if (ticking) {
        ticking = false;
        await tick();
      }
    } catch (error) {
      logger.error({ err: error }, 'bulk send progress failed');
    }
  }, () => stopped);

  return {
    refresh,
    tick,

    /** A send of the job ended: its counters are refreshed shortly. */
    jobChanged(jobId: string) {
      dirty.add(jobId);
      runner.run();
    },
    startBackground() {
      stopped = false;
      timer = setInterval(() => {
        ticking = true;
        runner.run();
      }, settings.pollIntervalMs);
      timer.unref();
    },
    async stopBackground() {
      stopped = true;
      if (timer) clearInterval(timer);
      await runner.idle();
    },
    idle: () => runner.idle(),

    /** startBulkSend: validates every row first (nothing is queued otherwise), then queues the job. */
    async queue(viewer: Viewer, raw: Record<string, unknown>, sessionId: string | null): Promise<BulkSendJob> {
      const parsed = StartBulkSendInput.safeParse(raw);
      if (!parsed.success) throw new BadUserInputError(boundedFields(parsed.error.issues));
      const input = parsed.data;
      const issues = bulkIssues(input);
      if (issues.length) throw new BadUserInputError(boundedFields(issues));
      const media = input.image ? { field: 'image', url: input.image.url } : input.document ? { field: 'document', url: input.document.url } : null;
      const urlProblem = media ? await mediaUrlProblem(media.url, { production: deps.production, resolve: deps.resolveHost }) : null;
      if (media && urlProblem) throw new BadUserInputError({ [`${media.field}.url`]: urlProblem });
      const session = await sendingSession(prisma, viewer, sessionId);

      // Duplicate phones are sent once: the first row of a number wins.
      const byPhone = new Map<string, (typeof input.recipients)[number]>();
      for (const r of input.recipients) if (!byPhone.has(r.phone)) byPhone.set(r.phone, r);
      const rows = [...byPhone.values()].map((r) => {
        const text = render(input.template, r);
        const body = input.image
          ? bodyOf({ sessionId: '', image: { url: input.image.url, caption: text } })
          : input.document
            ? bodyOf({ sessionId: '', document: { ...input.document, caption: text } })
            : bodyOf({ sessionId: '', text });
        return { to: r.phone, payload: JSON.stringify(body) };
      });
      const now = new Date(clock.now());
      const job = await prisma.$transaction(async (tx) => {
        const created = await tx.bulkSendJob.create({
          data: {
            sessionId: session.id,
            status: 'QUEUED',
            template: input.template,
            media: input.image ? { image: input.image } : input.document ? { document: input.document } : undefined,
            total: rows.length,
            queued: rows.length,
            createdById: viewer.tokenId,
          },
        });
        await bulkInsert(tx, {
          table: 'outbox_messages',
          rows,
          shared: { sessionId: { type: 'uuid', value: session.id }, bulkSendJobId: { type: 'uuid', value: created.id } },
          columns: {
            to: { type: 'text', value: (r) => r.to },
            payload: { type: 'jsonb', value: (r) => r.payload },
          },
          conflictOn: ['bulkSendJobId', 'to'],
        });
        await ensureOutboxState(tx, session.id, now);
        return created;
      });
      logger.info({ sessionId: session.id, bulkSendJobId: job.id, recipients: rows.length }, 'bulk send queued');
      publish(job.id);
      deps.wake();
      return job;
    },

    async pause(viewer: Viewer, id: string | null) {
      const job = await changeableJob(viewer, id);
      assertAllowed(job, 'PAUSE');
      const paused = await prisma.bulkSendJob.updateMany({ where: { id: job.id, status: { in: ['QUEUED', 'RUNNING'] } }, data: { status: 'PAUSED', pausedReason: 'Paused by a user', pausedBySession: false } });
      if (paused.count === 0) assertAllowed(await visibleJob(viewer, job.id), 'PAUSE');
      publish(job.id);
    },

    async resume(viewer: Viewer, id: string | null) {
      const job = await changeableJob(viewer, id);
      assertAllowed(job, 'RESUME');
      await prisma.bulkSendJob.updateMany({
        where: { id: job.id, status: 'PAUSED' },
        data: { status: job.startedAt ? 'RUNNING' : 'QUEUED', pausedReason: null, pausedBySession: false },
      });
      // RUNNING if anything left before the pause (whether or not the counters had caught up).
      await refresh([job.id]);
      publish(job.id);
      // A session still away pauses it again at the next round, saying why.
      deps.wake();
    },

    async cancel(viewer: Viewer, id: string | null) {
      const job = await changeableJob(viewer, id);
      assertAllowed(job, 'CANCEL');
      const [cancelled] = await prisma.$transaction([
        prisma.bulkSendJob.updateMany({ where: { id: job.id, status: { in: ['QUEUED', 'RUNNING', 'PAUSED'] } }, data: { status: 'CANCELLED', pausedReason: null, finishedAt: new Date(clock.now()) } }),
        prisma.outboxMessage.updateMany({ where: { bulkSendJobId: job.id, status: 'QUEUED', bulkSendJob: { status: 'CANCELLED' } }, data: { status: 'CANCELLED' } }),
      ]);
      if (cancelled.count === 0) assertAllowed(await visibleJob(viewer, job.id), 'CANCEL');
      await refresh([job.id]);
      publish(job.id);
    },

    /** A job the viewer may see, or NOT_FOUND. */
    visibleJob,

    /** When the job's queued messages should all have left, at the session's pace; null when none wait. */
    async estimatedFinishAt(job: Pick<BulkSendJob, 'id' | 'sessionId' | 'status'>): Promise<Date | null> {
      if (job.status !== 'QUEUED' && job.status !== 'RUNNING') return null;
      // Counted now rather than read from the counters, which a round may not have caught up with.
      const [row] = await prisma.$queryRawUnsafe<{ atMs: number | null; accountProtection: boolean; waiting: number }[]>(
        `SELECT (extract(epoch FROM st."nextSendAt") * 1000)::float8 AS "atMs", s."accountProtection",
           (SELECT count(*)::int FROM outbox_messages o WHERE o."bulkSendJobId" = $2::uuid AND o.status IN ('QUEUED', 'SENDING')) AS waiting
         FROM whatsapp_sessions s LEFT JOIN outbox_session_states st ON st."sessionId" = s.id WHERE s.id = $1::uuid`,
        job.sessionId,
        job.id,
      );
      if (!row || row.waiting === 0) return null;
      const interval = row.accountProtection ? settings.protectedIntervalMs : Math.ceil(60_000 / settings.ratePerMinute);
      const next = Math.max(clock.now(), row.atMs === null ? 0 : Number(row.atMs));
      return new Date(next + (row.waiting - 1) * interval);
    },
  };
}

export type BulkService = ReturnType<typeof createBulkService>;
