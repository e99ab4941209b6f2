/**
 * Starts the real app (HTTP, WebSocket, sandbox) on a free port with a fresh database, and gives
 * typed GraphQL execution through yoga.fetch.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { buildApp, type AppDeps, type RunningApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, embeddedStart, usingPostgres, type TestDatabase } from './database.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  url: string;
  running: RunningApp;
  clock: ManualClock | undefined;
  execute<TData, TVars extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVars>,
    variables?: TVars,
    opts?: { token?: string | null },
  ): Promise<{ data?: TData | null; errors?: GraphQLErrorShape[]; status: number }>;
  /** Like execute, but fails the test on any error. */
  data<TData, TVars extends Record<string, unknown>>(document: TypedDocumentNode<TData, TVars>, variables?: TVars): Promise<TData>;
  stop(): Promise<void>;
}

export interface GraphQLErrorShape {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface TestAppOptions extends Omit<AppDeps, 'clock'> {
  /** Use a manual clock (advance it to expire QRs and rate limits). */
  manualClock?: boolean;
  env?: Record<string, string>;
  /** Share an existing database (a second process of the same deployment). */
  databaseUrl?: string;
  redis?: boolean;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const db = opts.databaseUrl ? { url: opts.databaseUrl, drop: async () => {} } : await createTestDatabase();
  const clock = opts.manualClock ? new ManualClock(Date.now()) : undefined;
  const config = loadConfig({
    PORT: '0',
    ADMIN_TOKEN,
    NODE_ENV: 'test',
    DATA_DIR: 'memory://',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Tests poll the API as fast as they like (on a manual clock a minute may never end): our own
    // limits are off unless a test sets them (test/access/limits.test.ts).
    RATE_LIMIT_PER_MINUTE: '0',
    AUTH_FAILURES_PER_MINUTE: '0',
    ...(db.url ? { DATABASE_URL: db.url } : {}),
    ...(opts.redis && process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    // The sandbox's settings from the environment, so a suite can run against another variant
    // (CI runs some with SANDBOX_ERROR_WORDING=alternate); a test's own env still wins.
    ...sandboxEnv(),
    ...opts.env,
  });
  const app = buildApp(config, {
    host: '127.0.0.1',
    logger: createLogger({ level: config.logLevel }),
    ...opts,
    // Quick retries so redelivery and back-off tests take milliseconds, not minutes.
    sandbox: { webhookRetry: { attempts: 8, baseDelayMs: 100 }, ...opts.sandbox },
    provider: { backoff: { baseMs: 20, maxMs: 200 }, ...opts.provider },
    ...(clock ? { clock } : {}),
    ...(usingPostgres ? {} : { embeddedStart: await embeddedStart() }),
  });
  let running: RunningApp;
  try {
    running = await app.start();
  } catch (error) {
    await app.stop();
    await db.drop();
    throw error;
  }

  const execute: TestApp['execute'] = async (document, variables, o = {}) => {
    const token = o.token === undefined ? ADMIN_TOKEN : o.token;
    const res = await running.yoga.fetch(`${running.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await res.json()) as { data?: never; errors?: GraphQLErrorShape[] };
    return { ...body, status: res.status };
  };

  return {
    url: running.url,
    running,
    clock,
    execute,
    async data(document, variables) {
      const result = await execute(document, variables);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors, null, 2)}`);
      return result.data!;
    },
    async stop() {
      await app.stop();
      await db.drop();
    },
  };
}

export interface TestDeployment {
  db: TestDatabase;
  apps: TestApp[];
  stop(): Promise<void>;
}

/**
 * Several processes of one deployment: one fresh database and one encryption key (and one Redis with
 * `redis: true`), as processes behind a load balancer share them.
 */
export async function startDeployment(count: number, opts: TestAppOptions = {}): Promise<TestDeployment> {
  const db = await createTestDatabase();
  const env = { ENCRYPTION_KEY: randomBytes(32).toString('hex'), ...opts.env };
  const apps = await Promise.all(Array.from({ length: count }, () => startTestApp({ ...opts, databaseUrl: db.url, env })));
  return {
    db,
    apps,
    async stop() {
      await Promise.all(apps.map((app) => app.stop()));
      await db.drop();
    },
  };
}

/**
 * Several processes of one deployment on one provider account: the first serves the sandbox and
 * the others use it as their provider (as processes of one deployment share one account), so a
 * session's work may be done by any of them. Needs PostgreSQL (each app gets the same database).
 */
export async function startSharedDeployment(count: number, opts: TestAppOptions = {}): Promise<TestDeployment> {
  const db = await createTestDatabase();
  const env = { ENCRYPTION_KEY: randomBytes(32).toString('hex'), ...opts.env };
  const first = await startTestApp({ ...opts, databaseUrl: db.url, env });
  const sandbox = first.running.sandbox!;
  const others = await Promise.all(
    Array.from({ length: count - 1 }, () =>
      startTestApp({ ...opts, databaseUrl: db.url, env: { ...env, WASENDER_SANDBOX: '0', WASENDER_BASE_URL: sandbox.baseUrl, WASENDER_API_TOKEN: sandbox.token } }),
    ),
  );
  const apps = [first, ...others];
  return {
    db,
    apps,
    async stop() {
      // The sandbox's process last: the others may still be calling it.
      await Promise.all(others.map((app) => app.stop()));
      await first.stop();
      await db.drop();
    },
  };
}

/** The sandbox's settings (wording, limits) from the environment, so a whole suite can run under them. */
function sandboxEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('SANDBOX_') && e[1] !== undefined));
}

/** Polls until `check` returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw lastError instanceof Error ? lastError : new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * graphql-ws does not acknowledge a subscribe: call this before subscribing, then await what it
 * returns, and it resolves once `count` more subscriptions of this app listen for events.
 */
export function subscriptionsStarting(app: TestApp, count: number): () => Promise<void> {
  const before = app.running.liveStats().started;
  return async () => {
    await eventually(() => app.running.liveStats().started >= before + count, 10_000);
  };
}
