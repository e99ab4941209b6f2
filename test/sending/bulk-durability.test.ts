/**
 * A bulk send outlives its process: stopped in the middle of a job, another process
 * on the same database finishes it, and the provider (a sandbox on its own port, so its record
 * outlives both) receives every recipient's message exactly once. Two processes working one job
 * at the same time send nothing twice either.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveSandbox, type ServedSandbox } from '../../src/sandbox/serve.ts';
import { eventually, startSharedDeployment, startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, serviceAvailable, usingPostgres, type TestDatabase } from '../helpers/database.ts';
import { connectedSession, settled } from '../helpers/inbox.ts';
import { sandboxSends, type SandboxSend } from '../helpers/sandbox.ts';
import { ConnectSession, CreateSession } from '../sessions/documents.ts';
import { BulkSend, StartBulkSend } from './documents.ts';

/** The paid plans' pace would take two minutes for 500: tests send as fast as the sandbox takes. */
const FAST = { SEND_RATE_PER_MINUTE: '60000' };
/**
 * One send per 100 ms at most, so however fast the machine the restart's job lasts 4 s or more:
 * stopped once a quarter is sent, the rest (3 s or more) is surely still to send.
 */
const PACED = { SEND_RATE_PER_MINUTE: '600' };
const RESTART_JOB = 40;
const recipients = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ phone: `${prefix}${String(i).padStart(3, '0')}`, name: `Customer ${i}` }));

function expectEachOnce(sends: SandboxSend[], phones: string[]) {
  const counts = new Map<string, number>();
  for (const s of sends) counts.set(String(s.to), (counts.get(String(s.to)) ?? 0) + 1);
  expect(phones.filter((p) => counts.get(p) !== 1)).toEqual([]);
  expect(sends).toHaveLength(phones.length);
}

describe('a bulk send across a restart', () => {
  let provider: ServedSandbox;
  let db: TestDatabase;
  let dataDir: string | null = null;
  let app: TestApp | null = null;
  const token = `bulk-durability-${randomBytes(6).toString('hex')}`;
  beforeAll(async () => {
    // Delivery reports come after the test: what is asserted is the sends themselves.
    provider = await serveSandbox({ personalAccessToken: token, planPerMinute: 100_000, deliveryDelayMs: 3_600_000, webhookRetry: { attempts: 20, baseDelayMs: 100 } });
    db = await createTestDatabase();
    // The embedded database in a directory, so the next process opens the same one.
    if (!usingPostgres) dataDir = await mkdtemp(path.join(tmpdir(), 'wg-bulk-'));
  });
  afterAll(async () => {
    await app?.stop();
    await provider?.close();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const env = { ENCRYPTION_KEY: randomBytes(32).toString('hex'), WASENDER_SANDBOX: '0', WASENDER_API_TOKEN: token, ...PACED };
  const start = () =>
    startTestApp({ databaseUrl: db.url, env: { ...env, WASENDER_BASE_URL: provider.apiUrl, ...(dataDir ? { DATA_DIR: dataDir } : {}) }, webhookProcessing: { retryBaseMs: 50, retryMaxMs: 500 } });

  async function providerSends(providerSessionId: string): Promise<SandboxSend[]> {
    const state = (await (await fetch(`${provider.controlUrl}/state`)).json()) as { sessions: { id: number; sent_messages: SandboxSend[] }[] };
    return state.sessions.find((s) => String(s.id) === providerSessionId)?.sent_messages ?? [];
  }

  it('sends every recipient exactly once when the process is stopped mid-job and another takes over', { timeout: 180_000 }, async () => {
    app = await start();
    const { createSession: s } = await app.data(CreateSession, { input: { name: 'Durable', phoneNumber: '+255799100000', accountProtection: false } });
    await app.data(ConnectSession, { id: s.id });
    const scanned = await fetch(`${provider.controlUrl}/sessions/${s.providerSessionId}/scan`, { method: 'POST' });
    expect(scanned.status).toBe(200);
    await settled(app);

    const list = recipients('+255799200', RESTART_JOB);
    const { startBulkSend: job } = await app.data(StartBulkSend, { input: { sessionId: s.id, template: 'Hi {{name}}, 20% off today', recipients: list } });
    expect(job.total).toBe(RESTART_JOB);
    // Part-way through, the process stops (SIGTERM's path: the send in flight finishes).
    await eventually(async () => (await providerSends(s.providerSessionId!)).length >= RESTART_JOB / 4, 60_000);
    await app.stop();
    app = null;
    const before = (await providerSends(s.providerSessionId!)).length;
    expect(before).toBeLessThan(RESTART_JOB);

    app = await start();
    const done = await eventually(async () => {
      const current = (await app!.data(BulkSend, { id: job.id })).bulkSend!;
      return current.status === 'COMPLETED' ? current : undefined;
    }, 120_000);
    expect(done).toMatchObject({ total: RESTART_JOB, queued: 0, failed: 0 });
    expect(done.sent).toBe(RESTART_JOB);
    const sends = await providerSends(s.providerSessionId!);
    expectEachOnce(sends, list.map((r) => r.phone));
    expect(sends.find((x) => x.to === '+255799200007')!.body).toEqual({ to: '+255799200007', text: 'Hi Customer 7, 20% off today' });
  });
});

describe.runIf(serviceAvailable('DATABASE_URL'))('a bulk send worked by two processes', () => {
  it('sends every recipient exactly once', { timeout: 420_000 }, async () => {
    const deployment = await startSharedDeployment(2, { env: FAST, sandbox: { planPerMinute: 100_000 } });
    try {
      const [first, second] = deployment.apps as [TestApp, TestApp];
      const session = await connectedSession(first, 'Shared job');
      // Four claims' worth (a process takes a session 25 sends at a time), each one contested.
      const list = recipients('+255799300', 100);
      const { startBulkSend: job } = await second.data(StartBulkSend, { input: { sessionId: session.id, template: 'Hello {{name}}', recipients: list } });
      await eventually(async () => (await first.data(BulkSend, { id: job.id })).bulkSend?.status === 'COMPLETED', 180_000);
      expectEachOnce(await sandboxSends(first, session.providerSessionId), list.map((r) => r.phone));
    } finally {
      await deployment.stop();
    }
  });
});
