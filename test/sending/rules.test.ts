/**
 * What sendMessage refuses (each bad field named, nothing stored), when the session cannot send,
 * and the idempotency key: the same key returns the same message and sends it once, also when the
 * calls arrive at the same time, in one process or in two.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startSharedDeployment, startTestApp, type TestApp, type TestDeployment } from '../helpers/app.ts';
import { serviceAvailable } from '../helpers/database.ts';
import { connectedSession, databaseId, inbound, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { sandboxSends } from '../helpers/sandbox.ts';
import { CreateSession, newSession } from '../sessions/documents.ts';
import { mediaUrlProblem } from '../../src/lib/media-url.ts';
import { SendMessage } from './documents.ts';

/** Provider round trips (sends, webhooks, settling) are slow on a busy machine: wait long enough. */
const waitFor: typeof eventually = (check, timeoutMs = 20_000) => eventually(check, timeoutMs);

describe('sendMessage input', () => {
  let app: TestApp;
  let session: ConnectedSession;
  let other: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    session = await connectedSession(app, 'Rules');
    other = await connectedSession(app, 'Other');
  });
  afterAll(() => app.stop());

  async function stored() {
    const prisma = app.running.db.prisma;
    return { messages: await prisma.message.count(), outbox: await prisma.outboxMessage.count(), chats: await prisma.chat.count() };
  }

  it('names each bad field and stores nothing', async () => {
    await inbound(app, other, { from: '+255755000001', text: 'hello other' });
    await settled(app);
    const otherMessage = await app.running.db.prisma.message.findFirstOrThrow({ where: { sessionId: other.dbId } });
    const otherChat = Buffer.from(`Chat:${otherMessage.chatId}`).toString('base64');
    const otherMessageId = Buffer.from(`Message:${otherMessage.id}`).toString('base64');
    const before = await stored();
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ to: '+255700000001', chatId: otherChat, text: 'x' }, { to: expect.any(String), chatId: expect.any(String) }],
      [{ text: 'nobody' }, { to: expect.stringContaining('required') }],
      [{ to: '+255700000001' }, { text: expect.stringContaining('one content is required') }],
      [{ to: '+255700000001', text: 'hi', image: { url: 'https://x.example/a.jpg' } }, { text: expect.stringContaining('only one content'), image: expect.stringContaining('only one content') }],
      [{ to: '0712 345 678', text: 'hi' }, { to: expect.stringContaining('E.164') }],
      [{ to: '+255700000001', poll: { question: 'Q?', options: ['only'] } }, { 'poll.options': 'must have 2 to 12 options' }],
      [{ to: '+255700000001', poll: { question: 'Q?', options: Array.from({ length: 13 }, (_, i) => `o${i}`) } }, { 'poll.options': 'must have 2 to 12 options' }],
      [{ to: '+255700000001', poll: { question: ' ', options: ['a', 'a'] } }, { 'poll.question': expect.any(String), 'poll.options': 'must not repeat an option' }],
      [{ to: '+255700000001', location: { latitude: 91, longitude: 0 } }, { 'location.latitude': expect.any(String) }],
      [{ to: '+255700000001', contact: { name: 'Asha', phone: 'nope' } }, { 'contact.phone': expect.stringContaining('E.164') }],
      [{ to: '+255700000001', image: { url: 'ftp://files.example.com/a.jpg' } }, { 'image.url': 'must be an http or https URL' }],
      [{ to: '+255700000001', document: { url: 'not a url' } }, { 'document.url': expect.stringContaining('URL') }],
      [{ chatId: otherChat, text: 'wrong session' }, { chatId: 'is not a chat of this session' }],
      [{ to: '+255700000001', text: 'reply', replyToMessageId: otherMessageId }, { replyToMessageId: 'is not a message of this chat' }],
      [{ to: '+255700000001', text: '' }, { text: expect.any(String) }],
    ];
    for (const [input, fields] of cases) {
      const result = await app.execute(SendMessage, { input: { sessionId: session.id, ...input } });
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions?.fields, JSON.stringify(input)).toEqual(fields);
    }
    expect(await stored()).toEqual(before);
    expect(await sandboxSends(app, session.providerSessionId)).toEqual([]);
  });

  it('is NOT_FOUND for a session that does not exist or is not a session', async () => {
    for (const sessionId of [Buffer.from(`WhatsAppSession:${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`).toString('base64'), 'bm9wZQ==']) {
      const result = await app.execute(SendMessage, { input: { sessionId, to: '+255700000001', text: 'hi' } });
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('needs a connected session: INVALID_STATE with the status and allowed actions, nothing stored', async () => {
    const { createSession } = await app.data(CreateSession, newSession('Offline', '+255700000777'));
    const before = await stored();
    const result = await app.execute(SendMessage, { input: { sessionId: createSession.id, to: '+255700000001', text: 'hi' } });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_STATE', status: 'DISCONNECTED', allowedActions: ['CONNECT', 'DELETE'] });
    expect(await stored()).toEqual(before);
  });

  it('returns the same message for the same key, sent once, even for calls at the same time', async () => {
    const input = { sessionId: session.id, to: '+255700000888', text: 'Once only', idempotencyKey: `order-${randomBytes(4).toString('hex')}` };
    const results = await Promise.all(Array.from({ length: 5 }, () => app.data(SendMessage, { input })));
    expect(new Set(results.map((r) => r.sendMessage.id)).size).toBe(1);
    await waitFor(async () => (await app.data(SendMessage, { input })).sendMessage.status === 'READ');
    const sends = (await sandboxSends(app, session.providerSessionId)).filter((s) => s.to === '+255700000888');
    expect(sends).toHaveLength(1);
    // The key is per session: another session's same key is another message.
    const elsewhere = await app.data(SendMessage, { input: { ...input, sessionId: other.id } });
    expect(elsewhere.sendMessage.id).not.toBe(results[0]!.sendMessage.id);
  });
});

describe('outbound media URLs in production', () => {
  it('refuses loopback, private and link-local addresses, written or resolved', async () => {
    const resolve = async (host: string) => (({ 'cdn.example.com': ['93.184.216.34'], 'intranet.example.com': ['10.1.2.3'], 'v6.example.com': ['fd00::1'] }) as Record<string, string[]>)[host] ?? [];
    const check = (url: string) => mediaUrlProblem(url, { production: true, resolve });
    expect(await check('https://cdn.example.com/a.jpg')).toBeNull();
    for (const url of ['http://127.0.0.1/a.jpg', 'http://[::1]/a.jpg', 'http://169.254.169.254/latest', 'http://192.168.1.10/a.jpg', 'http://localhost:8080/a.jpg', 'http://[::ffff:10.0.0.1]/a']) {
      expect(await check(url), url).toMatch(/loopback, private or link-local/);
    }
    expect(await check('https://intranet.example.com/a.jpg')).toMatch(/resolves to/);
    expect(await check('https://v6.example.com/a.jpg')).toMatch(/resolves to/);
    expect(await check('https://nowhere.example.com/a.jpg')).toMatch(/does not resolve/);
    // Outside production the provider (a sandbox, a test) may fetch from anywhere http(s).
    expect(await mediaUrlProblem('http://127.0.0.1/a.jpg', { production: false })).toBeNull();
  });
});

describe.runIf(serviceAvailable('DATABASE_URL'))('idempotency across processes', () => {
  let deployment: TestDeployment;
  beforeAll(async () => {
    deployment = await startSharedDeployment(2);
  });
  afterAll(() => deployment?.stop());

  it('sends once when the same key arrives at two processes at the same time', async () => {
    const [first, second] = deployment.apps as [TestApp, TestApp];
    const session = await connectedSession(first, 'Two processes');
    for (let round = 0; round < 3; round++) {
      const to = `+25570000099${round}`;
      const input = { sessionId: session.id, to, text: `Round ${round}`, idempotencyKey: `two-${round}-${randomBytes(4).toString('hex')}` };
      const [a, b] = await Promise.all([first.data(SendMessage, { input }), second.data(SendMessage, { input })]);
      expect(a.sendMessage.id).toBe(b.sendMessage.id);
      await waitFor(async () => (await sandboxSends(first, session.providerSessionId)).some((s) => s.to === to));
      await waitFor(async () => (await first.data(SendMessage, { input })).sendMessage.status === 'READ');
      expect((await sandboxSends(first, session.providerSessionId)).filter((s) => s.to === to)).toHaveLength(1);
      expect(await first.running.db.prisma.message.count({ where: { sessionId: databaseId(session.id), idempotencyKey: input.idempotencyKey } })).toBe(1);
    }
  });
});
