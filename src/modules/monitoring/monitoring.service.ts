/**
 * Monitoring: the state behind the metrics gauges, read cheaply when scraped.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Prisma } from '../../lib/database.ts';

export function createMonitoringService(deps: { prisma: Prisma; clock: Clock }) {
  const { prisma } = deps;

  return {
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
