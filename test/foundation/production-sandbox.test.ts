/**
 * The sandbox in production runs only when asked for explicitly (config.test.ts), and then its
 * control endpoints, which fake phones and WhatsApp users, are the admin's alone.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.ts';

describe('the sandbox in production', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { NODE_ENV: 'production', WASENDER_SANDBOX: '1', ENCRYPTION_KEY: randomBytes(32).toString('hex') } });
  });
  afterAll(() => app?.stop());

  const controlState = (authorization?: string) =>
    fetch(`${app.url}/sandbox/control/state`, { headers: authorization ? { authorization } : {} });

  it('answers its control endpoints only with the admin token', async () => {
    expect((await controlState()).status).toBe(401);
    expect((await controlState('Bearer not-the-admin-token-at-all')).status).toBe(401);
    expect((await controlState(`Bearer ${app.running.sandbox!.token}`)).status).toBe(401);
    const faults = await fetch(`${app.url}/sandbox/control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 500, count: 1 }),
    });
    expect(faults.status).toBe(401);

    const allowed = await controlState(`Bearer ${ADMIN_TOKEN}`);
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ sessions: [] });
  });

  it('keeps the provider API on the provider\'s own credentials', async () => {
    const sandbox = app.running.sandbox!;
    const withToken = await fetch(`${sandbox.baseUrl}/whatsapp-sessions`, { headers: { authorization: `Bearer ${sandbox.token}` } });
    expect(withToken.status).toBe(200);
    const withAdminToken = await fetch(`${sandbox.baseUrl}/whatsapp-sessions`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(withAdminToken.status).toBe(401);
  });
});

describe('the sandbox in development', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.stop());

  it('leaves its control endpoints open, for a newcomer and the tests', async () => {
    expect((await fetch(`${app.url}/sandbox/control/state`)).status).toBe(200);
  });
});
