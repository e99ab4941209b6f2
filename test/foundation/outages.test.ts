/**
 * Outages survived: Redis or PostgreSQL going away while the app runs, and coming back.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, serviceAvailable, type TestDatabase } from '../helpers/database.ts';
import { connectedSession, postWebhook, textEvent } from '../helpers/inbox.ts';
import pg from 'pg';
import { Chats } from '../inbox/documents.ts';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.ts';
import { providerSession } from '../helpers/sandbox.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import { ConnectSession, CreateSession, DisconnectSession, ListSessions, newSession, RotateKey, SessionStatusFeed } from '../sessions/documents.ts';

async function readiness(app: TestApp) {
  const res = await fetch(`${app.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { failures?: Record<string, string> } };
}

// Two processes need one shared database: PostgreSQL.
describe.runIf(serviceAvailable('DATABASE_URL'))('Redis goes away and comes back', () => {
  let redis: PrivateRedis;
  let db: TestDatabase;
  let first: TestApp;
  let second: TestApp;
  const sockets: WsClient[] = [];
  beforeAll(async () => {
    redis = await startPrivateRedis();
    db = await createTestDatabase();
    const env = { REDIS_URL: redis.url, ENCRYPTION_KEY: randomBytes(32).toString('hex') };
    [first, second] = await Promise.all([
      startTestApp({ databaseUrl: db.url, env, sessionTimings: { reconcileIntervalMs: 0 } }),
      startTestApp({ databaseUrl: db.url, env, sessionTimings: { reconcileIntervalMs: 0 } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await Promise.all([first?.stop(), second?.stop()]);
    await db?.drop();
    await redis?.stop();
  });

  it('keeps serving each process, reports Redis unready, and relays again when it returns', async () => {
    const { createSession: shared } = await first.data(CreateSession, newSession('Shared', '+255700000901'));
    const old = (await providerSession(first, shared.providerSessionId!))!;
    const signed = { 'x-webhook-signature': old.webhook_secret };
    // The second process looks the key up and keeps it for a while (10 s).
    expect((await postWebhook(second, textEvent(old.api_key, '3EB0OUTAGE00000000000001'), signed)).status).toBe(200);

    const onFirst = connectWs(first.url);
    const onSecond = connectWs(second.url);
    sockets.push(onFirst, onSecond);
    const localFeed = onFirst.subscribe(SessionStatusFeed, {});
    const remoteFeed = onSecond.subscribe(SessionStatusFeed, { sessionId: shared.id });
    await eventually(() => first.running.liveStats().subscribers === 1 && second.running.liveStats().subscribers === 1);

    await redis.stop();
    await eventually(async () => {
      const { status, body } = await readiness(first);
      return status === 503 && Boolean(body.failures?.redis);
    });
    expect((await readiness(second)).status).toBe(503);

    // Without Redis, a process still serves its own subscribers.
    const { createSession: local } = await first.data(CreateSession, newSession('Local', '+255700000902'));
    await first.data(ConnectSession, { id: local.id });
    expect((await localFeed.next()).sessionStatusChanged).toEqual({ id: local.id, status: 'QR_READY' });
    // The rotation's invalidation cannot reach the second process now.
    await first.data(RotateKey, { id: shared.id });

    await redis.start();
    await eventually(async () => (await readiness(first)).status === 200 && (await readiness(second)).status === 200, 10_000);
    // The second process dropped what it cached across the outage: the rotated-out key is refused
    // now, not when its cache entry would have expired.
    expect((await postWebhook(second, textEvent(old.api_key, '3EB0OUTAGE00000000000002'), signed)).status).toBe(401);
    // Events cross between the processes again, to the subscription opened before the outage.
    await first.data(ConnectSession, { id: shared.id });
    expect((await remoteFeed.next()).sessionStatusChanged).toEqual({ id: shared.id, status: 'QR_READY' });
    await first.data(DisconnectSession, { id: shared.id });
    expect((await remoteFeed.next()).sessionStatusChanged.status).toBe('DISCONNECTED');
  });
});

describe.runIf(serviceAvailable('DATABASE_URL'))('PostgreSQL goes away and comes back', () => {
  let db: TestDatabase;
  let app: TestApp;
  let admin: pg.Client;
  const name = () => new URL(db.url!).pathname.slice(1);
  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp({ databaseUrl: db.url });
    const url = new URL(db.url!);
    url.pathname = '/postgres';
    admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE "${name()}" ALLOW_CONNECTIONS true`).catch(() => {});
    await admin?.end();
    await app?.stop();
    await db?.drop();
  });

  it('answers webhooks 503, GraphQL with a masked coded error and readiness 503, then recovers by itself', async () => {
    const session = await connectedSession(app, 'Outage');
    const keys = (await providerSession(app, session.providerSessionId))!;
    const signed = { 'x-webhook-signature': keys.webhook_secret };
    const message = textEvent(keys.api_key, '3EB0PGOUTAGE000000000001');

    // Even superusers cannot connect to a database that allows no connections.
    await admin.query(`ALTER DATABASE "${name()}" ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name()]);

    expect((await postWebhook(app, message, signed)).status).toBe(503);
    const result = await app.execute(ListSessions, {});
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(result.errors?.[0]?.message).toBe('Unexpected error.');
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { failures: Record<string, string> }).failures.database).toBeTruthy();

    await admin.query(`ALTER DATABASE "${name()}" ALLOW_CONNECTIONS true`);
    await eventually(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000);
    expect((await app.execute(ListSessions, {})).errors).toBeUndefined();
    // The provider retries what we refused; this time it is stored and applied.
    expect((await postWebhook(app, message, signed)).status).toBe(200);
    await eventually(async () => {
      const { session: found } = await app.data(Chats, { id: session.id, first: 10 });
      return found?.chats.edges.some((edge) => edge.node.lastMessage?.text === 'forged?');
    }, 10_000);
  });
});
