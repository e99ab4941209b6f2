import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound, settled } from '../helpers/inbox.ts';
import { Chats, InboxFirstScreen } from './documents.ts';

describe("the inbox's first screen", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.stop();
  });

  it('lists each session with its own latest chats and their last messages, in one request', async () => {
    const first = await connectedSession(app, 'Front desk');
    const second = await connectedSession(app, 'Deliveries');
    // Three customers write to each session; the chats' order is the order of their last messages.
    for (const [session, prefix] of [[first, '25571200000'], [second, '25571300000']] as const) {
      await inbound(app, session, { from: `+${prefix}1`, text: 'one' });
      await inbound(app, session, { from: `+${prefix}2`, text: 'two' });
      await inbound(app, session, { from: `+${prefix}3`, text: 'three' });
      await inbound(app, session, { from: `+${prefix}1`, text: 'one again' });
    }
    await settled(app);

    const { sessions } = await app.data(InboxFirstScreen, { sessions: 10, chats: 2 });
    expect(sessions.pageInfo.hasNextPage).toBe(false);
    const screen = sessions.edges.map(({ node }) => ({
      name: node.name,
      status: node.status,
      more: node.chats.pageInfo.hasNextPage,
      chats: node.chats.edges.map((e) => [e.node.phoneNumber, e.node.unreadCount, e.node.lastMessage?.text, e.node.lastMessage?.direction]),
    }));
    // Two per session however many each holds, never another session's.
    expect(screen).toEqual([
      { name: 'Front desk', status: 'CONNECTED', more: true, chats: [['+255712000001', 2, 'one again', 'INBOUND'], ['+255712000003', 1, 'three', 'INBOUND']] },
      { name: 'Deliveries', status: 'CONNECTED', more: true, chats: [['+255713000001', 2, 'one again', 'INBOUND'], ['+255713000003', 1, 'three', 'INBOUND']] },
    ]);

    // The next page of one session's chats follows on from the first screen's cursor.
    const after = sessions.edges[0]!.node.chats.pageInfo.endCursor;
    const rest = (await app.data(Chats, { id: first.id, first: 10, after })).session!.chats.edges.map((e) => e.node.phoneNumber);
    expect(rest).toEqual(['+255712000002']);
  });
});
