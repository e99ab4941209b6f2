/**
 * The product as a benchmark runs it: production settings, the built-in sandbox or one in a process
 * of its own (bench-provider.ts), and one session created, connected and scanned through the
 * public API, as an admin and a phone would.
 */
import { randomBytes } from 'node:crypto';
import { buildApp, type RunningApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/lib/logger.ts';
import type { BenchProvider } from './bench-provider.ts';

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

export async function sandboxControl(provider: BenchProvider, providerSessionId: string, action: string, body: unknown = {}) {
  const res = await fetch(`${provider.controlUrl}/sessions/${providerSessionId}/${action}`, {
    method: 'POST',
    // In production the sandbox's control endpoints are the admin's.
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`sandbox ${action}: ${res.status}`);
}

/**
 * The product in production settings, started: no session yet (a second process of a deployment).
 * With `provider`, it calls that sandbox instead of its built-in one.
 */
export async function startBenchInstance(env: Record<string, string> = {}, provider?: BenchProvider) {
  const loaded = loadConfig({
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
  // Production refuses a provider on plain HTTP at a loopback address (the real one posts only to
  // public HTTPS URLs): the sandbox's own process stands in for it here.
  const config = provider ? { ...loaded, wasender: { apiToken: provider.token, baseUrl: provider.apiUrl, sandbox: false } } : loaded;
  const instance = buildApp(config, { host: '127.0.0.1', logger: createLogger({ level: config.logLevel }) });
  const running = await instance.start();
  const builtIn = (sandbox: NonNullable<RunningApp['sandbox']>): BenchProvider => ({ apiUrl: sandbox.baseUrl, controlUrl: `${running.url}/sandbox/control`, token: sandbox.token });
  return { instance, running, provider: provider ?? builtIn(running.sandbox!) };
}

export async function startBenchApp(env: Record<string, string> = {}, external?: BenchProvider) {
  const { instance, running, provider } = await startBenchInstance(env, external);
  const { createSession } = await graphql(running, `mutation($input: CreateSessionInput!) { createSession(input: $input) { id providerSessionId } }`, {
    input: { name: 'Bench', phoneNumber: '+255700000900', accountProtection: false },
  });
  const globalId = createSession!.id!;
  const providerSessionId = createSession!.providerSessionId!;
  await graphql(running, `mutation($id: ID!) { connectSession(id: $id) { id } }`, { id: globalId });
  await sandboxControl(provider, providerSessionId, 'scan');
  const res = await fetch(`${provider.apiUrl}/whatsapp-sessions/${providerSessionId}`, { headers: { authorization: `Bearer ${provider.token}` } });
  const credentials = ((await res.json()) as { data: { api_key: string; webhook_secret: string } }).data;
  const session: BenchSession = {
    globalId,
    id: Buffer.from(globalId, 'base64').toString().split(':')[1]!,
    providerSessionId,
    apiKey: credentials.api_key,
    webhookSecret: credentials.webhook_secret,
  };
  return { instance, running, session, provider };
}
