/**
 * Deletes processed webhook events once they are older than the retention. Every process runs the
 * timer; each round is claimed in the database (src/lib/periodic-claim.ts), so one process prunes
 * per round. Rows go in small chunks, each its own short statement, so a large backlog never holds
 * a long lock against the ingest path. Unprocessed events are never touched.
 */
import { SQL_UTC_NOW, type Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';
import { claimRound } from '../../lib/periodic-claim.ts';

export interface WebhookRetentionOptions {
  retentionDays: number;
  /** One round per this many ms across all processes; the first round comes one interval after start. */
  intervalMs: number;
  /** Rows deleted per statement. */
  chunkSize: number;
}

export const DEFAULT_WEBHOOK_RETENTION: Omit<WebhookRetentionOptions, 'retentionDays'> = {
  intervalMs: 60 * 60_000,
  chunkSize: 1_000,
};

const JOB_NAME = 'webhook-retention';

export function createWebhookRetention(deps: { prisma: Prisma; logger: Logger; options: WebhookRetentionOptions }) {
  const { prisma, logger, options } = deps;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<unknown> | null = null;
  let stopped = false;

  /**
   * "processedAt" is not indexed (an index on it made marking an event applied write every index of
   * its row again), so old events are found by "receivedAt", through each session's index on it:
   * an event applied before the cut-off arrived before it (at most the clocks' skew apart, which
   * only delays its deletion to a later round).
   */
  async function pruneChunk(): Promise<number> {
    const old = `w."receivedAt" < ${SQL_UTC_NOW} - make_interval(days => $1::int) AND w."processedAt" < ${SQL_UTC_NOW} - make_interval(days => $1::int)`;
    return prisma.$executeRawUnsafe(
      `WITH of_sessions AS (
         SELECT e.id FROM whatsapp_sessions s CROSS JOIN LATERAL (
           SELECT w.id FROM webhook_events w WHERE w."sessionId" = s.id AND ${old}
           ORDER BY w."receivedAt" LIMIT $2::int FOR UPDATE OF w SKIP LOCKED) e
         LIMIT $2::int),
       sessionless AS (
         SELECT w.id FROM webhook_events w WHERE w."sessionId" IS NULL AND ${old}
         ORDER BY w."receivedAt" LIMIT $2::int FOR UPDATE SKIP LOCKED)
       DELETE FROM webhook_events WHERE id IN (SELECT id FROM of_sessions UNION ALL SELECT id FROM sessionless)`,
      options.retentionDays,
      options.chunkSize,
    );
  }

  /**
   * Runs one round if this process wins it: the number of events deleted, or null when another
   * process has this round.
   */
  async function runRound(): Promise<number | null> {
    if (!(await claimRound(prisma, JOB_NAME, options.intervalMs))) return null;
    let deleted = 0;
    for (;;) {
      const count = await pruneChunk();
      deleted += count;
      if (count < options.chunkSize || stopped) break;
    }
    if (deleted) logger.info({ deleted, retentionDays: options.retentionDays }, 'pruned processed webhook events');
    return deleted;
  }

  return {
    runRound,

    start() {
      stopped = false;
      timer = setInterval(() => {
        if (current) return;
        current = runRound()
          .catch((error: unknown) => logger.error({ err: error }, 'webhook retention round failed'))
          .finally(() => (current = null));
      }, options.intervalMs);
      timer.unref();
    },

    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await current;
    },
  };
}

export type WebhookRetention = ReturnType<typeof createWebhookRetention>;
