/**
 * Two app instances on one PostgreSQL database and one Redis: an event published by one reaches a
 * graphql-ws subscriber of the other.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startDeployment, startTestApp, type TestApp, type TestDeployment, subscriptionsStarting } from '../helpers/app.ts';
import { postWebhook, textEvent } from '../helpers/inbox.ts';
import { providerSession, sandboxState } from '../helpers/sandbox.ts';
import { createTestDatabase, serviceAvailable, type TestDatabase } from '../helpers/database.ts';
import { connectWs } from '../helpers/ws.ts';
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { ConnectSession, CreateSession, GetSession, newSession, RotateKey, SessionStatusFeed, SetProviderToken } from '../sessions/documents.ts';

const enabled = serviceAvailable('DATABASE_URL') && serviceAvailable('REDIS_URL');

describe.runIf(enabled)('several processes on PostgreSQL and Redis', () => {
  let deployment: TestDeployment;
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    deployment = await startDeployment(2, { redis: true, sessionTimings: { reconcileIntervalMs: 0 } });
    [first, second] = deployment.apps as [TestApp, TestApp];
  });
  afterAll(() => deployment?.stop());

  it('reports Redis in readiness', async () => {
    const res = await fetch(`${second.url}/readyz`);
    expect(res.status).toBe(200);
  });

  it('delivers a status change made in one process to a subscriber of the other', async () => {
    const { createSession } = await first.data(CreateSession, newSession('Shared', '+255700000321'));
    const ws = connectWs(second.url);
    const subscribed = subscriptionsStarting(second, 2);
    const feed = ws.subscribe(SessionStatusFeed, { sessionId: createSession.id });
    const all = ws.subscribe(SessionStatusFeed, {});
    await subscribed();
    await first.data(ConnectSession, { id: createSession.id });
    expect((await feed.next()).sessionStatusChanged).toEqual({ id: createSession.id, status: 'QR_READY' });
    expect((await all.next()).sessionStatusChanged.status).toBe('QR_READY');
    await ws.close();
  });
  it('refuses a key rotated in one process at once in the other', async () => {
    const { createSession } = await first.data(CreateSession, newSession('Rotated', '+255700000322'));
    const old = (await providerSession(first, createSession.providerSessionId!))!;
    const signed = { 'x-webhook-signature': old.webhook_secret };
    // The second process looks the key up, and keeps it for a while …
    expect((await postWebhook(second, textEvent(old.api_key, '3EB0MULTI000000000000001'), signed)).status).toBe(200);
    await first.data(RotateKey, { id: createSession.id });
    // … until the first says, through Redis, that it is rotated out.
    await eventually(async () => (await postWebhook(second, textEvent(old.api_key, '3EB0MULTI000000000000002'), signed)).status === 401, 2_000);
  });

});

describe.runIf(enabled)('several processes on one provider account', () => {
  let db: TestDatabase;
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    const env = { ENCRYPTION_KEY: randomBytes(32).toString('hex') };
    // Short-lived QRs; maintenance and reconciliation rounds are run by the tests.
    const timings = { sessionTimings: { qrTtlMs: 1_000, maintenanceIntervalMs: 3_600_000, reconcileIntervalMs: 3_600_000 } };
    first = await startTestApp({ databaseUrl: db.url, redis: true, ...timings, env });
    // The second process uses the first one's sandbox as its provider, as processes of one
    // deployment share one provider account.
    const sandbox = first.running.sandbox!;
    second = await startTestApp({
      databaseUrl: db.url,
      redis: true,
      ...timings,
      env: { ...env, WASENDER_SANDBOX: '0', WASENDER_BASE_URL: sandbox.baseUrl, WASENDER_API_TOKEN: sandbox.token },
    });
  });
  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await db?.drop();
  });

  it('checks each session with the provider once per reconciliation round, not once per process', async () => {
    const { createSession } = await second.data(CreateSession, newSession('Once', '+255700000340'));
    const providerId = createSession.providerSessionId!;
    const before = (await sandboxState(first, providerId))!.reads;
    await Promise.all([first.running.services.sessions.reconcile(), second.running.services.sessions.reconcile()]);
    expect((await sandboxState(first, providerId))!.reads).toBe(before + 1);
  });
  it('fetches an expiring QR once per round, not once per process', async () => {
    const { createSession } = await second.data(CreateSession, newSession('One QR', '+255700000341'));
    await first.data(ConnectSession, { id: createSession.id });
    const providerId = createSession.providerSessionId!;
    const before = (await sandboxState(first, providerId))!.qr_fetches;
    // Let the QR come within the refresh margin of its expiry, then both processes look at once.
    await new Promise((r) => setTimeout(r, 900));
    await Promise.all([first.running.services.sessions.runMaintenance(), second.running.services.sessions.runMaintenance()]);
    expect((await sandboxState(first, providerId))!.qr_fetches).toBe(before + 1);
    const { session } = await second.data(GetSession, { id: createSession.id });
    expect(session?.status).toBe('QR_READY');
    expect(new Date(session!.qrCode!.expiresAt).getTime()).toBeGreaterThan(Date.now());
  });
});

describe.runIf(enabled)('several processes with a provider token stored by an admin', () => {
  let db: TestDatabase;
  let provider: Awaited<ReturnType<typeof serveSandbox>>;
  let first: TestApp;
  let second: TestApp;
  const token = 'shared-account-personal-access-token';
  beforeAll(async () => {
    db = await createTestDatabase();
    provider = await serveSandbox({ personalAccessToken: token });
    // Both processes run against the provider (here a sandbox on its own port) with no token of
    // their own: the one an admin stores is the only one they have.
    const env = { ENCRYPTION_KEY: randomBytes(32).toString('hex'), WASENDER_SANDBOX: '0', WASENDER_BASE_URL: provider.apiUrl };
    [first, second] = await Promise.all([
      startTestApp({ databaseUrl: db.url, redis: true, sessionTimings: { reconcileIntervalMs: 0 }, env }),
      startTestApp({ databaseUrl: db.url, redis: true, sessionTimings: { reconcileIntervalMs: 0 }, env }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await provider?.close();
    await db?.drop();
  });

  it('uses a provider token stored through one process in the other at once', async () => {
    // The second process looks for a stored token, finds none, and keeps that answer for a while …
    const before = await second.execute(CreateSession, newSession('Before', '+255700000323'));
    expect(before.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAUTHORIZED');
    await first.data(SetProviderToken, { token });
    // … but within moments (not the 5 s its cache would keep it), it calls the provider with the
    // token stored through the first.
    let attempt = 0;
    await eventually(async () => {
      const after = await second.execute(CreateSession, newSession('After', `+25570000033${attempt++}`));
      return after.errors === undefined;
    }, 2_000);
  });
});
