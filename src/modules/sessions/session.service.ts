/**
 * Sessions: the rules of the WhatsApp session life cycle. Every status and QR change, whether it
 * comes from a mutation, a webhook, the QR keeper or reconciliation, goes through applyStatus /
 * applyQr: update the row, write the log entry, publish after commit.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { Prisma } from '../../lib/database.ts';
import { badInputFromIssues, NotFoundError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { AppPubSub } from '../../lib/pubsub.ts';
import type { SessionStatus, SessionLogType } from '../../generated/prisma/enums.ts';
import type { WhatsAppSession } from '../../generated/prisma/client.ts';
import { toSessionStatus } from '../../provider/wasender-client.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import { toDomainError } from '../provider/provider-errors.ts';
import { canSeeSession, type Viewer } from '../auth/viewer.ts';
import { assertActionAllowed, logTypeForStatus, type SessionAction } from './session.rules.ts';
import { CreateSessionInput, UpdateSessionInput, withoutNulls } from './session.schemas.ts';

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

export interface SessionServiceDeps {
  prisma: Prisma;
  pubsub: AppPubSub;
  clock: Clock;
  logger: Logger;
  secrets: SecretBox;
  provider: WasenderClient;
  /** Where the provider must post this deployment's webhooks. */
  webhookUrl: () => string;
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

  /** Tells every process that look-ups by these API keys are stale. */
  function credentialsChanged(...apiKeyHashes: (string | null)[]) {
    const known = apiKeyHashes.filter((h): h is string => h !== null);
    if (known.length) pubsub.publish('sessionCredentialsChanged', { apiKeyHashes: known });
  }

  /** Runs a provider call; a failure is logged on the session and mapped to the contract's codes. */
  async function callProvider<T>(session: Pick<WhatsAppSession, 'id' | 'status'> | null, action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const mapped = toDomainError(error);
      if (session) {
        await log(session.id, {
          type: 'ERROR',
          message: `${action} failed: ${mapped instanceof Error ? mapped.message : 'unknown error'}`,
          status: session.status,
        }).catch((e: unknown) => logger.warn({ err: e }, 'could not write session log'));
      }
      throw mapped;
    }
  }

  /**
   * The one path for status changes. Only a real change updates the row, logs and publishes; the
   * conditional update makes concurrent callers (webhook, keeper, another process) apply it once.
   */
  async function applyStatus(sessionId: string, status: SessionStatus, opts: { message?: string; extra?: LogEntry[] } = {}) {
    const result = await prisma.$transaction(async (tx) => {
      const current = await tx.whatsAppSession.findUnique({ where: { id: sessionId }, select: { status: true } });
      if (!current) return null;
      if (current.status === status) {
        for (const entry of opts.extra ?? []) await tx.sessionLog.create({ data: { sessionId, ...entry, status: entry.status ?? status, details: entry.details ?? undefined } });
        return null;
      }
      const leavingQr = status !== 'QR_READY';
      const updated = await tx.whatsAppSession.updateMany({
        where: { id: sessionId, status: current.status },
        data: {
          status,
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

  /** The one path for a new QR: stored with its expiry, logged, pushed; the status becomes QR_READY. */
  /** A QR from the provider; `fetched`: we asked for it just now, so it is current right now. */
  async function applyQr(sessionId: string, qr: string, opts: { fetched?: boolean } = {}) {
    const expiresAt = new Date(clock.now() + timings.qrTtlMs);
    const result = await prisma.$transaction(async (tx) => {
      const current = await tx.whatsAppSession.findUnique({ where: { id: sessionId }, select: { status: true, qrCode: true, connectStartedAt: true } });
      if (!current) return null;
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
      // Conditional on what was read: a status change committed meanwhile wins (READ COMMITTED).
      const updated = await tx.whatsAppSession.updateMany({
        where: { id: sessionId, status: current.status, qrCode: current.qrCode },
        data: { status: 'QR_READY', qrCode: qr, qrExpiresAt: expiresAt, connectStartedAt: current.connectStartedAt ?? now() },
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

  async function assertAllowed(id: string, action: SessionAction) {
    const session = await load(id);
    assertActionAllowed(session.status, action);
    return session;
  }

  function decryptedApiKey(session: WhatsAppSession): string | null {
    return session.apiKeyEncrypted ? secrets.decrypt(session.apiKeyEncrypted) : null;
  }

  // --- background work: QR freshness, abandoned attempts, reconciliation -------------------------

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
      try {
        const qr = await provider.getQrCode(providerId(session));
        await applyQr(session.id, qr, { fetched: true });
      } catch (error) {
        // The provider may have moved on (scanned, dropped); reconciliation repairs the status.
        logger.warn({ sessionId: session.id, err: error }, 'QR refresh failed');
      }
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
      await provider.disconnectSession(providerId(session)).catch((error: unknown) =>
        logger.warn({ sessionId: session.id, err: error }, 'disconnect after give-up failed'),
      );
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
        const remote = await provider.getSession(providerId(session));
        if (remote.status !== session.status && !(remote.status === 'QR_READY' && !session.qrCode)) {
          await applyStatus(session.id, remote.status, {
            message: `Reconciled with the provider: status was ${session.status}, provider says ${remote.status}`,
          });
        }
      } catch (error) {
        logger.warn({ sessionId: session.id, err: error }, 'reconciliation failed');
      }
    }
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
    applyStatus,
    applyQr,

    async get(viewer: Viewer, id: string) {
      return load(id, viewer);
    },

    async create(raw: unknown) {
      const parsed = CreateSessionInput.safeParse(raw);
      if (!parsed.success) throw badInputFromIssues(parsed.error.issues);
      const input = parsed.data;
      const webhookUrl = deps.webhookUrl();
      const remote = await callProvider(null, 'Create session', () =>
        provider.createSession({
          name: input.name,
          phoneNumber: input.phoneNumber,
          accountProtection: input.accountProtection,
          logMessages: input.logMessages,
          readIncomingMessages: input.autoReadMessages,
          autoRejectCalls: input.autoRejectCalls,
          webhookUrl,
          webhookEnabled: true,
          webhookEvents: WEBHOOK_EVENTS,
        }),
      );
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
              status: remote.status,
              providerSessionId: remote.id,
              apiKeyEncrypted: secrets.encrypt(remote.apiKey!),
              apiKeyHash: secrets.keyedHash(remote.apiKey!),
              webhookSecretEncrypted: secrets.encrypt(remote.webhookSecret!),
              webhookUrl,
            },
          });
          await tx.sessionLog.create({
            data: { sessionId: session.id, type: 'CREATED', status: session.status, message: `Session "${session.name}" created for ${session.phoneNumber}` },
          });
          return session;
        });
        credentialsChanged(created.apiKeyHash);
        return created;
      } catch (error) {
        // Leave nothing half-made at the provider either.
        await provider.deleteSession(remote.id).catch((e: unknown) => logger.error({ providerSessionId: remote.id, err: e }, 'could not remove provider session after failed create'));
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

    async connect(id: string) {
      const session = await assertAllowed(id, 'CONNECT');
      await log(id, { type: 'CONNECT_REQUESTED', message: 'Connection requested', status: session.status });
      const result = await callProvider(session, 'Connect', () => provider.connectSession(providerId(session)));
      await prisma.whatsAppSession.update({ where: { id }, data: { connectStartedAt: now(), qrCode: null, qrExpiresAt: null } });
      if (result.qrCode) await applyQr(id, result.qrCode);
      else if (result.status !== session.status) await applyStatus(id, result.status);
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
      credentialsChanged(session.apiKeyHash);
      pubsub.publish('sessionDeleted', id, { sessionId: id });
      pubsub.publish('anySessionDeleted', { sessionId: id });
      logger.info({ sessionId: id }, 'session deleted');
      return id;
    },

    async rotateApiKey(id: string) {
      const session = await load(id);
      const apiKey = await callProvider(session, 'Rotate API key', () => provider.regenerateApiKey(providerId(session)));
      const [updated] = await prisma.$transaction([
        prisma.whatsAppSession.update({
          where: { id },
          data: { apiKeyEncrypted: secrets.encrypt(apiKey), apiKeyHash: secrets.keyedHash(apiKey) },
        }),
        prisma.sessionLog.create({ data: { sessionId: id, type: 'API_KEY_ROTATED', status: session.status, message: 'API key rotated; the old key no longer works' } }),
      ]);
      credentialsChanged(session.apiKeyHash, updated.apiKeyHash);
      return updated;
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

    apiKeyOf: decryptedApiKey,

    /** The provider's status value, mapped, for webhook handlers. */
    mapProviderStatus: toSessionStatus,

    async runMaintenance() {
      await abandonStaleAttempts();
      await refreshExpiringQrs();
    },
    reconcile,

    startBackground() {
      if (!stopped) return;
      stopped = false;
      every(timings.maintenanceIntervalMs, () => this.runMaintenance(), 'session maintenance');
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

export type SessionService = ReturnType<typeof createSessionService>;
