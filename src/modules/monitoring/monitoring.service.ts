/**
 * Monitoring: session health and analytics computed in SQL over indexed columns, message logs,
 * the provider's own message logs, and the state behind the metrics gauges.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Prisma } from '../../lib/database.ts';
import { BadUserInputError, NotFoundError } from '../../lib/errors.ts';
import type { SessionStatus } from '../../generated/prisma/enums.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import { canSeeSession, type Viewer } from '../auth/viewer.ts';
import type { SessionService } from '../sessions/session.service.ts';
import type { SessionCounters } from './session-counters.ts';
import { uptimeIn, type StatusChange } from './uptime.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** analytics answers at most this many buckets (a month of hours is 744). */
export const MAX_BUCKETS = 1_000;
/** Counter names in session_counters. */
export const PROVIDER_CALL_COUNTER = 'provider_call:';
export const WEBHOOK_REJECTED_COUNTER = 'webhook_rejected';

/** Statuses an outbound message has once it left us (FAILED may come after SENT: sentAt says). */
const SENT_STATUSES = `('SENT', 'DELIVERED', 'READ', 'PLAYED')`;
const DELIVERED_STATUSES = `('DELIVERED', 'READ', 'PLAYED')`;
const READ_STATUSES = `('READ', 'PLAYED')`;
/** Session log entries that record a status the session moved to (or was created with). */
const STATUS_LOG_TYPES = `('CREATED', 'CONNECTED', 'DISCONNECTED', 'STATUS_CHANGED')`;

export interface SessionHealth {
  from: Date;
  to: Date;
  uptimePercent: number;
  connectedSince: Date | null;
  disconnects: number;
  disconnectsByStatus: { status: SessionStatus; count: number }[];
  sent: number;
  delivered: number;
  read: number;
  failed: number;
  deliveryRate: number | null;
  readRate: number | null;
  medianDeliverySeconds: number | null;
  p90DeliverySeconds: number | null;
  medianResponseSeconds: number | null;
  p90ResponseSeconds: number | null;
  responses: number;
  unanswered: number;
  received: number;
  providerCalls: number;
  providerErrorRate: number | null;
  providerErrors: { code: string; count: number }[];
  webhookRejections: number;
  medianWebhookLagSeconds: number | null;
  p90WebhookLagSeconds: number | null;
}

export interface MessageLogFilter {
  sessionId: string | null;
  direction?: 'INBOUND' | 'OUTBOUND' | null;
  status?: string | null;
  kind?: string | null;
  from?: Date | null;
  to?: Date | null;
  /** E.164: the chat's number or the sender's. */
  phone?: string | null;
}

type Num = number | bigint | string | null;
type Db = Pick<Prisma, '$queryRawUnsafe'>;
/** Memory for the figures' sorts (per query, only while they run). */
const WORK_MEM = '64MB';
/** A month of many sessions on a busy machine still fits. */
const FIGURES_TIMEOUT_MS = 60_000;
const num = (v: Num | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: Num | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole);

/** The bucket of a timestamp column: whole steps since the window's start ($2, step in seconds $4). */
const bucketOf = (column: string) => `floor(EXTRACT(EPOCH FROM (${column} - $2::timestamp(3))) / $4)::int`;
/** The same of a bucket's start (grouping by date_bin costs less per row than the arithmetic above). */
const binIndex = (binStart: string) => `(EXTRACT(EPOCH FROM (${binStart} - $2::timestamp(3))) / $4)::int`;

export function createMonitoringService(deps: {
  prisma: Prisma;
  clock: Clock;
  provider: WasenderClient;
  sessions: SessionService;
  counters: SessionCounters;
}) {
  const { prisma } = deps;

  /** The window's sessions: the one asked for, or every session the viewer may see. */
  async function sessionsOf(viewer: Viewer, sessionId: string | null): Promise<string[]> {
    if (sessionId) {
      if (!canSeeSession(viewer, sessionId)) throw new NotFoundError('Session');
      return [sessionId];
    }
    const rows = await prisma.whatsAppSession.findMany({
      where: viewer.sessionIds === null ? {} : { id: { in: [...viewer.sessionIds] } },
      select: { id: true },
    });
    return rows.map((r) => r.id);
  }

  async function statusHistories(db: Db, sessionIds: string[], from: Date, to: Date): Promise<Map<string, StatusChange[]>> {
    const rows = await db.$queryRawUnsafe<{ sessionId: string; status: SessionStatus; at: Date }[]>(
      `SELECT * FROM (
         SELECT l."sessionId", l.status, l."createdAt" AS at, l.seq FROM session_logs l
         WHERE l."sessionId" = ANY($1::uuid[]) AND l.type IN ${STATUS_LOG_TYPES} AND l.status IS NOT NULL
           AND l."createdAt" >= $2::timestamp(3) AND l."createdAt" < $3::timestamp(3)
         UNION ALL
         SELECT s.id, before.status, before.at, before.seq FROM unnest($1::uuid[]) AS s(id)
         CROSS JOIN LATERAL (
           SELECT l.status, l."createdAt" AS at, l.seq FROM session_logs l
           WHERE l."sessionId" = s.id AND l.type IN ${STATUS_LOG_TYPES} AND l.status IS NOT NULL AND l."createdAt" < $2::timestamp(3)
           ORDER BY l."createdAt" DESC, l.seq DESC LIMIT 1) before
       ) h ORDER BY "sessionId", at, seq`,
      sessionIds,
      from.toISOString(),
      to.toISOString(),
    );
    const histories = new Map<string, StatusChange[]>();
    for (const row of rows) {
      const list = histories.get(row.sessionId) ?? [];
      list.push({ at: new Date(row.at).getTime(), status: row.status });
      histories.set(row.sessionId, list);
    }
    return histories;
  }

  /**
   * Outbound milestones and delivery times, inbound counts, and response times, per bucket, in one
   * pass over the window's messages. A customer's turn counts in the bucket it starts in, answered
   * by its chat's first outbound message after it even when that came after the window
   * (response-turns.ts keeps both on the turn's first message).
   */
  function messageFigures(db: Db, params: unknown[]) {
    return db.$queryRawUnsafe<
      { b: number; sent: Num; delivered: Num; read: Num; failed: Num; received: Num; pct: (number | null)[] | null; responsePct: (number | null)[] | null; answered: Num; unanswered: Num }[]
    >(
      `SELECT ${binIndex(`date_bin(make_interval(secs => $4), m.timestamp, $2::timestamp(3))`)} AS b,
         count(*) FILTER (WHERE m.direction = 'OUTBOUND' AND (m.status IN ${SENT_STATUSES} OR m."sentAt" IS NOT NULL)) AS sent,
         count(*) FILTER (WHERE m.direction = 'OUTBOUND' AND m.status IN ${DELIVERED_STATUSES}) AS delivered,
         count(*) FILTER (WHERE m.direction = 'OUTBOUND' AND m.status IN ${READ_STATUSES}) AS read,
         count(*) FILTER (WHERE m.direction = 'OUTBOUND' AND m.status = 'FAILED') AS failed,
         count(*) FILTER (WHERE m.direction = 'INBOUND') AS received,
         percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY m."deliverySeconds") FILTER (WHERE m.direction = 'OUTBOUND' AND m."deliverySeconds" IS NOT NULL) AS pct,
         percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY m."responseSeconds") FILTER (WHERE m."responseSeconds" IS NOT NULL) AS "responsePct",
         count(m."responseSeconds") AS answered,
         count(*) FILTER (WHERE m."startsTurn" AND m."responseSeconds" IS NULL) AS unanswered
       FROM messages m
       WHERE m."sessionId" = ANY($1::uuid[]) AND m.direction IN ('INBOUND', 'OUTBOUND')
         AND m.timestamp >= $2::timestamp(3) AND m.timestamp < $3::timestamp(3)
       GROUP BY date_bin(make_interval(secs => $4), m.timestamp, $2::timestamp(3))`,
      ...params,
    );
  }

  /** Provider calls by outcome and refused webhooks: hourly counters, in the bucket their hour starts in. */
  function counterFigures(db: Db, params: unknown[]) {
    return db.$queryRawUnsafe<{ b: number; name: string; count: Num }[]>(
      `SELECT GREATEST(0, ${bucketOf('c.hour')}) AS b, c.name, sum(c.count) AS count
       FROM session_counters c
       WHERE c."sessionId" = ANY($1::uuid[]) AND c.hour >= date_trunc('hour', $2::timestamp(3)) AND c.hour < $3::timestamp(3)
       GROUP BY 1, 2`,
      ...params,
    );
  }

  /** From the provider's envelope timestamp (seconds, or milliseconds) to our receiving it, of the events still kept. */
  function webhookLagFigures(db: Db, params: unknown[]) {
    return db.$queryRawUnsafe<{ b: number; pct: (number | null)[] | null }[]>(
      `WITH lags AS (
         SELECT w."receivedAt",
           EXTRACT(EPOCH FROM w."receivedAt") - CASE WHEN (w.payload->>'timestamp')::numeric > 100000000000
             THEN (w.payload->>'timestamp')::numeric / 1000 ELSE (w.payload->>'timestamp')::numeric END AS lag
         FROM webhook_events w
         WHERE w."sessionId" = ANY($1::uuid[]) AND w."receivedAt" >= $2::timestamp(3) AND w."receivedAt" < $3::timestamp(3)
           AND jsonb_typeof(w.payload->'timestamp') = 'number'
       )
       SELECT ${bucketOf('"receivedAt"')} AS b,
         percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY GREATEST(0, lag)) AS pct
       FROM lags GROUP BY 1`,
      ...params,
    );
  }

  /** One SessionHealth per step of the window (the last may be shorter), over these sessions. */
  async function figures(sessionIds: string[], from: Date, to: Date, stepMs: number): Promise<SessionHealth[]> {
    const count = Math.ceil((to.getTime() - from.getTime()) / stepMs);
    // This process's counts so far count too (other processes' arrive within seconds).
    await deps.counters.flush();
    const params = [sessionIds, from.toISOString(), to.toISOString(), stepMs / 1000];
    const [histories, messages, counters, lags] = await prisma.$transaction(
      async (tx) => {
        // The sorts behind the percentiles stay in memory: the default work_mem spills a month to disk.
        await tx.$executeRawUnsafe(`SET LOCAL work_mem = '${WORK_MEM}'`);
        return [
          await statusHistories(tx, sessionIds, from, to),
          await messageFigures(tx, params),
          await counterFigures(tx, params),
          await webhookLagFigures(tx, params),
        ] as const;
      },
      { timeout: FIGURES_TIMEOUT_MS },
    );
    const now = deps.clock.now();
    const byBucket = <T extends { b: number }>(rows: T[]) => new Map(rows.map((r) => [Number(r.b), r]));
    const messagesBy = byBucket(messages);
    const lagsBy = byBucket(lags);
    return Array.from({ length: count }, (_, i) => {
      const start = from.getTime() + i * stepMs;
      const end = Math.min(start + stepMs, to.getTime());
      // Uptime: the share of session-time connected, from each session's creation up to now.
      let connectedMs = 0;
      let knownMs = 0;
      const disconnects = new Map<SessionStatus, number>();
      const streaks: (number | null)[] = [];
      for (const id of sessionIds) {
        const u = uptimeIn(histories.get(id) ?? [], start, end, now);
        connectedMs += u.connectedMs;
        knownMs += u.knownMs;
        for (const [status, n] of u.disconnects) disconnects.set(status, (disconnects.get(status) ?? 0) + n);
        streaks.push(u.connectedSince);
      }
      const m = messagesBy.get(i);
      const lag = lagsBy.get(i);
      const sent = num(m?.sent);
      const delivered = num(m?.delivered);
      const read = num(m?.read);
      const calls = new Map<string, number>();
      let webhookRejections = 0;
      for (const c of counters) {
        if (Number(c.b) !== i) continue;
        if (c.name === WEBHOOK_REJECTED_COUNTER) webhookRejections += num(c.count);
        else if (c.name.startsWith(PROVIDER_CALL_COUNTER)) calls.set(c.name.slice(PROVIDER_CALL_COUNTER.length), num(c.count));
      }
      const providerCalls = [...calls.values()].reduce((a, b) => a + b, 0);
      const providerErrors = [...calls].filter(([code]) => code !== 'OK').map(([code, n]) => ({ code, count: n })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
      return {
        from: new Date(start),
        to: new Date(end),
        uptimePercent: knownMs === 0 ? 0 : (100 * connectedMs) / knownMs,
        // A streak is one session's: for several sessions there is none to name.
        connectedSince: sessionIds.length === 1 && streaks[0] !== null && streaks[0] !== undefined ? new Date(streaks[0]) : null,
        disconnects: [...disconnects.values()].reduce((a, b) => a + b, 0),
        disconnectsByStatus: [...disconnects].map(([status, n]) => ({ status, count: n })).sort((a, b) => a.status.localeCompare(b.status)),
        sent,
        delivered,
        read,
        failed: num(m?.failed),
        deliveryRate: ratio(delivered, sent),
        readRate: ratio(read, sent),
        medianDeliverySeconds: numOrNull(m?.pct?.[0]),
        p90DeliverySeconds: numOrNull(m?.pct?.[1]),
        medianResponseSeconds: numOrNull(m?.responsePct?.[0]),
        p90ResponseSeconds: numOrNull(m?.responsePct?.[1]),
        responses: num(m?.answered),
        unanswered: num(m?.unanswered),
        received: num(m?.received),
        providerCalls,
        providerErrorRate: ratio(providerCalls - (calls.get('OK') ?? 0), providerCalls),
        providerErrors,
        webhookRejections,
        medianWebhookLagSeconds: numOrNull(lag?.pct?.[0]),
        p90WebhookLagSeconds: numOrNull(lag?.pct?.[1]),
      };
    });
  }

  function window(from: Date | null | undefined, to: Date | null | undefined, defaultSpanMs: number) {
    const end = to ?? (from ? new Date(Math.max(deps.clock.now(), from.getTime() + 1)) : new Date(deps.clock.now()));
    const start = from ?? new Date(end.getTime() - defaultSpanMs);
    if (start.getTime() >= end.getTime()) throw new BadUserInputError({ to: 'must be after from' });
    return { start, end };
  }

  return {
    /** A session's health over [from, to) (default: the last 24 hours). */
    async health(viewer: Viewer, sessionId: string, from?: Date | null, to?: Date | null): Promise<SessionHealth> {
      const { start, end } = window(from, to, DAY_MS);
      const sessionIds = await sessionsOf(viewer, sessionId);
      return (await figures(sessionIds, start, end, end.getTime() - start.getTime()))[0]!;
    },

    /** The same figures per hour or day of [from, to), for one session or all the viewer may see. */
    async analytics(viewer: Viewer, args: { sessionId: string | null; from: Date; to: Date; bucket: 'HOUR' | 'DAY' }): Promise<SessionHealth[]> {
      const stepMs = args.bucket === 'HOUR' ? HOUR_MS : DAY_MS;
      if (args.from.getTime() >= args.to.getTime()) throw new BadUserInputError({ to: 'must be after from' });
      if (Math.ceil((args.to.getTime() - args.from.getTime()) / stepMs) > MAX_BUCKETS) {
        throw new BadUserInputError({ to: `is too far from from: at most ${MAX_BUCKETS} buckets of one ${args.bucket.toLowerCase()}` });
      }
      const sessionIds = await sessionsOf(viewer, args.sessionId);
      return figures(sessionIds, args.from, args.to, stepMs);
    },

    /** Where messageLogs looks: the filter as a Prisma where clause, over the viewer's sessions. */
    messageLogWhere(viewer: Viewer, filter: MessageLogFilter) {
      if (filter.sessionId && !canSeeSession(viewer, filter.sessionId)) throw new NotFoundError('Session');
      if (filter.from && filter.to && filter.from.getTime() >= filter.to.getTime()) throw new BadUserInputError({ to: 'must be after from' });
      const sessions = filter.sessionId ? { sessionId: filter.sessionId } : viewer.sessionIds === null ? {} : { sessionId: { in: [...viewer.sessionIds] } };
      return {
        ...sessions,
        ...(filter.direction ? { direction: filter.direction } : {}),
        ...(filter.status ? { status: filter.status as never } : {}),
        ...(filter.kind ? { kind: filter.kind as never } : {}),
        ...(filter.from || filter.to ? { timestamp: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } } : {}),
        ...(filter.phone ? { OR: [{ chat: { phoneNumber: filter.phone } }, { senderPhone: filter.phone }] } : {}),
      };
    },

    /** The provider's own log of the session's sends, a page at a time (for support). */
    async providerMessageLogs(viewer: Viewer, sessionId: string, page: number, perPage: number) {
      if (!canSeeSession(viewer, sessionId)) throw new NotFoundError('Session');
      if (page < 1) throw new BadUserInputError({ page: 'must be at least 1' });
      if (perPage < 1 || perPage > 100) throw new BadUserInputError({ perPage: 'must be between 1 and 100' });
      const session = await prisma.whatsAppSession.findUnique({ where: { id: sessionId }, select: { id: true, status: true, providerSessionId: true } });
      if (!session) throw new NotFoundError('Session');
      if (!session.providerSessionId) return { items: [], page, lastPage: 1, perPage, total: 0 };
      return deps.sessions.callProvider(session, 'Read message logs', () => deps.provider.getMessageLogs(session.providerSessionId!, { page, perPage }));
    },

    /** Sessions by status, every status present (zero when none). */
    async sessionsByStatus(): Promise<Record<string, number>> {
      const rows = await prisma.whatsAppSession.groupBy({ by: ['status'], _count: { _all: true } });
      const counts: Record<string, number> = { DISCONNECTED: 0, CONNECTING: 0, QR_READY: 0, CONNECTED: 0, LOGGED_OUT: 0, EXPIRED: 0 };
      for (const row of rows) counts[row.status] = row._count._all;
      return counts;
    },

    /** Sends waiting in the outbox (queued or being sent) and the age of the oldest. */
    async outbox(): Promise<{ depth: number; oldestPendingAgeSeconds: number }> {
      const result = await prisma.outboxMessage.aggregate({
        where: { status: { in: ['QUEUED', 'SENDING'] } },
        _count: { _all: true },
        _min: { createdAt: true },
      });
      const oldest = result._min.createdAt;
      return { depth: result._count._all, oldestPendingAgeSeconds: oldest ? Math.max(0, (deps.clock.now() - oldest.getTime()) / 1000) : 0 };
    },
  };
}

export type MonitoringService = ReturnType<typeof createMonitoringService>;
