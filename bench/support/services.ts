/** The PostgreSQL and Redis a benchmark may use, and a database of its own on that server. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const benchDatabaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const benchRedisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Throws, saying so, when PostgreSQL is not reachable. */
export async function requirePostgres(): Promise<void> {
  const probe = new pg.Client({ connectionString: benchDatabaseUrl, connectionTimeoutMillis: 3_000 });
  try {
    await probe.connect();
  } catch (error) {
    throw new Error(`PostgreSQL at ${new URL(benchDatabaseUrl).host} is not reachable (${String(error)})`);
  } finally {
    await probe.end().catch(() => {});
  }
}

/** A fresh database for `fn`, dropped afterwards. */
export async function withDatabase<T>(prefix: string, fn: (url: string) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: benchDatabaseUrl });
  await admin.connect();
  const name = `bench_${prefix}_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(benchDatabaseUrl);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}
