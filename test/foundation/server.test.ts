import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connectWs } from '../helpers/ws.ts';

const Viewer = graphql(`
  query Viewer {
    __typename
    viewer {
      role
      allSessions
    }
  }
`);

const StatusFeed = graphql(`
  subscription StatusFeed {
    sessionStatusChanged {
      id
      status
    }
  }
`);

describe('server', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it('answers liveness and readiness', async () => {
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('serves GraphiQL to a browser without a token', async () => {
    const res = await fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('whatsapp-graphql');
  });

  it('serves the admin token', async () => {
    const data = await app.data(Viewer);
    expect(data).toEqual({ __typename: 'Query', viewer: { role: 'ADMIN', allSessions: true } });
  });

  it.each([
    ['no token', null],
    ['a wrong token', 'not-the-admin-token-at-all'],
  ])('refuses %s over HTTP with 401 UNAUTHENTICATED', async (_label, token) => {
    const result = await app.execute(Viewer, {}, { token });
    expect(result.status).toBe(401);
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['no token', null],
    ['a wrong token', 'not-the-admin-token-at-all'],
  ])('refuses %s over WebSocket with close 4403', async (_label, token) => {
    const ws = connectWs(app.url, { token });
    const sub = ws.subscribe(StatusFeed);
    await expect(sub.next(3_000)).rejects.toMatchObject({ code: 4403 });
    await ws.close();
  });

  it('accepts a WebSocket subscription with the admin token', async () => {
    const ws = connectWs(app.url);
    const sub = ws.subscribe(StatusFeed);
    // No event is due; the subscription must simply stay open without errors.
    await expect(sub.next(300)).rejects.toThrow(/no subscription event/);
    expect(sub.errors).toEqual([]);
    await ws.close();
  });

  it('answers 404 for unknown paths', async () => {
    expect((await fetch(`${app.url}/nope`)).status).toBe(404);
  });
});
