/**
 * The real provider posts webhooks only to a public HTTPS URL. Production with the real provider
 * refuses to start without one; development starts, says so in a warning line, and each session
 * created then carries an ERROR log entry saying why no webhooks will arrive. The sandbox posts to
 * anything, so with it none of this applies.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { CreateSession, SessionLogs, SetProviderToken, newSession } from '../sessions/documents.ts';

const production = { NODE_ENV: 'production', ENCRYPTION_KEY: randomBytes(32).toString('hex'), WASENDER_API_TOKEN: 'tok-1234' };

function configIssues(env: Record<string, string>) {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues;
  }
}

describe('PUBLIC_URL with the real provider in production', () => {
  it.each([
    ['unset', undefined, 'is required'],
    ['plain HTTP', 'http://wa.example.com', 'is not HTTPS'],
    ['loopback', 'https://127.0.0.1:8443', 'loopback or private'],
    ['localhost', 'https://localhost', 'loopback or private'],
    ['a private network', 'https://10.0.4.2', 'loopback or private'],
    ['another private network', 'https://192.168.1.20', 'loopback or private'],
    ['IPv6 loopback', 'https://[::1]', 'loopback or private'],
  ])('refuses to start when it is %s, naming PUBLIC_URL', (_case, url, reason) => {
    const issues = configIssues({ ...production, ...(url ? { PUBLIC_URL: url } : {}) });
    expect(issues.map((i) => i.variable)).toEqual(['PUBLIC_URL']);
    expect(issues[0]!.message).toContain(reason);
  });

  it('starts with a public HTTPS URL, and on the sandbox without one', () => {
    expect(configIssues({ ...production, PUBLIC_URL: 'https://wa.example.com' })).toEqual([]);
    expect(configIssues({ ...production, PUBLIC_URL: 'https://203.0.113.7/base/' })).toEqual([]);
    const { WASENDER_API_TOKEN: _token, ...withoutToken } = production;
    expect(configIssues({ ...withoutToken, WASENDER_SANDBOX: '1' })).toEqual([]);
  });
});

describe('PUBLIC_URL the provider cannot reach, in development', () => {
  const providerToken = `provider-token-${randomBytes(12).toString('hex')}`;
  const lines: { level: string; msg: string; publicUrl?: string; reason?: string }[] = [];
  let provider: Awaited<ReturnType<typeof serveSandbox>>;
  let app: TestApp;
  let sandboxApp: TestApp;
  beforeAll(async () => {
    // The real-provider client, against a served sandbox standing in for the provider.
    provider = await serveSandbox({ personalAccessToken: providerToken });
    app = await startTestApp({
      env: { WASENDER_SANDBOX: '0', WASENDER_BASE_URL: provider.apiUrl },
      logger: createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } }),
    });
    sandboxApp = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
    await sandboxApp?.stop();
    await provider?.close();
  });

  const logsOf = async (target: TestApp, id: string) =>
    (await target.data(SessionLogs, { id, first: 10 })).session!.logs.edges.map((e) => e.node);

  it('starts with a warning line naming the URL and why', () => {
    const warning = lines.find((l) => l.level === 'warn' && l.msg.includes('PUBLIC_URL'));
    expect(warning).toMatchObject({ publicUrl: app.url });
    expect(warning!.reason).toContain('is not HTTPS');
  });

  it('creates sessions that say in their log why no webhooks will arrive', async () => {
    await app.data(SetProviderToken, { token: providerToken });
    const { createSession } = await app.data(CreateSession, newSession('Unreachable', '+255700000555'));
    const logs = await logsOf(app, createSession.id);
    expect(logs.map((l) => l.type).sort()).toEqual(['CREATED', 'ERROR']);
    const error = logs.find((l) => l.type === 'ERROR')!;
    expect(error.message).toContain('No webhooks will arrive');
    expect(error.message).toContain(`PUBLIC_URL ${app.url} is not HTTPS`);
  });

  it('says nothing of the kind on the sandbox, which posts to any URL', async () => {
    const { createSession } = await sandboxApp.data(CreateSession, newSession('Local', '+255700000556'));
    expect((await logsOf(sandboxApp, createSession.id)).map((l) => l.type)).toEqual(['CREATED']);
  });
});
