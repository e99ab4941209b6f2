/**
 * A fresh database for each test app: in-memory PGlite by default; with DATABASE_URL, a new
 * PostgreSQL database on that server, dropped afterwards. Both start migrated, from the database
 * test/global-setup.ts migrates once per run, unless a test asks for an empty one.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { EmbeddedStart } from '../../src/lib/database.ts';

export const usingPostgres = Boolean(process.env.DATABASE_URL);
export const usingRedis = Boolean(process.env.REDIS_URL);
export const requireServices = process.env.REQUIRE_SERVICES === '1';

export interface TestDatabase {
  /** DATABASE_URL for the app, or undefined for in-memory PGlite. */
  url: string | undefined;
  drop(): Promise<void>;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A new database. Embedded, the app makes it (give it `embeddedStart()` to start migrated).
 * `empty`: no migrations applied, for the suites that apply them.
 */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (!base) return { url: undefined, drop: async () => {} };
  const name = `wg_test_${randomBytes(6).toString('hex')}`;
  const template = opts.empty ? null : inject('migratedTemplateDatabase');
  const admin = new pg.Client({ connectionString: withDatabase(base, 'postgres') });
  await admin.connect();
  try {
    await admin.query(template ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`);
    // Far from UTC, so anything that stores local time where Prisma stores UTC shows up.
    await admin.query(`ALTER DATABASE "${name}" SET timezone TO 'Pacific/Kiritimati'`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(base, name),
    async drop() {
      const c = new pg.Client({ connectionString: withDatabase(base, 'postgres') });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** For suites that need a real service: skip without it, unless CI demands it (then fail). */
export function serviceAvailable(name: 'DATABASE_URL' | 'REDIS_URL'): boolean {
  if (process.env[name]) return true;
  if (requireServices) throw new Error(`REQUIRE_SERVICES=1 but ${name} is not set`);
  return false;
}

let loaded: Promise<EmbeddedStart> | undefined;

/**
 * How this test process's embedded databases start: from the migrated data directory of
 * test/global-setup.ts, with PGlite's WebAssembly compiled once per process instead of per database.
 */
export function embeddedStart(): Promise<EmbeddedStart> {
  loaded ??= (async () => {
    const file = inject('migratedDataDirFile');
    const dist = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    const [dump, pglite, initdb, bundle] = await Promise.all([
      file ? readFile(file) : null,
      readFile(path.join(dist, 'pglite.wasm')),
      readFile(path.join(dist, 'initdb.wasm')),
      readFile(path.join(dist, 'pglite.data')),
    ]);
    return {
      ...(dump ? { loadDataDir: new Blob([dump]) } : {}),
      pgliteWasmModule: await WebAssembly.compile(pglite),
      initdbWasmModule: await WebAssembly.compile(initdb),
      fsBundle: new Blob([bundle]),
    };
  })();
  return loaded;
}
