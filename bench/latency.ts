/**
 * End-to-end latency of the live inbox: 1,000 graphql-ws subscribers of one session's
 * `messageReceived`, customers' messages arriving through the real path (the sandbox's inbound
 * control posts the provider's three signed webhooks per message to our route) at a fixed rate;
 * from each message's arrival to its frame at each client. Baseline: a bare `ws` server sending
 * frames of the same size at the same rate to the same clients. Servers, the provider sandbox and
 * clients run in processes of their own; this process paces the messages.
 */
import http from 'node:http';
import type { BenchProvider } from './support/bench-provider.ts';
import { startChild, type ChildServer } from './support/child.ts';
import { attempt, percentile, type BenchResult, type Outcome } from './support/result.ts';
import { requirePostgres, withDatabase } from './support/services.ts';
import {
  BENCH_ADMIN_TOKEN,
  now,
  textFor,
  type ClientCommand,
  type ClientReply,
  type ServerCommand,
  type ServerOptions,
  type ServerReply,
} from './latency/protocol.ts';

export interface LatencyServer {
  url: string;
  sessionId?: string;
  providerSessionId?: string;
  /** The provider the app calls, whose control endpoints fake the customers' messages. */
  provider?: BenchProvider;
  child: ChildServer<ServerCommand, ServerReply>;
}

export async function startLatencyServer(options: ServerOptions): Promise<LatencyServer> {
  const child = startChild<ServerCommand, ServerReply>(new URL('./latency/server.ts', import.meta.url), [JSON.stringify(options)]);
  try {
    const ready = await child.receive('ready');
    return { url: ready.url, sessionId: ready.sessionId, providerSessionId: ready.providerSessionId, provider: ready.provider, child };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

export interface Subscribers {
  count: number;
  reset(): Promise<void>;
  frames(): Promise<{ frames: number; open: number }>;
  report(): Promise<{ latencies: number[]; frames: number; open: number; closes: Record<string, number> }>;
  /** Closes the subscribers (and, from connectSubscribers, their processes). */
  stop(): Promise<void>;
}

/** Client processes, started once and connected to one server after another. */
export interface ClientProcesses {
  /** `count` subscribers (of `sessionId` over graphql-ws, or bare sockets) spread over the processes; resolves once `settled` does. */
  connect(url: string, sessionId: string | undefined, count: number, settled: () => Promise<void>): Promise<Subscribers>;
  stop(): Promise<void>;
}

export function startClientProcesses(processes: number): ClientProcesses {
  const children = Array.from({ length: processes }, () => startChild<ClientCommand, ClientReply>(new URL('./latency/clients.ts', import.meta.url), []));
  const all = <T>(fn: (c: ChildServer<ClientCommand, ClientReply>, i: number) => Promise<T>) => Promise.all(children.map(fn));
  return {
    async connect(url, sessionId, count, settled) {
      try {
        await all((c, i) => c.request({ type: 'connect', url, sessionId, count: Math.floor(count / processes) + (i < count % processes ? 1 : 0) }, 'connected'));
      } catch (error) {
        await all((c) => c.request({ type: 'disconnect' }, 'disconnected')).catch(() => {});
        throw error;
      }
      await settled();
      return {
        count,
        reset: () => all((c) => c.request({ type: 'reset' }, 'reset')).then(() => {}),
        async frames() {
          const counts = await all((c) => c.request({ type: 'count' }, 'count'));
          return { frames: counts.reduce((a, c) => a + c.frames, 0), open: counts.reduce((a, c) => a + c.open, 0) };
        },
        async report() {
          const reports = await all((c) => c.request({ type: 'report' }, 'report'));
          const closes: Record<string, number> = {};
          for (const r of reports) for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n;
          return {
            latencies: reports.flatMap((r) => r.latencies).sort((a, b) => a - b),
            frames: reports.reduce((a, r) => a + r.frames, 0),
            open: reports.reduce((a, r) => a + r.open, 0),
            closes,
          };
        },
        stop: () => all((c) => c.request({ type: 'disconnect' }, 'disconnected')).then(() => {}),
      };
    },
    stop: () => all((c) => c.stop()).then(() => {}),
  };
}

/** `count` subscribers (of `sessionId` over graphql-ws, or bare sockets) spread over `processes` processes of their own. */
export async function connectSubscribers(url: string, sessionId: string | undefined, count: number, processes: number): Promise<Subscribers> {
  const clients = startClientProcesses(processes);
  try {
    // Let every subscription start on the server before anything is sent.
    const subscribers = await clients.connect(url, sessionId, count, () => new Promise((r) => setTimeout(r, 1_000)));
    return { ...subscribers, stop: () => subscribers.stop().then(() => clients.stop()) };
  } catch (error) {
    await clients.stop();
    throw error;
  }
}

/** Until the server has every subscriber listening (bare: connected), so nothing is sent before. */
async function everyoneListening(server: LatencyServer, count: number): Promise<void> {
  const deadline = now() + 30_000;
  while ((await server.child.request({ type: 'listening' }, 'listening')).subscribers < count) {
    if (now() > deadline) throw new Error(`not every one of ${count} subscribers is listening after 30 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface RateRun {
  rate: number;
  messages: number;
  p50: number;
  p99: number;
  /** Share of the frames owed (messages × subscribers) that arrived within the grace after the last send. */
  delivered: number;
  /** Subscribers still open at the end, and the close codes of the others. */
  open: number;
  closes: Record<string, number>;
  /** Messages whose arrival was refused (the sender's request failed). */
  refused: number;
  /** From arrival to publication (stored, applied, published: the half before the subscription hub), on the app. */
  published?: { p50: number; p99: number };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { agent, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/** One message arrives: at the provider for the app (which posts its webhooks to us), at /send for the bare server. */
export function arrive(server: LatencyServer, n: number): Promise<number> {
  const text = textFor(now(), n);
  if (!server.providerSessionId || !server.provider) return post(`${server.url}/send`, text);
  const from = `+2557110${String(10_000 + (n % 20)).slice(-5)}`;
  return post(`${server.provider.controlUrl}/sessions/${server.providerSessionId}/inbound`, JSON.stringify({ from, text }), { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` });
}

/** Messages at a fixed rate for `seconds` (open loop: a slow answer does not slow the pace). */
export async function atRate(arrivals: LatencyServer, subscribers: Subscribers, rate: number, seconds: number, graceMs = 5_000): Promise<RateRun> {
  await subscribers.reset();
  const messages = Math.round(rate * seconds);
  const started = now() + 20;
  const sent: Promise<number>[] = [];
  for (let n = 0; n < messages; n++) {
    const due = started + (n * 1000) / rate;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sent.push(arrive(arrivals, n));
  }
  const owed = messages * subscribers.count;
  const deadline = now() + graceMs;
  for (;;) {
    const { frames, open } = await subscribers.frames();
    if (frames >= owed || frames >= messages * open || now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const statuses = await Promise.all(sent);
  const report = await subscribers.report();
  return {
    rate,
    messages,
    p50: percentile(report.latencies, 50),
    p99: percentile(report.latencies, 99),
    delivered: report.frames / owed,
    open: report.open,
    closes: report.closes,
    refused: statuses.filter((s) => s < 200 || s > 299).length,
  };
}

async function serverMemory(server: LatencyServer) {
  const m = await server.child.request({ type: 'memory' }, 'memory');
  return { heapMb: m.heapUsed / 2 ** 20, rssMb: m.rss / 2 ** 20 };
}

/** Rates measured on one server with one set of subscribers (in the suite's client processes), each rate on its own. */
async function onServer(options: ServerOptions, clients: ClientProcesses, rates: number[], load: { subscribers: number; seconds: number }, overload?: number) {
  const server = await startLatencyServer(options);
  const runs: Outcome<RateRun>[] = [];
  let overloaded: Outcome<RateRun & { memoryBefore: { heapMb: number; rssMb: number }; memoryAfter: { heapMb: number; rssMb: number } }> | null = null;
  try {
    const subscribers = await clients.connect(server.url, server.sessionId, load.subscribers, () => everyoneListening(server, load.subscribers));
    try {
      // Warm the path up (JIT, pools, the first chats) before measuring.
      await atRate(server, subscribers, 10, 1, 2_000);
      if (server.providerSessionId) await server.child.request({ type: 'trace' }, 'trace');
      for (const rate of rates) {
        runs.push(
          await attempt(`${options.mode} at ${rate}/s`, async () => {
            const run = await atRate(server, subscribers, rate, load.seconds);
            if (!server.providerSessionId) return run;
            const published = (await server.child.request({ type: 'trace' }, 'trace')).published.sort((a, b) => a - b);
            return { ...run, published: { p50: percentile(published, 50), p99: percentile(published, 99) } };
          }),
        );
      }
      if (overload) {
        overloaded = await attempt(`${options.mode} at ${overload}/s`, async () => {
          const memoryBefore = await serverMemory(server);
          const run = await atRate(server, subscribers, overload, load.seconds, 10_000);
          return { ...run, memoryBefore, memoryAfter: await serverMemory(server) };
        });
      }
    } finally {
      await subscribers.stop();
    }
  } finally {
    await server.child.stop();
  }
  return { runs, overloaded };
}

const ms = (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} ms`;
const share = (n: number) => `${(100 * n).toFixed(n < 1 && n > 0.995 ? 2 : 1)} %`;

export function latencyLoad() {
  return {
    subscribers: Number(process.env.BENCH_LATENCY_SUBSCRIBERS ?? 1_000),
    processes: Number(process.env.BENCH_LATENCY_CLIENT_PROCESSES ?? 2),
    seconds: Number(process.env.BENCH_LATENCY_SECONDS ?? 10),
  };
}

/** Results of app runs against bare runs at the same rates: p99 within 2× and every frame delivered. */
export function latencyResults(label: string, rates: number[], bare: Outcome<RateRun>[], app: Outcome<RateRun>[], subscribers: number): BenchResult[] {
  return rates.flatMap((rate, i) => {
    const b = bare[i] ?? { ok: false as const, error: 'not run' };
    const a = app[i] ?? { ok: false as const, error: 'not run' };
    const error = [b, a].flatMap((o) => (o.ok ? [] : [o.error])).join('; ') || undefined;
    const figures = { ...(a.ok ? { publishedP50: a.value.published?.p50 ?? null, publishedP99: a.value.published?.p99 ?? null, p50: a.value.p50, p99: a.value.p99, delivered: a.value.delivered, refused: a.value.refused, closes: JSON.stringify(a.value.closes) } : {}), ...(b.ok ? { bareP50: b.value.p50, bareP99: b.value.p99, bareDelivered: b.value.delivered } : {}) };
    return [
      {
        name: `end-to-end p99 ${label}, ${rate} messages/s to ${subscribers} subscribers`,
        unit: 'ms',
        baseline: b.ok ? b.value.p99 : null,
        measured: a.ok ? a.value.p99 : null,
        target: { kind: 'ratio-at-most', value: 2 },
        note:
          `p50 ${a.ok ? ms(a.value.p50) : '—'} (bare ${b.ok ? ms(b.value.p50) : '—'}); delivered ${a.ok ? share(a.value.delivered) : '—'}` +
          (a.ok && a.value.published ? `; arrival → published p50 ${ms(a.value.published.p50)}, p99 ${ms(a.value.published.p99)}` : ''),
        error,
        figures,
      },
      {
        name: `frames delivered ${label}, ${rate} messages/s (share of messages × subscribers)`,
        unit: '%',
        baseline: b.ok ? 100 * b.value.delivered : null,
        measured: a.ok ? 100 * a.value.delivered : null,
        target: { kind: 'ratio-at-least', value: 1 },
        note: a.ok && a.value.refused ? `${a.value.refused} arrivals refused` : undefined,
        error,
      },
    ] satisfies BenchResult[];
  });
}

export async function latencyBenchmarks(): Promise<BenchResult[]> {
  // One set of client processes for every server, started while the first server starts.
  const clients = startClientProcesses(latencyLoad().processes);
  try {
    return await latencyOn(clients);
  } finally {
    await clients.stop();
  }
}

async function latencyOn(clients: ClientProcesses): Promise<BenchResult[]> {
  const load = latencyLoad();
  const rates = (process.env.BENCH_LATENCY_RATES ?? '20,50').split(',').map(Number);
  const overload = Number(process.env.BENCH_LATENCY_OVERLOAD_RATE ?? 200);
  // BENCH_LATENCY_DATABASES=postgres or =embedded: one of the two (for profiling one path).
  const databases = (process.env.BENCH_LATENCY_DATABASES ?? 'postgres,embedded').split(',');
  const bare = await attempt('bare ws', () => onServer({ mode: 'bare' }, clients, rates, load));
  const bareRuns = bare.ok ? bare.value.runs : rates.map(() => bare);
  const results: BenchResult[] = [];
  const postgres = await attempt('PostgreSQL', requirePostgres);
  const onPostgres = !databases.includes('postgres') ? { ok: false as const, error: 'not asked for' } : postgres.ok ? await attempt('app on PostgreSQL', () => withDatabase('latency', (url) => onServer({ mode: 'app', databaseUrl: url }, clients, rates, load, overload))) : postgres;
  results.push(...latencyResults('on PostgreSQL', rates, bareRuns, onPostgres.ok ? onPostgres.value.runs : rates.map(() => onPostgres), load.subscribers));
  const embedded = databases.includes('embedded') ? await attempt('app on the embedded database', () => onServer({ mode: 'app' }, clients, rates, load)) : { ok: false as const, error: 'not asked for' };
  results.push(...latencyResults('on the embedded database', rates, bareRuns, embedded.ok ? embedded.value.runs : rates.map(() => embedded), load.subscribers));
  const over = onPostgres.ok ? onPostgres.value.overloaded : null;
  if (over) {
    results.push({
      name: `overload on PostgreSQL: ${overload} messages/s for ${load.seconds} s to ${load.subscribers} subscribers (share delivered)`,
      unit: '%',
      baseline: 100,
      measured: over.ok ? 100 * over.value.delivered : null,
      note: over.ok
        ? `p50 ${ms(over.value.p50)}, p99 ${ms(over.value.p99)}; ${over.value.open} subscribers still open, closed: ${JSON.stringify(over.value.closes)}; server heap ${over.value.memoryBefore.heapMb.toFixed(0)} → ${over.value.memoryAfter.heapMb.toFixed(0)} MB, RSS ${over.value.memoryBefore.rssMb.toFixed(0)} → ${over.value.memoryAfter.rssMb.toFixed(0)} MB`
        : undefined,
      error: over.ok ? undefined : over.error,
      figures: over.ok ? { p50: over.value.p50, p99: over.value.p99, open: over.value.open, closes: JSON.stringify(over.value.closes), heapAfterMb: over.value.memoryAfter.heapMb, rssAfterMb: over.value.memoryAfter.rssMb } : undefined,
    });
  }
  return results;
}

