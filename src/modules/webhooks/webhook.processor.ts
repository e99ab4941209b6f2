/**
 * Applies stored webhook events in arrival order. Workers in any number of processes claim batches
 * with SKIP LOCKED and a lease, so each event is applied by one worker; a crashed worker's lease
 * runs out and another retries. An event that keeps failing is parked with its error.
 */
import { SQL_UTC_NOW, type Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';

export interface StoredWebhook {
  id: string;
  sessionId: string | null;
  event: string;
  payload: unknown;
  attempts: number;
}

const LEASE_SECONDS = 60;
const BATCH = 200;

export function createWebhookProcessor(deps: {
  prisma: Prisma;
  logger: Logger;
  apply: (events: StoredWebhook[]) => Promise<Map<string, Error>>;
  maxAttempts?: number;
  pollIntervalMs?: number;
}) {
  const { prisma, logger } = deps;
  const maxAttempts = deps.maxAttempts ?? 8;
  let running: Promise<void> | null = null;
  let again = false;
  let poller: NodeJS.Timeout | null = null;
  let stopped = false;

  async function claim(): Promise<StoredWebhook[]> {
    const rows = await prisma.$queryRawUnsafe<(StoredWebhook & { seq: bigint | number })[]>(
      `UPDATE webhook_events SET "claimedUntil" = ${SQL_UTC_NOW} + make_interval(secs => $1), attempts = attempts + 1
       WHERE id IN (
         SELECT id FROM webhook_events
         WHERE "processedAt" IS NULL AND ("claimedUntil" IS NULL OR "claimedUntil" < ${SQL_UTC_NOW})
         ORDER BY seq LIMIT $2
         FOR UPDATE SKIP LOCKED)
       RETURNING id, "sessionId", event, payload, attempts, seq`,
      LEASE_SECONDS,
      BATCH,
    );
    return rows.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)));
  }

  async function drain() {
    for (;;) {
      const batch = await claim();
      if (batch.length === 0) return;
      const failures = await deps.apply(batch);
      const done = batch.filter((e) => !failures.has(e.id)).map((e) => e.id);
      if (done.length) {
        await prisma.$executeRawUnsafe(
          `UPDATE webhook_events SET "processedAt" = ${SQL_UTC_NOW}, "claimedUntil" = NULL, error = NULL WHERE id = ANY($1::uuid[])`,
          done,
        );
      }
      for (const [id, error] of failures) {
        const event = batch.find((e) => e.id === id)!;
        const parked = event.attempts >= maxAttempts;
        logger.error(
          { webhookEventId: id, sessionId: event.sessionId, event: event.event, err: error },
          parked ? 'webhook event parked after repeated failures' : 'webhook event failed; will retry',
        );
        await prisma.webhookEvent.update({
          where: { id },
          data: {
            error: error.message.slice(0, 2000),
            // Retry after a short pause rather than the whole lease; park for good after maxAttempts.
            claimedUntil: new Date(Date.now() + Math.min(60_000, 500 * 2 ** event.attempts)),
            ...(parked ? { processedAt: new Date() } : {}),
          },
        });
      }
    }
  }

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await drain().catch((error: unknown) => logger.error({ err: error }, 'webhook processing failed'));
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  }

  return {
    kick,
    /** Resolves when nothing is being applied right now (tests, shutdown). */
    async idle() {
      while (running) await running;
    },
    start() {
      stopped = false;
      // Picks up events other processes stored, and retries after failures.
      poller = setInterval(kick, deps.pollIntervalMs ?? 2_000);
      poller.unref();
      kick();
    },
    async stop() {
      stopped = true;
      if (poller) clearInterval(poller);
      await this.idle();
    },
  };
}

export type WebhookProcessor = ReturnType<typeof createWebhookProcessor>;
