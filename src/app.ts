/**
 * buildApp(config) → { start, stop }: the whole service on one port. No side effects until start().
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publicUrlProblem, type AppConfig } from './config.ts';
import { buildSchema } from './graphql/schema.ts';
import { createYogaServer, type YogaServer } from './graphql/yoga.ts';
import { attachGraphqlWs } from './http/graphql-ws.ts';
import { sendJson } from './http/respond.ts';
import { pathnameOf } from './http/request-path.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { openDatabase, type Database, type EmbeddedStart } from './lib/database.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { requestIdFrom, runWithRequestContext } from './lib/request-context.ts';
import { deployMigrations } from './lib/migrations.ts';
import { startEmbeddedStatistics } from './lib/embedded-statistics.ts';
import { createAppPubSub, type PubSubHandle } from './lib/pubsub.ts';
import { createServices, type Services } from './services.ts';
import { randomToken, safeEqual } from './lib/crypto.ts';
import { encryptionKeys, openSecretBox } from './lib/secret-box.ts';
import { createRateLimiter } from './lib/rate-limiter.ts';
import { loadOrCreateDevAdminToken } from './lib/dev-admin-token.ts';
import { bearerToken } from './modules/auth/viewer.ts';
import { handleWebhook, WEBHOOK_PATHS, type WebhookObserver } from './http/webhook-route.ts';
import { handleMetrics, METRICS_PATH } from './http/metrics-route.ts';
import { createMetrics, type Metrics } from './lib/metrics.ts';
import { PROVIDER_CALL_COUNTER, WEBHOOK_REJECTED_COUNTER } from './modules/monitoring/monitoring.service.ts';
import { WEBHOOK_EVENTS } from './modules/sessions/session.service.ts';
import { CONSOLE_PATH, handleConsole } from './http/console-route.ts';
import { handleMedia, MEDIA_PATH } from './http/media-route.ts';
import { createProviderSettingsService } from './modules/provider/provider-settings.service.ts';
import { DEFAULT_SESSION_TIMINGS, type SessionTimings } from './modules/sessions/session.service.ts';
import { DEFAULT_WEBHOOK_RETENTION, type WebhookRetentionOptions } from './modules/webhooks/webhook.retention.ts';
import type { WebhookProcessing } from './modules/webhooks/webhook.processor.ts';
import type { OutboxSettings } from './modules/outbox/outbox.worker.ts';
import { createWasenderClient, type ProviderCallRecord, type WasenderClientOptions } from './provider/wasender-client.ts';
import { createSandbox, type Sandbox, type SandboxOptions } from './sandbox/sandbox.ts';
import type { WebSocket } from 'ws';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MIGRATIONS_DIR = path.join(root, 'prisma/migrations');

export interface AppDeps {
  clock?: Clock;
  logger?: Logger;
  /** Host to bind; tests use 127.0.0.1. */
  host?: string;
  sessionTimings?: Partial<SessionTimings>;
  webhookRetention?: Partial<Omit<WebhookRetentionOptions, 'retentionDays'>>;
  /** Retries, back-off and retention of webhook application (tests make them short). */
  webhookProcessing?: Partial<WebhookProcessing>;
  /** Options for the built-in sandbox (when it is on). */
  sandbox?: Partial<SandboxOptions>;
  provider?: Partial<WasenderClientOptions>;
  /** Pacing, retries and settling of the outbox (tests make them short). */
  outbox?: Partial<OutboxSettings>;
  /** How often the embedded database is vacuumed and analyzed (tests make it short). */
  embeddedMaintenanceMs?: number;
  /** How a new embedded database starts (tests: from one migrated once per run). */
  embeddedStart?: EmbeddedStart;
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
  /** The admin token in force: ADMIN_TOKEN, or one generated for development; null in production without it. */
  adminToken: { value: string; generated: boolean } | null;
  /** Where the provider posts webhooks. */
  webhookUrl: string;
  metrics: Metrics;
  /** Where GET /metrics is served: `${url}/metrics`, or on METRICS_PORT. */
  metricsUrl: string;
}

function isAdminBearer(req: IncomingMessage, adminToken: string | null): boolean {
  const token = bearerToken(req.headers.authorization);
  return adminToken !== null && token !== null && safeEqual(token, adminToken);
}

/**
 * Shutdown runs phase by phase: stop taking work in, let the requests in flight finish, stop the
 * background work, then close connections to the database and Redis. Within a phase, the step
 * registered last runs first.
 */
const STOP_PHASES = ['intake', 'requests', 'work', 'connections'] as const;
type StopPhase = (typeof STOP_PHASES)[number];
/** How long requests in flight may take to finish once shutdown begins. */
const REQUEST_GRACE_MS = 5_000;
/** How long WebSocket clients have to answer our close frame. */
const WS_CLOSE_GRACE_MS = 1_000;
/** How long start-up waits for the link to Redis before going on without it. */
const REDIS_START_WAIT_MS = 5_000;

export function buildApp(config: AppConfig, deps: AppDeps = {}) {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  let running: RunningApp | null = null;
  let stopSteps = emptyStopSteps();
  const onStop = (phase: StopPhase, step: () => Promise<void>) => void stopSteps[phase].unshift(step);
  let stopping: Promise<void> | null = null;
  let ready = false;

  async function start(): Promise<RunningApp> {
    if (running) return running;
    const db = await openDatabase({ databaseUrl: config.databaseUrl ?? undefined, dataDir: config.dataDir, embeddedStart: deps.embeddedStart });
    onStop('connections', () => db.close());
    const applied = await db.withMigrationAdapter((factory) => deployMigrations(factory, MIGRATIONS_DIR));
    if (applied.length) logger.info({ applied }, 'migrations applied');
    onStop('work', startEmbeddedStatistics(db, logger, deps.embeddedMaintenanceMs));

    const pubsub = createAppPubSub(config.redisUrl, logger.child({ component: 'pubsub' }));
    onStop('connections', () => pubsub.close());
    // A process that starts while Redis is away still serves (its own subscribers, webhooks); it
    // just reports not ready until the link is up.
    if (!(await pubsub.linked(REDIS_START_WAIT_MS))) logger.warn('redis not reachable at start: events reach only this process until it is');

    const secrets = await openSecretBox(db.prisma, await encryptionKeys(config));
    const adminToken: RunningApp['adminToken'] = config.adminToken
      ? { value: config.adminToken, generated: false }
      : config.production
        ? null
        : { value: await loadOrCreateDevAdminToken(config.dataDir), generated: true };

    // Bind the port first: the sandbox URL and the webhook URL depend on it.
    const server = createServer((req, res) => {
      // Every line logged for this request, down to the provider calls it makes, carries its id.
      const requestId = requestIdFrom(req.headers['x-request-id']);
      res.setHeader('x-request-id', requestId);
      runWithRequestContext({ requestId }, () =>
        route(req, res).catch((error: unknown) => {
          logger.error({ err: error, path: req.url }, 'request failed');
          if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
          else res.destroy();
        }),
      );
    });
    let serverClosed: Promise<void> = Promise.resolve();
    onStop('intake', async () => {
      serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
    });
    onStop('requests', async () => {
      // A connection kept alive after its request finished holds close() open: close those as they
      // go idle, and cut what is still running at the deadline.
      const deadline = Date.now() + REQUEST_GRACE_MS;
      let closed = false;
      void serverClosed.then(() => (closed = true));
      while (!closed && Date.now() < deadline) {
        server.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      server.closeAllConnections();
      await serverClosed;
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, deps.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${deps.host && deps.host !== '0.0.0.0' ? deps.host : 'localhost'}:${port}`;
    const publicUrl = config.publicUrl ?? url;
    const webhookUrl = `${publicUrl}/api/whatsapp/webhook`;

    let sandbox: RunningApp['sandbox'] = null;
    if (config.wasender.sandbox) {
      const token = config.wasender.apiToken ?? `sandbox-${randomToken(18)}`;
      const instance = createSandbox({
        personalAccessToken: token,
        clock,
        logger: logger.child({ component: 'sandbox' }),
        // In production the endpoints that fake phones and users are the admin's alone.
        ...(config.production ? { authorizeControl: (req: IncomingMessage) => isAdminBearer(req, config.adminToken) } : {}),
        ...config.sandbox,
        ...deps.sandbox,
      });
      onStop('work', () => instance.close());
      sandbox = { instance, token, baseUrl: `${url}/sandbox/api` };
      logger.info({ baseUrl: sandbox.baseUrl }, 'provider sandbox on: no WhatsApp account is used');
    }
    // The real provider posts only to a public HTTPS URL (production refuses to start without one).
    const webhookUrlProblem = sandbox ? null : publicUrlProblem(publicUrl);
    if (webhookUrlProblem) logger.warn({ publicUrl, reason: webhookUrlProblem }, 'PUBLIC_URL cannot receive the provider\'s webhooks: sessions will hear nothing from it until it is a public HTTPS URL');
    const providerBaseUrl = sandbox?.baseUrl ?? config.wasender.baseUrl;
    const metrics = createMetrics();
    // Each provider call is a metric, and counts for its session's error rate (once services exist).
    let countProviderCall: (call: ProviderCallRecord) => void = () => {};
    // Retry back-off runs on real time even when tests inject a manual clock.
    const clientOptions: Partial<WasenderClientOptions> = {
      logger: logger.child({ component: 'provider' }),
      onCall: (call) => {
        metrics.providerCall(call);
        countProviderCall(call);
      },
      ...deps.provider,
    };
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
    onStop('work', () => providerSettings.close());
    const provider = createWasenderClient({ ...clientOptions, baseUrl: providerBaseUrl, personalAccessToken: () => providerSettings.currentToken() });

    const limiter = createRateLimiter({ redisUrl: config.redisUrl, clock, logger: logger.child({ component: 'rate-limits' }) });
    onStop('connections', () => limiter.close());
    const services = createServices({
      limiter,
      rateLimits: config.rateLimits,
      prisma: db.prisma,
      sql: db.sql,
      pubsub: pubsub.pubsub,
      clock,
      logger,
      secrets,
      adminToken: adminToken?.value ?? null,
      provider,
      providerSettings,
      webhookUrl: () => webhookUrl,
      publicUrl: () => publicUrl,
      media: config.media,
      webhookUrlProblem: () => webhookUrlProblem,
      sessionTimings: { ...DEFAULT_SESSION_TIMINGS, ...deps.sessionTimings },
      webhookRetention: { ...DEFAULT_WEBHOOK_RETENTION, ...deps.webhookRetention, retentionDays: config.webhookRetentionDays },
      webhookProcessing: deps.webhookProcessing,
      production: config.production,
      outbox: { ratePerMinute: config.sendRatePerMinute, ...deps.outbox },
    });
    const yoga = createYogaServer({
      schema: buildSchema(),
      prisma: db.prisma,
      pubsub: pubsub.pubsub,
      services,
      logger,
      metrics,
      graphiql: config.graphiql,
      graphiqlToken: config.production ? null : (adminToken?.value ?? null),
    });

    const ws = attachGraphqlWs({ server, yoga, auth: services.auth, abuseLimits: services.abuseLimits, clock, logger: logger.child({ component: 'graphql-ws' }) });
    // After the server stopped accepting (intake), before waiting on HTTP requests.
    onStop('requests', async () => {
      await closeSockets(ws.wss.clients, 1001, 'Server shutting down', WS_CLOSE_GRACE_MS);
      await ws.close();
    });
    countProviderCall = ({ session, outcome }) => {
      if (!session) return;
      const name = `${PROVIDER_CALL_COUNTER}${outcome}`;
      if ('apiKey' in session) services.sessionCounters.count({ apiKeyHash: services.sessions.apiKeyHashOf(session.apiKey) }, name);
      else services.sessionCounters.count(session, name);
    };
    services.sessionCounters.start();
    onStop('connections', () => services.sessionCounters.stop());
    metrics.setSources({
      sessionsByStatus: () => services.monitoring.sessionsByStatus(),
      outbox: () => services.monitoring.outbox(),
      live: () => ({ connections: ws.wss.clients.size, subscriptions: ws.hub.stats().subscribers }),
    });
    const knownEvents = new Set<string>(WEBHOOK_EVENTS);
    const observeWebhook: WebhookObserver = (o) => {
      // Unauthenticated senders choose the event name: only known ones become label values.
      const event = 'event' in o && o.event ? (knownEvents.has(o.event) ? o.event : 'other') : 'none';
      metrics.webhookEvent(event, o.outcome);
      if ('lagMs' in o && o.lagMs !== undefined && o.outcome === 'stored') metrics.webhookLag(o.lagMs / 1000);
      if (o.outcome === 'bad_signature' && o.sessionId) services.sessionCounters.count({ sessionId: o.sessionId }, WEBHOOK_REJECTED_COUNTER);
    };
    const metricsTokens = config.metrics.token ? [config.metrics.token, ...(adminToken ? [adminToken.value] : [])] : null;
    const serveMetrics = (req: IncomingMessage, res: ServerResponse) => handleMetrics(req, res, { metrics, tokens: metricsTokens, logger });
    let metricsUrl = `${url}${METRICS_PATH}`;
    if (config.metrics.port !== null) {
      const metricsServer = createServer((req, res) => {
        const pathname = pathnameOf(req.url);
        if (pathname !== METRICS_PATH) return sendJson(res, 404, { error: 'not found' });
        serveMetrics(req, res).catch((error: unknown) => {
          logger.error({ err: error }, 'metrics request failed');
          if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        });
      });
      await new Promise<void>((resolve, reject) => {
        metricsServer.once('error', reject);
        metricsServer.listen(config.metrics.port!, deps.host, () => resolve());
      });
      onStop('intake', async () => {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      });
      const metricsPort = (metricsServer.address() as AddressInfo).port;
      metricsUrl = `http://${deps.host && deps.host !== '0.0.0.0' ? deps.host : 'localhost'}:${metricsPort}${METRICS_PATH}`;
    }

    // Sessions stored before webhook secrets were hashed: hashed once (one process), so envelopes
    // without sessionId find them; a look-up that misses hashes stragglers too.
    await services.sessions
      .fillWebhookSecretHashes({ claimed: true })
      .catch((error: unknown) => logger.warn({ err: error }, 'could not index webhook secrets at start'));
    services.webhookProcessor.start();
    services.sessions.startBackground();
    services.webhookRetention.start();
    services.outboxWorker.start();
    services.bulk.startBackground();
    // In the background: start-up does not wait on the provider.
    const webhookSync = services.webhookSync.syncWebhookUrls().catch((error: unknown) => logger.warn({ err: error }, 'webhook URL sync failed'));
    // A slow provider must not hold shutdown past its deadline: what is not done is redone next start.
    onStop('work', () => Promise.race([webhookSync.then(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref())]));
    onStop('work', async () => {
      await services.auth.close();
      services.sessions.stopBackground();
      await services.bulk.stopBackground();
      await services.outboxWorker.stop();
      await services.webhookRetention.stop();
      await services.webhookProcessor.stop();
      await services.webhooks.drain();
      await services.webhooks.close();
    });

    // Pages opened on this machine in development sign in with the generated token (as the banner shows it).
    const consoleOptions = { devToken: () => (!config.production && adminToken?.generated ? adminToken.value : null), rebuildOnChange: !config.production };

    async function route(req: IncomingMessage, res: ServerResponse) {
      const pathname = pathnameOf(req.url);
      if (pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (!ready) {
        res.setHeader('connection', 'close');
        return sendJson(res, 503, { status: stopping ? 'stopping' : 'starting' });
      }
      if (pathname === '/readyz') {
        const failures: Record<string, string> = {};
        await db.ping().catch((e: Error) => (failures.database = e.message));
        await pubsub.ping().catch((e: Error) => (failures.redis = e.message));
        return Object.keys(failures).length
          ? sendJson(res, 503, { status: 'unavailable', failures })
          : sendJson(res, 200, { status: 'ready' });
      }
      if (pathname === '/graphql' || pathname.startsWith('/graphql/')) {
        const refusal = graphqlBodyRefusal(req);
        if (refusal) {
          res.setHeader('connection', 'close');
          return sendJson(res, refusal.status, { errors: [{ message: refusal.message, extensions: { code: 'BAD_USER_INPUT' } }] });
        }
        return yoga(req, res);
      }
      if (WEBHOOK_PATHS.has(pathname)) return handleWebhook(req, res, services.webhooks, logger, observeWebhook);
      if (pathname === METRICS_PATH && config.metrics.port === null) return serveMetrics(req, res);
      if (pathname.startsWith(MEDIA_PATH)) return handleMedia(req, res, pathname.slice(MEDIA_PATH.length), services.media);
      if (pathname === CONSOLE_PATH || pathname.startsWith(`${CONSOLE_PATH}/`)) return handleConsole(req, res, pathname, consoleOptions);
      if (sandbox && pathname.startsWith('/sandbox/')) return sandbox.instance.handle(req, res, pathname.slice('/sandbox'.length));
      sendJson(res, 404, { error: 'not found' });
    }

    running = { url, yoga, db, services, pubsub, server, sandbox, adminToken, webhookUrl, metrics, metricsUrl, liveStats: () => ws.hub.stats() };
    ready = true;
    logger.info({ url, database: db.kind, pubsub: config.redisUrl ? 'redis' : 'memory' }, 'listening');
    return running;
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      ready = false;
      const steps = stopSteps;
      stopSteps = emptyStopSteps();
      running = null;
      for (const phase of STOP_PHASES) {
        for (const step of steps[phase]) {
          await step().catch((error: unknown) => logger.warn({ phase, err: error }, 'shutdown step failed'));
        }
      }
    })();
    return stopping;
  }

  return { start, stop };
}

export type App = ReturnType<typeof buildApp>;

/** The largest GraphQL request body taken (a document at the token limit with its variables fits easily). */
export const MAX_GRAPHQL_BODY_BYTES = 1024 * 1024;

/** Why a GraphQL request's body is refused before it is read, or null. */
function graphqlBodyRefusal(req: IncomingMessage): { status: number; message: string } | null {
  if (req.method !== 'POST') return null;
  const length = req.headers['content-length'];
  if (length === undefined) return req.headers['transfer-encoding'] ? { status: 411, message: 'Send the body with a Content-Length' } : null;
  return Number(length) > MAX_GRAPHQL_BODY_BYTES ? { status: 413, message: `Body exceeds ${MAX_GRAPHQL_BODY_BYTES} bytes` } : null;
}

function emptyStopSteps(): Record<StopPhase, (() => Promise<void>)[]> {
  return { intake: [], requests: [], work: [], connections: [] };
}

/** Sends each socket a close frame, and cuts those that have not closed after `graceMs`. */
async function closeSockets(sockets: Set<WebSocket>, code: number, reason: string, graceMs: number) {
  await Promise.all(
    [...sockets].map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === socket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            socket.terminate();
            resolve();
          }, graceMs);
          socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          socket.close(code, reason);
        }),
    ),
  );
}
