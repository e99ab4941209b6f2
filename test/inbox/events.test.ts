/**
 * Every provider event, real-shaped (both variants where the contract lists two), replayed through
 * the sandbox and checked for what it changed in the inbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/index.ts';
import { eventually, startTestApp, type TestApp, subscriptionsStarting } from '../helpers/app.ts';
import { connectedSession, inbound, replay, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { providerSession } from '../helpers/sandbox.ts';
import { GetSession, SessionLogs } from '../sessions/documents.ts';
import { connectWs } from '../helpers/ws.ts';
import { ChatDeleted, MessageUpdated } from './documents.ts';

const ChatByJid = graphql(`
  query ChatByJid($id: ID!) {
    session(id: $id) {
      chats(first: 100) {
        edges {
          node {
            id
            remoteJid
            name
            phoneNumber
            isGroup
            unreadCount
            messages(first: 20) {
              edges {
                node {
                  providerMessageId
                  direction
                  kind
                  status
                  text
                  content
                  senderName
                  senderPhone
                  fromJid
                  timestamp
                  editedAt
                  deletedAt
                }
              }
            }
          }
        }
      }
    }
  }
`);

const nowS = () => Math.floor(Date.now() / 1000);
let seq = 0;
const waId = () => `3EB0${(++seq).toString(16).toUpperCase().padStart(18, '0')}`;

describe('provider events', () => {
  let app: TestApp;
  let s: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    s = await connectedSession(app, 'Events');
  });
  afterAll(() => app.stop());

  async function chats() {
    await settled(app);
    return (await app.data(ChatByJid, { id: s.id })).session!.chats.edges.map((e) => e.node);
  }
  async function chat(jid: string) {
    return (await chats()).find((c) => c.remoteJid === jid);
  }
  async function message(jid: string, id: string) {
    return (await chat(jid))?.messages.edges.map((e) => e.node).find((m) => m.providerMessageId === id);
  }

  const userMessage = (id: string, digits: string, message: object, extra: object = {}) => ({
    key: { id, fromMe: false, remoteJid: `${digits}@s.whatsapp.net`, addressingMode: 'pn', senderPn: `${digits}@s.whatsapp.net`, cleanedSenderPn: digits },
    messageBody: (message as { conversation?: string }).conversation ?? '',
    message,
    pushName: 'Neema',
    messageTimestamp: nowS(),
    ...extra,
  });

  it('messages.received (single object) and messages.upsert (array) add messages', async () => {
    const a = waId();
    const b = waId();
    expect(await replay(app, s, 'messages.received', { messages: userMessage(a, '255780000001', { conversation: 'object form' }) }, nowS())).toBe(200);
    expect(await replay(app, s, 'messages.upsert', { messages: [userMessage(b, '255780000001', { conversation: 'array form' })] }, nowS())).toBe(200);
    const c = await chat('255780000001@s.whatsapp.net');
    expect(c).toMatchObject({ phoneNumber: '+255780000001', name: 'Neema', unreadCount: 2, isGroup: false });
    expect(c!.messages.edges.map((e) => e.node.text)).toEqual(['array form', 'object form']);
  });

  it('data.key directly under data (SDK variant) and millisecond timestamps', async () => {
    const id = waId();
    const ms = Date.now();
    const body = userMessage(id, '255780000002', { conversation: 'key at top' }, { messageTimestamp: ms });
    await replay(app, s, 'messages.upsert', body, ms);
    const m = await message('255780000002@s.whatsapp.net', id);
    expect(m?.text).toBe('key at top');
    expect(Math.abs(new Date(m!.timestamp).getTime() - ms)).toBeLessThan(1000);
  });

  it('messages-personal.received, with an @lid sender and cleanedSenderPn', async () => {
    const id = waId();
    await replay(app, s, 'messages-personal.received', {
      messages: {
        key: { id, fromMe: false, remoteJid: '98765432109876@lid', addressingMode: 'lid', senderPn: '255780000003@s.whatsapp.net', cleanedSenderPn: '255780000003', senderLid: '98765432109876@lid' },
        messageBody: 'from a lid',
        message: { conversation: 'from a lid' },
        pushName: 'Lidia',
        messageTimestamp: nowS(),
      },
    });
    // One person, one chat: keyed by the phone JID the payload carries, not the lid.
    expect(await chat('98765432109876@lid')).toBeUndefined();
    const c = await chat('255780000003@s.whatsapp.net');
    expect(c).toMatchObject({ phoneNumber: '+255780000003', name: 'Lidia' });
    expect(c!.messages.edges[0]!.node).toMatchObject({ senderPhone: '+255780000003', text: 'from a lid' });
  });

  it('messages-group.received: the group is the chat, the participant the sender', async () => {
    const id = waId();
    await replay(app, s, 'messages-group.received', {
      messages: {
        key: {
          id,
          fromMe: false,
          remoteJid: '120363000000000001@g.us',
          participant: '11112222333344@lid',
          participantPn: '255780000004@s.whatsapp.net',
          cleanedParticipantPn: '255780000004',
          participantLid: '11112222333344@lid',
        },
        messageBody: 'hello group',
        message: { extendedTextMessage: { text: 'hello group' } },
        pushName: 'Juma',
        messageTimestamp: nowS(),
      },
    });
    const c = await chat('120363000000000001@g.us');
    expect(c).toMatchObject({ isGroup: true, phoneNumber: null });
    expect(c!.messages.edges[0]!.node).toMatchObject({ senderName: 'Juma', senderPhone: '+255780000004', fromJid: '11112222333344@lid', text: 'hello group' });
  });

  it('messages-newsletter.received: a channel post', async () => {
    const id = waId();
    await replay(app, s, 'messages-newsletter.received', {
      messages: { key: { id, fromMe: false, remoteJid: '120363999999999999@newsletter' }, messageBody: 'news', message: { conversation: 'news' }, messageTimestamp: nowS() },
    });
    expect((await message('120363999999999999@newsletter', id))?.text).toBe('news');
  });

  it('media, location, contact card and poll messages keep their content', async () => {
    const image = waId();
    const location = waId();
    const contact = waId();
    const poll = waId();
    const jid = '255780000005';
    await replay(app, s, 'messages.received', {
      messages: userMessage(image, jid, {
        imageMessage: { url: 'https://mmg.whatsapp.net/o1/v/t62/abc.enc', mimetype: 'image/jpeg', mediaKey: 'bWVkaWFrZXk=', fileSha256: 'c2hh', fileLength: '48213', directPath: '/o1/v/t62/abc.enc', caption: 'the receipt' },
      }),
    });
    await replay(app, s, 'messages.received', { messages: userMessage(location, jid, { locationMessage: { degreesLatitude: -6.7924, degreesLongitude: 39.2083, name: 'Shop', address: 'Dar es Salaam' } }) });
    await replay(app, s, 'messages.received', {
      messages: userMessage(contact, jid, { contactMessage: { displayName: 'Mama Asha', vcard: 'BEGIN:VCARD\nVERSION:3.0\nFN:Mama Asha\nTEL;type=CELL;waid=255780000099:+255 780 000 099\nEND:VCARD' } }),
    });
    await replay(app, s, 'messages.received', {
      messages: userMessage(poll, jid, { pollCreationMessageV3: { name: 'Pickup or delivery?', options: [{ optionName: 'Pickup' }, { optionName: 'Delivery' }], selectableOptionsCount: 1 } }),
    });
    const byId = Object.fromEntries((await chat(`${jid}@s.whatsapp.net`))!.messages.edges.map((e) => [e.node.providerMessageId, e.node]));
    expect(byId[image]).toMatchObject({ kind: 'IMAGE', text: 'the receipt' });
    // What is only for fetching WhatsApp's copy stays ours (Message.media.url serves the file: test/media).
    expect(byId[image]!.content).toEqual({ media: { mimetype: 'image/jpeg', fileLength: 48213, fileName: null, seconds: null, caption: 'the receipt' } });
    expect(byId[location]).toMatchObject({ kind: 'LOCATION', content: { location: { latitude: -6.7924, longitude: 39.2083, name: 'Shop' } } });
    expect(byId[contact]).toMatchObject({ kind: 'CONTACT', content: { contact: { displayName: 'Mama Asha' } } });
    expect(byId[poll]).toMatchObject({ kind: 'POLL', text: 'Pickup or delivery?', content: { poll: { options: ['Pickup', 'Delivery'] } } });
  });

  it('message.sent, messages.update and message-receipt.update track delivery', async () => {
    const id = waId();
    const jid = '255780000006@s.whatsapp.net';
    await replay(app, s, 'message.sent', { key: { id, fromMe: true, remoteJid: jid }, message: { conversation: 'your order is ready' }, success: true }, nowS());
    expect(await message(jid, id)).toMatchObject({ direction: 'OUTBOUND', status: 'SENT', text: 'your order is ready' });
    await replay(app, s, 'messages.update', { update: { status: 3 }, key: { remoteJid: jid, id, fromMe: true } }, Date.now());
    expect((await message(jid, id))?.status).toBe('DELIVERED');
    // SDK variant: an array with string statuses.
    await replay(app, s, 'messages.update', [{ update: { status: 'read' }, key: { remoteJid: jid, id, fromMe: true } }], Date.now());
    expect((await message(jid, id))?.status).toBe('READ');
    // Statuses never go backwards.
    await replay(app, s, 'messages.update', { update: { status: 2 }, key: { remoteJid: jid, id, fromMe: true } }, Date.now() + 1);
    expect((await message(jid, id))?.status).toBe('READ');

    const groupMsg = waId();
    const group = '120363000000000002@g.us';
    await replay(app, s, 'message.sent', { key: { id: groupMsg, fromMe: true, remoteJid: group }, message: { conversation: 'hi all' }, success: true });
    await replay(app, s, 'message-receipt.update', {
      message: { key: { remoteJid: group, id: groupMsg, fromMe: true, participant: '255780000007@s.whatsapp.net' }, receipt: { userJid: '255780000007@s.whatsapp.net', receiptTimestamp: nowS() } },
    }, Date.now());
    expect((await message(group, groupMsg))?.status).toBe('DELIVERED');
  });

  it('many receipts at once leave each message at its furthest status', async () => {
    const jid = '255780000017@s.whatsapp.net';
    const ids = Array.from({ length: 12 }, () => waId());
    await Promise.all(ids.map((id, i) => replay(app, s, 'message.sent', { key: { id, fromMe: true, remoteJid: jid }, message: { conversation: `bulk ${i}` }, success: true })));
    await settled(app);
    const feed = connectWs(app.url);
    const subscribed = subscriptionsStarting(app, 1);
    const updates = feed.subscribe(MessageUpdated, { sessionId: s.id });
    await subscribed();
    // One webhook with an array of updates (the SDK variant), in no particular order: delivered,
    // read and a late "delivered" for most; only "delivered" for the last; "error" for the first.
    const update = (id: string, status: number | string) => ({ update: { status }, key: { remoteJid: jid, id, fromMe: true } });
    const all = ids.flatMap((id, i) => (i === ids.length - 1 ? [update(id, 3)] : i === 0 ? [update(id, 'error')] : [update(id, 3), update(id, 4), update(id, 3)]));
    await replay(app, s, 'messages.update', all, Date.now());
    await settled(app);
    const statuses = await Promise.all(ids.map(async (id) => (await message(jid, id))?.status));
    expect(statuses).toEqual(['FAILED', ...Array(ids.length - 2).fill('READ'), 'DELIVERED']);
    // One push per message that changed, with its final status.
    const pushed = new Map<string, string>();
    await eventually(() => {
      for (const u of updates.pending()) pushed.set(u.messageUpdated.text!, u.messageUpdated.status);
      return pushed.size === ids.length;
    });
    expect(pushed.get('bulk 0')).toBe('FAILED');
    expect(pushed.get('bulk 5')).toBe('READ');
    await feed.close();
  });

  it('a failed message.sent marks the message FAILED', async () => {
    const id = waId();
    const jid = '255780000016@s.whatsapp.net';
    await replay(app, s, 'message.sent', { key: { id, fromMe: true, remoteJid: jid }, message: { conversation: 'lost' }, success: false });
    expect((await message(jid, id))?.status).toBe('FAILED');
  });

  it('messages.delete, messages.reaction, poll.results and an edit change earlier messages', async () => {
    const jid = '255780000008';
    const [keep, gone, poll] = [waId(), waId(), waId()];
    await replay(app, s, 'messages.received', { messages: userMessage(keep, jid, { conversation: 'original' }) });
    await replay(app, s, 'messages.received', { messages: userMessage(gone, jid, { conversation: 'oops' }) });
    await replay(app, s, 'message.sent', { key: { id: poll, fromMe: true, remoteJid: `${jid}@s.whatsapp.net` }, message: { conversation: 'poll' }, success: true });

    await replay(app, s, 'messages.delete', { keys: [{ id: gone, fromMe: false, remoteJid: `${jid}@s.whatsapp.net` }] });
    await replay(app, s, 'messages.reaction', [{ key: { id: keep, fromMe: false, remoteJid: `${jid}@s.whatsapp.net` }, reaction: { text: '👍', key: { id: keep, remoteJid: `${jid}@s.whatsapp.net`, fromMe: false } } }]);
    await replay(app, s, 'poll.results', { key: { remoteJid: `${jid}@s.whatsapp.net`, fromMe: true, id: poll }, pollResult: [{ name: 'Pickup', voters: [`${jid}@s.whatsapp.net`] }, { name: 'Delivery', voters: [] }] }, Date.now());
    await replay(app, s, 'messages.upsert', {
      messages: [userMessage(waId(), jid, { protocolMessage: { key: { id: keep, remoteJid: `${jid}@s.whatsapp.net`, fromMe: false }, type: 14, editedMessage: { conversation: 'edited' } } })],
    });

    expect((await message(`${jid}@s.whatsapp.net`, gone))?.deletedAt).not.toBeNull();
    const kept = await message(`${jid}@s.whatsapp.net`, keep);
    expect(kept).toMatchObject({ text: 'edited' });
    expect(kept!.editedAt).not.toBeNull();
    expect(JSON.stringify(kept!.content)).toContain('👍');
    expect((await message(`${jid}@s.whatsapp.net`, poll))?.content).toMatchObject({ pollResults: [{ name: 'Pickup', voters: [`${jid}@s.whatsapp.net`] }, { name: 'Delivery', voters: [] }] });
    // Edits and reactions do not add messages.
    expect((await chat(`${jid}@s.whatsapp.net`))!.messages.edges).toHaveLength(3);
  });

  it('chats.upsert, chats.update and chats.delete keep the chat list true', async () => {
    const jid = '255780000009@s.whatsapp.net';
    await replay(app, s, 'chats.upsert', [{ id: jid, name: 'Wholesale buyer', conversationTimestamp: nowS(), unreadCount: 4 }]);
    expect(await chat(jid)).toMatchObject({ name: 'Wholesale buyer', unreadCount: 4, phoneNumber: '+255780000009' });
    await replay(app, s, 'chats.update', [{ id: jid, unreadCount: 0, conversationTimestamp: nowS() }]);
    expect((await chat(jid))?.unreadCount).toBe(0);
    const chatId = (await chat(jid))!.id;
    const ws = connectWs(app.url);
    const subscribed = subscriptionsStarting(app, 1);
    const removals = ws.subscribe(ChatDeleted, { sessionId: s.id });
    await subscribed();
    await replay(app, s, 'chats.delete', [jid]);
    expect(await chat(jid)).toBeUndefined();
    expect((await removals.next()).chatDeleted).toBe(chatId);
    await ws.close();
  });

  it('contacts.upsert and contacts.update name the chat', async () => {
    const digits = '255780000010';
    await inbound(app, s, { from: `+${digits}`, text: 'hi', pushName: 'Push Name' });
    await replay(app, s, 'contacts.upsert', [{ jid: `${digits}@s.whatsapp.net`, name: 'Saved Name', notify: 'Push Name', verifiedName: null, status: 'Hey there' }]);
    expect((await chat(`${digits}@s.whatsapp.net`))?.name).toBe('Saved Name');
    await replay(app, s, 'contacts.update', [{ jid: `${digits}@s.whatsapp.net`, imgUrl: 'https://pps.whatsapp.net/v/t61/pic.jpg' }]);
    await settled(app);
    const contact = await app.running.db.prisma.contact.findFirst({ where: { sessionId: s.dbId, jid: `${digits}@s.whatsapp.net` } });
    expect(contact).toMatchObject({ name: 'Saved Name', imgUrl: 'https://pps.whatsapp.net/v/t61/pic.jpg' });
  });

  it('groups.upsert and groups.update name the group chat; participants and calls are stored', async () => {
    const group = '120363000000000003@g.us';
    await replay(app, s, 'groups.upsert', [{ jid: group, subject: 'Suppliers', creation: nowS(), owner: '255780000011@s.whatsapp.net', desc: 'weekly orders', participants: [{ jid: '255780000011@s.whatsapp.net', isAdmin: true, isSuperAdmin: true }] }]);
    expect(await chat(group)).toMatchObject({ name: 'Suppliers', isGroup: true });
    await replay(app, s, 'groups.update', [{ jid: group, subject: 'Suppliers 2027', announce: false, restrict: true }]);
    expect((await chat(group))?.name).toBe('Suppliers 2027');

    const before = await app.running.db.prisma.webhookEvent.count({ where: { sessionId: s.dbId } });
    await replay(app, s, 'group-participants.update', { jid: group, participants: ['255780000012@s.whatsapp.net'], action: 'add' });
    await replay(app, s, 'call', { call: { id: 'CALL01', from: '255780000013@s.whatsapp.net', date: new Date().toISOString(), isGroup: false, isVideo: false, status: 'offer' } });
    // An event the provider may add one day is not ours to filter: posted directly, it is stored too.
    const secrets = (await providerSession(app, s.providerSessionId))!;
    const future = await fetch(`${app.url}/api/whatsapp/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': secrets.webhook_secret },
      body: JSON.stringify({ event: 'some.future.event', timestamp: nowS(), sessionId: secrets.api_key, data: { anything: true }, newField: 1 }),
    });
    expect(future.status).toBe(200);
    await settled(app);
    const stored = await app.running.db.prisma.webhookEvent.findMany({ where: { sessionId: s.dbId }, orderBy: { seq: 'desc' }, take: 3 });
    expect(stored.map((e) => e.event).reverse()).toEqual(['group-participants.update', 'call', 'some.future.event']);
    expect(stored.every((e) => e.processedAt && !e.error)).toBe(true);
    expect(await app.running.db.prisma.webhookEvent.count({ where: { sessionId: s.dbId } })).toBe(before + 3);
  });

  it('session.status (current and old shapes) and qrcode.updated go through the sessions service', async () => {
    const other = await connectedSession(app, 'Status events');
    await replay(app, other, 'session.status', { status: 'logged_out' });
    await settled(app);
    expect((await app.data(GetSession, { id: other.id })).session?.status).toBe('LOGGED_OUT');
    await replay(app, other, 'session.status', { status: 'EXPIRED', session_id: other.providerSessionId }, nowS());
    await settled(app);
    expect((await app.data(GetSession, { id: other.id })).session?.status).toBe('EXPIRED');
    await replay(app, other, 'qrcode.updated', { qr: '2@replayed-qr-value' });
    await settled(app);
    const session = (await app.data(GetSession, { id: other.id })).session!;
    expect(session).toMatchObject({ status: 'QR_READY', qrCode: { value: '2@replayed-qr-value' } });
    const logs = (await app.data(SessionLogs, { id: other.id, first: 3 })).session!.logs.edges.map((e) => e.node.type);
    expect(logs).toEqual(['STATUS_CHANGED', 'QR_GENERATED', 'STATUS_CHANGED']);
  });
});
