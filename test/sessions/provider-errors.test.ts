/**
 * Provider answers are classified by HTTP status and our own state, never by the provider's words,
 * and every failed provider call of a session leaves an ERROR entry in its log, whoever made it.
 * The sandbox's fault control makes a call answer any status with any body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound, settled } from '../helpers/inbox.ts';
import { clearFaults, control, injectFault } from '../helpers/sandbox.ts';
import { Chats, MarkChatRead } from '../inbox/documents.ts';
import { ERROR_WORDINGS, type ErrorWordingName } from '../../src/sandbox/wording.ts';
import { ConnectSession, CreateSession, GetSession, newSession, RestartSession, SessionLogs, UpdateSession } from './documents.ts';

let app: TestApp | undefined;
/** The sandbox's sentences in the wording this run uses (CI runs this suite with both). */
const wording = ERROR_WORDINGS[(process.env.SANDBOX_ERROR_WORDING || 'standard') as ErrorWordingName];

async function errorLogs(id: string) {
  const edges = (await app!.data(SessionLogs, { id, first: 50 })).session!.logs.edges;
  return edges.map((e) => e.node).filter((l) => l.type === 'ERROR');
}

describe('provider answers', () => {
  beforeAll(async () => {
    app = await startTestApp({ sandbox: { sessionLimit: 3 } });
  });
  afterAll(() => app!.stop());

  it('makes a 400/422 on connect or restart INVALID_STATE with our status and allowed actions, whatever the body says', async () => {
    const { createSession: s } = await app!.data(CreateSession, newSession('Refusals', '+255700000801'));
    const connectPath = `/whatsapp-sessions/${s.providerSessionId}/connect`;

    // Words that match none of the sandbox's sentences, and a field list on an action without input.
    for (const [status, body] of [
      [400, { success: false, message: 'Computer says no' }],
      [422, { success: false, message: 'The given data was invalid.', errors: { session: ['Not possible.'] } }],
    ] as const) {
      await injectFault(app!, { path: connectPath, method: 'POST', status, count: 1, body });
      const refused = await app!.execute(ConnectSession, { id: s.id });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_STATE', status: 'DISCONNECTED', allowedActions: ['CONNECT', 'DELETE'] });
      expect(refused.errors?.[0]?.message).toContain(body.message);
    }
    expect((await app!.data(GetSession, { id: s.id })).session?.status).toBe('DISCONNECTED');

    await app!.data(ConnectSession, { id: s.id });
    await control(app!, s.providerSessionId!, 'scan');
    await settled(app!);
    // A sentence that reads like a success of something else: the status and our state decide.
    await injectFault(app!, { path: `/whatsapp-sessions/${s.providerSessionId}/restart`, status: 400, count: 1, body: { success: false, message: 'Session already initialized' } });
    const restart = await app!.execute(RestartSession, { id: s.id });
    expect(restart.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_STATE', status: 'CONNECTED', allowedActions: ['DISCONNECT', 'RESTART', 'DELETE'] });

    // Field errors on input the user gave stay theirs to fix.
    await injectFault(app!, { path: `/whatsapp-sessions/${s.providerSessionId}`, method: 'PUT', status: 422, count: 1, body: { message: 'Nope', errors: { name: ['Too fancy.'] } } });
    const update = await app!.execute(UpdateSession, { input: { id: s.id, name: 'Fancy' } });
    expect(update.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { name: 'Too fancy.' } });

    // The sandbox's own refusal, in whichever wording it runs: the phone dropped while nothing told us.
    const sandbox = app!.running.sandbox!;
    const off = await fetch(`${sandbox.baseUrl}/whatsapp-sessions/${s.providerSessionId}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook_enabled: false }),
    });
    expect(off.status).toBe(200);
    await control(app!, s.providerSessionId!, 'drop', { status: 'disconnected' });
    const dropped = await app!.execute(RestartSession, { id: s.id });
    expect(dropped.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_STATE', status: 'CONNECTED' });
    expect(dropped.errors?.[0]?.message).toContain(wording.notConnected);

    const errors = await errorLogs(s.id);
    expect(errors.map((l) => l.message.split(':')[0])).toEqual(['Restart failed', 'Update settings failed', 'Restart failed', 'Connect failed', 'Connect failed']);
    expect(errors[2]).toMatchObject({ status: 'CONNECTED' });
    expect(errors[2]!.message).toContain('Session already initialized');
  });

  it('makes any 403 SESSION_LIMIT_REACHED with the provider\'s text, and 401 PROVIDER_UNAUTHORIZED whatever it says', async () => {
    const before = await app!.running.db.prisma.whatsAppSession.count();
    await injectFault(app!, { path: '/whatsapp-sessions', method: 'POST', status: 403, count: 1, body: { success: false, message: 'Forbidden for this account' } });
    const forbidden = await app!.execute(CreateSession, newSession('Limited', '+255700000802'));
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('SESSION_LIMIT_REACHED');
    expect(forbidden.errors?.[0]?.message).toContain('Forbidden for this account');

    await injectFault(app!, { path: '/whatsapp-sessions', method: 'POST', status: 401, count: 1, body: { success: false, message: 'Your plan limit is reached' } });
    const unauthorized = await app!.execute(CreateSession, newSession('Limited', '+255700000802'));
    expect(unauthorized.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAUTHORIZED');
    expect(await app!.running.db.prisma.whatsAppSession.count()).toBe(before);
  });

  it('leaves an ERROR entry when markChatRead is refused, and refuses it in the session\'s state', async () => {
    const s = await connectedSession(app!, 'Reads');
    await inbound(app!, s, { from: '+255733000009', text: 'hello' });
    await settled(app!);
    const chatId = (await app!.data(Chats, { id: s.id, first: 1 })).session!.chats.edges[0]!.node.id;

    await injectFault(app!, { path: '/messages/read', status: 422, count: 1, body: { success: false, message: 'Cannot do that right now' } });
    const refused = await app!.execute(MarkChatRead, { chatId });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_STATE', status: 'CONNECTED', allowedActions: ['DISCONNECT', 'RESTART', 'DELETE'] });
    expect((await app!.data(Chats, { id: s.id, first: 1 })).session!.chats.edges[0]!.node.unreadCount).toBe(1);
    expect((await errorLogs(s.id)).map((l) => l.message)).toEqual([expect.stringMatching(/^Mark chat read failed: .*Cannot do that right now/)]);
  });
});

describe('failed background provider calls', () => {
  afterAll(() => app?.stop());

  it('leave ERROR entries: the QR keeper, the give-up disconnect and reconciliation', async () => {
    app = await startTestApp({
      manualClock: true,
      // No rotations and no timers: each background step runs when the test says.
      sandbox: { qrRotateMs: 3_600_000 },
      sessionTimings: { connectTimeoutMs: 120_000, maintenanceIntervalMs: 3_600_000, reconcileIntervalMs: 0 },
    });
    const clock = app.clock!;
    const sessions = app.running.services.sessions;
    const { createSession: s } = await app!.data(CreateSession, newSession('Background', '+255700000803'));
    await app!.data(ConnectSession, { id: s.id });
    const base = `/whatsapp-sessions/${s.providerSessionId}`;

    await injectFault(app!, { path: `${base}/qrcode`, method: 'GET', status: 400, count: 1, body: { message: 'Not now' } });
    clock.advance(46_000);
    await sessions.runMaintenance();
    expect((await errorLogs(s.id)).map((l) => l.message)).toEqual([expect.stringMatching(/^QR refresh failed: .*Not now/)]);

    await clearFaults(app);
    await injectFault(app!, { path: `${base}/disconnect`, method: 'POST', status: 401, count: 1, body: { message: 'Who are you?' } });
    clock.advance(80_000);
    await sessions.runMaintenance();
    expect((await app!.data(GetSession, { id: s.id })).session?.status).toBe('DISCONNECTED');
    const afterGiveUp = await errorLogs(s.id);
    expect(afterGiveUp[0]).toMatchObject({ status: 'DISCONNECTED', message: expect.stringMatching(/^Disconnect after giving up the connection attempt failed: .*Who are you\?/) });

    await injectFault(app!, { path: base, method: 'GET', status: 401, count: 1, body: { message: 'Token revoked' } });
    await sessions.reconcile();
    const afterReconcile = await errorLogs(s.id);
    expect(afterReconcile).toHaveLength(3);
    expect(afterReconcile[0]!.message).toMatch(/^Reconciliation failed: The provider rejected the API token.*Token revoked/);
  });
});
