/**
 * setProviderToken in real-provider mode (WASENDER_SANDBOX=0), with a sandbox served on its own
 * port standing in for WasenderAPI as a remote provider would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { CreateSession, newSession, ProviderSettings, SetProviderToken } from '../sessions/documents.ts';

describe('the provider token, stored by an admin', () => {
  const token = 'remote-personal-access-token-0001';
  let provider: Awaited<ReturnType<typeof serveSandbox>>;
  let app: TestApp;
  beforeAll(async () => {
    provider = await serveSandbox({ personalAccessToken: token });
    app = await startTestApp({ env: { WASENDER_SANDBOX: '0', WASENDER_BASE_URL: provider.apiUrl } });
  });
  afterAll(async () => {
    await app?.stop();
    await provider?.close();
  });

  it('is verified with the provider, stored encrypted, shown only by its hint, and used', async () => {
    const initial = (await app.data(ProviderSettings)).providerSettings;
    expect(initial).toMatchObject({ configured: false, sandbox: false, source: 'NONE', baseUrl: provider.apiUrl });

    const wrong = await app.execute(SetProviderToken, { token: 'definitely-not-the-token' });
    expect(wrong.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAUTHORIZED');
    const short = await app.execute(SetProviderToken, { token: 'x' });
    expect(short.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { token: expect.any(String) } });
    expect(await app.running.db.prisma.providerSettings.count()).toBe(0);

    const { setProviderToken } = await app.data(SetProviderToken, { token });
    expect(setProviderToken).toMatchObject({ configured: true, tokenHint: token.slice(-4), source: 'DATABASE' });
    expect(setProviderToken.verifiedAt).not.toBeNull();
    const stored = await app.running.db.prisma.providerSettings.findUniqueOrThrow({ where: { id: 'default' } });
    expect(stored.tokenEncrypted).not.toContain(token);
    expect(JSON.stringify(await app.execute(ProviderSettings))).not.toContain(token);
    // The provider accepts calls made with it.
    expect((await app.execute(CreateSession, newSession('Remote', '+255700000901'))).errors).toBeUndefined();
  });
});

describe('a stored provider token when the deployment moves to the sandbox', () => {
  it('is left unused: the sandbox is called with its own token', async () => {
    // One database for both runs: a PostgreSQL one, or an embedded one on disk.
    const db = await createTestDatabase();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'wg-provider-token-'));
    const env = { DATA_DIR: dataDir, ENCRYPTION_KEY: randomBytes(32).toString('hex') };
    const provider = await serveSandbox({ personalAccessToken: 'remote-personal-access-token-0002' });
    try {
      // One run of the deployment against the provider stores a token …
      const real = await startTestApp({ databaseUrl: db.url, env: { ...env, WASENDER_SANDBOX: '0', WASENDER_BASE_URL: provider.apiUrl } });
      try {
        await real.data(SetProviderToken, { token: 'remote-personal-access-token-0002' });
      } finally {
        await real.stop();
      }
      // … the next runs on the sandbox, with the same database.
      const sandboxed = await startTestApp({ databaseUrl: db.url, env });
      try {
        expect((await sandboxed.data(ProviderSettings)).providerSettings).toMatchObject({ sandbox: true, source: 'SANDBOX', tokenHint: null });
        expect((await sandboxed.execute(CreateSession, newSession('Sandboxed', '+255700000902'))).errors).toBeUndefined();
      } finally {
        await sandboxed.stop();
      }
    } finally {
      await provider.close();
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
