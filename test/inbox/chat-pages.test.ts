import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createApiTokenRow } from '../helpers/api-token.ts';
import { connectedSession, inbound, replay, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { ChatPage, ChatPageRelations, MarkChatRead, OneChat, SessionsChatPage, SessionsWithChats, TwoSessionPages } from './documents.ts';

/** A session's chats as pages of its `chats` connection: the inbox's own statement, not Prisma's. */
describe("a session's chats, page by page", () => {
  let app: TestApp;
  let front: ConnectedSession;
  let other: ConnectedSession;
  /** Front desk's chats' phone numbers in the inbox's order: latest message first, the chat without messages last. */
  const order = ['+255714000003', '+255714000001', '+255714000004', '+255714000002', '+255714000005'];

  beforeAll(async () => {
    app = await startTestApp();
    front = await connectedSession(app, 'Front desk');
    other = await connectedSession(app, 'Elsewhere');
    for (const [from, text] of [['+255714000002', 'two'], ['+255714000004', 'four'], ['+255714000001', 'one'], ['+255714000003', 'three']]) {
      await inbound(app, front, { from, text });
    }
    // A chat the phone lists with no message of it stored yet.
    await replay(app, front, 'chats.upsert', [{ id: '255714000005@s.whatsapp.net', name: 'Quiet customer', unreadCount: 0 }]);
    await inbound(app, other, { from: '+255714000009', text: 'elsewhere' });
    await settled(app);
  });
  afterAll(async () => {
    await app.stop();
  });

  const page = async (vars: { first?: number; after?: string | null; last?: number; before?: string | null; unreadOnly?: boolean }, id = front.id) =>
    (await app.data(ChatPage, { id, ...vars })).session!.chats;
  const phones = (chats: Awaited<ReturnType<typeof page>>) => chats.edges.map((e) => e.node.phoneNumber);

  it('lists them in the inbox order, each with its last message, the chat without messages last with none', async () => {
    const all = await page({ first: 10 });
    expect(phones(all)).toEqual(order);
    expect(all.edges.map((e) => e.node.lastMessage?.text ?? null)).toEqual(['three', 'one', 'four', 'two', null]);
    expect(all.nodes.map((n) => n.id)).toEqual(all.edges.map((e) => e.node.id));
    expect(all.nodes[4]!.title).toBe('Quiet customer');
    expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false, startCursor: all.edges[0]!.cursor, endCursor: all.edges[4]!.cursor });
  });

  it('reads every field of a chat and its last message as the chat itself answers them', async () => {
    const all = await page({ first: 10 });
    for (const { node } of all.edges) {
      const { chat } = await app.data(OneChat, { id: node.id });
      expect(node).toEqual(chat);
    }
  });

  it("loads a page's chats' relations (their session, their messages) by each chat's id", async () => {
    const chats = (await app.data(ChatPageRelations, { id: front.id })).session!.chats.edges.map((e) => e.node);
    expect(chats.map((c) => c.session.name)).toEqual(['Front desk', 'Front desk']);
    expect(chats.map((c) => c.messages.edges.map((m) => [m.node.text, m.node.chat.phoneNumber]))).toEqual([[['three', order[0]]], [['one', order[1]]]]);
  });

  it('pages forward with first/after and back with last/before, each page following on from the last', async () => {
    const forward: (string | null)[] = [];
    let after: string | null = null;
    for (let pages = 0; ; pages++) {
      const chats = await page({ first: 2, after });
      forward.push(...phones(chats));
      expect(chats.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!chats.pageInfo.hasNextPage) break;
      after = chats.pageInfo.endCursor!;
      expect(pages).toBeLessThan(5);
    }
    expect(forward).toEqual(order);

    const last = await page({ last: 2 });
    expect(phones(last)).toEqual(order.slice(3));
    expect(last.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const before = await page({ last: 2, before: last.pageInfo.startCursor });
    expect(phones(before)).toEqual(order.slice(1, 3));
    expect(before.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    const start = await page({ last: 2, before: before.pageInfo.startCursor });
    expect(phones(start)).toEqual(order.slice(0, 1));
    expect(start.pageInfo.hasPreviousPage).toBe(false);

    // From the chat without messages (no place by message): nothing after it, everything before it.
    const quiet = (await page({ first: 10 })).edges[4]!.cursor;
    expect(phones(await page({ first: 10, after: quiet }))).toEqual([]);
    expect(phones(await page({ last: 10, before: quiet }))).toEqual(order.slice(0, 4));
  });

  it('keeps to unread chats when asked, and a chat read leaves the list', async () => {
    const unread = await page({ first: 10, unreadOnly: true });
    expect(phones(unread)).toEqual(order.slice(0, 4));
    await app.data(MarkChatRead, { chatId: unread.edges[1]!.node.id });
    expect(phones(await page({ first: 10, unreadOnly: true }))).toEqual([order[0], order[2], order[3]]);
  });

  it("answers a cursor of another session's chat with an empty page there, never that session's chats", async () => {
    const elsewhere = (await page({ first: 1 }, other.id)).edges[0]!.cursor;
    expect(phones(await page({ first: 10, after: elsewhere }))).toEqual([]);
    expect(phones(await page({ last: 10, before: elsewhere }))).toEqual([]);
  });

  it('shows a token scoped to one session only that session and its chats', async () => {
    const { token } = await createApiTokenRow(app, { role: 'VIEWER', sessionIds: [other.dbId] });
    const seen = await app.execute(SessionsWithChats, {}, { token });
    expect(seen.errors).toBeUndefined();
    const sessions = seen.data!.sessions.edges.map((e) => e.node);
    expect(sessions.map((s) => s.id)).toEqual([other.id]);
    expect(sessions[0]!.chats.edges.map((e) => e.node.lastMessage?.text)).toEqual(['elsewhere']);
    expect((await app.execute(ChatPage, { id: front.id, first: 10 }, { token })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('reads every page the same under `sessions` (with the sessions, in one statement) as under `session(id:)`', async () => {
    const empty = await connectedSession(app, 'No chats yet');
    const all = await page({ first: 10 });
    const cursors = all.edges.map((e) => e.cursor);
    const elsewhere = (await page({ first: 1 }, other.id)).edges[0]!.cursor;
    const pages = [
      { first: 10 }, { first: 2 }, { first: 2, after: cursors[1] }, { last: 2 }, { last: 2, before: cursors[3] }, { last: 10 },
      { first: 10, unreadOnly: true }, { last: 1, unreadOnly: true }, { first: 10, after: cursors[4] }, { last: 10, before: cursors[4] },
      { first: 10, after: elsewhere }, { last: 10, before: elsewhere }, {},
    ];
    for (const vars of pages) {
      const sessions = (await app.data(SessionsChatPage, vars)).sessions.edges.map((e) => e.node);
      expect(sessions.map((s) => s.id)).toEqual([front.id, other.id, empty.id]);
      for (const session of sessions) expect(session.chats, JSON.stringify(vars)).toEqual(await page(vars, session.id));
    }
    expect(phones((await app.data(SessionsChatPage, { first: 2 })).sessions.edges[0]!.node.chats)).toEqual(order.slice(0, 2));
    // Two sessions pages in one document, each with the same page of chats, each gets its own sessions' chats.
    const { oldest, all: everyone } = await app.data(TwoSessionPages, {});
    const chatsOf = (list: typeof oldest) => list.edges.map((e) => [e.node.id, e.node.chats.edges.map((c) => c.node.lastMessage?.text ?? null)]);
    expect(chatsOf(everyone)).toEqual(await Promise.all([front, other, empty].map(async (s) => [s.id, (await page({ first: 2 }, s.id)).edges.map((e) => e.node.lastMessage?.text ?? null)])));
    expect(chatsOf(oldest)).toEqual(chatsOf(everyone).slice(0, 1));
    for (const bad of [{ first: 2, after: 'garbage' }, { last: 2, before: Buffer.from('GPC:S:not-an-id').toString('base64') }]) {
      const refused = await app.execute(SessionsChatPage, bad);
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(refused.errors?.[0]?.path?.slice(-1)).toEqual(['chats']);
    }
  });

  it('refuses a garbled or forged cursor as bad input', async () => {
    for (const after of ['garbage', Buffer.from('GPC:S:not-an-id').toString('base64')]) {
      expect((await app.execute(ChatPage, { id: front.id, first: 2, after })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect((await app.execute(ChatPage, { id: front.id, last: 2, before: after })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });
});
