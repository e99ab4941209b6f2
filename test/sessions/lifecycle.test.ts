/**
 * The session guide as a test: create → connect → QR pushed → scan → CONNECTED pushed → restart →
 * update → drop to LOGGED_OUT → reconnect → disconnect → logs → delete, with a second session
 * untouched throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp, subscriptionsStarting } from '../helpers/app.ts';
import { control } from '../helpers/sandbox.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import {
  ConnectSession,
  CreateSession,
  DeleteSession,
  SessionDeletedFeed,
  DisconnectSession,
  GetSession,
  ListSessions,
  newSession,
  QrFeed,
  RestartSession,
  SessionLogs,
  SessionStatusFeed,
  UpdateSession,
} from './documents.ts';

describe('session life cycle', () => {
  let app: TestApp;
  let ws: WsClient;
  beforeAll(async () => {
    app = await startTestApp();
    ws = connectWs(app.url);
  });
  afterAll(async () => {
    await ws.close();
    await app.stop();
  });

  it('runs the whole guide while a second session stays untouched', async () => {
    const { createSession: sales } = await app.data(CreateSession, {
      input: { name: '  Business WhatsApp ', phoneNumber: '+255 712 345 678', autoRejectCalls: true },
    });
    expect(sales).toMatchObject({
      name: 'Business WhatsApp',
      phoneNumber: '+255712345678',
      status: 'DISCONNECTED',
      availableActions: ['CONNECT', 'DELETE'],
      accountProtection: true,
      logMessages: true,
      autoReadMessages: false,
      autoRejectCalls: true,
      qrCode: null,
      lastConnectedAt: null,
    });
    expect(sales.providerSessionId).toMatch(/^\d+$/);
    expect(sales.webhookUrl).toBe(`${app.url}/api/whatsapp/webhook`);
    const { createSession: support } = await app.data(CreateSession, newSession('Support', '+255700000009'));

    const subscribed = subscriptionsStarting(app, 3);
    const qrs = ws.subscribe(QrFeed, { sessionId: sales.id });
    const statuses = ws.subscribe(SessionStatusFeed, { sessionId: sales.id });
    const everything = ws.subscribe(SessionStatusFeed, {});
    await subscribed();

    // Connect: a QR within seconds.
    const { connectSession } = await app.data(ConnectSession, { id: sales.id });
    expect(connectSession.status).toBe('QR_READY');
    expect(connectSession.availableActions).toEqual(['CONNECT', 'DISCONNECT', 'DELETE']);
    expect(connectSession.qrCode?.value).toMatch(/^2@/);
    expect(connectSession.qrCode?.dataUrl).toMatch(/^data:image\/png;base64,/);
    expect(connectSession.qrCode?.svg).toContain('<svg');
    expect(new Date(connectSession.qrCode!.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect((await qrs.next()).qrCodeUpdated.value).toBe(connectSession.qrCode?.value);
    expect((await statuses.next()).sessionStatusChanged).toEqual({ id: sales.id, status: 'QR_READY' });

    // The phone scans: CONNECTING, then CONNECTED, pushed.
    await control(app, sales.providerSessionId!, 'scan');
    expect((await statuses.next()).sessionStatusChanged.status).toBe('CONNECTING');
    expect((await statuses.next()).sessionStatusChanged.status).toBe('CONNECTED');
    const connected = (await app.data(GetSession, { id: sales.id })).session!;
    expect(connected).toMatchObject({ status: 'CONNECTED', qrCode: null, availableActions: ['DISCONNECT', 'RESTART', 'DELETE'] });
    expect(connected.lastConnectedAt).not.toBeNull();

    const { restartSession } = await app.data(RestartSession, { id: sales.id });
    expect(restartSession.status).toBe('CONNECTED');

    const { updateSession } = await app.data(UpdateSession, { input: { id: sales.id, name: 'Sales', autoReadMessages: true } });
    expect(updateSession).toMatchObject({ name: 'Sales', autoReadMessages: true, autoRejectCalls: true });

    // The phone logs the session out.
    await control(app, sales.providerSessionId!, 'drop', { status: 'logged_out' });
    expect((await statuses.next()).sessionStatusChanged.status).toBe('LOGGED_OUT');
    expect((await app.data(GetSession, { id: sales.id })).session?.availableActions).toEqual(['CONNECT', 'DELETE']);

    const reconnect = await app.data(ConnectSession, { id: sales.id });
    expect(reconnect.connectSession.status).toBe('QR_READY');
    expect((await statuses.next()).sessionStatusChanged.status).toBe('QR_READY');
    const { disconnectSession } = await app.data(DisconnectSession, { id: sales.id });
    expect(disconnectSession).toMatchObject({ status: 'DISCONNECTED', qrCode: null });
    expect((await statuses.next()).sessionStatusChanged.status).toBe('DISCONNECTED');

    // The unfiltered feed saw the same changes of this session, and nothing of the other.
    const seen = everything.pending().map((e) => e.sessionStatusChanged);
    expect(seen.every((e) => e.id === sales.id)).toBe(true);
    expect(seen.map((e) => e.status)).toEqual(['QR_READY', 'CONNECTING', 'CONNECTED', 'LOGGED_OUT', 'QR_READY', 'DISCONNECTED']);

    // The log tells the whole story, newest first, page by page.
    const logsPage = async (cursor: string | null | undefined) => (await app.data(SessionLogs, { id: sales.id, first: 4, after: cursor })).session!.logs;
    const types: string[] = [];
    let after: string | null | undefined = null;
    let pages = 0;
    do {
      const result: Awaited<ReturnType<typeof logsPage>> = await logsPage(after);
      types.push(...result.edges.map((e) => e.node.type));
      after = result.pageInfo.hasNextPage ? result.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBeGreaterThan(2);
    expect(types.reverse()).toEqual([
      'CREATED',
      'CONNECT_REQUESTED',
      'QR_GENERATED',
      'STATUS_CHANGED', // → QR_READY
      'STATUS_CHANGED', // → CONNECTING
      'CONNECTED',
      'RESTARTED',
      'UPDATED',
      'STATUS_CHANGED', // → LOGGED_OUT
      'CONNECT_REQUESTED',
      'QR_GENERATED',
      'STATUS_CHANGED', // → QR_READY
      'DISCONNECTED',
    ]);

    const removalsSubscribed = subscriptionsStarting(app, 1);
    const removals = ws.subscribe(SessionDeletedFeed, {});
    await removalsSubscribed();
    const deleted = await app.data(DeleteSession, { id: sales.id });
    expect(deleted.deleteSession).toBe(sales.id);
    expect((await removals.next()).sessionDeleted).toBe(sales.id);
    const gone = await app.execute(GetSession, { id: sales.id });
    expect(gone.data?.session).toBeNull();
    expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // The other session never moved.
    const other = (await app.data(GetSession, { id: support.id })).session!;
    expect(other.status).toBe('DISCONNECTED');
    const otherLogs = (await app.data(SessionLogs, { id: support.id, first: 50 })).session!.logs.edges.map((e) => e.node.type);
    expect(otherLogs).toEqual(['CREATED']);
    const list = await app.data(ListSessions, { first: 10 });
    expect(list.sessions.edges.map((e) => e.node.name)).toEqual(['Support']);
  });

  it('filters and paginates the session list', async () => {
    const names = ['Alpha', 'Beta', 'Gamma'];
    for (const [i, name] of names.entries()) await app.data(CreateSession, newSession(name, `+25570000010${i}`));
    const firstPage = await app.data(ListSessions, { first: 2, status: 'DISCONNECTED' });
    expect(firstPage.sessions.edges).toHaveLength(2);
    expect(firstPage.sessions.pageInfo.hasNextPage).toBe(true);
    const rest = await app.data(ListSessions, { first: 10, after: firstPage.sessions.pageInfo.endCursor, status: 'DISCONNECTED' });
    const all = [...firstPage.sessions.edges, ...rest.sessions.edges].map((e) => e.node.name);
    expect(all).toEqual(expect.arrayContaining(names));
    expect(new Set(all).size).toBe(all.length);
    expect((await app.data(ListSessions, { first: 10, status: 'CONNECTED' })).sessions.edges).toEqual([]);
  });

  it('ignores a late or repeated status webhook that changes nothing', async () => {
    const { createSession: s } = await app.data(CreateSession, newSession('Quiet', '+255700000200'));
    await control(app, s.providerSessionId!, 'webhook', { event: 'session.status', data: { status: 'disconnected' } });
    await eventually(async () => (await app.running.services.webhookProcessor.idle(), true));
    const logs = (await app.data(SessionLogs, { id: s.id, first: 10 })).session!.logs.edges.map((e) => e.node.type);
    expect(logs).toEqual(['CREATED']);
  });
});
