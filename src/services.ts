/**
 * The domain services, created once per app and shared by GraphQL resolvers and HTTP routes.
 */
import type { Clock } from './lib/clock.ts';
import type { SecretBox } from './lib/crypto.ts';
import type { Prisma } from './lib/database.ts';
import type { PlainSql } from './lib/plain-sql.ts';
import type { Logger } from './lib/logger.ts';
import type { AppPubSub } from './lib/pubsub.ts';
import type { WasenderClient } from './provider/wasender-client.ts';
import { createAuthService, type AuthService } from './modules/auth/auth.service.ts';
import { createAbuseLimits, type AbuseLimits } from './modules/auth/abuse-limits.ts';
import type { RateLimiter } from './lib/rate-limiter.ts';
import { createInboxService, type InboxService } from './modules/inbox/inbox.service.ts';
import { createInboxReads, type InboxReads } from './modules/inbox/inbox-reads.ts';
import { createSessionReads, type SessionReads } from './modules/sessions/session-reads.ts';
import { createMonitoringService, type MonitoringService } from './modules/monitoring/monitoring.service.ts';
import { createSessionCounters, type SessionCounters } from './modules/monitoring/session-counters.ts';
import { createMediaService, DEFAULT_MEDIA_OPTIONS, type MediaOptions, type MediaService } from './modules/media/media.service.ts';
import type { ProviderSettingsService } from './modules/provider/provider-settings.service.ts';
import { createSessionService, type SessionService, type SessionTimings } from './modules/sessions/session.service.ts';
import { createSessionImport, type SessionImport } from './modules/sessions/session.import.ts';
import { createWebhookSync, type WebhookSync } from './modules/sessions/session.webhook-sync.ts';
import { createWebhookApplier } from './modules/webhooks/webhook.applier.ts';
import { createWebhookProcessor, type WebhookProcessing, type WebhookProcessor } from './modules/webhooks/webhook.processor.ts';
import { createWebhookService, type WebhookService } from './modules/webhooks/webhook.service.ts';
import { createWebhookRetention, type WebhookRetention, type WebhookRetentionOptions } from './modules/webhooks/webhook.retention.ts';
import { createBulkService, type BulkService } from './modules/bulk/bulk.service.ts';
import { createOutboxRecords } from './modules/outbox/outbox.records.ts';
import { createOutboxService, type OutboxService } from './modules/outbox/outbox.service.ts';
import { createOutboxSettler } from './modules/outbox/outbox.settle.ts';
import { createOutboxWorker, DEFAULT_OUTBOX_SETTINGS, type OutboxSettings, type OutboxWorker } from './modules/outbox/outbox.worker.ts';

export interface ServiceDeps {
  prisma: Prisma;
  /** The same database in plain SQL, for the hot paths: webhook ingest and apply, the inbox's pages. */
  sql: PlainSql;
  pubsub: AppPubSub;
  clock: Clock;
  logger: Logger;
  secrets: SecretBox;
  adminToken: string | null;
  provider: WasenderClient;
  providerSettings: ProviderSettingsService;
  webhookUrl: () => string;
  /** Our public base URL (links to media point there). */
  publicUrl: () => string;
  media?: MediaOptions;
  /** Why the provider cannot reach webhookUrl, or null when it can. */
  webhookUrlProblem?: () => string | null;
  sessionTimings: SessionTimings;
  webhookRetention: WebhookRetentionOptions;
  webhookProcessing?: Partial<WebhookProcessing>;
  /** Counters for our own limits (Redis-backed when configured). */
  limiter: RateLimiter;
  rateLimits: { operationsPerMinute: number; authFailuresPerMinute: number };
  /** Production refuses outbound media on loopback or private addresses. */
  production: boolean;
  outbox?: Partial<OutboxSettings>;
}

export interface Services {
  clock: Clock;
  /** Secrets at rest: seal, open, keyed hashes. */
  secrets: SecretBox;
  auth: AuthService;
  abuseLimits: AbuseLimits;
  providerSettings: ProviderSettingsService;
  sessions: SessionService;
  sessionImport: SessionImport;
  webhookSync: WebhookSync;
  inbox: InboxService;
  /** The inbox's pages for many parents at once (chats of sessions, messages by id). */
  inboxReads: InboxReads;
  /** The sessions connection's pages. */
  sessionReads: SessionReads;
  media: MediaService;
  webhooks: WebhookService;
  webhookProcessor: WebhookProcessor;
  webhookRetention: WebhookRetention;
  monitoring: MonitoringService;
  /** Per-session hourly counts (provider calls, refused webhooks), written in batches. */
  sessionCounters: SessionCounters;
  outbox: OutboxService;
  outboxWorker: OutboxWorker;
  bulk: BulkService;
}

export function createServices(deps: ServiceDeps): Services {
  const sessions = createSessionService({ ...deps, timings: deps.sessionTimings });
  const inbox = createInboxService({ ...deps, sessions });
  const sessionCounters = createSessionCounters(deps);
  const webhookProcessor = createWebhookProcessor({
    prisma: deps.prisma,
    sql: deps.sql,
    logger: deps.logger,
    applySession: createWebhookApplier({ sessions, inbox }),
    prunePendingStatuses: (retentionMs) => inbox.prunePendingStatuses(retentionMs),
    processing: deps.webhookProcessing,
  });
  const webhooks = createWebhookService({
    sql: deps.sql,
    sessions,
    pubsub: deps.pubsub,
    logger: deps.logger,
    now: () => deps.clock.now(),
    onStored: (sessionId) => webhookProcessor.notifyStored(sessionId),
  });
  const auth = createAuthService(deps);
  const outboxSettings = { ...DEFAULT_OUTBOX_SETTINGS, ...deps.outbox };
  const bulk = createBulkService({ ...deps, settings: outboxSettings, wake: () => outboxWorker.wake() });
  const records = createOutboxRecords({ ...deps, inbox, onJobChange: (id) => bulk.jobChanged(id) });
  const outboxWorker = createOutboxWorker({
    ...deps,
    sessions,
    inbox,
    records,
    settings: outboxSettings,
    settle: createOutboxSettler({ ...deps, sessions, records, settings: outboxSettings }),
  });
  return {
    clock: deps.clock,
    secrets: deps.secrets,
    auth,
    abuseLimits: createAbuseLimits({ limiter: deps.limiter, secrets: deps.secrets, limits: deps.rateLimits }),
    providerSettings: deps.providerSettings,
    sessions,
    sessionImport: createSessionImport({ ...deps, webhookUrlWarning: sessions.webhookUrlWarning, webhookSecretHashOf: sessions.webhookSecretHashOf }),
    webhookSync: createWebhookSync(deps),
    inbox,
    inboxReads: createInboxReads(deps),
    sessionReads: createSessionReads(deps),
    media: createMediaService({ ...deps, auth, sessions, options: deps.media ?? DEFAULT_MEDIA_OPTIONS }),
    webhooks,
    webhookProcessor,
    webhookRetention: createWebhookRetention({ prisma: deps.prisma, logger: deps.logger, options: deps.webhookRetention }),
    monitoring: createMonitoringService({ ...deps, sessions, counters: sessionCounters }),
    sessionCounters,
    outbox: createOutboxService({ ...deps, inbox, wake: () => outboxWorker.wake() }),
    outboxWorker,
    bulk,
  };
}
