/**
 * The graphql-transport-ws protocol as clients other than graphql-ws's own speak it: raw frames over
 * a real socket. Every rule of the protocol a client can break gets the protocol's close code, and
 * the operations a well-behaved client runs (queries, subscriptions, complete, ping) behave as the
 * protocol says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, startTestApp, subscriptionsStarting, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound } from '../helpers/inbox.ts';

const PROTOCOL = 'graphql-transport-ws';
const INIT = { type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } };

/** A raw socket: every message it received, and how it closed. */
function rawSocket(url: string, protocol: string | string[] = PROTOCOL) {
  const socket = new WebSocket(url, protocol);
  const received: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let closed: { code: number; reason: string } | null = null;
  const wake = () => waiters.splice(0).forEach((w) => w());
  socket.on('message', (data) => {
    received.push(JSON.parse(String(data)) as Record<string, unknown>);
    wake();
  });
  socket.on('close', (code, reason) => {
    closed = { code, reason: String(reason) };
    wake();
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  /** Resolves when `ready()` holds, checked on every message and on close. */
  const until = <T>(ready: () => T | null | undefined | false, what: string, timeoutMs = 10_000) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; received ${JSON.stringify(received)}, closed ${JSON.stringify(closed)}`)), timeoutMs);
      const check = () => {
        const value = ready();
        if (value) {
          clearTimeout(timer);
          resolve(value);
        } else waiters.push(check);
      };
      check();
    });
  return {
    socket,
    received,
    async send(message: unknown) {
      await opened;
      socket.send(typeof message === 'string' ? message : JSON.stringify(message));
    },
    message: (match: (m: Record<string, unknown>) => boolean, what: string) => until(() => received.find(match), what),
    closed: () => until(() => closed, 'close'),
    async acknowledged() {
      await this.send(INIT);
      await this.message((m) => m.type === 'connection_ack', 'connection_ack');
    },
    close: () => socket.close(),
  };
}

describe('graphql-transport-ws, frame by frame', () => {
  let app: TestApp;
  let url: string;
  beforeAll(async () => {
    app = await startTestApp();
    url = app.url.replace(/^http/, 'ws') + '/graphql';
  });
  afterAll(() => app.stop());

  it('closes with the protocol code each client mistake', async () => {
    const cases: [string, (s: ReturnType<typeof rawSocket>) => Promise<void>, number][] = [
      ['a subscribe before connection_init', (s) => s.send({ id: '1', type: 'subscribe', payload: { query: '{ viewer { role } }' } }), 4401],
      ['a second connection_init', async (s) => (await s.acknowledged(), s.send(INIT)), 4429],
      ['a frame that is not JSON', (s) => s.send('{not json'), 4400],
      ['an unknown message type', (s) => s.send({ type: 'start', id: '1' }), 4400],
      ['a server message from the client', async (s) => (await s.acknowledged(), s.send({ type: 'next', id: '1', payload: {} })), 4400],
      ['a subscribe without an id', async (s) => (await s.acknowledged(), s.send({ type: 'subscribe', payload: { query: '{ viewer { role } }' } })), 4400],
      ['connection_init with a wrong token', (s) => s.send({ type: 'connection_init', payload: { authorization: 'Bearer nope' } }), 4403],
    ];
    for (const [label, act, code] of cases) {
      const s = rawSocket(url);
      await act(s);
      expect({ label, code: (await s.closed()).code }).toEqual({ label, code });
    }
    // A second subscribe under an id still running.
    const s = rawSocket(url);
    await s.acknowledged();
    const session = await connectedSession(app, 'Protocol duplicate');
    const live = { query: 'subscription ($id: ID!) { messageReceived(sessionId: $id) { text } }', variables: { id: session.id } };
    await s.send({ id: 'same', type: 'subscribe', payload: live });
    await s.send({ id: 'same', type: 'subscribe', payload: live });
    expect(await s.closed()).toEqual({ code: 4409, reason: 'Subscriber for same already exists' });
  });

  it('refuses a socket without the protocol and one that never initialises', async () => {
    // No subprotocol asked for (a client asking for another one refuses the answer by itself).
    const wrong = rawSocket(url, []);
    expect(await wrong.closed()).toEqual({ code: 4406, reason: 'Subprotocol not acceptable' });
    const silent = rawSocket(url);
    await silent.send({ type: 'ping' });
    await silent.message((m) => m.type === 'pong', 'pong before initialisation');
    expect(await silent.closed()).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
  });

  it('answers queries with next then complete, errors with error, and keeps the socket open', async () => {
    const s = rawSocket(url);
    await s.acknowledged();
    await s.send({ id: 'q', type: 'subscribe', payload: { query: '{ viewer { role } }' } });
    await s.message((m) => m.id === 'q' && m.type === 'complete', 'complete of the query');
    expect(s.received.filter((m) => m.id === 'q')).toEqual([
      { id: 'q', type: 'next', payload: { data: { viewer: { role: 'ADMIN' } } } },
      { id: 'q', type: 'complete' },
    ]);

    await s.send({ id: 'bad', type: 'subscribe', payload: { query: '{ noSuchField }' } });
    const error = await s.message((m) => m.id === 'bad', 'error of an invalid document');
    expect(error).toMatchObject({ type: 'error', payload: [{ message: expect.stringContaining('noSuchField') }] });
    await s.send({ id: 'syntax', type: 'subscribe', payload: { query: '{ viewer {' } });
    expect(await s.message((m) => m.id === 'syntax', 'error of a document that does not parse')).toMatchObject({ type: 'error' });

    // Ids of finished operations may be used again; pings carry their payload back.
    await s.send({ id: 'q', type: 'subscribe', payload: { query: '{ viewer { role } }' } });
    await s.message((m) => m.id === 'q' && m.type === 'complete' && s.received.filter((r) => r.id === 'q' && r.type === 'complete').length === 2, 'the reused id completing');
    await s.send({ type: 'ping', payload: { at: 1 } });
    expect(await s.message((m) => m.type === 'pong', 'pong')).toEqual({ type: 'pong', payload: { at: 1 } });
    s.close();
  });

  it('streams a subscription until the client completes it, then sends it nothing more', async () => {
    const session = await connectedSession(app, 'Protocol stream');
    const s = rawSocket(url);
    await s.acknowledged();
    const started = subscriptionsStarting(app, 1);
    await s.send({ id: 'feed', type: 'subscribe', payload: { query: 'subscription ($id: ID!) { messageReceived(sessionId: $id) { text } }', variables: { id: session.id } } });
    await started();
    await inbound(app, session, { from: '+255744100001', text: 'first' });
    expect(await s.message((m) => m.id === 'feed' && m.type === 'next', 'the first event')).toEqual({ id: 'feed', type: 'next', payload: { data: { messageReceived: { text: 'first' } } } });

    await s.send({ id: 'feed', type: 'complete' });
    // A second socket on the same subscription sees the next event: by then the first has had its chance.
    const witness = rawSocket(url);
    await witness.acknowledged();
    const again = subscriptionsStarting(app, 1);
    await witness.send({ id: 'w', type: 'subscribe', payload: { query: 'subscription ($id: ID!) { messageReceived(sessionId: $id) { text } }', variables: { id: session.id } } });
    await again();
    await inbound(app, session, { from: '+255744100001', text: 'second' });
    await witness.message((m) => m.id === 'w' && m.type === 'next', 'the witness event');
    // A frame the server wrote to the first socket before this pong's answer has arrived by then.
    await s.send({ type: 'ping', payload: { after: 'second' } });
    await s.message((m) => m.type === 'pong', 'pong after the second event');
    expect(s.received.filter((m) => m.id === 'feed')).toHaveLength(1);
    s.close();
    witness.close();
  });
});
