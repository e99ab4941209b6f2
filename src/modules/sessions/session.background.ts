/**
 * The sessions' scheduled work: keeping QRs fresh, giving up attempts nobody scanned, and comparing
 * statuses with the provider's. Every process runs it; each piece of work is claimed in the
 * database, so it is done once per round whatever the number of processes. Changes go through the
 * session service's applyStatus / applyQr like any other.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import type { SessionStatus } from '../../generated/prisma/enums.ts';
import type { WhatsAppSession } from '../../generated/prisma/client.ts';

export interface SessionTimings {
  /** How long a QR stays valid (the provider rotates about every 45 s). */
  qrTtlMs: number;
  /** Give up a connection attempt nobody scanned after this long. */
  connectTimeoutMs: number;
  /** How often the QR keeper looks for expiring QRs and abandoned attempts. */
  maintenanceIntervalMs: number;
  /** How often statuses are compared with the provider's; 0 disables. */
  reconcileIntervalMs: number;
}

export const DEFAULT_SESSION_TIMINGS: SessionTimings = {
  qrTtlMs: 45_000,
  connectTimeoutMs: 180_000,
  maintenanceIntervalMs: 5_000,
  reconcileIntervalMs: 60_000,
};

export interface SessionBackgroundDeps {
  prisma: Prisma;
  clock: Clock;
  logger: Logger;
  provider: WasenderClient;
  timings: SessionTimings;
  providerId(session: WhatsAppSession): string;
  applyStatus(sessionId: string, status: SessionStatus, opts: { message?: string; ifVersion?: number }): Promise<unknown>;
  /** A provider status word: applied when known, reported (and the status kept) when not. */
  applyProviderStatus(sessionId: string, word: string, source: string, opts: { message?: string; ifVersion?: number }): Promise<unknown>;
  applyQr(sessionId: string, qr: string, opts: { fetched?: boolean; ifVersion?: number }): Promise<void>;
  /** Leaves the ERROR session log entry of a failed provider call. */
  recordFailure(session: WhatsAppSession, action: string, error: unknown): Promise<unknown>;
}

export function createSessionBackground(deps: SessionBackgroundDeps) {
  const { prisma, clock, logger, provider, timings, providerId, applyStatus, applyProviderStatus, applyQr, recordFailure } = deps;
  const now = () => new Date(clock.now());

  async function refreshExpiringQrs() {
    const margin = Math.min(5_000, timings.qrTtlMs / 4);
    const due = await prisma.whatsAppSession.findMany({
      where: { status: 'QR_READY', qrExpiresAt: { lte: new Date(clock.now() + margin) } },
      take: 100,
    });
    for (const session of due) {
      if (session.connectStartedAt && clock.now() - session.connectStartedAt.getTime() >= timings.connectTimeoutMs) continue;
      // Every process runs this; whichever claims the session first in this window fetches.
      const claimed = await prisma.whatsAppSession.updateMany({
        where: { id: session.id, status: 'QR_READY', OR: [{ qrRefreshClaimedAt: null }, { qrRefreshClaimedAt: { lte: new Date(clock.now() - margin) } }] },
        data: { qrRefreshClaimedAt: now() },
      });
      if (claimed.count === 0) continue;
      let qr: string;
      try {
        qr = await provider.getQrCode(providerId(session));
      } catch (error) {
        // The provider may have moved on (scanned, dropped); reconciliation repairs the status.
        await recordFailure(session, 'QR refresh', error);
        continue;
      }
      await applyQr(session.id, qr, { fetched: true, ifVersion: session.statusVersion }).catch((error: unknown) =>
        logger.warn({ sessionId: session.id, err: error }, 'storing the refreshed QR failed'),
      );
    }
  }

  async function abandonStaleAttempts() {
    const stale = await prisma.whatsAppSession.findMany({
      where: {
        status: { in: ['QR_READY', 'CONNECTING'] },
        connectStartedAt: { lte: new Date(clock.now() - timings.connectTimeoutMs) },
      },
      take: 100,
    });
    for (const session of stale) {
      // Record the reason first: the provider's own status webhook then changes nothing.
      const applied = await applyStatus(session.id, 'DISCONNECTED', {
        message: `Nobody scanned the QR code within ${Math.round(timings.connectTimeoutMs / 1000)} seconds; connection attempt stopped`,
      });
      if (!applied) continue; // another process got there first
      await provider
        .disconnectSession(providerId(session))
        .catch((error: unknown) => recordFailure({ ...session, status: 'DISCONNECTED' }, 'Disconnect after giving up the connection attempt', error));
    }
  }

  async function reconcile() {
    const sessions = await prisma.whatsAppSession.findMany({ where: { providerSessionId: { not: null } } });
    // Every process runs this; each session is checked by whichever claims it first in a round.
    const recent = new Date(clock.now() - Math.max(timings.reconcileIntervalMs / 2, 1_000));
    for (const session of sessions) {
      try {
        const claimed = await prisma.whatsAppSession.updateMany({
          where: { id: session.id, OR: [{ reconciledAt: null }, { reconciledAt: { lt: recent } }] },
          data: { reconciledAt: now() },
        });
        if (claimed.count === 0) continue;
        let remote: Awaited<ReturnType<WasenderClient['getSession']>>;
        try {
          remote = await provider.getSession(providerId(session));
        } catch (error) {
          await recordFailure(session, 'Reconciliation', error);
          continue;
        }
        if (remote.status !== session.status && !(remote.status === 'QR_READY' && !session.qrCode)) {
          // The answer may be older than a webhook applied while we waited for it: that one wins.
          await applyProviderStatus(session.id, remote.statusWord, 'Reconciliation', {
            message: `Reconciled with the provider: status was ${session.status}, provider says ${remote.statusWord}`,
            ifVersion: session.statusVersion,
          });
        }
      } catch (error) {
        logger.warn({ sessionId: session.id, err: error }, 'reconciliation failed');
      }
    }
  }

  async function runMaintenance() {
    await abandonStaleAttempts();
    await refreshExpiringQrs();
  }

  let timers: TimerHandle[] = [];
  let stopped = true;
  function every(ms: number, task: () => Promise<void>, name: string) {
    const schedule = () => {
      if (stopped) return;
      const handle = clock.setTimeout(() => {
        timers = timers.filter((t) => t !== handle);
        task()
          .catch((error: unknown) => logger.warn({ err: error }, `${name} failed`))
          .finally(schedule);
      }, ms);
      timers.push(handle);
    };
    schedule();
  }

  return {
    runMaintenance,
    reconcile,

    startBackground() {
      if (!stopped) return;
      stopped = false;
      every(timings.maintenanceIntervalMs, runMaintenance, 'session maintenance');
      if (timings.reconcileIntervalMs > 0) {
        reconcile().catch((error: unknown) => logger.warn({ err: error }, 'initial reconciliation failed'));
        every(timings.reconcileIntervalMs, reconcile, 'reconciliation');
      }
    },
    stopBackground() {
      stopped = true;
      for (const t of timers) clock.clearTimeout(t);
      timers = [];
    },
  };
}
