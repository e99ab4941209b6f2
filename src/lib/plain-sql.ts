/**
 * Plain SQL on the app's own connections (the pg pool, or the PGlite instance Prisma also uses),
 * for the hot paths (webhook ingest and apply, the inbox's pages): Prisma's per-query work in
 * JavaScript (its query interpreter, adapters, tracing, its handling of each value) costs more than
 * the statement there. `$queryRawUnsafe` / `$executeRawUnsafe` give values as Prisma's raw queries
 * do where it matters (`timestamp` columns, which hold UTC, as Dates; bigints as strings, read with
 * BigInt; jsonb parsed), so helpers written for Prisma's raw queries run on either unchanged; `read`
 * gives rows for the API's output (see PlainRows). On the embedded database every
 * statement waits for a transaction in progress, as Prisma's do, and statements with parameters
 * run prepared (pglite-prepared.ts).
 */
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';
import { isoInstantOfTimestamp, utcTimestamp } from './iso-instant.ts';
import { packedReads } from './pglite-packed-reads.ts';
import { PglitePrepared } from './pglite-prepared.ts';

/** What the raw-SQL helpers need: Prisma's client and transactions have it, and so does PlainSql. */
export interface RawExecutor {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

/**
 * The rows of a read for the API's output, each an array of its values in the order of `columns`
 * (no object per row to build and read again): timestamps as the API prints them (iso-instant.ts),
 * int8 as its text, json parsed, everything else as the driver gives it.
 */
export interface PlainRows {
  columns: string[];
  rows: unknown[][];
}

export interface PlainSql extends RawExecutor {
  /** A read of many rows for the API's output. On PostgreSQL every statement is prepared (see preparedName). */
  read(sql: string, values: unknown[]): Promise<PlainRows>;
  /**
   * Runs `fn` in one transaction on one connection, committed when it resolves and rolled back when
   * it throws. `advisoryLock`: a transaction-level advisory lock taken first (in BEGIN's round trip).
   */
  transaction<T>(fn: (tx: RawExecutor) => Promise<T>, opts?: { advisoryLock?: number }): Promise<T>;
}

const INT8 = 20;
const TIMESTAMP = 1114;


/** The parsers of `read`: values as the API prints them. */
const OUTPUT_PARSERS: Record<number, (text: string) => unknown> = { [INT8]: (text: string) => text, [TIMESTAMP]: isoInstantOfTimestamp };

/** The values of `read`'s columns by name, one object per row: for a caller that keeps each row as it is. */
export function rowObjects<T>({ columns, rows }: PlainRows): T[] {
  return rows.map((values) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
    return row as T;
  });
}

/*
 * Statements run prepared, so PostgreSQL parses and plans each once per connection rather than on
 * every call (the inbox's page: 0.2 of its 0.25 ms of backend CPU; an apply round's claim about 1 ms
 * of planning). Each connection keeps every statement it prepared, and a statement's text may follow
 * its input (the columns a document selects, the shape of a batch), so only the first
 * PREPARED_STATEMENTS texts are prepared; any further one runs unnamed, planned each time.
 */
const PREPARED_STATEMENTS = 128;
const preparedNames = new Map<string, string>();
function preparedName(sql: string): string | undefined {
  let name = preparedNames.get(sql);
  if (name === undefined && preparedNames.size < PREPARED_STATEMENTS) preparedNames.set(sql, (name = `plain-${preparedNames.size}`));
  return name;
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
      return (await db.query({ name: preparedName(text), text, values, types })).rows as T;
    },
    async $executeRawUnsafe(text: string, ...values: unknown[]) {
      return (await db.query({ name: preparedName(text), text, values, types })).rowCount ?? 0;
    },
  });
  const outputTypes = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => OUTPUT_PARSERS[oid] ?? pgTypes.getTypeParser(oid, format)) as typeof pgTypes.getTypeParser,
  };
  return {
    ...on(pool),
    async read(text: string, values: unknown[]) {
      const result = await pool.query<unknown[]>({ name: preparedName(text), text, values, types: outputTypes, rowMode: 'array' });
      return { columns: result.fields.map((f) => f.name), rows: result.rows };
    },
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
  const prepared = new PglitePrepared(db);
  const on = (q: PGlite | Transaction, inTransaction: boolean): RawExecutor => {
    const query = <T>(text: string, values: unknown[]) => prepared.run<T>(text, values, options, inTransaction) ?? q.query<T>(text, values, options);
    return {
      async $queryRawUnsafe<T>(text: string, ...values: unknown[]) {
        return (await query(text, values)).rows as T;
      },
      async $executeRawUnsafe(text: string, ...values: unknown[]) {
        return (await query(text, values)).affectedRows ?? 0;
      },
    };
  };
  const packed = packedReads(db, prepared, OUTPUT_PARSERS);
  return {
    ...on(db, false),
    async read(text: string, values: unknown[]) {
      const packedRows = await packed(text, values);
      if (packedRows) return packedRows;
      const result = await db.query<unknown[]>(text, values, { parsers: OUTPUT_PARSERS, rowMode: 'array' });
      return { columns: result.fields.map((f) => f.name), rows: result.rows };
    },
    transaction(fn, opts = {}) {
      return db.transaction(async (tx) => {
        if (opts.advisoryLock !== undefined) await tx.query(lockSql(opts.advisoryLock));
        return fn(on(tx, true));
      });
    },
  };
}
