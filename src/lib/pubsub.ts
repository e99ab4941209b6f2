/**
 * The one typed pub/sub. Topics are scoped by session (or job) id, so an event reaches only the
 * listeners of that id through the event target's map. Events are delivered in-process at once;
 * with REDIS_URL a relay also carries them to the other processes (and theirs to us).
 */
import { setMaxListeners } from 'node:events';
import { BoundedQueue } from './bounded-queue.ts';
import type { Logger } from './logger.ts';
import { createRedisRelay, type RedisRelay } from './redis-relay.ts';

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
  /** Keyed hashes of the webhook secrets concerned (never the secrets). */
  webhookSecretHashes?: string[];
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
  /** An API token was revoked or rotated: caches of it must go, and its sockets be checked again. */
  apiTokenChanged: [payload: { tokenId: string }];
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
  /**
   * Runs `listener` whenever other processes' events may have been missed (the link to them dropped
   * or came back), so in-process caches can stop trusting themselves. Returns the unregistration.
   */
  onGap(listener: () => void): () => void;
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
 * Yoga's createPubSub, with bounded subscriptions (its Repeater throws inside the event dispatch,
 * taking the process down, once 1024 pushes wait) and events delivered locally before the relay
 * carries them to the other processes.
 */
function createBoundedPubSub(buffer: number, relay: RedisRelay | null, local: EventTarget): AppPubSub {
  const topicOf = (channel: string, id: unknown) => (id === undefined ? channel : `${channel}:${String(id)}`);
  /** Local subscriptions per topic: the relay listens to a topic while any is open. */
  const listening = new Map<string, number>();
  return {
    publish(channel, ...args) {
      const [idOrPayload, payload] = args as unknown[];
      const topic = args.length > 1 ? topicOf(channel, idOrPayload) : channel;
      const detail = args.length > 1 ? payload : idOrPayload;
      local.dispatchEvent(new CustomEvent(topic, { detail }));
      relay?.send(topic, detail);
    },
    subscribe(...[channel, id]) {
      const topic = topicOf(channel, id);
      const listener = (event: Event) => queue.push((event as CustomEvent).detail);
      const queue = new BoundedQueue<Payload<typeof channel>>({
        max: buffer,
        overflowError: () => new SubscriptionOverflowError(),
        onEnd: () => {
          local.removeEventListener(topic, listener);
          const left = (listening.get(topic) ?? 1) - 1;
          if (left > 0) return void listening.set(topic, left);
          listening.delete(topic);
          relay?.stopListening(topic);
        },
      });
      local.addEventListener(topic, listener);
      const count = listening.get(topic) ?? 0;
      listening.set(topic, count + 1);
      if (count === 0) relay?.listen(topic);
      return queue;
    },
    onGap: (listener) => relay?.onGap(listener) ?? (() => {}),
  };
}

/** Some events may have been missed: the pub/sub link between processes dropped or came back. */
export class EventsMissedError extends Error {
  constructor() {
    super('Events of other processes may have been missed.');
    this.name = 'EventsMissedError';
  }
}

/**
 * Runs `handle` for every event of a topic until the returned function is called. For in-process
 * caches that another process may make stale: whenever events may have been missed (this reader
 * overflowed, or the link to the other processes dropped or came back), `onLost` runs so the cache
 * can drop everything rather than trust what it holds, and following goes on.
 */
export function followEvents<K extends keyof PubSubChannels>(
  pubsub: AppPubSub,
  topic: TopicArgs<K>,
  handle: (event: Payload<K>) => void,
  onLost: (error: unknown) => void,
): () => Promise<void> {
  let stopped = false;
  let events: AsyncIterableIterator<Payload<K>>;
  const follow = () => {
    events = (pubsub.subscribe as (...t: unknown[]) => AsyncIterableIterator<Payload<K>>)(...topic);
    void (async () => {
      for await (const event of events) handle(event);
    })().catch((error: unknown) => {
      if (stopped) return;
      onLost(error);
      follow();
    });
  };
  follow();
  const stopGaps = pubsub.onGap(() => onLost(new EventsMissedError()));
  return async () => {
    stopped = true;
    stopGaps();
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
  /** Waits (at most `timeoutMs`) for the link to the other processes; true when there is one or none is needed. */
  linked(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export function createAppPubSub(redisUrl: string | null, logger: Logger): PubSubHandle {
  const local = new EventTarget();
  // One listener per distinct subscription of a topic: many is normal here, not a leak.
  setMaxListeners(0, local);
  const relay = redisUrl
    ? createRedisRelay(redisUrl, (topic, detail) => local.dispatchEvent(new CustomEvent(topic, { detail })), logger)
    : null;
  return {
    pubsub: createBoundedPubSub(SUBSCRIPTION_BUFFER, relay, local),
    ping: async () => relay?.ping(),
    linked: async (timeoutMs) => (relay ? relay.linked(timeoutMs) : true),
    close: async () => relay?.close(),
  };
}
