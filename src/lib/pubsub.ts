/**
 * The one typed pub/sub. Topics are scoped by session (or job) id, so an event reaches only the
 * listeners of that id through the event target's map. In-memory by default; with REDIS_URL the
 * Redis event target carries every event to every process.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';

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
export interface ChatEvent {
  id: string;
  sessionId: string;
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
  /** The same message events, routed by chat for subscribers narrowed to one chat. */
  chatMessageReceived: [chatId: string, payload: MessageEvent];
  chatMessageUpdated: [chatId: string, payload: MessageEvent];
  bulkSendProgress: [jobId: string, payload: JobEvent];
  /** Every session's events, for subscribers not narrowed to one session. */
  anySessionStatusChanged: [payload: SessionEvent];
  anyMessageReceived: [payload: MessageEvent];
  anyMessageUpdated: [payload: MessageEvent];
  anyChatUpdated: [payload: ChatEvent];
};

export type AppPubSub = PubSub<PubSubChannels>;

export interface PubSubHandle {
  pubsub: AppPubSub;
  /** Redis answers (when configured). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createAppPubSub(redisUrl: string | null): PubSubHandle {
  if (!redisUrl) {
    return { pubsub: createPubSub<PubSubChannels>(), ping: async () => {}, close: async () => {} };
  }
  const options = { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true };
  const publishClient = new Redis(redisUrl, options);
  const subscribeClient = new Redis(redisUrl, options);
  // ioredis reconnects by itself; readiness reports the outage meanwhile.
  publishClient.on('error', () => {});
  subscribeClient.on('error', () => {});
  const pubsub = createPubSub<PubSubChannels>({
    eventTarget: createRedisEventTarget({ publishClient, subscribeClient }),
  });
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
