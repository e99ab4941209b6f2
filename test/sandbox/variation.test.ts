/**
 * The variation the provider's contract documents (shared/wasender-api.md), produced by the
 * sandbox over HTTP and received, signed, on a local receiver: envelopes without `sessionId`,
 * `@lid` senders with and without phone fields, bare messages, `fromMe` upserts from the phone,
 * ignored chat kinds, rate-limit headers on every answer, the session limit and a second wording
 * of every error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { serveSandbox, type ServedSandbox } from '../../src/sandbox/serve.ts';
import { startTestApp } from '../helpers/app.ts';
import { startWebhookReceiver, type Delivery, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const PAT = 'pat-variation-test-0123456789';

let receiver: WebhookReceiver;
let served: ServedSandbox;
let session: { id: number; api_key: string; webhook_secret: string };
let nextPhone = 1;

const take = () => receiver.take();
const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

async function call(base: string, method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; type?: string } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined || opts.raw !== undefined ? { 'content-type': opts.type ?? 'application/json' } : {}),
    },
    body: opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const api = (method: string, path: string, opts: Parameters<typeof call>[3] = {}) => call(served.apiUrl, method, path, opts);
const control = (path: string, body: unknown = {}) => call(served.controlUrl, 'POST', path, { body });
const inbound = (body: object) => control(`/sessions/${session.id}/inbound`, body);
const received = (got: Delivery[]) => got.find((d) => d.body.event === 'messages.received')!.body.data.messages;

/** A session at the sandbox with our receiver as its webhook, linked. */
async function linkedSession(base: { apiUrl: string; controlUrl: string }, settings: object = {}) {
  const phone = `+2557130${String(nextPhone++).padStart(5, '0')}`;
  const created = await call(base.apiUrl, 'POST', '/whatsapp-sessions', {
    token: PAT,
    body: { name: 'Variation', phone_number: phone, account_protection: false, log_messages: true, webhook_url: receiver.url, webhook_enabled: true, ...settings },
  });
  expect(created.status).toBe(200);
  const s = created.body.data;
  await call(base.apiUrl, 'POST', `/whatsapp-sessions/${s.id}/connect`, { token: PAT });
  await until(() => receiver.deliveries.some((d) => d.body.sessionId === s.api_key && d.body.event === 'qrcode.updated'));
  expect((await call(base.controlUrl, 'POST', `/sessions/${s.id}/scan`, { body: {} })).status).toBe(200);
  take();
  return s as typeof session;
}

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  served = await serveSandbox({ personalAccessToken: PAT });
  session = await linkedSession(served);
});
afterAll(async () => {
  await served.close();
  await receiver.close();
});

describe('sandbox variation', () => {
  it('delivers an envelope without sessionId, still signed with the secret', async () => {
    const answer = await control(`/sessions/${session.id}/webhook`, { event: 'session.status', data: { status: 'connected' }, withoutSessionId: true });
    expect(answer.body).toEqual({ status: 200 });
    const [delivery] = take();
    expect(delivery!.signature).toBe(session.webhook_secret);
    expect(delivery!.body).toEqual({ event: 'session.status', timestamp: expect.any(Number), data: { status: 'connected' } });
  });

  it('gives each contact one stable @lid that lid-from-pn and pn-from-lid agree with', async () => {
    await inbound({ from: '+255700000101', text: 'by phone' });
    const byPhone = received(take()).key;
    expect(byPhone).toMatchObject({ remoteJid: '255700000101@s.whatsapp.net', addressingMode: 'pn', senderPn: '255700000101@s.whatsapp.net', cleanedSenderPn: '255700000101', senderLid: expect.stringMatching(/^\d{15}@lid$/) });
    const lid = byPhone.senderLid as string;

    await inbound({ from: '+255700000101', text: 'by lid', lid: true });
    expect(received(take()).key).toMatchObject({ remoteJid: lid, addressingMode: 'lid', senderPn: '255700000101@s.whatsapp.net', cleanedSenderPn: '255700000101', senderLid: lid });

    await inbound({ from: '+255700000101', text: 'lid only', lid: 'only' });
    const lidOnly = received(take()).key;
    expect(lidOnly).toMatchObject({ remoteJid: lid, addressingMode: 'lid', senderLid: lid });
    expect(lidOnly).not.toHaveProperty('senderPn');
    expect(lidOnly).not.toHaveProperty('cleanedSenderPn');

    const key = session.api_key;
    expect((await api('GET', `/lid-from-pn/${encodeURIComponent('255700000101@s.whatsapp.net')}`, { token: key })).body.data).toEqual({ lid });
    expect((await api('GET', `/pn-from-lid/${encodeURIComponent(lid)}`, { token: key })).body.data).toEqual({ pn: '255700000101@s.whatsapp.net' });
    // Another person, another lid; one the sandbox never showed has no phone.
    expect((await api('GET', `/lid-from-pn/${encodeURIComponent('255700000102@s.whatsapp.net')}`, { token: key })).body.data.lid).not.toBe(lid);
    expect((await api('GET', `/pn-from-lid/${encodeURIComponent('100000000000001@lid')}`, { token: key })).status).toBe(404);
  });

  it('sends group messages from the lid with or without the participant phone fields', async () => {
    const group = '120363000000000101@g.us';
    await inbound({ from: '+255700000103', text: 'pn', group });
    const lid = received(take()).key.participantLid as string;
    await inbound({ from: '+255700000103', text: 'lid', group, lid: true });
    expect(received(take()).key).toMatchObject({ remoteJid: group, participant: lid, participantPn: '255700000103@s.whatsapp.net', cleanedParticipantPn: '255700000103', participantLid: lid, addressingMode: 'lid' });
    await inbound({ from: '+255700000103', text: 'lid only', group, lid: 'only' });
    const only = received(take()).key;
    expect(only).toMatchObject({ remoteJid: group, participant: lid, participantLid: lid });
    expect(only).not.toHaveProperty('participantPn');
    expect(only).not.toHaveProperty('cleanedParticipantPn');
    expect((await inbound({ from: '+255700000103', text: 'x', lid: 'sometimes' })).status).toBe(422);
  });

  it('sends bare messages without pushName and messageTimestamp, on request or for a share of them', async () => {
    await inbound({ from: '+255700000104', text: 'dressed', pushName: 'Neema' });
    expect(received(take())).toMatchObject({ pushName: 'Neema', messageTimestamp: expect.any(Number) });
    await inbound({ from: '+255700000104', text: 'bare', pushName: 'Neema', bare: true });
    const bare = received(take());
    expect(bare).toMatchObject({ messageBody: 'bare' });
    expect(bare).not.toHaveProperty('pushName');
    expect(bare).not.toHaveProperty('messageTimestamp');

    const allBare = await serveSandbox({ personalAccessToken: PAT, bareShare: 1 });
    try {
      const s = await linkedSession(allBare);
      await call(allBare.controlUrl, 'POST', `/sessions/${s.id}/inbound`, { body: { from: '+255700000105', text: 'one' } });
      await call(allBare.controlUrl, 'POST', `/sessions/${s.id}/inbound`, { body: { from: '+255700000105', text: 'two', bare: false } });
      const [first, second] = take().filter((d) => d.body.event === 'messages.received').map((d) => d.body.data.messages);
      expect(first).not.toHaveProperty('pushName');
      expect(first).not.toHaveProperty('messageTimestamp');
      expect(second).toMatchObject({ pushName: '+255700000105', messageTimestamp: expect.any(Number) });
    } finally {
      await allBare.close();
    }
  });

  it('delivers a message typed on the phone as one fromMe messages.upsert', async () => {
    const answer = await control(`/sessions/${session.id}/from-phone`, { to: '+255700000106', text: 'sent from my phone' });
    expect(answer.status).toBe(200);
    const got = take();
    expect(got.map((d) => d.body.event)).toEqual(['messages.upsert']);
    expect(got[0]!.signature).toBe(session.webhook_secret);
    expect(got[0]!.body.data.messages).toEqual([
      expect.objectContaining({ key: expect.objectContaining({ id: answer.body.id, fromMe: true, remoteJid: '255700000106@s.whatsapp.net' }), messageBody: 'sent from my phone', message: { conversation: 'sent from my phone' } }),
    ]);
    expect((await control(`/sessions/${session.id}/from-phone`, { text: 'nowhere' })).status).toBe(422);
    expect(take()).toEqual([]);
  });

  it('reports connect as need_scan and the first QR; a repeated connect only sends the new QR', async () => {
    const created = await api('POST', '/whatsapp-sessions', { token: PAT, body: { name: 'Connect', phone_number: '+255713099001', account_protection: false, log_messages: false, webhook_url: receiver.url, webhook_enabled: true } });
    const s = created.body.data;
    const first = await api('POST', `/whatsapp-sessions/${s.id}/connect`, { token: PAT });
    await until(() => receiver.deliveries.length === 2);
    expect(take().map((d) => [d.body.event, d.body.data])).toEqual([
      ['session.status', { status: 'need_scan' }],
      ['qrcode.updated', { qr: first.body.data.qrCode }],
    ]);
    const again = await api('POST', `/whatsapp-sessions/${s.id}/connect`, { token: PAT });
    expect(again.body.data.qrCode).not.toBe(first.body.data.qrCode);
    await until(() => receiver.deliveries.length === 1);
    expect(take()[0]!.body).toMatchObject({ event: 'qrcode.updated', data: { qr: again.body.data.qrCode } });
  });

  it('sends no webhook for groups, channels or broadcasts the session ignores', async () => {
    const kinds = [
      { setting: 'ignore_groups', body: { group: '120363000000000102@g.us' }, event: 'messages-group.received' },
      { setting: 'ignore_channels', body: { channel: '120363000000000103@newsletter' }, event: 'messages-newsletter.received' },
      { setting: 'ignore_broadcasts', body: { broadcast: true }, event: 'messages.upsert' },
    ];
    for (const kind of kinds) {
      await inbound({ from: '+255700000107', text: 'heard', ...kind.body });
      expect(take().map((d) => d.body.event)).toContain(kind.event);
      expect((await api('PUT', `/whatsapp-sessions/${session.id}`, { token: PAT, body: { [kind.setting]: true } })).status).toBe(200);
      const ignored = await inbound({ from: '+255700000107', text: 'ignored', ...kind.body });
      expect(ignored.body).toMatchObject({ ignored: true });
      expect(take()).toEqual([]);
    }
    // Personal messages still arrive.
    await inbound({ from: '+255700000107', text: 'personal' });
    expect(take().map((d) => d.body.event)).toEqual(['messages.received', 'messages-personal.received', 'messages.upsert']);
  });
});

/** Status, shape and text of every error answer, over one fixed script of calls. */
async function errorScript(base: ServedSandbox) {
  const answers: { what: string; status: number; body: unknown; headers: Headers }[] = [];
  const run = async (what: string, method: string, path: string, opts: Parameters<typeof call>[3] = {}) => {
    const { status, body, headers } = await call(base.apiUrl, method, path, opts);
    answers.push({ what, status, body, headers });
    return body;
  };
  const create = (phone: string, extra: object = {}) => ({ name: 'Wording', phone_number: phone, account_protection: true, log_messages: true, ...extra });
  const s = (await run('create', 'POST', '/whatsapp-sessions', { token: PAT, body: create('+255714000001') })).data;
  const key = s.api_key as string;
  await run('list', 'GET', '/whatsapp-sessions', { token: PAT });
  await run('no token', 'GET', '/whatsapp-sessions');
  await run('missing fields', 'POST', '/whatsapp-sessions', { token: PAT, body: {} });
  await run('bad fields', 'POST', '/whatsapp-sessions', { token: PAT, body: { name: 5, phone_number: 'abc', account_protection: 'x', log_messages: true, webhook_url: 'nope', webhook_events: 'x' } });
  await run('too long name', 'PUT', `/whatsapp-sessions/${s.id}`, { token: PAT, body: { phone_number: '+255714000001', name: 'x'.repeat(300) } });
  await run('limit', 'POST', '/whatsapp-sessions', { token: PAT, body: create('+255714000002') });
  await run('unknown session', 'GET', '/whatsapp-sessions/999999999999', { token: PAT });
  await run('no qr', 'GET', `/whatsapp-sessions/${s.id}/qrcode`, { token: PAT });
  await run('restart offline', 'POST', `/whatsapp-sessions/${s.id}/restart`, { token: PAT });
  await run('no key', 'GET', '/status');
  await run('bad key on status', 'GET', '/status', { token: 'f'.repeat(64) });
  await run('bad key', 'POST', '/send-message', { token: 'f'.repeat(64), body: {} });
  await run('user offline', 'GET', '/user', { token: key });
  await run('send offline', 'POST', '/send-message', { token: key, body: { to: '+255700000001', text: 'hi' } });
  await run('empty send', 'POST', '/send-message', { token: key, body: {} });
  await run('bad send', 'POST', '/send-message', { token: key, body: { to: 'x!', imageUrl: 'nope', location: { latitude: 100, longitude: 200 }, replyTo: 'x' } });
  await run('bad contact and poll', 'POST', '/send-message', { token: key, body: { to: '+255700000001', contact: {}, poll: { options: ['a'] } } });
  await run('unknown message', 'GET', '/messages/123/info', { token: key });
  await run('read without key', 'POST', '/messages/read', { token: key, body: {} });
  await run('contact without jid', 'PUT', '/contacts', { token: key, body: {} });
  await run('bad pn', 'GET', '/lid-from-pn/123', { token: key });
  await run('bad lid', 'GET', '/pn-from-lid/123', { token: key });
  await run('unknown lid', 'GET', `/pn-from-lid/${encodeURIComponent('100000000000009@lid')}`, { token: key });
  await run('bad presence', 'POST', '/send-presence-update', { token: key, body: {} });
  await run('empty upload', 'POST', '/upload', { token: key, body: {} });
  await run('empty raw upload', 'POST', '/upload', { token: key, raw: '', type: 'image/png' });
  await run('bad decrypt', 'POST', '/decrypt-media', { token: key, body: {} });
  await run('malformed json', 'POST', '/send-message', { token: key, raw: '{', type: 'application/json' });
  await run('unknown path', 'GET', '/nowhere', { token: key });
  await call(base.apiUrl, 'POST', `/whatsapp-sessions/${s.id}/connect`, { token: PAT });
  await call(base.controlUrl, 'POST', `/sessions/${s.id}/scan`, { body: {} });
  await run('status', 'GET', '/status', { token: key });
  await run('first send', 'POST', '/send-message', { token: key, body: { to: '+255700000001', text: 'one' } });
  await run('protected', 'POST', '/send-message', { token: key, body: { to: '+255700000001', text: 'two' } });
  await call(base.apiUrl, 'PUT', `/whatsapp-sessions/${s.id}`, { token: PAT, body: { account_protection: false } });
  await run('second send', 'POST', '/send-message', { token: key, body: { to: '+255700000001', text: 'three' } });
  await run('plan limit', 'POST', '/send-message', { token: key, body: { to: '+255700000001', text: 'four' } });
  await run('not failed', 'POST', '/messages/100000/resend', { token: key });
  await call(base.controlUrl, 'POST', '/faults', { body: { path: '/status', status: 503, count: 1 } });
  await run('injected', 'GET', '/status', { token: key });
  answers.push({ what: 'control inbound', ...(await call(base.controlUrl, 'POST', `/sessions/${s.id}/inbound`, { body: { from: 'nobody' } })) });
  return answers;
}

/** Same types and keys all the way down; every string different. */
function expectSameShapeOtherWords(standard: unknown, alternate: unknown, where: string) {
  if (typeof standard === 'string') {
    expect(typeof alternate, where).toBe('string');
    expect(alternate, where).not.toBe(standard);
  } else if (Array.isArray(standard)) {
    expect(Array.isArray(alternate) && alternate.length, where).toBe(standard.length);
    standard.forEach((item, i) => expectSameShapeOtherWords(item, (alternate as unknown[])[i], `${where}[${i}]`));
  } else if (standard && typeof standard === 'object') {
    expect(Object.keys(alternate as object).sort(), where).toEqual(Object.keys(standard).sort());
    for (const [k, v] of Object.entries(standard)) expectSameShapeOtherWords(v, (alternate as Record<string, unknown>)[k], `${where}.${k}`);
  } else expect(alternate, where).toEqual(standard);
}

describe('sandbox settings', () => {
  it('words every error differently with errorWording alternate: same statuses and shapes; rate-limit headers on every answer', async () => {
    const options = { personalAccessToken: PAT, sessionLimit: 1, planPerMinute: 2 };
    const standard = await serveSandbox(options);
    const alternate = await serveSandbox({ ...options, errorWording: 'alternate' });
    try {
      const [a, b] = [await errorScript(standard), await errorScript(alternate)];
      expect(b.map((x) => [x.what, x.status])).toEqual(a.map((x) => [x.what, x.status]));
      const errors = a.filter((x) => x.status >= 400);
      expect(errors.map((x) => x.status)).toEqual(expect.arrayContaining([400, 401, 403, 404, 422, 429, 503]));
      for (const x of errors) expectSameShapeOtherWords(x.body, b.find((y) => y.what === x.what)!.body, x.what);
      for (const x of [...a, ...b].filter((x) => x.what !== 'control inbound')) {
        for (const header of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) expect(x.headers.get(header), `${x.what}: ${header}`).toMatch(/^\d+$/);
      }
      // The session's window counts its sends: two of two used.
      expect(a.find((x) => x.what === 'plan limit')!.headers.get('x-ratelimit-remaining')).toBe('0');
    } finally {
      await standard.close();
      await alternate.close();
    }
  });

  it('reads the session limit, the wording and the bare share from the environment, and the app passes them on', { timeout: 90_000 }, async () => {
    expect(loadConfig({}).sandbox).toEqual({ sessionLimit: 10, errorWording: 'standard', bareShare: 0 });
    expect(() => loadConfig({ SANDBOX_ERROR_WORDING: 'poetic' })).toThrow(/SANDBOX_ERROR_WORDING/);
    expect(() => loadConfig({ SANDBOX_BARE_SHARE: '2' })).toThrow(/SANDBOX_BARE_SHARE/);
    const app = await startTestApp({ env: { SANDBOX_SESSION_LIMIT: '1', SANDBOX_ERROR_WORDING: 'alternate', SANDBOX_BARE_SHARE: '0.5' } });
    try {
      const { baseUrl, token } = app.running.sandbox!;
      const create = (phone: string) => call(baseUrl, 'POST', '/whatsapp-sessions', { token, body: { name: 'Env', phone_number: phone, account_protection: false, log_messages: false } });
      expect((await create('+255715000001')).status).toBe(200);
      const refused = await create('+255715000002');
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({ success: false, message: expect.any(String) });
      expect(refused.body.message).not.toMatch(/session limit/i);
    } finally {
      await app.stop();
    }
  });
});
