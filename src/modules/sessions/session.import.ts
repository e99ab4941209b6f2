/**
 * Sessions that exist at the provider but not here (made in its dashboard, or by an older system):
 * adopting them learns their credentials, stores them as createSession does, then points their
 * webhooks at us.
 *
 * Outcome per id: `importProviderSessions(ids)` adopts exactly the ids given, or refuses the whole
 * call with BAD_USER_INPUT on `providerSessionIds` naming every id it cannot adopt (unknown at the
 * provider, already ours, or with a phone number one of ours uses or none valid), changing nothing.
 * Without ids (null; an empty list adopts nothing) it adopts every provider session not yet ours and skips (with a warning line) those
 * whose number cannot be ours; the answer is the sessions adopted, so what is missing was skipped.
 */
import type { Prisma } from '../../lib/database.ts';
import { BadUserInputError } from '../../lib/errors.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { Logger } from '../../lib/logger.ts';
import type { AppPubSub } from '../../lib/pubsub.ts';
import type { WhatsAppSession } from '../../generated/prisma/client.ts';
import type { ProviderSession, WasenderClient } from '../../provider/wasender-client.ts';
import { toDomainError } from '../provider/provider-errors.ts';
import { E164 } from './session.schemas.ts';
import { WEBHOOK_EVENTS } from './session.service.ts';

export interface SessionImportDeps {
  prisma: Prisma;
  pubsub: AppPubSub;
  logger: Logger;
  secrets: SecretBox;
  provider: WasenderClient;
  webhookUrl: () => string;
  /** The session log entry saying why no webhooks will arrive, when the provider cannot reach us. */
  webhookUrlWarning: () => { type: 'ERROR'; message: string } | null;
  /** The keyed hash that finds a session by its webhook secret (envelopes without `sessionId`). */
  webhookSecretHashOf: (webhookSecret: string) => string;
}

/** Provider calls in the contract's codes. */
async function providerCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toDomainError(error);
  }
}

export function createSessionImport(deps: SessionImportDeps) {
  const { prisma, pubsub, logger, secrets, provider } = deps;

  /** Why a provider session cannot become ours, or null when it can. */
  function refusal(remote: ProviderSession, phone: string | null, ours: { providerIds: Set<string>; phones: Set<string> }): string | null {
    if (ours.providerIds.has(remote.id)) return 'is already one of our sessions';
    if (!phone) return 'has no valid phone number at the provider';
    if (ours.phones.has(phone)) return `uses ${phone}, which another session already uses`;
    return null;
  }

  /**
   * Stored before the provider is told to post here: when storing fails the provider still posts
   * where it did, and a stop between the two leaves `webhookUrl` null, which the start-up sync
   * registers. When the provider refuses, the stored row goes again.
   */
  async function adopt(remote: ProviderSession, phoneNumber: string): Promise<WhatsAppSession> {
    const webhookUrl = deps.webhookUrl();
    const details = await providerCall(() => provider.getSession(remote.id));
    const { apiKey, webhookSecret } = details;
    if (!apiKey || !webhookSecret) throw new Error(`the provider gave no API key or webhook secret for session ${remote.id}`);
    const name = (details.name ?? '').trim().slice(0, 100) || phoneNumber;
    const stored = await prisma.$transaction(async (tx) => {
      const created = await tx.whatsAppSession.create({
        data: {
          name,
          phoneNumber,
          accountProtection: details.accountProtection,
          logMessages: details.logMessages,
          autoReadMessages: details.readIncomingMessages,
          autoRejectCalls: details.autoRejectCalls,
          // A status word we do not know says nothing: reconciliation asks again.
          status: details.status ?? 'DISCONNECTED',
          providerSessionId: remote.id,
          apiKeyEncrypted: secrets.encrypt(apiKey),
          apiKeyHash: secrets.keyedHash(apiKey),
          webhookSecretEncrypted: secrets.encrypt(webhookSecret),
          webhookSecretHash: deps.webhookSecretHashOf(webhookSecret),
          webhookUrl: null,
        },
      });
      await tx.sessionLog.create({
        data: {
          sessionId: created.id,
          type: 'CREATED',
          status: created.status,
          message: `Session "${created.name}" imported from the provider (its session ${remote.id}) for ${created.phoneNumber}; its webhooks now come here`,
        },
      });
      const unreachable = deps.webhookUrlWarning();
      if (unreachable) await tx.sessionLog.create({ data: { sessionId: created.id, ...unreachable, status: created.status } });
      return created;
    });
    const credentialsChanged = () =>
      pubsub.publish('sessionCredentialsChanged', { apiKeyHashes: [stored.apiKeyHash!], webhookSecretHashes: [stored.webhookSecretHash!] });
    credentialsChanged();
    try {
      await providerCall(() => provider.updateSession(remote.id, { webhookUrl, webhookEnabled: true, webhookEvents: WEBHOOK_EVENTS }));
    } catch (error) {
      await prisma.whatsAppSession.delete({ where: { id: stored.id } }).then(credentialsChanged, (deleteError: unknown) =>
        logger.error({ sessionId: stored.id, providerSessionId: remote.id, err: deleteError }, 'imported session kept after the provider refused its webhook (the next start registers it)'),
      );
      throw error;
    }
    const session = await prisma.whatsAppSession.update({ where: { id: stored.id }, data: { webhookUrl } });
    logger.info({ sessionId: session.id, providerSessionId: remote.id }, 'provider session imported');
    return session;
  }

  return {
    async importProviderSessions(requested: readonly string[] | null | undefined): Promise<WhatsAppSession[]> {
      const remotes = await providerCall(() => provider.listSessions());
      const rows = await prisma.whatsAppSession.findMany({ select: { providerSessionId: true, phoneNumber: true } });
      const ours = {
        providerIds: new Set(rows.map((r) => r.providerSessionId).filter((id): id is string => id !== null)),
        phones: new Set(rows.map((r) => r.phoneNumber)),
      };
      const phoneOf = (remote: ProviderSession) => {
        const parsed = E164.safeParse(remote.phoneNumber ?? '');
        return parsed.success ? parsed.data : null;
      };
      const byId = new Map(remotes.map((r) => [r.id, r]));
      const chosen: { remote: ProviderSession; phone: string }[] = [];

      if (requested) {
        const problems: string[] = [];
        for (const id of new Set(requested.map((id) => id.trim()))) {
          const remote = byId.get(id);
          const phone = remote ? phoneOf(remote) : null;
          const why = remote ? refusal(remote, phone, ours) : 'is not a session at the provider';
          if (why) problems.push(`${id} ${why}`);
          else {
            chosen.push({ remote: remote!, phone: phone! });
            ours.phones.add(phone!);
          }
        }
        if (problems.length) throw new BadUserInputError({ providerSessionIds: problems.join('; ') });
      } else {
        for (const remote of remotes) {
          const phone = phoneOf(remote);
          const why = refusal(remote, phone, ours);
          if (!why) {
            chosen.push({ remote, phone: phone! });
            ours.phones.add(phone!);
          } else if (!ours.providerIds.has(remote.id)) {
            logger.warn({ providerSessionId: remote.id, reason: why }, 'provider session not imported');
          }
        }
      }

      const adopted: WhatsAppSession[] = [];
      for (const { remote, phone } of chosen) adopted.push(await adopt(remote, phone));
      return adopted;
    },
  };
}

export type SessionImport = ReturnType<typeof createSessionImport>;
