/**
 * A live message carries what reading it back returns: the process that inserted an inbound
 * message answers its `messageReceived` from the inserted row, and that answer must not differ from
 * the database's in any field, for every shape of sender and content the provider sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/index.ts';
import { startTestApp, subscriptionsStarting, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

const EveryMessageField = graphql(`
  fragment EveryMessageField on Message {
    ...MessageFields
    replyToProviderMessageId
    sentAt
    deliveredAt
    readAt
    failedAt
    deliverySeconds
    failureReason
    media { kind mimetype caption fileName size seconds }
    chat { unreadCount }
    session { id name }
  }
`);

const Received = graphql(`
  subscription ReceivedAsRead($sessionId: ID) {
    messageReceived(sessionId: $sessionId) { ...EveryMessageField }
  }
`);

const ReadBack = graphql(`
  query ReadBack($id: ID!) {
    node(id: $id) { ...EveryMessageField }
  }
`);

describe('a live message as read back', () => {
  let app: TestApp;
  let ws: WsClient;
  let session: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    ws = connectWs(app.url);
    session = await connectedSession(app, 'Received as read');
  });
  afterAll(async () => {
    await ws.close();
    await app.stop();
  });

  it('has every field a read of it has, for each kind of sender and content', async () => {
    const subscribed = subscriptionsStarting(app, 1);
    const feed = ws.subscribe(Received, { sessionId: session.id });
    await subscribed();
    const bodies: Record<string, unknown>[] = [
      { from: '+255700000301', text: 'by phone number', pushName: 'Asha', bare: false },
      { from: '+255700000302', text: 'by lid with the phone fields', pushName: 'Baraka', lid: true, bare: false },
      { from: '+255700000303', text: 'by lid alone, no name nor time', lid: 'only', bare: true },
      { from: '+255700000304', text: 'in a group', group: '120363041234567890', pushName: 'Chausiku', bare: false },
      { from: '+255700000305', pushName: 'Daudi', media: { kind: 'image', caption: 'Receipt for order 7' }, bare: false },
      { from: '+255700000306', pushName: 'Eliya', media: { kind: 'document' }, bare: false },
      { from: '+255700000307', text: 'x'.repeat(5_000), pushName: 'Fatuma', bare: false },
    ];
    const ids: string[] = [];
    for (const body of bodies) ids.push(await inbound(app, session, body));

    const live = new Map<string, Record<string, unknown>>();
    while (live.size < ids.length) {
      const { messageReceived } = await feed.next(15_000);
      live.set(messageReceived.providerMessageId!, messageReceived as unknown as Record<string, unknown>);
    }
    expect([...live.keys()].sort()).toEqual([...ids].sort());
    await settled(app);

    for (const id of ids) {
      const received = live.get(id)!;
      const { node } = await app.data(ReadBack, { id: received.id as string });
      // The chat's unread count moves on as later messages arrive; the rest is the message's own.
      const { chat: liveChat, ...liveRest } = received as { chat: Record<string, unknown> };
      const { chat: readChat, ...readRest } = node as unknown as { chat: Record<string, unknown> };
      expect(liveRest, id).toEqual(readRest);
      expect({ ...liveChat, unreadCount: null }, id).toEqual({ ...readChat, unreadCount: null });
    }
    feed.unsubscribe();
  });
});
