/**
 * The product as a benchmark runs it: production settings, the built-in sandbox, and one session
 * created, connected and scanned through the public API, as an admin and a phone would.
 */
import { randomBytes } from 'node:crypto';
import { buildApp, type RunningApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/lib/logger.ts';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';

export interface BenchSession {
  globalId: string;
  /** The database id. */
  id: string;
  providerSessionId: string;
  /** The provider's credentials for this session: what its webhooks carry. */
  apiKey: string;
  webhookSecret: string;
}

export async function graphql(running: RunningApp, query: string, variables: Record<string, unknown> = {}) {
  const res = await running.yoga.fetch(`${running.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, Record<string, string>>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

export async function sandboxControl(running: RunningApp, providerSessionId: string, action: string, body: unknown = {}) {
  const res = await fetch(`${running.url}/sandbox/control/sessions/${providerSessionId}/${action}`, {
    method: 'POST',
    // In production the sandbox's control endpoints are the admin's.
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`sandbox ${action}: ${res.status}`);
}

/** The product in production settings, started: no session yet (a second process of a deployment). */
export async function startBenchInstance(env: Record<string, string> = {}) {
  const config = loadConfig({
    PORT: '0',
    ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'error',
    NODE_ENV: 'production',
    // Production runs on the sandbox only when told to.
    WASENDER_SANDBOX: '1',
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    // Throughput is measured here, not our own per-token limit.
    RATE_LIMIT_PER_MINUTE: '0',
    ...env,
  });
  const instance = buildApp(config, { host: '127.0.0.1', logger: createLogger({ level: config.logLevel }) });
  const running = await instance.start();
  return { instance, running };
}

export async function startBenchApp(env: Record<string, string> = {}) {
  const { instance, running } = await startBenchInstance(env);
  const { createSession } = await graphql(running, `mutation($input: CreateSessionInput!) { createSession(input: $input) { id providerSessionId } }`, {
    input: { name: 'Bench', phoneNumber: '+255700000900', accountProtection: false },
  });
  const globalId = createSession!.id!;
  const providerSessionId = createSession!.providerSessionId!;
  await graphql(running, `mutation($id: ID!) { connectSession(id: $id) { id } }`, { id: globalId });
  await sandboxControl(running, providerSessionId, 'scan');
  const sandbox = running.sandbox!;
  const res = await fetch(`${sandbox.baseUrl}/whatsapp-sessions/${providerSessionId}`, { headers: { authorization: `Bearer ${sandbox.token}` } });
  const provider = ((await res.json()) as { data: { api_key: string; webhook_secret: string } }).data;
  const session: BenchSession = {
    globalId,
    id: Buffer.from(globalId, 'base64').toString().split(':')[1]!,
    providerSessionId,
    apiKey: provider.api_key,
    webhookSecret: provider.webhook_secret,
  };
  return { instance, running, session };
}
