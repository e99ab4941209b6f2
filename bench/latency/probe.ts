/**
 * `npx tsx bench/latency/probe.ts [postgres|embedded] [messages]`: inbound messages through the
 * sandbox one after another, in-process: the time and CPU each costs on the way in (three signed
 * webhooks, stored), until it is published, and until one graphql-ws subscriber of this process
 * has its frame (the subscription's read and resolve counted too). The provider sandbox runs in a process of its own,
 * as in the latency suite (PROBE_PROVIDER=built-in: inside this one, its work counted as ours).
 * For profiling (PROBE_PROFILE=<file>) and checking a change quickly; not part of `npm run bench`.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import pg from 'pg';
import WebSocket from 'ws';
import { statementCount, statementReport, statements } from '../support/statement-log.ts';
import { sandboxControl, startBenchApp } from '../support/bench-app.ts';
import { startProviderProcess } from '../support/bench-provider.ts';
import { withDatabase } from '../support/services.ts';
import { BENCH_ADMIN_TOKEN, now, SUBSCRIPTION } from './protocol.ts';

const [database = 'embedded', count = '200'] = process.argv.slice(2);

// On PostgreSQL the statement log only counts; here each statement's wall time until its answer is
// added to its line too (round trip and commit included), to see where the path waits.
const counted = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const started = performance.now();
  const result = (counted as (...a: unknown[]) => unknown).apply(this, args);
  if (result instanceof Promise) {
    const text = String((args[0] as { text?: string }).text ?? args[0]).replace(/\s+/g, ' ').slice(0, 90);
    void result.then(
      () => {
        // Cleared meanwhile when the measured messages began.
        const line = statements.get(text);
        if (line) line.ms += performance.now() - started;
      },
      () => {},
    );
  }
  return result;
} as typeof counted;

async function probe(databaseUrl: string | null) {
  const own = process.env.PROBE_PROVIDER === 'built-in' ? null : await startProviderProcess();
  const { instance, running, session, provider } = await startBenchApp(databaseUrl ? { DATABASE_URL: databaseUrl } : {}, own?.provider);
  const published = new Map<string, number>();
  void (async () => {
    for await (const event of running.pubsub.pubsub.subscribe('messageReceived', session.id)) published.set(event.id, now());
  })();
  const framed: number[] = [];
  const socket = new WebSocket(`${running.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { type: string; payload?: { data?: { messageReceived?: { text: string } } } };
    if (frame.type === 'connection_ack') socket.send(JSON.stringify({ id: 'feed', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { sessionId: session.globalId } } }));
    const text = frame.payload?.data?.messageReceived?.text;
    if (text) framed.push(now() - Number(text.split('|')[0]));
  });
  await new Promise((r) => socket.once('open', r));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } }));
  while (running.liveStats().subscribers < 1) await new Promise((r) => setTimeout(r, 10));
  const send = (n: number) => sandboxControl(provider, session.providerSessionId, 'inbound', { from: `+2557110${String(10_000 + (n % 20)).slice(-5)}`, text: `${now()}|${n}|hello` });
  for (let n = 0; n < 20; n++) await send(n);
  const inspector = process.env.PROBE_PROFILE ? new Session() : null;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
  }
  statements.clear();
  const cpu = process.cpuUsage();
  const started = now();
  const total = Number(count);
  for (let n = 0; n < total; n++) await send(1000 + n);
  const inMs = (now() - started) / total;
  while (published.size < total + 20 || framed.length < total + 20) await new Promise((r) => setTimeout(r, 10));
  const used = process.cpuUsage(cpu);
  if (inspector) {
    const { profile } = await inspector.post('Profiler.stop');
    await writeFile(process.env.PROBE_PROFILE!, JSON.stringify(profile));
  }
  const rows = await running.db.prisma.message.findMany({ select: { id: true, text: true } });
  const lags = rows.map((r) => published.get(r.id)! - Number(r.text!.split('|')[0])).filter(Number.isFinite).sort((a, b) => a - b);
  const toFrame = framed.slice(20).sort((a, b) => a - b);
  console.log(
    `${inMs.toFixed(2)} ms per inbound message (three webhooks answered), ${((used.user + used.system) / 1000 / total).toFixed(2)} ms CPU until its frame; ` +
      `arrival → published p50 ${lags[Math.floor(lags.length / 2)]!.toFixed(1)} ms, → frame p50 ${toFrame[Math.floor(toFrame.length / 2)]!.toFixed(1)} ms; load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  if (process.env.PROBE_SQL) for (const line of statementReport(total, 'message')) console.log(line);
  console.log(`${(statementCount() / total).toFixed(1)} statements per message`);
  socket.close();
  await instance.stop();
  await own?.stop();
}

if (database === 'postgres') await withDatabase('probe', probe);
else await probe(null);
