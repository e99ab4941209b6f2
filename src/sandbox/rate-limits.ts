/**
 * The provider's rate limits (shared/wasender-api.md §10): sends per minute per session (the plan
 * limit), one send per `sendIntervalMs` with account protection, and the `X-RateLimit-*` headers
 * on every response. `X-RateLimit-Reset` is given in seconds until the window resets.
 */
import { HttpError } from './http.ts';
import type { ErrorWording } from './wording.ts';

const WINDOW_MS = 60_000;

interface Window {
  times: number[];
  lastSendAt: number | null;
}

export function createRateLimits(deps: { now: () => number; planPerMinute: number; sendIntervalMs: number; wording: ErrorWording }) {
  const { now, planPerMinute, sendIntervalMs, wording } = deps;
  /** Per scope: a session's sends (`session:<id>`), or the account's calls (`account`). */
  const windows = new Map<string, Window>();

  function window(scope: string): Window {
    let w = windows.get(scope);
    if (!w) windows.set(scope, (w = { times: [], lastSendAt: null }));
    const start = now() - WINDOW_MS;
    w.times = w.times.filter((t) => t > start);
    return w;
  }

  return {
    headers(scope: string): Record<string, string> {
      const { times } = window(scope);
      const oldest = times[0];
      return {
        'x-ratelimit-limit': String(planPerMinute),
        'x-ratelimit-remaining': String(Math.max(0, planPerMinute - times.length)),
        'x-ratelimit-reset': String(oldest ? Math.ceil((oldest + WINDOW_MS - now()) / 1000) : WINDOW_MS / 1000),
      };
    },

    /** Counts a call against a scope's window. */
    record(scope: string) {
      const w = window(scope);
      w.times.push(now());
      w.lastSendAt = now();
    },

    /** Throws the provider's 429 when a send would break account protection or the plan limit. */
    checkSend(scope: string, accountProtection: boolean) {
      const w = window(scope);
      if (accountProtection && w.lastSendAt !== null && now() - w.lastSendAt < sendIntervalMs) {
        const wait = Math.ceil((w.lastSendAt + sendIntervalMs - now()) / 1000);
        throw new HttpError(429, { message: wording.accountProtection(sendIntervalMs / 1000), retry_after: wait });
      }
      if (w.times.length >= planPerMinute) {
        const wait = Math.ceil((w.times[0]! + WINDOW_MS - now()) / 1000);
        throw new HttpError(429, { message: wording.planLimit(planPerMinute), retry_after: wait });
      }
    },

    forget(scope: string) {
      windows.delete(scope);
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
