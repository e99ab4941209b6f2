/**
 * Plain SQL on the app's own connections (the pg pool, or the PGlite instance Prisma also uses),
 * for the hot paths of webhook ingest and apply: Prisma's per-query work in JavaScript (its query
 * interpreter, adapters, tracing) costs more than the statement there. Values come back as Prisma's
 * raw queries give them where it matters: `timestamp` columns (which hold UTC) as Dates, bigints as
 * strings (read with BigInt), jsonb parsed, so helpers written for Prisma's `$queryRawUnsafe` run
 * on either unchanged.
 */
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';

/** What the raw-SQL helpers need: Prisma's client and transactions have it, and so does PlainSql. */
export interface RawExecutor {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

export interface PlainSql extends RawExecutor {
  /**
   * Runs `fn` in one transaction on one connection, committed when it resolves and rolled back when
   * it throws. `advisoryLock`: a transaction-level advisory lock taken first (in BEGIN's round trip).
   */
  transaction<T>(fn: (tx: RawExecutor) => Promise<T>, opts?: { advisoryLock?: number }): Promise<T>;
}

const INT8 = 20;
const TIMESTAMP = 1114;

/** `timestamp(3)` text as written by PostgreSQL (ISO style), read as the UTC it holds. */
function utcTimestamp(text: string): Date {
  return new Date(`${text.replace(' ', 'T')}Z`);
}

function lockSql(key: number) {
  if (!Number.isSafeInteger(key)) throw new Error('advisory lock key must be an integer');
  return `SELECT pg_advisory_xact_lock(${key})`;
}

export function pgPlainSql(pool: pg.Pool, pgTypes: typeof pg.types): PlainSql {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === INT8) return (text: string) => text;
      if (oid === TIMESTAMP) return utcTimestamp;
      return pgTypes.getTypeParser(oid, format);
    }) as typeof pgTypes.getTypeParser,
  };
  const on = (db: pg.Pool | pg.PoolClient): RawExecutor => ({
    async $queryRawUnsafe<T>(text: string, ...values: unknown[]) {
      return (await db.query({ text, values, types })).rows as T;
    },
    async $executeRawUnsafe(text: string, ...values: unknown[]) {
      return (await db.query({ text, values, types })).rowCount ?? 0;
    },
  });
  return {
    ...on(pool),
    async transaction(fn, opts = {}) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        // One round trip: a query without parameters may hold several statements.
        await client.query(opts.advisoryLock === undefined ? 'BEGIN' : `BEGIN; ${lockSql(opts.advisoryLock)}`);
        try {
          const result = await fn(on(client));
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch((rollbackFailed: Error) => {
            broken = rollbackFailed;
          });
          throw error;
        }
      } finally {
        // A connection that could not roll back is closed rather than handed out again.
        client.release(broken);
      }
    },
  };
}

export function pglitePlainSql(db: PGlite): PlainSql {
  const options = { parsers: { [INT8]: (text: string) => text, [TIMESTAMP]: utcTimestamp } };
  const on = (q: PGlite | Transaction): RawExecutor => ({
    async $queryRawUnsafe<T>(text: string, ...values: unknown[]) {
      return (await q.query(text, values, options)).rows as T;
    },
    async $executeRawUnsafe(text: string, ...values: unknown[]) {
      return (await q.query(text, values, options)).affectedRows ?? 0;
    },
  });
  return {
    ...on(db),
    transaction(fn, opts = {}) {
      return db.transaction(async (tx) => {
        if (opts.advisoryLock !== undefined) await tx.query(lockSql(opts.advisoryLock));
        return fn(on(tx));
      });
    },
  };
}
