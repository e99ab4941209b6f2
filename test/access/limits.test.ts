/**
 * Abuse limits, each just inside (passes) and just outside (refused with a clear code): operation
 * depth, aliases, tokens and cost; page sizes; body size; operations per token per minute; failed
 * authentications per address; and the per-token limit held across two processes through Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_LIMITS } from '../../src/graphql/armor.ts';
import { MAX_GRAPHQL_BODY_BYTES } from '../../src/app.ts';
import { ADMIN_TOKEN, startDeployment, startTestApp, type TestApp } from '../helpers/app.ts';
import { serviceAvailable } from '../helpers/database.ts';
import { CreateApiToken, ViewerQuery } from './documents.ts';

interface RawResult {
  status: number;
  headers: Headers;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function post(app: TestApp, query: string, token: string | null = ADMIN_TOKEN, variables?: Record<string, unknown>): Promise<RawResult> {
  const res = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as RawResult['body'] };
}

/** The refusal's code and limit, or 'OK' when the operation ran without errors. */
function verdict(result: RawResult): string {
  const error = result.body.errors?.[0];
  if (!error) return 'OK';
  return [error.extensions?.code, error.extensions?.limit].filter(Boolean).join(':');
}

/** A selection `depth` levels deep: viewer → sessions → chats → nodes → session → … → __typename. */
function deepQuery(depth: number): string {
  const cycle = ['chats(first: 1)', 'nodes', 'session'];
  const fields = ['viewer', 'sessions'];
  for (let i = 0; fields.length < depth - 1; i++) fields.push(cycle[i % 3]!);
  return `{ ${fields.map((f) => `${f} {`).join(' ')} __typename ${'}'.repeat(fields.length)} }`;
}

const PAGE = (nested: string) => `{
  sessions(first: 100) { edges { node { id name phoneNumber status createdAt
    chats(first: 50) { edges { node { id remoteJid name unreadCount lastMessageAt lastMessage { id text timestamp } ${nested} } } }
  } } }
}`;

describe('operation limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.stop());

  it('takes a depth of 12 and refuses 13', async () => {
    expect(verdict(await post(app, deepQuery(OPERATION_LIMITS.depth)))).toBe('OK');
    expect(verdict(await post(app, deepQuery(OPERATION_LIMITS.depth + 1)))).toBe('BAD_USER_INPUT:depth');
  });

  it('takes 50 aliases and refuses 51', async () => {
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { role }`).join(' ')} }`;
    expect(verdict(await post(app, aliased(OPERATION_LIMITS.aliases)))).toBe('OK');
    const refused = await post(app, aliased(OPERATION_LIMITS.aliases + 1));
    expect(verdict(refused)).toBe('BAD_USER_INPUT:aliases');
    expect(refused.body.errors![0]!.message).toMatch(/alias/i);
  });

  it('takes a document of the token limit and refuses one token more', async () => {
    // `{ nodes(ids: [` + n strings + `]) { id } }`: twelve tokens besides the strings.
    const document = (tokens: number) => `{ nodes(ids: [${'"x" '.repeat(tokens - 12)}]) { id } }`;
    expect(verdict(await post(app, document(OPERATION_LIMITS.tokens)))).not.toBe('BAD_USER_INPUT:tokens');
    expect(verdict(await post(app, document(OPERATION_LIMITS.tokens + 1)))).toBe('BAD_USER_INPUT:tokens');
  });

  it('takes a page of 100 with a nested page of 50, and refuses a third nested page by its cost', async () => {
    expect(verdict(await post(app, PAGE('')))).toBe('OK');
    expect(verdict(await post(app, PAGE('messages(first: 100) { edges { node { id text } } }')))).toBe('BAD_USER_INPUT:cost');
  });

  it('takes first: 100 and refuses 101, as a literal or a variable, at any level', async () => {
    const page = 'query Page($n: Int) { sessions(first: $n) { edges { node { id chats(first: 5) { edges { node { id } } } } } } }';
    expect(verdict(await post(app, page, ADMIN_TOKEN, { n: 100 }))).toBe('OK');
    const refused = await post(app, page, ADMIN_TOKEN, { n: 101 });
    expect(verdict(refused)).toBe('BAD_USER_INPUT');
    expect(refused.body.errors![0]!.extensions!.fields).toEqual({ first: 'must be at most 100' });
    expect(verdict(await post(app, '{ sessions(first: 1) { edges { node { logs(last: 101) { edges { node { type } } } } } } }'))).toBe('BAD_USER_INPUT');
  });

  it('refuses an operation without a token (401)', async () => {
    const result = await app.execute(ViewerQuery, {}, { token: null });
    expect([result.status, result.errors?.[0]?.extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('refuses a body over the limit with 413 before reading it', async () => {
    const padding = 'x'.repeat(MAX_GRAPHQL_BODY_BYTES);
    const res = await post(app, '{ viewer { role } }', ADMIN_TOKEN, { padding });
    expect(res.status).toBe(413);
    expect(verdict(res)).toBe('BAD_USER_INPUT');
  });
});

describe('rate limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ manualClock: true, env: { RATE_LIMIT_PER_MINUTE: '5', AUTH_FAILURES_PER_MINUTE: '3' } });
    // At the start of a minute, so that the window is the whole minute.
    app.clock!.advance(60_000 - (app.clock!.now() % 60_000));
  });
  afterAll(() => app?.stop());

  it('answers RATE_LIMITED with retryAfter past the operations per token per minute, for that token only', async () => {
    const { createApiToken } = await app.data(CreateApiToken, { input: { name: 'busy', role: 'VIEWER' } });
    const other = (await app.data(CreateApiToken, { input: { name: 'calm', role: 'VIEWER' } })).createApiToken.token;
    const busy = createApiToken.token;
    for (let i = 0; i < 5; i++) expect(verdict(await post(app, '{ viewer { role } }', busy))).toBe('OK');
    app.clock!.advance(20_000);
    const refused = await post(app, '{ viewer { role } }', busy);
    expect(refused.status).toBe(429);
    expect(refused.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 40 });
    expect(verdict(await post(app, '{ viewer { role } }', other))).toBe('OK');
    app.clock!.advance(40_000);
    expect(verdict(await post(app, '{ viewer { role } }', busy))).toBe('OK');
  });

  it('stops looking at tokens from an address after too many wrong ones, until the minute is over', async () => {
    app.clock!.advance(60_000 - (app.clock!.now() % 60_000));
    const minted = (await app.data(CreateApiToken, { input: { name: 'valid', role: 'VIEWER' } })).createApiToken.token;
    for (let i = 0; i < 3; i++) {
      const wrong = await post(app, '{ viewer { role } }', `wgt_wrong-${i}`);
      expect([wrong.status, verdict(wrong)]).toEqual([401, 'UNAUTHENTICATED']);
    }
    const blocked = await post(app, '{ viewer { role } }', minted);
    expect(blocked.status).toBe(429);
    expect(blocked.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 60 });
    app.clock!.advance(60_000);
    expect(verdict(await post(app, '{ viewer { role } }', minted))).toBe('OK');
  });
});

describe.runIf(serviceAvailable('DATABASE_URL') && serviceAvailable('REDIS_URL'))('rate limits across processes', () => {
  it('counts a token\'s operations in every process together', async () => {
    const deployment = await startDeployment(2, { redis: true, manualClock: true, env: { RATE_LIMIT_PER_MINUTE: '4' } });
    try {
      const [first, second] = deployment.apps as [TestApp, TestApp];
      // Both clocks at the same instant, at the start of a minute.
      const target = Math.ceil(Math.max(first.clock!.now(), second.clock!.now()) / 60_000) * 60_000 + 60_000;
      for (const app of [first, second]) app.clock!.advance(target - app.clock!.now());
      const token = (await first.data(CreateApiToken, { input: { name: 'shared', role: 'VIEWER' } })).createApiToken.token;
      for (const app of [first, second, first, second]) expect(verdict(await post(app, '{ viewer { role } }', token))).toBe('OK');
      expect(verdict(await post(second, '{ viewer { role } }', token))).toBe('RATE_LIMITED');
      expect(verdict(await post(first, '{ viewer { role } }', token))).toBe('RATE_LIMITED');
    } finally {
      await deployment.stop();
    }
  });
});
