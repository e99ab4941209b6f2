/** What a run was measured on: written beside its figures, since every figure depends on it. */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import pg from 'pg';
import { Redis } from 'ioredis';
import { benchDatabaseUrl, benchRedisUrl } from './services.ts';

const round = (values: number[]) => values.map((v) => Math.round(v * 100) / 100);

async function postgresVersion(): Promise<string | null> {
  const client = new pg.Client({ connectionString: benchDatabaseUrl, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return `PostgreSQL ${rows[0]!.server_version} at ${new URL(benchDatabaseUrl).host}`;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

async function redisVersion(): Promise<string | null> {
  const redis = new Redis(benchRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const info = await redis.info('server');
    return `Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'} at ${new URL(benchRedisUrl).host}`;
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

async function packageVersion(name: string): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function machineDescription(loadAtStart: number[]) {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: { start: round(loadAtStart), end: round(os.loadavg()) },
    database: {
      postgres: await postgresVersion(),
      embedded: `PGlite ${await packageVersion('@electric-sql/pglite')}`,
    },
    redis: await redisVersion(),
  };
}
