/**
 * Carries pub/sub events between processes through Redis. Each process delivers its own events
 * locally at once; the relay only forwards them to the others, tagged with this process's origin
 * id so that a process ignores its own events coming back. While Redis is away nothing is queued
 * (the other processes' caches are dropped when the link returns, see `onGap`), nothing throws, and
 * every process goes on serving its own subscribers.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

export interface RedisRelay {
  /** Sends an event to the other processes (dropped while Redis is unreachable). */
  send(topic: string, payload: unknown): void;
  /** Starts receiving the other processes' events of `topic`. */
  listen(topic: string): void;
  stopListening(topic: string): void;
  /** Runs `listener` whenever other processes' events may have been missed: the link dropped or came back. */
  onGap(listener: () => void): () => void;
  /** Resolves true once the link is up (subscriptions made), or false after `timeoutMs`. */
  linked(timeoutMs: number): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const PING_TIMEOUT_MS = 1_000;

export function createRedisRelay(redisUrl: string, deliver: (topic: string, payload: unknown) => void, logger: Logger): RedisRelay {
  const origin = randomUUID();
  const prefix = `${origin} `;
  // No offline queue: a command while disconnected fails at once (and is dropped) instead of
  // piling up; subscriptions are made anew on every reconnect below.
  const options = { enableOfflineQueue: false, autoResubscribe: false, maxRetriesPerRequest: 1 };
  const publisher = new Redis(redisUrl, options);
  const subscriber = new Redis(redisUrl, options);
  const topics = new Set<string>();
  const gapListeners = new Set<() => void>();
  const linkWaiters = new Set<() => void>();
  let linked = false;
  let closed = false;
  const ignore = () => {};

  // ioredis reconnects by itself; readiness reports the outage meanwhile.
  publisher.on('error', ignore);
  subscriber.on('error', (error: Error) => {
    if (linked) logger.debug({ err: error }, 'redis subscriber error');
  });

  function gap() {
    for (const listener of gapListeners) listener();
  }

  subscriber.on('ready', () => {
    const resubscribed = topics.size ? subscriber.subscribe(...topics) : Promise.resolve();
    // Only once the subscriptions are back can a dropped cache be refilled safely.
    resubscribed.then(
      () => {
        if (closed) return;
        if (!linked) logger.info('redis link up');
        linked = true;
        gap();
        for (const waiter of linkWaiters) waiter();
        linkWaiters.clear();
      },
      (error: unknown) => logger.warn({ err: error }, 'redis resubscription failed'),
    );
  });
  subscriber.on('close', () => {
    if (!linked || closed) return;
    linked = false;
    logger.warn('redis link lost: events reach only this process until it returns');
    gap();
  });
  subscriber.on('message', (topic: string, message: string) => {
    if (message.startsWith(prefix)) return;
    const space = message.indexOf(' ');
    let payload: unknown;
    try {
      payload = JSON.parse(message.slice(space + 1));
    } catch {
      return logger.warn({ topic }, 'unreadable event from redis ignored');
    }
    deliver(topic, payload);
  });

  return {
    send(topic, payload) {
      if (publisher.status !== 'ready') return;
      publisher.publish(topic, prefix + JSON.stringify(payload)).catch(ignore);
    },
    listen(topic) {
      topics.add(topic);
      if (subscriber.status === 'ready') subscriber.subscribe(topic).catch(ignore);
    },
    stopListening(topic) {
      topics.delete(topic);
      if (subscriber.status === 'ready') subscriber.unsubscribe(topic).catch(ignore);
    },
    onGap(listener) {
      gapListeners.add(listener);
      return () => gapListeners.delete(listener);
    },
    linked(timeoutMs) {
      if (linked) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          linkWaiters.delete(onLink);
          resolve(value);
        };
        const onLink = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        linkWaiters.add(onLink);
      });
    },
    async ping() {
      if (publisher.status !== 'ready' || subscriber.status !== 'ready' || !linked) throw new Error('redis unreachable');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('redis did not answer in time')), PING_TIMEOUT_MS);
      });
      try {
        if ((await Promise.race([publisher.ping(), timeout])) !== 'PONG') throw new Error('redis did not answer PONG');
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      closed = true;
      gapListeners.clear();
      for (const waiter of linkWaiters) waiter();
      linkWaiters.clear();
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
