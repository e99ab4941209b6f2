import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const root = path.resolve(import.meta.dirname, '../..');

function startServer(env: Record<string, string>) {
  return spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: 'memory://', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = startServer(env);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('configuration', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      publicUrl: null,
      databaseUrl: null,
      dataDir: '.data',
      redisUrl: null,
      adminToken: null,
      nodeEnv: 'development',
      graphiql: true,
      wasender: { apiToken: null, baseUrl: 'https://www.wasenderapi.com/api', sandbox: true },
    });
  });

  it('turns the sandbox off when a provider token is set', () => {
    expect(loadConfig({ WASENDER_API_TOKEN: 'tok-1234' }).wasender.sandbox).toBe(false);
    expect(loadConfig({ WASENDER_API_TOKEN: 'tok-1234', WASENDER_SANDBOX: '1' }).wasender.sandbox).toBe(true);
  });

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['ADMIN_TOKEN', { ADMIN_TOKEN: 'short' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['REDIS_URL', { REDIS_URL: 'http://x' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'not a url' }],
    ['ENCRYPTION_KEY', { ENCRYPTION_KEY: 'too-short' }],
    ['ENCRYPTION_KEY', { NODE_ENV: 'production' }],
    ['ENCRYPTION_KEY_PREVIOUS', { ENCRYPTION_KEY: 'a'.repeat(64), ENCRYPTION_KEY_PREVIOUS: 'short' }],
    ['ENCRYPTION_KEY_PREVIOUS', { ENCRYPTION_KEY_PREVIOUS: 'b'.repeat(64) }],
    ['RATE_LIMIT_PER_MINUTE', { RATE_LIMIT_PER_MINUTE: '-1' }],
    ['AUTH_FAILURES_PER_MINUTE', { AUTH_FAILURES_PER_MINUTE: 'many' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['WASENDER_SANDBOX', { WASENDER_SANDBOX: 'maybe' }],
    ['WEBHOOK_RETENTION_DAYS', { WEBHOOK_RETENTION_DAYS: '0' }],
    ['WEBHOOK_RETENTION_DAYS', { WEBHOOK_RETENTION_DAYS: 'a week' }],
    ['MEDIA_CACHE_MB', { MEDIA_CACHE_MB: '-1' }],
    ['MEDIA_CACHE_FILE_MB', { MEDIA_CACHE_FILE_MB: 'lots' }],
    ['MEDIA_URL_TTL_SECONDS', { MEDIA_URL_TTL_SECONDS: '5' }],
    ['MEDIA_URL_TTL_SECONDS', { MEDIA_URL_TTL_SECONDS: '1.5' }],
  ])('rejects a bad %s', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as ConfigError).issues.map((i) => i.variable)).toContain(variable);
    }
  });

  it('caches 64 MiB of media, files up to 8 MiB, behind links that live 5 minutes, unless told otherwise', () => {
    expect(loadConfig({}).media).toEqual({ cacheBytes: 64 * 1024 * 1024, maxCachedFileBytes: 8 * 1024 * 1024, urlTtlMs: 300_000 });
    expect(loadConfig({ MEDIA_CACHE_MB: '0', MEDIA_CACHE_FILE_MB: '0.5', MEDIA_URL_TTL_SECONDS: '60' }).media).toEqual({ cacheBytes: 0, maxCachedFileBytes: 512 * 1024, urlTtlMs: 60_000 });
  });

  it('keeps processed webhook events for 7 days unless told otherwise', () => {
    expect(loadConfig({}).webhookRetentionDays).toBe(7);
    expect(loadConfig({ WEBHOOK_RETENTION_DAYS: '30' }).webhookRetentionDays).toBe(30);
  });

  describe('in production', () => {
    const production = { NODE_ENV: 'production', ENCRYPTION_KEY: 'a'.repeat(64) };

    it.each([
      ['no provider setting', {}],
      ['the sandbox turned off without a token', { WASENDER_SANDBOX: '0' }],
    ])('refuses to fall back to the sandbox with %s, naming both variables', (_case, env) => {
      try {
        loadConfig({ ...production, ...env });
        expect.unreachable();
      } catch (error) {
        const issues = (error as ConfigError).issues;
        expect(issues.map((i) => i.variable)).toEqual(['WASENDER_API_TOKEN']);
        expect(issues[0]!.message).toContain('WASENDER_SANDBOX=1');
      }
    });

    it('runs on the provider with a token, or on the sandbox when asked to explicitly', () => {
      expect(loadConfig({ ...production, WASENDER_API_TOKEN: 'tok-1234', PUBLIC_URL: 'https://wa.example.com' }).wasender.sandbox).toBe(false);
      expect(loadConfig({ ...production, WASENDER_SANDBOX: '1' }).wasender.sandbox).toBe(true);
    });

    it('stops the process at start without a provider token or WASENDER_SANDBOX=1', async () => {
      const result = await runServer({ ...production, PORT: '0' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('WASENDER_API_TOKEN');
      expect(result.stderr).toContain('WASENDER_SANDBOX');
    });
  });

  it('reports every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'x', ADMIN_TOKEN: 'short' });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).issues.map((i) => i.variable).sort()).toEqual(['ADMIN_TOKEN', 'PORT']);
    }
  });

  it('stops the process with a message naming the variable', async () => {
    const result = await runServer({ PORT: 'not-a-port', ADMIN_TOKEN: 'short' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('ADMIN_TOKEN: must be at least 16 characters');
  });
});

describe('npm start', () => {
  // A cold `tsx` start plus every migration on a fresh PGlite: slow on a busy 2-core machine.
  it('migrates a fresh database, becomes ready and serves the admin token, and stops on SIGTERM', { timeout: 90_000 }, async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = startServer({ PORT: String(port), ADMIN_TOKEN: 'start-test-admin-token', LOG_LEVEL: 'warn' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const started = Date.now();
      let ready = 0;
      while (Date.now() - started < 45_000) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
        if (ready === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready).toBe(200);
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer start-test-admin-token' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
