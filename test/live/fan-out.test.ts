/**
 * The live path: identical subscriptions share one execution, and a subscriber that cannot keep
 * up is disconnected rather than buffered without limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { eventually, startTestApp, ADMIN_TOKEN, type TestApp, subscriptionsStarting } from '../helpers/app.ts';
import { connectedSession, databaseId, inbound, settled } from '../helpers/inbox.ts';
import { MessageReceived } from '../inbox/documents.ts';
import { connectWs } from '../helpers/ws.ts';
import { CLOSE_OVERLOADED, CLOSE_SLOW_CONSUMER, MAX_OPERATIONS_PER_CONNECTION } from '../../src/http/graphql-ws.ts';
import { SUBSCRIPTION_BUFFER } from '../../src/lib/pubsub.ts';
import { ConnectSession, CreateSession, newSession, SessionStatusFeed } from '../sessions/documents.ts';

describe('live fan-out', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it('executes identical subscriptions once and delivers to every subscriber', async () => {
    const { createSession: a } = await app.data(CreateSession, newSession('Shared A', '+255700000701'));
    const { createSession: b } = await app.data(CreateSession, newSession('Shared B', '+255700000702'));
    const clients = [connectWs(app.url), connectWs(app.url), connectWs(app.url)];
    const onA = clients.map((c) => c.subscribe(SessionStatusFeed, { sessionId: a.id }));
    const onB = clients[0]!.subscribe(SessionStatusFeed, { sessionId: b.id });
    await eventually(() => app.running.liveStats().subscribers === 4);
    expect(app.running.liveStats()).toMatchObject({ executions: 2, subscribers: 4 });

    await app.data(ConnectSession, { id: a.id });
    for (const sub of onA) expect((await sub.next()).sessionStatusChanged).toEqual({ id: a.id, status: 'QR_READY' });
    await expect(onB.next(200)).rejects.toThrow(/no subscription event/);

    for (const c of clients) await c.close();
    await eventually(() => app.running.liveStats().subscribers === 0);
    expect(app.running.liveStats().executions).toBe(0);
  });

  it('does not share a replay from a cursor', async () => {
    const ws = connectWs(app.url);
    const doc = `subscription($after: String) { messageReceived(after: $after) { id } }`;
    const subs = [0, 1].map(() =>
      ws.client.iterate({ query: doc, variables: { after: Buffer.from('m:0').toString('base64url') } })[Symbol.asyncIterator](),
    );
    void subs.map((s) => s.next());
    await eventually(() => app.running.liveStats().subscribers === 2);
    expect(app.running.liveStats().executions).toBe(2);
    await ws.close();
  });

  it('closes a connection that stops reading', async () => {
    const { createSession: s } = await app.data(CreateSession, newSession('Flood', '+255700000703'));
    await app.data(ConnectSession, { id: s.id });
    const socket = new WebSocket(app.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise((r) => socket.on('open', r));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    await new Promise((r) => socket.once('message', r));
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription($id: ID!) { qrCodeUpdated(sessionId: $id) { value } }`, variables: { id: s.id } } }));
    await eventually(() => app.running.liveStats().subscribers === 1);
    // Stop reading: the kernel buffers fill, sends stall, and the queue reaches its bound.
    (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(64 * 1024);
    const sessionId = databaseId(s.id);
    for (let i = 0; i < 3_000 && app.running.liveStats().subscribers > 0; i++) {
      app.running.pubsub.pubsub.publish('qrCodeUpdated', sessionId, { sessionId, value: `${i}:${big}`, expiresAt: new Date().toISOString() });
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(CLOSE_SLOW_CONSUMER);
    await eventually(() => app.running.liveStats().subscribers === 0);
  });

  it('reports resolver errors in next messages, and asks subscribers to resubscribe when events outrun the server', async () => {
    const { createSession: s } = await app.data(CreateSession, newSession('Overload', '+255700000704'));
    const sessionId = databaseId(s.id);
    const socket = new WebSocket(app.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
    const frames: { id?: string; type: string; payload?: { data?: unknown; errors?: { extensions?: { code?: string } }[] } }[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(String(data))));
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise((r) => socket.on('open', r));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    await eventually(() => frames.some((f) => f.type === 'connection_ack'));
    socket.send(JSON.stringify({ id: 'feed', type: 'subscribe', payload: { query: `subscription($id: ID) { messageReceived(sessionId: $id) { id } }`, variables: { id: s.id } } }));
    await eventually(() => app.running.liveStats().subscribers === 1);

    const missing = { id: randomUUID(), sessionId, chatId: randomUUID(), seq: '1' };
    app.running.pubsub.pubsub.publish('messageReceived', sessionId, missing);
    const next = await eventually(() => frames.find((f) => f.type === 'next'));
    expect(next).toMatchObject({ id: 'feed', payload: { data: null, errors: [{ extensions: { code: 'NOT_FOUND' } }] } });

    // More events than a subscription may hold unread, in one go: the server cannot resolve them in
    // time, drops the subscription instead of buffering without bound, and says so.
    for (let i = 0; i < 2 * SUBSCRIPTION_BUFFER; i++) app.running.pubsub.pubsub.publish('messageReceived', sessionId, missing);
    expect(await closed).toBe(CLOSE_OVERLOADED);
    await eventually(() => app.running.liveStats().subscribers === 0);
    expect(app.running.liveStats().executions).toBe(0);
    // The server is still healthy for everyone else.
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
  });
  it('replays megabytes in order to a client that pauses reading, without dropping it', async () => {
    const session = await connectedSession(app, 'Slow replay');
    const live = connectWs(app.url);
    const subscribed = subscriptionsStarting(app, 1);
    const feed = live.subscribe(MessageReceived, { sessionId: session.id });
    await subscribed();
    await inbound(app, session, { from: '+255755000001', text: 'checkpoint' });
    const checkpoint = (await feed.next()).messageReceived.cursor;
    await live.close();
    // Several megabytes waiting to be replayed (on loopback the kernel buffers most of it, so this
    // shows order and completeness under a paused reader; the pacing itself engages only beyond).
    const big = 'x'.repeat(64 * 1024);
    const count = 120;
    for (let i = 0; i < count; i++) await inbound(app, session, { from: '+255755000001', text: `${i}:${big}` });
    await settled(app);

    const socket = new WebSocket(app.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
    const texts: string[] = [];
    let closedWith: number | null = null;
    socket.on('close', (code) => (closedWith = code));
    let acknowledged = false;
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; payload?: { data?: { messageReceived?: { text: string } } } };
      if (frame.type === 'connection_ack') acknowledged = true;
      if (frame.type === 'next') texts.push(frame.payload!.data!.messageReceived!.text);
    });
    await new Promise((r) => socket.on('open', r));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    await eventually(() => acknowledged);
    socket.send(JSON.stringify({ id: 'replay', type: 'subscribe', payload: { query: `subscription($s: ID, $after: String) { messageReceived(sessionId: $s, after: $after) { text } }`, variables: { s: session.id, after: checkpoint } } }));
    // Read nothing for a while, then everything.
    const raw = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    await new Promise((r) => setTimeout(r, 1_500));
    raw.resume();
    await eventually(() => texts.length === count || closedWith !== null, 20_000);
    expect(closedWith).toBeNull();
    expect(texts.map((t) => Number(t.split(':')[0]))).toEqual(Array.from({ length: count }, (_, i) => i));
    socket.close();
  }, 60_000);
  it('caps the operations one connection may run, and stops each one the client completes', async () => {
    const { createSession: s } = await app.data(CreateSession, newSession('Many', '+255700000705'));
    const socket = new WebSocket(app.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
    const frames: { id?: string; type: string; payload?: { extensions?: { code?: string; fields?: Record<string, string> } }[] }[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise((r) => socket.on('open', r));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    await eventually(() => frames.some((f) => f.type === 'connection_ack'));
    const subscribe = (id: string) =>
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: `subscription($id: ID!) { qrCodeUpdated(sessionId: $id) { value } }`, variables: { id: s.id } } }));
    for (let i = 0; i < MAX_OPERATIONS_PER_CONNECTION; i++) subscribe(`s${i}`);
    await eventually(() => app.running.liveStats().subscribers === MAX_OPERATIONS_PER_CONNECTION);
    subscribe('one-too-many');
    const refused = await eventually(() => frames.find((f) => f.id === 'one-too-many'));
    expect(refused.type).toBe('error');
    expect(refused.payload?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(app.running.liveStats()).toMatchObject({ executions: 1, subscribers: MAX_OPERATIONS_PER_CONNECTION });

    for (let i = 0; i < 50; i++) socket.send(JSON.stringify({ id: `s${i}`, type: 'complete' }));
    await eventually(() => app.running.liveStats().subscribers === MAX_OPERATIONS_PER_CONNECTION - 50);
    subscribe('room-again');
    await eventually(() => app.running.liveStats().subscribers === MAX_OPERATIONS_PER_CONNECTION - 49);
    expect(frames.some((f) => f.id === 'room-again' && f.type === 'error')).toBe(false);
    socket.close();
    await eventually(() => app.running.liveStats().subscribers === 0);
  });
});
