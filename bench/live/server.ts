/**
 * The server side of the live benchmark, in its own process so its memory and CPU are measured
 * apart from the clients. `bare`: a plain `ws` server, the baseline. `app`: the product (embedded
 * database, in-memory pub/sub, sandbox) with one connected session and one stored message.
 * Commands arrive over IPC; each answers with one message.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { buildApp, type RunningApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/lib/logger.ts';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';

export type ServerCommand = { type: 'burst'; events: number } | { type: 'memory' } | { type: 'stop' };
export type ServerReply = { type: 'ready'; url: string; sessionId?: string } | { type: 'sent' } | { type: 'memory'; rss: number; heapUsed: number } | { type: 'stopped' };

const mode = process.argv[2];
const reply = (message: ServerReply) => process.send!(message);

function memory(): ServerReply {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { type: 'memory', rss, heapUsed };
}

async function bare() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const clients = new Set<WebSocket>();
  wss.on('connection', (socket) => {
    clients.add(socket);
    socket.on('close', () => clients.delete(socket));
  });
  // A frame the size of a messageReceived result.
  const frame = JSON.stringify({ id: 'feed', type: 'next', payload: { data: { messageReceived: { id: 'TWVzc2FnZTowMTkzYjBiZS0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA=', body: 'Hello from the benchmark', kind: 'TEXT', timestamp: new Date().toISOString() } } } });
  process.on('message', (command: ServerCommand) => {
    if (command.type === 'burst') {
      for (let i = 0; i < command.events; i++) for (const socket of clients) socket.send(frame);
      reply({ type: 'sent' });
    } else if (command.type === 'memory') reply(memory());
    else if (command.type === 'stop') wss.close(() => reply({ type: 'stopped' }));
  });
  const { port } = wss.address() as { port: number };
  reply({ type: 'ready', url: `http://127.0.0.1:${port}` });
}

async function graphql(running: RunningApp, query: string, variables: Record<string, unknown>) {
  const res = await running.yoga.fetch(`${running.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, Record<string, string>>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

async function sandboxControl(running: RunningApp, providerSessionId: string, action: string, body: unknown) {
  const res = await fetch(`${running.url}/sandbox/control/sessions/${providerSessionId}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`sandbox ${action}: ${res.status}`);
}

async function app() {
  const config = loadConfig({ PORT: '0', ADMIN_TOKEN: BENCH_ADMIN_TOKEN, DATA_DIR: 'memory://', LOG_LEVEL: 'error', NODE_ENV: 'production' });
  const instance = buildApp(config, { host: '127.0.0.1', logger: createLogger(config.logLevel) });
  const running = await instance.start();
  const { createSession } = await graphql(
    running,
    `mutation($input: CreateSessionInput!) { createSession(input: $input) { id providerSessionId } }`,
    { input: { name: 'Bench', phoneNumber: '+255700000900', accountProtection: false } },
  );
  const sessionGlobalId = createSession!.id!;
  const providerSessionId = createSession!.providerSessionId!;
  await graphql(running, `mutation($id: ID!) { connectSession(id: $id) { id } }`, { id: sessionGlobalId });
  await sandboxControl(running, providerSessionId, 'scan', {});
  await sandboxControl(running, providerSessionId, 'inbound', { from: '255711000900', text: 'Hello from the benchmark' });
  const sessionId = Buffer.from(sessionGlobalId, 'base64').toString().split(':')[1]!;
  let message = null;
  for (let i = 0; i < 200 && !message; i++) {
    await new Promise((r) => setTimeout(r, 25));
    message = await running.db.prisma.message.findFirst({ where: { sessionId } });
  }
  if (!message) throw new Error('the inbound message was not stored');
  const event = { id: message.id, sessionId, chatId: message.chatId, seq: String(message.seq) };

  process.on('message', (command: ServerCommand) => {
    if (command.type === 'burst') {
      // What the webhook applier publishes for each stored inbound message.
      for (let i = 0; i < command.events; i++) running.pubsub.pubsub.publish('messageReceived', sessionId, event);
      reply({ type: 'sent' });
    } else if (command.type === 'memory') reply(memory());
    else if (command.type === 'stop') void instance.stop().then(() => reply({ type: 'stopped' }));
  });
  reply({ type: 'ready', url: running.url, sessionId: sessionGlobalId });
}

if (mode === 'bare') await bare();
else if (mode === 'app') await app();
else throw new Error(`unknown mode ${mode}`);
