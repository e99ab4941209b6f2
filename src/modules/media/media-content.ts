/**
 * The media of a message as stored in `Message.content.media` (the webhook parser's MediaInfo;
 * outbound sends keep the same shape with the URL they were given): what may be shown, and what is
 * only for fetching the file.
 */
import type { MediaInfo, MessageKind } from '../../provider/webhook-events.ts';

export const MEDIA_KINDS: ReadonlySet<MessageKind> = new Set(['IMAGE', 'VIDEO', 'AUDIO', 'DOCUMENT', 'STICKER']);

/** For fetching and decrypting WhatsApp's copy only: kept out of every API answer. */
const FETCH_FIELDS = ['directPath', 'mediaKey', 'fileSha256', 'fileEncSha256', 'mediaKeyTimestamp'];

/** WhatsApp's encrypted CDN: a URL there is of no use without the media key. */
export function isWhatsAppCdn(url: URL): boolean {
  return url.hostname === 'whatsapp.net' || url.hostname.endsWith('.whatsapp.net');
}

function isWhatsAppCdnUrl(value: unknown): boolean {
  try {
    return typeof value === 'string' && isWhatsAppCdn(new URL(value));
  } catch {
    return false;
  }
}

export type StoredMedia = Partial<MediaInfo>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The stored media of a message of a media kind, or null. */
export function storedMedia(kind: MessageKind, content: unknown): StoredMedia | null {
  if (!MEDIA_KINDS.has(kind) || !isObj(content) || !isObj(content.media)) return null;
  return content.media as StoredMedia;
}

/**
 * `content` as the API shows it: the media without the fields for fetching WhatsApp's copy
 * (Message.media.url serves it); the URL a send was given stays.
 */
export function publicContent(content: unknown): unknown {
  if (!isObj(content) || !isObj(content.media)) return content;
  const media = Object.fromEntries(Object.entries(content.media).filter(([field, value]) => !FETCH_FIELDS.includes(field) && !(field === 'url' && isWhatsAppCdnUrl(value))));
  return { ...content, media };
}
