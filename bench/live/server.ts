/**
 * The server side of the live benchmark, in its own process so its memory and CPU are measured
 * apart from the clients. `bare`: a plain `ws` server, the baseline. `stock`: Yoga with graphql-ws
 * as their guides set them up, for reference. `app`: the product (embedded database, in-memory
 * pub/sub, sandbox) with one connected session and one stored message.
 * Commands arrive over IPC; each answers with one message.
 */
import { setMaxListeners } from 'node:events';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { createPubSub, createSchema, createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { heapAfterGc, reportStopped } from '../support/child.ts';
import { sandboxControl, startBenchApp } from '../support/bench-app.ts';
import type { ServerCommand, ServerReply } from './protocol.ts';

const mode = process.argv[2];
const reply = (message: ServerReply) => process.send!(message);

/** A messageReceived result of the size the app sends. */
const sampleMessage = {
  id: 'TWVzc2FnZTowMTkzYjBiZS0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA=',
  kind: 'TEXT',
  text: 'Hello from the benchmark',
  senderPhone: '+255711000900',
  timestamp: new Date().toISOString(),
};

/**
 * BENCH_LIVE_CPU=1: on stop, the server's CPU time for the bursts after the first (the warm-up),
 * until stopped, on stderr: a figure a busy machine does not move as much as frames per second.
 */
let bursts = 0;
let measuredEvents = 0;
let cpuFrom: NodeJS.CpuUsage | null = null;
function countBurst(events: number) {
  if (bursts++ === 1) cpuFrom = process.cpuUsage();
  if (cpuFrom) measuredEvents += events;
}
function reportCpu() {
  if (!process.env.BENCH_LIVE_CPU || !cpuFrom) return;
  const used = process.cpuUsage(cpuFrom);
  process.stderr.write(`live server ${mode}: ${((used.user + used.system) / 1000).toFixed(0)} ms CPU (user ${(used.user / 1000).toFixed(0)}, system ${(used.system / 1000).toFixed(0)}) for ${measuredEvents} events\n`);
}

let snapshots = 0;
function memory(): ServerReply {
  const heapUsed = heapAfterGc();
  const rss = process.memoryUsage().rss;
  // BENCH_HEAP_SNAPSHOT=<dir>: a heap snapshot at each measurement, for bench/heap-diff.ts.
  if (process.env.BENCH_HEAP_SNAPSHOT) writeHeapSnapshot(join(process.env.BENCH_HEAP_SNAPSHOT, `${mode}-${snapshots++}.heapsnapshot`));
  return { type: 'memory', heapUsed, rss };
}

async function bare() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const clients = new Set<WebSocket>();
  wss.on('connection', (socket) => {
    clients.add(socket);
    socket.on('close', () => clients.delete(socket));
  });
  const frame = JSON.stringify({ id: 'feed', type: 'next', payload: { data: { messageReceived: sampleMessage } } });
  process.on('message', (command: ServerCommand) => {
    if (command.type === 'burst') {
      countBurst(command.events);
      for (let i = 0; i < command.events; i++) for (const socket of clients) socket.send(frame);
      reply({ type: 'sent' });
    } else if (command.type === 'memory') reply(memory());
    else if (command.type === 'stop') {
      reportCpu();
      wss.close(() => reportStopped());
    }
  });
  const { port } = wss.address() as { port: number };
  reply({ type: 'ready', url: `http://127.0.0.1:${port}` });
}

async function app() {
  const { instance, running, session, provider } = await startBenchApp();
  await sandboxControl(provider, session.providerSessionId, 'inbound', { from: '255711000900', text: 'Hello from the benchmark' });
  const sessionId = session.id;
  const sessionGlobalId = session.globalId;
  let message = null;
  for (let i = 0; i < 200 && !message; i++) {
    await new Promise((r) => setTimeout(r, 25));
    message = await running.db.prisma.message.findFirst({ where: { sessionId } });
  }
  if (!message) throw new Error('the inbound message was not stored');
  const event = { id: message.id, sessionId, chatId: message.chatId, seq: String(message.seq) };

  process.on('message', (command: ServerCommand) => {
    if (command.type === 'burst') {
      countBurst(command.events);
      // What the webhook applier publishes for each stored inbound message.
      for (let i = 0; i < command.events; i++) running.pubsub.pubsub.publish('messageReceived', sessionId, event);
      reply({ type: 'sent' });
    } else if (command.type === 'memory') reply(memory());
    else if (command.type === 'stop') {
      reportCpu();
      void instance.stop().then(() => reportStopped());
    }
  });
  reply({ type: 'ready', url: running.url, sessionId: sessionGlobalId });
}

/** Yoga + graphql-ws as documented: one execution and one serialization per subscriber. */
async function stock() {
  // Many listeners on one topic is the point here; keep Node's leak warning quiet.
  const eventTarget = new EventTarget();
  setMaxListeners(0, eventTarget);
  const pubsub = createPubSub<{ messageReceived: [sessionId: string, payload: typeof sampleMessage] }>({ eventTarget });
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: `
        type Message { id: ID! kind: String! text: String senderPhone: String timestamp: String! }
        type Query { ok: Boolean }
        type Subscription { messageReceived(sessionId: ID): Message! }`,
      resolvers: {
        Subscription: {
          messageReceived: { subscribe: (_: unknown, args: { sessionId: string }) => pubsub.subscribe('messageReceived', args.sessionId), resolve: (m: unknown) => m },
        },
      },
    }),
    graphiql: false,
  });
  const server = createServer(yoga);
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });
        const args = { schema, operationName: params.operationName, document: parse(params.query), variableValues: params.variables, contextValue: await contextFactory(), rootValue: { execute, subscribe } };
        const errors = validate(args.schema, args.document);
        return errors.length ? errors : args;
      },
    },
    wss,
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const sessionId = 'V2hhdHNBcHBTZXNzaW9uOnN0b2Nr';
  process.on('message', (command: ServerCommand) => {
    if (command.type === 'burst') {
      countBurst(command.events);
      for (let i = 0; i < command.events; i++) pubsub.publish('messageReceived', sessionId, sampleMessage);
      reply({ type: 'sent' });
    } else if (command.type === 'memory') reply(memory());
    else if (command.type === 'stop') {
      reportCpu();
      for (const c of wss.clients) c.terminate();
      server.close(() => reportStopped());
    }
  });
  reply({ type: 'ready', url: `http://127.0.0.1:${port}`, sessionId });
}

if (mode === 'bare') await bare();
else if (mode === 'stock') await stock();
else if (mode === 'app') await app();
else throw new Error(`unknown mode ${mode}`);
