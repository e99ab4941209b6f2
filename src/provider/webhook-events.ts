/**
 * The provider's webhook events, parsed and normalised. Tolerant of every variant the contract lists
 * (object or array `messages`, `data.key` directly, seconds or milliseconds, integer or string
 * statuses, old and new shapes): unknown events and fields are kept, not refused.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../lib/canonical-json.ts';

export class WebhookPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookPayloadError';
  }
}

export interface WebhookEnvelope {
  event: string;
  /** The envelope's `sessionId`: the session's API key (a secret). */
  sessionKey: string | null;
  timestampMs: number | null;
  data: unknown;
}

export type MessageKind = 'TEXT' | 'IMAGE' | 'VIDEO' | 'AUDIO' | 'DOCUMENT' | 'STICKER' | 'LOCATION' | 'CONTACT' | 'POLL' | 'REACTION' | 'OTHER';
export type DeliveryStatus = 'ERROR' | 'PENDING' | 'SENT' | 'DELIVERED' | 'READ' | 'PLAYED';

export interface MessageKey {
  id: string;
  remoteJid: string;
  fromMe: boolean;
  participant: string | null;
}

export interface MediaInfo {
  mimetype: string | null;
  url: string | null;
  directPath: string | null;
  mediaKey: string | null;
  fileSha256: string | null;
  fileLength: number | null;
  fileName: string | null;
  seconds: number | null;
  caption: string | null;
}

export interface InboundMessage {
  id: string;
  remoteJid: string;
  fromMe: boolean;
  /** The conversation: the group for group messages, else the remote party. */
  chatJid: string;
  isGroup: boolean;
  isNewsletter: boolean;
  isBroadcast: boolean;
  senderJid: string | null;
  /** E.164, where the payload reveals it. */
  senderPhone: string | null;
  senderLid: string | null;
  pushName: string | null;
  timestampMs: number;
  kind: MessageKind;
  text: string | null;
  media: MediaInfo | null;
  location: { latitude: number; longitude: number; name: string | null; address: string | null } | null;
  contact: { displayName: string | null; vcard: string | null; phone: string | null } | null;
  poll: { question: string; options: string[]; multiSelect: boolean } | null;
  reaction: { text: string; targetId: string } | null;
  quotedMessageId: string | null;
  edit: { targetId: string; text: string } | null;
  revokedId: string | null;
  raw: unknown;
}

export type NormalizedWebhookEvent =
  | { type: 'message'; message: InboundMessage }
  /** Our own message went out (from the API or the phone); `message` is it, parsed like an incoming one. */
  | { type: 'message.sent'; key: MessageKey; success: boolean; message: InboundMessage }
  | { type: 'message.status'; key: MessageKey; status: DeliveryStatus; timestampMs: number | null }
  | { type: 'message.receipt'; key: MessageKey; userJid: string | null; status: 'DELIVERED' | 'READ'; timestampMs: number | null }
  | { type: 'message.deleted'; key: MessageKey }
  | { type: 'message.reaction'; key: MessageKey; text: string; senderJid: string | null; timestampMs: number | null }
  | { type: 'poll.results'; key: MessageKey; results: { name: string; voters: string[] }[] }
  | { type: 'session.status'; status: string; reason: string | null }
  | { type: 'qrcode.updated'; qr: string }
  | { type: 'chat.upsert' | 'chat.update'; chat: { jid: string; name: string | null; unreadCount: number | null; conversationTimestampMs: number | null } }
  | { type: 'chat.delete'; jid: string }
  | { type: 'group.upsert'; group: { jid: string; subject: string | null; description: string | null; ownerJid: string | null; createdAtMs: number | null; participants: { jid: string; isAdmin: boolean; isSuperAdmin: boolean }[] } }
  | { type: 'group.update'; group: { jid: string; subject?: string | null; announce?: boolean | null; restrict?: boolean | null } }
  | { type: 'group.participants'; jid: string; participants: string[]; action: string }
  | { type: 'contact.upsert' | 'contact.update'; contact: { jid: string; phone: string | null; lid: string | null; name: string | null; notify: string | null; verifiedName: string | null; imgUrl: string | null; status: string | null } }
  | { type: 'call'; call: { id: string; fromJid: string | null; isGroup: boolean; isVideo: boolean; status: string | null; timestampMs: number | null } }
  | { type: 'unknown'; event: string };

// --- small tolerant readers -----------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
const bool = (v: unknown): boolean => v === true || v === 'true' || v === 1;
const num = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
};
/** Long-valued protobuf numbers sometimes arrive as `{ low, high }`. */
const longNum = (v: unknown): number | null => (isObj(v) && 'low' in v ? num(v.low) : num(v));
/** Unix seconds or milliseconds → milliseconds. */
export function toMillis(v: unknown): number | null {
  if (typeof v === 'string' && !/^\d+(\.\d+)?$/.test(v.trim())) {
    const parsed = Date.parse(v);
    return Number.isNaN(parsed) ? null : parsed;
  }
  const n = longNum(v);
  if (n === null || n <= 0) return null;
  return n < 1e12 ? Math.round(n * 1000) : Math.round(n);
}
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

export type JidKind = 'user' | 'lid' | 'group' | 'newsletter' | 'broadcast' | 'unknown';

export function jidKind(jid: string): JidKind {
  if (jid.endsWith('@s.whatsapp.net') || jid.endsWith('@c.us')) return 'user';
  if (jid.endsWith('@lid')) return 'lid';
  if (jid.endsWith('@g.us')) return 'group';
  if (jid.endsWith('@newsletter')) return 'newsletter';
  if (jid.endsWith('@broadcast')) return 'broadcast';
  return 'unknown';
}

/** E.164 from a user jid (`<digits>[:device]@s.whatsapp.net`) or bare digits; null for ids without a number. */
export function phoneFromJid(value: string | null | undefined): string | null {
  if (!value) return null;
  const kind = value.includes('@') ? jidKind(value) : 'user';
  if (kind !== 'user') return null;
  const digits = value.split('@')[0]!.split(':')[0]!.replace(/^\+/, '');
  return /^\d{6,15}$/.test(digits) ? `+${digits}` : null;
}

// --- envelope ---------------------------------------------------------------------------------------

const Envelope = z.looseObject({
  event: z.string().min(1),
  sessionId: z.unknown().optional(),
  timestamp: z.unknown().optional(),
  data: z.unknown().optional(),
});

export function parseWebhookEnvelope(body: unknown): WebhookEnvelope {
  if (!isObj(body)) throw new WebhookPayloadError('The webhook body must be a JSON object');
  const parsed = Envelope.safeParse(body);
  if (!parsed.success) throw new WebhookPayloadError('The webhook body has no "event"');
  const { event, sessionId, timestamp, data } = parsed.data;
  return { event, sessionKey: str(sessionId), timestampMs: toMillis(timestamp), data: data ?? null };
}

// --- messages ---------------------------------------------------------------------------------------

function readKey(v: unknown): MessageKey | null {
  if (!isObj(v)) return null;
  const id = str(v.id);
  const remoteJid = str(v.remoteJid);
  if (!id || !remoteJid) return null;
  return { id, remoteJid, fromMe: bool(v.fromMe), participant: str(v.participant) };
}

const MEDIA_KINDS: [string, MessageKind][] = [
  ['imageMessage', 'IMAGE'],
  ['videoMessage', 'VIDEO'],
  ['audioMessage', 'AUDIO'],
  ['documentMessage', 'DOCUMENT'],
  ['documentWithCaptionMessage', 'DOCUMENT'],
  ['stickerMessage', 'STICKER'],
  ['ptvMessage', 'VIDEO'],
];

/** Ephemeral, view-once and similar wrappers hold the real content one level down. */
function unwrap(content: Obj): Obj {
  for (const wrapper of ['ephemeralMessage', 'viewOnceMessage', 'viewOnceMessageV2', 'viewOnceMessageV2Extension', 'documentWithCaptionMessage', 'editedMessage']) {
    const inner = content[wrapper];
    if (isObj(inner) && isObj(inner.message)) return unwrap(inner.message);
  }
  return content;
}

function mediaOf(m: Obj): MediaInfo {
  return {
    mimetype: str(m.mimetype),
    url: str(m.url),
    directPath: str(m.directPath),
    mediaKey: str(m.mediaKey),
    fileSha256: str(m.fileSha256),
    fileLength: longNum(m.fileLength),
    fileName: str(m.fileName) ?? str(m.title),
    seconds: num(m.seconds) ?? num(m.duration),
    caption: str(m.caption),
  };
}

function phoneFromVcard(vcard: string | null): string | null {
  if (!vcard) return null;
  const waid = /waid=(\d{6,15})/.exec(vcard);
  if (waid) return `+${waid[1]}`;
  const tel = /TEL[^:]*:([+\d\s\-()]{6,})/.exec(vcard);
  const digits = tel?.[1]?.replace(/[^\d]/g, '');
  return digits && digits.length >= 6 ? `+${digits}` : null;
}

function textOf(content: Obj): string | null {
  const ext = content.extendedTextMessage;
  return str(content.conversation) ?? (isObj(ext) ? str(ext.text) : null);
}

function readMessage(v: unknown, fallbackTimestampMs: number | null): InboundMessage | null {
  if (!isObj(v)) return null;
  const key = isObj(v.key) ? v.key : null;
  const id = key ? str(key.id) : null;
  const remoteJid = key ? str(key.remoteJid) : null;
  if (!key || !id || !remoteJid) return null;

  const fromMe = bool(key.fromMe);
  const kind0 = jidKind(remoteJid);
  const isGroup = kind0 === 'group';
  const participant = str(key.participant);
  const senderJid = fromMe ? null : isGroup ? participant : remoteJid;
  const senderPhone = fromMe
    ? null
    : phoneFromJid(str(isGroup ? key.cleanedParticipantPn : key.cleanedSenderPn)) ??
      phoneFromJid(str(isGroup ? key.participantPn : key.senderPn)) ??
      phoneFromJid(senderJid);
  const senderLid = str(isGroup ? key.participantLid : key.senderLid) ?? (senderJid && jidKind(senderJid) === 'lid' ? senderJid : null);

  const content = isObj(v.message) ? unwrap(v.message) : {};
  const base = {
    id,
    remoteJid,
    fromMe,
    chatJid: remoteJid,
    isGroup,
    isNewsletter: kind0 === 'newsletter',
    isBroadcast: kind0 === 'broadcast',
    senderJid,
    senderPhone,
    senderLid,
    pushName: str(v.pushName) ?? str(v.notifyName),
    timestampMs: toMillis(v.messageTimestamp) ?? fallbackTimestampMs ?? Date.now(),
    media: null,
    location: null,
    contact: null,
    poll: null,
    reaction: null,
    quotedMessageId: null,
    edit: null,
    revokedId: null,
    raw: v,
  } satisfies Partial<InboundMessage>;

  let kind: MessageKind = 'OTHER';
  let text: string | null = str(v.messageBody);
  const extra: Partial<InboundMessage> = {};
  const contextInfo = Object.values(content).find((c) => isObj(c) && isObj(c.contextInfo)) as Obj | undefined;
  if (contextInfo && isObj(contextInfo.contextInfo)) extra.quotedMessageId = str(contextInfo.contextInfo.stanzaId);

  const media = MEDIA_KINDS.find(([field]) => isObj(content[field]));
  const protocol = content.protocolMessage;
  if (isObj(protocol)) {
    const target = readKey(protocol.key);
    const type = num(protocol.type) ?? (protocol.type === 'REVOKE' ? 0 : protocol.type === 'MESSAGE_EDIT' ? 14 : null);
    if (type === 14 && target && isObj(protocol.editedMessage)) {
      extra.edit = { targetId: target.id, text: textOf(unwrap(protocol.editedMessage)) ?? str(v.messageBody) ?? '' };
    } else if (type === 0 && target) {
      extra.revokedId = target.id;
    }
    kind = 'OTHER';
  } else if (textOf(content) !== null) {
    kind = 'TEXT';
    text = textOf(content);
  } else if (media) {
    const m = content[media[0]] as Obj;
    kind = media[1];
    extra.media = mediaOf(m);
    text = str(m.caption) ?? text;
  } else if (isObj(content.locationMessage) || isObj(content.liveLocationMessage)) {
    const loc = (content.locationMessage ?? content.liveLocationMessage) as Obj;
    const latitude = num(loc.degreesLatitude);
    const longitude = num(loc.degreesLongitude);
    if (latitude !== null && longitude !== null) {
      kind = 'LOCATION';
      extra.location = { latitude, longitude, name: str(loc.name), address: str(loc.address) };
    }
  } else if (isObj(content.contactMessage)) {
    const c = content.contactMessage;
    kind = 'CONTACT';
    extra.contact = { displayName: str(c.displayName), vcard: str(c.vcard), phone: phoneFromVcard(str(c.vcard)) };
    text = text ?? str(c.displayName);
  } else if (isObj(content.contactsArrayMessage)) {
    const first = asArray(content.contactsArrayMessage.contacts).find(isObj);
    kind = 'CONTACT';
    extra.contact = first ? { displayName: str(first.displayName), vcard: str(first.vcard), phone: phoneFromVcard(str(first.vcard)) } : null;
  } else {
    const pollField = ['pollCreationMessage', 'pollCreationMessageV2', 'pollCreationMessageV3'].find((f) => isObj(content[f]));
    if (pollField) {
      const p = content[pollField] as Obj;
      kind = 'POLL';
      const question = str(p.name) ?? '';
      extra.poll = {
        question,
        options: asArray(p.options).map((o) => (isObj(o) ? str(o.optionName) : str(o))).filter((o): o is string => o !== null),
        multiSelect: (num(p.selectableOptionsCount) ?? 1) !== 1,
      };
      text = question;
    } else if (isObj(content.reactionMessage)) {
      const r = content.reactionMessage;
      const target = readKey(r.key);
      kind = 'REACTION';
      if (target) extra.reaction = { text: str(r.text) ?? '', targetId: target.id };
    }
  }
  return { ...base, ...extra, kind, text: text ?? null };
}

/** `data.messages` (object or array), or the message itself directly under `data` (SDK variant). */
function messagesOf(data: unknown): unknown[] {
  if (Array.isArray(data)) return data.flatMap(messagesOf);
  if (!isObj(data)) return [];
  if ('messages' in data) return asArray(data.messages);
  if (isObj(data.key)) return [data];
  return [];
}

const MESSAGE_EVENTS = new Set(['messages.received', 'messages-personal.received', 'messages-group.received', 'messages-newsletter.received', 'messages.upsert']);

const STATUS_NAMES: Record<string, DeliveryStatus> = {
  '0': 'ERROR', error: 'ERROR', failed: 'ERROR',
  '1': 'PENDING', pending: 'PENDING',
  '2': 'SENT', sent: 'SENT', server_ack: 'SENT',
  '3': 'DELIVERED', delivered: 'DELIVERED', delivery_ack: 'DELIVERED',
  '4': 'READ', read: 'READ',
  '5': 'PLAYED', played: 'PLAYED',
};

export function deliveryStatus(v: unknown): DeliveryStatus | null {
  const k = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.toLowerCase() : '';
  return STATUS_NAMES[k] ?? null;
}

function contactOf(v: Obj) {
  const given = str(v.jid) ?? str(v.id);
  if (!given) return null;
  // The contact list's shape (`jid: "<digits>"`) names a user by number alone.
  const jid = /^\d{6,15}$/.test(given) ? `${given}@s.whatsapp.net` : given;
  return {
    jid,
    phone: phoneFromJid(jid),
    lid: str(v.lid) ?? (jidKind(jid) === 'lid' ? jid : null),
    name: str(v.name),
    notify: str(v.notify),
    verifiedName: str(v.verifiedName),
    imgUrl: str(v.imgUrl),
    status: str(v.status),
  };
}

/** The typed items of one event; malformed items are skipped, unknown events become `unknown`. */
export function normalizeWebhookEvent(envelope: WebhookEnvelope): NormalizedWebhookEvent[] {
  const { event, data, timestampMs } = envelope;
  const out: NormalizedWebhookEvent[] = [];
  const objects = asArray(data).filter(isObj);

  if (MESSAGE_EVENTS.has(event)) {
    for (const raw of messagesOf(data)) {
      const message = readMessage(raw, timestampMs);
      if (message) out.push({ type: 'message', message });
    }
    return out;
  }
  switch (event) {
    case 'message.sent':
      for (const o of objects) {
        const key = readKey(o.key);
        const message = readMessage(o, timestampMs);
        if (key && message) out.push({ type: 'message.sent', key, success: o.success !== false, message });
      }
      return out;
    case 'messages.update':
      for (const o of objects) {
        const key = readKey(o.key);
        const status = deliveryStatus(isObj(o.update) ? o.update.status : o.status);
        if (key && status) out.push({ type: 'message.status', key, status, timestampMs });
      }
      return out;
    case 'message-receipt.update':
      for (const o of objects) {
        // Docs: { message: { key, receipt } }; SDK: { key, receipt }.
        const holder = isObj(o.message) && isObj(o.message.key) ? o.message : o;
        const key = readKey(holder.key);
        const receipt = isObj(holder.receipt) ? holder.receipt : isObj(o.receipt) ? o.receipt : {};
        if (!key) continue;
        const read = receipt.readTimestamp != null || deliveryStatus(receipt.status) === 'READ' || receipt.type === 'read';
        out.push({
          type: 'message.receipt',
          key,
          userJid: str(receipt.userJid),
          status: read ? 'READ' : 'DELIVERED',
          timestampMs: toMillis(receipt.readTimestamp ?? receipt.receiptTimestamp ?? receipt.t) ?? timestampMs,
        });
      }
      return out;
    case 'messages.delete':
      for (const o of objects) for (const k of asArray(o.keys ?? o.key)) {
        const key = readKey(k);
        if (key) out.push({ type: 'message.deleted', key });
      }
      return out;
    case 'messages.reaction':
      for (const o of objects) {
        const reaction = isObj(o.reaction) ? o.reaction : {};
        const key = readKey(reaction.key) ?? readKey(o.key);
        if (!key) continue;
        const reactor = readKey(o.key);
        out.push({
          type: 'message.reaction',
          key,
          text: str(reaction.text) ?? '',
          senderJid: str(reaction.senderJid) ?? (reactor && !reactor.fromMe ? (reactor.participant ?? reactor.remoteJid) : null),
          timestampMs: toMillis(reaction.senderTimestampMs) ?? timestampMs,
        });
      }
      return out;
    case 'poll.results':
      for (const o of objects) {
        const key = readKey(o.key);
        if (!key) continue;
        const results = asArray(o.pollResult ?? o.pollResults)
          .filter(isObj)
          .map((r) => ({ name: str(r.name) ?? '', voters: asArray(r.voters).map(str).filter((x): x is string => x !== null) }));
        out.push({ type: 'poll.results', key, results });
      }
      return out;
    case 'session.status': {
      const o = objects[0] ?? {};
      const status = str(o.status) ?? str(data);
      if (status) out.push({ type: 'session.status', status: status.toLowerCase(), reason: str(o.reason) });
      return out;
    }
    case 'qrcode.updated': {
      const o = objects[0] ?? {};
      const qr = str(o.qr) ?? str(o.qrCode) ?? str(data);
      if (qr) out.push({ type: 'qrcode.updated', qr });
      return out;
    }
    case 'chats.upsert':
    case 'chats.update':
      for (const o of objects) {
        const jid = str(o.id) ?? str(o.jid);
        if (!jid) continue;
        out.push({
          type: event === 'chats.upsert' ? 'chat.upsert' : 'chat.update',
          chat: { jid, name: str(o.name), unreadCount: num(o.unreadCount), conversationTimestampMs: toMillis(o.conversationTimestamp) },
        });
      }
      return out;
    case 'chats.delete':
      for (const item of asArray(data)) {
        const jid = str(item) ?? (isObj(item) ? str(item.id) ?? str(item.jid) : null);
        if (jid) out.push({ type: 'chat.delete', jid });
      }
      return out;
    case 'groups.upsert':
      for (const o of objects) {
        const jid = str(o.jid) ?? str(o.id);
        if (!jid) continue;
        out.push({
          type: 'group.upsert',
          group: {
            jid,
            subject: str(o.subject),
            description: str(o.desc),
            ownerJid: str(o.owner),
            createdAtMs: toMillis(o.creation),
            participants: asArray(o.participants)
              .filter(isObj)
              .flatMap((p) => {
                const pj = str(p.jid) ?? str(p.id);
                return pj ? [{ jid: pj, isAdmin: bool(p.isAdmin) || p.admin === 'admin' || p.admin === 'superadmin', isSuperAdmin: bool(p.isSuperAdmin) || p.admin === 'superadmin' }] : [];
              }),
          },
        });
      }
      return out;
    case 'groups.update':
      for (const o of objects) {
        const jid = str(o.jid) ?? str(o.id);
        if (jid) out.push({ type: 'group.update', group: { jid, subject: str(o.subject), announce: typeof o.announce === 'boolean' ? o.announce : null, restrict: typeof o.restrict === 'boolean' ? o.restrict : null } });
      }
      return out;
    case 'group-participants.update':
      for (const o of objects) {
        const jid = str(o.jid) ?? str(o.id);
        if (jid) out.push({ type: 'group.participants', jid, participants: asArray(o.participants).map((p) => (isObj(p) ? str(p.id) ?? str(p.jid) : str(p))).filter((p): p is string => p !== null), action: str(o.action) ?? 'unknown' });
      }
      return out;
    case 'contacts.upsert':
    case 'contacts.update':
      for (const o of objects) {
        const contact = contactOf(o);
        if (contact) out.push({ type: event === 'contacts.upsert' ? 'contact.upsert' : 'contact.update', contact });
      }
      return out;
    case 'call':
    case 'call.received':
      for (const o of objects) {
        const call = isObj(o.call) ? o.call : o;
        const id = str(call.id);
        if (!id) continue;
        out.push({
          type: 'call',
          call: { id, fromJid: str(call.from), isGroup: bool(call.isGroup), isVideo: bool(call.isVideo), status: str(call.status), timestampMs: toMillis(call.date) ?? timestampMs },
        });
      }
      return out;
    default:
      return [{ type: 'unknown', event }];
  }
}

/**
 * The idempotency key of an event. One WhatsApp message is one key however it arrives
 * (`messages.received`, `messages.upsert`, a retry of either); a status is one key per message and
 * status; anything else is keyed by its content, so an identical redelivery dedupes.
 */
export function webhookDedupeKey(envelope: WebhookEnvelope): string {
  if (MESSAGE_EVENTS.has(envelope.event)) {
    // The ids of the messages normalizeWebhookEvent reads (those with a key holding an id and a
    // remoteJid), without reading the rest of each message: this runs before every 2xx.
    const ids = messagesOf(envelope.data)
      .flatMap((m) => (isObj(m) ? (readKey(m.key)?.id ?? []) : []))
      .sort();
    if (ids.length) return `message:${ids.join(',')}`;
  }
  const items = normalizeWebhookEvent(envelope);
  if (envelope.event === 'message.sent' && items[0]?.type === 'message.sent') return `sent:${items[0].key.id}:${items[0].success ? 'ok' : 'failed'}`;
  if (envelope.event === 'messages.update' && items.length === 1 && items[0]?.type === 'message.status') {
    return `status:${items[0].key.id}:${items[0].status}`;
  }
  const digest = createHash('sha256').update(canonicalJson({ data: envelope.data, timestamp: envelope.timestampMs })).digest('hex');
  // Without a timestamp a retry cannot be told from a genuine repeat (a second `logged_out`): keep
  // both; applying these state changes twice is harmless, missing one is not.
  return envelope.timestampMs === null ? `${envelope.event}:${digest}:${randomUUID()}` : `${envelope.event}:${digest}`;
}
