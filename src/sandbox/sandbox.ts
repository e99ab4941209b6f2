/**
 * A local double of WasenderAPI that follows the provider's contract (shared/wasender-api.md):
 * paths, the two credential kinds, the five response envelopes, status codes and error bodies,
 * the session state machine with rotating QR codes, rate limits, and signed webhooks with
 * redelivery. Control endpoints stand in for the phone and for WhatsApp users. It knows nothing of
 * the product that uses it.
 *
 * This file only composes the parts: state.ts (sessions), api-routes.ts (the provider API),
 * webhooks.ts, control.ts, rate-limits.ts, faults.ts, inbound.ts and outbound.ts (messages),
 * media.ts and media-files.ts (the bytes of media messages and their decryption),
 * lids.ts (who is behind an `@lid`) and wording.ts (error sentences).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock } from '../lib/clock.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import { createApi } from './api-routes.ts';
import { createControl } from './control.ts';
import { createCredentials } from './credentials.ts';
import { createFaults } from './faults.ts';
import { HttpError, send } from './http.ts';
import { createInbound } from './inbound.ts';
import { createLidDirectory } from './lids.ts';
import { createMediaStore } from './media.ts';
import { createOutbound } from './outbound.ts';
import { createRateLimits } from './rate-limits.ts';
import type { Reply } from './router.ts';
import { createScheduler } from './scheduler.ts';
import { createUserDirectory } from './users.ts';
import { createSessionStore } from './state.ts';
import { createWebhookSender } from './webhooks.ts';
import { ERROR_WORDINGS, type ErrorWordingName } from './wording.ts';

export interface SandboxOptions {
  personalAccessToken: string;
  clock?: Clock;
  logger?: Logger;
  /** Sessions the account may have (the plan's limit); default 10. */
  sessionLimit?: number;
  /** `alternate`: every error body words its text differently (same statuses and shapes). */
  errorWording?: ErrorWordingName;
  /** Share (0–1) of inbound messages sent without `pushName` and `messageTimestamp`; default 0. */
  bareShare?: number;
  qrRotateMs?: number;
  /** Account protection: one message per this many ms per session. */
  sendIntervalMs?: number;
  planPerMinute?: number;
  webhookRetry?: { attempts: number; baseDelayMs: number };
  /** Spread of message.sent → messages.update 2 → 3 → 4 after a send. */
  deliveryDelayMs?: number;
  latencyMs?: number;
  fetch?: typeof fetch;
  /**
   * Decides who may use the control endpoints (they fake phones and users); unset → anyone. The
   * provider API under /api keeps its own credentials either way.
   */
  authorizeControl?: (req: IncomingMessage) => boolean | Promise<boolean>;
}

export interface Sandbox {
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
  close(): Promise<void>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createSandbox(opts: SandboxOptions): Sandbox {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? silentLogger;
  const now = () => clock.now();
  const wording = ERROR_WORDINGS[opts.errorWording ?? 'standard'];
  const scheduler = createScheduler(clock);
  const { deliver } = createWebhookSender({
    fetch: opts.fetch ?? fetch,
    now,
    scheduler,
    retry: opts.webhookRetry ?? { attempts: 5, baseDelayMs: 1_000 },
    logger: log,
    stillExists: (target) => store.get(target.id) === target,
  });
  const store = createSessionStore({ now, scheduler, deliver, qrRotateMs: opts.qrRotateMs ?? 45_000 });
  const rateLimits = createRateLimits({ now, planPerMinute: opts.planPerMinute ?? 256, sendIntervalMs: opts.sendIntervalMs ?? 5_000, wording });
  const users = createUserDirectory();
  const outbound = createOutbound({ now, scheduler, deliver, deliveryDelayMs: opts.deliveryDelayMs ?? 300, users });
  const lids = createLidDirectory();
  const media = createMediaStore({ now, wording });
  const inbound = createInbound({ now, lids, media, wording, bareShare: opts.bareShare ?? 0 });
  const faults = createFaults();
  const credentials = createCredentials({ personalAccessToken: opts.personalAccessToken, store, wording });
  const api = createApi({ store, outbound, rateLimits, credentials, lids, users, media, wording, sessionLimit: opts.sessionLimit ?? 10 });
  const control = createControl({ store, outbound, inbound, media, faults, deliver, users, wording });

  /** An API call's answer; null when the connection is to be cut instead (a lost answer). */
  async function apiCall(req: IncomingMessage, path: string, query: URLSearchParams): Promise<Reply | null> {
    if (opts.latencyMs) await pause(opts.latencyMs);
    const fault = faults.take(req.method ?? 'GET', path);
    if (fault?.delayMs) await pause(fault.delayMs);
    const failure = (status: number): Reply => ({ status, body: fault?.body ?? { success: false, message: wording.injectedFailure(status) } });
    if (fault?.afterHandling) {
      // The provider did the work; its answer never reaches the caller (or a gateway's error does).
      await api.handle(req, path, query).catch(() => undefined);
      return fault.status ? failure(fault.status) : null;
    }
    if (!fault?.status) return api.handle(req, path, query);
    req.resume();
    return failure(fault.status);
  }

  return {
    async handle(req, res, pathname) {
      // Every API answer, errors included, carries the rate-limit headers of its caller's window.
      const apiPath = pathname.startsWith('/api/') ? pathname.slice('/api'.length) : null;
      const scope = apiPath !== null ? api.scopeOf(req) : null;
      const limitHeaders = () => (scope ? rateLimits.headers(scope) : {});
      try {
        const query = new URL(req.url ?? '/', 'http://sandbox').searchParams;
        let reply: Reply;
        if (apiPath !== null) {
          const answer = await apiCall(req, apiPath, query);
          if (!answer) return void res.destroy();
          reply = answer;
        }
        else if (pathname.startsWith('/control/')) {
          if (opts.authorizeControl && !(await opts.authorizeControl(req))) {
            throw new HttpError(401, { message: 'The sandbox control endpoints require authorization' });
          }
          reply = await control.handle(req, pathname.slice('/control'.length), query);
        }
        else throw new HttpError(404, { success: false, message: wording.notFound });
        if (!res.destroyed) send(res, reply.status, reply.body, { ...limitHeaders(), ...reply.headers });
        if (reply.after) void reply.after().catch((error: unknown) => log.error({ err: error }, 'sandbox follow-up failed'));
      } catch (error) {
        if (error instanceof HttpError) {
          req.resume();
          if (!res.destroyed) send(res, error.status, error.body, limitHeaders());
          return;
        }
        log.error({ err: error }, 'sandbox error');
        if (!res.destroyed) send(res, 500, { success: false, message: wording.serverError }, limitHeaders());
      }
    },
    async close() {
      scheduler.close();
    },
  };
}
