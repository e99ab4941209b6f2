/**
 * Messages that reach a session from WhatsApp, shaped as the provider's `<Message>`
 * (shared/wasender-api.md §8.6), with the variation the contract documents: a sender addressed by
 * phone number or by `@lid` (with or without the phone fields), and `pushName`/`messageTimestamp`
 * present or not. Also the `fromMe` upsert of a message typed on the session's own phone.
 */
import type { LidDirectory } from './lids.ts';
import type { MediaRequest, MediaStore } from './media.ts';
import type { MediaKind } from './media-files.ts';
import { digitsOf, toJid, waMessageId } from './outbound.ts';
import type { SandboxSession, SessionSettings } from './state.ts';
import { checkRecipient, throwIfAny, type FieldErrors } from './validation.ts';
import type { ErrorWording } from './wording.ts';

/** Where an inbound message was written, the events the provider sends for it, and the setting that silences it. */
export const CHAT_KINDS = {
  personal: { events: ['messages.received', 'messages-personal.received', 'messages.upsert'], ignoredBy: null },
  group: { events: ['messages.received', 'messages-group.received', 'messages.upsert'], ignoredBy: 'ignore_groups' },
  channel: { events: ['messages.received', 'messages-newsletter.received', 'messages.upsert'], ignoredBy: 'ignore_channels' },
  broadcast: { events: ['messages.received', 'messages.upsert'], ignoredBy: 'ignore_broadcasts' },
} as const satisfies Record<string, { events: string[]; ignoredBy: keyof SessionSettings | null }>;
export type ChatKind = keyof typeof CHAT_KINDS;

/** How the sender is addressed: by phone number; by lid with the phone fields; by lid alone. */
type Addressing = 'pn' | 'lid' | 'lid-only';

export interface InboundMessage {
  id: string;
  kind: ChatKind;
  payload: Record<string, unknown>;
}

export function createInbound(deps: { now: () => number; lids: LidDirectory; media: MediaStore; wording: ErrorWording; bareShare: number }) {
  const { now, lids, wording } = deps;

  /** The message's content; media is held (real bytes) under the message's id. */
  function content(id: string, body: Record<string, unknown>): { message: Record<string, unknown>; messageBody: string } {
    const text = typeof body.text === 'string' ? body.text : '';
    const media = body.media as (MediaRequest & { kind: MediaKind }) | undefined;
    if (!media) return { message: { conversation: text }, messageBody: text };
    const caption = typeof media.caption === 'string' ? media.caption : text || undefined;
    return { message: deps.media.hold(id, media, caption), messageBody: caption ?? '' };
  }

  const jidIn = (value: string, domain: string) => (value.includes('@') ? value : `${value}@${domain}`);

  function chatOf(body: Record<string, unknown>, errors: FieldErrors): { kind: ChatKind; jid: string | null } {
    if (typeof body.group === 'string') return { kind: 'group', jid: jidIn(body.group, 'g.us') };
    if (typeof body.channel === 'string') return { kind: 'channel', jid: jidIn(body.channel, 'newsletter') };
    if (body.broadcast === true) return { kind: 'broadcast', jid: 'status@broadcast' };
    if (typeof body.broadcast === 'string') return { kind: 'broadcast', jid: jidIn(body.broadcast, 'broadcast') };
    if (body.broadcast !== undefined) errors.broadcast = [wording.invalidFormat('broadcast')];
    return { kind: 'personal', jid: null };
  }

  function addressingOf(body: Record<string, unknown>, errors: FieldErrors): Addressing {
    if (body.lid === undefined || body.lid === false) return 'pn';
    if (body.lid === true) return 'lid';
    if (body.lid === 'only') return 'lid-only';
    errors.lid = [wording.selectedInvalid('lid')];
    return 'pn';
  }

  /** The key of a message from `from`: who wrote it, and in which chat. */
  function keyOf(id: string, from: string, chat: { kind: ChatKind; jid: string | null }, addressing: Addressing): Record<string, unknown> {
    const pn = `${from}@s.whatsapp.net`;
    const lid = lids.lidOf(from);
    const byLid = addressing !== 'pn';
    const withPhone = addressing !== 'lid-only';
    const addressingMode = byLid ? 'lid' : 'pn';
    if (chat.kind === 'channel') return { id, fromMe: false, remoteJid: chat.jid };
    if (chat.kind === 'personal') {
      return { id, fromMe: false, remoteJid: byLid ? lid : pn, addressingMode, ...(withPhone ? { senderPn: pn, cleanedSenderPn: from } : {}), senderLid: lid };
    }
    return { id, fromMe: false, remoteJid: chat.jid, participant: byLid ? lid : pn, addressingMode, ...(withPhone ? { participantPn: pn, cleanedParticipantPn: from } : {}), participantLid: lid };
  }

  return {
    /** A control `inbound` body as the provider's message payload. */
    message(body: Record<string, unknown>): InboundMessage {
      const errors: FieldErrors = {};
      const from = typeof body.from === 'string' ? digitsOf(body.from) : '';
      if (!/^\d{6,15}$/.test(from)) errors.from = [wording.invalidFormat('from')];
      const chat = chatOf(body, errors);
      const addressing = addressingOf(body, errors);
      if (body.bare !== undefined && typeof body.bare !== 'boolean') errors.bare = [wording.notBoolean('bare')];
      if (body.media !== undefined) {
        if (typeof body.media === 'object' && body.media !== null) deps.media.check(body.media as MediaRequest, errors);
        else errors.media = [wording.invalidFormat('media')];
      }
      throwIfAny(wording, errors);
      const id = waMessageId();
      // The provider's current samples carry neither field; older ones and integrators' fixtures do.
      const bare = typeof body.bare === 'boolean' ? body.bare : Math.random() < deps.bareShare;
      const payload = {
        key: keyOf(id, from, chat, addressing),
        ...content(id, body),
        ...(bare ? {} : { pushName: typeof body.pushName === 'string' ? body.pushName : `+${from}`, messageTimestamp: Math.floor(now() / 1000) }),
      };
      return { id, kind: chat.kind, payload };
    },

    /** What the provider sends when the session's own phone writes to `to`: a `fromMe` upsert. */
    fromPhone(s: SandboxSession, body: Record<string, unknown>): InboundMessage {
      const errors: FieldErrors = {};
      checkRecipient(wording, body.to, errors);
      if (typeof body.text !== 'string' || !body.text) errors.text = [wording.required('text')];
      throwIfAny(wording, errors);
      const id = waMessageId();
      const text = String(body.text);
      const remoteJid = toJid(String(body.to));
      const kind: ChatKind = remoteJid.endsWith('@g.us') ? 'group' : 'personal';
      const payload = {
        key: { id, fromMe: true, remoteJid, addressingMode: 'pn' },
        messageBody: text,
        message: { conversation: text },
        pushName: s.name,
        messageTimestamp: Math.floor(now() / 1000),
      };
      return { id, kind, payload };
    },
  };
}

export type Inbound = ReturnType<typeof createInbound>;

