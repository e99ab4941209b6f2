/**
 * Webhook ingest on PostgreSQL against plain inserts measured in the same run:
 * - baseline: 10 connections inserting one row per statement, as fast as they can;
 * - the product: signed `messages.upsert` webhooks POSTed to the real route by 64 concurrent
 *   senders; a webhook counts when it is answered 2xx (it is then stored), and the run also
 *   times how long until every one has become an inbox message.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import type { BenchResult } from './run.ts';
import { startChild } from './support/child.ts';
import type { IngestCommand, IngestReply } from './ingest/protocol.ts';

const serverUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const name = `bench_ingest_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** Rows per second from `connections` clients inserting one row per statement. */
async function plainInserts(url: string, rows: number, connections: number): Promise<number> {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query(`CREATE TABLE bench_rows (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), key text UNIQUE NOT NULL, payload jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())`);
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  let next = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      for (let i = next++; i < rows; i = next++) {
        await c.query('INSERT INTO bench_rows (key, payload) VALUES ($1, $2)', [`message:${i}`, JSON.stringify(upsert(i).data)]);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all([...clients, setup].map((c) => c.end()));
  return rows / seconds;
}

/** A real-shaped `messages.upsert` from one of 100 WhatsApp users. */
function upsert(i: number) {
  const phone = `2557110${String(10_000 + (i % 100)).slice(-5)}`;
  return {
    event: 'messages.upsert',
    timestamp: Date.now(),
    data: {
      messages: {
        key: { id: `3EB0${String(i).padStart(16, '0')}`, fromMe: false, remoteJid: `${phone}@s.whatsapp.net`, cleanedSenderPn: phone },
        messageTimestamp: Math.floor(Date.now() / 1000),
        pushName: `Customer ${i % 100}`,
        message: { conversation: `Order ${i}: two loaves and a litre of milk, please` },
      },
    },
  };
}

/** node:http with keep-alive: fetch() tops out near 3k requests/s here, below what is measured. */
function post(agent: http.Agent, url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function webhooks(url: string, count: number, concurrency: number) {
  const child = startChild<IngestCommand, IngestReply>(new URL('./ingest/server.ts', import.meta.url), [url]);
  try {
    const app = await child.receive('ready');
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    let next = 0;
    let failed = 0;
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
    if (failed) throw new Error(`${failed} webhooks were refused`);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      for (;;) {
        const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE "sessionId" = $1', [app.sessionId]);
        if (Number(rows[0]!.n) >= count) break;
        if (performance.now() - acknowledged > 300_000) throw new Error(`only ${rows[0]!.n} of ${count} messages were applied`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await db.end();
    }
    const applied = performance.now();
    agent.destroy();
    return { acknowledgedPerSecond: count / ((acknowledged - started) / 1000), appliedPerSecond: count / ((applied - started) / 1000) };
  } finally {
    await child.stop();
  }
}

export async function ingestBenchmarks(): Promise<BenchResult[]> {
  const count = Number(process.env.BENCH_INGEST_WEBHOOKS ?? 20_000);
  const probe = new pg.Client({ connectionString: serverUrl });
  try {
    await probe.connect();
  } catch (error) {
    console.log(`ingest skipped: PostgreSQL at ${new URL(serverUrl).host} is not reachable (${String(error)})`);
    return [];
  } finally {
    await probe.end().catch(() => {});
  }
  // Separate databases: the product migrates its own from empty.
  const baseline = await withDatabase((url) => plainInserts(url, count, 10));
  return withDatabase(async (url) => {
    const product = await webhooks(url, count, 64);
    return [
      {
        name: `webhook ingest on PostgreSQL: ${count} messages.upsert`,
        unit: 'webhooks/s',
        baseline,
        measured: product.acknowledgedPerSecond,
        // Verified, deduplicated and stored before the 2xx, in group commits, while the same two
        // cores also apply them to the inbox, run PostgreSQL and generate the load.
        target: { kind: 'ratio-at-least', value: 0.2 },
        note: `all applied to the inbox at ${Math.round(product.appliedPerSecond).toLocaleString('en')} messages/s`,
      },
    ];
  });
}
