/**
 * SIGTERM to the real entry point: WebSocket clients are told 1001 (going away), the request in
 * flight is answered, and the process exits 0 within 10 s.
 */
import { request } from 'node:http';
import { createClient } from 'graphql-ws';
import { print } from 'graphql';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import { startEntryPoint, type EntryPoint } from '../helpers/entry-point.ts';
import { SessionStatusFeed } from '../sessions/documents.ts';

describe('SIGTERM', () => {
  let app: EntryPoint | undefined;
  afterAll(() => {
    if (app?.child.exitCode === null) app.child.kill('SIGKILL');
  });

  it('closes WebSockets with 1001, answers the request in flight and exits 0 within 10 s', { timeout: 90_000 }, async () => {
    app = await startEntryPoint({ DATA_DIR: 'memory://', ADMIN_TOKEN, NODE_ENV: 'development' });

    let connected!: () => void;
    const isConnected = new Promise<void>((resolve) => (connected = resolve));
    let closed!: (code: number) => void;
    const closeCode = new Promise<number>((resolve) => (closed = resolve));
    const client = createClient({
      url: app.url.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => {},
      on: { connected: () => connected(), closed: (event) => closed((event as { code: number }).code) },
    });
    client.subscribe({ query: print(SessionStatusFeed), variables: {} }, { next: () => {}, error: () => {}, complete: () => {} });
    await isConnected;

    // A request whose body is still arriving when the signal comes: the server has its headers
    // (it answered 100-continue), not yet its body.
    const body = JSON.stringify({ query: '{ sessions(first: 5) { edges { node { id } } } }' });
    const inFlight = request(`${app.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: `Bearer ${ADMIN_TOKEN}`,
        expect: '100-continue',
      },
    });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      inFlight.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      inFlight.on('error', reject);
    });
    await new Promise<void>((resolve) => inFlight.once('continue', resolve));

    const signalledAt = Date.now();
    app.child.kill('SIGTERM');
    expect(await closeCode).toBe(1001);
    inFlight.end(body);
    const { status, text } = await answer;
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({ data: { sessions: { edges: [] } } });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    await client.dispose();
  });
});
