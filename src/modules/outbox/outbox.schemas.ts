/** Sending inputs: one recipient, exactly one content, and what the provider's body becomes. */
import { z } from 'zod';
import type { MessageKind } from '../../generated/prisma/enums.ts';
import type { SendMessageInput as ProviderSendInput } from '../../provider/wasender-client.ts';
import { E164 } from '../sessions/session.schemas.ts';

const Caption = z.string().max(4096, 'must be at most 4096 characters').nullish();

export const Media = z.object({ url: z.string().trim().min(1, 'is required'), caption: Caption });
export const Document = Media.extend({ fileName: z.string().trim().min(1, 'must not be blank').max(255, 'must be at most 255 characters').nullish() });
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

/** A validated input's content field, and the URL the provider will fetch for it (media). */
export function contentOf(input: SendMessageInput): { field: ContentField; mediaUrl: string | null } {
  const field = CONTENT_FIELDS.find((f) => input[f] !== undefined && input[f] !== null)!;
  const media = field === 'image' || field === 'video' || field === 'audio' || field === 'sticker' || field === 'document' ? input[field]! : null;
  return { field, mediaUrl: media?.url ?? null };
}

/** What a send carries, in our message's terms: its text, and `content` shaped like an inbound message's. */
export interface OutboundContent {
  kind: MessageKind;
  text: string | null;
  content: object | null;
}

/** A `/send-message` body without its recipient. */
export type SendBody = Omit<ProviderSendInput, 'to'>;

/** The provider's `/send-message` body (without `to`) for a validated input. */
export function bodyOf(input: SendMessageInput): SendBody {
  const caption = (text: string | null | undefined) => (text ? { text } : {});
  if (input.text) return { text: input.text };
  if (input.image) return { imageUrl: input.image.url, ...caption(input.image.caption) };
  if (input.video) return { videoUrl: input.video.url, ...caption(input.video.caption) };
  if (input.audio) return { audioUrl: input.audio.url, ...caption(input.audio.caption) };
  if (input.sticker) return { stickerUrl: input.sticker.url, ...caption(input.sticker.caption) };
  if (input.document) {
    const d = input.document;
    return { documentUrl: d.url, ...(d.fileName ? { fileName: d.fileName } : {}), ...caption(d.caption) };
  }
  if (input.location) {
    const l = input.location;
    return { location: { latitude: l.latitude, longitude: l.longitude, ...(l.name ? { name: l.name } : {}), ...(l.address ? { address: l.address } : {}) } };
  }
  if (input.contact) return { contact: { name: input.contact.name, phone: input.contact.phone } };
  const p = input.poll!;
  return { poll: { question: p.question, options: p.options, multiSelect: p.multiSelect ?? false } };
}

/**
 * A send body as our message stores it: text and `content` as the inbound parser shapes them, so
 * the same rendering serves both directions.
 */
export function storedOf(body: SendBody): OutboundContent {
  const media = (kind: MessageKind, url: string, fileName: string | null = null): OutboundContent => ({
    kind,
    text: body.text ?? null,
    content: { media: { mimetype: null, url, directPath: null, mediaKey: null, fileSha256: null, fileLength: null, fileName, seconds: null, caption: body.text ?? null } },
  });
  if (body.imageUrl) return media('IMAGE', body.imageUrl);
  if (body.videoUrl) return media('VIDEO', body.videoUrl);
  if (body.audioUrl) return media('AUDIO', body.audioUrl);
  if (body.stickerUrl) return media('STICKER', body.stickerUrl);
  if (body.documentUrl) return media('DOCUMENT', body.documentUrl, body.fileName ?? null);
  if (body.location) return { kind: 'LOCATION', text: null, content: { location: { name: null, address: null, ...body.location } } };
  if (body.contact) return { kind: 'CONTACT', text: body.contact.name, content: { contact: { displayName: body.contact.name, vcard: null, phone: body.contact.phone } } };
  if (body.poll) return { kind: 'POLL', text: body.poll.question, content: { poll: { multiSelect: false, ...body.poll } } };
  return { kind: 'TEXT', text: body.text ?? null, content: null };
}
