/**
 * Reactions and poll results change one message's content from many senders at once: none of them
 * may be lost, whether they come through webhooks or straight through the service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, replay, settled, type ConnectedSession } from '../helpers/inbox.ts';

const ChatMessages = graphql(`
  query ReactionsChatMessages($id: ID!) {
    session(id: $id) {
      chats(first: 10) {
        edges {
          node {
            remoteJid
            messages(first: 10) {
              edges {
                node {
                  providerMessageId
                  kind
                  content
                }
              }
            }
          }
        }
      }
    }
  }
`);

const SENDERS = 12;

describe('reactions and poll results', () => {
  let app: TestApp;
  let s: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp();
    s = await connectedSession(app, 'Reactions');
  });
  afterAll(() => app.stop());

  it('keeps every one of many concurrent reactions and the poll tally', async () => {
    const group = '120363000000000001@g.us';
    const pollId = '3EB0POLL000000000000000001';
    const member = (i: number) => `2557800${String(i).padStart(5, '0')}@s.whatsapp.net`;
    await replay(app, s, 'messages.received', {
      messages: {
        key: { id: pollId, fromMe: false, remoteJid: group, participant: member(0) },
        message: { pollCreationMessageV3: { name: 'Pickup or delivery?', options: [{ optionName: 'Pickup' }, { optionName: 'Delivery' }], selectableOptionsCount: 1 } },
        pushName: 'Neema',
        messageTimestamp: Math.floor(Date.now() / 1000),
      },
    });
    await settled(app);

    const target = { id: pollId, remoteJid: group, fromMe: false, participant: null };
    const tally = [
      { name: 'Pickup', voters: [member(1), member(2)] },
      { name: 'Delivery', voters: [member(3)] },
    ];
    await Promise.all([
      // Half through the provider's webhooks …
      ...Array.from({ length: SENDERS }, (_, i) =>
        replay(app, s, 'messages.reaction', [{ key: { id: pollId, remoteJid: group, fromMe: false }, reaction: { text: '👍', key: target, senderJid: member(100 + i) } }]),
      ),
      // … half straight through the service, all at once.
      ...Array.from({ length: SENDERS }, (_, i) => app.running.services.inbox.applyReaction(s.dbId, target, '❤️', member(200 + i))),
      app.running.services.inbox.applyPollResults(s.dbId, target, tally),
      replay(app, s, 'poll.results', { key: target, pollResult: tally }),
    ]);
    await settled(app);

    const chat = (await app.data(ChatMessages, { id: s.id })).session!.chats.edges.find((e) => e.node.remoteJid === group)!;
    const poll = chat.node.messages.edges.find((e) => e.node.providerMessageId === pollId)!.node;
    const content = poll.content as { poll: { question: string }; pollResults: unknown; reactions: Record<string, string> };
    const expected = Object.fromEntries([
      ...Array.from({ length: SENDERS }, (_, i) => [member(100 + i), '👍']),
      ...Array.from({ length: SENDERS }, (_, i) => [member(200 + i), '❤️']),
    ]);
    expect(content.reactions).toEqual(expected);
    expect(content.pollResults).toEqual(tally);
    expect(content.poll).toMatchObject({ question: 'Pickup or delivery?' });
    // Reactions change the message; they add none.
    expect(chat.node.messages.edges).toHaveLength(1);

    // A sender taking the reaction back removes only theirs.
    await app.running.services.inbox.applyReaction(s.dbId, target, '', member(100));
    const after = (await app.data(ChatMessages, { id: s.id })).session!.chats.edges.find((e) => e.node.remoteJid === group)!;
    const reactions = (after.node.messages.edges[0]!.node.content as { reactions: Record<string, string> }).reactions;
    expect(Object.keys(reactions)).toHaveLength(2 * SENDERS - 1);
    expect(reactions[member(100)]).toBeUndefined();
  });
});
