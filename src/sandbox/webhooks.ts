/**
 * Webhook delivery as the provider does it (shared/wasender-api.md §8): POST JSON to the session's
 * URL, signed with the session's secret itself in `X-Webhook-Signature`, filtered by
 * `webhook_enabled`/`webhook_events`; a non-2xx answer is redelivered later with back-off (the
 * provider's own policy is undocumented, so it is an option).
 */
import type { Logger } from '../lib/logger.ts';
import type { Scheduler } from './scheduler.ts';

/** What delivery needs of a session. */
export interface WebhookTarget {
  id: number;
  webhook_url: string | null;
  webhook_enabled: boolean;
  webhook_events: string[] | null;
  webhook_secret: string;
  api_key: string;
}

export interface DeliveryOptions {
  /** The envelope's `timestamp`; by default now, in the unit the event uses; null leaves it out (current `session.status` samples). */
  timestamp?: number | null;
  /** Leave `sessionId` out of the envelope, as some documented samples do. */
  withoutSessionId?: boolean;
}

/** Events whose `timestamp` the provider sends in milliseconds. */
const MILLISECOND_EVENTS = new Set(['messages.update', 'message-receipt.update', 'poll.results']);

export type Deliver = (target: WebhookTarget, event: string, data: unknown, opts?: DeliveryOptions) => Promise<number | null>;

export function createWebhookSender(deps: {
  fetch: typeof fetch;
  now: () => number;
  scheduler: Scheduler;
  retry: { attempts: number; baseDelayMs: number };
  logger: Logger;
  /** Redelivery stops once the session is gone. */
  stillExists: (target: WebhookTarget) => boolean;
}): { deliver: Deliver } {
  const { retry, scheduler, logger } = deps;

  function wants(target: WebhookTarget, event: string): boolean {
    if (!target.webhook_url || !target.webhook_enabled) return false;
    return !target.webhook_events?.length || target.webhook_events.includes(event);
  }

  async function post(target: WebhookTarget, body: string): Promise<number> {
    try {
      const res = await deps.fetch(target.webhook_url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-signature': target.webhook_secret },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    } catch {
      return 0;
    }
  }

  const acknowledged = (status: number) => status >= 200 && status < 300;
  /** Per session, the last first delivery still waiting for its answer. */
  const inFlight = new Map<number, Promise<number>>();

  function redeliver(target: WebhookTarget, body: string, attempt: number) {
    scheduler.later(retry.baseDelayMs * 2 ** (attempt - 1), () => {
      if (!deps.stillExists(target)) return;
      void post(target, body).then((status) => {
        if (!acknowledged(status) && attempt < retry.attempts) redeliver(target, body, attempt + 1);
      });
    });
  }

  /** Resolves with the receiver's first answer (0: unreachable; null: not wanted), redelivering failures later. */
  async function deliver(target: WebhookTarget, event: string, data: unknown, opts: DeliveryOptions = {}): Promise<number | null> {
    if (!wants(target, event)) return null;
    const now = deps.now();
    const timestamp = opts.timestamp === undefined ? (MILLISECOND_EVENTS.has(event) ? now : Math.floor(now / 1000)) : opts.timestamp;
    const envelope = {
      event,
      ...(timestamp === null ? {} : { timestamp }),
      ...(opts.withoutSessionId ? {} : { sessionId: target.api_key }),
      data,
    };
    const body = JSON.stringify(envelope);
    // One session's events go out one after another, each once the previous was answered, so a
    // receiver sees them in the order they happened (redeliveries aside).
    const previous = inFlight.get(target.id);
    const sending = previous ? previous.then(() => post(target, body)) : post(target, body);
    inFlight.set(target.id, sending);
    const status = await sending;
    if (inFlight.get(target.id) === sending) inFlight.delete(target.id);
    if (!acknowledged(status)) {
      logger.info({ event, status }, 'webhook not acknowledged; will redeliver');
      if (retry.attempts > 0) redeliver(target, body, 1);
    }
    return status;
  }

  return { deliver };
}
