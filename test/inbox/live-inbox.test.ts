import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp, subscriptionsStarting } from '../helpers/app.ts';
import { connectedSession, inbound, replay, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { injectFault, sandboxState } from '../helpers/sandbox.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import { UpdateSession } from '../sessions/documents.ts';
import { ChatMessages, Chats, ChatUpdated, MarkChatRead, MessageReceived } from './documents.ts';

describe('live inbox', () => {
  let app: TestApp;
  let ws: WsClient;
  let session: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    ws = connectWs(app.url);
    session = await connectedSession(app);
  });
  afterAll(async () => {
    await ws.close();
    await app.stop();
  });

  it('pushes an inbound text to subscribers with sender, chat and kind', async () => {
    const subscribed = subscriptionsStarting(app, 1);
    const feed = ws.subscribe(MessageReceived, { sessionId: session.id });
    await subscribed();
    const id = await inbound(app, session, { from: '+255700000001', text: 'Habari! Is the shop open?', pushName: 'Asha' });
    const { messageReceived: m } = await feed.next();
    expect(m).toMatchObject({
      direction: 'INBOUND',
      kind: 'TEXT',
      status: 'RECEIVED',
      text: 'Habari! Is the shop open?',
      senderName: 'Asha',
      senderPhone: '+255700000001',
      providerMessageId: id,
      chat: { remoteJid: '255700000001@s.whatsapp.net', phoneNumber: '+255700000001', name: 'Asha', isGroup: false },
    });
    feed.unsubscribe();
  });

  it('stores one message and pushes one event for received + upsert + a provider retry', async () => {
    const subscribed = subscriptionsStarting(app, 1);
    const feed = ws.subscribe(MessageReceived, { sessionId: session.id });
    await subscribed();
    const id = await inbound(app, session, { from: '+255700000002', text: 'only once', pushName: 'Baraka' });
    expect((await feed.next()).messageReceived.providerMessageId).toBe(id);
    // The provider retries the same message (as it does after a lost acknowledgement).
    const status = await replay(app, session, 'messages.received', {
      messages: {
        key: { id, fromMe: false, remoteJid: '255700000002@s.whatsapp.net', senderPn: '255700000002@s.whatsapp.net', cleanedSenderPn: '255700000002' },
        messageBody: 'only once',
        message: { conversation: 'only once' },
        pushName: 'Baraka',
        messageTimestamp: Math.floor(Date.now() / 1000),
      },
    });
    expect(status).toBe(200);
    await settled(app);
    await expect(feed.next(400)).rejects.toThrow(/no subscription event/);
    const count = await app.running.db.prisma.message.count({ where: { providerMessageId: id } });
    expect(count).toBe(1);
    feed.unsubscribe();
  });

  it('keeps chats ordered by last message with unread counts, and marks them read', async () => {
    const s = await connectedSession(app, 'Chats');
    const subscribed = subscriptionsStarting(app, 1);
    const chatFeed = ws.subscribe(ChatUpdated, { sessionId: s.id });
    await subscribed();
    await inbound(app, s, { from: '+255711000001', text: 'first', pushName: 'One' });
    await inbound(app, s, { from: '+255711000002', text: 'second', pushName: 'Two' });
    await inbound(app, s, { from: '+255711000001', text: 'third', pushName: 'One' });
    await settled(app);

    const chats = (await app.data(Chats, { id: s.id, first: 10 })).session!.chats.edges.map((e) => e.node);
    expect(chats.map((c) => [c.phoneNumber, c.unreadCount, c.lastMessage?.text])).toEqual([
      ['+255711000001', 2, 'third'],
      ['+255711000002', 1, 'second'],
    ]);
    // Pushed after each commit (through Redis, when configured, so possibly a moment later).
    const updates: { chatUpdated: { unreadCount: number; lastMessage?: { text?: string | null } | null } }[] = [];
    await eventually(() => {
      updates.push(...chatFeed.pending());
      return updates.some((u) => u.chatUpdated.unreadCount === 2 && u.chatUpdated.lastMessage?.text === 'third');
    });
    expect(updates.length).toBeGreaterThanOrEqual(3);

    const { markChatRead } = await app.data(MarkChatRead, { chatId: chats[0]!.id });
    expect(markChatRead.unreadCount).toBe(0);
    expect((await chatFeed.next()).chatUpdated).toMatchObject({ id: chats[0]!.id, unreadCount: 0 });
    const unread = (await app.data(Chats, { id: s.id, first: 10, unreadOnly: true })).session!.chats.edges.map((e) => e.node.phoneNumber);
    expect(unread).toEqual(['+255711000002']);
    chatFeed.unsubscribe();
  });

  it('tells the provider what was read unless the session auto-reads; a refused mark changes nothing', async () => {
    const s = await connectedSession(app, 'Reads');
    await inbound(app, s, { from: '+255733000001', text: 'one' });
    const lastId = await inbound(app, s, { from: '+255733000001', text: 'two' });
    await settled(app);
    const chatId = (await app.data(Chats, { id: s.id, first: 1 })).session!.chats.edges[0]!.node.id;

    await injectFault(app, { path: '/messages/read', status: 401, count: 1, body: { success: false, message: 'Invalid API key' } });
    const refused = await app.execute(MarkChatRead, { chatId });
    expect(refused.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAUTHORIZED');
    expect((await app.data(Chats, { id: s.id, first: 1 })).session!.chats.edges[0]!.node.unreadCount).toBe(2);
    expect((await sandboxState(app, s.providerSessionId))!.read_marks).toEqual([]);

    expect((await app.data(MarkChatRead, { chatId })).markChatRead.unreadCount).toBe(0);
    expect((await sandboxState(app, s.providerSessionId))!.read_marks).toEqual([{ id: lastId, remoteJid: '255733000001@s.whatsapp.net' }]);

    // With auto-read on, the provider has marked it already: no second call.
    await app.data(UpdateSession, { input: { id: s.id, autoReadMessages: true } });
    await inbound(app, s, { from: '+255733000001', text: 'three' });
    await settled(app);
    expect((await app.data(MarkChatRead, { chatId })).markChatRead.unreadCount).toBe(0);
    expect((await sandboxState(app, s.providerSessionId))!.read_marks).toHaveLength(1);
  });

  it('pages chat history newest first, both ways', async () => {
    const s = await connectedSession(app, 'History');
    for (let i = 1; i <= 7; i++) await inbound(app, s, { from: '+255722000001', text: `m${i}` });
    await settled(app);
    const chatId = (await app.data(Chats, { id: s.id, first: 1 })).session!.chats.edges[0]!.node.id;
    const newest = (await app.data(ChatMessages, { id: chatId, first: 3 })).chat!.messages;
    expect(newest.edges.map((e) => e.node.text)).toEqual(['m7', 'm6', 'm5']);
    expect(newest.pageInfo.hasNextPage).toBe(true);
    const older = (await app.data(ChatMessages, { id: chatId, first: 10, after: newest.pageInfo.endCursor })).chat!.messages;
    expect(older.edges.map((e) => e.node.text)).toEqual(['m4', 'm3', 'm2', 'm1']);
    expect(older.pageInfo.hasNextPage).toBe(false);
    const back = (await app.data(ChatMessages, { id: chatId, last: 2, before: older.pageInfo.startCursor })).chat!.messages;
    expect(back.edges.map((e) => e.node.text)).toEqual(['m6', 'm5']);
  });

  it('replays from a cursor, then goes live: no gap, no duplicate', async () => {
    const s = await connectedSession(app, 'Resume');
    const subscribed = subscriptionsStarting(app, 1);
    const live = ws.subscribe(MessageReceived, { sessionId: s.id });
    await subscribed();
    await inbound(app, s, { from: '+255733000001', text: 'r0' });
    const checkpoint = (await live.next()).messageReceived;
    live.unsubscribe();

    // Messages arrive while the client is away …
    for (let i = 1; i <= 25; i++) await inbound(app, s, { from: '+255733000001', text: `r${i}` });
    // … and keep arriving while it replays.
    const resumed = ws.subscribe(MessageReceived, { sessionId: s.id, after: checkpoint.cursor });
    const during = (async () => {
      for (let i = 26; i <= 40; i++) await inbound(app, s, { from: `+2557330000${10 + (i % 3)}`, text: `r${i}` });
    })();
    const texts: string[] = [];
    while (texts.length < 40) texts.push((await resumed.next(10_000)).messageReceived.text!);
    await during;
    await settled(app);
    await expect(resumed.next(400)).rejects.toThrow(/no subscription event/);
    expect(texts).toEqual(Array.from({ length: 40 }, (_, i) => `r${i + 1}`));
    resumed.unsubscribe();
  });

  it('narrows the feed to one chat and refuses a bad cursor', async () => {
    const s = await connectedSession(app, 'Narrow');
    await inbound(app, s, { from: '+255744000001', text: 'to chat A' });
    await settled(app);
    const chatA = (await app.data(Chats, { id: s.id, first: 1 })).session!.chats.edges[0]!.node.id;
    const subscribed = subscriptionsStarting(app, 1);
    const feed = ws.subscribe(MessageReceived, { chatId: chatA });
    await subscribed();
    await inbound(app, s, { from: '+255744000002', text: 'to chat B' });
    await inbound(app, s, { from: '+255744000001', text: 'again A' });
    expect((await feed.next()).messageReceived.text).toBe('again A');
    feed.unsubscribe();

    const bad = ws.subscribe(MessageReceived, { sessionId: s.id, after: 'not-a-cursor' });
    await expect(bad.next()).rejects.toThrow(/BAD_USER_INPUT|not a message cursor/);
  });
});
