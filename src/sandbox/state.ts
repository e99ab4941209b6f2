/**
 * Sandbox sessions and their state machine (shared/wasender-api.md §3.4): create → disconnected →
 * connect → need_scan (a QR rotating every `qrRotateMs`) → scan → connecting → connected →
 * logged_out | expired | disconnected. Every status change is logged and reported by webhook.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { TimerHandle } from '../lib/clock.ts';
import type { Scheduler } from './scheduler.ts';
import type { Deliver } from './webhooks.ts';

export const SESSION_STATUSES = ['disconnected', 'connecting', 'need_scan', 'connected', 'logged_out', 'expired'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** The settings a client may set on create and update, in the provider's names. */
export const BOOLEAN_SETTINGS = ['account_protection', 'log_messages', 'read_incoming_messages', 'auto_reject_calls', 'ignore_groups', 'ignore_channels', 'ignore_broadcasts', 'always_online', 'webhook_enabled'] as const;
export const SESSION_SETTINGS = ['name', 'phone_number', ...BOOLEAN_SETTINGS, 'proxy_url', 'webhook_url', 'webhook_events'] as const;

export interface SessionSettings {
  name: string;
  phone_number: string;
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
}

export interface MessageLog {
  id: number;
  whatsapp_session_id: number;
  to: string | null;
  content: string | null;
  status: 'in_progress' | 'sent' | 'failed';
  failed_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface SessionLog {
  id: number;
  whatsapp_session_id: number;
  event_type: string;
  status: string;
  occurred_at: string;
}

export interface SandboxSession extends SessionSettings {
  id: number;
  status: SessionStatus;
  api_key: string;
  webhook_secret: string;
  created_at: string;
  updated_at: string;
  qr: string | null;
  qrTimer: TimerHandle | null;
  messageLogs: MessageLog[];
  sessionLogs: SessionLog[];
  /** Messages marked read through /messages/read (the blue ticks their senders would see). */
  readMarks: { id: string; remoteJid: string }[];
  /** Times the session was read with GET /whatsapp-sessions/{id} (what status checks cost). */
  reads: number;
  /** Times its QR was fetched with GET /whatsapp-sessions/{id}/qrcode. */
  qrFetches: number;
  /** Calls of POST /decrypt-media with its key (what viewing media costs). */
  decryptMediaCalls: number;
}

const DEFAULT_SETTINGS: SessionSettings = {
  name: '',
  phone_number: '',
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
};

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const newQr = () => `2@${randomBytes(24).toString('base64')},${randomBytes(16).toString('base64')},${randomBytes(16).toString('base64')}`;

/** ISO-8601 without milliseconds, as the provider writes `created_at`/`updated_at`. */
export const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function createSessionStore(deps: { now: () => number; scheduler: Scheduler; deliver: Deliver; qrRotateMs: number }) {
  const { now, scheduler, deliver } = deps;
  const sessions = new Map<number, SandboxSession>();
  const byApiKey = new Map<string, SandboxSession>();
  // Ids in the provider's range, different for each sandbox, so two sandboxes writing to one
  // database (several test processes) never hand out the same id.
  let nextSessionId = 1_000 + randomInt(9_000_000);
  let nextLogId = 1;

  function log(s: SandboxSession, eventType: string) {
    s.sessionLogs.push({ id: nextLogId++, whatsapp_session_id: s.id, event_type: eventType, status: s.status, occurred_at: new Date(now()).toISOString().replace('Z', '000Z') });
  }

  function rotateQr(s: SandboxSession) {
    scheduler.cancel(s.qrTimer);
    s.qr = newQr();
    s.qrTimer = scheduler.later(deps.qrRotateMs, () => {
      if (s.status !== 'need_scan' || !sessions.has(s.id)) return;
      rotateQr(s);
      void deliver(s, 'qrcode.updated', { qr: s.qr });
    });
  }

  async function setStatus(s: SandboxSession, status: SessionStatus) {
    if (status !== 'need_scan') {
      scheduler.cancel(s.qrTimer);
      s.qrTimer = null;
      s.qr = null;
    }
    s.status = status;
    s.updated_at = isoSeconds(now());
    log(s, 'status_change');
    await deliver(s, 'session.status', { status });
  }

  function applySettings(s: SandboxSession, settings: Record<string, unknown>) {
    for (const field of SESSION_SETTINGS) if (settings[field] !== undefined) (s as unknown as Record<string, unknown>)[field] = settings[field];
    s.updated_at = isoSeconds(now());
  }

  return {
    get: (id: number) => sessions.get(id) ?? null,
    byApiKey: (key: string) => byApiKey.get(key) ?? null,
    list: () => [...sessions.values()],
    count: () => sessions.size,
    exists: (s: SandboxSession) => sessions.get(s.id) === s,
    phoneTaken: (phone: string) => [...sessions.values()].some((s) => s.phone_number === phone),
    log,
    setStatus,

    create(settings: Record<string, unknown>): SandboxSession {
      const s: SandboxSession = {
        ...DEFAULT_SETTINGS,
        id: nextSessionId++,
        status: 'disconnected',
        api_key: hex(32),
        webhook_secret: hex(16),
        created_at: isoSeconds(now()),
        updated_at: isoSeconds(now()),
        qr: null,
        qrTimer: null,
        messageLogs: [],
        sessionLogs: [],
        readMarks: [],
        reads: 0,
        qrFetches: 0,
        decryptMediaCalls: 0,
      };
      applySettings(s, settings);
      sessions.set(s.id, s);
      byApiKey.set(s.api_key, s);
      return s;
    },

    applySettings,

    remove(s: SandboxSession) {
      scheduler.cancel(s.qrTimer);
      sessions.delete(s.id);
      byApiKey.delete(s.api_key);
    },

    regenerateKey(s: SandboxSession): string {
      byApiKey.delete(s.api_key);
      s.api_key = hex(32);
      byApiKey.set(s.api_key, s);
      return s.api_key;
    },

    /**
     * Starts (or refreshes) a link: a new QR; linked or linking sessions stay as they are.
     * `report` sends what the provider sends once it has answered: `session.status` need_scan
     * (when the status changed) and the QR as `qrcode.updated` (unless it rotated meanwhile).
     */
    connect(s: SandboxSession): { status: SessionStatus; qr: string | null; report: () => Promise<void> } {
      if (s.status === 'connected' || s.status === 'connecting') return { status: s.status, qr: null, report: async () => {} };
      const wasWaiting = s.status === 'need_scan';
      rotateQr(s);
      if (!wasWaiting) {
        s.status = 'need_scan';
        s.updated_at = isoSeconds(now());
        log(s, 'status_change');
      }
      const qr = s.qr;
      const report = async () => {
        if (!wasWaiting) await deliver(s, 'session.status', { status: 'need_scan' });
        if (s.qr === qr) await deliver(s, 'qrcode.updated', { qr });
      };
      return { status: 'need_scan', qr, report };
    },

    /** The phone scans the QR. */
    async scan(s: SandboxSession) {
      await setStatus(s, 'connecting');
      await setStatus(s, 'connected');
    },

    /** The session as the API shows it; the list leaves the secrets out. */
    publicView(s: SandboxSession, withSecrets: boolean) {
      const view: Record<string, unknown> = { id: s.id, status: s.status, created_at: s.created_at, updated_at: s.updated_at };
      for (const field of SESSION_SETTINGS) view[field] = s[field];
      const ordered = { id: s.id, name: s.name, phone_number: s.phone_number, ...view };
      return withSecrets ? { ...ordered, api_key: s.api_key, webhook_secret: s.webhook_secret } : ordered;
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
