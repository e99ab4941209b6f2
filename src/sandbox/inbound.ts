/**
 * Messages WhatsApp users send to a session, shaped as the provider's incoming `<Message>`
 * (shared/wasender-api.md §8.6).
 */
import { randomBytes } from 'node:crypto';
import { HttpError } from './http.ts';
import { digitsOf, waMessageId } from './outbound.ts';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

const MEDIA_MIME_TYPES: Record<string, string> = { image: 'image/jpeg', video: 'video/mp4', audio: 'audio/ogg; codecs=opus', document: 'application/pdf', sticker: 'image/webp' };

export function createInbound(deps: { now: () => number }) {
  const { now } = deps;

  function content(body: Record<string, unknown>): { message: Record<string, unknown>; messageBody: string } {
    const text = typeof body.text === 'string' ? body.text : '';
    const media = body.media as { kind?: string; url?: string; caption?: string; mimetype?: string; fileName?: string } | undefined;
    if (!media?.kind) return { message: { conversation: text }, messageBody: text };
    const caption = media.caption ?? (text || undefined);
    return {
      message: {
        [`${media.kind}Message`]: {
          url: `https://mmg.whatsapp.net/v/t62.7118-24/${hex(12)}.enc?ccb=11-4`,
          mimetype: media.mimetype ?? MEDIA_MIME_TYPES[media.kind] ?? 'application/octet-stream',
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
      },
      messageBody: caption ?? '',
    };
  }

  return {
    /** A control `inbound` body as the provider's message payload. */
    message(body: Record<string, unknown>) {
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
      const payload = {
        key,
        ...content(body),
        pushName: typeof body.pushName === 'string' ? body.pushName : `+${from}`,
        messageTimestamp: Math.floor(now() / 1000),
      };
      return { id, payload, group };
    },
  };
}
export type Inbound = ReturnType<typeof createInbound>;
