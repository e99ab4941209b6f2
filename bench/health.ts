/**
 * Health and analytics on the embedded database over a month of history for 20 sessions
 * (BENCH_HEALTH_MESSAGES messages in all, default 300,000), against one plain pass over the same
 * month's messages measured in the same run:
 * - baseline: `count(*)` of the month's messages by direction, straight in SQL;
 * - the product: GraphQL queries a dashboard makes (a session's last day, a session's month, the
 *   month by day across all sessions, a session's month by hour), each the median of 5 runs.
 */
import { graphql, startBenchApp } from './support/bench-app.ts';
import type { BenchResult } from './run.ts';
import type { Prisma } from '../src/lib/database.ts';
import { deliverySecondsSql } from '../src/modules/monitoring/delivery-seconds.ts';
import { recomputeTurns } from '../src/modules/monitoring/response-turns.ts';

const SESSIONS = 20;
const CHATS_PER_SESSION = 50;
const DAYS = 30;
const MESSAGES = Number(process.env.BENCH_HEALTH_MESSAGES ?? 300_000);
const RUNS = 5;

const HEALTH_FIELDS = `from to uptimePercent connectedSince disconnects sent delivered read failed deliveryRate readRate
  medianDeliverySeconds p90DeliverySeconds medianResponseSeconds p90ResponseSeconds responses unanswered received
  providerCalls providerErrorRate webhookRejections medianWebhookLagSeconds p90WebhookLagSeconds`;

/**
 * Drops `table`'s secondary indexes for a bulk load and returns what builds them again from their
 * own definitions: one sort per index instead of 300,000 ordered inserts (and as many updates)
 * into each of them; the month's seeding was most of the suite's time. The primary key stays.
 */
async function dropSecondaryIndexes(prisma: Prisma, table: string) {
  const indexes = await prisma.$queryRawUnsafe<{ name: string; definition: string }[]>(
    `SELECT i.indexname AS name, i.indexdef AS definition FROM pg_indexes i
     WHERE i.schemaname = current_schema() AND i.tablename = $1
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    table,
  );
  for (const { name } of indexes) await prisma.$executeRawUnsafe(`DROP INDEX "${name}"`);
  const pending = new Map(indexes.map((i) => [i.name, i.definition]));
  /** Builds the named indexes again, or all that are still dropped. */
  return async function build(...names: string[]) {
    for (const name of names.length ? names : [...pending.keys()]) {
      const definition = pending.get(name);
      if (!definition) throw new Error(`no dropped index ${name} on ${table}`);
      await prisma.$executeRawUnsafe(definition);
      pending.delete(name);
    }
  };
}

async function medianMs(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

export async function healthBenchmarks(): Promise<BenchResult[]> {
  const { instance, running, session } = await startBenchApp({ SANDBOX_SESSION_LIMIT: String(SESSIONS + 5) });
  try {
    const prisma = running.db.prisma;
    const sessionIds = [session.id];
    const globalIds = [session.globalId];
    for (let i = 1; i < SESSIONS; i++) {
      const { createSession } = await graphql(running, `mutation($input: CreateSessionInput!) { createSession(input: $input) { id } }`, {
        input: { name: `Bench ${i}`, phoneNumber: `+2557009${String(10_000 + i).slice(-5)}`, accountProtection: false },
      });
      globalIds.push(createSession!.id!);
      sessionIds.push(Buffer.from(createSession!.id!, 'base64').toString().split(':')[1]!);
    }
    const to = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const from = new Date(to.getTime() - DAYS * 86_400_000);
    const seeded = performance.now();
    await prisma.$executeRawUnsafe(
      `INSERT INTO chats (id, "sessionId", "remoteJid", "phoneNumber", "updatedAt")
       SELECT gen_random_uuid(), s.id, (255710000000 + c)::text || '@s.whatsapp.net', '+' || (255710000000 + c)::text, now()
       FROM unnest($1::uuid[]) AS s(id), generate_series(1, ${CHATS_PER_SESSION}) AS c`,
      sessionIds,
    );
    // Conversations: two messages in, one reply out, in turn; replies mostly read, some only
    // delivered, one in 25 failed; delivery within 0–19 s, replies 1–5 minutes after.
    const perSession = Math.floor(MESSAGES / SESSIONS);
    const spacingMs = (DAYS * 86_400_000) / perSession;
    const buildIndexes = await dropSecondaryIndexes(prisma, 'messages');
    await prisma.$executeRawUnsafe(
      `WITH chat AS (SELECT id, "sessionId", row_number() OVER (PARTITION BY "sessionId" ORDER BY "remoteJid") - 1 AS n FROM chats),
       gen AS (
         SELECT s.id AS sid, i, $2::timestamp(3) + make_interval(secs => i * $3::float8 / 1000) AS ts,
           CASE WHEN i % 3 = 2 THEN 'OUTBOUND' ELSE 'INBOUND' END AS dir
         FROM unnest($1::uuid[]) AS s(id), generate_series(0, $4::int - 1) AS i)
       INSERT INTO messages (id, "sessionId", "chatId", direction, kind, status, "providerMessageId", "fromJid", text, timestamp,
         "sentAt", "deliveredAt", "readAt", "failedAt", "deliverySeconds", "updatedAt")
       SELECT gen_random_uuid(), g.sid, c.id, g.dir::"MessageDirection", 'TEXT', (CASE
           WHEN g.dir = 'INBOUND' THEN 'RECEIVED' WHEN g.i % 25 = 2 THEN 'FAILED' WHEN g.i % 4 = 0 THEN 'DELIVERED' ELSE 'READ' END)::"MessageStatus",
         'bench-' || g.sid || '-' || g.i, CASE WHEN g.dir = 'INBOUND' THEN 'them' ELSE 'me' END, 'message ' || g.i, g.ts,
         g.sent,
         g.delivered,
         CASE WHEN g.dir = 'OUTBOUND' AND g.i % 25 <> 2 AND g.i % 4 <> 0 THEN g.ts + interval '1 minute' END,
         CASE WHEN g.dir = 'OUTBOUND' AND g.i % 25 = 2 THEN g.ts + interval '3 seconds' END,
         ${deliverySecondsSql('g.sent', 'g.delivered')},
         now()
       FROM (SELECT *, CASE WHEN dir = 'OUTBOUND' AND i % 25 <> 2 THEN ts END AS sent,
               CASE WHEN dir = 'OUTBOUND' AND i % 25 <> 2 THEN ts + make_interval(secs => i % 20) END AS delivered FROM gen) g
       JOIN chat c ON c."sessionId" = g.sid AND c.n = (g.i / 3) % ${CHATS_PER_SESSION}`,
      sessionIds,
      from.toISOString(),
      spacingMs,
      perSession,
    );
    // Each chat's customer turns and their answers, as the product keeps them when messages arrive.
    // (It reads each chat's messages in time order: that index first, the others after its updates.)
    await buildIndexes('messages_chatId_timestamp_seq_idx');
    const chats = await prisma.$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM chats WHERE "sessionId" = ANY($1::uuid[])`, sessionIds);
    await recomputeTurns(prisma, chats.map((c) => ({ chatId: c.id, since: null })));
    await buildIndexes();
    // A reconnect about twice a day, and provider calls counted every hour.
    await prisma.$executeRawUnsafe(
      `INSERT INTO session_logs (id, "sessionId", type, status, message, "createdAt")
       SELECT gen_random_uuid(), s.id, CASE WHEN h % 2 = 0 THEN 'CONNECTED' ELSE 'DISCONNECTED' END::"SessionLogType",
         CASE WHEN h % 2 = 0 THEN 'CONNECTED' ELSE 'DISCONNECTED' END::"SessionStatus", 'bench', $2::timestamp(3) + make_interval(hours => h * 12)
       FROM unnest($1::uuid[]) AS s(id), generate_series(0, ${DAYS * 2 - 1}) AS h`,
      sessionIds,
      from.toISOString(),
    );
    await prisma.$executeRawUnsafe(
      `INSERT INTO session_counters ("sessionId", hour, name, count)
       SELECT s.id, $2::timestamp(3) + make_interval(hours => h), n.name, n.count
       FROM unnest($1::uuid[]) AS s(id), generate_series(0, ${DAYS * 24 - 1}) AS h,
         (VALUES ('provider_call:OK', 40), ('provider_call:RATE_LIMITED', 1)) AS n(name, count)`,
      sessionIds,
      from.toISOString(),
    );
    // The turn columns were written by updating the inbound rows: vacuumed, the month reads as a
    // settled table (as the plain inserts before them did), for the baseline and the product alike.
    await prisma.$executeRawUnsafe('VACUUM ANALYZE');
    const seedSeconds = (performance.now() - seeded) / 1000;

    const baseline = await medianMs(() =>
      prisma.$queryRawUnsafe(`SELECT direction, count(*) FROM messages WHERE timestamp >= $1::timestamp(3) AND timestamp < $2::timestamp(3) GROUP BY direction`, from.toISOString(), to.toISOString()),
    );
    const health = `query($id: ID!, $from: DateTime, $to: DateTime) { session(id: $id) { health(from: $from, to: $to) { ${HEALTH_FIELDS} } } }`;
    const analytics = `query($sessionId: ID, $from: DateTime!, $to: DateTime!, $bucket: AnalyticsBucket!) { analytics(sessionId: $sessionId, from: $from, to: $to, bucket: $bucket) { ${HEALTH_FIELDS} } }`;
    // Targets as multiples of one plain count over all 20 sessions' month (a session holds a 20th).
    const cases: [string, () => Promise<unknown>, number][] = [
      ['a session\'s last 24 h', () => graphql(running, health, { id: globalIds[0] }), 1],
      ['a session\'s month', () => graphql(running, health, { id: globalIds[0], from: from.toISOString(), to: to.toISOString() }), 1.5],
      ['a session\'s month by hour', () => graphql(running, analytics, { sessionId: globalIds[0], from: from.toISOString(), to: to.toISOString(), bucket: 'HOUR' }), 3],
      // Every message of the month is read once: exact medians need every delivery and response
      // time, which the messages carry (rollups would not be exact).
      ['every session\'s month by day', () => graphql(running, analytics, { from: from.toISOString(), to: to.toISOString(), bucket: 'DAY' }), 8],
    ];
    const results: BenchResult[] = [];
    for (const [name, run, target] of cases) {
      await run(); // warm
      const ms = await medianMs(run);
      results.push({
        name: `health: ${name} (${SESSIONS} sessions, ${(perSession * SESSIONS).toLocaleString('en')} messages over ${DAYS} days, embedded)`,
        unit: 'ms',
        baseline,
        measured: ms,
        target: { kind: 'ratio-at-most', value: target },
        note: `${Math.round(ms)} ms (median of ${RUNS}); seeding took ${seedSeconds.toFixed(0)} s`,
      });
    }
    return results;
  } finally {
    await instance.stop();
  }
}
