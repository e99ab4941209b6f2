/**
 * Messages sent through the API: what WhatsApp would carry (raw proto-shaped content), the
 * message log, and the asynchronous outcome the provider reports (`message.sent`, then
 * `messages.update` 2 → 3 → 4).
 */
import { randomBytes } from 'node:crypto';
import type { Scheduler } from './scheduler.ts';
import type { UserDirectory } from './users.ts';
import { isoSeconds, type MessageLog, type SandboxSession } from './state.ts';
import type { Deliver } from './webhooks.ts';

export interface SentMessage {
  msgId: number;
  sessionId: number;
  key: { id: string; fromMe: boolean; remoteJid: string };
  message: Record<string, unknown>;
  timestamp: number;
  status: number;
  /** The `/send-message` body as received, and when (ms): what the control state shows. */
  body: Record<string, unknown>;
  receivedAt: number;
}

/** Why the provider's log says a send to a number that is not on WhatsApp failed. */
export const INVALID_NUMBER_REASON = 'invalid WhatsApp number';

export const waMessageId = () => '3EB0' + randomBytes(9).toString('hex').toUpperCase();
export const digitsOf = (phone: string) => phone.replace(/[^\d]/g, '');

/** A recipient as the provider accepts it (E.164, digits or a JID) as a JID. */
export function toJid(to: string): string {
  return to.includes('@') ? to : `${digitsOf(to)}@s.whatsapp.net`;
}

/** A `/send-message` body as WhatsApp message content. */
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

/** `created_at` of a message log: `YYYY-MM-DD HH:MM:SS`. */
const logTime = (ms: number) => isoSeconds(ms).replace('T', ' ').replace('Z', '');

export function createOutbound(deps: { now: () => number; scheduler: Scheduler; deliver: Deliver; deliveryDelayMs: number; users: UserDirectory }) {
  const { now, scheduler, deliver } = deps;
  const sent = new Map<number, SentMessage>();
  const sentByKey = new Map<string, SentMessage>();
  let nextMsgId = 100_000;

  function scheduleDelivery(s: SandboxSession, message: SentMessage, logEntry: MessageLog) {
    const step = deps.deliveryDelayMs / 4;
    if (!deps.users.exists(message.key.remoteJid)) {
      // Accepted, then refused by WhatsApp: the log says why, the webhooks say it failed.
      scheduler.later(step, () => {
        logEntry.status = 'failed';
        logEntry.failed_reason = INVALID_NUMBER_REASON;
        logEntry.updated_at = logTime(now());
        message.status = 0;
        void (async () => {
          await deliver(s, 'message.sent', { key: message.key, message: message.message, success: false });
          await deliver(s, 'messages.update', { update: { status: 0 }, key: message.key });
        })();
      });
      return;
    }
    scheduler.later(step, () => {
      logEntry.status = 'sent';
      logEntry.updated_at = isoSeconds(now());
      void deliver(s, 'message.sent', { key: message.key, message: message.message, success: true });
    });
    [2, 3, 4].forEach((status, i) =>
      scheduler.later(step * (i + 2), () => {
        message.status = status;
        void deliver(s, 'messages.update', { update: { status }, key: message.key });
      }),
    );
  }

  return {
    /** Queues a validated send: answers its msgId at once, reports the outcome by webhook later. */
    send(s: SandboxSession, body: Record<string, unknown>): SentMessage {
      const msgId = nextMsgId++;
      const to = String(body.to);
      const message: SentMessage = {
        msgId,
        sessionId: s.id,
        key: { id: waMessageId(), fromMe: true, remoteJid: toJid(to) },
        message: waContent(body),
        timestamp: Math.floor(now() / 1000),
        status: 1,
        body,
        receivedAt: now(),
      };
      sent.set(msgId, message);
      sentByKey.set(message.key.id, message);
      const entry: MessageLog = {
        id: msgId,
        whatsapp_session_id: s.id,
        to: s.log_messages ? to : null,
        content: s.log_messages ? JSON.stringify(body) : null,
        status: 'in_progress',
        failed_reason: null,
        created_at: logTime(now()),
        updated_at: logTime(now()),
      };
      s.messageLogs.push(entry);
      scheduleDelivery(s, message, entry);
      return message;
    },

    /** A message this session sent, by msgId. */
    find(s: SandboxSession, msgId: number): SentMessage | null {
      const message = sent.get(msgId);
      return message && message.sessionId === s.id ? message : null;
    },

    byKeyId: (id: string) => sentByKey.get(id) ?? null,

    /** Every send a session received, in order: its msgId, body and arrival time (ms). */
    sentBy(s: SandboxSession) {
      return [...sent.values()].filter((m) => m.sessionId === s.id).map((m) => ({ msg_id: m.msgId, to: m.body.to, body: m.body, received_at: m.receivedAt }));
    },

    info(message: SentMessage) {
      return { remoteJid: message.key.remoteJid, id: message.key.id, msgId: message.msgId, key: message.key, message: message.message, messageTimestamp: String(message.timestamp), status: message.status };
    },

    /** Resends a failed message; false when its log entry is not `failed`. */
    resend(s: SandboxSession, message: SentMessage): boolean {
      const entry = s.messageLogs.find((l) => l.id === message.msgId);
      if (!entry || entry.status !== 'failed') return false;
      entry.status = 'in_progress';
      scheduleDelivery(s, message, entry);
      return true;
    },

    edit(message: SentMessage, text: string) {
      message.message = { protocolMessage: { key: message.key, type: 14, timestampMs: String(now()), editedMessage: { conversation: text } } };
    },

    remove(message: SentMessage) {
      sent.delete(message.msgId);
    },
  };
}

export type Outbound = ReturnType<typeof createOutbound>;
