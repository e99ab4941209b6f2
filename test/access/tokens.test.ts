/**
 * API tokens through GraphQL: the plain token once, rotation with its overlap on the injected
 * clock, revocation closing open sockets (4403) in this process and the other, expiry closing them
 * too, last use recorded without a write per request, and the provider key revealed to admins only,
 * with its log entry.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, eventually, startDeployment, startTestApp, type TestApp, type TestDeployment } from '../helpers/app.ts';
import { serviceAvailable } from '../helpers/database.ts';
import { connectWs } from '../helpers/ws.ts';
import { databaseId } from '../helpers/inbox.ts';
import { providerSession } from '../helpers/sandbox.ts';
import { CreateSession, newSession, SessionLogs, SessionStatusFeed } from '../sessions/documents.ts';
import { ApiTokens, CreateApiToken, RevealSessionApiKey, RevokeApiToken, RotateApiToken, ViewerQuery } from './documents.ts';

const role = async (app: TestApp, token: string) => {
  const result = await app.execute(ViewerQuery, {}, { token });
  return result.data?.viewer.role ?? result.errors?.[0]?.extensions?.code;
};

/** Resolves with the close code once the socket's subscription is ended by the server. */
function closedWith(sub: { errors: unknown[] }): number | undefined {
  const error = sub.errors[0] as { code?: number } | undefined;
  return error?.code;
}

describe('API tokens', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ manualClock: true });
  });
  afterAll(() => app?.stop());

  it('shows the plain token once, lists it by hint only, and refuses bad input changing nothing', async () => {
    const { createSession } = await app.data(CreateSession, newSession('Tokens', '+255700000611'));
    const { createApiToken } = await app.data(CreateApiToken, { input: { name: '  Front desk ', role: 'AGENT', sessionIds: [createSession.id] } });
    expect(createApiToken.token).toMatch(/^wgt_[A-Za-z0-9_-]{43}$/);
    expect(createApiToken.apiToken).toMatchObject({ name: 'Front desk', role: 'AGENT', allSessions: false, sessions: [{ id: createSession.id }], tokenHint: createApiToken.token.slice(-4) });
    const listed = await app.data(ApiTokens, { first: 10 });
    expect(JSON.stringify(listed)).not.toContain(createApiToken.token);
    expect(await role(app, createApiToken.token)).toBe('AGENT');

    const count = async () => (await app.data(ApiTokens, { first: 100 })).apiTokens.edges.length;
    const before = await count();
    const bad = [
      [{ name: '', role: 'VIEWER' }, 'name'],
      [{ name: 'x'.repeat(101), role: 'VIEWER' }, 'name'],
      [{ name: 'admin of one', role: 'ADMIN', sessionIds: [createSession.id] }, 'sessionIds'],
      [{ name: 'none', role: 'VIEWER', sessionIds: [] }, 'sessionIds'],
      [{ name: 'foreign', role: 'VIEWER', sessionIds: ['Q2hhdDowMTkzYTAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDE='] }, 'sessionIds'],
      [{ name: 'gone', role: 'VIEWER', sessionIds: [Buffer.from('WhatsAppSession:0193a000-0000-7000-8000-000000000001').toString('base64')] }, 'sessionIds'],
      [{ name: 'past', role: 'VIEWER', expiresAt: new Date(app.clock!.now() - 1000).toISOString() }, 'expiresAt'],
    ] as const;
    for (const [input, field] of bad) {
      const result = await app.execute(CreateApiToken, { input: input as never });
      expect(result.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', fields: { [field]: expect.any(String) } });
    }
    expect(await count()).toBe(before);
  });

  it('keeps the old value for the overlap after a rotation, then only the new one', async () => {
    const { createApiToken } = await app.data(CreateApiToken, { input: { name: 'rotating', role: 'VIEWER' } });
    const old = createApiToken.token;
    const { rotateApiToken } = await app.data(RotateApiToken, { id: createApiToken.apiToken.id, overlapSeconds: 3600 });
    expect(rotateApiToken.token).not.toBe(old);
    expect(rotateApiToken.apiToken.previousValueValidUntil).toBe(new Date(app.clock!.now() + 3_600_000).toISOString());
    expect([await role(app, old), await role(app, rotateApiToken.token)]).toEqual(['VIEWER', 'VIEWER']);
    app.clock!.advance(3_599_000);
    expect(await role(app, old)).toBe('VIEWER');
    app.clock!.advance(2_000);
    expect([await role(app, old), await role(app, rotateApiToken.token)]).toEqual(['UNAUTHENTICATED', 'VIEWER']);

    // The default overlap is a day; a second rotation ends the first value's overlap at once.
    const second = (await app.data(RotateApiToken, { id: createApiToken.apiToken.id })).rotateApiToken;
    expect(second.apiToken.previousValueValidUntil).toBe(new Date(app.clock!.now() + 86_400_000).toISOString());
    const third = (await app.data(RotateApiToken, { id: createApiToken.apiToken.id, overlapSeconds: 0 })).rotateApiToken;
    expect([await role(app, rotateApiToken.token), await role(app, second.token), await role(app, third.token)]).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'VIEWER']);
    const refused = await app.execute(RotateApiToken, { id: createApiToken.apiToken.id, overlapSeconds: -1 });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { overlapSeconds: expect.any(String) } });
    expect(await role(app, third.token)).toBe('VIEWER');
  });

  it('accepts a token stored before keyed hashing (plain sha256) and re-hashes it on first use', async () => {
    const token = 'wgt_stored-before-keyed-hashing-0123456789';
    const row = await app.running.db.prisma.apiToken.create({
      data: { name: 'legacy', role: 'VIEWER', sessionIds: [], tokenHash: createHash('sha256').update(token).digest('hex'), tokenHint: token.slice(-4) },
    });
    expect(await role(app, token)).toBe('VIEWER');
    const stored = await app.running.db.prisma.apiToken.findUniqueOrThrow({ where: { id: row.id } });
    expect(stored.tokenHash).toBe(app.running.services.secrets.keyedHash(`api-token:${token}`));
    expect(await role(app, token)).toBe('VIEWER');
  });

  it('closes the sockets of a token that expires while they are open (4403)', async () => {
    const expiresAt = new Date(app.clock!.now() + 60_000).toISOString();
    const { createApiToken } = await app.data(CreateApiToken, { input: { name: 'short-lived', role: 'VIEWER', expiresAt } });
    const ws = connectWs(app.url, { token: createApiToken.token });
    const feed = ws.subscribe(SessionStatusFeed, {});
    await eventually(() => app.running.liveStats().subscribers > 0);
    app.clock!.advance(61_000);
    await eventually(() => closedWith(feed) === 4403);
    await ws.close();
  });

  it('records the last use at most once a minute', async () => {
    const { createApiToken } = await app.data(CreateApiToken, { input: { name: 'used', role: 'VIEWER' } });
    const id = databaseId(createApiToken.apiToken.id);
    const lastUsed = async () => (await app.running.db.prisma.apiToken.findUniqueOrThrow({ where: { id } })).lastUsedAt?.getTime() ?? null;
    expect(await lastUsed()).toBeNull();
    const first = app.clock!.now();
    await role(app, createApiToken.token);
    await eventually(async () => (await lastUsed()) === first);
    app.clock!.advance(30_000);
    await role(app, createApiToken.token);
    app.clock!.advance(31_000);
    const third = app.clock!.now();
    await role(app, createApiToken.token);
    await eventually(async () => (await lastUsed()) === third);
  });

  it('reveals a session\'s provider key to admins only, logging who', async () => {
    const { createSession } = await app.data(CreateSession, newSession('Revealed', '+255700000612'));
    const owner = (await app.data(CreateApiToken, { input: { name: 'Owner', role: 'ADMIN' } })).createApiToken;
    const agent = (await app.data(CreateApiToken, { input: { name: 'Agent', role: 'AGENT', sessionIds: [createSession.id] } })).createApiToken;
    const refused = await app.execute(RevealSessionApiKey, { id: createSession.id }, { token: agent.token });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const key = await app.execute(RevealSessionApiKey, { id: createSession.id }, { token: owner.token });
    expect(key.data?.revealSessionApiKey).toBe((await providerSession(app, createSession.providerSessionId!))!.api_key);
    const { session } = await app.data(SessionLogs, { id: createSession.id, first: 5 });
    const entries = session!.logs.edges.map((e) => e.node);
    expect(entries.filter((e) => e.type === 'API_KEY_REVEALED').map((e) => e.message)).toEqual([`API key revealed by API token "Owner" (${databaseId(owner.apiToken.id)})`]);
    expect(JSON.stringify(entries)).not.toContain(key.data!.revealSessionApiKey);
  });
});

describe.runIf(serviceAvailable('DATABASE_URL') && serviceAvailable('REDIS_URL'))('revocation across processes', () => {
  let deployment: TestDeployment;
  beforeAll(async () => {
    deployment = await startDeployment(2, { redis: true });
  });
  afterAll(() => deployment?.stop());

  it('ends a token at once in every process: requests refused and its sockets closed (4403)', async () => {
    const [first, second] = deployment.apps as [TestApp, TestApp];
    const { createApiToken } = await first.data(CreateApiToken, { input: { name: 'revoked everywhere', role: 'VIEWER' } });
    const token = createApiToken.token;
    // Each process has authenticated it (and keeps it for a while) and holds a socket of it.
    expect([await role(first, token), await role(second, token)]).toEqual(['VIEWER', 'VIEWER']);
    const sockets = [connectWs(first.url, { token }), connectWs(second.url, { token })];
    const feeds = sockets.map((ws) => ws.subscribe(SessionStatusFeed, {}));
    const bystander = connectWs(second.url, { token: ADMIN_TOKEN });
    const bystanderFeed = bystander.subscribe(SessionStatusFeed, {});
    await eventually(() => first.running.liveStats().subscribers === 1 && second.running.liveStats().subscribers === 2);

    await first.data(RevokeApiToken, { id: createApiToken.apiToken.id });
    await eventually(() => feeds.every((feed) => closedWith(feed) === 4403), 5_000);
    expect([await role(first, token), await role(second, token)]).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect(closedWith(bystanderFeed)).toBeUndefined();
    await Promise.all([...sockets, bystander].map((ws) => ws.close()));
  });
});
