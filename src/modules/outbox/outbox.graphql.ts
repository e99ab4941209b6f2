import { builder } from '../../graphql/builder.ts';
import { parseGlobalId } from '../../graphql/ids.ts';

export const MediaInputRef = builder.inputType('MediaInput', {
  description: 'Media the provider fetches from a public URL (http or https).',
  fields: (t) => ({
    url: t.string({ required: true, description: 'A public http or https URL of the file.' }),
    caption: t.string({ description: 'Text shown with the media.' }),
  }),
});

export const DocumentInputRef = builder.inputType('DocumentInput', {
  description: 'A document the provider fetches from a public URL (http or https).',
  fields: (t) => ({
    url: t.string({ required: true, description: 'A public http or https URL of the file.' }),
    fileName: t.string({ description: 'The name the recipient sees.' }),
    caption: t.string({ description: 'Text shown with the document.' }),
  }),
});

const LocationInputRef = builder.inputType('LocationInput', {
  description: 'A place on the map.',
  fields: (t) => ({
    latitude: t.float({ required: true, description: '-90 to 90.' }),
    longitude: t.float({ required: true, description: '-180 to 180.' }),
    name: t.string({ description: 'The place\'s name.' }),
    address: t.string({ description: 'Its address.' }),
  }),
});

const ContactCardInputRef = builder.inputType('ContactCardInput', {
  description: 'A contact card (vCard).',
  fields: (t) => ({
    name: t.string({ required: true, description: 'The contact\'s name.' }),
    phone: t.string({ required: true, description: 'E.164, e.g. "+255712345678".' }),
  }),
});

const PollInputRef = builder.inputType('PollInput', {
  description: 'A poll; votes come back on the message\'s content (pollResults).',
  fields: (t) => ({
    question: t.string({ required: true, description: 'The question.' }),
    options: t.stringList({ required: true, description: '2 to 12 different options.' }),
    multiSelect: t.boolean({ defaultValue: false, description: 'Voters may choose several options.' }),
  }),
});

const SendMessageInputRef = builder.inputType('SendMessageInput', {
  description:
    'One message: the session, the recipient (exactly one of `to` and `chatId`) and exactly one content. ' +
    'Bad combinations or values are BAD_USER_INPUT naming each field, and nothing is stored.',
  fields: (t) => ({
    sessionId: t.id({ required: true, description: 'The session to send through; it must be CONNECTED.' }),
    to: t.string({ description: 'An E.164 phone number …' }),
    chatId: t.id({ description: '… or an existing chat of the session.' }),
    text: t.string({ description: 'A text message.' }),
    image: t.field({ type: MediaInputRef, description: 'An image (JPEG/PNG) with an optional caption.' }),
    video: t.field({ type: MediaInputRef, description: 'A video (MP4/3GPP) with an optional caption.' }),
    audio: t.field({ type: MediaInputRef, description: 'Audio, delivered as a voice note.' }),
    sticker: t.field({ type: MediaInputRef, description: 'A WEBP sticker.' }),
    document: t.field({ type: DocumentInputRef, description: 'A document with a file name and an optional caption.' }),
    location: t.field({ type: LocationInputRef, description: 'A location.' }),
    contact: t.field({ type: ContactCardInputRef, description: 'A contact card.' }),
    poll: t.field({ type: PollInputRef, description: 'A poll.' }),
    replyToMessageId: t.id({ description: 'A message of the same chat to quote.' }),
    idempotencyKey: t.string({ description: 'Per session: the same key returns the same message and sends it once.' }),
  }),
});

builder.prismaObjectField('Message', 'failureReason', (t) =>
  t.exposeString('error', { nullable: true, description: 'Why the message was not sent (status FAILED), in the provider\'s words where it gave any.' }),
);

builder.mutationField('sendMessage', (t) =>
  t.prismaField({
    type: 'Message',
    description:
      'Stores the message PENDING in its chat (on messageUpdated and chatUpdated at once) and sends it through a durable outbox at the session\'s pace. ' +
      'Needs a CONNECTED session (INVALID_STATE otherwise). Its status then follows the provider: SENT, DELIVERED, READ/PLAYED, or FAILED with failureReason.',
    authScopes: { agent: true },
    args: { input: t.arg({ type: SendMessageInputRef, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { input } = args;
      const message = await ctx.services.outbox.send(ctx.viewer!, input, {
        sessionId: parseGlobalId(input.sessionId, 'WhatsAppSession'),
        chatId: input.chatId ? parseGlobalId(input.chatId, 'Chat') : null,
        replyToMessageId: input.replyToMessageId ? parseGlobalId(input.replyToMessageId, 'Message') : null,
      });
      return ctx.prisma.message.findUniqueOrThrow({ ...query, where: { id: message.id } });
    },
  }),
);
