/**
 * The GraphQL context, built the same way for HTTP and WebSocket operations.
 */
import type { Prisma } from './lib/database.ts';
import type { AppPubSub } from './lib/pubsub.ts';
import type { Viewer } from './modules/auth/viewer.ts';
import type { Services } from './services.ts';

export interface Context {
  viewer: Viewer | null;
  /** Set when the caller's address is over its failed-authentication limit: seconds to wait. */
  authRetryAfter?: number;
  prisma: Prisma;
  pubsub: AppPubSub;
  services: Services;
  requestId: string;
}
