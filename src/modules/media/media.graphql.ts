import { builder } from '../../graphql/builder.ts';
import { MessageKindEnum } from '../inbox/inbox.graphql.ts';
import type { MessageMediaView } from './media.service.ts';

/** Marks a field whose value differs per viewer: shared subscription executions key on the viewer when one is selected (src/http/graphql-ws.ts). */
export const PER_VIEWER = { perViewer: true } as const;

const MessageMediaRef = builder.objectRef<MessageMediaView>('MessageMedia').implement({
  description: 'The image, video, voice note, document or sticker a message carries.',
  fields: (t) => ({
    kind: t.expose('kind', { type: MessageKindEnum, description: 'IMAGE, VIDEO, AUDIO, DOCUMENT or STICKER.' }),
    mimetype: t.exposeString('mimetype', { nullable: true, description: 'The file\'s media type, e.g. "image/jpeg" or "audio/ogg; codecs=opus".' }),
    fileName: t.exposeString('fileName', { nullable: true, description: 'The file name a document was sent with.' }),
    size: t.exposeInt('size', { nullable: true, description: 'The file\'s size in bytes, where WhatsApp tells it.' }),
    seconds: t.exposeInt('seconds', { nullable: true, description: 'Length of a voice note, audio or video, where WhatsApp tells it.' }),
    caption: t.exposeString('caption', { nullable: true, description: 'The caption sent with it.' }),
    url: t.exposeString('url', {
      description: 'Where to fetch the file: ours, for you alone, valid until urlExpiresAt (ask for the message again for a fresh one). It stops working when your token is revoked or loses access to the session.',
      extensions: PER_VIEWER,
    }),
    urlExpiresAt: t.expose('urlExpiresAt', { type: 'DateTime', description: 'When url stops working.', extensions: PER_VIEWER }),
  }),
});

builder.prismaObjectField('Message', 'media', (t) =>
  t.field({
    type: MessageMediaRef,
    nullable: true,
    description: 'The media of an image, video, audio, document or sticker message, inbound or outbound; null for other kinds.',
    select: { id: true, kind: true, content: true },
    resolve: (m, _args, ctx) => (ctx.viewer ? ctx.services.media.describe(m, ctx.viewer) : null),
  }),
);
