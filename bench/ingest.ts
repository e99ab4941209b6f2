/**
 * Webhook ingest on PostgreSQL against plain inserts measured in the same run:
 * - baseline: 10 connections inserting one row per statement, as fast as they can;
 * - the product: signed `messages.upsert` webhooks POSTed to the real route by 64 concurrent
 *   senders; a webhook counts when it is answered 2xx (it is then stored), and the run also
 *   times how long until every one has become an inbox message.
 * Both load generators run in this process and share the 2 cores with what they measure: the
 * baseline's is `pg` itself (~0.07–0.10 ms of CPU per row), the product's a plain kept-alive socket
 * per sender (ingest/keep-alive-sender.ts, ~0.07 ms per webhook; node:http's client cost
 * 0.18–0.21 ms, a third of the machine's work per webhook, charged to neither the product nor
 * PostgreSQL). Each side's CPU per item is in the note, so the ratio can be read against it.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { attempt, compared, type BenchResult, type Outcome } from './support/result.ts';
import { requirePostgres, withDatabase } from './support/services.ts';
import { databaseBackendCpuMs } from './support/backend-cpu.ts';
import { perItem, productRun } from './ingest/product-run.ts';
import { upsert } from './ingest/webhooks.ts';

const BASELINE_TABLE = `CREATE TABLE bench_rows (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), key text UNIQUE NOT NULL, payload jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())`;
const BASELINE_INSERT = 'INSERT INTO bench_rows (key, payload) VALUES ($1, $2)';

/** Rows per second from `connections` clients inserting one row per statement, and the CPU per row of PostgreSQL and of the clients. */
async function plainInserts(url: string, rows: number, connections: number): Promise<{ rowsPerSecond: number; backendCpuMsPerRow: number | null; clientCpuMsPerRow: number }> {
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
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      for (let i = next++; i < rows; i = next++) await c.query(BASELINE_INSERT, [`message:${i}`, JSON.stringify(upsert(i).data)]);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const backendAfter = await databaseBackendCpuMs(url);
  await Promise.all([...clients, setup].map((c) => c.end()));
  return { rowsPerSecond: rows / seconds, backendCpuMsPerRow: perItem(backendBefore, backendAfter, rows), clientCpuMsPerRow: (client.user + client.system) / 1000 / rows };
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

const ms = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(2)} ms`);

export async function ingestBenchmarks(): Promise<BenchResult[]> {
  const count = Number(process.env.BENCH_INGEST_WEBHOOKS ?? 20_000);
  const embeddedCount = Number(process.env.BENCH_INGEST_EMBEDDED_WEBHOOKS ?? 5_000);
  const results: BenchResult[] = [];
  const postgres = await attempt('PostgreSQL', requirePostgres);
  // Separate databases: the product migrates its own from empty.
  const baselineRun = postgres.ok ? await attempt('single-row inserts', () => withDatabase('ingest', (url) => plainInserts(url, count, 10))) : postgres;
  const baseline: Outcome<number> = baselineRun.ok ? { ok: true, value: baselineRun.value.rowsPerSecond } : baselineRun;
  const product = postgres.ok ? await attempt('webhooks on PostgreSQL', () => withDatabase('ingest', (url) => productRun(url, count, 64))) : postgres;
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
      ? `all applied to the inbox at ${Math.round(product.value.appliedPerSecond).toLocaleString('en')} messages/s; CPU per webhook: server ${ms(product.value.atApplied.server)}, PostgreSQL ${ms(product.value.atApplied.backend)}, senders ${ms(product.value.atApplied.senders)} (baseline per row: PostgreSQL ${ms(baselineRun.ok ? baselineRun.value.backendCpuMsPerRow : null)}, clients ${ms(baselineRun.ok ? baselineRun.value.clientCpuMsPerRow : null)})`
      : undefined,
    figures: product.ok
      ? {
          appliedPerSecond: product.value.appliedPerSecond,
          serverCpuMsPerWebhook: product.value.atApplied.server,
          backendCpuMsPerWebhook: product.value.atApplied.backend,
          sendersCpuMsPerWebhook: product.value.atApplied.senders,
          baselineBackendCpuMsPerRow: baselineRun.ok ? baselineRun.value.backendCpuMsPerRow : null,
          baselineClientCpuMsPerRow: baselineRun.ok ? baselineRun.value.clientCpuMsPerRow : null,
        }
      : undefined,
  });
  const embeddedBaseline = await attempt('single-row inserts on the embedded database', () => plainEmbeddedInserts(embeddedCount));
  const embedded = await attempt('webhooks on the embedded database', () => productRun(null, embeddedCount, 64));
  results.push({
    ...compared(
      { name: `webhook ingest on the embedded database: ${embeddedCount} messages.upsert`, unit: 'webhooks/s' },
      embeddedBaseline,
      embedded.ok ? { ok: true, value: embedded.value.acknowledgedPerSecond } : embedded,
    ),
    note: embedded.ok
      ? `all applied at ${Math.round(embedded.value.appliedPerSecond).toLocaleString('en')} messages/s; server CPU per webhook ${ms(embedded.value.atApplied.server)}; baseline: one connection inserting single rows in-process`
      : undefined,
    figures: embedded.ok ? { appliedPerSecond: embedded.value.appliedPerSecond, serverCpuMsPerWebhook: embedded.value.atApplied.server } : undefined,
  });
  return results;
}
