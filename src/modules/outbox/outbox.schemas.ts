/** Sending inputs: one recipient, exactly one content, and what the provider's body becomes. */
import { z } from 'zod';
import type { MessageKind } from '../../generated/prisma/enums.ts';
import type { SendMessageInput as ProviderSendInput } from '../../provider/wasender-client.ts';
import { E164 } from '../sessions/session.schemas.ts';

const Caption = z.string().max(4096, 'must be at most 4096 characters').nullish();

const Media = z.object({ url: z.string().trim().min(1, 'is required'), caption: Caption });
const Document = Media.extend({ fileName: z.string().trim().min(1, 'must not be blank').max(255, 'must be at most 255 characters').nullish() });
const Location = z.object({
  latitude: z.number().min(-90, 'must be between -90 and 90').max(90, 'must be between -90 and 90'),
  longitude: z.number().min(-180, 'must be between -180 and 180').max(180, 'must be between -180 and 180'),
  name: z.string().max(255, 'must be at most 255 characters').nullish(),
  address: z.string().max(1024, 'must be at most 1024 characters').nullish(),
});
const ContactCard = z.object({ name: z.string().trim().min(1, 'must not be blank').max(255, 'must be at most 255 characters'), phone: E164 });
const Poll = z.object({
  question: z.string().trim().min(1, 'must not be blank').max(255, 'must be at most 255 characters'),
  options: z
    .array(z.string().trim().min(1, 'must not be blank').max(100, 'must be at most 100 characters'))
    .min(2, 'must have 2 to 12 options')
    .max(12, 'must have 2 to 12 options')
    .refine((options) => new Set(options).size === options.length, 'must not repeat an option'),
  multiSelect: z.boolean().nullish(),
});

/** The content fields of SendMessageInput, exactly one of which is given. */
export const CONTENT_FIELDS = ['text', 'image', 'video', 'audio', 'sticker', 'document', 'location', 'contact', 'poll'] as const;
export type ContentField = (typeof CONTENT_FIELDS)[number];

export const SendMessageInput = z.object({
  sessionId: z.string(),
  to: E164.nullish(),
  chatId: z.string().nullish(),
  text: z.string().trim().min(1, 'must not be blank').max(4096, 'must be at most 4096 characters').nullish(),
  image: Media.nullish(),
  video: Media.nullish(),
  audio: Media.nullish(),
  sticker: Media.nullish(),
  document: Document.nullish(),
  location: Location.nullish(),
  contact: ContactCard.nullish(),
  poll: Poll.nullish(),
  replyToMessageId: z.string().nullish(),
  idempotencyKey: z.string().trim().min(1, 'must not be blank').max(200, 'must be at most 200 characters').nullish(),
});
export type SendMessageInput = z.infer<typeof SendMessageInput>;

type Issue = { path: PropertyKey[]; message: string };

/** The combination rules zod's per-field checks cannot see: one recipient, one content. */
export function combinationIssues(raw: Record<string, unknown>): Issue[] {
  const given = (field: string) => raw[field] !== undefined && raw[field] !== null;
  const issues: Issue[] = [];
  if (given('to') && given('chatId')) {
    issues.push({ path: ['to'], message: 'give either to or chatId, not both' }, { path: ['chatId'], message: 'give either to or chatId, not both' });
  } else if (!given('to') && !given('chatId')) {
    issues.push({ path: ['to'], message: 'either to (an E.164 phone) or chatId is required' });
  }
  const contents = CONTENT_FIELDS.filter(given);
  if (contents.length === 0) issues.push({ path: ['text'], message: `one content is required: ${CONTENT_FIELDS.join(', ')}` });
  if (contents.length > 1) for (const field of contents) issues.push({ path: [field], message: `only one content may be given (got ${contents.join(', ')})` });
  return issues;
}

/** A validated input's content: its kind, and the URL fields the provider will fetch. */
export function contentOf(input: SendMessageInput): { field: ContentField; kind: MessageKind; mediaUrl: string | null } {
  const field = CONTENT_FIELDS.find((f) => input[f] !== undefined && input[f] !== null)!;
  const kind = ({ text: 'TEXT', image: 'IMAGE', video: 'VIDEO', audio: 'AUDIO', sticker: 'STICKER', document: 'DOCUMENT', location: 'LOCATION', contact: 'CONTACT', poll: 'POLL' } as const)[field];
  const media = field === 'image' || field === 'video' || field === 'audio' || field === 'sticker' || field === 'document' ? input[field]! : null;
  return { field, kind, mediaUrl: media?.url ?? null };
}

/** What a send carries, in our message's terms: its text, and `content` shaped like an inbound message's. */
export interface OutboundContent {
  kind: MessageKind;
  text: string | null;
  content: object | null;
}

/**
 * The message as stored (text and `content` as the inbound parser shapes them, so the same
 * rendering serves both directions) and the provider's `/send-message` body without `to`.
 */
export function outboundOf(input: SendMessageInput): { stored: OutboundContent; body: Omit<ProviderSendInput, 'to'> } {
  const { kind } = contentOf(input);
  const mediaContent = (url: string, caption: string | null | undefined, mimetype: string | null, fileName: string | null = null) => ({
    media: { mimetype, url, directPath: null, mediaKey: null, fileSha256: null, fileLength: null, fileName, seconds: null, caption: caption ?? null },
  });
  const captionBody = (caption: string | null | undefined) => (caption ? { text: caption } : {});
  if (input.text) return { stored: { kind, text: input.text, content: null }, body: { text: input.text } };
  if (input.document) {
    const d = input.document;
    return {
      stored: { kind, text: d.caption ?? null, content: mediaContent(d.url, d.caption, null, d.fileName ?? null) },
      body: { documentUrl: d.url, ...(d.fileName ? { fileName: d.fileName } : {}), ...captionBody(d.caption) },
    };
  }
  for (const [field, urlField] of [['image', 'imageUrl'], ['video', 'videoUrl'], ['audio', 'audioUrl'], ['sticker', 'stickerUrl']] as const) {
    const m = input[field];
    if (m) return { stored: { kind, text: m.caption ?? null, content: mediaContent(m.url, m.caption, null) }, body: { [urlField]: m.url, ...captionBody(m.caption) } };
  }
  if (input.location) {
    const l = input.location;
    const location = { latitude: l.latitude, longitude: l.longitude, name: l.name ?? null, address: l.address ?? null };
    return {
      stored: { kind, text: null, content: { location } },
      body: { location: { latitude: l.latitude, longitude: l.longitude, ...(l.name ? { name: l.name } : {}), ...(l.address ? { address: l.address } : {}) } },
    };
  }
  if (input.contact) {
    const c = input.contact;
    return { stored: { kind, text: c.name, content: { contact: { displayName: c.name, vcard: null, phone: c.phone } } }, body: { contact: { name: c.name, phone: c.phone } } };
  }
  const p = input.poll!;
  const poll = { question: p.question, options: p.options, multiSelect: p.multiSelect ?? false };
  return { stored: { kind, text: p.question, content: { poll } }, body: { poll } };
}
