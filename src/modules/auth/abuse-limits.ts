/**
 * Our own limits on callers: operations per token per minute (RATE_LIMITED with retryAfter), and
 * failed authentications per client address (past the limit, its tokens are not even looked at).
 */
import type { SecretBox } from '../../lib/crypto.ts';
import { RateLimitedError } from '../../lib/errors.ts';
import type { RateLimiter } from '../../lib/rate-limiter.ts';
import type { Viewer } from './viewer.ts';

const MINUTE = 60_000;

export interface AbuseLimits {
  /** Counts one operation of the viewer's token; throws RATE_LIMITED past the limit. */
  countOperation(viewer: Viewer): Promise<void>;
  /** Seconds the address must wait before its tokens are looked at again, or 0. */
  authBlockedFor(address: string | null): Promise<number>;
  recordAuthFailure(address: string | null): Promise<void>;
  /**
   * Authenticates a bearer token from `address`: refused unlooked-at while the address is over its
   * failed-authentication limit (`retryAfter` > 0), and a wrong token counts against it.
   */
  authenticate(authenticate: (token: string) => Promise<Viewer | null>, token: string | null, address: string | null): Promise<{ viewer: Viewer | null; retryAfter: number }>;
}

export function createAbuseLimits(deps: { limiter: RateLimiter; secrets: SecretBox; limits: { operationsPerMinute: number; authFailuresPerMinute: number } }): AbuseLimits {
  const { limiter, limits } = deps;
  // Keyed per deployment, and nothing derived from a token or an address stored in the clear.
  const key = (kind: string, value: string) => `wg:${kind}:${deps.secrets.keyedHash(`rate-limit:${kind}:${value}`)}`;
  const addressKey = (address: string | null) => key('auth-failures', address ?? 'unknown');
  const self: AbuseLimits = {
    async authenticate(authenticate, token, address) {
      if (!token) return { viewer: null, retryAfter: 0 };
      const retryAfter = await self.authBlockedFor(address);
      if (retryAfter) return { viewer: null, retryAfter };
      const viewer = await authenticate(token);
      if (!viewer) await self.recordAuthFailure(address);
      return { viewer, retryAfter: 0 };
    },
    async countOperation(viewer) {
      if (limits.operationsPerMinute === 0) return;
      const verdict = await limiter.hit(key('operations', viewer.tokenId ?? 'ADMIN_TOKEN'), limits.operationsPerMinute, MINUTE);
      if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfter, `At most ${limits.operationsPerMinute} operations per minute per token: try again in ${verdict.retryAfter} s`);
    },
    async authBlockedFor(address) {
      if (limits.authFailuresPerMinute === 0) return 0;
      const { count, retryAfter } = await limiter.peek(addressKey(address), MINUTE);
      return count < limits.authFailuresPerMinute ? 0 : retryAfter;
    },
    async recordAuthFailure(address) {
      if (limits.authFailuresPerMinute === 0) return;
      await limiter.hit(addressKey(address), limits.authFailuresPerMinute, MINUTE);
    },
  };
  return self;
}
