/**
 * The outbox worker: every process runs one; sessions are claimed in the database (a lease per
 * session taken with SKIP LOCKED, as webhook application does), so a session's messages leave one
 * at a time and in order, by one process, while sessions run in parallel. The session's pace is
 * kept in the database too (`nextSendAt`): account protection allows one send per 5 s, otherwise
 * the plan's rate per minute; a provider 429 pauses the session for its `retry_after`; a 5xx is
 * retried with back-off (the session's later messages wait behind it), then FAILED.
 *
 * A request that left without an answer (a timeout, a dropped connection) is never sent again: it
 * is marked UNKNOWN and settled by outbox.settle.ts from the provider's message logs and webhooks.
 * Times that pace sends come from the injected clock; leases, which only guard against a dead
 * claimant, from the database's.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { SQL_UTC_NOW, type Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';
import { coalescedRunner } from '../../lib/coalesced-run.ts';
import { outsideRequest } from '../../lib/request-context.ts';
import type { WhatsAppSession } from '../../generated/prisma/client.ts';
import { ProviderError, type SendMessageInput, type WasenderClient } from '../../provider/wasender-client.ts';
import { phoneJidOf } from '../inbox/identity.ts';
import { MESSAGE_SEQ_LOCK, type InboxService } from '../inbox/inbox.service.ts';
import type { SessionService } from '../sessions/session.service.ts';
import type { OutboxRecords } from './outbox.records.ts';
import { storedOf } from './outbox.schemas.ts';
import { insertOutbound } from './outbox.store.ts';

export interface OutboxSettings {
  /** One send per this many ms with account protection on (the provider's rule). */
  protectedIntervalMs: number;
  /** Sends per minute per session with account protection off (the plan's limit). */
  ratePerMinute: number;
  /** Attempts of a send the provider answered with a 5xx before it is FAILED. */
  maxAttempts: number;
  /** Back-off before the n-th retry: retryBaseMs × 2^(n-1), at most retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often to look for work other processes queued (and sessions that came back). */
  pollIntervalMs: number;
  /** How often unknown outcomes and failure reasons are looked up at the provider. */
  settleIntervalMs: number;
  /** An unknown outcome found nowhere after this long is FAILED ("outcome unknown"). */
  unknownSettleMs: number;
}

export const DEFAULT_OUTBOX_SETTINGS: OutboxSettings = {
  protectedIntervalMs: 5_000,
  ratePerMinute: 256,
  maxAttempts: 5,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  pollIntervalMs: 1_000,
  settleIntervalMs: 2_000,
  unknownSettleMs: 120_000,
};

/** A claimant that stops answering loses its sessions after this long. */
export const LEASE_SECONDS = 60;
/** Sessions one process takes per round. */
const SESSIONS_PER_ROUND = 16;
/** Sends of one session per claim, before it is let go for others' turn. */
const SENDS_PER_CLAIM = 25;
/** Sessions of a round served at once. */
const PARALLEL_SESSIONS = 4;

interface QueuedRow {
  id: string;
  messageId: string | null;
  bulkSendJobId: string | null;
  to: string;
  /** The `/send-message` body without `to`. */
  payload: Omit<SendMessageInput, 'to'>;
  attempts: number;
}

export function createOutboxWorker(deps: {
  prisma: Prisma;
  clock: Clock;
  logger: Logger;
  provider: WasenderClient;
  sessions: SessionService;
  inbox: InboxService;
  records: OutboxRecords;
  settings: OutboxSettings;
  /** Runs once per settle round (claimed across processes by the caller). */
  settle: () => Promise<void>;
}) {
  const { prisma, clock, logger, provider, sessions, inbox, records, settings } = deps;
  let stopped = true;
  let poller: NodeJS.Timeout | null = null;
  let settler: NodeJS.Timeout | null = null;
  let settling: Promise<void> | null = null;
  let wakeTimer: { at: number; handle: TimerHandle } | null = null;

  const nowIso = () => new Date(clock.now()).toISOString();

  function intervalMs(session: Pick<WhatsAppSession, 'accountProtection'>) {
    return session.accountProtection ? settings.protectedIntervalMs : Math.ceil(60_000 / settings.ratePerMinute);
  }

  function retryDelayMs(attempts: number) {
    return Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  }

  /** Connected sessions whose head of queue may leave now, oldest work first; returns their ids. */
  async function claimSessions(token: string): Promise<string[]> {
    const rows = await prisma.$queryRawUnsafe<{ sessionId: string }[]>(
      `UPDATE outbox_session_states l
       SET "claimedUntil" = ${SQL_UTC_NOW} + make_interval(secs => $1), "claimToken" = $2::uuid
       WHERE l."sessionId" IN (
         SELECT f."sessionId" FROM outbox_session_states f
         JOIN whatsapp_sessions s ON s.id = f."sessionId" AND s.status = 'CONNECTED'
         WHERE (f."claimedUntil" IS NULL OR f."claimedUntil" < ${SQL_UTC_NOW})
           AND f."nextSendAt" <= $3::timestamp(3)
           AND EXISTS (${queuedSql('f."sessionId"')})
         ORDER BY f."nextSendAt" LIMIT $4
         FOR UPDATE OF f SKIP LOCKED)
       RETURNING l."sessionId"`,
      LEASE_SECONDS,
      token,
      nowIso(),
      SESSIONS_PER_ROUND,
    );
    return rows.map((r) => r.sessionId);
  }

  /** Queued rows of a session that may go (a paused or cancelled bulk job's wait). */
  function queuedSql(sessionColumn: string) {
    return `SELECT 1 FROM outbox_messages q
            LEFT JOIN bulk_send_jobs j ON j.id = q."bulkSendJobId"
            WHERE q."sessionId" = ${sessionColumn} AND q.status = 'QUEUED'
              AND (q."bulkSendJobId" IS NULL OR j.status IN ('QUEUED', 'RUNNING'))`;
  }

  async function head(sessionId: string): Promise<QueuedRow | null> {
    const [row] = await prisma.$queryRawUnsafe<QueuedRow[]>(
      `SELECT q.id, q."messageId", q."bulkSendJobId", q."to", q.payload, q.attempts FROM outbox_messages q
       LEFT JOIN bulk_send_jobs j ON j.id = q."bulkSendJobId"
       WHERE q."sessionId" = $1::uuid AND q.status = 'QUEUED'
         AND (q."bulkSendJobId" IS NULL OR j.status IN ('QUEUED', 'RUNNING'))
       ORDER BY q.seq LIMIT 1`,
      sessionId,
    );
    return row ?? null;
  }

  async function nextSendAt(sessionId: string): Promise<number> {
    const [row] = await prisma.$queryRawUnsafe<{ atMs: number }[]>(
      `SELECT (extract(epoch FROM "nextSendAt") * 1000)::float8 AS "atMs" FROM outbox_session_states WHERE "sessionId" = $1::uuid`,
      sessionId,
    );
    return row ? Number(row.atMs) : 0;
  }

  function pace(sessionId: string, delayMs: number) {
    return prisma.$executeRawUnsafe(
      `UPDATE outbox_session_states SET "nextSendAt" = $2::timestamp(3) WHERE "sessionId" = $1::uuid`,
      sessionId,
      new Date(clock.now() + delayMs).toISOString(),
    );
  }

  function release(sessionIds: string[], token: string) {
    return prisma.$executeRawUnsafe(
      `UPDATE outbox_session_states SET "claimedUntil" = NULL, "claimToken" = NULL WHERE "sessionId" = ANY($1::uuid[]) AND "claimToken" = $2::uuid`,
      sessionIds,
      token,
    );
  }

  /**
   * A bulk send's message enters its chat when its turn comes (queuing thousands writes only their
   * rows): made here under the inbox's lock, then published like any outbound message.
   */
  async function materialize(session: WhatsAppSession, row: QueuedRow): Promise<QueuedRow> {
    if (row.messageId) return row;
    const message = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${MESSAGE_SEQ_LOCK})`;
      const message = await insertOutbound(tx, {
        sessionId: session.id,
        chatId: null,
        remoteJid: phoneJidOf(row.to),
        phone: row.to,
        stored: storedOf(row.payload),
        bulkSendJobId: row.bulkSendJobId,
        now: new Date(clock.now()),
      });
      await tx.outboxMessage.update({ where: { id: row.id }, data: { messageId: message.id } });
      return message;
    });
    inbox.publishMessage('updated', message);
    inbox.publishChat({ id: message.chatId, sessionId: session.id });
    return { ...row, messageId: message.id };
  }

  /** Hands one queued message to the provider and records what became of it. */
  async function sendOne(session: WhatsAppSession, queued: QueuedRow) {
    const row = await materialize(session, queued);
    const attempt = await prisma.outboxMessage.updateMany({
      where: { id: row.id, status: 'QUEUED' },
      data: { status: 'SENDING', attempts: { increment: 1 }, attemptedAt: new Date(clock.now()) },
    });
    if (attempt.count === 0) return;
    const attempts = row.attempts + 1;
    const apiKey = sessions.apiKeyOf(session);
    if (!apiKey) {
      await records.fail(row, 'The session has no provider credentials');
      return;
    }
    try {
      const sent = await provider.session(apiKey).sendMessage({ to: row.to, ...row.payload }, { retries: 0 });
      await pace(session.id, intervalMs(session));
      await records.accepted(session, row, sent.msgId, apiKey);
    } catch (error) {
      await pace(session.id, intervalMs(session));
      await failedAttempt(session, row, attempts, error);
    }
  }

  async function failedAttempt(session: WhatsAppSession, row: QueuedRow, attempts: number, error: unknown) {
    const context = { sessionId: session.id, outboxId: row.id, attempts, err: error };
    if (!(error instanceof ProviderError)) {
      // Our side failed (the database, say) after the request may have left: never resend blindly.
      logger.error(context, 'send outcome unknown after a local failure');
      await records.unknown(row, error instanceof Error ? error.message : String(error));
      return;
    }
    if (error.code === 'RATE_LIMITED') {
      const waitMs = (error.retryAfter ?? 60) * 1000;
      logger.warn({ ...context, retryAfterS: error.retryAfter }, 'provider rate limit: the session waits');
      await pace(session.id, waitMs);
      await records.requeue(row, `Rate limited by the provider; retrying after ${error.retryAfter ?? 60} s`, { countAttempt: false });
      return;
    }
    if (error.code === 'TIMEOUT' || (error.code === 'UNAVAILABLE' && error.status === 0) || error.code === 'BAD_RESPONSE') {
      logger.warn(context, 'send outcome unknown: settled from the provider\'s logs and webhooks, never resent');
      await records.unknown(row, error.message);
      return;
    }
    if (error.status >= 500) {
      if (attempts < settings.maxAttempts) {
        const delay = retryDelayMs(attempts);
        logger.warn({ ...context, retryInMs: delay }, 'provider unavailable: the send is retried and the session waits');
        await pace(session.id, delay);
        await records.requeue(row, `Provider unavailable (HTTP ${error.status}): ${error.message}`, { countAttempt: true });
        return;
      }
      await records.fail(row, `The provider was unavailable (HTTP ${error.status}) after ${attempts} attempts: ${error.message}`);
      return;
    }
    const fields = Object.entries(error.fields ?? {}).map(([f, m]) => `${f}: ${m.join(' ')}`);
    await records.fail(row, fields.length ? `${error.message} (${fields.join('; ')})` : error.message);
  }

  /** Serves one claimed session: sends while its pace allows, up to a share per claim. */
  async function serve(sessionId: string) {
    for (let sent = 0; sent < SENDS_PER_CLAIM && !stopped; sent++) {
      if ((await nextSendAt(sessionId)) > clock.now()) return;
      const session = await prisma.whatsAppSession.findUnique({ where: { id: sessionId } });
      if (!session || session.status !== 'CONNECTED') return;
      const row = await head(sessionId);
      if (!row) return;
      await sendOne(session, row);
    }
  }

  async function round(): Promise<boolean> {
    const token = randomUUID();
    const claimed = await claimSessions(token);
    if (claimed.length === 0) return false;
    try {
      const queue = [...claimed];
      await Promise.all(
        Array.from({ length: Math.min(PARALLEL_SESSIONS, queue.length) }, async () => {
          for (let id = queue.shift(); id; id = queue.shift()) {
            await serve(id).catch((error: unknown) => logger.error({ sessionId: id, err: error }, 'outbox: serving the session failed'));
          }
        }),
      );
    } finally {
      await release(claimed, token).catch((error: unknown) => logger.warn({ err: error }, 'outbox: releasing sessions failed'));
    }
    return true;
  }

  /** Wakes this process when the earliest waiting session's turn comes (on the injected clock). */
  async function scheduleWake() {
    const [row] = await prisma.$queryRawUnsafe<{ atMs: number | null }[]>(
      `SELECT (extract(epoch FROM min(f."nextSendAt")) * 1000)::float8 AS "atMs" FROM outbox_session_states f
       JOIN whatsapp_sessions s ON s.id = f."sessionId" AND s.status = 'CONNECTED'
       WHERE (f."claimedUntil" IS NULL OR f."claimedUntil" < ${SQL_UTC_NOW})
         AND EXISTS (${queuedSql('f."sessionId"')})`,
    );
    const at = row?.atMs === null || row?.atMs === undefined ? null : Number(row.atMs);
    if (at === null || stopped) return;
    if (wakeTimer && wakeTimer.at <= at) return;
    if (wakeTimer) clock.clearTimeout(wakeTimer.handle);
    const handle = clock.setTimeout(() => {
      wakeTimer = null;
      wake();
    }, Math.max(0, at - clock.now()));
    wakeTimer = { at, handle };
  }

  const runner = coalescedRunner(async () => {
    try {
      while (!stopped && (await round()));
      await scheduleWake();
    } catch (error) {
      logger.error({ err: error }, 'outbox round failed');
    }
  }, () => stopped);
  const wake = runner.run;

  function settleNow() {
    if (settling || stopped) return;
    settling = outsideRequest(() => deps.settle())
      .catch((error: unknown) => logger.error({ err: error }, 'outbox settling failed'))
      .finally(() => {
        settling = null;
      });
  }

  /** Resolves when no round runs in this process right now. */
  async function idle() {
    await runner.idle();
    while (settling) await settling;
  }

  return {
    wake,
    idle,
    start() {
      stopped = false;
      poller = setInterval(wake, settings.pollIntervalMs);
      poller.unref();
      settler = setInterval(settleNow, settings.settleIntervalMs);
      settler.unref();
      wake();
    },
    async stop() {
      stopped = true;
      if (poller) clearInterval(poller);
      if (settler) clearInterval(settler);
      if (wakeTimer) clock.clearTimeout(wakeTimer.handle);
      wakeTimer = null;
      await idle();
    },
  };
}

export type OutboxWorker = ReturnType<typeof createOutboxWorker>;
