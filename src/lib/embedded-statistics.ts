/**
 * PGlite runs without autovacuum, so nothing gathers the planner's statistics or clears dead rows
 * there: the planner takes every table for a small one and passes over the indexes made for it (the
 * inbox's chats in their order, the figures' columns), and updated rows pile up. The embedded
 * database is analyzed soon after start and vacuumed and analyzed on an interval; on PostgreSQL,
 * autovacuum does both. PGlite belongs to one process, so no claim is needed.
 */
import type { Database } from './database.ts';
import type { Logger } from './logger.ts';

export const DEFAULT_EMBEDDED_MAINTENANCE_MS = 60 * 60_000;

export function startEmbeddedStatistics(db: Database, logger: Logger, intervalMs = DEFAULT_EMBEDDED_MAINTENANCE_MS): () => Promise<void> {
  if (db.kind !== 'pglite') return async () => {};
  let current: Promise<unknown> | null = null;
  const run = (statement: 'ANALYZE' | 'VACUUM ANALYZE') => {
    if (current) return;
    const started = Date.now();
    current = db.prisma
      .$executeRawUnsafe(statement)
      .then(() => logger.debug({ statement, ms: Date.now() - started }, 'embedded database maintained'))
      .catch((error: unknown) => logger.warn({ err: error, statement }, 'embedded database maintenance failed'))
      .finally(() => (current = null));
  };
  // After start-up's own work, off its path.
  const first = setTimeout(() => run('ANALYZE'), Math.min(intervalMs, 5_000));
  const timer = setInterval(() => run('VACUUM ANALYZE'), intervalMs);
  first.unref();
  timer.unref();
  return async () => {
    clearTimeout(first);
    clearInterval(timer);
    await current;
  };
}
