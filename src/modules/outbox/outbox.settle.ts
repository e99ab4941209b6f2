/**
 * Settles what a send's answer did not tell, from the provider's message logs (their `content` is
 * the send's body as JSON) and from webhooks, once per round across processes (`claimRound`):
 *
 * - a send whose answer was lost (UNKNOWN, or SENDING left by a process that died) is found in the
 *   logs by its body: then it went out (or failed there), and it learns its ids; a webhook may have
 *   linked it already; found nowhere within `unknownSettleMs` (logging off, or it never arrived) it
 *   is FAILED "outcome unknown". It is never sent again.
 * - a message a webhook reported as failed learns the provider's reason (`failed_reason`).
 */
import type { Clock } from '../../lib/clock.ts';
import type { Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';
import { canonicalJson } from '../../lib/canonical-json.ts';
import { claimRound } from '../../lib/periodic-claim.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import type { SessionService } from '../sessions/session.service.ts';
import type { OutboxRecords, OutboxRow } from './outbox.records.ts';
import { LEASE_SECONDS, type OutboxSettings } from './outbox.worker.ts';

/** Rows looked at per round. */
const BATCH = 50;
/** Pages of the provider's message logs read per session and round (newest first). */
const LOG_PAGES = 3;
const LOG_PAGE_SIZE = 100;

export const OUTCOME_UNKNOWN = 'outcome unknown: the provider did not answer and its logs do not show the message';
const FAILED_WITHOUT_REASON = 'The provider reported the message as not sent';

type LogItem = Awaited<ReturnType<WasenderClient['getMessageLogs']>>['items'][number];

export function createOutboxSettler(deps: {
  prisma: Prisma;
  clock: Clock;
  logger: Logger;
  provider: WasenderClient;
  sessions: SessionService;
  records: OutboxRecords;
  settings: OutboxSettings;
}) {
  const { prisma, clock, logger, provider, sessions, records, settings } = deps;

  /** The session's recent message logs, read at most once per round. */
  function logReader() {
    const cache = new Map<string, Promise<LogItem[] | null>>();
    return (providerSessionId: string) => {
      let pending = cache.get(providerSessionId);
      if (!pending) {
        pending = (async () => {
          const items: LogItem[] = [];
          for (let page = 1; page <= LOG_PAGES; page++) {
            const result = await provider.getMessageLogs(providerSessionId, { page, perPage: LOG_PAGE_SIZE });
            items.push(...result.items);
            if (page >= result.lastPage) break;
          }
          return items;
        })().catch((error: unknown) => {
          logger.warn({ providerSessionId, err: error }, 'message logs could not be read; settling waits for the next round');
          return null;
        });
        cache.set(providerSessionId, pending);
      }
      return pending;
    };
  }

  /** Sends a dead process left SENDING are unknown outcomes like any lost answer. */
  async function strandedSends() {
    await prisma.$executeRawUnsafe(
      `UPDATE outbox_messages o SET status = 'UNKNOWN', "lastError" = 'the process sending it stopped before the answer was recorded'
       WHERE o.status = 'SENDING' AND o."attemptedAt" < $1::timestamp(3)`,
      new Date(clock.now() - LEASE_SECONDS * 1000).toISOString(),
    );
  }

  async function unknownOutcomes(logsOf: ReturnType<typeof logReader>) {
    const rows = await prisma.outboxMessage.findMany({
      where: { status: 'UNKNOWN' },
      orderBy: { seq: 'asc' },
      take: BATCH,
      include: { message: { select: { providerMessageId: true, status: true } }, session: true },
    });
    for (const row of rows) {
      if (row.message?.providerMessageId || row.message?.status === 'FAILED') {
        // A webhook told (its echo linked the send, or reported the failure).
        await records.settledSent(row);
        continue;
      }
      const logs = row.session.providerSessionId ? await logsOf(row.session.providerSessionId) : null;
      if (logs === null) continue;
      const body = canonicalJson({ to: row.to, ...(row.payload as object) });
      const taken = new Set(
        (await prisma.message.findMany({ where: { sessionId: row.sessionId, providerMsgId: { in: logs.map((l) => l.id) } }, select: { providerMsgId: true } })).map((m) => m.providerMsgId),
      );
      const found = logs.find((l) => !taken.has(l.id) && l.content !== null && canonicalJson(l.content) === body);
      if (found) {
        await settleFromLog(row, row.session, found);
        continue;
      }
      const attemptedAt = row.attemptedAt?.getTime() ?? row.createdAt.getTime();
      if (clock.now() - attemptedAt >= settings.unknownSettleMs) {
        logger.warn({ sessionId: row.sessionId, outboxId: row.id }, 'send outcome stayed unknown: FAILED without a second send');
        await records.fail(row, OUTCOME_UNKNOWN);
      }
    }
  }

  async function settleFromLog(row: OutboxRow & { sessionId: string }, session: Parameters<SessionService['apiKeyOf']>[0], log: LogItem) {
    if (row.messageId) await prisma.message.update({ where: { id: row.messageId }, data: { providerMsgId: log.id } });
    if (log.status === 'failed') return records.fail(row, log.failedReason ?? FAILED_WITHOUT_REASON);
    const apiKey = sessions.apiKeyOf(session);
    if (row.messageId && apiKey && /^\d+$/.test(log.id)) await records.learnKey(row.sessionId, row.messageId, Number(log.id), apiKey);
    await records.settledSent(row);
  }

  /** Messages a webhook reported failed learn the provider's reason from its logs. */
  async function failureReasons(logsOf: ReturnType<typeof logReader>) {
    const rows = await prisma.outboxMessage.findMany({
      where: { status: { in: ['SENT', 'UNKNOWN'] }, message: { status: 'FAILED', error: null } },
      orderBy: { seq: 'asc' },
      take: BATCH,
      include: { message: { select: { providerMsgId: true } }, session: { select: { providerSessionId: true } } },
    });
    for (const row of rows) {
      const logs = row.session.providerSessionId ? await logsOf(row.session.providerSessionId) : null;
      if (logs === null) continue;
      const log = logs.find((l) => l.id === row.message?.providerMsgId);
      await records.fail(row, log?.failedReason ?? FAILED_WITHOUT_REASON);
    }
  }

  return async function settle() {
    if (!(await claimRound(prisma, 'outbox-settle', settings.settleIntervalMs))) return;
    const logsOf = logReader();
    await strandedSends();
    await unknownOutcomes(logsOf);
    await failureReasons(logsOf);
  };
}
