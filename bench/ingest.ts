/**
 * Webhook ingest on PostgreSQL against plain inserts measured in the same run:
 * - baseline: 10 connections inserting one row per statement, as fast as they can;
 * - the product: signed `messages.upsert` webhooks POSTed to the real route by 64 concurrent
 *   senders; a webhook counts when it is answered 2xx (it is then stored), and the run also
 *   times how long until every one has become an inbox message.
 */
import http from 'node:http';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { startChild } from './support/child.ts';
import { attempt, compared, type BenchResult, type Outcome } from './support/result.ts';
import { requirePostgres, withDatabase } from './support/services.ts';
import { databaseBackendCpuMs } from './support/backend-cpu.ts';
import type { IngestCommand, IngestReply } from './ingest/protocol.ts';
import { post, upsert } from './ingest/webhooks.ts';

const BASELINE_TABLE = `CREATE TABLE bench_rows (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), key text UNIQUE NOT NULL, payload jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())`;
const BASELINE_INSERT = 'INSERT INTO bench_rows (key, payload) VALUES ($1, $2)';

/** Rows per second from `connections` clients inserting one row per statement, and PostgreSQL's CPU per row. */
async function plainInserts(url: string, rows: number, connections: number): Promise<{ rowsPerSecond: number; backendCpuMsPerRow: number | null }> {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query(BASELINE_TABLE);
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  let next = 0;
  const backendBefore = await databaseBackendCpuMs(url);
  const started = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      for (let i = next++; i < rows; i = next++) await c.query(BASELINE_INSERT, [`message:${i}`, JSON.stringify(upsert(i).data)]);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const backendAfter = await databaseBackendCpuMs(url);
  await Promise.all([...clients, setup].map((c) => c.end()));
  return { rowsPerSecond: rows / seconds, backendCpuMsPerRow: perItem(backendBefore, backendAfter, rows) };
}

/** CPU per item between two readings, when both could be taken. */
function perItem(before: number | null, after: number | null, items: number): number | null {
  return before === null || after === null ? null : (after - before) / items;
}

/** The same on the embedded database: one connection is all it has. */
async function plainEmbeddedInserts(rows: number): Promise<number> {
  const db = new PGlite('memory://');
  await db.waitReady;
  try {
    await db.exec(BASELINE_TABLE);
    const started = performance.now();
    for (let i = 0; i < rows; i++) await db.query(BASELINE_INSERT, [`message:${i}`, JSON.stringify(upsert(i).data)]);
    return rows / ((performance.now() - started) / 1000);
  } finally {
    await db.close();
  }
}

/**
 * Webhooks answered 2xx per second, how fast they were all applied to the inbox, and the CPU per
 * webhook of the server process and of PostgreSQL's backends (storing and applying).
 */
async function webhooks(databaseUrl: string | null, count: number, concurrency: number) {
  const child = startChild<IngestCommand, IngestReply>(new URL('./ingest/server.ts', import.meta.url), databaseUrl ? [databaseUrl] : []);
  try {
    const app = await child.receive('ready');
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    let next = 0;
    let failed = 0;
    const serverBefore = (await child.request({ type: 'cpu' }, 'cpu')).ms;
    const backendBefore = databaseUrl ? await databaseBackendCpuMs(databaseUrl) : null;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < count; i = next++) {
          const status = await post(agent, `${app.url}/api/whatsapp/webhook`, { 'x-webhook-signature': app.webhookSecret }, JSON.stringify({ ...upsert(i), sessionId: app.apiKey }));
          if (status < 200 || status > 299) failed++;
        }
      }),
    );
    const acknowledged = performance.now();
    agent.destroy();
    if (failed) throw new Error(`${failed} webhooks were refused`);
    for (;;) {
      const { messages } = await child.request({ type: 'count' }, 'count');
      if (messages >= count) break;
      if (performance.now() - acknowledged > 300_000) throw new Error(`only ${messages} of ${count} messages were applied`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const applied = performance.now();
    const serverAfter = (await child.request({ type: 'cpu' }, 'cpu')).ms;
    const backendAfter = databaseUrl ? await databaseBackendCpuMs(databaseUrl) : null;
    return {
      acknowledgedPerSecond: count / ((acknowledged - started) / 1000),
      appliedPerSecond: count / ((applied - started) / 1000),
      serverCpuMsPerWebhook: (serverAfter - serverBefore) / count,
      backendCpuMsPerWebhook: perItem(backendBefore, backendAfter, count),
    };
  } finally {
    await child.stop();
  }
}

const ms = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(2)} ms`);

export async function ingestBenchmarks(): Promise<BenchResult[]> {
  const count = Number(process.env.BENCH_INGEST_WEBHOOKS ?? 20_000);
  const embeddedCount = Number(process.env.BENCH_INGEST_EMBEDDED_WEBHOOKS ?? 5_000);
  const results: BenchResult[] = [];
  const postgres = await attempt('PostgreSQL', requirePostgres);
  // Separate databases: the product migrates its own from empty.
  const baselineRun = postgres.ok ? await attempt('single-row inserts', () => withDatabase('ingest', (url) => plainInserts(url, count, 10))) : postgres;
  const baseline: Outcome<number> = baselineRun.ok ? { ok: true, value: baselineRun.value.rowsPerSecond } : baselineRun;
  const product = postgres.ok ? await attempt('webhooks on PostgreSQL', () => withDatabase('ingest', (url) => webhooks(url, count, 64))) : postgres;
  results.push({
    ...compared(
      {
        name: `webhook ingest on PostgreSQL: ${count} messages.upsert`,
        unit: 'webhooks/s',
        // Verified, deduplicated and stored before the 2xx, in group commits, while the same two
        // cores also apply them to the inbox, run PostgreSQL and generate the load.
        target: { kind: 'ratio-at-least', value: 0.8 },
      },
      baseline,
      product.ok ? { ok: true, value: product.value.acknowledgedPerSecond } : product,
    ),
    note: product.ok
      ? `all applied to the inbox at ${Math.round(product.value.appliedPerSecond).toLocaleString('en')} messages/s; CPU per webhook: server ${ms(product.value.serverCpuMsPerWebhook)}, PostgreSQL ${ms(product.value.backendCpuMsPerWebhook)} (baseline's PostgreSQL per row ${ms(baselineRun.ok ? baselineRun.value.backendCpuMsPerRow : null)})`
      : undefined,
    figures: product.ok
      ? {
          appliedPerSecond: product.value.appliedPerSecond,
          serverCpuMsPerWebhook: product.value.serverCpuMsPerWebhook,
          backendCpuMsPerWebhook: product.value.backendCpuMsPerWebhook,
          baselineBackendCpuMsPerRow: baselineRun.ok ? baselineRun.value.backendCpuMsPerRow : null,
        }
      : undefined,
  });
  const embeddedBaseline = await attempt('single-row inserts on the embedded database', () => plainEmbeddedInserts(embeddedCount));
  const embedded = await attempt('webhooks on the embedded database', () => webhooks(null, embeddedCount, 64));
  results.push({
    ...compared(
      { name: `webhook ingest on the embedded database: ${embeddedCount} messages.upsert`, unit: 'webhooks/s' },
      embeddedBaseline,
      embedded.ok ? { ok: true, value: embedded.value.acknowledgedPerSecond } : embedded,
    ),
    note: embedded.ok
      ? `all applied at ${Math.round(embedded.value.appliedPerSecond).toLocaleString('en')} messages/s; server CPU per webhook ${ms(embedded.value.serverCpuMsPerWebhook)}; baseline: one connection inserting single rows in-process`
      : undefined,
    figures: embedded.ok ? { appliedPerSecond: embedded.value.appliedPerSecond, serverCpuMsPerWebhook: embedded.value.serverCpuMsPerWebhook } : undefined,
  });
  return results;
}
