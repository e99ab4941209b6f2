/**
 * A fresh database for each test app: in-memory PGlite by default; with DATABASE_URL, a new
 * PostgreSQL database on that server, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const usingPostgres = Boolean(process.env.DATABASE_URL);
export const usingRedis = Boolean(process.env.REDIS_URL);
export const requireServices = process.env.REQUIRE_SERVICES === '1';

export interface TestDatabase {
  /** DATABASE_URL for the app, or undefined for in-memory PGlite. */
  url: string | undefined;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (!base) return { url: undefined, drop: async () => {} };
  const name = `wg_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: withDatabase(base, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
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
