/**
 * Media you can see: a message's media described for a viewer with a short-lived link of ours
 * (media-links.ts), and the link served. WhatsApp's files are encrypted on its CDN: the provider's
 * `/decrypt-media` gives a public URL of the decrypted file (valid an hour), whose bytes we pass on.
 * Decrypted files are kept in a cache bounded by bytes, so a second view costs no provider call,
 * and concurrent first views of one file share one. Media sent by URL (our own sends, before the
 * provider's echo) is answered with a redirect to that URL: we never fetch an address given to us.
 */
import type { Clock } from '../../lib/clock.ts';
import { createByteCache } from '../../lib/byte-cache.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';
import type { MessageKind } from '../../provider/webhook-events.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import type { AuthService } from '../auth/auth.service.ts';
import { canSeeSession, type Viewer } from '../auth/viewer.ts';
import type { SessionService } from '../sessions/session.service.ts';
import { isWhatsAppCdn, storedMedia, type StoredMedia } from './media-content.ts';
import { createMediaLinks } from './media-links.ts';

export interface MediaOptions {
  /** Bytes of decrypted files kept to serve again (0: none). */
  cacheBytes: number;
  /** A larger file is streamed through, never cached. */
  maxCachedFileBytes: number;
  /** How long a link lives. */
  urlTtlMs: number;
}

export const DEFAULT_MEDIA_OPTIONS: MediaOptions = { cacheBytes: 64 * 1024 * 1024, maxCachedFileBytes: 8 * 1024 * 1024, urlTtlMs: 5 * 60 * 1000 };

/** How a message's media appears in the API. */
export interface MessageMediaView {
  kind: MessageKind;
  mimetype: string | null;
  fileName: string | null;
  size: number | null;
  seconds: number | null;
  caption: string | null;
  url: string;
  urlExpiresAt: Date;
}

/** What the media route answers. */
export type MediaAnswer =
  | { type: 'not-found' }
  | { type: 'redirect'; location: string }
  /** The provider could not give the file (a decrypt or download failure): nothing was cached. */
  | { type: 'unavailable' }
  | {
      type: 'file';
      kind: MessageKind;
      mimetype: string;
      fileName: string | null;
      /** Null when a streamed file's size is not known. */
      length: number | null;
      body: Buffer | ReadableStream<Uint8Array>;
      /** Until the link expires. */
      maxAgeSeconds: number;
    };

const PROTO_FIELDS: Partial<Record<MessageKind, string>> = {
  IMAGE: 'imageMessage',
  VIDEO: 'videoMessage',
  AUDIO: 'audioMessage',
  DOCUMENT: 'documentMessage',
  STICKER: 'stickerMessage',
};
/** The provider's decrypted URL answers an hour; we stop using it a little before. */
const DECRYPTED_URL_REUSE_MS = 50 * 60 * 1000;
/** Decrypted URLs remembered at once (each is a short string). */
const DECRYPTED_URL_LIMIT = 10_000;
/** GraphQL's Int is 32-bit. */
const MAX_INT = 2 ** 31 - 1;
/** How long fetching a decrypted file may take (to cache: all of it; to stream: until its first byte). */
const DOWNLOAD_TIMEOUT_MS = 30_000;

function httpUrl(value: string | null | undefined): URL | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/** WhatsApp's encrypted CDN URL of the file, when the media is WhatsApp's (it has a media key). */
function encryptedUrl(media: StoredMedia): string | null {
  if (!media.mediaKey) return null;
  const url = httpUrl(media.url);
  if (url && isWhatsAppCdn(url)) return url.href;
  return !url && media.directPath ? `https://mmg.whatsapp.net${media.directPath}` : null;
}

type Loaded = { bytes: Buffer } | { url: string };

interface MediaMessage {
  id: string;
  kind: MessageKind;
  providerMessageId: string | null;
  direction: 'INBOUND' | 'OUTBOUND';
  sessionId: string;
  media: StoredMedia;
}

export function createMediaService(deps: {
  prisma: Prisma;
  clock: Clock;
  logger: Logger;
  secrets: SecretBox;
  adminToken: string | null;
  auth: AuthService;
  sessions: SessionService;
  provider: WasenderClient;
  /** Our public base URL, where links point. */
  publicUrl: () => string;
  options: MediaOptions;
}) {
  const { prisma, clock, logger, options } = deps;
  const links = createMediaLinks({ signer: deps.secrets.signer('media-link'), adminToken: deps.adminToken });
  const cache = createByteCache({ maxBytes: options.cacheBytes, maxEntryBytes: options.maxCachedFileBytes });
  const maxCachedFile = Math.min(options.cacheBytes, options.maxCachedFileBytes);
  const decryptedUrls = new Map<string, { url: string; until: number }>();
  const loading = new Map<string, Promise<Loaded>>();

  /** The viewer a link was issued to, as they are now (a revoked or expired token has none). */
  async function viewerOf(tokenId: string | null): Promise<Viewer | null> {
    if (tokenId === null) return deps.adminToken ? { tokenId: null, role: 'ADMIN', sessionIds: null } : null;
    return deps.auth.viewerOfToken(tokenId);
  }

  async function decryptedUrl(m: MediaMessage, encrypted: string): Promise<string> {
    const known = decryptedUrls.get(m.id);
    if (known && known.until > clock.now()) return known.url;
    // Only a file not yet fetched needs the session's key and the chat.
    const row = await prisma.message.findUniqueOrThrow({
      where: { id: m.id },
      select: { chat: { select: { remoteJid: true } }, session: { select: { id: true, status: true, apiKeyEncrypted: true } } },
    });
    const apiKey = deps.sessions.apiKeyOf(row.session);
    if (!apiKey || !m.providerMessageId) throw new Error('the session has no API key or the message no WhatsApp id');
    const { media } = m;
    const content = Object.fromEntries(
      Object.entries({ url: encrypted, mimetype: media.mimetype, mediaKey: media.mediaKey, fileSha256: media.fileSha256, fileLength: media.fileLength, fileName: media.fileName, directPath: media.directPath }).filter(
        ([, v]) => v !== null && v !== undefined,
      ),
    );
    const data = { messages: { key: { id: m.providerMessageId, remoteJid: row.chat.remoteJid, fromMe: m.direction === 'OUTBOUND' }, message: { [PROTO_FIELDS[m.kind]!]: content } } };
    const url = await deps.sessions.callProvider(row.session, 'Decrypt media', () => deps.provider.session(apiKey).decryptMedia(data));
    decryptedUrls.delete(m.id);
    decryptedUrls.set(m.id, { url, until: clock.now() + DECRYPTED_URL_REUSE_MS });
    if (decryptedUrls.size > DECRYPTED_URL_LIMIT) decryptedUrls.delete(decryptedUrls.keys().next().value!);
    return url;
  }

  /** Fetches a decrypted file; a failure status is an error. */
  async function download(url: string, signal: AbortSignal): Promise<Response> {
    const res = await fetch(url, { signal });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`the decrypted file answered HTTP ${res.status}`);
    }
    return res;
  }

  /** A file to stream: the timeout covers the wait for its first byte, not the transfer. */
  async function downloadStream(url: string): Promise<Response> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${DOWNLOAD_TIMEOUT_MS} ms`)), DOWNLOAD_TIMEOUT_MS);
    try {
      return await download(url, abort.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The file's bytes (cached), or the decrypted URL to stream a file too large to cache. One at a time per message. */
  function load(m: MediaMessage, encrypted: string): Promise<Loaded> {
    const pending = loading.get(m.id);
    if (pending) return pending;
    const started = (async (): Promise<Loaded> => {
      const url = await decryptedUrl(m, encrypted);
      if (m.media.fileLength != null && m.media.fileLength > maxCachedFile) return { url };
      // The whole transfer is bounded: every view of this file waits on it.
      const res = await download(url, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS));
      const length = Number(res.headers.get('content-length') ?? NaN);
      if (!(length <= maxCachedFile)) {
        await res.body?.cancel();
        return { url };
      }
      const bytes = Buffer.from(await res.arrayBuffer());
      cache.set(m.id, bytes);
      return { bytes };
    })().finally(() => loading.delete(m.id));
    loading.set(m.id, started);
    return started;
  }

  /** The message and its media, in one lean statement: every view asks, cached or not. */
  async function mediaMessage(id: string): Promise<MediaMessage | null> {
    const [row] = await prisma.$queryRaw<(Omit<MediaMessage, 'media'> & { content: unknown })[]>`
      SELECT id, kind::text AS kind, content, "providerMessageId", direction::text AS direction, "sessionId"
      FROM messages WHERE id = ${id}::uuid AND "deletedAt" IS NULL`;
    const media = row ? storedMedia(row.kind, row.content) : null;
    return row && media ? { id: row.id, kind: row.kind, providerMessageId: row.providerMessageId, direction: row.direction, sessionId: row.sessionId, media } : null;
  }

  return {
    /** A message's media for this viewer, with a link of theirs; null for messages without media. */
    describe(message: { id: string; kind: MessageKind; content: unknown }, viewer: Viewer): MessageMediaView | null {
      const media = storedMedia(message.kind, message.content);
      if (!media) return null;
      const link = links.issue(message.id, viewer, clock.now(), options.urlTtlMs);
      return {
        kind: message.kind,
        mimetype: media.mimetype ?? null,
        fileName: media.fileName ?? null,
        size: typeof media.fileLength === 'number' && media.fileLength <= MAX_INT ? media.fileLength : null,
        seconds: media.seconds ?? null,
        caption: media.caption ?? null,
        url: `${deps.publicUrl()}/media/${link.token}`,
        urlExpiresAt: new Date(link.expiresAtMs),
      };
    },

    /** What a link serves. Anything wrong with the link or the viewer's access is `not-found`, without saying which. */
    async open(token: string): Promise<MediaAnswer> {
      const link = links.read(token, clock.now());
      if (!link) return { type: 'not-found' };
      const [viewer, m] = await Promise.all([viewerOf(link.tokenId), mediaMessage(link.messageId)]);
      if (!viewer || !m || !canSeeSession(viewer, m.sessionId)) return { type: 'not-found' };

      const encrypted = encryptedUrl(m.media);
      if (!encrypted) {
        const given = httpUrl(m.media.url);
        return given ? { type: 'redirect', location: given.href } : { type: 'not-found' };
      }
      const file = { type: 'file', kind: m.kind, mimetype: m.media.mimetype ?? 'application/octet-stream', fileName: m.media.fileName ?? null, maxAgeSeconds: Math.max(0, Math.floor((link.expiresAtMs - clock.now()) / 1000)) } as const;
      const cached = cache.get(m.id);
      if (cached) return { ...file, length: cached.length, body: cached };
      try {
        const loaded = await load(m, encrypted);
        if ('bytes' in loaded) return { ...file, length: loaded.bytes.length, body: loaded.bytes };
        const res = await downloadStream(loaded.url).catch((error: unknown) => {
          // The provider's URL may have lapsed early: ask it again next time.
          decryptedUrls.delete(m.id);
          throw error;
        });
        const length = Number(res.headers.get('content-length') ?? NaN);
        return { ...file, length: Number.isFinite(length) ? length : null, body: res.body! };
      } catch (error) {
        logger.warn({ sessionId: m.sessionId, messageId: m.id, err: error }, 'media could not be fetched from the provider');
        return { type: 'unavailable' };
      }
    },
  };
}

export type MediaService = ReturnType<typeof createMediaService>;
