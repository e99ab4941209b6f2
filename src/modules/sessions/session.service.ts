/**
 * Sessions: the rules of the WhatsApp session life cycle. Every status and QR change, whether it
 * comes from a mutation, a webhook, the QR keeper or reconciliation, goes through applyStatus /
 * applyQr: update the row, write the log entry, publish after commit.
 */
import type { Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { Prisma } from '../../lib/database.ts';
import { BadUserInputError, badInputFromIssues, InvalidStateError, NotFoundError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { AppPubSub } from '../../lib/pubsub.ts';
import type { SessionStatus, SessionLogType } from '../../generated/prisma/enums.ts';
import type { WhatsAppSession } from '../../generated/prisma/client.ts';
import { toSessionStatus } from '../../provider/wasender-client.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import { toDomainError } from '../provider/provider-errors.ts';
import { createProviderFailureLog } from './session.provider-failures.ts';
import { assertAdmin, canSeeSession, type Viewer } from '../auth/viewer.ts';
import { assertActionAllowed, logTypeForStatus, type SessionAction } from './session.rules.ts';
import { CreateSessionInput, UpdateSessionInput, withoutNulls } from './session.schemas.ts';
import { createSessionBackground, type SessionTimings } from './session.background.ts';
import { createWebhookSecretIndex } from './webhook-secret-index.ts';

export { DEFAULT_SESSION_TIMINGS, type SessionTimings } from './session.background.ts';

/**
 * Every provider event: all are parsed and stored. The per-kind message events repeat
 * `messages.received`, and the dedupe key makes each message one event however often it arrives.
 */
export const WEBHOOK_EVENTS = [
  'messages.received',
  'messages-personal.received',
  'messages-group.received',
  'messages-newsletter.received',
  'messages.upsert',
  'message.sent',
  'messages.update',
  'message-receipt.update',
  'messages.delete',
  'messages.reaction',
  'poll.results',
  'session.status',
  'qrcode.updated',
  'chats.upsert',
  'chats.update',
  'chats.delete',
  'groups.upsert',
  'groups.update',
  'group-participants.update',
  'contacts.upsert',
  'contacts.update',
  'call',
];

export interface SessionServiceDeps {
  prisma: Prisma;
  pubsub: AppPubSub;
  clock: Clock;
  logger: Logger;
  secrets: SecretBox;
  provider: WasenderClient;
  /** Where the provider must post this deployment's webhooks. */
  webhookUrl: () => string;
  /** Why the provider cannot reach webhookUrl (not a public HTTPS URL), or null when it can. */
  webhookUrlProblem?: () => string | null;
  timings: SessionTimings;
}

type LogEntry = { type: SessionLogType; message: string; status?: SessionStatus | null; details?: object };

export function createSessionService(deps: SessionServiceDeps) {
  const { prisma, pubsub, clock, logger, secrets, provider, timings } = deps;
  const now = () => new Date(clock.now());

  async function load(id: string, viewer?: Viewer): Promise<WhatsAppSession> {
    if (viewer && !canSeeSession(viewer, id)) throw new NotFoundError('Session');
    const session = await prisma.whatsAppSession.findUnique({ where: { id } });
    if (!session) throw new NotFoundError('Session');
    return session;
  }

  function providerId(session: WhatsAppSession): string {
    if (!session.providerSessionId) throw new NotFoundError('Provider session');
    return session.providerSessionId;
  }

  async function log(sessionId: string, entry: LogEntry) {
    await prisma.sessionLog.create({
      data: { sessionId, type: entry.type, message: entry.message, status: entry.status ?? null, details: entry.details ?? undefined },
    });
  }

  function publishStatus(session: Pick<WhatsAppSession, 'id' | 'status'>) {
    const event = { sessionId: session.id, status: session.status };
    pubsub.publish('sessionStatusChanged', session.id, event);
    pubsub.publish('anySessionStatusChanged', event);
  }

  /** Tells every process that look-ups by these API keys (and webhook secrets) are stale. */
  function credentialsChanged(apiKeyHashes: (string | null)[], webhookSecretHashes: (string | null)[] = []) {
    const known = (hashes: (string | null)[]) => hashes.filter((h): h is string => h !== null);
    const event = { apiKeyHashes: known(apiKeyHashes), webhookSecretHashes: known(webhookSecretHashes) };
    if (event.apiKeyHashes.length || event.webhookSecretHashes.length) pubsub.publish('sessionCredentialsChanged', event);
  }

  const webhookSecrets = createWebhookSecretIndex({ prisma, secrets, logger });

  /**
   * A status word the provider sent that we do not know never changes the session: the last known
   * status stays, and the word is reported (log line and an ERROR entry in the session's log).
   */
  async function unknownStatus(sessionId: string, word: string, source: string) {
    logger.warn({ sessionId, providerStatus: word, source }, 'unknown provider status ignored');
    const current = await prisma.whatsAppSession.findUnique({ where: { id: sessionId }, select: { status: true } });
    if (!current) return;
    const message = `${source}: the provider reported an unknown status "${word}"; the status stays ${current.status}`;
    // Reconciliation asks every round: one entry while the word stays the same, not one a minute.
    const last = await prisma.sessionLog.findFirst({ where: { sessionId }, orderBy: { seq: 'desc' }, select: { message: true } });
    if (last?.message !== message) await log(sessionId, { type: 'ERROR', status: current.status, message });
  }

  /** A status word from the provider (webhook, reconciliation): applied when known, else reported. */
  async function applyProviderStatus(sessionId: string, word: string, source: string, opts: { message?: string; ifVersion?: number } = {}) {
    const status = toSessionStatus(word);
    if (!status) return unknownStatus(sessionId, word, source);
    return applyStatus(sessionId, status, opts);
  }

  const { callProvider, recordFailure } = createProviderFailureLog({ prisma, logger });

  /**
   * The one path for status changes. Only a real change updates the row, logs and publishes; the
   * conditional update makes concurrent callers (webhook, keeper, another process) apply it once.
   * `ifVersion`: the statusVersion read before asking the provider; a status that arrived while it
   * was asked for is newer than the provider's answer, which is then dropped.
   */
  async function applyStatus(sessionId: string, status: SessionStatus, opts: { message?: string; extra?: LogEntry[]; ifVersion?: number } = {}) {
    const result = await prisma.$transaction(async (tx) => {
      const current = await tx.whatsAppSession.findUnique({ where: { id: sessionId }, select: { status: true, statusVersion: true } });
      if (!current) return null;
      if (opts.ifVersion !== undefined && current.statusVersion !== opts.ifVersion) {
        logger.info({ sessionId, answer: status, status: current.status }, 'provider answer dropped: a newer status arrived meanwhile');
        return null;
      }
      if (current.status === status) {
        for (const entry of opts.extra ?? []) await tx.sessionLog.create({ data: { sessionId, ...entry, status: entry.status ?? status, details: entry.details ?? undefined } });
        return null;
      }
      const leavingQr = status !== 'QR_READY';
      const updated = await tx.whatsAppSession.updateMany({
        where: { id: sessionId, statusVersion: current.statusVersion },
        data: {
          status,
          statusVersion: { increment: 1 },
          ...(status === 'CONNECTED' ? { lastConnectedAt: now() } : {}),
          ...(leavingQr ? { qrCode: null, qrExpiresAt: null } : {}),
          ...(status === 'CONNECTED' || status === 'DISCONNECTED' || status === 'LOGGED_OUT' || status === 'EXPIRED'
            ? { connectStartedAt: null }
            : {}),
        },
      });
      if (updated.count === 0) return null;
      await tx.sessionLog.create({
        data: {
          sessionId,
          type: logTypeForStatus(status),
          status,
          message: opts.message ?? `Status changed from ${current.status} to ${status}`,
        },
      });
      for (const entry of opts.extra ?? []) await tx.sessionLog.create({ data: { sessionId, ...entry, status: entry.status ?? status, details: entry.details ?? undefined } });
      return { id: sessionId, status };
    });
    if (result) publishStatus(result);
    return result;
  }

  /**
   * The one path for a new QR: stored with its expiry, logged, pushed; the status becomes QR_READY.
   * `fetched`: we asked for it just now, so it is current right now. `replacing`: apply only over
   * this QR (the one read before asking the provider); another one stored meanwhile is kept.
   */
  /**
   * `ifVersion`: the status version read before asking the provider; the fetched QR is dropped if
   * the status moved meanwhile (the phone scanned while we asked: CONNECTING must not go back).
   */
  async function applyQr(sessionId: string, qr: string, opts: { fetched?: boolean; replacing?: string | null; ifVersion?: number } = {}) {
    const expiresAt = new Date(clock.now() + timings.qrTtlMs);
    const result = await prisma.$transaction(async (tx) => {
      const current = await tx.whatsAppSession.findUnique({ where: { id: sessionId }, select: { status: true, statusVersion: true, qrCode: true, connectStartedAt: true } });
      if (!current) return null;
      if (opts.ifVersion !== undefined && current.statusVersion !== opts.ifVersion) return null;
      if (current.qrCode === qr) {
        // The provider has not rotated it yet: it stays valid for another term. (A repeated
        // webhook proves nothing about now, so only a fresh fetch extends it.)
        // Not pushed to qrCodeUpdated, which carries new QRs only.
        if (opts.fetched && current.status === 'QR_READY') {
          await tx.whatsAppSession.updateMany({ where: { id: sessionId, status: 'QR_READY', qrCode: qr }, data: { qrExpiresAt: expiresAt } });
        }
        return null;
      }
      // A QR means nothing once the phone has linked, nor after we stopped the attempt (a rotation
      // the provider sent just before our disconnect reached it): ignore late ones.
      if (current.status === 'CONNECTED' || (current.status === 'DISCONNECTED' && !current.connectStartedAt)) return null;
      if (opts.replacing !== undefined && current.qrCode !== opts.replacing) return null;
      // Conditional on what was read: a status change committed meanwhile wins (READ COMMITTED).
      const updated = await tx.whatsAppSession.updateMany({
        where: { id: sessionId, statusVersion: current.statusVersion, qrCode: current.qrCode },
        data: {
          status: 'QR_READY',
          ...(current.status !== 'QR_READY' ? { statusVersion: { increment: 1 } } : {}),
          qrCode: qr,
          qrExpiresAt: expiresAt,
          connectStartedAt: current.connectStartedAt ?? now(),
        },
      });
      if (updated.count === 0) return null;
      await tx.sessionLog.create({ data: { sessionId, type: 'QR_GENERATED', status: 'QR_READY', message: `New QR code, valid until ${expiresAt.toISOString()}` } });
      if (current.status !== 'QR_READY') {
        await tx.sessionLog.create({ data: { sessionId, type: 'STATUS_CHANGED', status: 'QR_READY', message: `Status changed from ${current.status} to QR_READY` } });
      }
      return { statusChanged: current.status !== 'QR_READY' };
    });
    if (!result) return;
    pubsub.publish('qrCodeUpdated', sessionId, { sessionId, value: qr, expiresAt: expiresAt.toISOString() });
    if (result.statusChanged) publishStatus({ id: sessionId, status: 'QR_READY' });
  }

  /**
   * The QR of a connect answer. A different one stored while we asked (a rotation webhook of this
   * or of the previous attempt) may be older or newer: then the provider is asked which is current.
   */
  async function applyAnsweredQr(before: WhatsAppSession, qr: string) {
    const stored = await prisma.whatsAppSession.findUnique({ where: { id: before.id }, select: { qrCode: true } });
    if (!stored || stored.qrCode === before.qrCode || stored.qrCode === qr) return applyQr(before.id, qr, { fetched: true, replacing: stored?.qrCode ?? null });
    try {
      const current = await provider.getQrCode(providerId(before));
      await applyQr(before.id, current, { fetched: true, replacing: stored.qrCode });
    } catch (error) {
      // The stored one stays; the QR keeper replaces it when it expires.
      await recordFailure(before, 'QR fetch', error);
    }
  }

  /** Stores a new API key over `expectedHash` only; false when another key was stored meanwhile. */
  async function storeApiKey(id: string, expectedHash: string | null, apiKey: string): Promise<boolean> {
    const { count } = await prisma.whatsAppSession.updateMany({
      where: { id, apiKeyHash: expectedHash },
      data: { apiKeyEncrypted: secrets.encrypt(apiKey), apiKeyHash: secrets.keyedHash(apiKey) },
    });
    return count === 1;
  }

  async function assertAllowed(id: string, action: SessionAction) {
    const session = await load(id);
    assertActionAllowed(session.status, action);
    return session;
  }

  /** The log entry telling why no webhooks will arrive, when the provider cannot reach our URL. */
  function webhookUrlWarning(): { type: 'ERROR'; message: string } | null {
    const problem = deps.webhookUrlProblem?.() ?? null;
    return problem ? { type: 'ERROR', message: `No webhooks will arrive (no status changes, no messages): PUBLIC_URL ${problem}` } : null;
  }

  function decryptedApiKey(session: Pick<WhatsAppSession, 'apiKeyEncrypted'>): string | null {
    return session.apiKeyEncrypted ? secrets.decrypt(session.apiKeyEncrypted) : null;
  }

  const background = createSessionBackground({ prisma, clock, logger, provider, timings, providerId, applyStatus, applyProviderStatus, applyQr, recordFailure });

  return {
    applyStatus,
    applyQr,
    /** For other modules' provider calls of a session (the inbox's read marks). */
    callProvider,

    async get(viewer: Viewer, id: string) {
      return load(id, viewer);
    },

    async create(raw: unknown) {
      const parsed = CreateSessionInput.safeParse(raw);
      if (!parsed.success) throw badInputFromIssues(parsed.error.issues);
      const input = parsed.data;
      // Before the provider, so that nothing is made there (the unique index settles a race).
      if (await prisma.whatsAppSession.findUnique({ where: { phoneNumber: input.phoneNumber }, select: { id: true } })) {
        throw new BadUserInputError({ phoneNumber: 'is already used by another session' });
      }
      const webhookUrl = deps.webhookUrl();
      const remote = await provider
        .createSession({
          name: input.name,
          phoneNumber: input.phoneNumber,
          accountProtection: input.accountProtection,
          logMessages: input.logMessages,
          readIncomingMessages: input.autoReadMessages,
          autoRejectCalls: input.autoRejectCalls,
          webhookUrl,
          webhookEnabled: true,
          webhookEvents: WEBHOOK_EVENTS,
        })
        // No session exists yet to log on.
        .catch((error: unknown) => {
          throw toDomainError(error, { userInput: true });
        });
      try {
        if (!remote.apiKey || !remote.webhookSecret) throw new Error('provider returned no API key or webhook secret');
        const created = await prisma.$transaction(async (tx) => {
          const session = await tx.whatsAppSession.create({
            data: {
              name: input.name,
              phoneNumber: input.phoneNumber,
              accountProtection: input.accountProtection,
              logMessages: input.logMessages,
              autoReadMessages: input.autoReadMessages,
              autoRejectCalls: input.autoRejectCalls,
              // A new session has no status to keep: an unknown word starts it disconnected.
              status: remote.status ?? 'DISCONNECTED',
              providerSessionId: remote.id,
              apiKeyEncrypted: secrets.encrypt(remote.apiKey!),
              apiKeyHash: secrets.keyedHash(remote.apiKey!),
              webhookSecretEncrypted: secrets.encrypt(remote.webhookSecret!),
              webhookSecretHash: webhookSecrets.hashOf(remote.webhookSecret!),
              webhookUrl,
            },
          });
          await tx.sessionLog.create({
            data: { sessionId: session.id, type: 'CREATED', status: session.status, message: `Session "${session.name}" created for ${session.phoneNumber}` },
          });
          const unreachable = webhookUrlWarning();
          if (unreachable) await tx.sessionLog.create({ data: { sessionId: session.id, ...unreachable, status: session.status } });
          return session;
        });
        credentialsChanged([created.apiKeyHash], [created.webhookSecretHash]);
        return created;
      } catch (error) {
        // Leave nothing half-made at the provider either, but never remove a provider session that
        // one of ours already holds (the provider answered with an id we know).
        const owner = await prisma.whatsAppSession.findUnique({ where: { providerSessionId: remote.id }, select: { id: true } }).catch(() => null);
        if (owner) logger.error({ providerSessionId: remote.id, sessionId: owner.id }, 'provider answered a create with the id of an existing session');
        else await provider.deleteSession(remote.id).catch((e: unknown) => logger.error({ providerSessionId: remote.id, err: e }, 'could not remove provider session after failed create'));
        throw error;
      }
    },

    async update(id: string, raw: Record<string, unknown>) {
      const parsed = UpdateSessionInput.safeParse(withoutNulls(raw));
      if (!parsed.success) throw badInputFromIssues(parsed.error.issues);
      const input = parsed.data;
      const session = await load(id);
      const changes = Object.entries(input).filter(([k, v]) => session[k as keyof WhatsAppSession] !== v);
      if (changes.length === 0) return session;
      await callProvider(session, 'Update settings', () =>
        provider.updateSession(providerId(session), {
          name: input.name,
          accountProtection: input.accountProtection,
          logMessages: input.logMessages,
          readIncomingMessages: input.autoReadMessages,
          autoRejectCalls: input.autoRejectCalls,
        }),
        { userInput: true },
      );
      const [updated] = await prisma.$transaction([
        prisma.whatsAppSession.update({ where: { id }, data: input }),
        prisma.sessionLog.create({
          data: {
            sessionId: id,
            type: 'UPDATED',
            status: session.status,
            message: `Settings changed: ${changes.map(([k, v]) => `${k} → ${JSON.stringify(v)}`).join(', ')}`,
          },
        }),
      ]);
      return updated;
    },

    /**
     * Webhooks (a QR, a status) may be applied while the provider is being asked: the answer is
     * applied only over what was read before asking, never over what arrived meanwhile.
     */
    async connect(id: string) {
      const session = await assertAllowed(id, 'CONNECT');
      await log(id, { type: 'CONNECT_REQUESTED', message: 'Connection requested', status: session.status });
      // The attempt starts before the call, so that a QR webhook arriving during it is taken.
      const startedAt = now();
      await prisma.whatsAppSession.update({ where: { id }, data: { connectStartedAt: startedAt } });
      let result: Awaited<ReturnType<WasenderClient['connectSession']>>;
      try {
        result = await callProvider(session, 'Connect', () => provider.connectSession(providerId(session)));
      } catch (error) {
        await prisma.whatsAppSession.updateMany({ where: { id, connectStartedAt: startedAt }, data: { connectStartedAt: session.connectStartedAt } });
        throw error;
      }
      if (result.qrCode) await applyAnsweredQr(session, result.qrCode);
      else {
        if (!result.status) await unknownStatus(id, result.statusWord ?? '', 'Connect');
        else if (result.status !== session.status) await applyStatus(id, result.status, { ifVersion: session.statusVersion });
        // The provider made a QR without sending it: the QR keeper fetches it (unless a webhook
        // brought one meanwhile), and the one we had, if any, is shown no longer.
        if (result.status === 'QR_READY') {
          await prisma.whatsAppSession.updateMany({ where: { id, status: 'QR_READY', qrCode: session.qrCode }, data: { qrExpiresAt: now() } });
        }
      }
      return load(id);
    },

    async disconnect(id: string) {
      const session = await assertAllowed(id, 'DISCONNECT');
      await callProvider(session, 'Disconnect', () => provider.disconnectSession(providerId(session)));
      await applyStatus(id, 'DISCONNECTED', { message: 'Disconnected on request' });
      return load(id);
    },

    async restart(id: string) {
      const session = await assertAllowed(id, 'RESTART');
      await callProvider(session, 'Restart', () => provider.restartSession(providerId(session)));
      await log(id, { type: 'RESTARTED', message: 'Session restarted', status: session.status });
      return load(id);
    },

    async remove(id: string) {
      const session = await assertAllowed(id, 'DELETE');
      await callProvider(session, 'Delete', async () => {
        try {
          await provider.deleteSession(providerId(session));
        } catch (error) {
          // Already gone at the provider: finish the job here.
          if ((error as { code?: string }).code !== 'NOT_FOUND') throw error;
        }
      });
      await prisma.whatsAppSession.delete({ where: { id } });
      credentialsChanged([session.apiKeyHash], [session.webhookSecretHash]);
      pubsub.publish('sessionDeleted', id, { sessionId: id });
      pubsub.publish('anySessionDeleted', { sessionId: id });
      logger.info({ sessionId: id }, 'session deleted');
      return id;
    },

    /**
     * Rotations may overlap (two admins, two processes) and the provider keeps only the last key,
     * so a key is stored only over the one read before asking; when another rotation stored its key
     * meanwhile, the provider says which of the two is current.
     */
    async rotateApiKey(id: string) {
      const session = await load(id);
      const apiKey = await callProvider(session, 'Rotate API key', () => provider.regenerateApiKey(providerId(session)));
      const replaced = [session.apiKeyHash];
      if (!(await storeApiKey(id, session.apiKeyHash, apiKey))) {
        const current = (await callProvider(session, 'Rotate API key', () => provider.getSession(providerId(session)))).apiKey ?? apiKey;
        const latest = await load(id);
        replaced.push(latest.apiKeyHash);
        // Should a third rotation store meanwhile, it settles the same way.
        if (latest.apiKeyHash !== secrets.keyedHash(current)) await storeApiKey(id, latest.apiKeyHash, current);
      }
      await log(id, { type: 'API_KEY_ROTATED', message: 'API key rotated; the old key no longer works', status: session.status });
      const updated = await load(id);
      credentialsChanged([...replaced, updated.apiKeyHash]);
      return updated;
    },

    /**
     * The provider's key of the session, for an admin (tools that talk to the provider directly):
     * each reveal is written to the session's log, naming who, and to the log (without the key).
     */
    async revealApiKey(viewer: Viewer, id: string) {
      assertAdmin(viewer);
      const session = await load(id, viewer);
      const apiKey = decryptedApiKey(session);
      if (!apiKey) throw new InvalidStateError('The session has no API key from the provider yet');
      const token = viewer.tokenId ? await prisma.apiToken.findUnique({ where: { id: viewer.tokenId }, select: { name: true } }) : null;
      const by = viewer.tokenId ? `API token "${token?.name ?? 'unknown'}" (${viewer.tokenId})` : 'the ADMIN_TOKEN';
      await log(id, { type: 'API_KEY_REVEALED', message: `API key revealed by ${by}`, status: session.status, details: { tokenId: viewer.tokenId } });
      logger.info({ sessionId: id, tokenId: viewer.tokenId }, 'session API key revealed');
      return apiKey;
    },

    /** How sessions are found by API key: a keyed hash, never the key itself. */
    apiKeyHashOf: (apiKey: string) => secrets.keyedHash(apiKey),

    /** The session a webhook belongs to, by its API key's hash, with its secret to verify against. */
    async findByApiKeyHash(apiKeyHash: string) {
      const session = await prisma.whatsAppSession.findUnique({
        where: { apiKeyHash },
        select: { id: true, webhookSecretEncrypted: true, autoReadMessages: true },
      });
      if (!session?.webhookSecretEncrypted) return null;
      return { id: session.id, webhookSecret: secrets.decrypt(session.webhookSecretEncrypted) };
    },

    /** How sessions are found by webhook secret (envelopes without `sessionId`): a keyed hash. */
    webhookSecretHashOf: webhookSecrets.hashOf,
    /** The session whose webhook secret has this hash, with the secret to verify against. */
    findByWebhookSecretHash: webhookSecrets.find,
    /**
     * Hashes the secrets of sessions stored before the hash was kept; `claimed`: only if no other
     * process has this round (at start). Resolves to how many it hashed.
     */
    fillWebhookSecretHashes: (opts: { claimed: boolean }) => (opts.claimed ? webhookSecrets.fillClaimed() : webhookSecrets.fill()),

    apiKeyOf: decryptedApiKey,
    webhookUrlWarning,

    applyProviderStatus,

    runMaintenance: background.runMaintenance,
    reconcile: background.reconcile,
    startBackground: background.startBackground,
    stopBackground: background.stopBackground,
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
