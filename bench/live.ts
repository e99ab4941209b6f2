/**
 * The live path against a bare `ws` server measured in the same run:
 * - fan-out: frames per second delivered to 1,000 subscribers of one subscription;
 * - idle memory: what 10,000 idle subscriptions (one per connection) cost the server.
 * Servers run in a child process each; the clients run here.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { BENCH_ADMIN_TOKEN, type ServerCommand, type ServerReply } from './live/server.ts';
import type { BenchResult } from './run.ts';

const SUBSCRIPTION = `subscription($sessionId: ID) { messageReceived(sessionId: $sessionId) { id kind text senderPhone timestamp } }`;

interface Server {
  url: string;
  sessionId?: string;
  request<T extends ServerReply['type']>(command: ServerCommand, answer: T): Promise<Extract<ServerReply, { type: T }>>;
  stop(): Promise<void>;
}

async function startServer(mode: 'bare' | 'app'): Promise<Server> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./live/server.ts', import.meta.url)), [mode], {
    execArgv: ['--import', 'tsx', '--expose-gc', '--max-old-space-size=4096'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: ServerReply[] = [];
  let wake: (() => void) | null = null;
  child.on('message', (m: ServerReply) => {
    replies.push(m);
    wake?.();
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`))));
  exited.catch(() => {});
  async function receive<T extends ServerReply['type']>(type: T): Promise<Extract<ServerReply, { type: T }>> {
    for (;;) {
      const index = replies.findIndex((r) => r.type === type);
      if (index >= 0) return replies.splice(index, 1)[0] as Extract<ServerReply, { type: T }>;
      await Promise.race([new Promise<void>((r) => (wake = r)), exited]);
    }
  }
  const ready = await receive('ready');
  return {
    url: ready.url,
    sessionId: ready.sessionId,
    request(command, answer) {
      child.send(command);
      return receive(answer);
    },
    async stop() {
      child.send({ type: 'stop' } satisfies ServerCommand);
      await Promise.race([receive('stopped'), new Promise((r) => setTimeout(r, 5_000))]);
      child.kill();
    },
  };
}

interface Client {
  socket: WebSocket;
  frames: number;
}

/** Opens `count` connections; on the app, each subscribes with graphql-transport-ws. */
async function connectClients(server: Server, count: number): Promise<Client[]> {
  const url = server.url.replace(/^http/, 'ws') + (server.sessionId ? '/graphql' : '');
  const clients: Client[] = [];
  const batch = 200;
  for (let start = 0; start < count; start += batch) {
    const opened = Array.from({ length: Math.min(batch, count - start) }, () => {
      const socket = new WebSocket(url, server.sessionId ? 'graphql-transport-ws' : undefined);
      const client: Client = { socket, frames: 0 };
      clients.push(client);
      return new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        if (!server.sessionId) {
          socket.on('message', () => client.frames++);
          socket.once('open', () => resolve());
          return;
        }
        socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } })));
        socket.on('message', (data) => {
          if (client.frames === 0 && String(data).includes('connection_ack')) {
            socket.send(JSON.stringify({ id: 'feed', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { sessionId: server.sessionId } } }));
            client.frames = -1;
            resolve();
          } else if (client.frames < 0) client.frames = 1;
          else client.frames++;
        });
      });
    });
    await Promise.all(opened);
  }
  // Let the subscriptions start on the server before anything is published.
  await new Promise((r) => setTimeout(r, 500));
  for (const c of clients) c.frames = Math.max(0, c.frames);
  return clients;
}

async function closeClients(clients: Client[]) {
  await Promise.all(
    clients.map((c) => new Promise<void>((resolve) => {
      if (c.socket.readyState === WebSocket.CLOSED) return resolve();
      c.socket.once('close', () => resolve());
      c.socket.terminate();
    })),
  );
}

/** Frames per second delivered to every client for `events` published events. */
async function fanOut(mode: 'bare' | 'app', clientCount: number, events: number): Promise<number> {
  const server = await startServer(mode);
  try {
    const clients = await connectClients(server, clientCount);
    // Warm up the paths once, then measure.
    await server.request({ type: 'burst', events: 10 }, 'sent');
    await waitForFrames(clients, 10);
    for (const c of clients) c.frames = 0;
    const started = performance.now();
    await server.request({ type: 'burst', events }, 'sent');
    await waitForFrames(clients, events);
    const seconds = (performance.now() - started) / 1000;
    await closeClients(clients);
    return (clientCount * events) / seconds;
  } finally {
    await server.stop();
  }
}

async function waitForFrames(clients: Client[], each: number) {
  const deadline = Date.now() + 120_000;
  while (clients.some((c) => c.frames < each)) {
    if (Date.now() > deadline) throw new Error(`clients did not receive ${each} frames in time`);
    if (clients.some((c) => c.socket.readyState !== WebSocket.OPEN)) throw new Error('a client was disconnected');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Server memory (RSS, after GC) held by `count` idle connections, each with one subscription. */
async function idleMemory(mode: 'bare' | 'app', count: number): Promise<number> {
  const server = await startServer(mode);
  try {
    const before = await server.request({ type: 'memory' }, 'memory');
    const clients = await connectClients(server, count);
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await server.request({ type: 'memory' }, 'memory');
    await closeClients(clients);
    return after.rss - before.rss;
  } finally {
    await server.stop();
  }
}

export async function liveBenchmarks(): Promise<BenchResult[]> {
  const clients = Number(process.env.BENCH_FANOUT_CLIENTS ?? 1_000);
  const events = Number(process.env.BENCH_FANOUT_EVENTS ?? 200);
  const idle = Number(process.env.BENCH_IDLE_SUBSCRIPTIONS ?? 10_000);
  const bareRate = await fanOut('bare', clients, events);
  const appRate = await fanOut('app', clients, events);
  const bareMemory = await idleMemory('bare', idle);
  const appMemory = await idleMemory('app', idle);
  return [
    {
      name: `fan-out: ${clients} subscribers × ${events} events`,
      unit: 'frames/s',
      baseline: bareRate,
      measured: appRate,
      // At least this share of what a bare ws server pushes (stock Yoga + graphql-ws: 0.17).
      target: { kind: 'ratio-at-least', value: 0.5 },
    },
    {
      name: `idle memory: ${idle} subscriptions`,
      unit: 'MB',
      baseline: bareMemory / 2 ** 20,
      measured: appMemory / 2 ** 20,
      // At most this multiple of bare ws connections (stock Yoga + graphql-ws: about 2.3).
      target: { kind: 'ratio-at-most', value: 2 },
    },
  ];
}
