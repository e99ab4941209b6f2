import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { settled } from '../helpers/inbox.ts';
import { control, injectFault, providerSession } from '../helpers/sandbox.ts';
import { CreateSession, ConnectSession, DisconnectSession, GetSession, ListSessions, newSession, ProviderSettings, RestartSession, RotateKey, SessionLogs, SetProviderToken, UpdateSession } from './documents.ts';

describe('session rules', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ sandbox: { sessionLimit: 4 } });
  });
  afterAll(() => app.stop());

  const sessionCount = () => app.running.db.prisma.whatsAppSession.count();

  it.each([
    ['phoneNumber', { name: 'Shop', phoneNumber: '0712345678' }, 'E.164'],
    ['phoneNumber', { name: 'Shop', phoneNumber: '+0712345678' }, 'E.164'],
    ['name', { name: '   ', phoneNumber: '+255712345678' }, 'blank'],
    ['name', { name: 'x'.repeat(101), phoneNumber: '+255712345678' }, '100'],
  ])('refuses a bad %s with BAD_USER_INPUT and stores nothing', async (field, input, hint) => {
    const before = await sessionCount();
    const result = await app.execute(CreateSession, { input });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const fields = result.errors?.[0]?.extensions?.fields as Record<string, string>;
    expect(Object.keys(fields)).toEqual([field]);
    expect(fields[field]).toContain(hint);
    expect(await sessionCount()).toBe(before);
  });

  it('refuses actions the status does not allow, before calling the provider', async () => {
    const { createSession: s } = await app.data(CreateSession, newSession('States', '+255700000401'));
    for (const result of [await app.execute(RestartSession, { id: s.id }), await app.execute(DisconnectSession, { id: s.id })]) {
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_STATE', status: 'DISCONNECTED', allowedActions: ['CONNECT', 'DELETE'] });
    }
    await app.data(ConnectSession, { id: s.id });
    await control(app, s.providerSessionId!, 'scan');
    await settled(app);
    const connectAgain = await app.execute(ConnectSession, { id: s.id });
    expect(connectAgain.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_STATE', status: 'CONNECTED', allowedActions: ['DISCONNECT', 'RESTART', 'DELETE'] });
    const logs = (await app.data(SessionLogs, { id: s.id, first: 50 })).session!.logs.edges.map((e) => e.node.type);
    expect(logs).not.toContain('ERROR');
  });

  it('refuses unknown and wrong-type ids with NOT_FOUND', async () => {
    const { createSession: s } = await app.data(CreateSession, newSession('Ids', '+255700000402'));
    const logId = Buffer.from('SessionLog:' + s.id).toString('base64');
    for (const id of ['nonsense', logId, Buffer.from('WhatsAppSession:00000000-0000-7000-8000-000000000000').toString('base64')]) {
      const result = await app.execute(ConnectSession, { id });
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect((await app.execute(GetSession, { id })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('maps provider errors to the contract codes, with remedies, and logs them', async () => {
    const { createSession: s } = await app.data(CreateSession, newSession('Errors', '+255700000403'));
    await injectFault(app, { path: '/whatsapp-sessions', status: 401, count: 1, body: { success: false, message: 'This endpoint requires a valid personal access token.' } });
    const unauthorized = await app.execute(ConnectSession, { id: s.id });
    expect(unauthorized.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAUTHORIZED');
    expect(unauthorized.errors?.[0]?.message).toMatch(/update the token in the provider settings/);

    await injectFault(app, { path: '/whatsapp-sessions', status: 429, count: 10, body: { message: 'Too many requests', retry_after: 1 } });
    const limited = await app.execute(ConnectSession, { id: s.id });
    expect(limited.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_RATE_LIMITED' });
    expect(limited.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    await fetch(`${app.url}/sandbox/control/faults`, { method: 'DELETE' });

    await injectFault(app, { path: '/whatsapp-sessions', status: 503, count: 10 });
    const down = await app.execute(UpdateSession, { input: { id: s.id, name: 'Renamed' } });
    expect(down.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    await fetch(`${app.url}/sandbox/control/faults`, { method: 'DELETE' });
    expect((await app.data(GetSession, { id: s.id })).session?.name).toBe('Errors');

    const logs = (await app.data(SessionLogs, { id: s.id, first: 50 })).session!.logs.edges.map((e) => e.node);
    expect(logs.filter((l) => l.type === 'ERROR')).toHaveLength(3);
  });

  it('answers SESSION_LIMIT_REACHED at the plan limit and stores nothing', async () => {
    const existing = (await app.data(ListSessions, { first: 50 })).sessions.edges.length;
    for (let i = existing; i < 4; i++) await app.data(CreateSession, newSession(`Fill ${i}`, `+25570000050${i}`));
    const before = await sessionCount();
    const result = await app.execute(CreateSession, newSession('One too many', '+255700000599'));
    expect(result.errors?.[0]?.extensions?.code).toBe('SESSION_LIMIT_REACHED');
    expect(result.errors?.[0]?.message).toMatch(/upgrade the plan or delete unused sessions/);
    expect(await sessionCount()).toBe(before);
  });

  it('keeps secrets encrypted at rest and out of every response, and rotates the API key', async () => {
    const prisma = app.running.db.prisma;
    const row = await prisma.whatsAppSession.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const remote = (await providerSession(app, row.providerSessionId!))!;
    const raw = JSON.stringify(await prisma.$queryRawUnsafe(`SELECT * FROM whatsapp_sessions WHERE id = '${row.id}'`));
    expect(raw).not.toContain(remote.api_key);
    expect(raw).not.toContain(remote.webhook_secret);
    expect(row.apiKeyEncrypted).toMatch(/^v2:[0-9a-f]{12}:/);

    const id = Buffer.from(`WhatsAppSession:${row.id}`).toString('base64');
    const everything = await app.execute(GetSession, { id });
    expect(JSON.stringify(everything)).not.toContain(remote.api_key);
    expect(JSON.stringify(everything)).not.toContain(remote.webhook_secret);

    await app.data(RotateKey, { id });
    const rotated = (await providerSession(app, row.providerSessionId!))!;
    expect(rotated.api_key).not.toBe(remote.api_key);
    const after = await prisma.whatsAppSession.findUniqueOrThrow({ where: { id: row.id } });
    expect(after.apiKeyHash).not.toBe(row.apiKeyHash);
    expect(app.running.services.sessions.apiKeyOf(after)).toBe(rotated.api_key);
    const logs = (await app.data(SessionLogs, { id, first: 1 })).session!.logs.edges.map((e) => e.node.type);
    expect(logs).toEqual(['API_KEY_ROTATED']);
  });

  it('refuses to store a provider token while the sandbox stands in for the provider, and says so', async () => {
    const initial = (await app.data(ProviderSettings)).providerSettings;
    expect(initial).toMatchObject({ configured: true, sandbox: true, source: 'SANDBOX', verifiedAt: null });

    // Even the sandbox's own token: it is no real provider token, and would be sent to the sandbox.
    const refused = await app.execute(SetProviderToken, { token: app.running.sandbox!.token });
    expect(refused.errors?.[0]?.extensions?.code).toBe('INVALID_STATE');
    expect(refused.errors?.[0]?.message).toMatch(/sandbox is on.*WASENDER_API_TOKEN.*WASENDER_SANDBOX=0/);
    expect(await app.running.db.prisma.providerSettings.count()).toBe(0);
    expect((await app.data(ProviderSettings)).providerSettings).toEqual(initial);
  });

  it('pages the sessions oldest first, with the cursors clients keep (the Prisma plugin\'s: base64 of GPC:S:<row id>)', async () => {
    const all = (await app.data(ListSessions, { first: 50 })).sessions;
    expect(all.edges.length).toBeGreaterThan(2);
    expect(all.pageInfo).toEqual({ hasNextPage: false, endCursor: all.edges.at(-1)!.cursor });
    const rowId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1];
    for (const { cursor, node } of all.edges) expect(Buffer.from(cursor, 'base64').toString()).toBe(`GPC:S:${rowId(node.id)}`);
    const paged: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages <= all.edges.length; pages++) {
      const page: typeof all = (await app.data(ListSessions, { first: 1, after })).sessions;
      paged.push(...page.edges.map((e) => e.node.id));
      expect(page.pageInfo.endCursor).toBe(page.edges[0]?.cursor ?? null);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(paged).toEqual(all.edges.map((e) => e.node.id));
  });
});
