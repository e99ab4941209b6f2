/**
 * The GraphQL context, built the same way for HTTP and WebSocket operations.
 */
import type { Prisma } from './lib/database.ts';
import type { AppPubSub } from './lib/pubsub.ts';
import type { Viewer } from './modules/auth/viewer.ts';
import type { Services } from './services.ts';

export interface Context {
  viewer: Viewer | null;
  prisma: Prisma;
  pubsub: AppPubSub;
  services: Services;
  requestId: string;
}
