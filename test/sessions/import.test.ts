/**
 * Sessions that exist at the provider only (made in its dashboard: here, straight through the
 * sandbox's API with the account token) are adopted by importProviderSessions: our webhook URL and
 * events are set at the provider, and the credentials stored work (a webhook signed by the provider
 * reaches the adopted session). At start, sessions registered under another PUBLIC_URL get the new
 * one registered, by one process however many start.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { WEBHOOK_EVENTS } from '../../src/modules/sessions/session.service.ts';
import { graphql } from '../generated/index.ts';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import pg from 'pg';
import { createTestDatabase, serviceAvailable, usingPostgres, type TestDatabase } from '../helpers/database.ts';
import { CreateSession, GetSession, ListSessions, SessionLogs, newSession } from './documents.ts';

const ImportProviderSessions = graphql(`
  mutation ImportProviderSessions($ids: [String!]) {
    importProviderSessions(providerSessionIds: $ids) {
      id
      name
      phoneNumber
      status
      providerSessionId
      webhookUrl
      accountProtection
    }
  }
`);

const providerToken = `provider-token-${randomBytes(12).toString('hex')}`;

/** The provider, served on its own, so that it outlives our processes. */
async function startProvider() {
  const provider = await serveSandbox({ personalAccessToken: providerToken, webhookRetry: { attempts: 8, baseDelayMs: 100 } });
  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${provider.apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${providerToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { data: Record<string, unknown> & { id: number } } };
  };
  return {
    provider,
    /** A session made in the provider's dashboard, without our webhook. */
    async dashboardSession(name: string, phone: string) {
      const { status, body } = await api('POST', '/whatsapp-sessions', { name, phone_number: phone, account_protection: false, log_messages: true });
      expect(status).toBeLessThan(300);
      return String(body.data.id);
    },
    async details(id: string) {
      return (await api('GET', `/whatsapp-sessions/${id}`)).body.data as unknown as { webhook_url: string | null; webhook_events: string[] | null; webhook_enabled: boolean };
    },
    /** The provider answers the next `count` calls matching `method path` with `status`. */
    async fault(fault: { method: string; path: string; status: number; count: number }) {
      const res = await fetch(`${provider.controlUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) });
      expect(res.ok).toBe(true);
    },
    async deliver(id: string, event: string, data: unknown) {
      const res = await fetch(`${provider.controlUrl}/sessions/${id}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event, data }),
      });
      return ((await res.json()) as { status: number }).status;
    },
  };
}

/** The app in real-provider mode against the served provider, on a database that outlives it. */
function realProviderEnv(apiUrl: string, extra: Record<string, string> = {}) {
  return { WASENDER_SANDBOX: '0', WASENDER_BASE_URL: apiUrl, WASENDER_API_TOKEN: providerToken, ...extra };
}

const logsOf = async (app: TestApp, id: string) => (await app.data(SessionLogs, { id, first: 20 })).session!.logs.edges.map((e) => e.node);

describe('importProviderSessions', () => {
  let remote: Awaited<ReturnType<typeof startProvider>>;
  let app: TestApp;
  beforeAll(async () => {
    remote = await startProvider();
    app = await startTestApp({ env: realProviderEnv(remote.provider.apiUrl) });
  });
  afterAll(async () => {
    await app?.stop();
    await remote?.provider.close();
  });

  it('adopts the chosen sessions, refuses ids it cannot adopt, and adopts the rest when none are given', async () => {
    const { createSession: ours } = await app.data(CreateSession, newSession('Ours', '+255700001000'));
    const first = await remote.dashboardSession('Dashboard one', '+255700001001');
    const second = await remote.dashboardSession('Dashboard two', '+255700001002');
    const third = await remote.dashboardSession('Dashboard three', '+255700001003');

    // Unknown and already-ours ids are named, and nothing is adopted, not even the good one.
    const refused = await app.execute(ImportProviderSessions, { ids: [first, '999999', ours.providerSessionId!] });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const why = (refused.errors?.[0]?.extensions?.fields as Record<string, string>).providerSessionIds;
    expect(why).toContain('999999 is not a session at the provider');
    expect(why).toContain(`${ours.providerSessionId} is already one of our sessions`);
    expect(why).not.toContain(first);
    expect((await remote.details(first)).webhook_url).toBeNull();

    const { importProviderSessions: chosen } = await app.data(ImportProviderSessions, { ids: [first] });
    expect(chosen).toHaveLength(1);
    expect(chosen[0]).toMatchObject({
      name: 'Dashboard one',
      phoneNumber: '+255700001001',
      status: 'DISCONNECTED',
      providerSessionId: first,
      webhookUrl: app.running.webhookUrl,
      accountProtection: false,
    });
    const registered = await remote.details(first);
    expect(registered).toMatchObject({ webhook_url: app.running.webhookUrl, webhook_enabled: true });
    expect([...registered.webhook_events!].sort()).toEqual([...WEBHOOK_EVENTS].sort());
    expect((await logsOf(app, chosen[0]!.id)).map((l) => [l.type, l.message])).toContainEqual([
      'CREATED',
      expect.stringContaining(`imported from the provider (its session ${first})`),
    ]);

    // The stored key and secret are the provider's: a webhook it signs reaches the adopted session.
    expect(await remote.deliver(first, 'session.status', { status: 'connected' })).toBe(200);
    await eventually(async () => (await app.data(GetSession, { id: chosen[0]!.id })).session?.status === 'CONNECTED');

    // None given: every provider session not yet ours, once.
    const { importProviderSessions: rest } = await app.data(ImportProviderSessions, {});
    expect(rest.map((s) => s.providerSessionId).sort()).toEqual([second, third].sort());
    expect((await remote.details(third)).webhook_url).toBe(app.running.webhookUrl);
    expect((await app.data(ImportProviderSessions, {})).importProviderSessions).toEqual([]);
  });

  it('keeps nothing when the provider refuses to post webhooks here, and adopts on the next try', async () => {
    const id = await remote.dashboardSession('Refused once', '+255700001004');
    await remote.fault({ method: 'PUT', path: `/whatsapp-sessions/${id}`, status: 422, count: 1 });
    const refused = await app.execute(ImportProviderSessions, { ids: [id] });
    expect(refused.errors?.[0]?.extensions?.code).toBeDefined();
    expect(refused.errors?.[0]?.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    const after = (await app.data(ListSessions, { first: 100 })).sessions.edges.map((e) => e.node.name);
    expect(after).not.toContain('Refused once');
    expect((await remote.details(id)).webhook_url).toBeNull();

    const { importProviderSessions: adopted } = await app.data(ImportProviderSessions, { ids: [id] });
    expect(adopted).toMatchObject([{ providerSessionId: id, phoneNumber: '+255700001004', webhookUrl: app.running.webhookUrl }]);
    expect((await remote.details(id)).webhook_url).toBe(app.running.webhookUrl);
  });
});

// A database that refuses the insert: a PostgreSQL trigger (PGlite runs in the app's process).
describe.runIf(serviceAvailable('DATABASE_URL'))('importProviderSessions when storing fails', () => {
  let remote: Awaited<ReturnType<typeof startProvider>>;
  let database: TestDatabase;
  let admin: pg.Client;
  let app: TestApp;
  beforeAll(async () => {
    remote = await startProvider();
    database = await createTestDatabase();
    app = await startTestApp({ env: realProviderEnv(remote.provider.apiUrl), databaseUrl: database.url! });
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await app?.stop();
    await remote?.provider.close();
    await database?.drop();
  });

  it('leaves the provider posting where it did, and adopts once storing works again', async () => {
    const id = await remote.dashboardSession('Not stored', '+255700001005');
    await admin.query(`CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$`);
    await admin.query(`CREATE TRIGGER refuse_insert BEFORE INSERT ON whatsapp_sessions FOR EACH ROW EXECUTE FUNCTION refuse_insert()`);
    const failed = await app.execute(ImportProviderSessions, { ids: [id] });
    expect(failed.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect((await remote.details(id)).webhook_url).toBeNull();

    await admin.query(`DROP TRIGGER refuse_insert ON whatsapp_sessions`);
    const { importProviderSessions: adopted } = await app.data(ImportProviderSessions, { ids: [id] });
    expect(adopted).toMatchObject([{ providerSessionId: id, webhookUrl: app.running.webhookUrl }]);
    expect((await remote.details(id)).webhook_url).toBe(app.running.webhookUrl);
  });
});

describe('webhook URL re-registered at start when PUBLIC_URL changed', () => {
  let remote: Awaited<ReturnType<typeof startProvider>>;
  let database: TestDatabase;
  let dataDir: string;
  const encryptionKey = randomBytes(32).toString('hex');
  beforeAll(async () => {
    remote = await startProvider();
    database = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'wg-webhook-sync-'));
  });
  afterAll(async () => {
    await remote?.provider.close();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** One process of the deployment: the shared database (PostgreSQL, or a PGlite directory). */
  const startProcess = (publicUrl: string) =>
    startTestApp({
      env: realProviderEnv(remote.provider.apiUrl, { PUBLIC_URL: publicUrl, ENCRYPTION_KEY: encryptionKey, ...(usingPostgres ? {} : { DATA_DIR: dataDir }) }),
      ...(database.url ? { databaseUrl: database.url } : {}),
    });

  it('registers the new URL and events for every session, once across processes', async () => {
    const before = await startProcess('https://old.example.com');
    const { createSession: a } = await before.data(CreateSession, newSession('A', '+255700002001'));
    const { createSession: b } = await before.data(CreateSession, newSession('B', '+255700002002'));
    expect((await remote.details(a.providerSessionId!)).webhook_url).toBe('https://old.example.com/api/whatsapp/webhook');
    await before.stop();

    // PGlite is one process only; on PostgreSQL two processes start together.
    const after = await Promise.all((usingPostgres ? [1, 2] : [1]).map(() => startProcess('https://new.example.com/wa')));
    try {
      const next = 'https://new.example.com/wa/api/whatsapp/webhook';
      for (const s of [a, b]) {
        await eventually(async () => (await remote.details(s.providerSessionId!)).webhook_url === next);
        expect([...(await remote.details(s.providerSessionId!)).webhook_events!].sort()).toEqual([...WEBHOOK_EVENTS].sort());
        await eventually(async () => (await after[0]!.data(GetSession, { id: s.id })).session?.webhookUrl === next);
        const entries = await eventually(async () => {
          const found = (await logsOf(after[0]!, s.id)).filter((l) => l.type === 'UPDATED' && l.message.includes('registered at the provider again'));
          return found.length ? found : undefined;
        });
        expect(entries.map((e) => e.message)).toEqual([`Webhook URL registered at the provider again: https://old.example.com/api/whatsapp/webhook → ${next}`]);
      }
    } finally {
      for (const p of after) await p.stop();
    }
  });
});
