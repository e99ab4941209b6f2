/** QR rotation, expiry and the give-up, on an injected clock: no sleeping for minutes. */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp, subscriptionsStarting } from '../helpers/app.ts';
import { clearFaults, control, injectFault } from '../helpers/sandbox.ts';
import { connectWs } from '../helpers/ws.ts';
import { ConnectSession, CreateSession, GetSession, newSession, QrFeed, SessionLogs, SessionStatusFeed } from './documents.ts';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** Each test starts its own app (on its own clock): room for a busy machine. */
const OWN_APP_TIMEOUT_MS = 90_000;

describe('QR codes', () => {
  it('pushes every rotation to subscribers and never serves an expired QR', async () => {
    app = await startTestApp({ manualClock: true, sandbox: { qrRotateMs: 45_000 } });
    const clock = app.clock!;
    const { createSession: s } = await app.data(CreateSession, newSession('Rotating', '+255700000601'));
    const ws = connectWs(app.url);
    const subscribed = subscriptionsStarting(app, 1);
    const qrs = ws.subscribe(QrFeed, { sessionId: s.id });
    await subscribed();
    const { connectSession } = await app.data(ConnectSession, { id: s.id });
    const seen = [(await qrs.next()).qrCodeUpdated];
    expect(seen[0]!.value).toBe(connectSession.qrCode!.value);

    for (let i = 0; i < 3; i++) {
      clock.advance(45_000);
      const next = (await qrs.next()).qrCodeUpdated;
      expect(seen.map((q) => q.value)).not.toContain(next.value);
      expect(new Date(next.expiresAt).getTime()).toBeGreaterThan(clock.now());
      seen.push(next);
      const current = (await app.data(GetSession, { id: s.id })).session!;
      expect(current.status).toBe('QR_READY');
      expect(current.qrCode?.value).toBe(next.value);
    }
    await ws.close();
  }, OWN_APP_TIMEOUT_MS);

  it('serves no QR past its expiry unless the provider confirms it is still current', async () => {
    // A provider that does not rotate, and cannot be asked for a while: the QR we hold runs out.
    app = await startTestApp({ manualClock: true, sandbox: { qrRotateMs: 3_600_000 } });
    const clock = app.clock!;
    const { createSession: s } = await app.data(CreateSession, newSession('Stale', '+255700000602'));
    const { connectSession } = await app.data(ConnectSession, { id: s.id });
    expect(connectSession.qrCode).not.toBeNull();
    await injectFault(app, { path: `/whatsapp-sessions/${s.providerSessionId}/qrcode`, status: 500, count: 1_000 });
    clock.advance(46_000);
    await app.running.services.sessions.runMaintenance();
    expect((await app.data(GetSession, { id: s.id })).session!.qrCode).toBeNull();

    // Once the provider answers again, it confirms the same QR, which is served for another term.
    await clearFaults(app);
    const confirmed = await eventually(async () => {
      // Past the failed round's claim, which keeps other processes from fetching meanwhile.
      clock.advance(1_000);
      await app!.running.services.sessions.runMaintenance();
      return (await app!.data(GetSession, { id: s.id })).session!.qrCode ?? undefined;
    });
    expect(confirmed?.value).toBe(connectSession.qrCode!.value);
    expect(new Date(confirmed!.expiresAt).getTime()).toBeGreaterThan(clock.now());
  }, OWN_APP_TIMEOUT_MS);

  it('gives up after about three minutes without a scan', async () => {
    app = await startTestApp({ manualClock: true, sandbox: { qrRotateMs: 45_000 } });
    const clock = app.clock!;
    const { createSession: s } = await app.data(CreateSession, newSession('Abandoned', '+255700000603'));
    const ws = connectWs(app.url);
    const subscribed = subscriptionsStarting(app, 1);
    const statuses = ws.subscribe(SessionStatusFeed, { sessionId: s.id });
    await subscribed();
    await app.data(ConnectSession, { id: s.id });
    expect((await statuses.next()).sessionStatusChanged.status).toBe('QR_READY');
    const started = clock.now();
    // Time passes in keeper-sized steps; each step lets the keeper and the QR rotations run.
    const session = await eventually(async () => {
      clock.advance(5_000);
      await app!.running.services.webhookProcessor.idle();
      const current = (await app!.data(GetSession, { id: s.id })).session!;
      return current.status === 'DISCONNECTED' ? current : undefined;
    }, 20_000);
    expect(clock.now() - started).toBeGreaterThanOrEqual(180_000);
    expect(clock.now() - started).toBeLessThan(200_000);
    const pushed = [];
    for (;;) {
      const status = (await statuses.next()).sessionStatusChanged.status;
      pushed.push(status);
      if (status === 'DISCONNECTED') break;
    }
    expect(pushed.at(-1)).toBe('DISCONNECTED');
    expect(session.qrCode).toBeNull();
    const logs = (await app.data(SessionLogs, { id: s.id, first: 1 })).session!.logs.edges[0]!.node;
    expect(logs).toMatchObject({ type: 'DISCONNECTED' });
    expect(logs.message).toMatch(/Nobody scanned the QR code within 180 seconds/);
    await ws.close();
  }, OWN_APP_TIMEOUT_MS);
});

describe('reconciliation', () => {
  it('repairs a status that drifted from the provider\'s, with a log entry', async () => {
    app = await startTestApp({ manualClock: true, sessionTimings: { reconcileIntervalMs: 60_000 } });
    const clock = app.clock!;
    const { createSession: s } = await app.data(CreateSession, newSession('Drifting', '+255700000604'));
    await app.data(ConnectSession, { id: s.id });
    await control(app, s.providerSessionId!, 'scan');
    await eventually(async () => (await app!.data(GetSession, { id: s.id })).session?.status === 'CONNECTED');

    // The provider loses the session while its webhooks are off: nothing tells us.
    const sandbox = app.running.sandbox!;
    const off = await fetch(`${sandbox.baseUrl}/whatsapp-sessions/${s.providerSessionId}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook_enabled: false }),
    });
    expect(off.status).toBe(200);
    await control(app, s.providerSessionId!, 'drop', { status: 'expired' });
    expect((await app.data(GetSession, { id: s.id })).session?.status).toBe('CONNECTED');

    await eventually(async () => {
      clock.advance(60_000);
      return (await app!.data(GetSession, { id: s.id })).session?.status === 'EXPIRED';
    }, 10_000);
    const latest = (await app.data(SessionLogs, { id: s.id, first: 1 })).session!.logs.edges[0]!.node;
    expect(latest).toMatchObject({ type: 'STATUS_CHANGED', status: 'EXPIRED' });
    expect(latest.message).toMatch(/Reconciled with the provider/);
  }, OWN_APP_TIMEOUT_MS);
});
