/**
 * Scale-out: two server processes of one deployment (one PostgreSQL database, one Redis), the
 * customers' messages arriving at the first (its sandbox posts the webhooks to it) and every
 * subscriber on the second, against the same deployment served by one process, in the same run:
 * - latency: p99 from arrival to frame at a fixed rate;
 * - throughput: messages arriving as fast as 16 senders can post them, until the last frame.
 */
import { arrive, atRate, connectSubscribers, latencyLoad, startLatencyServer, type LatencyServer, type Subscribers } from './latency.ts';
import { now } from './latency/protocol.ts';
import { attempt, compared, type BenchResult, type Outcome } from './support/result.ts';
import { benchRedisUrl, requirePostgres, withDatabase } from './support/services.ts';
import { randomBytes } from 'node:crypto';

/** Messages per second from the first arrival to the last frame at every subscriber. */
async function burst(arrivals: LatencyServer, subscribers: Subscribers, messages: number, senders = 16): Promise<number> {
  await subscribers.reset();
  const started = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      for (let n = next++; n < messages; n = next++) await arrive(arrivals, n);
    }),
  );
  const deadline = now() + 60_000;
  for (;;) {
    const { frames, open } = await subscribers.frames();
    if (frames >= messages * open) break;
    if (now() > deadline) throw new Error(`${frames} of ${messages * subscribers.count} frames arrived`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return messages / ((now() - started) / 1000);
}

interface Figures {
  p99: number;
  p50: number;
  delivered: number;
  throughput: number;
}

async function deployment(processes: 1 | 2, rate: number, messages: number): Promise<Figures> {
  const load = latencyLoad();
  return withDatabase('scale', async (databaseUrl) => {
    const env = { ENCRYPTION_KEY: randomBytes(32).toString('hex') };
    const first = await startLatencyServer({ mode: 'app', databaseUrl, redisUrl: benchRedisUrl, env });
    // The second process takes the first's public URL: nothing is re-registered at the provider.
    const second = processes === 2 ? await attempt('second process', () => startLatencyServer({ mode: 'replica', databaseUrl, redisUrl: benchRedisUrl, env: { ...env, PUBLIC_URL: first.url }, provider: first.provider })) : null;
    try {
      if (second && !second.ok) throw new Error(second.error);
      const listening = second?.ok ? second.value : first;
      const subscribers = await connectSubscribers(listening.url, first.sessionId, load.subscribers, load.processes);
      try {
        await atRate(first, subscribers, 10, 1, 2_000);
        const run = await atRate(first, subscribers, rate, load.seconds);
        const throughput = await burst(first, subscribers, messages);
        return { p99: run.p99, p50: run.p50, delivered: run.delivered, throughput };
      } finally {
        await subscribers.stop();
      }
    } finally {
      if (second?.ok) await second.value.child.stop();
      await first.child.stop();
    }
  });
}

export async function scaleBenchmarks(): Promise<BenchResult[]> {
  // 20/s: at 50/s these two cores are saturated even for the bare ws server (the latency suite shows
  // it falling seconds behind), so a p99 there measures the backlog, not the deployment.
  const rate = Number(process.env.BENCH_SCALE_RATE ?? 20);
  const messages = Number(process.env.BENCH_SCALE_MESSAGES ?? 300);
  const postgres = await attempt('PostgreSQL', requirePostgres);
  const single: Outcome<Figures> = postgres.ok ? await attempt('one process', () => deployment(1, rate, messages)) : postgres;
  const two: Outcome<Figures> = postgres.ok ? await attempt('two processes', () => deployment(2, rate, messages)) : postgres;
  const pick = (o: Outcome<Figures>, key: keyof Figures): Outcome<number> => (o.ok ? { ok: true, value: o.value[key] } : o);
  const subscribers = latencyLoad().subscribers;
  const notes = (o: Outcome<Figures>) => (o.ok ? `p50 ${o.value.p50.toFixed(1)} ms, delivered ${(100 * o.value.delivered).toFixed(1)} %` : 'failed');
  return [
    compared(
      {
        name: `scale-out throughput: ${messages} messages as fast as they come, webhooks into one process, ${subscribers} subscribers on the other`,
        unit: 'messages/s',
        target: { kind: 'ratio-at-least', value: 0.7 },
        note: 'baseline: the same deployment served by one process',
      },
      pick(single, 'throughput'),
      pick(two, 'throughput'),
    ),
    compared(
      {
        name: `scale-out p99 at ${rate} messages/s, webhooks into one process, ${subscribers} subscribers on the other`,
        unit: 'ms',
        target: { kind: 'ratio-at-most', value: 2 },
        note: `two processes: ${notes(two)}; one process: ${notes(single)}`,
      },
      pick(single, 'p99'),
      pick(two, 'p99'),
    ),
  ];
}
