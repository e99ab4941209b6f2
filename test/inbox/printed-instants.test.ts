import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { isoInstantOfTimestamp } from '../../src/lib/iso-instant.ts';

const InstantsOnTheFirstScreen = graphql(`
  query InstantsOnTheFirstScreen {
    sessions(first: 100) {
      edges {
        node {
          id
          createdAt
          lastConnectedAt
          chats(first: 5) {
            edges {
              node {
                id
                lastMessageAt
                lastMessage {
                  timestamp
                  editedAt
                }
              }
            }
          }
        }
      }
    }
  }
`);

const InstantsOfOneSession = graphql(`
  query InstantsOfOneSession($id: ID!) {
    session(id: $id) {
      createdAt
      lastConnectedAt
    }
  }
`);

const InstantsOfOneChat = graphql(`
  query InstantsOfOneChat($id: ID!) {
    chat(id: $id) {
      lastMessageAt
      lastMessage {
        timestamp
        editedAt
      }
    }
  }
`);

/*
 * The inbox's own reads print a `timestamp(3)` from its text (no Date): PostgreSQL drops the
 * fraction's trailing zeros, so every length of fraction must print as Prisma's Dates do.
 */
const MILLISECONDS = ['.000', '.100', '.120', '.123', '.999', '.001', '.010'];

describe('instants read by the inbox’s own statements', () => {
  let app: TestApp;
  let sessions: ConnectedSession[];
  beforeAll(async () => {
    app = await startTestApp();
    sessions = [];
    for (const ms of MILLISECONDS) {
      const session = await connectedSession(app, `Instants ${ms}`);
      await inbound(app, session, { from: `+2557150000${String(sessions.length).padStart(2, '0')}`, text: ms });
      sessions.push(session);
    }
    await settled(app);
    const { prisma } = app.running.db;
    for (const [i, ms] of MILLISECONDS.entries()) {
      const at = new Date(`2026-03-0${(i % 9) + 1}T0${i}:15:30${ms}Z`);
      await prisma.whatsAppSession.update({ where: { id: sessions[i]!.dbId }, data: { createdAt: at, lastConnectedAt: at } });
      const chat = await prisma.chat.findFirstOrThrow({ where: { sessionId: sessions[i]!.dbId } });
      await prisma.chat.update({ where: { id: chat.id }, data: { lastMessageAt: at } });
      await prisma.message.update({ where: { id: chat.lastMessageId! }, data: { timestamp: at, editedAt: at } });
    }
  });
  afterAll(async () => {
    await app.stop();
  });

  it('prints them on the first screen exactly as a session and a chat read alone print them', async () => {
    const { sessions: page } = await app.data(InstantsOnTheFirstScreen);
    const printed = new Set<string>();
    for (const { node } of page.edges.filter((e) => sessions.some((s) => s.id === e.node.id))) {
      const { session } = await app.data(InstantsOfOneSession, { id: node.id });
      expect({ createdAt: node.createdAt, lastConnectedAt: node.lastConnectedAt }).toEqual(session);
      for (const { node: chat } of node.chats.edges) {
        const { id, ...fields } = chat;
        expect(fields).toEqual((await app.data(InstantsOfOneChat, { id })).chat);
        printed.add(chat.lastMessage!.timestamp);
      }
    }
    expect([...printed].sort()).toEqual(MILLISECONDS.map((ms, i) => `2026-03-0${(i % 9) + 1}T0${i}:15:30${ms}Z`).sort());
  });

  it('prints any timestamp text as a Date of it would, in both of the forms PostgreSQL writes', () => {
    for (const text of ['2026-11-25 10:00:00', '2026-11-25 10:00:00.1', '2026-11-25 10:00:00.12', '2026-11-25 10:00:00.123', '2026-11-25T23:59:59.9', '0999-01-01 00:00:00.5']) {
      const printed = isoInstantOfTimestamp(text);
      expect(printed).toBe(new Date(`${text.replace(' ', 'T')}Z`).toISOString());
    }
    // Beyond four-digit years the text is another shape: a Date, printed by the scalar as before.
    expect(isoInstantOfTimestamp('12026-11-25 10:00:00')).toBeInstanceOf(Date);
  });
});
