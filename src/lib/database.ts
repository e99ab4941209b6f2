/**
 * The database: embedded PGlite when no DATABASE_URL is set, PostgreSQL through node-postgres
 * otherwise. Both sit behind the same PrismaClient type, and both carry the migration runner's
 * adapter factory.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';
import { pglitePlainSql, pgPlainSql, type PlainSql } from './plain-sql.ts';

export type Prisma = PrismaClient;

/**
 * Both adapters mishandle migration scripts: the PGlite one does not await `exec` (a failing
 * migration would be recorded as applied), the pg one splits on `;` (not atomic, breaks on `;` in
 * strings). Run the whole script as one simple query instead: one implicit transaction.
 */
function withAtomicScripts(
  factory: SqlMigrationAwareDriverAdapterFactory,
  /** Runs a script on the connection this adapter (main or shadow database) wraps. */
  runScript: (adapter: SqlDriverAdapter, script: string) => Promise<unknown>,
): SqlMigrationAwareDriverAdapterFactory {
  const patch = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const original = adapter as SqlDriverAdapter & { onError?: (e: unknown) => never };
    original.executeScript = async (script: string) => {
      try {
        await runScript(adapter, script);
      } catch (error) {
        original.onError?.(error);
        throw error;
      }
    };
    return original;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => patch(await factory.connect()),
    connectToShadowDb: async () => patch(await factory.connectToShadowDb()),
  };
}

export function pgliteAdapterFactory(db: PGlite): SqlMigrationAwareDriverAdapterFactory {
  // The adapter keeps its PGlite (the main one, or the shadow database it created) as `client`.
  return withAtomicScripts(new PrismaPGlite(db) as unknown as SqlMigrationAwareDriverAdapterFactory, (adapter, s) =>
    (adapter as unknown as { client: PGlite }).client.exec(s),
  );
}

export interface Database {
  kind: 'pglite' | 'postgres';
  prisma: PrismaClient;
  /** Plain SQL on the same connections, for the hot paths (see plain-sql.ts). */
  sql: PlainSql;
  /** Runs the migration engine with an adapter factory for this database. */
  withMigrationAdapter<T>(fn: (factory: SqlMigrationAwareDriverAdapterFactory) => Promise<T>): Promise<T>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 5_000;
/** Readiness must answer even when the database hangs. */
const PING_TIMEOUT_MS = 2_000;

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A quicker start for a new embedded database (the tests start hundreds): from a data directory
 * dumped earlier (`dumpDataDir`, e.g. one already migrated; used only when there is no database yet,
 * so migrations then find nothing to do) instead of initdb, and with PGlite's WebAssembly and file
 * bundle loaded once rather than read and compiled for every database.
 */
export type EmbeddedStart = Pick<PGliteOptions, 'loadDataDir' | 'pgliteWasmModule' | 'initdbWasmModule' | 'fsBundle'>;

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent, PGlite at `dataDir` (or in memory when dataDir is 'memory://'). */
  databaseUrl?: string | undefined;
  dataDir?: string;
  poolSize?: number;
  embeddedStart?: EmbeddedStart;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    // While the server is unreachable, a request fails after CONNECT_TIMEOUT_MS (webhooks: 503, the
    // provider retries) rather than waiting on the operating system's connect timeout, minutes.
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
    pool.on('error', () => {}); // an idle client's broken connection is replaced on next checkout
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    return {
      kind: 'postgres',
      prisma,
      sql: pgPlainSql(pool, pg.types),
      async withMigrationAdapter(fn) {
        // A pool of one, closed afterwards: Prisma's advisory lock belongs to a connection, and the
        // wasm engine releases it only when that connection closes.
        const migrationPool = new pg.Pool({ connectionString: opts.databaseUrl, max: 1 });
        migrationPool.on('error', () => {});
        try {
          return await fn(withAtomicScripts(new PrismaPg(migrationPool) as unknown as SqlMigrationAwareDriverAdapterFactory, (_a, s) => migrationPool.query(s)));
        } finally {
          await migrationPool.end().catch(() => {});
        }
      },
      ping: () => withTimeout(pool.query('select 1'), PING_TIMEOUT_MS, 'database did not answer in time').then(() => {}),
      close: async () => {
        await prisma.$disconnect().catch(() => {});
        await pool.end().catch(() => {});
      },
    };
  }
  const dataDir = opts.dataDir ?? 'memory://';
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) await mkdir(dataDir, { recursive: true });
  const { loadDataDir, ...loaded } = opts.embeddedStart ?? {};
  // PGlite refuses to load a dump over an existing database: a directory that has one opens it.
  const isNew = inMemory || !existsSync(path.join(dataDir, 'PG_VERSION'));
  const db = new PGlite(dataDir, { ...loaded, ...(loadDataDir && isNew ? { loadDataDir } : {}) });
  await db.waitReady;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  let closed = false;
  return {
    kind: 'pglite',
    prisma,
    sql: pglitePlainSql(db),
    withMigrationAdapter: (fn) => fn(pgliteAdapterFactory(db)),
    ping: async () => {
      if (closed) throw new Error('database closed');
      await db.query('select 1');
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await prisma.$disconnect().catch(() => {});
      await db.close().catch(() => {});
    },
  };
}

/**
 * The current time as Prisma stores DateTime in `timestamp(3)` columns: UTC wall time. Plain
 * `now()` would be turned into the connection's time zone.
 */
export const SQL_UTC_NOW = "(now() AT TIME ZONE 'UTC')";
