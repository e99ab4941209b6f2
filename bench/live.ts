/**
 * The live path against a bare `ws` server measured in the same run:
 * - fan-out: frames per second delivered to 1,000 subscribers of one subscription;
 * - idle memory: what 10,000 idle subscriptions (one per connection) cost the server.
 * Servers run in a child process each; the clients run here.
 */
import WebSocket from 'ws';
import { BENCH_ADMIN_TOKEN, type ServerCommand, type ServerReply } from './live/protocol.ts';
import { startChild, type ChildServer } from './support/child.ts';
import { connectSubscribers, type Subscribers } from './latency.ts';
import { attempt, compared, valueOf, type BenchResult, type Outcome } from './support/result.ts';

type Mode = 'bare' | 'stock' | 'app';

const SUBSCRIPTION = `subscription($sessionId: ID) { messageReceived(sessionId: $sessionId) { id kind text senderPhone timestamp } }`;

interface Server {
  url: string;
  sessionId?: string;
  child: ChildServer<ServerCommand, ServerReply>;
}

async function startServer(mode: Mode): Promise<Server> {
  const child = startChild<ServerCommand, ServerReply>(new URL('./live/server.ts', import.meta.url), [mode]);
  const ready = await child.receive('ready');
  return { url: ready.url, sessionId: ready.sessionId, child };
}

interface Client {
  socket: WebSocket;
  frames: number;
  /** The close code, once the server closed it. */
  closed?: number;
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
      socket.once('close', (code) => (client.closed = code));
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

/**
 * Frames per second delivered to every client for `events` published events: the best of a few
 * rounds on the same connections, so a moment of noise on a shared machine does not decide it.
 * The clients run in processes of their own (a busy client process answers the server's pings late,
 * and a client that misses them is dropped).
 */
export async function fanOut(mode: Mode, clientCount: number, events: number, rounds = 3): Promise<number> {
  const server = await startServer(mode);
  let clients: Subscribers | null = null;
  try {
    clients = await connectSubscribers(server.url, server.sessionId, clientCount, Number(process.env.BENCH_FANOUT_CLIENT_PROCESSES ?? 2));
    // Warm up the paths once, then measure.
    await clients.reset();
    await server.child.request({ type: 'burst', events: 10 }, 'sent');
    await waitForFrames(clients, 10);
    let best = 0;
    for (let round = 0; round < rounds; round++) {
      await clients.reset();
      const started = performance.now();
      await server.child.request({ type: 'burst', events }, 'sent');
      await waitForFrames(clients, events);
      best = Math.max(best, (clientCount * events) / ((performance.now() - started) / 1000));
    }
    return best;
  } finally {
    await clients?.stop();
    await server.child.stop();
  }
}

async function waitForFrames(clients: Subscribers, each: number) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { frames, open } = await clients.frames();
    if (open < clients.count) {
      const { closes } = await clients.report();
      throw new Error(`a client was disconnected (${clients.count - open} of ${clients.count}, close codes ${JSON.stringify(closes)})`);
    }
    if (frames >= each * clients.count) return;
    if (Date.now() > deadline) throw new Error(`clients did not receive ${each} frames in time`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Memory {
  heapMb: number;
  rssMb: number;
}

/**
 * Server memory held by `count` idle connections, each with one subscription: the JavaScript heap
 * after GC (what the code keeps, not the allocator's slack), and the resident set beside it.
 */
export async function idleMemory(mode: Mode, count: number): Promise<Memory> {
  const server = await startServer(mode);
  try {
    const before = await server.child.request({ type: 'memory' }, 'memory');
    const clients = await connectClients(server, count);
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await server.child.request({ type: 'memory' }, 'memory');
    await closeClients(clients);
    return { heapMb: (after.heapUsed - before.heapUsed) / 2 ** 20, rssMb: (after.rss - before.rss) / 2 ** 20 };
  } finally {
    await server.child.stop();
  }
}

export async function liveBenchmarks(): Promise<BenchResult[]> {
  const clients = Number(process.env.BENCH_FANOUT_CLIENTS ?? 1_000);
  const events = Number(process.env.BENCH_FANOUT_EVENTS ?? 200);
  const idle = Number(process.env.BENCH_IDLE_SUBSCRIPTIONS ?? 10_000);
  const modes = ['bare', 'stock', 'app'] as const;
  const rate = {} as Record<Mode, Outcome<number>>;
  const memory = {} as Record<Mode, Outcome<Memory>>;
  // The stock stack is a reference, no target's baseline: one round of it (at a tenth of our speed,
  // three would be a fifth of the whole run's ten minutes).
  for (const mode of modes) rate[mode] = await attempt(`fan-out (${mode})`, () => fanOut(mode, clients, events, mode === 'stock' ? 1 : 3));
  for (const mode of modes) memory[mode] = await attempt(`idle memory (${mode})`, () => idleMemory(mode, idle));
  const heap = (m: Outcome<Memory>): Outcome<number> => (m.ok ? { ok: true, value: m.value.heapMb } : m);
  const rss = (m: Outcome<Memory>) => (m.ok ? m.value.rssMb : null);
  const stock = (o: Outcome<number>, unit: string) => `stock Yoga + graphql-ws: ${o.ok ? `${o.value.toFixed(unit === 'MB' ? 1 : 0)} ${unit}` : 'failed'}`;
  return [
    {
      ...compared(
        {
          name: `fan-out: ${clients} subscribers × ${events} events`,
          unit: 'frames/s',
          // Each event is resolved and serialized once, then written to every socket.
          target: { kind: 'ratio-at-least', value: 0.8 },
          note: stock(rate.stock, 'frames/s'),
        },
        rate.bare,
        rate.app,
      ),
      figures: { stock: valueOf(rate.stock), stockError: rate.stock.ok ? null : rate.stock.error },
    },
    {
      ...compared(
        {
          name: `idle memory: ${idle} subscriptions (heap after GC)`,
          unit: 'MB',
          // Per subscriber: graphql-ws's connection state, our sink and nothing per execution.
          target: { kind: 'ratio-at-most', value: 1.6 },
          note: `${stock(heap(memory.stock), 'MB')}; RSS: app ${rss(memory.app)?.toFixed(1) ?? '—'} MB, bare ${rss(memory.bare)?.toFixed(1) ?? '—'} MB, stock ${rss(memory.stock)?.toFixed(1) ?? '—'} MB`,
        },
        heap(memory.bare),
        heap(memory.app),
      ),
      figures: { rssAppMb: rss(memory.app), rssBareMb: rss(memory.bare), heapStockMb: valueOf(heap(memory.stock)), rssStockMb: rss(memory.stock) },
    },
  ];
}
