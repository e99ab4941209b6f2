/**
 * Claims one round of a periodic background job across every process on the database, so the job
 * runs once per interval however many processes run it.
 *
 * Each job has a row in `periodic_job_claims` (created on first claim) holding the time until which
 * the current round is taken. A process calls `claimRound(prisma, name, everyMs)` on its own timer;
 * the first caller whose `claimedUntil` has passed moves it `everyMs` ahead and gets `true`; every
 * other caller in that round gets `false` and skips. The row lock of the upsert orders concurrent
 * callers, so exactly one wins. A process that dies mid-round simply leaves the round to the next.
 *
 * To reuse (outbox sweeps, bulk-job ticks): pick a stable job name, call on an interval no longer
 * than `everyMs`, and do the work only when it answers true. Work that must not overlap a slow run
 * should still keep each step short (the claim is for the round, not a lock held while working).
 */
import { SQL_UTC_NOW } from './database.ts';

interface Executor {
  $queryRawUnsafe<T>(query: string, ...values: unknown[]): Promise<T>;
}

export async function claimRound(db: Executor, name: string, everyMs: number): Promise<boolean> {
  const until = `${SQL_UTC_NOW} + make_interval(secs => $2::double precision / 1000)`;
  const rows = await db.$queryRawUnsafe<{ name: string }[]>(
    `INSERT INTO periodic_job_claims (name, "claimedUntil") VALUES ($1, ${until})
     ON CONFLICT (name) DO UPDATE SET "claimedUntil" = EXCLUDED."claimedUntil"
     WHERE periodic_job_claims."claimedUntil" <= ${SQL_UTC_NOW}
     RETURNING name`,
    name,
    everyMs,
  );
  return rows.length === 1;
}
