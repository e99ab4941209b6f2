/**
 * Webhook ingestion: verify, then store once (group-committed) before the 2xx. Applying the event
 * to the inbox happens afterwards in the processor, so the provider never waits on it.
 */
import { createBatcher } from '../../lib/batcher.ts';
import { bulkInsert } from '../../lib/bulk-insert.ts';
import { hash, timingSafeEqual } from 'node:crypto';
import type { PlainSql } from '../../lib/plain-sql.ts';
import type { Logger } from '../../lib/logger.ts';
import { parseWebhookEnvelope, webhookDedupeKey, WebhookPayloadError } from '../../provider/webhook-events.ts';
import type { SessionService } from '../sessions/session.service.ts';
import { followEvents, type AppPubSub } from '../../lib/pubsub.ts';

/** What became of a webhook, for metrics: `event` is the envelope's, once it could be read. */
export interface IngestOutcome {
  outcome: 'stored' | 'duplicate' | 'invalid' | 'unknown_session' | 'bad_signature';
  event?: string;
  /** Our session, once attributed. */
  sessionId?: string;
  /** From the envelope's timestamp to its arrival, when it had one. */
  lagMs?: number;
}

export type IngestResult = IngestOutcome &
  ({ status: 200; body: { received: true; duplicate: boolean } } | { status: 400 | 401; body: { error: string } });

interface StoredEvent {
  sessionId: string;
  event: string;
  dedupeKey: string;
  /** The body as received without its secret (JSON text, made storable), stored as the event's payload. */
  payload: string;
  /** ISO time (UTC) of arrival. */
  receivedAt: string;
}

/**
 * JSON may escape a NUL character (\u0000), which no PostgreSQL text or jsonb value can hold: such
 * characters become U+FFFD, rather than the event (and every event stored with it) failing again on
 * each of the provider's retries.
 */
function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\0', '\uFFFD');
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [withoutNul(key), withoutNul(v)]));
  }
  return value;
}

/**
 * The envelope's `sessionId` is the session's API key: it served to find the session and is not
 * stored (the row's own sessionId says whose event it is).
 */
function withoutApiKey(body: Record<string, unknown>): Record<string, unknown> {
  const { sessionId: _apiKey, ...rest } = body;
  return rest;
}

/**
 * The stored dedupe key: a fixed-length hash of our session and the provider's logical key, so a
 * webhook carrying many (or very long) message ids still fits the unique index.
 */
function storedDedupeKey(sessionId: string, logicalKey: string): string {
  return hash('sha256', `${sessionId}:${logicalKey}`, 'hex');
}

/** What a signature is compared by: digests of equal length, so the comparison takes the same time whatever the secret. */
function digestOf(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/**
 * Looked-up sessions are cached briefly: a burst of webhooks costs one look-up, not one each. A
 * session's key or secret being issued, rotated or retired (in any process) drops its entry at once.
 */
const SESSION_CACHE_MS = 10_000;
/** API keys whose look-up hash is remembered (a keyed hash per webhook was a visible cost). */
const KEY_HASHES_MAX = 10_000;

/**
 * The provider sends each message three times (`messages.received`, `messages-personal.received`,
 * `messages.upsert`, one dedupe key) and one session's webhooks one at a time, each once the last
 * was answered: the copies of an event this process has just stored are answered as duplicates
 * from memory, so a message costs one commit on that path instead of three. A miss (another
 * process stored it, or it was forgotten) asks the database as before.
 */
const STORED_KEYS_MAX = 20_000;
const STORED_KEYS_MS = 10 * 60_000;

export function createWebhookService(deps: {
  /** Plain SQL: the group commit is the hot statement of ingest. */
  sql: PlainSql;
  sessions: SessionService;
  pubsub: AppPubSub;
  logger: Logger;
  now: () => number;
  /** Called after events are stored, to start applying them. */
  onStored: (sessionId: string) => void;
}) {
  const { sql, logger } = deps;
  type Session = { id: string; webhookSecret: string };
  /** A looked-up session, with its secret's digest to check signatures against. */
  type Found = { id: string; secretDigest: Buffer } | null;
  // Keyed `key:<hash>` (by API key) and `secret:<hash>` (by webhook secret).
  const sessionCache = new Map<string, { value: Found; at: number }>();
  // The look-up hash is a pure function of the key: remembered, it needs no invalidation.
  const keyHashes = new Map<string, string>();
  const stopFollowing = followEvents(
    deps.pubsub,
    ['sessionCredentialsChanged'],
    (change) => {
      for (const hash of change.apiKeyHashes) sessionCache.delete(`key:${hash}`);
      for (const hash of change.webhookSecretHashes ?? []) sessionCache.delete(`secret:${hash}`);
    },
    (error) => {
      sessionCache.clear();
      logger.info({ err: error }, 'session cache dropped: invalidations may have been missed');
    },
  );

  async function cached(cacheKey: string, lookUp: () => Promise<Session | null>): Promise<Found> {
    const hit = sessionCache.get(cacheKey);
    if (hit && deps.now() - hit.at < SESSION_CACHE_MS) return hit.value;
    const session = await lookUp();
    const value = session && { id: session.id, secretDigest: digestOf(session.webhookSecret) };
    if (sessionCache.size > 10_000) sessionCache.clear();
    sessionCache.set(cacheKey, { value, at: deps.now() });
    return value;
  }

  function apiKeyHashOf(apiKey: string): string {
    let keyHash = keyHashes.get(apiKey);
    if (keyHash === undefined) {
      keyHash = deps.sessions.apiKeyHashOf(apiKey);
      if (keyHashes.size >= KEY_HASHES_MAX) keyHashes.clear();
      keyHashes.set(apiKey, keyHash);
    }
    return keyHash;
  }

  function sessionByApiKey(apiKey: string) {
    const keyHash = apiKeyHashOf(apiKey);
    return cached(`key:${keyHash}`, () => deps.sessions.findByApiKeyHash(keyHash));
  }

  /**
   * The session whose secret the signature is. Sessions stored before secrets were hashed are
   * hashed at start; one this process has not seen hashed yet is hashed here, before saying none.
   */
  function sessionBySecret(signature: string) {
    const hash = deps.sessions.webhookSecretHashOf(signature);
    return cached(`secret:${hash}`, async () => {
      const found = await deps.sessions.findByWebhookSecretHash(hash);
      if (found || (await deps.sessions.fillWebhookSecretHashes({ claimed: false })) === 0) return found;
      return deps.sessions.findByWebhookSecretHash(hash);
    });
  }

  /**
   * The session a webhook belongs to. An envelope's API key decides (the signature must then be
   * that session's secret; a key rotated out or retired names no session, even signed); without one
   * (some documented samples, older `session.status` events), the signature itself finds it.
   */
  async function attribute(envelope: { sessionKey: string | null; event: string }, signature: string | null): Promise<{ id: string } | IngestResult> {
    const session = envelope.sessionKey ? await sessionByApiKey(envelope.sessionKey) : signature ? await sessionBySecret(signature) : null;
    if (!session) {
      logger.warn({ event: envelope.event, withSessionId: envelope.sessionKey !== null }, 'webhook refused: unknown session');
      return { status: 401, body: { error: 'Unknown session' }, outcome: 'unknown_session', event: envelope.event };
    }
    if (!signature || !timingSafeEqual(digestOf(signature), session.secretDigest)) {
      logger.warn({ sessionId: session.id, event: envelope.event }, 'webhook refused: bad signature');
      return { status: 401, body: { error: 'Invalid webhook signature' }, outcome: 'bad_signature', event: envelope.event, sessionId: session.id };
    }
    return session;
  }

  const storedKeys = new Map<string, number>();
  function rememberStored(dedupeKey: string) {
    storedKeys.delete(dedupeKey);
    storedKeys.set(dedupeKey, deps.now());
    // Insertion order is age order: the oldest go first.
    for (const [key, at] of storedKeys) {
      if (storedKeys.size <= STORED_KEYS_MAX && deps.now() - at < STORED_KEYS_MS) break;
      storedKeys.delete(key);
    }
  }
  function knownStored(dedupeKey: string): boolean {
    const at = storedKeys.get(dedupeKey);
    return at !== undefined && deps.now() - at < STORED_KEYS_MS;
  }

  const writer = createBatcher<StoredEvent, boolean>({
    maxBatch: 500,
    concurrency: 4,
    async write(items) {
      // Within one batch the same event may appear twice (received + upsert racing): insert it once.
      const unique = [...new Map(items.map((i) => [i.dedupeKey, i])).values()];
      const rows = await bulkInsert<StoredEvent, { dedupeKey: string }>(sql, {
        table: 'webhook_events',
        rows: unique,
        columns: {
          sessionId: { type: 'uuid', value: (i) => i.sessionId },
          event: { type: 'text', value: (i) => i.event },
          dedupeKey: { type: 'text', value: (i) => i.dedupeKey },
          payload: { type: 'jsonb', value: (i) => i.payload },
          // Set here, not by the column default: CURRENT_TIMESTAMP is in the connection's time zone.
          receivedAt: { type: 'timestamp(3)', value: (i) => i.receivedAt },
        },
        conflictOn: ['dedupeKey'],
        returning: ['dedupeKey'],
        updatedAt: false,
      });
      const inserted = new Set(rows.map((r) => r.dedupeKey));
      // Each newly inserted key is reported new once; every other copy is a duplicate.
      return items.map((i) => !inserted.delete(i.dedupeKey));
    },
  });

  return {
    async ingest(rawBody: string, signature: string | null): Promise<IngestResult> {
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        return { status: 400, body: { error: 'Body is not JSON' }, outcome: 'invalid' };
      }
      if (rawBody.includes('\\u0000')) body = withoutNul(body);
      let envelope;
      try {
        envelope = parseWebhookEnvelope(body);
      } catch (error) {
        if (error instanceof WebhookPayloadError) return { status: 400, body: { error: error.message }, outcome: 'invalid' };
        throw error;
      }
      const session = await attribute(envelope, signature);
      if ('status' in session) return session;
      const receivedAt = deps.now();
      const dedupeKey = storedDedupeKey(session.id, webhookDedupeKey(envelope));
      if (knownStored(dedupeKey)) {
        return { status: 200, body: { received: true, duplicate: true }, outcome: 'duplicate', event: envelope.event, sessionId: session.id };
      }
      const duplicate = await writer.add({
        sessionId: session.id,
        event: envelope.event,
        dedupeKey,
        // parseWebhookEnvelope accepted it, so it is an object.
        payload: JSON.stringify(withoutApiKey(body as Record<string, unknown>)),
        receivedAt: new Date(receivedAt).toISOString(),
      });
      // Stored now (by this write or an earlier one): its next copies need no round trip.
      rememberStored(dedupeKey);
      if (!duplicate) deps.onStored(session.id);
      return {
        status: 200,
        body: { received: true, duplicate },
        outcome: duplicate ? 'duplicate' : 'stored',
        event: envelope.event,
        sessionId: session.id,
        ...(envelope.timestampMs !== null ? { lagMs: receivedAt - envelope.timestampMs } : {}),
      };
    },
    drain: () => writer.drain(),
    /** Stops following credential changes (shutdown). */
    close: stopFollowing,
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
