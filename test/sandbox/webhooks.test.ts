/**
 * A test receiver gets the sandbox's webhooks for a whole session life, signed as the provider
 * signs them and shaped as the contract describes.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.ts';
import { createWasenderClient, type ProviderSession } from '../../src/provider/wasender-client.ts';
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const PAT = 'pat-webhook-test-0123456789';
const clock = new ManualClock(Date.now());
let receiver: WebhookReceiver;
let served: Awaited<ReturnType<typeof serveSandbox>>;
let session: ProviderSession;
const client = () => createWasenderClient({ baseUrl: served.apiUrl, personalAccessToken: PAT });

async function control(action: string, body: object = {}) {
  const res = await fetch(`${served.controlUrl}/sessions/${session.id}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}
const take = () => receiver.take();
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  served = await serveSandbox({ personalAccessToken: PAT, clock, qrRotateMs: 45_000, deliveryDelayMs: 400, webhookRetry: { attempts: 3, baseDelayMs: 1_000 } });
  session = await client().createSession({
    name: 'Hooks',
    phoneNumber: '+255712000001',
    accountProtection: false,
    logMessages: true,
    webhookUrl: receiver.url,
    webhookEnabled: true,
    webhookEvents: [],
  });
});
afterAll(async () => {
  await served.close();
  await receiver.close();
});

describe('sandbox webhooks', () => {
  it('reports connect by webhook, signs every delivery with the webhook secret and puts the API key in the envelope', async () => {
    const connected = await client().connectSession(session.id);
    // As the provider does, connect also reports need_scan and the first QR by webhook.
    await until(() => receiver.deliveries.length === 2);
    expect(take().map((d) => d.body)).toMatchObject([
      { event: 'session.status', sessionId: session.apiKey, data: { status: 'need_scan' } },
      { event: 'qrcode.updated', sessionId: session.apiKey, data: { qr: connected.qrCode } },
    ]);
    clock.advance(45_000);
    await until(() => receiver.deliveries.length === 1);
    const [rotation] = take();
    expect(rotation!.signature).toBe(session.webhookSecret);
    expect(rotation!.body).toMatchObject({ event: 'qrcode.updated', sessionId: session.apiKey, data: { qr: expect.stringMatching(/^2@/) } });
    expect(rotation!.body.timestamp).toBeLessThan(1e12); // seconds
    clock.advance(45_000);
    await until(() => receiver.deliveries.length === 1);
    expect(take()[0]!.body.data.qr).not.toBe(rotation!.body.data.qr);
  });

  it('reports the scan as connecting, then connected', async () => {
    await control('scan');
    expect(take().map((d) => [d.body.event, d.body.data.status])).toEqual([
      ['session.status', 'connecting'],
      ['session.status', 'connected'],
    ]);
    clock.advance(45_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(take()).toEqual([]); // no more QR codes once connected
  });

  it('delivers inbound text as messages.received (object) and messages.upsert (array)', async () => {
    const { id } = await control('inbound', { from: '+255700000001', text: 'Habari', pushName: 'Asha' });
    const got = take();
    const received = got.find((d) => d.body.event === 'messages.received')!.body.data.messages;
    const upsert = got.find((d) => d.body.event === 'messages.upsert')!.body.data.messages;
    expect(Array.isArray(upsert)).toBe(true);
    expect(upsert[0]).toEqual(received);
    expect(received).toMatchObject({
      key: { id, fromMe: false, remoteJid: '255700000001@s.whatsapp.net', senderPn: '255700000001@s.whatsapp.net', cleanedSenderPn: '255700000001' },
      messageBody: 'Habari',
      message: { conversation: 'Habari' },
      pushName: 'Asha',
    });
    expect(got.map((d) => d.body.event)).toContain('messages-personal.received');
  });

  it('holds real bytes for media and gives them back through /decrypt-media, for an hour', async () => {
    const kinds = [
      { kind: 'image', mimetype: 'image/png', magic: '89504e47' },
      { kind: 'audio', mimetype: 'audio/ogg; codecs=opus', magic: '4f676753' },
      { kind: 'document', mimetype: 'application/pdf', magic: '25504446', fileName: 'Invoice 7.pdf' },
      { kind: 'video', mimetype: 'video/mp4', magic: '66747970', at: 4 },
      { kind: 'sticker', mimetype: 'image/webp', magic: '52494646' },
    ];
    const api = client().session(session.apiKey!);
    for (const k of kinds) {
      const { id } = await control('inbound', { from: '+255700000004', media: { kind: k.kind, fileName: k.fileName } });
      const data = take().find((d) => d.body.event === 'messages.received')!.body.data;
      const media = data.messages.message[`${k.kind}Message`];
      const held = Buffer.from(await (await fetch(`${served.controlUrl}/media/${id}`)).arrayBuffer());
      expect(held.subarray(k.at ?? 0, (k.at ?? 0) + 4).toString('hex')).toBe(k.magic);
      expect(media).toMatchObject({ mimetype: k.mimetype, fileLength: String(held.length), fileSha256: createHash('sha256').update(held).digest('base64') });
      if (k.fileName) expect(media.fileName).toBe(k.fileName);

      const publicUrl = await api.decryptMedia(data);
      expect(publicUrl).toBe(`${served.apiUrl}/decrypted-media/${id}`);
      const served1 = await fetch(publicUrl);
      expect(served1.headers.get('content-type')).toBe(k.mimetype);
      expect(Buffer.from(await served1.arrayBuffer())).toEqual(held);
    }
    const given = Buffer.from('%PDF-1.4 given bytes');
    const { id } = await control('inbound', { from: '+255700000004', media: { kind: 'document', base64: given.toString('base64'), fileName: 'given.pdf' } });
    const data = take().find((d) => d.body.event === 'messages.received')!.body.data;
    const publicUrl = await api.decryptMedia(data);
    expect(Buffer.from(await (await fetch(publicUrl)).arrayBuffer())).toEqual(given);
    // A wrong media key decrypts nothing; the public URL lapses after an hour.
    data.messages.message.documentMessage.mediaKey = Buffer.alloc(32).toString('base64');
    await expect(api.decryptMedia(data)).rejects.toMatchObject({ status: 422 });
    clock.advance(60 * 60 * 1000 + 1);
    expect((await fetch(publicUrl)).status).toBe(404);
    const state = (await (await fetch(`${served.controlUrl}/state`)).json()) as { sessions: { id: number; decrypt_media_calls: number }[] };
    expect(state.sessions.find((s) => String(s.id) === session.id)!.decrypt_media_calls).toBe(kinds.length + 2);
  });

  it('delivers image, group and @lid messages in their real shapes', async () => {
    await control('inbound', { from: '+255700000002', media: { kind: 'image', caption: 'receipt' } });
    const image = take().find((d) => d.body.event === 'messages.received')!.body.data.messages;
    expect(image.message.imageMessage).toMatchObject({ mimetype: 'image/png', caption: 'receipt' });
    for (const field of ['url', 'mediaKey', 'fileSha256', 'fileLength', 'directPath']) expect(image.message.imageMessage[field]).toBeTruthy();
    expect(image.message.imageMessage.url).toMatch(/^https:\/\/mmg\.whatsapp\.net\/.+\.enc/);

    await control('inbound', { from: '+255700000003', text: 'to the group', group: '120363000000000009@g.us', lid: true });
    const group = take();
    expect(group.map((d) => d.body.event)).toContain('messages-group.received');
    expect(group.find((d) => d.body.event === 'messages.received')!.body.data.messages.key).toMatchObject({
      remoteJid: '120363000000000009@g.us',
      participant: expect.stringMatching(/@lid$/),
      participantPn: '255700000003@s.whatsapp.net',
      cleanedParticipantPn: '255700000003',
    });

    await control('inbound', { from: '+255700000004', text: 'lid user', lid: true });
    const lidKey = take().find((d) => d.body.event === 'messages.received')!.body.data.messages.key;
    expect(lidKey).toMatchObject({ remoteJid: expect.stringMatching(/@lid$/), addressingMode: 'lid', cleanedSenderPn: '255700000004' });
  });

  it('follows a send with message.sent and messages.update 2 → 3 → 4 in milliseconds, then receipts', async () => {
    const sent = await client().session(session.apiKey!).sendMessage({ to: '+255700000005', text: 'order ready' });
    clock.advance(1_000);
    await until(() => receiver.deliveries.length === 4);
    const got = take();
    expect(got.map((d) => d.body.event)).toEqual(['message.sent', 'messages.update', 'messages.update', 'messages.update']);
    expect(got[0]!.body.data).toMatchObject({ key: { fromMe: true, remoteJid: '255700000005@s.whatsapp.net' }, message: { conversation: 'order ready' }, success: true });
    expect(got.slice(1).map((d) => d.body.data.update.status)).toEqual([2, 3, 4]);
    expect(got[1]!.body.timestamp).toBeGreaterThan(1e12); // milliseconds
    const info = await client().session(session.apiKey!).getMessageInfo(sent.msgId);
    expect(info.status).toBe(4);

    await control('receipt', { id: info.key!.id, status: 5 });
    expect(take()[0]!.body.data).toEqual({ update: { status: 5 }, key: { remoteJid: '255700000005@s.whatsapp.net', id: info.key!.id, fromMe: true } });
  });

  it('redelivers after a non-2xx answer, with back-off', async () => {
    receiver.answer = 500;
    const { status } = await control('webhook', { event: 'chats.update', data: [{ id: '255700000001@s.whatsapp.net', unreadCount: 0 }] });
    expect(status).toBe(500);
    expect(take()).toHaveLength(1);
    receiver.answer = 200;
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 50));
    expect(take()).toHaveLength(0);
    clock.advance(1);
    await until(() => receiver.deliveries.length === 1);
    expect(take()[0]!.body.event).toBe('chats.update');
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(take()).toHaveLength(0); // acknowledged: no more attempts
  });

  it('honours webhook_events and reports the drop', async () => {
    await client().updateSession(session.id, { webhookEvents: ['session.status'] });
    await control('inbound', { from: '+255700000001', text: 'filtered' });
    expect(take()).toEqual([]);
    await control('drop', { status: 'logged_out' });
    expect(take().map((d) => d.body)).toMatchObject([{ event: 'session.status', data: { status: 'logged_out' } }]);
  });
});
