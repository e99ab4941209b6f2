/**
 * At start: sessions whose webhooks the provider posts to another URL than ours now (PUBLIC_URL
 * changed since they were registered; a session's `webhookUrl` says what was registered) get our
 * URL and event list registered again. One process does it per start-up wave (claimRound); a
 * session that fails keeps its old `webhookUrl`, so the next start tries it again.
 */
import { claimRound } from '../../lib/periodic-claim.ts';
import type { Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import { createProviderFailureLog } from './session.provider-failures.ts';
import { WEBHOOK_EVENTS } from './session.service.ts';

const JOB_NAME = 'session-webhook-url-sync';
/** Processes started within this long of each other are one start-up wave: one of them syncs. */
const CLAIM_MS = 60_000;

export interface WebhookSyncDeps {
  prisma: Prisma;
  logger: Logger;
  provider: WasenderClient;
  webhookUrl: () => string;
}

export function createWebhookSync(deps: WebhookSyncDeps) {
  const { prisma, logger, provider } = deps;
  const { recordFailure } = createProviderFailureLog(deps);

  /** Returns how many sessions were re-registered (null when another process has the round). */
  async function syncWebhookUrls(): Promise<number | null> {
    const webhookUrl = deps.webhookUrl();
    const stale = await prisma.whatsAppSession.findMany({
      where: { providerSessionId: { not: null }, OR: [{ webhookUrl: null }, { webhookUrl: { not: webhookUrl } }] },
      select: { id: true, providerSessionId: true, webhookUrl: true, status: true },
    });
    if (stale.length === 0) return 0;
    if (!(await claimRound(prisma, JOB_NAME, CLAIM_MS))) return null;
    let done = 0;
    for (const session of stale) {
      try {
        await provider.updateSession(session.providerSessionId!, { webhookUrl, webhookEnabled: true, webhookEvents: WEBHOOK_EVENTS });
      } catch (error) {
        await recordFailure(session, `Registering the webhook URL ${webhookUrl} at the provider`, error);
        continue;
      }
      const { count } = await prisma.whatsAppSession.updateMany({ where: { id: session.id, webhookUrl: session.webhookUrl }, data: { webhookUrl } });
      if (count === 0) continue;
      await prisma.sessionLog.create({
        data: {
          sessionId: session.id,
          type: 'UPDATED',
          status: session.status,
          message: `Webhook URL registered at the provider again: ${session.webhookUrl ?? 'none'} → ${webhookUrl}`,
        },
      });
      done++;
    }
    logger.info({ sessions: done, webhookUrl }, 'webhook URL re-registered at the provider');
    return done;
  }

  return { syncWebhookUrls };
}

export type WebhookSync = ReturnType<typeof createWebhookSync>;
