/**
 * Subscribers in a process of their own, so their work is not the server's nor the driver's. Each
 * frame's latency is now minus the arrival time its message's text carries.
 */
import WebSocket from 'ws';
import { reportStopped } from '../support/child.ts';
import { BENCH_ADMIN_TOKEN, now, SUBSCRIPTION, type ClientCommand, type ClientReply } from './protocol.ts';

const reply = (message: ClientReply) => process.send!(message);
const sockets: WebSocket[] = [];
let latencies: number[] = [];
let frames = 0;
const closes: Record<string, number> = {};
const TEXT = '"text":"';

function onFrame(data: WebSocket.RawData) {
  const at = now();
  const raw = String(data);
  const start = raw.indexOf(TEXT);
  if (start < 0) return; // connection_ack and the like
  const sentAt = Number(raw.slice(start + TEXT.length, raw.indexOf('|', start)));
  frames++;
  latencies.push(at - sentAt);
}

function open(url: string, sessionId: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, sessionId ? 'graphql-transport-ws' : undefined);
    sockets.push(socket);
    socket.once('error', reject);
    socket.once('close', (code) => (closes[code] = (closes[code] ?? 0) + 1));
    socket.on('message', onFrame);
    if (!sessionId) return socket.once('open', () => resolve());
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } })));
    socket.once('message', (data) => {
      if (!String(data).includes('connection_ack')) return reject(new Error(`not acknowledged: ${String(data)}`));
      socket.send(JSON.stringify({ id: 'feed', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { sessionId } } }));
      resolve();
    });
  });
}

process.on('message', async (command: ClientCommand) => {
  if (command.type === 'connect') {
    const url = command.url.replace(/^http/, 'ws') + (command.sessionId ? '/graphql' : '');
    for (let i = 0; i < command.count; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, command.count - i) }, () => open(url, command.sessionId)));
    }
    reply({ type: 'connected' });
  } else if (command.type === 'reset') {
    latencies = [];
    frames = 0;
    reply({ type: 'reset' });
  } else if (command.type === 'count') {
    reply({ type: 'count', frames, open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length });
  } else if (command.type === 'report') {
    reply({ type: 'report', latencies, frames, open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length, closes });
  } else if (command.type === 'disconnect') {
    // Gone without a trace: their closes are not this server's to count.
    for (const socket of sockets.splice(0)) {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
    }
    latencies = [];
    frames = 0;
    for (const code of Object.keys(closes)) delete closes[code];
    reply({ type: 'disconnected' });
  } else if (command.type === 'stop') {
    for (const socket of sockets) socket.terminate();
    reportStopped();
  }
});
