/**
 * Queuing a bulk send on the embedded database: `startBulkSend` with 10,000 recipients, through
 * GraphQL as a client calls it (every row validated, duplicates dropped, the template filled, one
 * bulk insert of the outbox rows), against the floor measured in the same run: the same rows
 * written by one bare insert into a table without indexes or keys. The note gives the absolute
 * time beside the budget ("well under 2 s").
 */
import { randomBytes } from 'node:crypto';
import type { BenchResult } from './run.ts';
import { graphql, startBenchApp } from './support/bench-app.ts';

const RECIPIENTS = Number(process.env.BENCH_BULK_RECIPIENTS ?? 10_000);
const ROUNDS = 3;
const BUDGET_MS = 2_000;
/** Validation, GraphQL and the outbox's indexes and keys may cost this many floors at most. */
const MAX_FLOORS = 5;

const START = `mutation($input: StartBulkSendInput!) { startBulkSend(input: $input) { id total } }`;

export async function bulkBenchmarks(): Promise<BenchResult[]> {
  const { instance, running, session } = await startBenchApp();
  try {
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ phone: `+2557${round}${String(1_000_000 + i).slice(-7)}`, name: `Customer ${i}`, variables: { code: `C${i}` } }));
      const started = performance.now();
      const { startBulkSend } = await graphql(running, START, { input: { sessionId: session.globalId, template: 'Hi {{name}}, your code {{code}} gives 20% off today', recipients } });
      times.push(performance.now() - started);
      if (Number(startBulkSend!.total) !== RECIPIENTS) throw new Error(`queued ${startBulkSend!.total} of ${RECIPIENTS}`);
      // Not sent: the bench measures queuing, not the provider's pace.
      await graphql(running, `mutation($id: ID!) { cancelBulkSend(id: $id) { id } }`, { id: startBulkSend!.id });
    }
    const floors: number[] = [];
    for (let round = 0; round < ROUNDS; round++) floors.push(await bareInsert(running.db.prisma, RECIPIENTS));
    const best = Math.min(...times);
    return [
      {
        name: `queuing a bulk send of ${RECIPIENTS.toLocaleString('en')} recipients (embedded database), best of ${ROUNDS}`,
        unit: 'ms',
        baseline: Math.min(...floors),
        measured: best,
        target: { kind: 'ratio-at-most', value: MAX_FLOORS },
        note: `rounds ${times.map((t) => Math.round(t)).join(', ')} ms (budget ${BUDGET_MS.toLocaleString('en')} ms: ${best < BUDGET_MS / 2 ? 'well under' : best < BUDGET_MS ? 'under' : 'OVER'})`,
      },
    ];
  } finally {
    await instance.stop();
  }
}

/** The same number of rows written by one multi-row insert into a scratch table: the floor. */
async function bareInsert(prisma: { $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> }, rows: number): Promise<number> {
  const table = `bench_bulk_${randomBytes(3).toString('hex')}`;
  await prisma.$executeRawUnsafe(`CREATE TABLE ${table} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "to" text NOT NULL, payload jsonb NOT NULL)`);
  const to = Array.from({ length: rows }, (_, i) => `+2557${String(1_000_000 + i)}`);
  const payloads = to.map((t, i) => JSON.stringify({ to: t, text: `Hi Customer ${i}, your code C${i} gives 20% off today` }));
  const started = performance.now();
  await prisma.$executeRawUnsafe(`INSERT INTO ${table} ("to", payload) SELECT * FROM unnest($1::text[], $2::jsonb[])`, to, payloads);
  const ms = performance.now() - started;
  await prisma.$executeRawUnsafe(`DROP TABLE ${table}`);
  return ms;
}
