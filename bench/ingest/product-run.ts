/**
 * The ingest suite's product run: signed `messages.upsert` webhooks POSTed by concurrent senders to
 * the real route of the product in a process of its own (server.ts), until every one is answered
 * and then applied. Shared by the suite (bench/ingest.ts) and `cpu.ts`.
 */
import { startChild } from '../support/child.ts';
import { databaseBackendCpuMs } from '../support/backend-cpu.ts';
import type { IngestCommand, IngestReply } from './protocol.ts';
import { KeepAliveSender } from './keep-alive-sender.ts';
import { upsert } from './webhooks.ts';

/** CPU per item between two readings, when both could be taken. */
export function perItem(before: number | null, after: number | null, items: number): number | null {
  return before === null || after === null ? null : (after - before) / items;
}

/** CPU per webhook (ms): the server process, PostgreSQL's backends (null when embedded or unreadable), the senders. */
export interface CpuPerWebhook {
  server: number;
  backend: number | null;
  senders: number;
}

export interface ProductRun {
  acknowledgedPerSecond: number;
  appliedPerSecond: number;
  /** Until the last webhook was answered (storing, and applying what the applier reached meanwhile). */
  atAcknowledged: CpuPerWebhook;
  /** Until every webhook was applied. */
  atApplied: CpuPerWebhook;
}

/** Webhooks answered 2xx per second, how fast they were all applied, and the CPU each took. */
export async function productRun(databaseUrl: string | null, count: number, concurrency: number): Promise<ProductRun> {
  const child = startChild<IngestCommand, IngestReply>(new URL('./server.ts', import.meta.url), databaseUrl ? [databaseUrl] : []);
  try {
    const app = await child.receive('ready');
    const senders = Array.from({ length: concurrency }, () => new KeepAliveSender(new URL(`${app.url}/api/whatsapp/webhook`), { 'x-webhook-signature': app.webhookSecret }));
    const reading = async () => ({
      server: (await child.request({ type: 'cpu' }, 'cpu')).ms,
      backend: databaseUrl ? await databaseBackendCpuMs(databaseUrl) : null,
      senders: (({ user, system }) => (user + system) / 1000)(process.cpuUsage()),
    });
    const perWebhook = (from: Awaited<ReturnType<typeof reading>>, to: Awaited<ReturnType<typeof reading>>): CpuPerWebhook => ({
      server: (to.server - from.server) / count,
      backend: perItem(from.backend, to.backend, count),
      senders: (to.senders - from.senders) / count,
    });
    let next = 0;
    let failed = 0;
    const before = await reading();
    const started = performance.now();
    await Promise.all(
      senders.map(async (sender) => {
        for (let i = next++; i < count; i = next++) {
          const status = await sender.post(JSON.stringify({ ...upsert(i), sessionId: app.apiKey }));
          if (status < 200 || status > 299) failed++;
        }
      }),
    );
    const acknowledged = performance.now();
    const atAcknowledged = perWebhook(before, await reading());
    for (const sender of senders) sender.close();
    if (failed) throw new Error(`${failed} webhooks were refused`);
    for (;;) {
      const { messages } = await child.request({ type: 'count' }, 'count');
      if (messages >= count) break;
      if (performance.now() - acknowledged > 300_000) throw new Error(`only ${messages} of ${count} messages were applied`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const applied = performance.now();
    return {
      acknowledgedPerSecond: count / ((acknowledged - started) / 1000),
      appliedPerSecond: count / ((applied - started) / 1000),
      atAcknowledged,
      atApplied: perWebhook(before, await reading()),
    };
  } finally {
    await child.stop();
  }
}
