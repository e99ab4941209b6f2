/**
 * The server side of the latency and scale benchmarks, in its own process (options as JSON in
 * argv[2], see protocol.ts). The bare server sends frames of the app's size and shape.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { startBenchApp, startBenchInstance } from '../support/bench-app.ts';
import { startProviderProcess } from '../support/bench-provider.ts';
import { heapAfterGc, reportStopped } from '../support/child.ts';
import { now, type ServerCommand, type ServerOptions, type ServerReply } from './protocol.ts';

const options = JSON.parse(process.argv[2]!) as ServerOptions;
const reply = (message: ServerReply) => process.send!(message);
let stop: () => Promise<void>;

process.on('message', (command: ServerCommand) => {
  if (command.type === 'memory') {
    const heapUsed = heapAfterGc();
    reply({ type: 'memory', heapUsed, rss: process.memoryUsage().rss });
  } else if (command.type === 'trace') void trace().then((published) => reply({ type: 'trace', published }));
  else if (command.type === 'listening') reply({ type: 'listening', subscribers: listening() });
  else if (command.type === 'stop') void stop().then(() => reportStopped());
});
let trace: () => Promise<number[]> = async () => [];
let listening: () => number;

if (options.mode === 'bare') {
  const sockets = new Set<WebSocket>();
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      n++;
      const message = { id: `TWVzc2FnZTowMTkzYjBiZS0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA${n}`, kind: 'TEXT', text, senderPhone: '+255711000900', timestamp: new Date().toISOString() };
      const frame = JSON.stringify({ id: 'feed', type: 'next', payload: { data: { messageReceived: message } } });
      for (const socket of sockets) socket.send(frame);
      res.writeHead(204).end();
    });
  });
  const wss = new WebSocketServer({ server });
  listening = () => sockets.size;
  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  stop = async () => {
    for (const socket of sockets) socket.terminate();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  reply({ type: 'ready', url: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
} else {
  const env = { ...options.env, ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}), ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}) };
  if (options.mode === 'replica') {
    const { instance, running } = await startBenchInstance(env, options.provider);
    listening = () => running.liveStats().listening;
    stop = () => instance.stop();
    reply({ type: 'ready', url: running.url });
  } else {
    // The provider elsewhere, as in production: its three webhooks per message are not our CPU.
    const own = options.provider ? null : await startProviderProcess();
    const { instance, running, session, provider } = await startBenchApp(env, options.provider ?? own!.provider);
    listening = () => running.liveStats().listening;
    stop = async () => {
      await instance.stop();
      await own?.stop();
    };
    // When each message was published, against the arrival its text carries.
    const publishedAt = new Map<string, number>();
    void (async () => {
      for await (const event of running.pubsub.pubsub.subscribe('messageReceived', session.id)) publishedAt.set(event.id, now());
    })();
    trace = async () => {
      const published = new Map(publishedAt);
      publishedAt.clear();
      const rows = await running.db.prisma.message.findMany({ where: { id: { in: [...published.keys()] } }, select: { id: true, text: true } });
      return rows.map((r) => published.get(r.id)! - Number(r.text!.split('|')[0])).filter(Number.isFinite);
    };
    reply({ type: 'ready', url: running.url, sessionId: session.globalId, providerSessionId: session.providerSessionId, provider });
  }
}
