/**
 * No secret in plain text anywhere in the database: a session goes through its whole life through
 * the public interface, then every table (found in the catalog, so new tables are covered) is dumped
 * and searched for every secret that passed through the service. And the migration that cleans
 * webhook rows stored before this rule.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beforeMigration } from '../helpers/migration-step.ts';
import type { Prisma } from '../../src/lib/database.ts';
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { ADMIN_TOKEN, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { settled } from '../helpers/inbox.ts';
import { ConnectSession, CreateSession, DisconnectSession, GetSession, RotateKey, SetProviderToken } from '../sessions/documents.ts';

/** Every row of every table of ours, each row cast to text. */
async function dumpDatabase(prisma: Prisma): Promise<string> {
  const tables = await prisma.$queryRawUnsafe<{ name: string }[]>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  expect(tables.map((t) => t.name)).toContain('public.webhook_events');
  let dump = '';
  for (const { name } of tables) {
    const [row] = await prisma.$queryRawUnsafe<{ dump: string | null }[]>(`SELECT string_agg(t::text, E'\\n') AS dump FROM ${name} t`);
    dump += `\n-- ${name}\n${row?.dump ?? ''}`;
  }
  return dump;
}

describe('secrets at rest', () => {
  const providerToken = `provider-token-${randomBytes(12).toString('hex')}`;
  let provider: Awaited<ReturnType<typeof serveSandbox>>;
  let app: TestApp;
  beforeAll(async () => {
    // Real-provider mode, so that an admin-stored provider token is part of the life.
    provider = await serveSandbox({ personalAccessToken: providerToken, webhookRetry: { attempts: 8, baseDelayMs: 100 } });
    app = await startTestApp({ env: { WASENDER_SANDBOX: '0', WASENDER_BASE_URL: provider.apiUrl } });
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
    };
    const found = Object.entries(secrets).filter(([, value]) => dump.includes(value)).map(([name]) => name);
    expect(found).toEqual([]);
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
