/**
 * buildApp(config) → { start, stop }: the whole service on one port. No side effects until start().
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from './config.ts';
import { buildSchema } from './graphql/schema.ts';
import { createYogaServer, type YogaServer } from './graphql/yoga.ts';
import { attachGraphqlWs } from './http/graphql-ws.ts';
import { sendJson } from './http/respond.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { openDatabase, type Database } from './lib/database.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { deployMigrations } from './lib/migrations.ts';
import { createAppPubSub, type PubSubHandle } from './lib/pubsub.ts';
import { createServices, type Services } from './services.ts';
import { createSecretBox, loadOrCreateDevKey, randomToken } from './lib/crypto.ts';
import { handleWebhook, WEBHOOK_PATHS } from './http/webhook-route.ts';
import { createProviderSettingsService } from './modules/provider/provider-settings.service.ts';
import { DEFAULT_SESSION_TIMINGS, type SessionTimings } from './modules/sessions/session.service.ts';
import { createWasenderClient, type WasenderClientOptions } from './provider/wasender-client.ts';
import { createSandbox, type Sandbox, type SandboxOptions } from './sandbox/sandbox.ts';
import { randomBytes } from 'node:crypto';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MIGRATIONS_DIR = path.join(root, 'prisma/migrations');

export interface AppDeps {
  clock?: Clock;
  logger?: Logger;
  /** Host to bind; tests use 127.0.0.1. */
  host?: string;
  sessionTimings?: Partial<SessionTimings>;
  /** Options for the built-in sandbox (when it is on). */
  sandbox?: Partial<SandboxOptions>;
  provider?: Partial<WasenderClientOptions>;
}

export interface RunningApp {
  url: string;
  yoga: YogaServer;
  db: Database;
  services: Services;
  pubsub: PubSubHandle;
  server: Server;
  /** Live subscriptions: distinct executions and subscribers. */
  liveStats: () => import('./http/subscription-hub.ts').HubStats;
  /** The built-in provider sandbox and its personal access token, when it is on. */
  sandbox: { instance: Sandbox; token: string; baseUrl: string } | null;
}

export function buildApp(config: AppConfig, deps: AppDeps = {}) {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config.logLevel);
  let running: RunningApp | null = null;
  let closers: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | null = null;
  let ready = false;

  async function start(): Promise<RunningApp> {
    if (running) return running;
    const db = await openDatabase({ databaseUrl: config.databaseUrl ?? undefined, dataDir: config.dataDir });
    closers.unshift(() => db.close());
    const applied = await db.withMigrationAdapter((factory) => deployMigrations(factory, MIGRATIONS_DIR));
    if (applied.length) logger.info('migrations applied', { applied });

    const pubsub = createAppPubSub(config.redisUrl);
    closers.unshift(() => pubsub.close());

    const encryptionKey =
      config.encryptionKey ??
      (config.dataDir.startsWith('memory://') ? randomBytes(32) : await loadOrCreateDevKey(config.dataDir));
    const secrets = createSecretBox(encryptionKey);

    // Bind the port first: the sandbox URL and the webhook URL depend on it.
    const server = createServer((req, res) => {
      route(req, res).catch((error: unknown) => {
        logger.error('request failed', { error: error instanceof Error ? error : String(error), path: req.url });
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    closers.unshift(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, deps.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${deps.host && deps.host !== '0.0.0.0' ? deps.host : 'localhost'}:${port}`;
    const publicUrl = config.publicUrl ?? url;

    let sandbox: RunningApp['sandbox'] = null;
    if (config.wasender.sandbox) {
      const token = config.wasender.apiToken ?? `sandbox-${randomToken(18)}`;
      const instance = createSandbox({ personalAccessToken: token, clock, logger: logger.child({ component: 'sandbox' }), ...config.sandbox, ...deps.sandbox });
      closers.unshift(() => instance.close());
      sandbox = { instance, token, baseUrl: `${url}/sandbox/api` };
      logger.info('provider sandbox on: no WhatsApp account is used', { baseUrl: sandbox.baseUrl });
    }
    const providerBaseUrl = sandbox?.baseUrl ?? config.wasender.baseUrl;
    // Retry back-off runs on real time even when tests inject a manual clock.
    const clientOptions = { logger: logger.child({ component: 'provider' }), ...deps.provider };
    const providerSettings = createProviderSettingsService({
      prisma: db.prisma,
      secrets,
      clock,
      pubsub: pubsub.pubsub,
      envToken: config.wasender.apiToken,
      sandboxToken: sandbox?.token ?? null,
      baseUrl: providerBaseUrl,
      verifyToken: (token) => provider.verifyToken(token),
    });
    closers.unshift(() => providerSettings.close());
    const provider = createWasenderClient({ ...clientOptions, baseUrl: providerBaseUrl, personalAccessToken: () => providerSettings.currentToken() });

    const services = createServices({
      prisma: db.prisma,
      pubsub: pubsub.pubsub,
      clock,
      logger,
      secrets,
      adminToken: config.adminToken,
      provider,
      providerSettings,
      webhookUrl: () => `${publicUrl}/api/whatsapp/webhook`,
      sessionTimings: { ...DEFAULT_SESSION_TIMINGS, ...deps.sessionTimings },
    });
    const yoga = createYogaServer({
      schema: buildSchema(),
      prisma: db.prisma,
      pubsub: pubsub.pubsub,
      services,
      logger,
      graphiql: config.graphiql,
    });

    const ws = attachGraphqlWs({ server, yoga, auth: services.auth, logger: logger.child({ component: 'graphql-ws' }) });
    closers.unshift(() => ws.close());
    services.webhookProcessor.start();
    services.sessions.startBackground();
    closers.unshift(async () => {
      services.sessions.stopBackground();
      await services.webhookProcessor.stop();
      await services.webhooks.drain();
      await services.webhooks.close();
    });

    async function route(req: IncomingMessage, res: ServerResponse) {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (!ready) return sendJson(res, 503, { status: 'starting' });
      if (pathname === '/readyz') {
        const failures: Record<string, string> = {};
        await db.ping().catch((e: Error) => (failures.database = e.message));
        await pubsub.ping().catch((e: Error) => (failures.redis = e.message));
        return Object.keys(failures).length
          ? sendJson(res, 503, { status: 'unavailable', failures })
          : sendJson(res, 200, { status: 'ready' });
      }
      if (pathname === '/graphql' || pathname.startsWith('/graphql/')) return yoga(req, res);
      if (WEBHOOK_PATHS.has(pathname)) return handleWebhook(req, res, services.webhooks, logger);
      if (sandbox && pathname.startsWith('/sandbox/')) return sandbox.instance.handle(req, res, pathname.slice('/sandbox'.length));
      sendJson(res, 404, { error: 'not found' });
    }

    running = { url, yoga, db, services, pubsub, server, sandbox, liveStats: () => ws.hub.stats() };
    ready = true;
    logger.info('listening', { url, database: db.kind, pubsub: config.redisUrl ? 'redis' : 'memory' });
    return running;
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      const toClose = closers;
      closers = [];
      running = null;
      for (const close of toClose) {
        await close().catch((error: unknown) => logger.warn('shutdown step failed', { error: String(error) }));
      }
    })();
    return stopping;
  }

  return { start, stop };
}

export type App = ReturnType<typeof buildApp>;
