/**
 * Finding a session by its webhook secret. Some envelopes carry no `sessionId` (the API key we find
 * sessions by); their `X-Webhook-Signature` is the session's own secret, unique per session, so a
 * keyed hash of it (never the secret) is kept in a unique column and looked up instead.
 */
import type { SecretBox } from '../../lib/crypto.ts';
import type { Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';
import { claimRound } from '../../lib/periodic-claim.ts';
import { Prisma as PrismaNamespace } from '../../generated/prisma/client.ts';

/** Sessions stored before the hash was kept are hashed this many at a time. */
const FILL_CHUNK = 200;
/** One process fills per round; a process that dies mid-fill leaves the rest to the next round. */
const FILL_ROUND_MS = 60_000;

const isUniqueViolation = (error: unknown) => error instanceof PrismaNamespace.PrismaClientKnownRequestError && error.code === 'P2002';

export function createWebhookSecretIndex(deps: { prisma: Prisma; secrets: SecretBox; logger: Logger }) {
  const { prisma, secrets, logger } = deps;

  // Prefixed, so the hash of a secret never equals the hash of an API key with the same text.
  const hashOf = (webhookSecret: string) => secrets.keyedHash(`webhook-secret:${webhookSecret}`);

  /** Hashes every stored secret that has no hash yet; returns how many it filled. */
  async function fill(): Promise<number> {
    let filled = 0;
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await prisma.whatsAppSession.findMany({
        where: { webhookSecretHash: null, webhookSecretEncrypted: { not: null }, id: { gt: after } },
        select: { id: true, webhookSecretEncrypted: true },
        orderBy: { id: 'asc' },
        take: FILL_CHUNK,
      });
      for (const row of rows) {
        try {
          const { count } = await prisma.whatsAppSession.updateMany({
            where: { id: row.id, webhookSecretHash: null },
            data: { webhookSecretHash: hashOf(secrets.decrypt(row.webhookSecretEncrypted!)) },
          });
          filled += count;
        } catch (error) {
          // Two sessions holding one secret cannot be told apart by it: the second stays unhashed
          // (its webhooks still come with their API key).
          if (!isUniqueViolation(error)) throw error;
          logger.warn({ sessionId: row.id }, 'webhook secret shared with another session: not indexed');
        }
      }
      if (rows.length < FILL_CHUNK) return filled;
      after = rows[rows.length - 1]!.id;
    }
  }

  return {
    hashOf,

    /** The session whose secret has this hash, with the secret to verify against. */
    async find(webhookSecretHash: string) {
      const session = await prisma.whatsAppSession.findUnique({
        where: { webhookSecretHash },
        select: { id: true, webhookSecretEncrypted: true },
      });
      if (!session?.webhookSecretEncrypted) return null;
      return { id: session.id, webhookSecret: secrets.decrypt(session.webhookSecretEncrypted) };
    },

    /** Fills missing hashes now, whoever else is filling (a look-up that found nothing). */
    fill,

    /** Fills missing hashes once across processes (at start). */
    async fillClaimed(): Promise<number> {
      // Claimed only when there is work, so a start with nothing to hash leaves the round to the next.
      const unhashed = await prisma.whatsAppSession.count({ where: { webhookSecretHash: null, webhookSecretEncrypted: { not: null } } });
      if (unhashed === 0 || !(await claimRound(prisma, 'webhook-secret-hashes', FILL_ROUND_MS))) return 0;
      const filled = await fill();
      if (filled) logger.info({ filled }, 'webhook secrets indexed');
      return filled;
    },
  };
}
