/**
 * The WasenderAPI client: one place for the base URL, the two credential kinds (personal access
 * token for /whatsapp-sessions*, the session's API key for everything else), timeouts, retries,
 * rate-limit headers and the provider's five response envelopes. Responses are parsed with zod and
 * normalised to camelCase; every failure is a ProviderError. Secrets never reach logs or errors.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../lib/clock.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import { classify, ProviderError, type RateLimitInfo } from './errors.ts';

export { ProviderError } from './errors.ts';
export type { RateLimitInfo } from './errors.ts';

export type SessionStatus = 'DISCONNECTED' | 'CONNECTING' | 'QR_READY' | 'CONNECTED' | 'LOGGED_OUT' | 'EXPIRED';

const STATUS_MAP: Record<string, SessionStatus> = {
  disconnected: 'DISCONNECTED',
  connecting: 'CONNECTING',
  need_scan: 'QR_READY',
  qr_ready: 'QR_READY',
  qrcode: 'QR_READY',
  connected: 'CONNECTED',
  logged_out: 'LOGGED_OUT',
  loggedout: 'LOGGED_OUT',
  expired: 'EXPIRED',
};

/**
 * The provider's status in our terms, compared case-insensitively (`NEED_SCAN`, `need_scan`,
 * `Need-Scan`). A word we do not know (the SDK's `error`, say) is null: it says nothing we could act
 * on, so callers keep the status they knew and report the word.
 */
export function toSessionStatus(value: string): SessionStatus | null {
  return STATUS_MAP[value.trim().toLowerCase().replace(/[\s-]+/g, '_')] ?? null;
}

// --- response shapes -------------------------------------------------------------------------------

const flag = z.union([z.boolean(), z.number(), z.string()]).nullish().transform((v) => v === true || v === 1 || v === '1' || v === 'true');
const text = z.union([z.string(), z.number()]).nullish().transform((v) => (v === null || v === undefined ? null : String(v)));
const id = z.union([z.string(), z.number()]).transform(String);

const SessionWire = z.looseObject({
  id,
  name: text,
  phone_number: text,
  status: text,
  account_protection: flag,
  log_messages: flag,
  read_incoming_messages: flag,
  auto_reject_calls: flag,
  webhook_url: text,
  webhook_enabled: flag,
  webhook_events: z.array(z.string()).nullish(),
  api_key: text,
  webhook_secret: text,
  created_at: text,
  updated_at: text,
});

export interface ProviderSession {
  id: string;
  name: string | null;
  phoneNumber: string | null;
  /** Null when the provider's word is not one we know (see `statusWord`). */
  status: SessionStatus | null;
  /** The provider's own status word, as sent. */
  statusWord: string;
  accountProtection: boolean;
  logMessages: boolean;
  readIncomingMessages: boolean;
  autoRejectCalls: boolean;
  webhookUrl: string | null;
  webhookEnabled: boolean;
  webhookEvents: string[] | null;
  /** Absent from list responses. */
  apiKey: string | null;
  webhookSecret: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

function toSession(wire: z.infer<typeof SessionWire>): ProviderSession {
  return {
    id: wire.id,
    name: wire.name,
    phoneNumber: wire.phone_number,
    status: toSessionStatus(wire.status ?? 'disconnected'),
    statusWord: wire.status ?? 'disconnected',
    accountProtection: wire.account_protection,
    logMessages: wire.log_messages,
    readIncomingMessages: wire.read_incoming_messages,
    autoRejectCalls: wire.auto_reject_calls,
    webhookUrl: wire.webhook_url,
    webhookEnabled: wire.webhook_enabled,
    webhookEvents: wire.webhook_events ?? null,
    apiKey: wire.api_key,
    webhookSecret: wire.webhook_secret,
    createdAt: wire.created_at,
    updatedAt: wire.updated_at,
  };
}

const Paginator = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    current_page: z.coerce.number().default(1),
    data: z.array(item).default([]),
    last_page: z.coerce.number().default(1),
    per_page: z.coerce.number().default(10),
    total: z.coerce.number().default(0),
  });

export interface Page<T> {
  items: T[];
  page: number;
  lastPage: number;
  perPage: number;
  total: number;
}

const SessionLogWire = z.looseObject({ id, event_type: text, status: text, occurred_at: text });
const MessageLogWire = z.looseObject({ id, to: text, content: z.unknown().nullish(), status: text, failed_reason: text, created_at: text, updated_at: text });

const SendResult = z.looseObject({ msgId: z.coerce.number(), jid: text, status: text });
const MessageInfo = z.looseObject({
  msgId: z.coerce.number().nullish(),
  id: text,
  remoteJid: text,
  key: z.looseObject({ id: text, fromMe: flag, remoteJid: text }).nullish(),
  message: z.unknown().nullish(),
  messageTimestamp: text,
  status: z.coerce.number().nullish(),
});
const ContactWire = z.looseObject({ jid: text, id: text, name: text, notify: text, verifiedName: text, imgUrl: text, status: text });

export interface SessionInput {
  name: string;
  phoneNumber: string;
  accountProtection: boolean;
  logMessages: boolean;
  readIncomingMessages?: boolean;
  autoRejectCalls?: boolean;
  ignoreGroups?: boolean;
  ignoreChannels?: boolean;
  ignoreBroadcasts?: boolean;
  alwaysOnline?: boolean;
  proxyUrl?: string | null;
  webhookUrl?: string | null;
  webhookEnabled?: boolean;
  webhookEvents?: string[];
}

const SESSION_FIELDS: Record<keyof SessionInput, string> = {
  name: 'name',
  phoneNumber: 'phone_number',
  accountProtection: 'account_protection',
  logMessages: 'log_messages',
  readIncomingMessages: 'read_incoming_messages',
  autoRejectCalls: 'auto_reject_calls',
  ignoreGroups: 'ignore_groups',
  ignoreChannels: 'ignore_channels',
  ignoreBroadcasts: 'ignore_broadcasts',
  alwaysOnline: 'always_online',
  proxyUrl: 'proxy_url',
  webhookUrl: 'webhook_url',
  webhookEnabled: 'webhook_enabled',
  webhookEvents: 'webhook_events',
};

function sessionBody(input: Partial<SessionInput>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(input)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [SESSION_FIELDS[k as keyof SessionInput], v]),
  );
}

/** One message to send: `to` plus exactly one content (text alone, or text as the caption). */
export interface SendMessageInput {
  to: string;
  text?: string;
  imageUrl?: string;
  videoUrl?: string;
  documentUrl?: string;
  fileName?: string;
  audioUrl?: string;
  stickerUrl?: string;
  contact?: { name: string; phone: string };
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  poll?: { question: string; options: string[]; multiSelect?: boolean };
  replyTo?: number;
  mentions?: string[];
  viewOnce?: boolean;
}

export interface MessageKeyInput {
  id: string;
  remoteJid: string;
  fromMe: boolean;
}

// --- transport ---------------------------------------------------------------------------------------

export interface WasenderClientOptions {
  baseUrl: string;
  /** Resolved on every call: an admin may change the token while we run. */
  personalAccessToken: (() => Promise<string | null> | string | null) | string | null;
  /** Per attempt. */
  timeoutMs?: number;
  maxRetries?: number;
  backoff?: { baseMs: number; maxMs: number };
  clock?: Clock;
  logger?: Logger;
  fetch?: typeof fetch;
}

type Credential = { kind: 'pat' } | { kind: 'session'; apiKey: string };

interface CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  credential: Credential;
  body?: unknown;
  rawBody?: { bytes: Uint8Array; contentType: string };
  query?: Record<string, string | number | boolean | undefined>;
  /** Safe to repeat after a timeout or a 5xx (it cannot have done anything twice). */
  idempotent: boolean;
  /** Overrides the client's retries (a durable caller retries on its own schedule). */
  maxRetries?: number;
}

const RETRYABLE_ANY = new Set([429, 502, 503, 504]);
const MAX_RETRY_AFTER_S = 60;

function parseRateLimit(headers: Headers, now: number): RateLimitInfo | undefined {
  const limit = headers.get('x-ratelimit-limit');
  const remaining = headers.get('x-ratelimit-remaining');
  const reset = headers.get('x-ratelimit-reset');
  if (limit === null && remaining === null && reset === null) return undefined;
  const resetValue = reset === null ? NaN : Number(reset);
  // Documented both as "seconds until reset" and as a unix timestamp: a value past now+5 s is a timestamp.
  const resetAt = Number.isFinite(resetValue) ? (resetValue > now / 1000 + 5 ? resetValue * 1000 : now + resetValue * 1000) : null;
  return { limit: limit === null ? null : Number(limit), remaining: remaining === null ? null : Number(remaining), resetAt };
}

function retryAfterSeconds(body: Record<string, unknown> | null, headers: Headers, rateLimit: RateLimitInfo | undefined, now: number): number | undefined {
  const fromBody = Number(body?.retry_after ?? body?.retryAfter);
  if (Number.isFinite(fromBody) && fromBody >= 0) return fromBody;
  const header = headers.get('retry-after');
  if (header !== null) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return seconds;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, (date - now) / 1000);
  }
  if (rateLimit?.resetAt) return Math.max(0, (rateLimit.resetAt - now) / 1000);
  return undefined;
}

export function createWasenderClient(opts: WasenderClientOptions) {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const maxRetries = opts.maxRetries ?? 3;
  const backoff = opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? silentLogger;
  const doFetch = opts.fetch ?? fetch;
  let lastRateLimit: RateLimitInfo | undefined;

  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));

  async function token(credential: Credential): Promise<string> {
    if (credential.kind === 'session') return credential.apiKey;
    const t = typeof opts.personalAccessToken === 'function' ? await opts.personalAccessToken() : opts.personalAccessToken;
    if (!t) throw new ProviderError({ status: 0, code: 'UNAUTHORIZED', message: 'No provider token is configured' });
    return t;
  }

  /** One attempt: returns the parsed body, or throws a ProviderError. */
  async function attempt(call: CallOptions, bearer: string): Promise<{ body: Record<string, unknown> | null; status: number }> {
    const url = new URL(baseUrl + call.path);
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${bearer}` };
    let payload: BodyInit | undefined;
    if (call.rawBody) {
      headers['content-type'] = call.rawBody.contentType;
      payload = call.rawBody.bytes as BodyInit;
    } else if (call.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(call.body);
    }
    const started = Date.now();
    let res: Response;
    try {
      res = await doFetch(url, { method: call.method, headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError';
      log.warn({ method: call.method, path: call.path, reason: timedOut ? 'timeout' : 'network' }, 'provider call failed');
      throw new ProviderError({
        status: 0,
        code: timedOut ? 'TIMEOUT' : 'UNAVAILABLE',
        message: timedOut ? `The provider did not answer within ${timeoutMs} ms` : 'The provider could not be reached',
      });
    }
    const rateLimit = parseRateLimit(res.headers, Date.now());
    if (rateLimit) lastRateLimit = rateLimit;
    const raw = res.status === 204 ? '' : await res.text().catch(() => '');
    let body: Record<string, unknown> | null = null;
    if (raw.trim()) {
      try {
        const parsed: unknown = JSON.parse(raw);
        body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { data: parsed };
      } catch {
        if (res.ok) throw new ProviderError({ status: res.status, code: 'BAD_RESPONSE', message: 'The provider answered with something other than JSON', rateLimit });
      }
    }
    log.debug({ method: call.method, path: call.path, status: res.status, ms: Date.now() - started }, 'provider call');
    if (res.ok && body?.success !== false) return { body, status: res.status };

    const message = typeof body?.message === 'string' ? body.message : `HTTP ${res.status}`;
    const errors = body?.errors && typeof body.errors === 'object' ? (body.errors as Record<string, unknown>) : undefined;
    const fields = errors
      ? Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : [String(v)]]))
      : undefined;
    const status = res.ok ? 422 : res.status;
    const code = classify(status, Boolean(fields && Object.keys(fields).length));
    throw new ProviderError({
      status: res.status,
      code,
      message,
      fields,
      retryAfter: code === 'RATE_LIMITED' ? Math.min(MAX_RETRY_AFTER_S, retryAfterSeconds(body, res.headers, rateLimit, Date.now()) ?? 60) : undefined,
      rateLimit,
    });
  }

  function shouldRetry(error: ProviderError, call: CallOptions): boolean {
    if (RETRYABLE_ANY.has(error.status) && (call.idempotent || error.status === 429 || error.status === 503)) return true;
    // A timeout, a dropped connection or a 500 may have done the work already: only safe calls repeat.
    return call.idempotent && (error.code === 'TIMEOUT' || error.code === 'UNAVAILABLE');
  }

  async function call(call: CallOptions): Promise<Record<string, unknown> | null> {
    const bearer = await token(call.credential);
    for (let attemptNo = 0; ; attemptNo++) {
      try {
        return (await attempt(call, bearer)).body;
      } catch (error) {
        if (!(error instanceof ProviderError) || attemptNo >= (call.maxRetries ?? maxRetries) || !shouldRetry(error, call)) throw error;
        const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** attemptNo);
        const jittered = exp / 2 + Math.random() * (exp / 2);
        const delay = error.retryAfter !== undefined ? Math.max(error.retryAfter * 1000, jittered) : jittered;
        log.info({ method: call.method, path: call.path, attempt: attemptNo + 1, delayMs: Math.round(delay) }, 'retrying provider call');
        await sleep(delay);
      }
    }
  }

  function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
    const result = schema.safeParse(value);
    if (!result.success) {
      throw new ProviderError({ status: 200, code: 'BAD_RESPONSE', message: `Unexpected ${what} from the provider: ${result.error.issues[0]?.message ?? 'invalid'}` });
    }
    return result.data;
  }

  const pat: Credential = { kind: 'pat' };
  const sessionPath = (sessionId: string, suffix = '') => `/whatsapp-sessions/${encodeURIComponent(sessionId)}${suffix}`;
  const page = <T extends z.ZodType, R>(body: Record<string, unknown> | null, item: T, map: (v: z.infer<T>) => R): Page<R> => {
    const p = parse(Paginator(item), body?.data ?? {}, 'page');
    return { items: p.data.map(map), page: p.current_page, lastPage: p.last_page, perPage: p.per_page, total: p.total };
  };

  /** Endpoints authenticated with one session's API key. */
  function session(apiKey: string) {
    const credential: Credential = { kind: 'session', apiKey };
    const get = (path: string, query?: CallOptions['query']) => call({ method: 'GET', path, credential, query, idempotent: true });
    return {
      /** Null when the provider answers a status word we do not know. */
      async getStatus(): Promise<SessionStatus | null> {
        const body = await get('/status');
        return toSessionStatus(String(body?.status ?? (body?.data as { status?: string } | undefined)?.status ?? ''));
      },
      async getUser() {
        const body = await get('/user');
        return parse(z.looseObject({ id: text, name: text, lid: text }), body?.data, 'user');
      },
      /** `retries: 0` leaves every retry (a 429, a 503) to the caller. */
      async sendMessage(input: SendMessageInput, opts: { retries?: number } = {}) {
        const body = await call({ method: 'POST', path: '/send-message', credential, body: input, idempotent: false, maxRetries: opts.retries });
        return { ...parse(SendResult, body?.data, 'send result'), rateLimit: lastRateLimit ?? null };
      },
      async getMessageInfo(msgId: number) {
        return parse(MessageInfo, (await get(`/messages/${msgId}/info`))?.data, 'message info');
      },
      async editMessage(msgId: number, newText: string) {
        const body = await call({ method: 'PUT', path: `/messages/${msgId}`, credential, body: { text: newText }, idempotent: true });
        return parse(MessageInfo, body?.data, 'edited message');
      },
      async deleteMessage(msgId: number) {
        await call({ method: 'DELETE', path: `/messages/${msgId}`, credential, idempotent: true });
      },
      async resendMessage(msgId: number) {
        await call({ method: 'POST', path: `/messages/${msgId}/resend`, credential, idempotent: false });
      },
      async markRead(key: MessageKeyInput) {
        await call({ method: 'POST', path: '/messages/read', credential, body: { key }, idempotent: true });
      },
      async upload(file: { bytes: Uint8Array; mimetype: string } | { base64: string; mimetype?: string }): Promise<string> {
        const body =
          'bytes' in file
            ? await call({ method: 'POST', path: '/upload', credential, rawBody: { bytes: file.bytes, contentType: file.mimetype }, idempotent: false })
            : await call({ method: 'POST', path: '/upload', credential, body: file, idempotent: false });
        return parse(z.string().url(), body?.publicUrl, 'upload URL');
      },
      /** `data` is the incoming webhook's `data` (with `messages`). */
      async decryptMedia(data: unknown): Promise<string> {
        const body = await call({ method: 'POST', path: '/decrypt-media', credential, body: { data }, idempotent: true });
        return parse(z.string().url(), body?.publicUrl, 'media URL');
      },
      async onWhatsApp(phone: string): Promise<boolean> {
        const body = await get(`/on-whatsapp/${encodeURIComponent(phone)}`);
        return parse(z.looseObject({ exists: flag }), body?.data, 'on-whatsapp answer').exists;
      },
      async getContacts(opts: { page?: number; limit?: number } = {}) {
        const paginated = opts.page !== undefined || opts.limit !== undefined;
        const body = await get('/contacts', paginated ? { paginated: true, page: opts.page ?? 1, limit: opts.limit ?? 20 } : undefined);
        const data = body?.data;
        const items = Array.isArray(data) ? data : ((data as { items?: unknown[] } | undefined)?.items ?? []);
        return parse(z.array(ContactWire), items, 'contacts').map((c) => ({ ...c, jid: c.jid ?? c.id }));
      },
      async getContact(phone: string) {
        const c = parse(ContactWire, (await get(`/contacts/${encodeURIComponent(phone)}`))?.data, 'contact');
        return { ...c, jid: c.jid ?? c.id };
      },
      async getContactPicture(phone: string): Promise<string | null> {
        return parse(z.looseObject({ imgUrl: text }), (await get(`/contacts/${encodeURIComponent(phone)}/picture`))?.data, 'picture').imgUrl;
      },
      async lidFromPn(pn: string): Promise<string> {
        return parse(z.looseObject({ lid: z.string() }), (await get(`/lid-from-pn/${encodeURIComponent(pn)}`))?.data, 'lid').lid;
      },
      async pnFromLid(lid: string): Promise<string> {
        return parse(z.looseObject({ pn: z.string() }), (await get(`/pn-from-lid/${encodeURIComponent(lid)}`))?.data, 'phone number').pn;
      },
      async sendPresenceUpdate(input: { jid: string; type: 'composing' | 'recording' | 'available' | 'unavailable' | 'paused'; delayMs?: number }) {
        await call({ method: 'POST', path: '/send-presence-update', credential, body: input, idempotent: true });
      },
    };
  }

  return {
    get lastRateLimit() {
      return lastRateLimit;
    },

    /** Checks a personal access token without storing it; throws ProviderError UNAUTHORIZED when refused. */
    async verifyToken(candidate: string): Promise<void> {
      const probe = createWasenderClient({ ...opts, personalAccessToken: candidate, maxRetries: 0 });
      await probe.listSessions();
    },

    async listSessions(): Promise<ProviderSession[]> {
      const body = await call({ method: 'GET', path: '/whatsapp-sessions', credential: pat, idempotent: true });
      const data = body?.data;
      const items = Array.isArray(data) ? data : ((data as { data?: unknown[] } | undefined)?.data ?? []);
      return parse(z.array(SessionWire), items, 'session list').map(toSession);
    },
    async createSession(input: SessionInput): Promise<ProviderSession> {
      // Not repeated blindly: a lost answer could leave a session we do not know of.
      const body = await call({ method: 'POST', path: '/whatsapp-sessions', credential: pat, body: sessionBody(input), idempotent: false });
      return toSession(parse(SessionWire, body?.data, 'session'));
    },
    async getSession(sessionId: string): Promise<ProviderSession> {
      const body = await call({ method: 'GET', path: sessionPath(sessionId), credential: pat, idempotent: true });
      return toSession(parse(SessionWire, body?.data, 'session'));
    },
    async updateSession(sessionId: string, patch: Partial<SessionInput>): Promise<ProviderSession> {
      const body = await call({ method: 'PUT', path: sessionPath(sessionId), credential: pat, body: sessionBody(patch), idempotent: true });
      return toSession(parse(SessionWire, body?.data, 'session'));
    },
    async deleteSession(sessionId: string): Promise<void> {
      await call({ method: 'DELETE', path: sessionPath(sessionId), credential: pat, idempotent: true });
    },
    /** `status` is null when the provider answers a status word we do not know (`statusWord`). */
    async connectSession(sessionId: string): Promise<{ status: SessionStatus | null; statusWord: string | null; qrCode: string | null }> {
      const body = await call({ method: 'POST', path: sessionPath(sessionId, '/connect'), credential: pat, body: {}, idempotent: true });
      const data = parse(z.looseObject({ status: text, qrCode: text, qr: text }), body?.data ?? {}, 'connect answer');
      const qrCode = data.qrCode ?? data.qr;
      return { status: data.status ? toSessionStatus(data.status) : qrCode ? 'QR_READY' : 'CONNECTING', statusWord: data.status, qrCode };
    },
    async getQrCode(sessionId: string): Promise<string> {
      const body = await call({ method: 'GET', path: sessionPath(sessionId, '/qrcode'), credential: pat, idempotent: true });
      const data = parse(z.looseObject({ qrCode: text, qr: text }), body?.data ?? {}, 'QR answer');
      const qr = data.qrCode ?? data.qr;
      if (!qr) throw new ProviderError({ status: 200, code: 'BAD_RESPONSE', message: 'The provider returned no QR code' });
      return qr;
    },
    async disconnectSession(sessionId: string): Promise<void> {
      await call({ method: 'POST', path: sessionPath(sessionId, '/disconnect'), credential: pat, idempotent: true });
    },
    async restartSession(sessionId: string): Promise<void> {
      await call({ method: 'POST', path: sessionPath(sessionId, '/restart'), credential: pat, idempotent: true });
    },
    async regenerateApiKey(sessionId: string): Promise<string> {
      // Never repeated: a second rotation would kill the key the first one returned.
      const body = await call({ method: 'POST', path: sessionPath(sessionId, '/regenerate-key'), credential: pat, idempotent: false });
      const key = body?.api_key ?? (body?.data as { api_key?: unknown } | undefined)?.api_key;
      return parse(z.string().min(1), key, 'API key');
    },
    async getSessionLogs(sessionId: string, opts: { page?: number; perPage?: number } = {}) {
      const body = await call({ method: 'GET', path: sessionPath(sessionId, '/session-logs'), credential: pat, query: { page: opts.page, per_page: opts.perPage }, idempotent: true });
      return page(body, SessionLogWire, (l) => ({ id: l.id, eventType: l.event_type, status: l.status, occurredAt: l.occurred_at }));
    },
    async getMessageLogs(sessionId: string, opts: { page?: number; perPage?: number; status?: string } = {}) {
      const body = await call({
        method: 'GET',
        path: sessionPath(sessionId, '/message-logs'),
        credential: pat,
        query: { page: opts.page, per_page: opts.perPage, status: opts.status },
        idempotent: true,
      });
      return page(body, MessageLogWire, (l) => ({
        id: l.id,
        to: l.to,
        // The provider sends the send body as a JSON string.
        content: typeof l.content === 'string' ? safeJson(l.content) : (l.content ?? null),
        status: l.status,
        failedReason: l.failed_reason,
        createdAt: l.created_at,
      }));
    },

    session,
  };
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export type WasenderClient = ReturnType<typeof createWasenderClient>;
export type SessionApi = ReturnType<WasenderClient['session']>;
