/**
 * Inbound media you can see: the file behind Message.media.url is the sandbox's, decrypted through
 * the provider's /decrypt-media, cached so a second view costs no provider call, and only for the
 * viewer the link was made for while they may still see the session.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startSharedDeployment, startTestApp, type TestApp, type TestDeployment } from '../helpers/app.ts';
import { serviceAvailable } from '../helpers/database.ts';
import { createApiTokenRow } from '../helpers/api-token.ts';
import { connectedSession, inbound, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { clearFaults, injectFault, sandboxMedia, sandboxState } from '../helpers/sandbox.ts';
import { connectWs } from '../helpers/ws.ts';
import { MediaOfMessage, MediaReceived, SendMedia, SessionMessages } from './documents.ts';

async function messageOf(app: TestApp, session: ConnectedSession, providerMessageId: string, token?: string) {
  const result = await app.execute(SessionMessages, { id: session.id }, token ? { token } : {});
  if (result.errors?.length) throw new Error(JSON.stringify(result.errors));
  const message = result.data!.session!.chats.nodes.flatMap((c) => c.messages.nodes).find((m) => m.providerMessageId === providerMessageId);
  if (!message) throw new Error(`message ${providerMessageId} not found`);
  return message;
}

/** A customer sends media; resolves once it is stored, with the message as the API shows it. */
async function receive(app: TestApp, session: ConnectedSession, media: Record<string, unknown>, from = '+255700000101') {
  const id = await inbound(app, session, { from, pushName: 'Asha', media });
  await settled(app);
  return { id, message: await messageOf(app, session, id) };
}

const decryptCalls = async (app: TestApp, session: ConnectedSession) => (await sandboxState(app, session.providerSessionId))!.decrypt_media_calls;
const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer());

describe('inbound media', () => {
  let app: TestApp;
  let session: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp({ manualClock: true });
    session = await connectedSession(app, 'Media');
  });
  afterAll(() => app.stop());

  it('serves the photo a customer sent with the sandbox\'s bytes; a second view costs no provider call', async () => {
    const { id, message } = await receive(app, session, { kind: 'image', caption: 'Receipt for order 7' });
    const held = await sandboxMedia(app, id);
    expect(message.kind).toBe('IMAGE');
    expect(message.media).toMatchObject({ kind: 'IMAGE', mimetype: 'image/png', caption: 'Receipt for order 7', size: held.bytes.length, fileName: null });
    expect(message.media!.url.startsWith(`${app.url}/media/`)).toBe(true);
    expect(Date.parse(message.media!.urlExpiresAt)).toBeGreaterThan(app.clock!.now());
    // What is only for fetching the file stays ours.
    expect(JSON.stringify(message.content)).not.toMatch(/mediaKey|directPath|fileSha256|whatsapp\.net/);

    const before = await decryptCalls(app, session);
    const first = await fetch(message.media!.url);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/png');
    expect(first.headers.get('content-length')).toBe(String(held.bytes.length));
    expect(first.headers.get('cache-control')).toMatch(/^private/);
    expect(await bytesOf(first)).toEqual(held.bytes);
    expect(await decryptCalls(app, session)).toBe(before + 1);

    // The provider's copy now fails: the second view is served from our cache, without asking.
    await injectFault(app, { path: '/decrypted-media', status: 500, count: 5 });
    try {
      const second = await fetch(message.media!.url);
      expect(second.status).toBe(200);
      expect(await bytesOf(second)).toEqual(held.bytes);
      expect(await decryptCalls(app, session)).toBe(before + 1);
    } finally {
      await clearFaults(app);
    }
  });

  it('makes one provider call for concurrent first views of a file', async () => {
    const { id, message } = await receive(app, session, { kind: 'video', caption: 'The parcel' });
    const held = await sandboxMedia(app, id);
    const before = await decryptCalls(app, session);
    const views = await Promise.all(Array.from({ length: 6 }, () => fetch(message.media!.url)));
    for (const view of views) {
      expect(view.status).toBe(200);
      expect(await bytesOf(view)).toEqual(held.bytes);
    }
    expect(await decryptCalls(app, session)).toBe(before + 1);
  });

  it('serves a voice note and a PDF with their content types, and the document under its file name', async () => {
    const voice = await receive(app, session, { kind: 'audio' });
    expect(voice.message.media).toMatchObject({ kind: 'AUDIO', mimetype: 'audio/ogg; codecs=opus', seconds: 1 });
    const note = await fetch(voice.message.media!.url);
    expect(note.status).toBe(200);
    expect(note.headers.get('content-type')).toBe('audio/ogg; codecs=opus');
    expect(note.headers.get('content-disposition')).toBe('inline');
    const noteBytes = await bytesOf(note);
    expect(noteBytes.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(noteBytes).toEqual((await sandboxMedia(app, voice.id)).bytes);

    const pdf = await receive(app, session, { kind: 'document', fileName: 'Invoice 7 – Duka.pdf', caption: 'Invoice' });
    expect(pdf.message.media).toMatchObject({ kind: 'DOCUMENT', mimetype: 'application/pdf', fileName: 'Invoice 7 – Duka.pdf', caption: 'Invoice' });
    const doc = await fetch(pdf.message.media!.url);
    expect(doc.status).toBe(200);
    expect(doc.headers.get('content-type')).toBe('application/pdf');
    expect(doc.headers.get('content-disposition')).toBe(`attachment; filename="Invoice 7 _ Duka.pdf"; filename*=UTF-8''${encodeURIComponent('Invoice 7 – Duka.pdf')}`);
    const docBytes = await bytesOf(doc);
    expect(docBytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(docBytes).toEqual((await sandboxMedia(app, pdf.id)).bytes);
  });

  it('answers 404 for tampered, foreign and expired links, without saying why', async () => {
    const { message } = await receive(app, session, { kind: 'sticker' });
    const other = await receive(app, session, { kind: 'image' });
    const url = message.media!.url;
    const link = url.slice(`${app.url}/media/`.length);
    const [messageId, viewer, expiry, signature] = link.split('.');
    const otherId = other.message.media!.url.slice(`${app.url}/media/`.length).split('.')[0];
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    const wrong = [
      `${messageId}.${viewer}.${expiry}.${flip(signature!)}`,
      `${otherId}.${viewer}.${expiry}.${signature}`,
      `${messageId}.${viewer}.${(parseInt(expiry!, 36) + 3600).toString(36)}.${signature}`,
      `${messageId}.${randomUUID()}.${expiry}.${signature}`,
      `${messageId}.${viewer}.${expiry}`,
      'nothing',
    ];
    for (const bad of wrong) {
      const res = await fetch(`${app.url}/media/${bad}`);
      expect(res.status, bad).toBe(404);
      expect(await res.json()).toEqual({ error: 'not found' });
    }
    expect((await fetch(url)).status).toBe(200);
    app.clock!.advance(Date.parse(message.media!.urlExpiresAt) - app.clock!.now() + 1);
    expect((await fetch(url)).status).toBe(404);
    // A fresh link works again.
    const fresh = await messageOf(app, session, message.providerMessageId!);
    expect(fresh.media!.url).not.toBe(url);
    expect((await fetch(fresh.media!.url)).status).toBe(200);
  });

  it('gives a token without access to the session no media, and ends a link when its token loses access', async () => {
    const { id } = await receive(app, session, { kind: 'image', caption: 'private' });
    const outsider = await createApiTokenRow(app, { role: 'AGENT', sessionIds: [randomUUID()] });
    const refused = await app.execute(SessionMessages, { id: session.id }, { token: outsider.token });
    expect(refused.data?.session ?? null).toBeNull();
    expect(refused.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const reader = await createApiTokenRow(app, { role: 'VIEWER', sessionIds: [session.dbId] });
    const forReader = (await messageOf(app, session, id, reader.token)).media!.url;
    expect((await fetch(forReader)).status).toBe(200);
    await app.running.db.prisma.apiToken.update({ where: { id: reader.id }, data: { sessionIds: [randomUUID()] } });
    expect((await fetch(forReader)).status).toBe(404);

    const revoked = await createApiTokenRow(app, { role: 'VIEWER' });
    const forRevoked = (await messageOf(app, session, id, revoked.token)).media!.url;
    expect((await fetch(forRevoked)).status).toBe(200);
    await app.running.db.prisma.apiToken.update({ where: { id: revoked.id }, data: { revokedAt: new Date(app.clock!.now()) } });
    expect((await fetch(forRevoked)).status).toBe(404);
  });

  it('answers 502 when the provider cannot decrypt, keeps nothing of the failure, and serves once it can', async () => {
    const { id, message } = await receive(app, session, { kind: 'image' });
    const before = await decryptCalls(app, session);
    await injectFault(app, { path: '/decrypt-media', status: 503, count: 20 });
    try {
      const failed = await fetch(message.media!.url);
      expect(failed.status).toBe(502);
      expect(((await failed.json()) as { error: string }).error).toMatch(/provider/);
    } finally {
      await clearFaults(app);
    }
    const logs = await app.running.db.prisma.sessionLog.findMany({ where: { sessionId: session.dbId, type: 'ERROR' } });
    expect(logs.some((l) => l.message.startsWith('Decrypt media failed'))).toBe(true);
    const served = await fetch(message.media!.url);
    expect(served.status).toBe(200);
    expect(await bytesOf(served)).toEqual((await sandboxMedia(app, id)).bytes);
    expect(await decryptCalls(app, session)).toBe(before + 1);
  });

  it('has no media for a text message', async () => {
    const id = await inbound(app, session, { from: '+255700000101', text: 'asante' });
    await settled(app);
    expect((await messageOf(app, session, id)).media).toBeNull();
  });
});

describe('media larger than the cache takes', () => {
  let app: TestApp;
  let session: ConnectedSession;
  beforeAll(async () => {
    // About 100 bytes: every sample file is larger.
    app = await startTestApp({ env: { MEDIA_CACHE_FILE_MB: '0.0001' } });
    session = await connectedSession(app, 'Large media');
  });
  afterAll(() => app.stop());

  it('is streamed through on every view, not cached, reusing the provider\'s decrypted URL', async () => {
    const { id, message } = await receive(app, session, { kind: 'document', fileName: 'catalogue.pdf' });
    const held = await sandboxMedia(app, id);
    expect(held.bytes.length).toBeGreaterThan(105);
    for (let view = 0; view < 2; view++) {
      const res = await fetch(message.media!.url);
      expect(res.status).toBe(200);
      expect(await bytesOf(res)).toEqual(held.bytes);
    }
    expect(await decryptCalls(app, session)).toBe(1);
    // Nothing was kept: when the provider's copy fails, so does the next view.
    await injectFault(app, { path: '/decrypted-media', status: 500, count: 1 });
    try {
      expect((await fetch(message.media!.url)).status).toBe(502);
    } finally {
      await clearFaults(app);
    }
  });
});

describe('media links on the real clock (sends, live feeds)', () => {
  let app: TestApp;
  let session: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    session = await connectedSession(app, 'Live media');
  });
  afterAll(() => app.stop());

  it('redirects to the URL of media we sent by URL, which we never fetch', async () => {
    const url = 'https://cdn.example.com/price-list.jpg';
    const { sendMessage: sent } = await app.data(SendMedia, { input: { sessionId: session.id, to: '+255700000101', image: { url, caption: 'Price list' } } });
    expect(sent).toMatchObject({ direction: 'OUTBOUND', kind: 'IMAGE', media: { kind: 'IMAGE', caption: 'Price list' }, content: { media: { url } } });
    const pending = await fetch(sent.media!.url, { redirect: 'manual' });
    expect(pending.status).toBe(302);
    expect(pending.headers.get('location')).toBe(url);
    // Once the provider has sent it (and echoed it), the link still leads to the same file.
    const echoed = await eventually(async () => {
      const { node } = await app.data(MediaOfMessage, { id: sent.id });
      return node && 'status' in node && node.status !== 'PENDING' ? node : undefined;
    });
    const after = await fetch(echoed.media!.url, { redirect: 'manual' });
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toBe(url);
  });

  it('gives each token its own link, even where subscribers with the same access share one execution', async () => {
    const first = await createApiTokenRow(app, { role: 'VIEWER' });
    const second = await createApiTokenRow(app, { role: 'VIEWER' });
    const clients = [connectWs(app.url, { token: first.token }), connectWs(app.url, { token: second.token })];
    try {
      const feeds = clients.map((c) => c.subscribe(MediaReceived, { sessionId: session.id }));
      await eventually(() => app.running.liveStats().subscribers === 2);
      const id = await inbound(app, session, { from: '+255700000102', media: { kind: 'image' } });
      const [a, b] = await Promise.all(feeds.map((f) => f.next()));
      expect(a!.messageReceived.providerMessageId).toBe(id);
      const [urlA, urlB] = [a!.messageReceived.media!.url, b!.messageReceived.media!.url];
      expect(urlA).not.toBe(urlB);
      await app.running.db.prisma.apiToken.update({ where: { id: first.id }, data: { revokedAt: new Date() } });
      expect((await fetch(urlA)).status).toBe(404);
      const served = await fetch(urlB);
      expect(served.status).toBe(200);
      expect(await bytesOf(served)).toEqual((await sandboxMedia(app, id)).bytes);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

describe.runIf(serviceAvailable('DATABASE_URL'))('media links across processes', () => {
  let deployment: TestDeployment;
  beforeAll(async () => {
    deployment = await startSharedDeployment(2);
  });
  afterAll(() => deployment?.stop());

  it('serves a link made by one process from another (they share the encryption key)', async () => {
    const [first, second] = deployment.apps as [TestApp, TestApp];
    const session = await connectedSession(first, 'Two processes');
    const { id, message } = await receive(first, session, { kind: 'image', caption: 'from the counter' });
    const path = new URL(message.media!.url).pathname;
    const res = await fetch(`${second.url}${path}`);
    expect(res.status).toBe(200);
    expect(await bytesOf(res)).toEqual((await sandboxMedia(first, id)).bytes);
    const tampered = await fetch(`${second.url}${path.slice(0, -1)}${path.endsWith('A') ? 'B' : 'A'}`);
    expect(tampered.status).toBe(404);
  });
});
