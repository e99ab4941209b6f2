/**
 * A local double of WasenderAPI that follows the provider's contract (shared/wasender-api.md):
 * paths, the two credential kinds, the five response envelopes, status codes and error bodies,
 * the session state machine with rotating QR codes, rate limits, and signed webhooks with
 * redelivery. Control endpoints stand in for the phone and for WhatsApp users. It knows nothing of
 * the product that uses it.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import { HttpError, readJson, readRaw, send } from './http.ts';

export interface SandboxOptions {
  personalAccessToken: string;
  clock?: Clock;
  logger?: Logger;
  sessionLimit?: number;
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

interface SandboxSession {
  id: number;
  name: string;
  phone_number: string;
  status: 'disconnected' | 'connecting' | 'need_scan' | 'connected' | 'logged_out' | 'expired';
  account_protection: boolean;
  log_messages: boolean;
  read_incoming_messages: boolean;
  auto_reject_calls: boolean;
  ignore_groups: boolean;
  ignore_channels: boolean;
  ignore_broadcasts: boolean;
  always_online: boolean;
  proxy_url: string | null;
  webhook_url: string | null;
  webhook_enabled: boolean;
  webhook_events: string[] | null;
  api_key: string;
  webhook_secret: string;
  created_at: string;
  updated_at: string;
  qr: string | null;
  qrTimer: TimerHandle | null;
  lastSendAt: number | null;
  sendTimes: number[];
  messageLogs: MessageLog[];
  /** Messages marked read through /messages/read (the blue ticks their senders would see). */
  readMarks: { id: string; remoteJid: string }[];
  /** Times the session was read with GET /whatsapp-sessions/{id} (what status checks cost). */
  reads: number;
  /** Times its QR was fetched with GET /whatsapp-sessions/{id}/qrcode. */
  qrFetches: number;
  sessionLogs: { id: number; whatsapp_session_id: number; event_type: string; status: string; occurred_at: string }[];
}

interface MessageLog {
  id: number;
  whatsapp_session_id: number;
  to: string | null;
  content: string | null;
  status: 'in_progress' | 'sent' | 'failed';
  failed_reason: string | null;
  created_at: string;
  updated_at: string;
}

interface SentMessage {
  msgId: number;
  sessionId: number;
  key: { id: string; fromMe: boolean; remoteJid: string };
  message: Record<string, unknown>;
  timestamp: number;
  status: number;
}

interface Fault {
  path?: string;
  method?: string;
  status?: number;
  count: number;
  delayMs?: number;
  body?: unknown;
}

export interface Sandbox {
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
  close(): Promise<void>;
}

const PAT_REQUIRED = 'This endpoint requires a valid personal access token.';
const SESSION_FIELDS = ['name', 'phone_number', 'account_protection', 'log_messages', 'read_incoming_messages', 'auto_reject_calls', 'ignore_groups', 'ignore_channels', 'ignore_broadcasts', 'always_online', 'proxy_url', 'webhook_url', 'webhook_enabled', 'webhook_events'] as const;
const BOOLEAN_FIELDS = new Set(['account_protection', 'log_messages', 'read_incoming_messages', 'auto_reject_calls', 'ignore_groups', 'ignore_channels', 'ignore_broadcasts', 'always_online', 'webhook_enabled']);
/** Events whose `timestamp` the provider sends in milliseconds. */
const MILLISECOND_EVENTS = new Set(['messages.update', 'message-receipt.update', 'poll.results']);
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const waMessageId = () => '3EB0' + randomBytes(9).toString('hex').toUpperCase();
const digitsOf = (phone: string) => phone.replace(/[^\d]/g, '');

function validation(errors: Record<string, string[]>): HttpError {
  return new HttpError(422, { success: false, message: 'Validation failed', errors });
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** A recipient as the provider accepts it: E.164 or digits, or a JID. */
function toJid(to: string): string {
  return to.includes('@') ? to : `${digitsOf(to)}@s.whatsapp.net`;
}

export function createSandbox(opts: SandboxOptions): Sandbox {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? silentLogger;
  const doFetch = opts.fetch ?? fetch;
  const sessionLimit = opts.sessionLimit ?? 10;
  const qrRotateMs = opts.qrRotateMs ?? 45_000;
  const sendIntervalMs = opts.sendIntervalMs ?? 5_000;
  const planPerMinute = opts.planPerMinute ?? 256;
  const retry = opts.webhookRetry ?? { attempts: 5, baseDelayMs: 1_000 };
  const deliveryDelayMs = opts.deliveryDelayMs ?? 300;

  const sessions = new Map<number, SandboxSession>();
  const byApiKey = new Map<string, SandboxSession>();
  const sent = new Map<number, SentMessage>();
  const sentByKey = new Map<string, SentMessage>();
  // Ids in the provider's range, different for each sandbox, so two sandboxes writing to one
  // database (several test processes) never hand out the same id.
  let nextSessionId = 1_000 + randomInt(9_000_000);
  let nextMsgId = 100_000;
  let nextLogId = 1;
  let faults: Fault[] = [];
  const timers = new Set<TimerHandle>();
  let closed = false;

  const now = () => clock.now();
  const iso = (ms = now()) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const later = (ms: number, fn: () => void) => {
    const handle = clock.setTimeout(() => {
      timers.delete(handle);
      if (!closed) fn();
    }, ms);
    timers.add(handle);
    return handle;
  };
  const cancel = (handle: TimerHandle | null) => {
    if (!handle) return;
    clock.clearTimeout(handle);
    timers.delete(handle);
  };

  // --- webhooks ------------------------------------------------------------------------------------

  function wants(session: SandboxSession, event: string): boolean {
    if (!session.webhook_url || !session.webhook_enabled) return false;
    return !session.webhook_events?.length || session.webhook_events.includes(event);
  }

  async function post(session: SandboxSession, body: string): Promise<number> {
    try {
      const res = await doFetch(session.webhook_url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-signature': session.webhook_secret },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    } catch {
      return 0;
    }
  }

  /** Delivers one event; resolves with the receiver's first answer (0: unreachable), redelivering failures later. */
  async function deliver(session: SandboxSession, event: string, data: unknown, timestamp?: number): Promise<number | null> {
    if (!wants(session, event)) return null;
    const ts = timestamp ?? (MILLISECOND_EVENTS.has(event) ? now() : Math.floor(now() / 1000));
    const body = JSON.stringify({ event, timestamp: ts, sessionId: session.api_key, data });
    const status = await post(session, body);
    const ok = status >= 200 && status < 300;
    if (!ok) {
      log.info({ event, status }, 'webhook not acknowledged; will redeliver');
      const redeliver = (attempt: number) =>
        later(retry.baseDelayMs * 2 ** (attempt - 1), () => {
          if (!sessions.has(session.id)) return;
          void post(session, body).then((s) => {
            if ((s < 200 || s >= 300) && attempt < retry.attempts) redeliver(attempt + 1);
          });
        });
      if (retry.attempts > 0) redeliver(1);
    }
    return status;
  }

  // --- session state -------------------------------------------------------------------------------

  function publicSession(s: SandboxSession, withSecrets: boolean) {
    const base = {
      id: s.id,
      name: s.name,
      phone_number: s.phone_number,
      status: s.status,
      account_protection: s.account_protection,
      log_messages: s.log_messages,
      read_incoming_messages: s.read_incoming_messages,
      auto_reject_calls: s.auto_reject_calls,
      ignore_groups: s.ignore_groups,
      ignore_channels: s.ignore_channels,
      ignore_broadcasts: s.ignore_broadcasts,
      always_online: s.always_online,
      proxy_url: s.proxy_url,
      webhook_url: s.webhook_url,
      webhook_enabled: s.webhook_enabled,
      webhook_events: s.webhook_events,
      created_at: s.created_at,
      updated_at: s.updated_at,
    };
    return withSecrets ? { ...base, api_key: s.api_key, webhook_secret: s.webhook_secret } : base;
  }

  function sessionLog(s: SandboxSession, eventType: string) {
    s.sessionLogs.push({ id: nextLogId++, whatsapp_session_id: s.id, event_type: eventType, status: s.status, occurred_at: new Date(now()).toISOString().replace('Z', '000Z') });
  }

  async function setStatus(s: SandboxSession, status: SandboxSession['status']) {
    if (status !== 'need_scan') {
      cancel(s.qrTimer);
      s.qrTimer = null;
      s.qr = null;
    }
    s.status = status;
    s.updated_at = iso();
    sessionLog(s, 'status_change');
    await deliver(s, 'session.status', { status });
  }

  function rotateQr(s: SandboxSession) {
    cancel(s.qrTimer);
    s.qr = `2@${randomBytes(24).toString('base64')},${randomBytes(16).toString('base64')},${randomBytes(16).toString('base64')}`;
    s.qrTimer = later(qrRotateMs, () => {
      if (s.status !== 'need_scan' || !sessions.has(s.id)) return;
      rotateQr(s);
      void deliver(s, 'qrcode.updated', { qr: s.qr });
    });
  }

  function validateSessionBody(body: Record<string, unknown>, creating: boolean) {
    const errors: Record<string, string[]> = {};
    const required = (field: string, label: string) => {
      if (body[field] === undefined || body[field] === null || body[field] === '') errors[field] = [`The ${label} field is required.`];
    };
    if (creating) {
      required('name', 'name');
      required('phone_number', 'phone number');
      required('account_protection', 'account protection');
      required('log_messages', 'log messages');
    }
    if (body.name !== undefined && (typeof body.name !== 'string' || body.name.length > 255)) errors.name = ['The name field must be a string of at most 255 characters.'];
    if (body.phone_number !== undefined && (typeof body.phone_number !== 'string' || !/^\+?[1-9]\d{6,14}$/.test(body.phone_number))) {
      errors.phone_number = ['The phone number field format is invalid.'];
    }
    for (const field of BOOLEAN_FIELDS) {
      if (body[field] !== undefined && typeof body[field] !== 'boolean') errors[field] = [`The ${field.replace(/_/g, ' ')} field must be true or false.`];
    }
    if (body.webhook_url !== undefined && body.webhook_url !== null && !isHttpUrl(body.webhook_url)) errors.webhook_url = ['The webhook url field must be a valid URL.'];
    if (body.webhook_events !== undefined && body.webhook_events !== null && (!Array.isArray(body.webhook_events) || body.webhook_events.some((e) => typeof e !== 'string'))) {
      errors.webhook_events = ['The webhook events field must be an array.'];
    }
    if (body.phone_number && [...sessions.values()].some((s) => s.phone_number === body.phone_number)) {
      errors.phone_number = ['The phone number has already been taken.'];
    }
    if (Object.keys(errors).length) throw validation(errors);
  }

  function applySessionBody(s: SandboxSession, body: Record<string, unknown>) {
    for (const field of SESSION_FIELDS) if (body[field] !== undefined) (s as unknown as Record<string, unknown>)[field] = body[field];
    s.updated_at = iso();
  }

  // --- credentials -----------------------------------------------------------------------------------

  function bearer(req: IncomingMessage): string | null {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    return m?.[1] ?? null;
  }

  function requirePat(req: IncomingMessage) {
    if (bearer(req) !== opts.personalAccessToken) throw new HttpError(401, { success: false, message: PAT_REQUIRED });
  }

  function requireSessionKey(req: IncomingMessage, path: string): SandboxSession {
    const key = bearer(req);
    if (!key) throw new HttpError(401, { success: false, message: 'API key is required' });
    const session = byApiKey.get(key);
    if (!session) {
      throw new HttpError(401, { success: false, message: path === '/status' ? 'Session not found for the provided API key' : 'invalid API key' });
    }
    return session;
  }

  function sessionById(raw: string): SandboxSession {
    const session = sessions.get(Number(raw));
    if (!session || !/^\d+$/.test(raw)) throw new HttpError(404, { success: false, message: 'WhatsApp session not found.' });
    return session;
  }

  // --- sending ---------------------------------------------------------------------------------------

  const CONTENT_FIELDS = ['imageUrl', 'videoUrl', 'documentUrl', 'audioUrl', 'stickerUrl', 'contact', 'location', 'poll'] as const;

  function validateSend(body: Record<string, unknown>) {
    const errors: Record<string, string[]> = {};
    if (typeof body.to !== 'string' || !body.to.trim()) errors.to = ['The to field is required.'];
    else if (!body.to.includes('@') && !/^\+?\d{6,15}$/.test(body.to)) errors.to = ['The to field format is invalid.'];
    const content = CONTENT_FIELDS.filter((f) => body[f] !== undefined && body[f] !== null);
    if (content.length === 0 && (typeof body.text !== 'string' || !body.text)) errors.text = ['The text field is required when no media is present.'];
    if (content.length > 1) errors[content[1]!] = [`Only one of ${content.join(', ')} may be sent at once.`];
    for (const f of ['imageUrl', 'videoUrl', 'documentUrl', 'audioUrl', 'stickerUrl'] as const) {
      if (body[f] !== undefined && !isHttpUrl(body[f])) errors[f] = [`The ${f} field must be a valid URL.`];
    }
    const contact = body.contact as Record<string, unknown> | undefined;
    if (contact !== undefined && (typeof contact?.name !== 'string' || typeof contact?.phone !== 'string')) errors.contact = ['The contact field must have a name and a phone.'];
    const location = body.location as Record<string, unknown> | undefined;
    if (location !== undefined) {
      const lat = Number(location?.latitude);
      const lng = Number(location?.longitude);
      if (!Number.isFinite(lat) || Math.abs(lat) > 90) errors['location.latitude'] = ['The location.latitude field must be between -90 and 90.'];
      if (!Number.isFinite(lng) || Math.abs(lng) > 180) errors['location.longitude'] = ['The location.longitude field must be between -180 and 180.'];
    }
    const poll = body.poll as Record<string, unknown> | undefined;
    if (poll !== undefined) {
      if (typeof poll?.question !== 'string' || !poll.question) errors['poll.question'] = ['The poll.question field is required.'];
      const options = poll?.options;
      if (!Array.isArray(options) || options.length < 2 || options.length > 12) errors['poll.options'] = ['The poll.options field must have between 2 and 12 items.'];
    }
    if (body.replyTo !== undefined && !Number.isInteger(body.replyTo)) errors.replyTo = ['The reply to field must be an integer.'];
    if (Object.keys(errors).length) throw validation(errors);
  }

  function rateLimitHeaders(s: SandboxSession): Record<string, string> {
    const windowStart = now() - 60_000;
    s.sendTimes = s.sendTimes.filter((t) => t > windowStart);
    const oldest = s.sendTimes[0];
    return {
      'x-ratelimit-limit': String(planPerMinute),
      'x-ratelimit-remaining': String(Math.max(0, planPerMinute - s.sendTimes.length)),
      'x-ratelimit-reset': String(oldest ? Math.ceil((oldest + 60_000 - now()) / 1000) : 60),
    };
  }

  function enforceRateLimits(s: SandboxSession) {
    if (s.account_protection && s.lastSendAt !== null && now() - s.lastSendAt < sendIntervalMs) {
      const wait = Math.ceil((s.lastSendAt + sendIntervalMs - now()) / 1000);
      throw new HttpError(429, { message: `Account protection is enabled: you can only send 1 message every ${sendIntervalMs / 1000} seconds.`, retry_after: wait });
    }
    rateLimitHeaders(s);
    if (s.sendTimes.length >= planPerMinute) {
      const wait = Math.ceil((s.sendTimes[0]! + 60_000 - now()) / 1000);
      throw new HttpError(429, { message: `You can only send ${planPerMinute} messages per minute.`, retry_after: wait });
    }
  }

  function waContent(body: Record<string, unknown>): Record<string, unknown> {
    const caption = typeof body.text === 'string' ? body.text : undefined;
    const media = (kind: string, url: unknown, mimetype: string, extra: object = {}) => ({
      [kind]: { url, mimetype, caption, fileSha256: randomBytes(32).toString('base64'), fileLength: String(10_000 + Math.floor(Math.random() * 90_000)), mediaKey: randomBytes(32).toString('base64'), ...extra },
    });
    if (body.imageUrl) return media('imageMessage', body.imageUrl, 'image/jpeg');
    if (body.videoUrl) return media('videoMessage', body.videoUrl, 'video/mp4');
    if (body.audioUrl) return media('audioMessage', body.audioUrl, 'audio/ogg; codecs=opus', { ptt: true });
    if (body.stickerUrl) return media('stickerMessage', body.stickerUrl, 'image/webp');
    if (body.documentUrl) return media('documentMessage', body.documentUrl, 'application/pdf', { fileName: body.fileName ?? 'document.pdf' });
    const contact = body.contact as { name: string; phone: string } | undefined;
    if (contact) return { contactMessage: { displayName: contact.name, vcard: `BEGIN:VCARD\nVERSION:3.0\nFN:${contact.name}\nTEL;type=CELL;waid=${digitsOf(contact.phone)}:${contact.phone}\nEND:VCARD` } };
    const location = body.location as { latitude: number; longitude: number; name?: string; address?: string } | undefined;
    if (location) return { locationMessage: { degreesLatitude: Number(location.latitude), degreesLongitude: Number(location.longitude), name: location.name, address: location.address } };
    const poll = body.poll as { question: string; options: string[]; multiSelect?: boolean } | undefined;
    if (poll) return { pollCreationMessageV3: { name: poll.question, options: poll.options.map((optionName) => ({ optionName })), selectableOptionsCount: poll.multiSelect ? 0 : 1 } };
    return { conversation: caption ?? '' };
  }

  function scheduleDelivery(s: SandboxSession, message: SentMessage, logEntry: MessageLog) {
    const step = deliveryDelayMs / 4;
    later(step, () => {
      logEntry.status = 'sent';
      logEntry.updated_at = iso();
      void deliver(s, 'message.sent', { key: message.key, message: message.message, success: true });
    });
    [2, 3, 4].forEach((status, i) =>
      later(step * (i + 2), () => {
        message.status = status;
        void deliver(s, 'messages.update', { update: { status }, key: message.key });
      }),
    );
  }

  // --- inbound (control) -----------------------------------------------------------------------------

  function inboundMessage(s: SandboxSession, body: Record<string, unknown>) {
    const from = typeof body.from === 'string' ? digitsOf(body.from) : '';
    if (!/^\d{6,15}$/.test(from)) throw new HttpError(422, { success: false, message: 'Validation failed', errors: { from: ['The from field must be a phone number.'] } });
    const id = waMessageId();
    const lid = `${(BigInt('0x' + hex(6)) % 10n ** 14n).toString().padStart(14, '1')}@lid`;
    const group = typeof body.group === 'string' ? (body.group.includes('@') ? body.group : `${body.group}@g.us`) : null;
    const useLid = body.lid === true;
    const pn = `${from}@s.whatsapp.net`;
    const key: Record<string, unknown> = group
      ? { id, fromMe: false, remoteJid: group, participant: useLid ? lid : pn, participantPn: pn, cleanedParticipantPn: from, participantLid: lid, addressingMode: useLid ? 'lid' : 'pn' }
      : { id, fromMe: false, remoteJid: useLid ? lid : pn, addressingMode: useLid ? 'lid' : 'pn', senderPn: pn, cleanedSenderPn: from, senderLid: lid };
    const text = typeof body.text === 'string' ? body.text : '';
    const media = body.media as { kind?: string; url?: string; caption?: string; mimetype?: string; fileName?: string } | undefined;
    let message: Record<string, unknown> = { conversation: text };
    let messageBody = text;
    if (media?.kind) {
      const field = `${media.kind}Message`;
      const caption = media.caption ?? (text || undefined);
      message = {
        [field]: {
          url: `https://mmg.whatsapp.net/v/t62.7118-24/${hex(12)}.enc?ccb=11-4`,
          mimetype: media.mimetype ?? ({ image: 'image/jpeg', video: 'video/mp4', audio: 'audio/ogg; codecs=opus', document: 'application/pdf', sticker: 'image/webp' } as Record<string, string>)[media.kind] ?? 'application/octet-stream',
          fileSha256: randomBytes(32).toString('base64'),
          fileEncSha256: randomBytes(32).toString('base64'),
          fileLength: String(20_000 + Math.floor(Math.random() * 100_000)),
          mediaKey: randomBytes(32).toString('base64'),
          directPath: `/v/t62.7118-24/${hex(12)}.enc`,
          mediaKeyTimestamp: String(Math.floor(now() / 1000)),
          ...(caption ? { caption } : {}),
          ...(media.kind === 'document' ? { fileName: media.fileName ?? 'document.pdf' } : {}),
          ...(media.url ? { sourceUrl: media.url } : {}),
        },
      };
      messageBody = caption ?? '';
    }
    const payload = {
      key,
      messageBody,
      message,
      pushName: typeof body.pushName === 'string' ? body.pushName : `+${from}`,
      messageTimestamp: Math.floor(now() / 1000),
    };
    return { id, payload, group };
  }

  // --- routing ---------------------------------------------------------------------------------------

  type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

  async function api(req: IncomingMessage, path: string): Promise<Reply> {
    const method = req.method ?? 'GET';
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const ok = (data: unknown): Reply => ({ status: 200, body: { success: true, data } });

    if (parts[0] === 'auth-check' && method === 'GET') {
      requirePat(req);
      return { status: 200, body: { success: true, message: 'Authenticated' } };
    }

    if (parts[0] === 'whatsapp-sessions') {
      requirePat(req);
      if (parts.length === 1 && method === 'GET') return ok([...sessions.values()].map((s) => publicSession(s, false)));
      if (parts.length === 1 && method === 'POST') {
        const body = await readJson(req);
        if (sessions.size >= sessionLimit) {
          throw new HttpError(403, { success: false, message: 'You have reached the session limit of your plan. Upgrade your plan or delete unused sessions.' });
        }
        validateSessionBody(body, true);
        const s: SandboxSession = {
          id: nextSessionId++,
          name: '',
          phone_number: '',
          status: 'disconnected',
          account_protection: true,
          log_messages: true,
          read_incoming_messages: false,
          auto_reject_calls: false,
          ignore_groups: false,
          ignore_channels: false,
          ignore_broadcasts: false,
          always_online: false,
          proxy_url: null,
          webhook_url: null,
          webhook_enabled: false,
          webhook_events: null,
          api_key: hex(32),
          webhook_secret: hex(16),
          created_at: iso(),
          updated_at: iso(),
          qr: null,
          qrTimer: null,
          lastSendAt: null,
          sendTimes: [],
          messageLogs: [],
          readMarks: [],
          sessionLogs: [],
          reads: 0,
          qrFetches: 0,
        };
        applySessionBody(s, body);
        sessions.set(s.id, s);
        byApiKey.set(s.api_key, s);
        return ok(publicSession(s, true));
      }
      const s = sessionById(parts[1] ?? '');
      const action = parts[2];
      if (!action) {
        if (method === 'GET') {
          s.reads++;
          return ok(publicSession(s, true));
        }
        if (method === 'PUT') {
          const body = await readJson(req);
          const { phone_number: _ignored, ...rest } = body;
          validateSessionBody(body.phone_number === s.phone_number ? rest : body, false);
          applySessionBody(s, body);
          return ok(publicSession(s, true));
        }
        if (method === 'DELETE') {
          cancel(s.qrTimer);
          sessions.delete(s.id);
          byApiKey.delete(s.api_key);
          return { status: 204 };
        }
      }
      if (action === 'connect' && method === 'POST') {
        if (s.status === 'connected') return ok({ status: 'connected', message: 'Session already initialized' });
        if (s.status === 'connecting') return ok({ status: 'connecting' });
        const wasWaiting = s.status === 'need_scan';
        rotateQr(s);
        if (!wasWaiting) {
          s.status = 'need_scan';
          s.updated_at = iso();
          sessionLog(s, 'status_change');
        }
        return ok({ status: 'NEED_SCAN', qrCode: s.qr });
      }
      if (action === 'qrcode' && method === 'GET') {
        s.qrFetches++;
        if (s.status !== 'need_scan' || !s.qr) throw new HttpError(400, { success: false, message: 'Session not initialized. Call connect first.' });
        return ok({ qrCode: s.qr });
      }
      if (action === 'disconnect' && method === 'POST') {
        await setStatus(s, 'disconnected');
        return ok({ status: 'disconnected', message: 'WhatsApp session disconnected successfully' });
      }
      if (action === 'restart' && method === 'POST') {
        if (s.status !== 'connected') throw new HttpError(400, { success: false, message: 'Session is not connected' });
        sessionLog(s, 'session_restarted');
        return { status: 200, body: { success: true, message: 'WhatsApp session restarted successfully.' } };
      }
      if (action === 'regenerate-key' && method === 'POST') {
        byApiKey.delete(s.api_key);
        s.api_key = hex(32);
        byApiKey.set(s.api_key, s);
        return { status: 200, body: { success: true, api_key: s.api_key } };
      }
      if ((action === 'message-logs' || action === 'session-logs') && method === 'GET') {
        const url = new URL(req.url ?? '/', 'http://sandbox');
        const pageNo = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
        const perPage = Math.max(1, Math.min(100, Number(url.searchParams.get('per_page') ?? 10) || 10));
        const status = url.searchParams.get('status');
        const all = action === 'message-logs' ? s.messageLogs.filter((l) => !status || l.status === status).map((l) => ({ ...l, id: String(l.id), whatsapp_session_id: String(l.whatsapp_session_id) })) : s.sessionLogs;
        const items = [...all].reverse().slice((pageNo - 1) * perPage, pageNo * perPage);
        const lastPage = Math.max(1, Math.ceil(all.length / perPage));
        const base = `/api/whatsapp-sessions/${s.id}/${action}`;
        return ok({
          current_page: pageNo,
          data: items,
          first_page_url: `${base}?page=1`,
          from: items.length ? (pageNo - 1) * perPage + 1 : null,
          last_page: lastPage,
          last_page_url: `${base}?page=${lastPage}`,
          next_page_url: pageNo < lastPage ? `${base}?page=${pageNo + 1}` : null,
          path: base,
          per_page: perPage,
          prev_page_url: pageNo > 1 ? `${base}?page=${pageNo - 1}` : null,
          to: items.length ? (pageNo - 1) * perPage + items.length : null,
          total: all.length,
        });
      }
      throw new HttpError(404, { success: false, message: 'Not found.' });
    }

    // Everything else is authenticated with a session's API key.
    const s = requireSessionKey(req, path);
    const withLimits = (reply: Reply): Reply => ({ ...reply, headers: { ...rateLimitHeaders(s), ...reply.headers } });
    if (path === '/status' && method === 'GET') return withLimits({ status: 200, body: { status: s.status } });
    if (path === '/user' && method === 'GET') {
      if (s.status !== 'connected') throw new HttpError(400, { success: false, message: 'Session is not connected' });
      return withLimits(ok({ id: `${digitsOf(s.phone_number)}:12@s.whatsapp.net`, name: s.name, lid: `${digitsOf(s.phone_number).slice(-8)}000000@lid` }));
    }
    if (path === '/send-message' && method === 'POST') {
      const body = await readJson(req);
      validateSend(body);
      if (s.status !== 'connected') throw new HttpError(422, { success: false, message: 'Session is not connected' });
      enforceRateLimits(s);
      s.lastSendAt = now();
      s.sendTimes.push(now());
      const msgId = nextMsgId++;
      const to = String(body.to);
      const message: SentMessage = { msgId, sessionId: s.id, key: { id: waMessageId(), fromMe: true, remoteJid: toJid(to) }, message: waContent(body), timestamp: Math.floor(now() / 1000), status: 1 };
      sent.set(msgId, message);
      sentByKey.set(message.key.id, message);
      const entry: MessageLog = {
        id: msgId,
        whatsapp_session_id: s.id,
        to: s.log_messages ? to : null,
        content: s.log_messages ? JSON.stringify(body) : null,
        status: 'in_progress',
        failed_reason: null,
        created_at: iso().replace('T', ' ').replace('Z', ''),
        updated_at: iso().replace('T', ' ').replace('Z', ''),
      };
      s.messageLogs.push(entry);
      scheduleDelivery(s, message, entry);
      return withLimits(ok({ msgId, jid: to, status: 'in_progress' }));
    }
    const messageMatch = /^\/messages\/(\d+)(\/info|\/resend)?$/.exec(path);
    if (messageMatch) {
      const message = sent.get(Number(messageMatch[1]));
      if (!message || message.sessionId !== s.id) throw new HttpError(404, { success: false, message: 'Message not found.' });
      const info = () => ({ remoteJid: message.key.remoteJid, id: message.key.id, msgId: message.msgId, key: message.key, message: message.message, messageTimestamp: String(message.timestamp), status: message.status });
      if (messageMatch[2] === '/info' && method === 'GET') return withLimits(ok(info()));
      if (messageMatch[2] === '/resend' && method === 'POST') {
        const entry = s.messageLogs.find((l) => l.id === message.msgId);
        if (!entry || entry.status !== 'failed') throw new HttpError(400, { success: false, message: 'Only failed messages can be resent.' });
        entry.status = 'in_progress';
        scheduleDelivery(s, message, entry);
        return withLimits({ status: 200, body: { success: true, message: 'Message resend initiated successfully.' } });
      }
      if (!messageMatch[2] && method === 'PUT') {
        const body = await readJson(req);
        if (typeof body.text !== 'string' || !body.text) throw validation({ text: ['The text field is required.'] });
        message.message = { protocolMessage: { key: message.key, type: 14, timestampMs: String(now()), editedMessage: { conversation: body.text } } };
        return withLimits(ok({ ...info(), status: 1 }));
      }
      if (!messageMatch[2] && method === 'DELETE') {
        sent.delete(message.msgId);
        return withLimits({ status: 200, body: { success: true, message: 'Message deleted successfully.' } });
      }
    }
    if (path === '/messages/read' && method === 'POST') {
      const body = await readJson(req);
      const key = body.key as Record<string, unknown> | undefined;
      const errors: Record<string, string[]> = {};
      for (const f of ['id', 'remoteJid', 'fromMe']) if (key?.[f] === undefined) errors[`key.${f}`] = [`The key.${f} field is required.`];
      if (Object.keys(errors).length) throw validation(errors);
      s.readMarks.push({ id: String(key!.id), remoteJid: String(key!.remoteJid) });
      return withLimits(ok({ status: 'read' }));
    }
    if (path === '/upload' && method === 'POST') {
      const type = String(req.headers['content-type'] ?? '');
      let mime = type.split(';')[0]!.trim();
      if (mime === 'application/json') {
        const body = await readJson(req);
        const b64 = typeof body.base64 === 'string' ? body.base64 : '';
        const m = /^data:([^;]+);base64,/.exec(b64);
        mime = typeof body.mimetype === 'string' ? body.mimetype : (m?.[1] ?? '');
        if (!b64 || !mime) throw validation({ base64: ['The base64 field is required.'] });
      } else {
        const bytes = await readRaw(req);
        if (!bytes.length) throw validation({ file: ['The file field is required.'] });
      }
      const ext = mime.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin';
      return withLimits({ status: 200, body: { success: true, publicUrl: `https://wasenderapi.com/media/${randomBytes(16).toString('hex')}.${ext}` } });
    }
    if (path === '/decrypt-media' && method === 'POST') {
      const body = await readJson(req);
      const id = (((body.data as Record<string, unknown> | undefined)?.messages as Record<string, unknown> | undefined)?.key as { id?: string } | undefined)?.id;
      if (!id) throw validation({ 'data.messages.key.id': ['The data.messages.key.id field is required.'] });
      return withLimits({ status: 200, body: { success: true, publicUrl: `https://www.wasenderapi.com/api/decrypted-media/${id}` } });
    }
    const onWa = /^\/on-whatsapp\/(.+)$/.exec(path);
    if (onWa && method === 'GET') return withLimits(ok({ exists: /^\+?\d{8,15}$/.test(decodeURIComponent(onWa[1]!)) }));
    if (path === '/contacts' && method === 'GET') {
      const url = new URL(req.url ?? '/', 'http://sandbox');
      const contacts: unknown[] = [];
      if (url.searchParams.get('paginated') === 'true') {
        const pageNo = Number(url.searchParams.get('page') ?? 1);
        const limit = Number(url.searchParams.get('limit') ?? 20);
        return withLimits(ok({ items: contacts, pagination: { page: pageNo, limit, total: 0, totalPages: 0 } }));
      }
      return withLimits(ok(contacts));
    }
    if (path === '/contacts' && method === 'PUT') {
      const body = await readJson(req);
      if (typeof body.jid !== 'string') throw validation({ jid: ['The jid field is required.'] });
      return withLimits(ok({ jid: body.jid, fullName: body.fullName ?? null }));
    }
    const contact = /^\/contacts\/([^/]+)(\/picture|\/block|\/unblock)?$/.exec(path);
    if (contact) {
      const phone = digitsOf(decodeURIComponent(contact[1]!));
      if (!contact[2] && method === 'GET') return withLimits(ok({ id: `${phone}@s.whatsapp.net`, name: null, notify: null, verifiedName: null, imgUrl: null, status: null }));
      if (contact[2] === '/picture' && method === 'GET') return withLimits(ok({ imgUrl: null }));
      if (contact[2] === '/block' && method === 'POST') return withLimits(ok({ message: 'Contact blocked' }));
      if (contact[2] === '/unblock' && method === 'POST') return withLimits(ok({ message: 'Contact unblocked' }));
    }
    const lidFromPn = /^\/lid-from-pn\/(.+)$/.exec(path);
    if (lidFromPn && method === 'GET') {
      const pn = decodeURIComponent(lidFromPn[1]!);
      if (!pn.endsWith('@s.whatsapp.net')) throw validation({ pn: ['The pn must end with @s.whatsapp.net.'] });
      return withLimits(ok({ lid: `${digitsOf(pn).split('').reverse().join('')}00@lid` }));
    }
    const pnFromLid = /^\/pn-from-lid\/(.+)$/.exec(path);
    if (pnFromLid && method === 'GET') {
      const lid = decodeURIComponent(pnFromLid[1]!);
      if (!lid.endsWith('@lid')) throw validation({ lid: ['The lid must end with @lid.'] });
      return withLimits(ok({ pn: `${digitsOf(lid).slice(0, -2).split('').reverse().join('')}@s.whatsapp.net` }));
    }
    if (path === '/send-presence-update' && method === 'POST') {
      const body = await readJson(req);
      if (typeof body.jid !== 'string' || !['composing', 'recording', 'available', 'unavailable', 'paused'].includes(String(body.type))) {
        throw validation({ ...(typeof body.jid !== 'string' ? { jid: ['The jid field is required.'] } : {}), type: ['The selected type is invalid.'] });
      }
      return withLimits(ok({ jid: body.jid, type: body.type }));
    }
    throw new HttpError(404, { success: false, message: 'Not found.' });
  }

  async function control(req: IncomingMessage, path: string): Promise<Reply> {
    const method = req.method ?? 'GET';
    if (path === '/faults') {
      if (method === 'DELETE') {
        faults = [];
        return { status: 200, body: { cleared: true } };
      }
      if (method === 'POST') {
        const body = await readJson(req);
        const count = Number(body.count ?? 1);
        if (!Number.isInteger(count) || count < 1) throw new HttpError(422, { message: 'count must be a positive integer' });
        faults.push({
          path: typeof body.path === 'string' ? body.path : undefined,
          method: typeof body.method === 'string' ? body.method.toUpperCase() : undefined,
          status: typeof body.status === 'number' ? body.status : undefined,
          delayMs: typeof body.delayMs === 'number' ? body.delayMs : undefined,
          body: body.body,
          count,
        });
        return { status: 201, body: { faults: faults.length } };
      }
    }
    if (path === '/state' && method === 'GET') {
      return { status: 200, body: { sessions: [...sessions.values()].map((s) => ({ id: s.id, name: s.name, status: s.status, qr: s.qr, webhook_url: s.webhook_url, read_marks: s.readMarks, reads: s.reads, qr_fetches: s.qrFetches })) } };
    }
    const m = /^\/sessions\/([^/]+)\/(scan|inbound|drop|receipt|webhook)$/.exec(path);
    if (!m || method !== 'POST') throw new HttpError(404, { message: 'Unknown control endpoint' });
    const s = sessions.get(Number(m[1]));
    if (!s) throw new HttpError(404, { message: `No sandbox session ${m[1]}` });
    const body = await readJson(req);
    switch (m[2]) {
      case 'scan': {
        if (s.status !== 'need_scan') throw new HttpError(409, { message: `Nothing to scan: the session is ${s.status}` });
        await setStatus(s, 'connecting');
        await setStatus(s, 'connected');
        return { status: 200, body: { status: s.status } };
      }
      case 'drop': {
        const status = String(body.status ?? 'disconnected');
        if (!['disconnected', 'logged_out', 'expired'].includes(status)) throw new HttpError(422, { message: 'status must be disconnected, logged_out or expired' });
        await setStatus(s, status as SandboxSession['status']);
        return { status: 200, body: { status: s.status } };
      }
      case 'inbound': {
        if (s.status !== 'connected') throw new HttpError(409, { message: `The session is ${s.status}, not connected` });
        const { id, payload, group } = inboundMessage(s, body);
        const personal = group ? 'messages-group.received' : 'messages-personal.received';
        await deliver(s, 'messages.received', { messages: payload });
        await deliver(s, personal, { messages: payload });
        await deliver(s, 'messages.upsert', { messages: [payload] });
        return { status: 200, body: { id } };
      }
      case 'receipt': {
        const id = String(body.id ?? '');
        const status = Number(body.status ?? 3);
        const message = sentByKey.get(id);
        if (message) message.status = status;
        await deliver(s, 'messages.update', { update: { status }, key: { remoteJid: message?.key.remoteJid ?? 'unknown@s.whatsapp.net', id, fromMe: true } });
        return { status: 200, body: { id, status } };
      }
      case 'webhook': {
        if (!s.webhook_url) throw new HttpError(409, { message: 'The session has no webhook URL' });
        if (typeof body.event !== 'string') throw new HttpError(422, { message: 'event is required' });
        const status = await deliver(s, body.event, body.data ?? null, typeof body.timestamp === 'number' ? body.timestamp : undefined);
        return { status: 200, body: { status } };
      }
    }
    throw new HttpError(404, { message: 'Unknown control endpoint' });
  }

  function takeFault(method: string, path: string): Fault | null {
    const fault = faults.find((f) => (!f.method || f.method === method) && (!f.path || path.startsWith(f.path)));
    if (!fault) return null;
    fault.count--;
    if (fault.count <= 0) faults = faults.filter((f) => f !== fault);
    return fault;
  }

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  return {
    async handle(req, res, pathname) {
      try {
        let reply: Reply;
        if (pathname.startsWith('/api/')) {
          const path = pathname.slice('/api'.length);
          if (opts.latencyMs) await pause(opts.latencyMs);
          const fault = takeFault(req.method ?? 'GET', path);
          if (fault?.delayMs) await pause(fault.delayMs);
          if (fault?.status) {
            req.resume();
            reply = { status: fault.status, body: fault.body ?? { success: false, message: `Injected failure (HTTP ${fault.status})` } };
          } else reply = await api(req, path);
        } else if (pathname.startsWith('/control/')) {
          if (opts.authorizeControl && !(await opts.authorizeControl(req))) {
            throw new HttpError(401, { message: 'The sandbox control endpoints require authorization' });
          }
          reply = await control(req, pathname.slice('/control'.length));
        } else throw new HttpError(404, { success: false, message: 'Not found.' });
        if (!res.destroyed) send(res, reply.status, reply.body, reply.headers);
      } catch (error) {
        if (error instanceof HttpError) {
          req.resume();
          if (!res.destroyed) send(res, error.status, error.body);
          return;
        }
        log.error({ error: error instanceof Error ? error.message : String(error) }, 'sandbox error');
        if (!res.destroyed) send(res, 500, { success: false, message: 'Server Error' });
      }
    },
    async close() {
      closed = true;
      for (const t of timers) clock.clearTimeout(t);
      timers.clear();
    },
  };
}
