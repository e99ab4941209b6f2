/**
 * The one typed pub/sub. Topics are scoped by session (or job) id, so an event reaches only the
 * listeners of that id through the event target's map. In-memory by default; with REDIS_URL the
 * Redis event target carries every event to every process.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { setMaxListeners } from 'node:events';
import { Redis } from 'ioredis';
import { BoundedQueue } from './bounded-queue.ts';

export interface SessionEvent {
  sessionId: string;
  status: string;
}
export interface QrEvent {
  sessionId: string;
  value: string;
  expiresAt: string;
}
export interface MessageEvent {
  id: string;
  sessionId: string;
  chatId: string;
  /** The message's ordered cursor position (a bigint as text). */
  seq: string;
}
export interface SessionRef {
  sessionId: string;
}
export interface ChatEvent {
  id: string;
  sessionId: string;
}
export interface CredentialsEvent {
  /** Keyed hashes of the API keys concerned (never the keys). */
  apiKeyHashes: string[];
}
export interface JobEvent {
  id: string;
}

export type PubSubChannels = {
  sessionStatusChanged: [sessionId: string, payload: SessionEvent];
  qrCodeUpdated: [sessionId: string, payload: QrEvent];
  messageReceived: [sessionId: string, payload: MessageEvent];
  messageUpdated: [sessionId: string, payload: MessageEvent];
  chatUpdated: [sessionId: string, payload: ChatEvent];
  chatDeleted: [sessionId: string, payload: ChatEvent];
  sessionDeleted: [sessionId: string, payload: SessionRef];
  /** The same message events, routed by chat for subscribers narrowed to one chat. */
  chatMessageReceived: [chatId: string, payload: MessageEvent];
  chatMessageUpdated: [chatId: string, payload: MessageEvent];
  bulkSendProgress: [jobId: string, payload: JobEvent];
  /** A session's provider API key was issued, replaced or retired: caches of look-ups by it must go. */
  sessionCredentialsChanged: [payload: CredentialsEvent];
  /** The stored provider token changed: every process must read it anew. */
  providerSettingsChanged: [payload: Record<string, never>];
  /** Every session's events, for subscribers not narrowed to one session. */
  anySessionStatusChanged: [payload: SessionEvent];
  anyMessageReceived: [payload: MessageEvent];
  anyMessageUpdated: [payload: MessageEvent];
  anyChatUpdated: [payload: ChatEvent];
  anyChatDeleted: [payload: ChatEvent];
  anySessionDeleted: [payload: SessionRef];
};

type Payload<K extends keyof PubSubChannels> = PubSubChannels[K] extends [unknown, infer P] ? P : PubSubChannels[K][0];
type TopicArgs<K extends keyof PubSubChannels> = PubSubChannels[K] extends [infer Id, unknown] ? [K, Id] : [K];

export interface AppPubSub {
  publish<K extends keyof PubSubChannels>(channel: K, ...args: PubSubChannels[K]): void;
  /**
   * Events of one topic, from now on. At most `SUBSCRIPTION_BUFFER` may wait unread: a reader
   * further behind gets a SubscriptionOverflowError instead of unbounded memory, and resumes from
   * its last cursor.
   */
  subscribe<K extends keyof PubSubChannels>(...topic: TopicArgs<K>): AsyncIterableIterator<Payload<K>>;
}

export const SUBSCRIPTION_BUFFER = 10_000;

/** A subscription's reader fell so far behind the events that some were dropped. */
export class SubscriptionOverflowError extends Error {
  constructor() {
    super('Events arrived faster than this subscription could process them.');
    this.name = 'SubscriptionOverflowError';
  }
}

/**
 * Yoga's createPubSub, with bounded subscriptions: its Repeater throws inside the event
 * dispatch (taking the process down) once 1024 pushes wait.
 */
function createBoundedPubSub(eventTarget: EventTarget, buffer: number): AppPubSub {
  const topicOf = (channel: string, id: unknown) => (id === undefined ? channel : `${channel}:${String(id)}`);
  return {
    publish(channel, ...args) {
      const [idOrPayload, payload] = args as unknown[];
      const topic = args.length > 1 ? topicOf(channel, idOrPayload) : channel;
      eventTarget.dispatchEvent(new CustomEvent(topic, { detail: args.length > 1 ? payload : idOrPayload }));
    },
    subscribe(...[channel, id]) {
      const topic = topicOf(channel, id);
      const listener = (event: Event) => queue.push((event as CustomEvent).detail);
      const queue = new BoundedQueue<Payload<typeof channel>>({
        max: buffer,
        overflowError: () => new SubscriptionOverflowError(),
        onEnd: () => eventTarget.removeEventListener(topic, listener),
      });
      eventTarget.addEventListener(topic, listener);
      return queue;
    },
  };
}

/**
 * Runs `handle` for every event of a topic until the returned function is called. For in-process
 * caches that another process may make stale: should the subscription end (overflow), `onLost`
 * runs so the cache can drop everything rather than trust what it holds.
 */
export function followEvents<K extends keyof PubSubChannels>(
  pubsub: AppPubSub,
  topic: TopicArgs<K>,
  handle: (event: Payload<K>) => void,
  onLost: (error: unknown) => void,
): () => Promise<void> {
  const events = (pubsub.subscribe as (...t: unknown[]) => AsyncIterableIterator<Payload<K>>)(...topic);
  void (async () => {
    for await (const event of events) handle(event);
  })().catch(onLost);
  return async () => {
    await events.return?.();
  };
}

/** Only the events `keep` accepts. */
export async function* filterEvents<T>(source: AsyncIterable<T>, keep: (value: T) => boolean): AsyncGenerator<T> {
  for await (const value of source) if (keep(value)) yield value;
}

export interface PubSubHandle {
  pubsub: AppPubSub;
  /** Redis answers (when configured). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createAppPubSub(redisUrl: string | null): PubSubHandle {
  if (!redisUrl) {
    const target = new EventTarget();
    // One listener per distinct subscription of a topic: many is normal here, not a leak.
    setMaxListeners(0, target);
    return { pubsub: createBoundedPubSub(target, SUBSCRIPTION_BUFFER), ping: async () => {}, close: async () => {} };
  }
  const options = { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true };
  const publishClient = new Redis(redisUrl, options);
  const subscribeClient = new Redis(redisUrl, options);
  // ioredis reconnects by itself; readiness reports the outage meanwhile.
  publishClient.on('error', () => {});
  subscribeClient.on('error', () => {});
  const pubsub = createBoundedPubSub(createRedisEventTarget({ publishClient, subscribeClient }) as unknown as EventTarget, SUBSCRIPTION_BUFFER);
  return {
    pubsub,
    ping: async () => {
      if ((await publishClient.ping()) !== 'PONG') throw new Error('redis did not answer PONG');
    },
    close: async () => {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
