/**
 * The WasenderAPI client against the sandbox over real HTTP: every endpoint, every envelope
 * variant, every error kind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createWasenderClient, ProviderError, type WasenderClient } from '../../src/provider/wasender-client.ts';
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { ERROR_WORDINGS, type ErrorWordingName } from '../../src/sandbox/wording.ts';

// CI runs this suite once more with the alternate wording: no assertion may depend on the sentences.
const wordingName = (process.env.SANDBOX_ERROR_WORDING || 'standard') as ErrorWordingName;
const wording = ERROR_WORDINGS[wordingName];

const PAT = 'pat-contract-test-0123456789';
const logLines: string[] = [];
const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });

let served: Awaited<ReturnType<typeof serveSandbox>>;
let client: WasenderClient;

async function fault(body: Record<string, unknown>) {
  const res = await fetch(`${served.controlUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
}
async function clearFaults() {
  await fetch(`${served.controlUrl}/faults`, { method: 'DELETE' });
}
async function scan(id: string) {
  const res = await fetch(`${served.controlUrl}/sessions/${id}/scan`, { method: 'POST' });
  expect(res.status).toBe(200);
}
async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

const newSession = (n: number, extra: object = {}) => ({
  name: `Contract ${n}`,
  phoneNumber: `+25571100${String(n).padStart(4, '0')}`,
  accountProtection: false,
  logMessages: true,
  ...extra,
});

const clock = new ManualClock(Date.now());

beforeAll(async () => {
  served = await serveSandbox({ personalAccessToken: PAT, sessionLimit: 5, sendIntervalMs: 5_000, clock, errorWording: wordingName });
  client = createWasenderClient({ baseUrl: served.apiUrl, personalAccessToken: () => PAT, logger, backoff: { baseMs: 10, maxMs: 50 }, timeoutMs: 2_000 });
});
afterAll(() => served.close());

describe('session management (personal access token)', () => {
  it('creates, reads, lists, updates and deletes sessions with the right envelopes', async () => {
    const created = await client.createSession(newSession(1, { webhookUrl: 'https://example.com/hook', webhookEnabled: true, webhookEvents: ['session.status'] }));
    expect(created).toMatchObject({ name: 'Contract 1', phoneNumber: '+255711000001', status: 'DISCONNECTED', logMessages: true, webhookEnabled: true, webhookEvents: ['session.status'] });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.apiKey).toMatch(/^[0-9a-f]{64}$/);
    expect(created.webhookSecret).toMatch(/^[0-9a-f]{32}$/);

    expect(await client.getSession(created.id)).toMatchObject({ id: created.id, apiKey: created.apiKey });
    const listed = (await client.listSessions()).find((s) => s.id === created.id);
    expect(listed).toMatchObject({ name: 'Contract 1', apiKey: null, webhookSecret: null });

    const updated = await client.updateSession(created.id, { name: 'Renamed', readIncomingMessages: true });
    expect(updated).toMatchObject({ name: 'Renamed', readIncomingMessages: true });

    await client.deleteSession(created.id); // 204, no body
    expect((await failure(client.getSession(created.id))).code).toBe('NOT_FOUND');
  });

  it('runs the connection life cycle: connect, QR, restart, disconnect, key rotation, logs', async () => {
    const s = await client.createSession(newSession(2));
    expect(await failure(client.getQrCode(s.id))).toMatchObject({ status: 400, code: 'REFUSED', message: wording.notInitialized });
    const connected = await client.connectSession(s.id);
    expect(connected.status).toBe('QR_READY');
    expect(connected.qrCode).toMatch(/^2@/);
    expect(await client.getQrCode(s.id)).toBe(connected.qrCode);
    expect(await failure(client.restartSession(s.id))).toMatchObject({ status: 400, code: 'REFUSED', message: wording.notConnected });

    await scan(s.id);
    expect(await client.session(s.apiKey!).getStatus()).toBe('CONNECTED');
    expect(await client.connectSession(s.id)).toEqual({ statusWord: 'connected', status: 'CONNECTED', qrCode: null });
    await client.restartSession(s.id); // `{ success, message }` envelope

    const newKey = await client.regenerateApiKey(s.id); // top-level `api_key`
    expect(newKey).toMatch(/^[0-9a-f]{64}$/);
    expect((await failure(client.session(s.apiKey!).getStatus())).code).toBe('UNAUTHORIZED');
    expect(await client.session(newKey).getStatus()).toBe('CONNECTED');

    await client.disconnectSession(s.id);
    expect(await client.session(newKey).getStatus()).toBe('DISCONNECTED');

    const logs = await client.getSessionLogs(s.id, { page: 1, perPage: 2 });
    expect(logs).toMatchObject({ page: 1, perPage: 2 });
    expect(logs.total).toBeGreaterThanOrEqual(4);
    expect(logs.lastPage).toBe(Math.ceil(logs.total / 2));
    expect(logs.items[0]).toMatchObject({ eventType: 'status_change', status: 'disconnected' });
    await client.deleteSession(s.id);
  });
});

describe('session-key endpoints', () => {
  let apiKey: string;
  let sessionId: string;
  beforeAll(async () => {
    const s = await client.createSession(newSession(3));
    sessionId = s.id;
    apiKey = s.apiKey!;
    await client.connectSession(s.id);
    await scan(s.id);
  });

  it('reads status (bare envelope) and user', async () => {
    const api = client.session(apiKey);
    expect(await api.getStatus()).toBe('CONNECTED');
    expect(await api.getUser()).toMatchObject({ id: '255711000003:12@s.whatsapp.net', name: 'Contract 3' });
  });

  it('sends every content kind and keeps the rate-limit headers', async () => {
    const api = client.session(apiKey);
    const sends = [
      { to: '+255700000001', text: 'hello' },
      { to: '+255700000001', imageUrl: 'https://example.com/a.jpg', text: 'caption' },
      { to: '+255700000001', videoUrl: 'https://example.com/a.mp4' },
      { to: '+255700000001', documentUrl: 'https://example.com/a.pdf', fileName: 'invoice.pdf' },
      { to: '+255700000001', audioUrl: 'https://example.com/a.ogg' },
      { to: '+255700000001', stickerUrl: 'https://example.com/a.webp' },
      { to: '+255700000001', contact: { name: 'Asha', phone: '+255700000002' } },
      { to: '+255700000001', location: { latitude: -6.8, longitude: 39.28, name: 'Shop' } },
      { to: '+255700000001', poll: { question: 'Pickup?', options: ['Yes', 'No'], multiSelect: false } },
      { to: '120363000000000001@g.us', text: 'hi @255700000002', mentions: ['255700000002@s.whatsapp.net'] },
    ];
    const ids: number[] = [];
    for (const input of sends) {
      const result = await api.sendMessage(input);
      expect(result).toMatchObject({ jid: input.to, status: 'in_progress' });
      ids.push(result.msgId);
    }
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(client.lastRateLimit).toMatchObject({ limit: 256, remaining: 256 - sends.length });
    expect(client.lastRateLimit!.resetAt).toBeGreaterThan(Date.now());

    const reply = await api.sendMessage({ to: '+255700000001', text: 'quoted', replyTo: ids[0] });
    const info = await api.getMessageInfo(reply.msgId);
    expect(info).toMatchObject({ msgId: reply.msgId, remoteJid: '255700000001@s.whatsapp.net', message: { conversation: 'quoted' } });
    expect(info.key?.id).toMatch(/^3EB0/);
    expect(info.messageTimestamp).toMatch(/^\d+$/);

    const edited = await api.editMessage(reply.msgId, 'quoted, edited');
    expect(edited.message).toMatchObject({ protocolMessage: { type: 14, editedMessage: { conversation: 'quoted, edited' } } });
    await api.deleteMessage(reply.msgId); // `{ success, message }`
    expect((await failure(api.getMessageInfo(reply.msgId))).code).toBe('NOT_FOUND');
    expect(await failure(api.resendMessage(ids[0]!))).toMatchObject({ status: 400, code: 'REFUSED' });

    const logs = await client.getMessageLogs(sessionId, { perPage: 50 });
    expect(logs.total).toBe(sends.length + 1);
    expect(logs.items.at(-1)?.content).toMatchObject({ to: '+255700000001', text: 'hello' });
  });

  it('covers reading, media and contacts', async () => {
    const api = client.session(apiKey);
    await api.markRead({ id: '3EB0ABC', remoteJid: '255700000001@s.whatsapp.net', fromMe: false });
    expect(await api.upload({ bytes: new Uint8Array([0xff, 0xd8, 0xff]), mimetype: 'image/jpeg' })).toMatch(/^https:\/\/wasenderapi\.com\/media\/.+\.jpeg$/);
    expect(await api.upload({ base64: 'data:image/png;base64,iVBORw0KGgo=' })).toMatch(/\.png$/);
    // Media nobody sent cannot be decrypted (the sandbox's own media: test/sandbox/webhooks.test.ts).
    const undecryptable = await failure(api.decryptMedia({ messages: { key: { id: '3EB0XYZ' }, message: { imageMessage: { url: 'https://mmg.whatsapp.net/x.enc', mimetype: 'image/jpeg', mediaKey: 'k' } } } }));
    expect(undecryptable).toMatchObject({ status: 422, message: wording.cannotDecrypt });
    expect(await api.onWhatsApp('+255700000001')).toBe(true);
    expect(await api.getContacts()).toEqual([]);
    expect(await api.getContacts({ page: 1, limit: 5 })).toEqual([]);
    expect(await api.getContact('255700000001')).toMatchObject({ jid: '255700000001@s.whatsapp.net' });
    expect(await api.getContactPicture('255700000001')).toBeNull();
    const lid = await api.lidFromPn('255700000001@s.whatsapp.net');
    expect(lid).toMatch(/@lid$/);
    expect(await api.pnFromLid(lid)).toBe('255700000001@s.whatsapp.net');
    await api.sendPresenceUpdate({ jid: '255700000001@s.whatsapp.net', type: 'composing', delayMs: 1000 });
  });
});

describe('errors', () => {
  it('maps 401 for both credential kinds, and a missing token', async () => {
    const wrongPat = createWasenderClient({ baseUrl: served.apiUrl, personalAccessToken: 'not-the-pat', maxRetries: 0 });
    const e1 = await failure(wrongPat.listSessions());
    expect(e1).toMatchObject({ status: 401, code: 'UNAUTHORIZED', message: wording.patRequired });
    const e2 = await failure(client.session('f'.repeat(64)).sendMessage({ to: '+255700000001', text: 'x' }));
    expect(e2).toMatchObject({ status: 401, code: 'UNAUTHORIZED', message: wording.unknownApiKey });
    const e3 = await failure(client.session('f'.repeat(64)).getStatus());
    expect(e3).toMatchObject({ status: 401, code: 'UNAUTHORIZED', message: wording.unknownStatusKey });
    const none = createWasenderClient({ baseUrl: served.apiUrl, personalAccessToken: () => null });
    expect(await failure(none.listSessions())).toMatchObject({ status: 0, code: 'UNAUTHORIZED' });
    await expect(client.verifyToken('not-the-pat')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(client.verifyToken(PAT)).resolves.toBeUndefined();
  });

  it('maps the session limit, unknown ids and validation errors with fields', async () => {
    const invalid = await failure(client.createSession({ ...newSession(9), phoneNumber: 'abc' }));
    expect(invalid).toMatchObject({ status: 422, code: 'VALIDATION', fields: { phone_number: [wording.invalidFormat('phone number')] } });
    expect((await failure(client.getSession('999999'))).code).toBe('NOT_FOUND');
    const existing = (await client.listSessions()).length;
    for (let i = existing; i < 5; i++) await client.createSession(newSession(100 + i));
    const limit = await failure(client.createSession(newSession(200)));
    expect(limit).toMatchObject({ status: 403, code: 'SESSION_LIMIT', message: wording.sessionLimit });
  });

  it('maps 429 with retry_after and does not retry a refused send beyond its budget', async () => {
    const s = (await client.listSessions()).find((x) => x.status === 'CONNECTED')!;
    const full = await client.getSession(s.id);
    await client.updateSession(s.id, { accountProtection: true });
    clock.advance(10_000); // past any earlier send's protection interval
    const api = createWasenderClient({ baseUrl: served.apiUrl, personalAccessToken: PAT, maxRetries: 0 }).session(full.apiKey!);
    await api.sendMessage({ to: '+255700000001', text: 'one' });
    const limited = await failure(api.sendMessage({ to: '+255700000001', text: 'two' }));
    expect(limited).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(limited.retryAfter).toBeGreaterThan(0);
    expect(limited.retryAfter).toBeLessThanOrEqual(5);
    await client.updateSession(s.id, { accountProtection: false });
  });

  it('retries 5xx on a safe call until it succeeds', async () => {
    await fault({ path: '/whatsapp-sessions', method: 'GET', status: 503, count: 2 });
    expect(Array.isArray(await client.listSessions())).toBe(true);
    await clearFaults();
  });

  it('gives up after retries with UNAVAILABLE, and honours a 429 retry-after', async () => {
    await fault({ path: '/whatsapp-sessions', method: 'GET', status: 502, count: 10 });
    expect((await failure(client.listSessions())).code).toBe('UNAVAILABLE');
    await clearFaults();
    await fault({ path: '/whatsapp-sessions', method: 'GET', status: 429, count: 1, body: { message: 'slow down', retry_after: 0.2 } });
    const started = Date.now();
    await client.listSessions();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('times out, and never repeats a send that may have reached the provider', async () => {
    const quick = createWasenderClient({ baseUrl: served.apiUrl, personalAccessToken: PAT, timeoutMs: 200, maxRetries: 0 });
    await fault({ path: '/whatsapp-sessions', method: 'GET', delayMs: 600, count: 1 });
    expect(await failure(quick.listSessions())).toMatchObject({ status: 0, code: 'TIMEOUT' });
    await clearFaults();

    const s = (await client.listSessions()).find((x) => x.status === 'CONNECTED')!;
    const key = (await client.getSession(s.id)).apiKey!;
    // One 500 on the send: a retry would succeed, so success here would mean it was repeated.
    await fault({ path: '/send-message', status: 500, count: 1 });
    expect((await failure(client.session(key).sendMessage({ to: '+255700000001', text: 'once' }))).code).toBe('UNAVAILABLE');
    await fault({ path: '/send-message', delayMs: 3_000, count: 1 });
    const retrying = createWasenderClient({ baseUrl: served.apiUrl, personalAccessToken: PAT, timeoutMs: 200, maxRetries: 3 });
    expect((await failure(retrying.session(key).sendMessage({ to: '+255700000001', text: 'once' }))).code).toBe('TIMEOUT');
    await clearFaults();
  });

  it('treats success:false in a 2xx as an error', async () => {
    await fault({ path: '/whatsapp-sessions', method: 'GET', status: 200, count: 1, body: { success: false, message: wording.notConnected } });
    expect(await failure(client.listSessions())).toMatchObject({ code: 'REFUSED', message: wording.notConnected });
  });

  it('classifies by the HTTP status and the field list, never by the words', async () => {
    const quick = createWasenderClient({ baseUrl: served.apiUrl, personalAccessToken: PAT, maxRetries: 0 });
    const answers: [number, Record<string, unknown>, string][] = [
      // Sentences that once decided the code, each on a status that now decides it alone.
      [403, { success: false, message: 'Forbidden' }, 'SESSION_LIMIT'],
      [403, { success: false, message: 'Invalid token' }, 'SESSION_LIMIT'],
      [400, { success: false, message: 'Session already connected' }, 'REFUSED'],
      [422, { success: false, message: 'Session is not connected' }, 'REFUSED'],
      [422, { success: false, message: 'Session is not connected', errors: { name: ['Taken.'] } }, 'VALIDATION'],
      [409, { success: false, message: 'Conflict' }, 'INVALID_STATE'],
      [401, { success: false, message: 'Plan limit reached' }, 'UNAUTHORIZED'],
      [500, { success: false, message: 'Session limit reached' }, 'UNAVAILABLE'],
    ];
    for (const [status, body, code] of answers) {
      await fault({ path: '/whatsapp-sessions', method: 'GET', status, count: 1, body });
      expect(await failure(quick.listSessions())).toMatchObject({ status, code, message: body.message });
    }
  });

  it('never writes a secret to the log or into an error', async () => {
    const s = await client.getSession((await client.listSessions())[0]!.id);
    const text = logLines.join('\n');
    expect(logLines.length).toBeGreaterThan(10);
    expect(text).not.toContain(PAT);
    expect(text).not.toContain(s.apiKey!);
    const e = await failure(client.session(s.apiKey!).getMessageInfo(1));
    expect(JSON.stringify({ ...e, text: e.message, stack: e.stack })).not.toContain(s.apiKey!);
  });
});
