/**
 * One person, one chat: a contact writing from its phone-number JID and from its `@lid` lands in
 * one chat keyed by the phone JID, through the sandbox's lid variation over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound, replay, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { clearFaults, control, injectFault } from '../helpers/sandbox.ts';
import { connectWs, type Subscription } from '../helpers/ws.ts';
import { ChatDeleted, ChatMessages, Chats, ChatUpdated } from './documents.ts';

describe('one person, one chat', () => {
  let app: TestApp;
  let s: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    s = await connectedSession(app, 'One chat');
  });
  afterAll(() => app.stop());

  async function chats() {
    await settled(app);
    return (await app.data(Chats, { id: s.id, first: 100 })).session!.chats.edges.map((e) => e.node);
  }
  async function chatsOf(digits: string) {
    const lid = await lidOf(digits);
    return (await chats()).filter((c) => c.remoteJid === `${digits}@s.whatsapp.net` || c.remoteJid === lid);
  }
  /** A chat's messages, oldest first (the connection lists the newest first). */
  async function messagesOf(chatId: string) {
    const chat = (await app.data(ChatMessages, { id: chatId, first: 50 })).chat!;
    return chat.messages.edges.map((e) => ({ ...e.node, cursor: e.cursor })).reverse();
  }
  /** The sandbox's stable lid of a phone number, as its lid-from-pn answers. */
  async function lidOf(digits: string) {
    const sandbox = app.running.sandbox!;
    const apiKey = app.running.services.sessions.apiKeyOf((await app.running.db.prisma.whatsAppSession.findUniqueOrThrow({ where: { id: s.dbId } })))!;
    const res = await fetch(`${sandbox.baseUrl}/lid-from-pn/${digits}%40s.whatsapp.net`, { headers: { authorization: `Bearer ${apiKey}` } });
    return ((await res.json()) as { data: { lid: string } }).data.lid;
  }
  async function contactsOf(digits: string, lid: string) {
    await settled(app);
    return app.running.db.prisma.contact.findMany({ where: { sessionId: s.dbId, OR: [{ jid: `${digits}@s.whatsapp.net` }, { jid: lid }, { lid }] } });
  }
  /** Waits until the subscription is live: pokes until the poke's own event comes through. */
  async function primed<T>(sub: Subscription<T>, poke: () => Promise<unknown>) {
    await eventually(async () => {
      await poke();
      await settled(app);
      return sub.pending().length > 0;
    });
  }

  it('keeps a phone message and a lid message with the phone fields in one chat, with both unread', async () => {
    const digits = '255740000001';
    await inbound(app, s, { from: `+${digits}`, text: 'by phone', pushName: 'Asha' });
    await inbound(app, s, { from: `+${digits}`, text: 'by lid', pushName: 'Asha', lid: true });
    const [chat, ...others] = await chatsOf(digits);
    expect(others).toEqual([]);
    expect(chat).toMatchObject({ remoteJid: `${digits}@s.whatsapp.net`, phoneNumber: `+${digits}`, unreadCount: 2, lastMessage: { text: 'by lid' } });
    expect((await messagesOf(chat!.id)).map((m) => [m.text, m.senderPhone])).toEqual([
      ['by phone', `+${digits}`],
      ['by lid', `+${digits}`],
    ]);
    const lid = await lidOf(digits);
    expect((await contactsOf(digits, lid)).map((c) => [c.jid, c.lid, c.phoneNumber])).toEqual([[`${digits}@s.whatsapp.net`, lid, `+${digits}`]]);
  });

  it('resolves a lid-only sender through the provider’s pn-from-lid', async () => {
    const digits = '255740000002';
    await inbound(app, s, { from: `+${digits}`, text: 'lid only', pushName: 'Baraka', lid: 'only' });
    const [chat, ...others] = await chatsOf(digits);
    expect(others).toEqual([]);
    expect(chat).toMatchObject({ remoteJid: `${digits}@s.whatsapp.net`, phoneNumber: `+${digits}`, unreadCount: 1 });
    expect((await messagesOf(chat!.id)).map((m) => m.senderPhone)).toEqual([`+${digits}`]);
  });

  it('keeps a never-seen lid-only sender in a lid chat, asks the provider once, and moves the chat to the phone when the pair is known', async () => {
    const digits = '255740000003';
    const lid = await lidOf(digits);
    // The provider does not know the lid (once): the chat stays under it; a second message does not ask again.
    await injectFault(app, { path: '/pn-from-lid', status: 404, count: 1, body: { success: false, message: 'not found' } });
    try {
      await inbound(app, s, { from: `+${digits}`, text: 'one', pushName: 'Chausiku', lid: 'only' });
      await settled(app);
      await inbound(app, s, { from: `+${digits}`, text: 'two', pushName: 'Chausiku', lid: 'only' });
    } finally {
      await clearFaults(app);
    }
    const [lidChat, ...none] = await chatsOf(digits);
    expect(none).toEqual([]);
    expect(lidChat).toMatchObject({ remoteJid: lid, phoneNumber: null, unreadCount: 2 });
    const before = await messagesOf(lidChat!.id);

    await inbound(app, s, { from: `+${digits}`, text: 'three', pushName: 'Chausiku' });
    const [chat, ...others] = await chatsOf(digits);
    expect(others).toEqual([]);
    expect(chat).toMatchObject({ id: lidChat!.id, remoteJid: `${digits}@s.whatsapp.net`, phoneNumber: `+${digits}`, unreadCount: 3, lastMessage: { text: 'three' } });
    const after = await messagesOf(chat!.id);
    expect(after.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    expect(after.slice(0, 2).map((m) => m.cursor)).toEqual(before.map((m) => m.cursor));
    expect((await contactsOf(digits, lid)).map((c) => [c.jid, c.lid, c.phoneNumber])).toEqual([[`${digits}@s.whatsapp.net`, lid, `+${digits}`]]);
  });

  it('merges a lid chat into the phone chat when both exist: messages moved in order, unread summed, chatDeleted and chatUpdated', async () => {
    const digits = '255740000004';
    await injectFault(app, { path: '/pn-from-lid', status: 404, count: 1, body: { success: false, message: 'not found' } });
    try {
      await inbound(app, s, { from: `+${digits}`, text: 'from the lid', pushName: 'Dotto', lid: 'only' });
      // Applied (the provider asked, and refusing) before the fault goes: inbound answers once stored, not applied.
      await settled(app);
    } finally {
      await clearFaults(app);
    }
    // Typed on the session's phone to the number: a second chat, under the phone JID.
    await control(app, s.providerSessionId, 'from-phone', { to: `+${digits}`, text: 'from the phone app' });
    const two = await chatsOf(digits);
    expect(two).toHaveLength(2);
    const lidChat = two.find((c) => c.remoteJid.endsWith('@lid'))!;
    const phoneChat = two.find((c) => c.remoteJid.endsWith('@s.whatsapp.net'))!;
    const cursorsBefore = [...(await messagesOf(lidChat.id)), ...(await messagesOf(phoneChat.id))].map((m) => m.cursor);

    const ws = connectWs(app.url);
    try {
      const deleted = ws.subscribe(ChatDeleted, { sessionId: s.id });
      const updated = ws.subscribe(ChatUpdated, { sessionId: s.id });
      const probe = '255740000099@s.whatsapp.net';
      await primed(deleted, async () => {
        await replay(app, s, 'chats.upsert', [{ id: probe, unreadCount: 0 }]);
        await replay(app, s, 'chats.delete', [probe]);
      });
      await primed(updated, () => inbound(app, s, { from: '+255740000098', text: 'probe' }));
      deleted.pending();
      updated.pending();

      await inbound(app, s, { from: `+${digits}`, text: 'with the phone fields', pushName: 'Dotto', lid: true });
      const [chat, ...others] = await chatsOf(digits);
      expect(others).toEqual([]);
      expect(chat).toMatchObject({ id: phoneChat.id, remoteJid: `${digits}@s.whatsapp.net`, unreadCount: 2, lastMessage: { text: 'with the phone fields' } });
      const messages = await messagesOf(chat!.id);
      expect(messages.map((m) => [m.text, m.direction])).toEqual([
        ['from the lid', 'INBOUND'],
        ['from the phone app', 'OUTBOUND'],
        ['with the phone fields', 'INBOUND'],
      ]);
      expect(messages.slice(0, 2).map((m) => m.cursor)).toEqual(cursorsBefore);
      expect((await deleted.next()).chatDeleted).toBe(lidChat.id);
      await eventually(() => updated.pending().some((e) => e.chatUpdated.id === phoneChat.id && e.chatUpdated.unreadCount === 2));
    } finally {
      await ws.close();
    }
  });

  it('a contact event naming the lid of a phone contact moves the lid chat to the phone; one under the lid updates the phone contact', async () => {
    const digits = '255740000006';
    const lid = await lidOf(digits);
    await injectFault(app, { path: '/pn-from-lid', status: 404, count: 1, body: { success: false, message: 'not found' } });
    try {
      await inbound(app, s, { from: `+${digits}`, text: 'hello', pushName: 'Fatuma', lid: 'only' });
      // Applied (the provider asked, and refusing) before the fault goes: inbound answers once stored, not applied.
      await settled(app);
    } finally {
      await clearFaults(app);
    }
    const [lidChat] = await chatsOf(digits);
    expect(lidChat).toMatchObject({ remoteJid: lid, phoneNumber: null });

    await replay(app, s, 'contacts.upsert', [{ jid: `${digits}@s.whatsapp.net`, lid, name: 'Fatuma Shop', notify: 'Fatuma' }]);
    const [chat, ...others] = await chatsOf(digits);
    expect(others).toEqual([]);
    expect(chat).toMatchObject({ id: lidChat!.id, remoteJid: `${digits}@s.whatsapp.net`, phoneNumber: `+${digits}`, name: 'Fatuma Shop', unreadCount: 1 });

    await replay(app, s, 'contacts.update', [{ jid: lid, imgUrl: 'https://pps.whatsapp.net/v/t61/fatuma.jpg' }]);
    const contacts = await contactsOf(digits, lid);
    expect(contacts.map((c) => [c.jid, c.lid, c.name, c.imgUrl])).toEqual([[`${digits}@s.whatsapp.net`, lid, 'Fatuma Shop', 'https://pps.whatsapp.net/v/t61/fatuma.jpg']]);
  });

  it('keeps one contact for a group participant writing by phone, by lid, and by lid alone', async () => {
    const digits = '255740000005';
    const group = '120363000000000515@g.us';
    await inbound(app, s, { from: `+${digits}`, text: 'pn', pushName: 'Eliya', group });
    await inbound(app, s, { from: `+${digits}`, text: 'lid', pushName: 'Eliya', group, lid: true });
    await inbound(app, s, { from: `+${digits}`, text: 'lid only', pushName: 'Eliya', group, lid: 'only' });
    const lid = await lidOf(digits);
    expect((await contactsOf(digits, lid)).map((c) => [c.jid, c.lid, c.phoneNumber])).toEqual([[`${digits}@s.whatsapp.net`, lid, `+${digits}`]]);
    const chat = (await chats()).find((c) => c.remoteJid === group)!;
    expect((await messagesOf(chat.id)).map((m) => [m.text, m.senderPhone])).toEqual([
      ['pn', `+${digits}`],
      ['lid', `+${digits}`],
      ['lid only', `+${digits}`],
    ]);
  });
});
