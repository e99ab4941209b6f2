/**
 * Processed webhook events are deleted after WEBHOOK_RETENTION_DAYS, once per round across
 * processes; unprocessed ones stay. Dedupe keys are fixed-length, whatever the webhook carries.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, startTestApp, type TestApp, type TestDeployment } from '../helpers/app.ts';
import { serviceAvailable } from '../helpers/database.ts';
import { connectedSession, postWebhook, settled, textEvent, type ConnectedSession } from '../helpers/inbox.ts';
import { providerSession } from '../helpers/sandbox.ts';

type Secrets = { api_key: string; webhook_secret: string };

/** Stores one inbound-message webhook per id and waits until they are applied; their row ids. */
async function storeEvents(app: TestApp, secrets: Secrets, ids: string[]): Promise<string[]> {
  for (const id of ids) {
    const res = await postWebhook(app, textEvent(secrets.api_key, id), { 'x-webhook-signature': secrets.webhook_secret });
    expect(res.status).toBe(200);
  }
  await settled(app);
  const rows = await app.running.db.prisma.webhookEvent.findMany({ orderBy: { seq: 'desc' }, take: ids.length, select: { id: true } });
  return rows.map((r) => r.id).reverse();
}

/** Moves events back in time, as if they had been processed that many days ago. */
async function processedDaysAgo(app: TestApp, eventIds: string[], days: number) {
  await app.running.db.prisma.$executeRawUnsafe(
    `UPDATE webhook_events SET "processedAt" = (now() AT TIME ZONE 'UTC') - make_interval(days => $2::int),
       "receivedAt" = (now() AT TIME ZONE 'UTC') - make_interval(days => $2::int) WHERE id = ANY($1::uuid[])`,
    eventIds,
    days,
  );
}

/** An event received long ago that no worker has finished: its session is held under a lease that outlives the test. */
async function unprocessedSince(app: TestApp, eventId: string, days: number) {
  const prisma = app.running.db.prisma;
  await prisma.$executeRawUnsafe(
    `INSERT INTO webhook_session_leases ("sessionId", "claimedUntil", "claimToken")
       SELECT "sessionId", (now() AT TIME ZONE 'UTC') + interval '1 day', gen_random_uuid() FROM webhook_events WHERE id = $1::uuid
     ON CONFLICT ("sessionId") DO UPDATE SET "claimedUntil" = EXCLUDED."claimedUntil", "claimToken" = EXCLUDED."claimToken"`,
    eventId,
  );
  await prisma.$executeRawUnsafe(
    `UPDATE webhook_events SET "processedAt" = NULL,
       "receivedAt" = (now() AT TIME ZONE 'UTC') - make_interval(days => $2::int) WHERE id = $1::uuid`,
    eventId,
    days,
  );
}

const remaining = async (app: TestApp, ids: string[]) =>
  (await app.running.db.prisma.webhookEvent.findMany({ where: { id: { in: ids } }, select: { id: true } })).map((r) => r.id).sort();

describe('webhook event retention', () => {
  let app: TestApp;
  let session: ConnectedSession;
  let secrets: Secrets;
  beforeAll(async () => {
    // Small chunks, so one round takes several statements.
    app = await startTestApp({ env: { WEBHOOK_RETENTION_DAYS: '3' }, webhookRetention: { chunkSize: 2 } });
    session = await connectedSession(app, 'Retention');
    secrets = (await providerSession(app, session.providerSessionId))!;
  });
  afterAll(() => app?.stop());

  it('records when each event arrived, in UTC whatever the database time zone', async () => {
    const [eventId] = await storeEvents(app, secrets, ['3EB0RET0000000000000008']);
    const { receivedAt } = await app.running.db.prisma.webhookEvent.findUniqueOrThrow({ where: { id: eventId! } });
    expect(Math.abs(receivedAt.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('deletes processed events older than WEBHOOK_RETENTION_DAYS in chunks, and keeps recent and unprocessed ones', async () => {
    const messageIds = ['1', '2', '3', '4', '5', '6', '7'].map((n) => `3EB0RET000000000000000${n}`);
    const old = await storeEvents(app, secrets, messageIds.slice(0, 5));
    const [recent, unprocessed] = await storeEvents(app, secrets, messageIds.slice(5));
    await processedDaysAgo(app, old, 4);
    await processedDaysAgo(app, [recent!], 2);
    await unprocessedSince(app, unprocessed!, 30);

    expect(await app.running.services.webhookRetention.runRound()).toBe(old.length);
    expect(await remaining(app, [...old, recent!, unprocessed!])).toEqual([recent!, unprocessed!].sort());
    // The messages they carried stay in the inbox.
    expect(await app.running.db.prisma.message.count({ where: { sessionId: session.dbId, providerMessageId: { in: messageIds } } })).toBe(7);
    // The round is taken: calling again before the interval is over does nothing.
    expect(await app.running.services.webhookRetention.runRound()).toBeNull();
  });

  it('accepts a webhook with a huge message id, and still recognises its redelivery', async () => {
    const id = `3EB0${randomBytes(4_000).toString('hex').toUpperCase()}`;
    const body = textEvent(secrets.api_key, id);
    const headers = { 'x-webhook-signature': secrets.webhook_secret };
    const first = await postWebhook(app, body, headers);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: true, duplicate: false });
    const again = await postWebhook(app, body, headers);
    expect(await again.json()).toEqual({ received: true, duplicate: true });
    const keys = await app.running.db.prisma.webhookEvent.findMany({ select: { dedupeKey: true } });
    for (const { dedupeKey } of keys) expect(dedupeKey).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe.runIf(serviceAvailable('DATABASE_URL'))('webhook event retention across processes', () => {
  let deployment: TestDeployment;
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    deployment = await startDeployment(2);
    [first, second] = deployment.apps as [TestApp, TestApp];
  });
  afterAll(() => deployment?.stop());

  it('prunes once per round, whichever process runs it', async () => {
    const session = await connectedSession(first, 'Two processes');
    const secrets = (await providerSession(first, session.providerSessionId))!;
    const old = await storeEvents(first, secrets, ['3EB0TWO0000000000000001', '3EB0TWO0000000000000002', '3EB0TWO0000000000000003']);
    const [unprocessed] = await storeEvents(first, secrets, ['3EB0TWO0000000000000004']);
    await processedDaysAgo(first, old, 8);
    await unprocessedSince(first, unprocessed!, 8);

    const rounds = await Promise.all([first, second, first, second].map((app) => app.running.services.webhookRetention.runRound()));
    const worked = rounds.filter((r) => r !== null);
    expect(worked).toEqual([old.length]);
    expect(await remaining(first, [...old, unprocessed!])).toEqual([unprocessed!]);
  });
});
