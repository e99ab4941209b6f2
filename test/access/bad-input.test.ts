/**
 * Bad input across GraphQL and the webhook route: each case gets its clear status and error code,
 * and nothing in the database changes. Text that only looks dangerous (SQL, script, unicode) is
 * stored and returned verbatim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_GRAPHQL_BODY_BYTES } from '../../src/app.ts';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, postWebhook, settled, textEvent, type ConnectedSession } from '../helpers/inbox.ts';
import { providerSession } from '../helpers/sandbox.ts';
import { CreateSession, GetSession } from '../sessions/documents.ts';

interface Case {
  name: string;
  /** The request: a GraphQL body (object, or raw text) or a webhook body with headers. */
  graphql?: { query?: string; variables?: Record<string, unknown>; raw?: string; token?: string | null; method?: string; contentType?: string };
  webhook?: { body: string; headers?: Record<string, string> };
  status: number;
  code?: string;
  field?: string;
}

/** Row counts of every table (found in the catalog) and the sessions' visible settings. */
async function snapshot(app: TestApp): Promise<string> {
  const prisma = app.running.db.prisma;
  const tables = await prisma.$queryRawUnsafe<{ name: string }[]>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) counts[name] = Number((await prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM ${name}`))[0]!.n);
  const sessions = await prisma.whatsAppSession.findMany({ orderBy: { id: 'asc' }, select: { name: true, phoneNumber: true, accountProtection: true, logMessages: true, autoReadMessages: true, apiKeyHash: true } });
  const tokens = await prisma.apiToken.findMany({ orderBy: { id: 'asc' }, select: { tokenHash: true, revokedAt: true, previousTokenHash: true } });
  return JSON.stringify({ counts, sessions, tokens });
}

describe('bad input', () => {
  let app: TestApp;
  let session: ConnectedSession;
  let apiKey: string;
  let secret: string;
  beforeAll(async () => {
    app = await startTestApp();
    session = await connectedSession(app, 'Bad input');
    const remote = (await providerSession(app, session.providerSessionId))!;
    apiKey = remote.api_key;
    secret = remote.webhook_secret;
  });
  afterAll(() => app?.stop());

  const create = 'mutation($input: CreateSessionInput!) { createSession(input: $input) { id } }';
  const validInput = { name: 'Valid', phoneNumber: '+255700000901' };
  const chatGlobalId = (uuid: string) => Buffer.from(`Chat:${uuid}`).toString('base64');
  const sessionGlobalId = (uuid: string) => Buffer.from(`WhatsAppSession:${uuid}`).toString('base64');
  const missingUuid = '0193a000-0000-7000-8000-00000000dead';

  const cases = (): Case[] => [
    { name: 'syntax error', graphql: { query: '{ viewer { role }' }, status: 400, code: 'GRAPHQL_PARSE_FAILED' },
    { name: 'unknown field', graphql: { query: '{ viewer { password } }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
    { name: 'no query', graphql: { raw: '{"variables":{}}' }, status: 400, code: 'BAD_REQUEST' },
    { name: 'body not JSON', graphql: { raw: '{"query": "{ viewer { role } }"' }, status: 400, code: 'BAD_REQUEST' },
    { name: 'body a JSON string', graphql: { raw: '"{ viewer { role } }"' }, status: 400, code: 'BAD_REQUEST' },
    { name: 'mutation over GET', graphql: { query: create, variables: { input: validInput }, method: 'GET' }, status: 405, code: 'BAD_REQUEST' },
    { name: 'wrong variable type (number for a name)', graphql: { query: create, variables: { input: { ...validInput, name: 123 } } }, status: 200, code: 'BAD_USER_INPUT' },
    { name: 'missing required variable', graphql: { query: create, variables: {} }, status: 200, code: 'BAD_USER_INPUT' },
    { name: 'wrong enum value', graphql: { query: 'mutation { createApiToken(input: { name: "x", role: ROOT }) { token } }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
    { name: 'bad DateTime', graphql: { query: 'mutation($e: DateTime) { createApiToken(input: { name: "x", role: VIEWER, expiresAt: $e }) { token } }', variables: { e: 'yesterday' } }, status: 200, code: 'BAD_USER_INPUT' },
    { name: 'Int out of range', graphql: { query: 'mutation($s: Int) { rotateApiToken(id: "x", overlapSeconds: $s) { token } }', variables: { s: 2 ** 40 } }, status: 200, code: 'BAD_USER_INPUT' },
    { name: 'blank name', graphql: { query: create, variables: { input: { ...validInput, name: '   ' } } }, status: 200, code: 'BAD_USER_INPUT', field: 'name' },
    { name: 'huge name (1 MB)', graphql: { query: create, variables: { input: { ...validInput, name: 'n'.repeat(1000_000) } } }, status: 200, code: 'BAD_USER_INPUT', field: 'name' },
    { name: 'name of 101 characters', graphql: { query: create, variables: { input: { ...validInput, name: 'é'.repeat(101) } } }, status: 200, code: 'BAD_USER_INPUT', field: 'name' },
    { name: 'phone not E.164', graphql: { query: create, variables: { input: { ...validInput, phoneNumber: '0712345678' } } }, status: 200, code: 'BAD_USER_INPUT', field: 'phoneNumber' },
    { name: 'phone in full-width digits', graphql: { query: create, variables: { input: { ...validInput, phoneNumber: '+２５５７００００００９０１' } } }, status: 200, code: 'BAD_USER_INPUT', field: 'phoneNumber' },
    { name: 'phone with a NUL', graphql: { query: create, variables: { input: { ...validInput, phoneNumber: '+2557000\u000000901' } } }, status: 200, code: 'BAD_USER_INPUT', field: 'phoneNumber' },
    { name: 'phone with SQL', graphql: { query: create, variables: { input: { ...validInput, phoneNumber: "+255' OR 1=1 --" } } }, status: 200, code: 'BAD_USER_INPUT', field: 'phoneNumber' },
    { name: 'phone already used', graphql: { query: create, variables: { input: { name: 'Twin', phoneNumber: '__USED__' } } }, status: 200, code: 'BAD_USER_INPUT', field: 'phoneNumber' },
    { name: 'session id garbage', graphql: { query: '{ session(id: "garbage") { id } }' }, status: 200, code: 'NOT_FOUND' },
    { name: 'session id empty', graphql: { query: '{ session(id: "") { id } }' }, status: 200, code: 'NOT_FOUND' },
    { name: 'session id of a chat', graphql: { query: `{ session(id: "${chatGlobalId(missingUuid)}") { id } }` }, status: 200, code: 'NOT_FOUND' },
    { name: 'session id unknown', graphql: { query: `{ session(id: "${sessionGlobalId(missingUuid)}") { id } }` }, status: 200, code: 'NOT_FOUND' },
    { name: 'session id with SQL', graphql: { query: '{ session(id: "1\' OR \'1\'=\'1") { id } }' }, status: 200, code: 'NOT_FOUND' },
    { name: 'chat id of a session', graphql: { query: `{ chat(id: "${session.id}") { id } }` }, status: 200, code: 'NOT_FOUND' },
    { name: 'markChatRead on an unknown chat', graphql: { query: `mutation { markChatRead(chatId: "${chatGlobalId(missingUuid)}") { id } }` }, status: 200, code: 'NOT_FOUND' },
    { name: 'updateSession on an unknown session', graphql: { query: `mutation { updateSession(input: { id: "${sessionGlobalId(missingUuid)}", name: "x" }) { id } }` }, status: 200, code: 'NOT_FOUND' },
    { name: 'deleteSession with a chat id', graphql: { query: `mutation { deleteSession(id: "${chatGlobalId(missingUuid)}") }` }, status: 200, code: 'NOT_FOUND' },
    { name: 'node of an unknown type', graphql: { query: `{ node(id: "${Buffer.from(`Secret:${missingUuid}`).toString('base64')}") { id } }` }, status: 200, code: 'NOT_FOUND' },
    { name: 'nodes with one unknown', graphql: { query: `{ nodes(ids: ["${session.id}", "${sessionGlobalId(missingUuid)}"]) { id } }` }, status: 200, code: 'NOT_FOUND' },
    { name: 'revoke an unknown token', graphql: { query: `mutation { revokeApiToken(id: "${sessionGlobalId(missingUuid)}") { id } }` }, status: 200, code: 'NOT_FOUND' },
    { name: 'negative first', graphql: { query: '{ sessions(first: -1) { edges { node { id } } } }' }, status: 200, code: 'BAD_USER_INPUT' },
    { name: 'first over 100', graphql: { query: '{ sessions(first: 1000) { edges { node { id } } } }' }, status: 200, code: 'BAD_USER_INPUT' },
    { name: 'garbage cursor', graphql: { query: '{ sessions(first: 1, after: "not-a-cursor") { edges { node { id } } } }' }, status: 200, code: 'BAD_USER_INPUT' },
    { name: 'too deep', graphql: { query: '{ viewer { sessions { chats { nodes { session { chats { nodes { session { chats { nodes { session { chats { nodes { id } } } } } } } } } } } } } }' }, status: 400, code: 'BAD_USER_INPUT' },
    { name: 'too many aliases', graphql: { query: `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: viewer { role }`).join(' ')} }` }, status: 400, code: 'BAD_USER_INPUT' },
    { name: 'too many tokens', graphql: { query: `{ nodes(ids: [${'"x" '.repeat(5000)}]) { id } }` }, status: 400, code: 'BAD_USER_INPUT' },
    { name: 'oversized body', graphql: { query: '{ viewer { role } }', variables: { pad: 'p'.repeat(MAX_GRAPHQL_BODY_BYTES) } }, status: 413, code: 'BAD_USER_INPUT' },
    { name: 'no token', graphql: { query: '{ viewer { role } }', token: null }, status: 401, code: 'UNAUTHENTICATED' },
    { name: 'wrong token', graphql: { query: '{ viewer { role } }', token: 'wgt_not-a-token' }, status: 401, code: 'UNAUTHENTICATED' },
    { name: 'token with Latin-1 and a space', graphql: { query: '{ viewer { role } }', token: 'wgt_\u00ff\u00e9 tok' }, status: 401, code: 'UNAUTHENTICATED' },
    { name: 'webhook: empty body', webhook: { body: '', headers: { 'x-webhook-signature': '__SECRET__' } }, status: 400 },
    { name: 'webhook: not JSON', webhook: { body: '{"event":', headers: { 'x-webhook-signature': '__SECRET__' } }, status: 400 },
    { name: 'webhook: no signature', webhook: { body: textEvent('__KEY__', '3EB0BAD000000000000001') }, status: 401 },
    { name: 'webhook: wrong signature', webhook: { body: textEvent('__KEY__', '3EB0BAD000000000000002'), headers: { 'x-webhook-signature': 'not-the-secret' } }, status: 401 },
    { name: 'webhook: unknown API key', webhook: { body: textEvent('an-unknown-key', '3EB0BAD000000000000003'), headers: { 'x-webhook-signature': '__SECRET__' } }, status: 401 },
    { name: 'webhook: oversized body', webhook: { body: JSON.stringify({ event: 'messages.received', pad: 'p'.repeat(11 * 1024 * 1024) }), headers: { 'x-webhook-signature': '__SECRET__' } }, status: 413 },
  ];

  async function run(c: Case): Promise<{ status: number; code?: string; fields?: Record<string, string> }> {
    if (c.webhook) {
      const headers = Object.fromEntries(Object.entries(c.webhook.headers ?? {}).map(([k, v]) => [k, v.replace('__SECRET__', secret)]));
      const res = await postWebhook(app, c.webhook.body.replace('__KEY__', apiKey), headers);
      await res.text();
      return { status: res.status };
    }
    const g = c.graphql!;
    const token = g.token === undefined ? ADMIN_TOKEN : g.token;
    const variables = JSON.parse(JSON.stringify(g.variables ?? {}).replace('__USED__', (await app.data(GetSession, { id: session.id })).session!.phoneNumber));
    const body = g.raw ?? JSON.stringify({ query: g.query, variables });
    const headers: Record<string, string> = { 'content-type': g.contentType ?? 'application/json', accept: 'application/graphql-response+json, application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const url = g.method === 'GET' ? `${app.url}/graphql?query=${encodeURIComponent(g.query!)}` : `${app.url}/graphql`;
    const res = await fetch(url, { method: g.method ?? 'POST', headers, ...(g.method === 'GET' ? {} : { body }) });
    const text = await res.text();
    let json: { errors?: { extensions?: { code?: string; fields?: Record<string, string> } }[] } = {};
    try {
      json = JSON.parse(text);
    } catch {
      // a plain refusal
    }
    return { status: res.status, code: json.errors?.[0]?.extensions?.code, fields: json.errors?.[0]?.extensions?.fields };
  }

  it('answers each of at least 40 bad requests with its clear status and code, changing nothing', async () => {
    await settled(app);
    const before = await snapshot(app);
    const all = cases();
    expect(all.length).toBeGreaterThanOrEqual(40);
    const actual: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const c of all) {
      const got = await run(c);
      actual[c.name] = [got.status, got.code ?? '-', c.field ? (got.fields?.[`input.${c.field}`] ?? got.fields?.[c.field] ? c.field : 'no such field') : '-'].join(' ');
      expected[c.name] = [c.status, c.code ?? '-', c.field ?? '-'].join(' ');
    }
    expect(actual).toEqual(expected);
    await settled(app);
    expect(await snapshot(app)).toBe(before);
  });

  it('stores and returns text that looks like SQL, script or unicode verbatim', async () => {
    const names = ["Robert'); DROP TABLE whatsapp_sessions;--", '<script>alert(1)</script>', 'مرحبا 👋 Ωμέγα', 'tab\tand\u200bzero-width'];
    for (const [i, name] of names.entries()) {
      const { createSession } = await app.data(CreateSession, { input: { name, phoneNumber: `+2557000009${10 + i}` } });
      expect((await app.data(GetSession, { id: createSession.id })).session!.name).toBe(name);
    }
  });
});
