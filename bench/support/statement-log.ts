/**
 * For the probes: every SQL statement the process runs, counted by its text (first 90 characters),
 * with its time on the embedded database (PGlite runs it in this process; PostgreSQL's time is the
 * server's, so only counted). Import it before the app opens a database.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { PglitePrepared } from '../../src/lib/pglite-prepared.ts';

export const statements = new Map<string, { n: number; ms: number }>();

function record(sql: unknown, ms: number) {
  const text = String((sql as { text?: string }).text ?? sql).replace(/\s+/g, ' ').slice(0, 90);
  const s = statements.get(text) ?? { n: 0, ms: 0 };
  s.n++;
  s.ms += ms;
  statements.set(text, s);
}

const pgQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  record(args[0], 0);
  return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pgQuery;

/** Times a PGlite query (outside or inside a transaction). */
const timed =
  <F extends (sql: string, ...rest: never[]) => Promise<unknown>>(query: F) =>
  async function (this: unknown, sql: string, ...rest: never[]) {
    const started = performance.now();
    try {
      return await query.call(this, sql, ...rest);
    } finally {
      record(sql, performance.now() - started);
    }
  } as unknown as F;
PGlite.prototype.query = timed(PGlite.prototype.query);
// Prepared statements (plain SQL's) bypass `query`: timed where they run; null means `query` runs it.
const runPrepared = PglitePrepared.prototype.run;
PglitePrepared.prototype.run = function (this: PglitePrepared, ...args: Parameters<typeof runPrepared>) {
  const started = performance.now();
  const running = runPrepared.apply(this, args);
  return running && running.finally(() => record(args[0], performance.now() - started));
} as typeof runPrepared;
const transaction = PGlite.prototype.transaction;
PGlite.prototype.transaction = function (this: PGlite, fn) {
  return transaction.call(this, (tx) => {
    const started = performance.now();
    tx.query = timed(tx.query);
    return fn(tx).finally(() => record('(whole transaction)', performance.now() - started));
  });
} as typeof transaction;

/** The statements per `unit` (e.g. per webhook), the most expensive first, as lines to print. */
export function statementReport(per: number, unit: string, limit = 25): string[] {
  return [...statements]
    .sort((a, b) => b[1].ms - a[1].ms || b[1].n - a[1].n)
    .slice(0, limit)
    .map(([text, s]) => `${(s.n / per).toFixed(3).padStart(7)} per ${unit} ${(s.ms / per).toFixed(3).padStart(7)} ms  ${text}`);
}

export function statementCount(): number {
  return [...statements.values()].reduce((a, b) => a + b.n, 0);
}
