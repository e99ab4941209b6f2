/**
 * Per-session hourly counters (provider calls by outcome, refused webhooks), kept in memory and
 * added to `session_counters` in one statement every few seconds: a provider call costs no write
 * of its own. The session is named however the caller knows it (our id, the provider's id, or the
 * API key's keyed hash) and found in the same statement; what names no session is dropped.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';

export type CounterSession = { sessionId: string } | { providerSessionId: string } | { apiKeyHash: string };

interface Pending {
  sessionId: string | null;
  providerSessionId: string | null;
  apiKeyHash: string | null;
  hour: string;
  name: string;
  count: number;
}

const HOUR_MS = 3_600_000;
const DEFAULT_FLUSH_MS = 5_000;
/** Past this many distinct keys a flush starts at once, so memory stays small under a storm. */
const MAX_PENDING = 5_000;

export function createSessionCounters(deps: { prisma: Prisma; clock: Clock; logger: Logger; flushMs?: number }) {
  const { prisma, logger } = deps;
  let pending = new Map<string, Pending>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let flushing: Promise<void> = Promise.resolve();

  async function write(batch: Pending[]) {
    await prisma.$executeRawUnsafe(
      `INSERT INTO session_counters ("sessionId", hour, name, count)
       SELECT s.id, u.hour, u.name, sum(u.n)::int
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamp(3)[], $5::text[], $6::int[]) AS u(sid, pid, khash, hour, name, n)
       JOIN whatsapp_sessions s ON s.id = u.sid OR s."providerSessionId" = u.pid OR s."apiKeyHash" = u.khash
       GROUP BY s.id, u.hour, u.name
       ON CONFLICT ("sessionId", hour, name) DO UPDATE SET count = session_counters.count + EXCLUDED.count`,
      batch.map((p) => p.sessionId),
      batch.map((p) => p.providerSessionId),
      batch.map((p) => p.apiKeyHash),
      batch.map((p) => p.hour),
      batch.map((p) => p.name),
      batch.map((p) => p.count),
    );
  }

  /** Writes what was counted so far (waits for a flush already running). */
  function flush(): Promise<void> {
    flushing = flushing.then(async () => {
      if (pending.size === 0) return;
      const batch = [...pending.values()];
      pending = new Map();
      try {
        await write(batch);
      } catch (error) {
        // Kept for the next round (counts made meanwhile add up), unless that would grow without end.
        logger.warn({ err: error, rows: batch.length }, 'session counters could not be written');
        if (pending.size < MAX_PENDING) for (const p of batch) add(p, p.count);
      }
    });
    return flushing;
  }

  function add(p: Omit<Pending, 'count'>, count: number) {
    const key = `${p.sessionId}|${p.providerSessionId}|${p.apiKeyHash}|${p.hour}|${p.name}`;
    const seen = pending.get(key);
    if (seen) seen.count += count;
    else pending.set(key, { ...p, count });
    if (pending.size >= MAX_PENDING) void flush();
  }

  return {
    /** Counts one `name` for the session in the current hour. */
    count(session: CounterSession, name: string) {
      const now = deps.clock.now();
      add(
        {
          sessionId: 'sessionId' in session ? session.sessionId : null,
          providerSessionId: 'providerSessionId' in session ? session.providerSessionId : null,
          apiKeyHash: 'apiKeyHash' in session ? session.apiKeyHash : null,
          hour: new Date(now - (now % HOUR_MS)).toISOString(),
          name,
        },
        1,
      );
    },
    flush,
    start() {
      timer ??= setInterval(() => void flush(), deps.flushMs ?? DEFAULT_FLUSH_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await flush();
    },
  };
}

export type SessionCounters = ReturnType<typeof createSessionCounters>;
