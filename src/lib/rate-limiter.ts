/**
 * Fixed-window counters: in Redis when configured, so a limit holds across processes, and in
 * memory otherwise (or while Redis is unreachable: a limit is then per process, never a refusal
 * for want of Redis). Windows follow the injected clock.
 */
import { Redis } from 'ioredis';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';

export interface RateLimitVerdict {
  allowed: boolean;
  /** Seconds until the window ends (at least 1). */
  retryAfter: number;
  count: number;
}

export interface RateLimiter {
  /** Counts one hit on `key` and says whether it is within `limit` per `windowMs`. */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitVerdict>;
  /** How many hits `key` has in the current window, without counting one, and when the window ends. */
  peek(key: string, windowMs: number): Promise<{ count: number; retryAfter: number }>;
  close(): Promise<void>;
}

export function createRateLimiter(opts: { redisUrl: string | null; clock: Clock; logger: Logger }): RateLimiter {
  const { clock, logger } = opts;
  const memory = new Map<string, { window: number; count: number }>();
  const redis = opts.redisUrl ? new Redis(opts.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false }) : null;
  redis?.on('error', () => {});
  let lastPrune = 0;

  function windowOf(windowMs: number) {
    const now = clock.now();
    const window = Math.floor(now / windowMs);
    return { window, retryAfter: Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000)) };
  }

  function inMemory(key: string, window: number, add: number): number {
    const now = clock.now();
    if (now - lastPrune > 60_000) {
      lastPrune = now;
      for (const [k, v] of memory) if (v.window < window - 1) memory.delete(k);
    }
    const entry = memory.get(key);
    const count = (entry && entry.window === window ? entry.count : 0) + add;
    memory.set(key, { window, count });
    return count;
  }

  async function count(key: string, windowMs: number, add: 0 | 1): Promise<{ count: number; retryAfter: number }> {
    const { window, retryAfter } = windowOf(windowMs);
    const windowKey = `${key}:${window}`;
    if (redis && redis.status === 'ready') {
      try {
        if (add === 0) return { count: Number((await redis.get(windowKey)) ?? 0), retryAfter };
        const result = await redis.multi().incr(windowKey).pexpire(windowKey, windowMs * 2).exec();
        return { count: Number(result?.[0]?.[1] ?? 0), retryAfter };
      } catch (error) {
        logger.debug({ err: error }, 'rate limit counted in memory: redis did not answer');
      }
    }
    return { count: inMemory(windowKey, window, add), retryAfter };
  }

  return {
    async hit(key, limit, windowMs) {
      const { count: n, retryAfter } = await count(key, windowMs, 1);
      return { allowed: n <= limit, retryAfter, count: n };
    },
    peek: (key, windowMs) => count(key, windowMs, 0),
    async close() {
      await redis?.quit().catch(() => redis.disconnect());
    },
  };
}
