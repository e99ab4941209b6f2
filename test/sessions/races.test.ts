/**
 * Races of the session life cycle: a provider call is stalled in the sandbox (a fault with delayMs)
 * and the competing webhook is delivered through the sandbox while it waits. Each test checks that
 * the race window really was open (the call had not returned when the webhook was applied).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { serviceAvailable } from '../helpers/database.ts';
import { databaseId, settled } from '../helpers/inbox.ts';
import { clearFaults, control, injectFault, providerSession, sandboxState } from '../helpers/sandbox.ts';
import { ConnectSession, CreateSession, DeleteSession, GetSession, RotateKey, SessionLogs, newSession } from './documents.ts';

/** Long enough for a webhook to be stored and applied while the provider call waits. */
const STALL_MS = 2_500;

describe('session races', () => {
  let app: TestApp;
  let phone = 0;
  beforeAll(async () => {
    // Reconciliation runs only when a test calls it.
    app = await startTestApp({ sessionTimings: { reconcileIntervalMs: 0 } });
  });
  afterEach(() => clearFaults(app));
  afterAll(() => app.stop());

  async function created(name: string) {
    const { createSession } = await app.data(CreateSession, newSession(name, `+25571100${String(++phone).padStart(4, '0')}`));
    return { id: createSession.id, dbId: databaseId(createSession.id), pid: createSession.providerSessionId! };
  }
  const row = (dbId: string) => app.running.db.prisma.whatsAppSession.findUniqueOrThrow({ where: { id: dbId } });
  const fakeQr = (tag: string) => `2@${tag}${'A'.repeat(40)},${'B'.repeat(20)},${'C'.repeat(20)}`;

  /** Starts `call` and reports whether it has returned, so a test can prove the window was open. */
  function inFlight<T>(call: Promise<T>) {
    const state = { returned: false, result: call };
    const done = () => {
      state.returned = true;
    };
    call.then(done, done);
    return state;
  }

  it('connectSession keeps a QR a webhook stored while the provider was answering', async () => {
    const s = await created('QR by webhook');
    // The provider answers NEED_SCAN and announces the QR by webhook only.
    await injectFault(app, { path: `/whatsapp-sessions/${s.pid}/connect`, method: 'POST', count: 1, delayMs: STALL_MS, status: 200, body: { success: true, data: { status: 'NEED_SCAN' } } });
    const connect = inFlight(app.data(ConnectSession, { id: s.id }));
    await eventually(async () => (await row(s.dbId)).connectStartedAt !== null);
    const qr = fakeQr('webhook');
    await control(app, s.pid, 'webhook', { event: 'qrcode.updated', data: { qr } });
    await eventually(async () => (await row(s.dbId)).qrCode === qr);
    expect(connect.returned).toBe(false);

    const { connectSession } = await connect.result;
    expect(connectSession).toMatchObject({ status: 'QR_READY', qrCode: { value: qr } });
    expect((await app.data(GetSession, { id: s.id })).session).toMatchObject({ status: 'QR_READY', qrCode: { value: qr } });
  });

  it('connectSession asks the provider which QR is current when its answer and a webhook disagree', async () => {
    const s = await created('QR disagreement');
    await injectFault(app, { path: `/whatsapp-sessions/${s.pid}/connect`, method: 'POST', count: 1, delayMs: STALL_MS });
    const connect = inFlight(app.data(ConnectSession, { id: s.id }));
    await eventually(async () => (await row(s.dbId)).connectStartedAt !== null);
    const stale = fakeQr('stale');
    await control(app, s.pid, 'webhook', { event: 'qrcode.updated', data: { qr: stale } });
    await eventually(async () => (await row(s.dbId)).qrCode === stale);
    expect(connect.returned).toBe(false);

    const { connectSession } = await connect.result;
    // The provider was asked once, and what it said is what is served.
    const provider = await sandboxState(app, s.pid);
    expect(provider).toMatchObject({ status: 'need_scan', qr_fetches: 1 });
    expect(provider?.qr).not.toBe(stale);
    expect(connectSession.qrCode?.value).toBe(provider?.qr);
  });

  it('reconciliation does not overwrite a status that arrived while the provider was answering', async () => {
    const s = await created('Reconcile');
    await app.data(ConnectSession, { id: s.id });
    await control(app, s.pid, 'scan');
    await settled(app);
    expect((await row(s.dbId)).status).toBe('CONNECTED');

    // The provider's answer was computed during a brief drop; by the time it arrives, the session
    // has dropped and come back, and the webhooks saying so have been applied.
    const remote = await providerSession(app, s.pid);
    await injectFault(app, { path: `/whatsapp-sessions/${s.pid}`, method: 'GET', count: 1, delayMs: STALL_MS, status: 200, body: { success: true, data: { ...remote, status: 'disconnected' } } });
    const reconciling = inFlight(app.running.services.sessions.reconcile());
    await eventually(async () => (await row(s.dbId)).reconciledAt !== null);
    // Later timestamps than the scan's own webhooks, which the same payload would repeat otherwise.
    const later = Math.floor(Date.now() / 1000) + 10;
    await control(app, s.pid, 'webhook', { event: 'session.status', data: { status: 'disconnected' }, timestamp: later });
    await eventually(async () => (await row(s.dbId)).status === 'DISCONNECTED');
    await control(app, s.pid, 'webhook', { event: 'session.status', data: { status: 'connected' }, timestamp: later + 1 });
    await eventually(async () => (await row(s.dbId)).status === 'CONNECTED');
    expect(reconciling.returned).toBe(false);

    await reconciling.result;
    expect((await app.data(GetSession, { id: s.id })).session?.status).toBe('CONNECTED');
    const logs = (await app.data(SessionLogs, { id: s.id, first: 50 })).session!.logs.edges.map((e) => e.node.message);
    expect(logs.some((m) => m.startsWith('Reconciled with the provider'))).toBe(false);
  });

  it('a QR fetched while the phone scanned does not take the session back to QR_READY', async () => {
    const s = await created('Scanned during refresh');
    await app.data(ConnectSession, { id: s.id });
    await settled(app);
    // The QR is about to expire, so the QR keeper fetches the next one; the provider is slow to answer.
    await app.running.db.prisma.whatsAppSession.update({ where: { id: s.dbId }, data: { qrExpiresAt: new Date() } });
    const late = fakeQr('late');
    await injectFault(app, { path: `/whatsapp-sessions/${s.pid}/qrcode`, method: 'GET', count: 1, delayMs: STALL_MS, status: 200, body: { success: true, data: { qrCode: late } } });
    const refreshing = inFlight(app.running.services.sessions.runMaintenance());
    await eventually(async () => (await row(s.dbId)).qrRefreshClaimedAt !== null);
    // The phone has scanned: the link is being made.
    await control(app, s.pid, 'webhook', { event: 'session.status', data: { status: 'connecting' } });
    await eventually(async () => (await row(s.dbId)).status === 'CONNECTING');
    expect(refreshing.returned).toBe(false);

    await refreshing.result;
    expect((await app.data(GetSession, { id: s.id })).session).toMatchObject({ status: 'CONNECTING', qrCode: null });
  });

  it('two deleteSession calls at once give one id and one NOT_FOUND', async () => {
    const s = await created('Deleted twice');
    // Both pass their checks before either deletes.
    await injectFault(app, { path: `/whatsapp-sessions/${s.pid}`, method: 'DELETE', count: 2, delayMs: 1_000 });
    const results = await Promise.all([app.execute(DeleteSession, { id: s.id }), app.execute(DeleteSession, { id: s.id })]);
    const deleted = results.filter((r) => r.data?.deleteSession === s.id);
    const refused = results.filter((r) => r.errors?.length);
    expect(deleted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.errors![0]!.extensions?.code).toBe('NOT_FOUND');
    expect(refused[0]!.errors![0]!.message).toBe('Session not found');
  });

  // Needs two database connections: PGlite has one, so a stalled write would stall the other too.
  it.skipIf(!serviceAvailable('DATABASE_URL'))('two overlapping key rotations store the key the provider kept', async () => {
    const s = await created('Rotated twice');
    const prisma = app.running.db.prisma;
    // The first key written to the database waits 2.5 s before its statement reads the row, while
    // the second rotation (asked 1 s later at the provider) is written: the older key lands last.
    await prisma.$executeRawUnsafe(`CREATE SEQUENCE key_write_seq`);
    await prisma.$executeRawUnsafe(`CREATE FUNCTION hold_first_key_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF nextval('key_write_seq') = 1 THEN PERFORM pg_sleep(2.5); END IF; RETURN NULL; END $$`);
    await prisma.$executeRawUnsafe(`CREATE TRIGGER hold_first_key_write BEFORE UPDATE OF "apiKeyHash" ON whatsapp_sessions
      FOR EACH STATEMENT EXECUTE FUNCTION hold_first_key_write()`);
    try {
      const regenerate = `/whatsapp-sessions/${s.pid}/regenerate-key`;
      await injectFault(app, { path: regenerate, method: 'POST', count: 1 }); // the first passes at once
      await injectFault(app, { path: regenerate, method: 'POST', count: 1, delayMs: 1_000 });
      const results = await Promise.all([app.execute(RotateKey, { id: s.id }), app.execute(RotateKey, { id: s.id })]);
      expect(results.map((r) => r.errors)).toEqual([undefined, undefined]);
    } finally {
      await prisma.$executeRawUnsafe(`DROP TRIGGER hold_first_key_write ON whatsapp_sessions`);
    }
    // Webhooks come with the provider's current key: ours must be that one.
    const delivered = await control(app, s.pid, 'webhook', { event: 'contacts.upsert', data: [{ id: '255700000077@s.whatsapp.net', notify: 'Asha' }] });
    expect(delivered.status).toBe(200);
  });

  it('a provider answer reusing a stored session id is BAD_USER_INPUT naming the field, and leaves that session alone', async () => {
    const existing = await created('First');
    const remote = await providerSession(app, existing.pid);
    const reused = { ...remote, id: Number(existing.pid), name: 'Second', api_key: 'e'.repeat(64), webhook_secret: 'f'.repeat(32) };
    await injectFault(app, { path: '/whatsapp-sessions', method: 'POST', count: 1, status: 201, body: { success: true, data: reused } });
    const result = await app.execute(CreateSession, newSession('Second', '+255711009999'));
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { providerSessionId: 'is already taken' } });
    expect(await providerSession(app, existing.pid)).not.toBeNull();
    expect((await app.data(GetSession, { id: existing.id })).session?.id).toBe(existing.id);
  });
});
