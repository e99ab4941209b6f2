/**
 * The media the sandbox's WhatsApp users send: real bytes held per message (`key.id`), described
 * in the webhook as WhatsApp does (an encrypted CDN `url`, `mediaKey`, `fileSha256`, `fileLength`
 * = the real size), and given back decrypted the provider's way: `/decrypt-media` answers a
 * `publicUrl` (valid one hour) that the sandbox itself serves under `/api/decrypted-media/<key.id>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { contentDisposition } from '../lib/content-disposition.ts';
import { HttpError } from './http.ts';
import { isMediaKind, MEDIA_MIME_TYPES, sampleFile, type MediaKind } from './media-files.ts';
import type { Reply } from './router.ts';
import type { SandboxSession } from './state.ts';
import { validationError, type FieldErrors } from './validation.ts';
import type { ErrorWording } from './wording.ts';

/** How long a decrypted file's `publicUrl` answers (the provider says one hour). */
export const DECRYPTED_URL_VALID_MS = 60 * 60 * 1000;
/** Files held at once; the oldest go first (a long-running sandbox must not grow without bound). */
const HELD_LIMIT = 2_000;
const MEDIA_FIELDS = ['imageMessage', 'videoMessage', 'audioMessage', 'documentMessage', 'stickerMessage'];

interface HeldMedia {
  bytes: Buffer;
  mimetype: string;
  fileName: string | null;
  mediaKey: string;
  /** Until when the decrypted file's public URL answers; null before any decrypt call. */
  publicUntil: number | null;
}

/** What a control `inbound` body may say of its media. */
export interface MediaRequest {
  kind?: unknown;
  caption?: unknown;
  mimetype?: unknown;
  fileName?: unknown;
  /** The file itself; without it the sandbox makes a small real file of the kind. */
  base64?: unknown;
  url?: unknown;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function createMediaStore(deps: { now: () => number; wording: ErrorWording }) {
  const { now, wording } = deps;
  const held = new Map<string, HeldMedia>();

  /** The base the provider's answer points at: this sandbox's `/api`, as the caller reached it. */
  function apiBase(req: IncomingMessage, path: string): string {
    const full = new URL(req.url ?? '/', 'http://sandbox').pathname;
    const prefix = full.endsWith(path) ? full.slice(0, full.length - path.length) : '/api';
    return `http://${req.headers.host ?? 'localhost'}${prefix}`;
  }

  return {
    /** Checks a control body's `media`; adds field errors. */
    check(media: MediaRequest, errors: FieldErrors) {
      if (!isMediaKind(media.kind)) errors['media.kind'] = [wording.selectedInvalid('media.kind')];
      if (media.base64 !== undefined && (typeof media.base64 !== 'string' || !Buffer.from(media.base64, 'base64').length)) {
        errors['media.base64'] = [wording.invalidFormat('media.base64')];
      }
    },

    /** Holds the file of message `id` and returns its content as WhatsApp shapes it (`<kind>Message`). */
    hold(id: string, media: MediaRequest & { kind: MediaKind }, caption: string | undefined): Record<string, unknown> {
      const kind = media.kind;
      const fileName = kind === 'document' ? (typeof media.fileName === 'string' ? media.fileName : 'document.pdf') : null;
      const bytes = typeof media.base64 === 'string' ? Buffer.from(media.base64, 'base64') : sampleFile(kind, id, caption ?? fileName ?? undefined);
      const mimetype = typeof media.mimetype === 'string' ? media.mimetype : MEDIA_MIME_TYPES[kind];
      const mediaKey = randomBytes(32).toString('base64');
      held.set(id, { bytes, mimetype, fileName, mediaKey, publicUntil: null });
      if (held.size > HELD_LIMIT) held.delete(held.keys().next().value!);
      const path = `/v/t62.7118-24/${hex(12)}.enc`;
      return {
        [`${kind}Message`]: {
          url: `https://mmg.whatsapp.net${path}?ccb=11-4&oh=${hex(16)}&oe=${Math.floor(now() / 1000 + 14 * 86_400).toString(16).toUpperCase()}&_nc_sid=5e03e0`,
          mimetype,
          fileSha256: createHash('sha256').update(bytes).digest('base64'),
          fileEncSha256: randomBytes(32).toString('base64'),
          fileLength: String(bytes.length),
          mediaKey,
          directPath: path,
          mediaKeyTimestamp: String(Math.floor(now() / 1000)),
          ...(caption ? { caption } : {}),
          ...(fileName ? { fileName, title: fileName } : {}),
          ...(kind === 'image' || kind === 'sticker' ? { width: 16, height: 16 } : {}),
          ...(kind === 'audio' ? { ptt: true, seconds: 1 } : {}),
          ...(kind === 'video' ? { seconds: 1 } : {}),
          ...(typeof media.url === 'string' ? { sourceUrl: media.url } : {}),
        },
      };
    },

    /** The bytes held for a message, as a control answer (tests compare what they were served). */
    bytesOf(id: string): Reply {
      const media = held.get(id);
      if (!media) throw new HttpError(404, { message: `No media held for ${id}` });
      return { status: 200, body: media.bytes, headers: { 'content-type': media.mimetype } };
    },

    /**
     * `POST /decrypt-media`: `data.messages` (one message, or the upsert's array) with its media
     * object; the mediaKey must be the one WhatsApp sent, as decryption needs it.
     */
    decrypt(req: IncomingMessage, path: string, session: SandboxSession, body: Record<string, unknown>): Reply {
      session.decryptMediaCalls++;
      const data = isObj(body.data) ? body.data : {};
      const message = Array.isArray(data.messages) ? data.messages[0] : data.messages;
      const id = isObj(message) && isObj(message.key) && typeof message.key.id === 'string' ? message.key.id : null;
      if (!id) throw validationError(wording, { 'data.messages.key.id': [wording.required('data.messages.key.id')] });
      const content = isObj(message) && isObj(message.message) ? message.message : {};
      const field = MEDIA_FIELDS.find((f) => isObj(content[f]));
      const mediaKey = field ? (content[field] as Record<string, unknown>).mediaKey : undefined;
      if (!field || typeof mediaKey !== 'string') throw validationError(wording, { 'data.messages.message': [wording.required('data.messages.message.*.mediaKey')] });
      const media = held.get(id);
      if (!media || media.mediaKey !== mediaKey) throw new HttpError(422, { success: false, message: wording.cannotDecrypt });
      media.publicUntil = now() + DECRYPTED_URL_VALID_MS;
      return { status: 200, body: { success: true, publicUrl: `${apiBase(req, path)}/decrypted-media/${encodeURIComponent(id)}` } };
    },

    /** `GET /api/decrypted-media/<key.id>`: the decrypted file, for an hour after it was asked for. */
    decrypted(id: string): Reply {
      const media = held.get(id);
      if (!media || media.publicUntil === null || now() > media.publicUntil) throw new HttpError(404, { success: false, message: wording.notFound });
      const headers: Record<string, string> = { 'content-type': media.mimetype };
      if (media.fileName) headers['content-disposition'] = contentDisposition('attachment', media.fileName);
      return { status: 200, body: media.bytes, headers };
    },
  };
}

export type MediaStore = ReturnType<typeof createMediaStore>;
