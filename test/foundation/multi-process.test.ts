/**
 * Two app instances on one PostgreSQL database and one Redis: an event published by one reaches a
 * graphql-ws subscriber of the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, serviceAvailable, type TestDatabase } from '../helpers/database.ts';
import { connectWs } from '../helpers/ws.ts';
import { ConnectSession, CreateSession, newSession, SessionStatusFeed } from '../sessions/documents.ts';

const enabled = serviceAvailable('DATABASE_URL') && serviceAvailable('REDIS_URL');

describe.runIf(enabled)('several processes on PostgreSQL and Redis', () => {
  let db: TestDatabase;
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    [first, second] = await Promise.all([
      startTestApp({ databaseUrl: db.url, redis: true, sessionTimings: { reconcileIntervalMs: 0 } }),
      startTestApp({ databaseUrl: db.url, redis: true, sessionTimings: { reconcileIntervalMs: 0 } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await db?.drop();
  });

  it('reports Redis in readiness', async () => {
    const res = await fetch(`${second.url}/readyz`);
    expect(res.status).toBe(200);
  });

  it('delivers a status change made in one process to a subscriber of the other', async () => {
    const { createSession } = await first.data(CreateSession, newSession('Shared', '+255700000321'));
    const ws = connectWs(second.url);
    const feed = ws.subscribe(SessionStatusFeed, { sessionId: createSession.id });
    const all = ws.subscribe(SessionStatusFeed, {});
    await new Promise((r) => setTimeout(r, 300));
    await first.data(ConnectSession, { id: createSession.id });
    expect((await feed.next()).sessionStatusChanged).toEqual({ id: createSession.id, status: 'QR_READY' });
    expect((await all.next()).sessionStatusChanged.status).toBe('QR_READY');
    await ws.close();
  });
});
