/**
 * No secret in plain text anywhere in the database: a session goes through its whole life through
 * the public interface, then every table (found in the catalog, so new tables are covered) is dumped
 * and searched for every secret that passed through the service. And the migration that cleans
 * webhook rows stored before this rule.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beforeMigration } from '../helpers/migration-step.ts';
import { dumpDatabase } from '../helpers/dump.ts';
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { ADMIN_TOKEN, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { settled } from '../helpers/inbox.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { CreateApiToken, RevealSessionApiKey, RotateApiToken, ViewerQuery } from '../access/documents.ts';
import { ConnectSession, CreateSession, DisconnectSession, GetSession, RotateKey, SetProviderToken } from '../sessions/documents.ts';

describe('secrets at rest', () => {
  const providerToken = `provider-token-${randomBytes(12).toString('hex')}`;
  let provider: Awaited<ReturnType<typeof serveSandbox>>;
  let app: TestApp;
  const logLines: string[] = [];
  beforeAll(async () => {
    // Real-provider mode, so that an admin-stored provider token is part of the life.
    provider = await serveSandbox({ personalAccessToken: providerToken, webhookRetry: { attempts: 8, baseDelayMs: 100 } });
    app = await startTestApp({
      env: { WASENDER_SANDBOX: '0', WASENDER_BASE_URL: provider.apiUrl },
      logger: createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } }),
    });
  });
  afterAll(async () => {
    await app?.stop();
    await provider?.close();
  });

  const control = async (providerId: string, action: string, body: unknown = {}) => {
    const res = await fetch(`${provider.controlUrl}/sessions/${providerId}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const secretsOf = async (providerId: string) => {
    const res = await fetch(`${provider.apiUrl}/whatsapp-sessions/${providerId}`, { headers: { authorization: `Bearer ${providerToken}` } });
    return ((await res.json()) as { data: { api_key: string; webhook_secret: string } }).data;
  };

  it('keeps no API key, webhook secret, provider token or admin token in plain text in any table', async () => {
    await app.data(SetProviderToken, { token: providerToken });
    const { createSession } = await app.data(CreateSession, { input: { name: 'Secrets', phoneNumber: '+255700000777', accountProtection: false } });
    const id = createSession.id;
    const providerId = createSession.providerSessionId!;
    const before = await secretsOf(providerId);

    await app.data(ConnectSession, { id });
    await eventually(async () => (await app.data(GetSession, { id })).session?.qrCode?.value);
    await control(providerId, 'scan');
    await eventually(async () => (await app.data(GetSession, { id })).session?.status === 'CONNECTED');
    const first = (await control(providerId, 'inbound', { from: '+255700000001', text: 'hello', pushName: 'Asha' })).id as string;
    await control(providerId, 'inbound', { from: '+255700000002', text: 'in a group', group: '120363000000000001@g.us' });
    await control(providerId, 'receipt', { id: first, status: 4 });
    await control(providerId, 'webhook', { event: 'contacts.upsert', data: { id: '255700000001@s.whatsapp.net', name: 'Asha K' } });

    // API tokens: made, used, rotated (both values in use during the overlap), revealed keys.
    const minted = (await app.data(CreateApiToken, { input: { name: 'partner', role: 'AGENT', sessionIds: [id] } })).createApiToken;
    expect((await app.execute(ViewerQuery, {}, { token: minted.token })).data?.viewer.role).toBe('AGENT');
    const rotated = (await app.data(RotateApiToken, { id: minted.apiToken.id })).rotateApiToken.token;
    for (const token of [minted.token, rotated]) expect((await app.execute(ViewerQuery, {}, { token })).data?.viewer.role).toBe('AGENT');
    expect((await app.data(RevealSessionApiKey, { id })).revealSessionApiKey).toBe(before.api_key);

    await app.data(RotateKey, { id });
    const after = await secretsOf(providerId);
    expect(after.api_key).not.toBe(before.api_key);
    // The provider signs with the new key from now on: it must reach us (and be stored) too.
    await control(providerId, 'inbound', { from: '+255700000001', text: 'after the rotation' });
    await app.data(DisconnectSession, { id });
    await settled(app);
    expect(await app.running.db.prisma.message.count()).toBe(3);

    const dump = await dumpDatabase(app.running.db.prisma);
    expect(dump).toContain('after the rotation');
    const secrets = {
      'old API key': before.api_key,
      'new API key': after.api_key,
      'webhook secret (before rotation)': before.webhook_secret,
      'webhook secret (after rotation)': after.webhook_secret,
      'provider token': providerToken,
      'admin token': ADMIN_TOKEN,
      'API token': minted.token,
      'API token (rotated)': rotated,
    };
    const found = Object.entries(secrets).filter(([, value]) => dump.includes(value)).map(([name]) => name);
    expect(found).toEqual([]);
    // Nor in any log line of the same life.
    const logs = logLines.join('');
    expect(logs).toContain('session API key revealed');
    expect(Object.entries(secrets).filter(([, value]) => logs.includes(value)).map(([name]) => name)).toEqual([]);
    // Every sealed value names the key it was sealed with: the one in force.
    const keyIds = [...dump.matchAll(/\bv(\d):(?:([0-9a-f]{12}):)?[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:/g)].map((m) => `v${m[1]}:${m[2] ?? ''}`);
    expect(keyIds.length).toBeGreaterThan(0);
    expect(new Set(keyIds)).toEqual(new Set([`v2:${app.running.services.secrets.keyId}`]));
  });
});

describe('the migration for webhook rows stored before', () => {
  it('drops the API key from stored payloads and turns dedupe keys into their hash', async () => {
    const step = await beforeMigration('_webhook_secrets_and_retention');
    const { db } = step;
    try {

      const sessionId = '0193a000-0000-7000-8000-000000000001';
      const oldKey = `${sessionId}:message:3EB0OLD000000000000001`;
      await db.prisma.$executeRawUnsafe(
        `INSERT INTO webhook_events (id, event, "dedupeKey", payload) VALUES
           ('0193a000-0000-7000-8000-0000000000a1', 'messages.received', $1, $2::jsonb)`,
        oldKey,
        JSON.stringify({ event: 'messages.received', sessionId: 'the-api-key-of-the-session', timestamp: 1_700_000_000, data: { messages: { key: { id: '3EB0OLD000000000000001' } } } }),
      );

      expect(await step.apply()).toEqual([step.name]);
      const [row] = await db.prisma.$queryRawUnsafe<{ dedupeKey: string; payload: Record<string, unknown> }[]>(
        `SELECT "dedupeKey", payload FROM webhook_events`,
      );
      expect(row!.payload).toEqual({ event: 'messages.received', timestamp: 1_700_000_000, data: { messages: { key: { id: '3EB0OLD000000000000001' } } } });
      // The same key the service now writes for this event, so a late redelivery still dedupes.
      expect(row!.dedupeKey).toBe(createHash('sha256').update(oldKey).digest('hex'));
    } finally {
      await step.close();
    }
  });
});
