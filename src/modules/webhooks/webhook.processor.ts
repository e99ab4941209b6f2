/**
 * Applies stored webhook events, each session's in the order they were stored, across any number of
 * processes. A process claims sessions (a lease per session, taken with SKIP LOCKED), so one session
 * has one claimant at a time while different sessions run in parallel; it applies the session's
 * events in `seq` order and stops at the first failure. The failed event is retried with back-off
 * while the session's later events wait behind it; after its last attempt it is parked with its
 * reason, and the session moves on. A crashed claimant's lease runs out and another takes over.
 * A process keeps a session's lease for a moment after a round (LINGER_MS), so the next message's
 * round, usually right behind, needs no claim; its read checks that the lease is still this
 * process's.
 */
import { randomUUID } from 'node:crypto';
import { SQL_UTC_NOW, type Prisma } from '../../lib/database.ts';
import type { PlainSql } from '../../lib/plain-sql.ts';
import type { Logger } from '../../lib/logger.ts';
import { coalescedRunner } from '../../lib/coalesced-run.ts';

export interface StoredWebhook {
  id: string;
  sessionId: string | null;
  event: string;
  payload: unknown;
  attempts: number;
  /** When it arrived (ms since the epoch): the time of an event that carries none. */
  receivedAtMs: number;
}

/** What became of a session's events: the first `applied` are done; the next one failed, if any. */
export interface SessionOutcome {
  applied: number;
  /** `permanent`: it can never succeed (e.g. an unreadable payload), so it is parked at once. */
  failure?: { error: Error; permanent: boolean };
}

export interface WebhookProcessing {
  /** Attempts of one event before it is parked. */
  maxAttempts: number;
  /** Back-off before the n-th retry: retryBaseMs × 2^(n-1), at most retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often to look for events other processes stored, and for retries that are due. */
  pollIntervalMs: number;
  /** How long a delivery status for an unknown message is kept for it to arrive. */
  pendingStatusRetentionMs: number;
}

export const DEFAULT_WEBHOOK_PROCESSING: WebhookProcessing = {
  maxAttempts: 8,
  retryBaseMs: 500,
  retryMaxMs: 60_000,
  pollIntervalMs: 2_000,
  pendingStatusRetentionMs: 24 * 60 * 60_000,
};

/** A claimant that stops answering loses its sessions after this long. */
const LEASE_SECONDS = 60;
/** Sessions one process takes per round. */
const SESSIONS_PER_ROUND = 16;
/** Events of one session applied per round: batching many is what keeps ingest fast. */
const EVENTS_PER_SESSION = 500;
/** Sessions of a round applied at once. */
const PARALLEL_SESSIONS = 4;
/** How soon a session noticed while another process held it is looked at again. */
const HELD_RECHECK_MS = 50;
/**
 * How long a session's lease is kept after its last round, for the next round to use without a
 * claim (one statement and a commit fewer per message while messages keep coming). Events another
 * process stores for it meanwhile are applied here when the lease is let go, at the latest.
 */
const LINGER_MS = 300;
/** A lease is used for a round only while this much of it is left (checked by the read itself). */
const LEASE_LEFT_SECONDS = LEASE_SECONDS / 2;
const PRUNE_EVERY_MS = 10 * 60_000;

export function createWebhookProcessor(deps: {
  prisma: Prisma;
  /** Plain SQL for the statements of every round (claim, read, mark applied). */
  sql: PlainSql;
  logger: Logger;
  applySession: (sessionId: string, events: StoredWebhook[]) => Promise<SessionOutcome>;
  /** Drops delivery statuses kept longer than the retention for messages that never came. */
  prunePendingStatuses: (retentionMs: number) => Promise<number>;
  processing?: Partial<WebhookProcessing>;
}) {
  const { prisma, sql, logger } = deps;
  const settings = { ...DEFAULT_WEBHOOK_PROCESSING, ...deps.processing };
  let poller: NodeJS.Timeout | null = null;
  const retryTimers = new Set<NodeJS.Timeout>();
  let lastPruneAt = 0;
  let stopped = false;
  /** This process's claims: a lease with it is this process's. */
  const token = randomUUID();
  /** Sessions whose lease this process keeps between rounds, and when their last round ended (performance.now()). */
  const held = new Map<string, number>();

  /** Takes up to SESSIONS_PER_ROUND sessions with pending events, oldest first; returns their ids. */
  async function claimSessions(): Promise<string[]> {
    // A session gets its lease row the first time it has work; that insert is the claim itself.
    const rows = await sql.$queryRawUnsafe<{ sessionId: string }[]>(
      `WITH pending AS (
         SELECT "sessionId", min(seq) AS first FROM webhook_events
         WHERE "processedAt" IS NULL AND "sessionId" IS NOT NULL
         GROUP BY "sessionId"),
       claimed AS (
         UPDATE webhook_session_leases l
         SET "claimedUntil" = ${SQL_UTC_NOW} + make_interval(secs => $1), "claimToken" = $2::uuid
         WHERE l."sessionId" IN (
           SELECT f."sessionId" FROM webhook_session_leases f JOIN pending p ON p."sessionId" = f."sessionId"
           WHERE f."claimedUntil" IS NULL OR f."claimedUntil" < ${SQL_UTC_NOW}
           ORDER BY p.first LIMIT $3
           FOR UPDATE OF f SKIP LOCKED)
         RETURNING l."sessionId"),
       created AS (
         INSERT INTO webhook_session_leases ("sessionId", "claimedUntil", "claimToken")
         SELECT n."sessionId", ${SQL_UTC_NOW} + make_interval(secs => $1), $2::uuid
         FROM (
           SELECT p."sessionId" FROM pending p
           WHERE NOT EXISTS (SELECT 1 FROM webhook_session_leases x WHERE x."sessionId" = p."sessionId")
           ORDER BY p.first LIMIT $3) n
         -- Two processes creating the same rows wait on each other in one order: no deadlock.
         ORDER BY n."sessionId"
         ON CONFLICT ("sessionId") DO NOTHING
         RETURNING "sessionId")
       SELECT "sessionId" FROM claimed UNION ALL SELECT "sessionId" FROM created`,
      LEASE_SECONDS,
      token,
      SESSIONS_PER_ROUND,
    );
    return rows.map((r) => r.sessionId);
  }

  /**
   * The next events of the sessions whose lease this process holds with LEASE_LEFT_SECONDS to go
   * (`ours`; a kept lease may have been lost), in order. Read after the claim or the last round, in a
   * fresh snapshot: it sees everything the previous claimant marked applied before it let go.
   */
  async function eventsOf(sessionIds: string[]): Promise<{ ours: Set<string>; bySession: Map<string, StoredWebhook[]>; lastSeq: Map<string, string> }> {
    const rows = await sql.$queryRawUnsafe<(Omit<StoredWebhook, 'sessionId'> & { heldId: string; sessionId: string | null; seq: string | null })[]>(
      // receivedAt holds UTC: the epoch of the bare timestamp is right whatever the connection's zone.
      `SELECT l."sessionId" AS "heldId", e.id, e."sessionId", e.event, e.payload, e.attempts, e.seq,
              (extract(epoch FROM e."receivedAt") * 1000)::float8 AS "receivedAtMs"
       FROM webhook_session_leases l
       LEFT JOIN LATERAL (
         SELECT w.id, w."sessionId", w.event, w.payload, w.attempts, w."receivedAt", w.seq FROM webhook_events w
         WHERE w."processedAt" IS NULL AND w."sessionId" = l."sessionId"
         ORDER BY w.seq LIMIT $2) e ON true
       WHERE l."sessionId" = ANY($1::uuid[]) AND l."claimToken" = $3::uuid
         AND l."claimedUntil" > ${SQL_UTC_NOW} + make_interval(secs => $4)
       ORDER BY e.seq`,
      sessionIds,
      EVENTS_PER_SESSION,
      token,
      LEASE_LEFT_SECONDS,
    );
    const ours = new Set<string>();
    const bySession = new Map<string, StoredWebhook[]>();
    const lastSeq = new Map<string, string>();
    for (const { heldId, seq, ...row } of rows) {
      ours.add(heldId);
      if (row.sessionId === null || seq === null) continue; // the session has no events left
      const list = bySession.get(row.sessionId) ?? [];
      list.push(row as StoredWebhook);
      bySession.set(row.sessionId, list);
      lastSeq.set(row.sessionId, seq);
    }
    return { ours, bySession, lastSeq };
  }

  function retryDelayMs(attempts: number) {
    return Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  }

  /**
   * The session's failed event: held back (the session waits) until its retry, or parked. Resolves
   * to true when parked: the session is let go, and its next events can be applied now.
   */
  async function recordFailure(sessionId: string, event: StoredWebhook, failure: NonNullable<SessionOutcome['failure']>): Promise<boolean> {
    const attempts = event.attempts + 1;
    const reason = failure.error.message.slice(0, 2000);
    const context = { sessionId, webhookEventId: event.id, event: event.event, attempts, err: failure.error };
    if (failure.permanent || attempts >= settings.maxAttempts) {
      logger.error(context, 'webhook event parked: it could not be applied, and the session moves on without it');
      const session = await prisma.whatsAppSession.findUnique({ where: { id: sessionId }, select: { status: true } });
      await prisma.$transaction([
        prisma.$executeRawUnsafe(
          `UPDATE webhook_events SET "processedAt" = ${SQL_UTC_NOW}, "parkedAt" = ${SQL_UTC_NOW}, attempts = $2, error = $3 WHERE id = $1::uuid`,
          event.id,
          attempts,
          reason,
        ),
        ...(session
          ? [
              prisma.sessionLog.create({
                data: {
                  sessionId,
                  type: 'ERROR',
                  status: session.status,
                  message: `A ${event.event} webhook could not be applied after ${attempts} attempt${attempts === 1 ? '' : 's'} and was set aside: ${reason}`,
                  details: { webhookEventId: event.id, event: event.event, attempts, error: reason },
                },
              }),
            ]
          : []),
        release([sessionId]),
      ]);
      return true;
    }
    const delayMs = retryDelayMs(attempts);
    logger.warn({ ...context, retryInMs: delayMs }, 'webhook event failed; the session waits for its retry');
    await prisma.$executeRawUnsafe(
      `WITH failed AS (UPDATE webhook_events SET attempts = $2, error = $3 WHERE id = $1::uuid)
       UPDATE webhook_session_leases SET "claimedUntil" = ${SQL_UTC_NOW} + make_interval(secs => $5)
       WHERE "sessionId" = $4::uuid AND "claimToken" = $6::uuid`,
      event.id,
      attempts,
      reason,
      sessionId,
      delayMs / 1000,
      token,
    );
    scheduleKick(delayMs);
    return false;
  }

  /** Lets the sessions go, if this process still holds them. */
  function release(sessionIds: string[]) {
    for (const id of sessionIds) held.delete(id);
    return prisma.$executeRawUnsafe(
      `UPDATE webhook_session_leases SET "claimedUntil" = NULL, "claimToken" = NULL
       WHERE "sessionId" = ANY($1::uuid[]) AND "claimToken" = $2::uuid`,
      sessionIds,
      token,
    );
  }

  /**
   * Lets go of the kept leases whose last round ended LINGER_MS ago or more. Resolves to whether
   * any of those sessions has events (stored by another process meanwhile): they are claimed next.
   */
  async function releaseLingering(): Promise<boolean> {
    const now = performance.now();
    const due = [...held].filter(([, lastRound]) => now - lastRound >= LINGER_MS).map(([id]) => id);
    if (due.length === 0) return false;
    for (const id of due) held.delete(id);
    const [released] = await sql.$queryRawUnsafe<{ pending: boolean }[]>(
      `WITH released AS (
         UPDATE webhook_session_leases SET "claimedUntil" = NULL, "claimToken" = NULL
         WHERE "sessionId" = ANY($1::uuid[]) AND "claimToken" = $2::uuid)
       SELECT EXISTS (SELECT 1 FROM webhook_events w WHERE w."processedAt" IS NULL AND w."sessionId" = ANY($1::uuid[])) AS pending`,
      due,
      token,
    );
    return released?.pending ?? true;
  }

  /** Wakes the drain once the earliest kept lease is due to be let go. */
  let lingerTimer: NodeJS.Timeout | null = null;
  function releaseLater() {
    if (lingerTimer || held.size === 0 || stopped) return;
    const earliest = Math.min(...held.values());
    lingerTimer = setTimeout(() => {
      lingerTimer = null;
      runner.run();
    }, Math.max(0, earliest + LINGER_MS - performance.now()) + 1);
    lingerTimer.unref();
  }

  /**
   * One round over the given sessions (kept or just claimed): apply each one's events in order,
   * record the outcome. Resolves to the kept sessions with events left, and whether any session was
   * let go with events left (parked behind a failure).
   */
  async function round(sessionIds: string[]): Promise<{ left: string[]; released: boolean }> {
    try {
      return await applyClaimed(sessionIds);
    } catch (error) {
      // Let the sessions go now rather than when the lease runs out; what was applied is applied again.
      await release(sessionIds).catch(() => {});
      throw error;
    }
  }

  async function applyClaimed(sessionIds: string[]): Promise<{ left: string[]; released: boolean }> {
    const { ours, bySession: events, lastSeq } = await eventsOf(sessionIds);
    // A lease that is no longer this process's (it ran out, or was taken), or too close to running
    // out: nothing to apply here; let go of it in case it is still ours, and look again.
    const lost = sessionIds.filter((id) => !ours.has(id));
    if (lost.length) await release(lost);
    const applied: string[] = [];
    const failed: { sessionId: string; event: StoredWebhook; failure: NonNullable<SessionOutcome['failure']> }[] = [];
    const queue = sessionIds.filter((id) => ours.has(id));
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL_SESSIONS, queue.length) }, async () => {
        for (let sessionId = queue.shift(); sessionId; sessionId = queue.shift()) {
          const list = events.get(sessionId) ?? [];
          if (list.length === 0) continue;
          const outcome = await deps.applySession(sessionId, list).catch(
            (error: unknown): SessionOutcome => ({ applied: 0, failure: { error: error instanceof Error ? error : new Error(String(error)), permanent: false } }),
          );
          for (const event of list.slice(0, outcome.applied)) applied.push(event.id);
          if (outcome.failure) failed.push({ sessionId, event: list[outcome.applied]!, failure: outcome.failure });
        }
      }),
    );
    const failedSessions = new Set(failed.map((f) => f.sessionId));
    const kept = [...ours].filter((id) => !failedSessions.has(id));
    // Marked applied, and the leases kept renewed, in one statement. The same statement names the
    // kept sessions with events past the last one read (beyond this round's share, or stored
    // meanwhile by another process; its snapshot predates its own update, hence by seq): the next
    // round reads them. A batch that commits after a later seq (the group commit writes batches in
    // parallel) is not seen here; this process's own are counted in `unseen`, another's are found
    // when the lease is let go, or by its poll.
    // It commits without waiting for the disk (synchronous_commit off for this statement alone):
    // a mark lost in a crash only has its events applied again, in order, which is harmless (see
    // the applier), and the webhooks' own commits, which the provider waits for, no longer queue
    // behind this one's flush.
    const [marked] = await sql.$queryRawUnsafe<{ left: string[]; quick: string }[]>(
      `WITH done AS (UPDATE webhook_events SET "processedAt" = ${SQL_UTC_NOW}, error = NULL WHERE id = ANY($1::uuid[])),
       renewed AS (
         UPDATE webhook_session_leases SET "claimedUntil" = ${SQL_UTC_NOW} + make_interval(secs => $5)
         WHERE "sessionId" = ANY($2::uuid[]) AND "claimToken" = $3::uuid)
       SELECT set_config('synchronous_commit', 'off', true) AS quick,
         ARRAY(
           SELECT s.id::text FROM unnest($2::uuid[], $4::bigint[]) AS s(id, after)
           WHERE EXISTS (
             SELECT 1 FROM webhook_events w
             WHERE w."processedAt" IS NULL AND w."sessionId" = s.id AND w.seq > s.after)) AS left`,
      applied,
      kept,
      token,
      kept.map((id) => lastSeq.get(id) ?? '0'),
      LEASE_SECONDS,
    );
    const roundEnded = performance.now();
    for (const id of kept) held.set(id, roundEnded);
    let released = false;
    for (const f of failed) {
      held.delete(f.sessionId);
      if (await recordFailure(f.sessionId, f.event, f.failure)) released = true;
    }
    return { left: marked?.left ?? [], released: released || lost.length > 0 };
  }

  /**
   * Sessions this process stored events for (notifyStored) that the current round may not have
   * seen: an event committed before a round's claim (or read, for a kept lease) is found by it.
   * Once the round is done and none is left here, the drain stops without a claim to find nothing.
   */
  let unseen = new Set<string>();
  /** Kept sessions the last round left events in. */
  let left = new Set<string>();
  /** A claim is due: a kick that is not about a session this process keeps (poll, retry, start). */
  let claimDue = false;
  let draining = false;

  async function drain() {
    draining = true;
    try {
      while (!stopped) {
        if (await releaseLingering()) claimDue = true;
        const noticed = unseen;
        unseen = new Set();
        const wanted = new Set([...noticed, ...left]);
        left = new Set();
        const keptWanted = [...wanted].filter((id) => held.has(id));
        const claimNow = claimDue || keptWanted.length < wanted.size;
        claimDue = false;
        const claimed = claimNow ? await claimSessions() : [];
        const sessionIds = [...new Set([...keptWanted, ...claimed])];
        const outcome = sessionIds.length ? await round(sessionIds) : { left: [], released: false };
        left = new Set(outcome.left);
        if (outcome.released || claimed.length === SESSIONS_PER_ROUND) claimDue = true;
        if (left.size > 0 || claimDue || unseen.size > 0) continue;
        // A session noticed here but held by another process: that holder's look for events left
        // runs in a snapshot, and an event committed while it let the session go is seen by
        // neither, so look once more shortly rather than at the next poll.
        if ([...noticed].some((id) => !held.has(id) && !claimed.includes(id))) scheduleKick(HELD_RECHECK_MS);
        releaseLater();
        return;
      }
    } finally {
      draining = false;
    }
  }

  async function pruneIfDue() {
    const every = Math.min(PRUNE_EVERY_MS, settings.pendingStatusRetentionMs);
    if (Date.now() - lastPruneAt < every) return;
    lastPruneAt = Date.now();
    await prune();
  }

  async function prune() {
    const dropped = await deps.prunePendingStatuses(settings.pendingStatusRetentionMs);
    if (dropped) logger.info({ dropped }, 'delivery statuses dropped: their messages never arrived');
  }

  function scheduleKick(delayMs: number) {
    const timer = setTimeout(() => {
      retryTimers.delete(timer);
      kick();
    }, delayMs);
    timer.unref();
    retryTimers.add(timer);
  }

  // Background work, even when a webhook's request kicked it.
  const runner = coalescedRunner(
    () => drain().catch((error: unknown) => logger.error({ err: error }, 'webhook processing failed')),
    () => stopped,
  );
  /** Looks for any session with events to apply (a claim). */
  function kick() {
    claimDue = true;
    runner.run();
  }

  return {
    kick,
    /** Events of the session were stored in this process: applied by the drain under way, or by a new one. */
    notifyStored(sessionId: string) {
      unseen.add(sessionId);
      if (!draining) runner.run();
    },
    /** Resolves when nothing is being applied right now (tests, shutdown). */
    idle: runner.idle,
    /** Drops delivery statuses whose messages never came within the retention. */
    prune,
    start() {
      stopped = false;
      // Picks up events other processes stored and retries that are due; prunes now and then.
      poller = setInterval(() => {
        kick();
        pruneIfDue().catch((error: unknown) => logger.error({ err: error }, 'pruning pending delivery statuses failed'));
      }, settings.pollIntervalMs);
      poller.unref();
      kick();
    },
    async stop() {
      stopped = true;
      if (poller) clearInterval(poller);
      for (const timer of retryTimers) clearTimeout(timer);
      retryTimers.clear();
      if (lingerTimer) clearTimeout(lingerTimer);
      lingerTimer = null;
      await this.idle();
      // Kept leases are let go now, or other processes would wait for them to run out.
      if (held.size) await release([...held.keys()]).catch((error: unknown) => logger.warn({ err: error }, 'letting go of kept webhook leases failed'));
    },
  };
}

export type WebhookProcessor = ReturnType<typeof createWebhookProcessor>;
