/**
 * The first run: `npm start` with nothing set gives a working admin token (kept across restarts),
 * prints where everything is, and GraphiQL opens ready to use on this machine in development.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, validate } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/graphql/schema.ts';
import { GRAPHIQL_DEFAULT_DOCUMENT, GRAPHIQL_DEFAULT_VARIABLES } from '../../src/graphql/graphiql-document.ts';
import { DEV_ADMIN_TOKEN_FILE } from '../../src/lib/dev-admin-token.ts';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.ts';
import { startEntryPoint, type EntryPoint } from '../helpers/entry-point.ts';

async function viewerRole(url: string, token: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ viewer { role } }' }),
  });
  return ((await res.json()) as { data?: { viewer: { role: string } } }).data?.viewer.role;
}

async function graphiqlHtml(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/graphql`, { headers: { accept: 'text/html', ...headers } });
  expect(res.headers.get('content-type')).toContain('text/html');
  return res.text();
}

function printedToken(entry: EntryPoint): string {
  const match = /Admin token\s+(\S+)/.exec(entry.stdout());
  if (!match) throw new Error(`no token in the banner:\n${entry.stdout()}`);
  return match[1]!;
}

async function stopEntryPoint(entry: EntryPoint) {
  entry.child.kill('SIGTERM');
  expect(await entry.exited).toEqual({ code: 0, signal: null });
}

describe('the first run', () => {
  const apps: TestApp[] = [];
  let dataDir: string | undefined;
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('generates a development admin token once, prints it with the URLs, and keeps it across restarts', { timeout: 150_000 }, async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'wg-first-run-'));
    const env = { DATA_DIR: dataDir, NODE_ENV: 'development' };

    const first = await startEntryPoint(env);
    const token = printedToken(first);
    const port = new URL(first.url).port;
    for (const line of [`http://localhost:${port}/console`, `http://localhost:${port}/graphql`, `ws://localhost:${port}/graphql`, `http://localhost:${port}/api/whatsapp/webhook`, `http://localhost:${port}/sandbox`]) {
      expect(first.stdout()).toContain(line);
    }
    expect(await viewerRole(first.url, token)).toBe('ADMIN');
    expect((await stat(path.join(dataDir, DEV_ADMIN_TOKEN_FILE))).mode & 0o777).toBe(0o600);
    // The token is for the person at the terminal, not for the logs.
    expect(first.stdout().split('\n').filter((line) => line.startsWith('{') && line.includes(token))).toEqual([]);
    // GraphiQL, opened on this machine, is ready to use with it.
    expect(await graphiqlHtml(first.url)).toContain(`Bearer ${token}`);
    await stopEntryPoint(first);

    const second = await startEntryPoint(env);
    expect(printedToken(second)).toBe(token);
    expect(await viewerRole(second.url, token)).toBe('ADMIN');
    await stopEntryPoint(second);
  });

  it('fills in the token in GraphiQL only for development requests made on this machine, in memory only', { timeout: 90_000 }, async () => {
    const dev = await startTestApp({ env: { NODE_ENV: 'development', ADMIN_TOKEN: '' } });
    apps.push(dev);
    const generated = dev.running.adminToken!;
    expect(generated.generated).toBe(true);
    expect(await viewerRole(dev.url, generated.value)).toBe('ADMIN');
    // DATA_DIR is memory://: nothing was written anywhere.
    expect(existsSync('memory:')).toBe(false);

    expect(await graphiqlHtml(dev.url)).toContain(`Bearer ${generated.value}`);
    // Passed on by a proxy: the client is somewhere else.
    expect(await graphiqlHtml(dev.url, { 'x-forwarded-for': '203.0.113.7' })).not.toContain(generated.value);
    // Not over a socket from this machine.
    const viaFetch = await dev.running.yoga.fetch(`${dev.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await viaFetch.text()).not.toContain(generated.value);
  });

  it('generates and fills in nothing in production', { timeout: 90_000 }, async () => {
    const key = { ENCRYPTION_KEY: 'ab'.repeat(32) };
    const [withToken, withoutToken] = await Promise.all([
      startTestApp({ env: { NODE_ENV: 'production', WASENDER_SANDBOX: '1', GRAPHIQL: '1', ...key } }),
      startTestApp({ env: { NODE_ENV: 'production', WASENDER_SANDBOX: '1', ADMIN_TOKEN: '', ...key } }),
    ]);
    apps.push(withToken, withoutToken);
    const html = await graphiqlHtml(withToken.url);
    expect(html).toContain('CreateSession');
    expect(html).not.toContain(ADMIN_TOKEN);
    expect(withoutToken.running.adminToken).toBeNull();
  });

  it('opens GraphiQL on a document that is valid against the schema', () => {
    const document = parse(GRAPHIQL_DEFAULT_DOCUMENT);
    expect(validate(buildSchema(), document)).toEqual([]);
    const names = document.definitions.map((d) => ('name' in d ? d.name?.value : undefined));
    expect(names).toEqual(['CreateSession', 'QrCode', 'SessionStatus', 'ConnectSession', 'Inbox', 'MessageReceived']);
    expect(JSON.parse(GRAPHIQL_DEFAULT_VARIABLES)).toMatchObject({ input: { name: expect.any(String), phoneNumber: expect.stringMatching(/^\+\d+$/) } });
  });
});
