/**
 * The isolation matrix: every kind of caller tries every query, mutation and subscription on
 * session A's data and on session B's, through GraphQL over HTTP and graphql-ws, and the whole
 * table of outcomes is asserted at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ADMIN_TOKEN, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { connectWs, type Subscription, type WsClient } from '../helpers/ws.ts';
import { ChatMessages, Chats, MarkChatRead, MessageReceived } from '../inbox/documents.ts';
import { ProviderSettings } from '../sessions/documents.ts';
import {
  ApiTokens,
  CreateApiToken,
  NodeQuery,
  NodesQuery,
  RenameSession,
  SendText,
  RevealSessionApiKey,
  RevokeApiToken,
  RotateApiToken,
  SessionIds,
  SessionName,
  ViewerQuery,
} from './documents.ts';

type Principal = 'admin' | 'apiAdmin' | 'agentA' | 'viewerA' | 'agentB' | 'keyA' | 'oldKeyInOverlap' | 'oldKeyAfterOverlap' | 'revoked' | 'expired';

interface Target {
  session: ConnectedSession;
  chatId: string;
  messageId: string;
  letter: 'A' | 'B';
}

function code(result: { errors?: { extensions?: { code?: string } }[] }): string {
  return result.errors?.length ? (result.errors[0]!.extensions?.code ?? 'ERROR') : 'OK';
}

async function subscriptionOutcome(sub: Subscription<unknown>): Promise<string> {
  try {
    await sub.next(10_000);
    return 'OK';
  } catch {
    const error = sub.errors[0] as { code?: number } | { extensions?: { code?: string } }[] | undefined;
    if (Array.isArray(error)) return error[0]?.extensions?.code ?? 'ERROR';
    if (error && typeof error === 'object' && 'code' in error) return `CLOSED_${error.code}`;
    return 'NO_EVENT';
  }
}

describe('isolation matrix', () => {
  let app: TestApp;
  let A: Target;
  let B: Target;
  const tokens = {} as Record<Principal, string>;

  async function target(letter: 'A' | 'B'): Promise<Target> {
    const session = await connectedSession(app, `Session ${letter}`);
    await inbound(app, session, { from: letter === 'A' ? '+255700000101' : '+255700000202', text: `hello ${letter}` });
    await settled(app);
    const { session: s } = await app.data(Chats, { id: session.id, first: 1 });
    const chatId = s!.chats.edges[0]!.node.id;
    const { chat } = await app.data(ChatMessages, { id: chatId, first: 1 });
    return { session, chatId, messageId: chat!.messages.edges[0]!.node.id, letter };
  }

  async function mint(name: string, role: 'ADMIN' | 'AGENT' | 'VIEWER', sessions: Target[] | null, expiresAt?: string) {
    const { createApiToken } = await app.data(CreateApiToken, {
      input: { name, role, ...(sessions ? { sessionIds: sessions.map((t) => t.session.id) } : {}), ...(expiresAt ? { expiresAt } : {}) },
    });
    return createApiToken;
  }

  beforeAll(async () => {
    app = await startTestApp({ manualClock: true });
    A = await target('A');
    B = await target('B');
    tokens.admin = ADMIN_TOKEN;
    tokens.apiAdmin = (await mint('owner', 'ADMIN', null)).token;
    tokens.agentA = (await mint('agent of A', 'AGENT', [A])).token;
    tokens.viewerA = (await mint('viewer of A', 'VIEWER', [A])).token;
    tokens.agentB = (await mint('agent of B', 'AGENT', [B])).token;
    const key = await mint('integration key of A', 'AGENT', [A]);
    tokens.oldKeyInOverlap = key.token;
    tokens.keyA = (await app.data(RotateApiToken, { id: key.apiToken.id })).rotateApiToken.token;
    const shortOverlap = await mint('rotated key of A', 'AGENT', [A]);
    tokens.oldKeyAfterOverlap = shortOverlap.token;
    await app.data(RotateApiToken, { id: shortOverlap.apiToken.id, overlapSeconds: 600 });
    const revoked = await mint('revoked', 'AGENT', [A]);
    tokens.revoked = revoked.token;
    await app.data(RevokeApiToken, { id: revoked.apiToken.id });
    tokens.expired = (await mint('expiring', 'VIEWER', null, new Date(app.clock!.now() + 300_000).toISOString())).token;
    // Past the short overlap and the expiry, inside the default overlap of a day.
    app.clock!.advance(601_000);
  });
  afterAll(() => app?.stop());

  async function httpRow(token: string) {
    const run = async <D, V extends Record<string, unknown>>(doc: TypedDocumentNode<D, V>, vars?: V) => code(await app.execute(doc, vars, { token }));
    const both = async (op: (t: Target) => Promise<string>) => `${await op(A)}/${await op(B)}`;
    const list = await app.execute(SessionIds, {}, { token });
    const visible = list.errors ? code(list) : list.data!.sessions.edges.map((e) => (e.node.id === A.session.id ? 'A' : e.node.id === B.session.id ? 'B' : '?')).join(',');
    return {
      viewer: await run(ViewerQuery),
      sessions: visible,
      session: await both((t) => run(SessionName, { id: t.session.id })),
      chat: await both((t) => run(ChatMessages, { id: t.chatId, first: 5 })),
      nodeSession: await both((t) => run(NodeQuery, { id: t.session.id })),
      nodeChat: await both((t) => run(NodeQuery, { id: t.chatId })),
      nodeMessage: await both((t) => run(NodeQuery, { id: t.messageId })),
      nodesBoth: await run(NodesQuery, { ids: [A.messageId, B.chatId] }),
      markChatRead: await both((t) => run(MarkChatRead, { chatId: t.chatId })),
      sendMessage: await both((t) => run(SendText, { sessionId: t.session.id, to: '+255700000303', text: `to ${t.letter}` })),
      updateSession: await both((t) => run(RenameSession, { id: t.session.id, name: `Session ${t.letter}` })),
      revealSessionApiKey: await both((t) => run(RevealSessionApiKey, { id: t.session.id })),
      apiTokens: await run(ApiTokens, { first: 5 }),
      createApiToken: await run(CreateApiToken, { input: { name: 'more', role: 'VIEWER' } }),
      providerSettings: await run(ProviderSettings),
    };
  }

  it('gives every caller exactly its outcome on A and B (HTTP)', async () => {
    const principals = Object.keys(tokens) as Principal[];
    const actual: Record<string, unknown> = {};
    for (const p of principals) actual[p] = await httpRow(tokens[p]);

    const everything = {
      viewer: 'OK', sessions: 'A,B', session: 'OK/OK', chat: 'OK/OK', nodeSession: 'OK/OK', nodeChat: 'OK/OK', nodeMessage: 'OK/OK', nodesBoth: 'OK',
      markChatRead: 'OK/OK', sendMessage: 'OK/OK', updateSession: 'OK/OK', revealSessionApiKey: 'OK/OK', apiTokens: 'OK', createApiToken: 'OK', providerSettings: 'OK',
    };
    const adminOnly = { updateSession: 'FORBIDDEN/FORBIDDEN', revealSessionApiKey: 'FORBIDDEN/FORBIDDEN', apiTokens: 'FORBIDDEN', createApiToken: 'FORBIDDEN', providerSettings: 'FORBIDDEN' };
    const agentOfA = {
      viewer: 'OK', sessions: 'A', session: 'OK/NOT_FOUND', chat: 'OK/NOT_FOUND', nodeSession: 'OK/NOT_FOUND', nodeChat: 'OK/NOT_FOUND', nodeMessage: 'OK/NOT_FOUND', nodesBoth: 'NOT_FOUND',
      markChatRead: 'OK/NOT_FOUND', sendMessage: 'OK/NOT_FOUND', ...adminOnly,
    };
    const shut = Object.fromEntries(Object.keys(everything).map((k) => [k, k in { session: 1, chat: 1, nodeSession: 1, nodeChat: 1, nodeMessage: 1, markChatRead: 1, sendMessage: 1, updateSession: 1, revealSessionApiKey: 1 } ? 'UNAUTHENTICATED/UNAUTHENTICATED' : 'UNAUTHENTICATED']));
    expect(actual).toEqual({
      admin: everything,
      apiAdmin: everything,
      agentA: agentOfA,
      // A read-only role is refused whatever the session: the refusal reveals nothing of B.
      viewerA: { ...agentOfA, markChatRead: 'FORBIDDEN/FORBIDDEN', sendMessage: 'FORBIDDEN/FORBIDDEN' },
      agentB: {
        viewer: 'OK', sessions: 'B', session: 'NOT_FOUND/OK', chat: 'NOT_FOUND/OK', nodeSession: 'NOT_FOUND/OK', nodeChat: 'NOT_FOUND/OK', nodeMessage: 'NOT_FOUND/OK', nodesBoth: 'NOT_FOUND',
        markChatRead: 'NOT_FOUND/OK', sendMessage: 'NOT_FOUND/OK', ...adminOnly,
      },
      keyA: agentOfA,
      oldKeyInOverlap: agentOfA,
      oldKeyAfterOverlap: shut,
      revoked: shut,
      expired: shut,
    });
  });

  it('gives every subscriber exactly its outcome on A and B (graphql-ws), and never another session\'s event', async () => {
    const principals = Object.keys(tokens) as Principal[];
    const clients: WsClient[] = [];
    const subs = principals.map((p) => {
      const ws = connectWs(app.url, { token: tokens[p] });
      clients.push(ws);
      return {
        p,
        a: ws.subscribe(MessageReceived, { sessionId: A.session.id }),
        b: ws.subscribe(MessageReceived, { sessionId: B.session.id }),
        all: ws.subscribe(MessageReceived, {}),
      };
    });
    try {
      // Every refusal has arrived, then every accepted subscription runs, before the messages do.
      const scoped = new Set<Principal>(['agentA', 'viewerA', 'agentB', 'keyA', 'oldKeyInOverlap']);
      const shutOut = new Set<Principal>(['oldKeyAfterOverlap', 'revoked', 'expired']);
      await eventually(() =>
        subs.every(({ p, a, b, all }) =>
          shutOut.has(p) ? [a, b, all].every((s) => s.errors.length > 0) : scoped.has(p) ? (p === 'agentB' ? a : b).errors.length > 0 : true,
        ),
      10_000);
      await eventually(() => app.running.liveStats().subscribers === 2 * 3 + scoped.size * 2, 10_000);
      // In order B, A, B, A: a subscriber that got its two in a row was passed over the others.
      for (const t of [B, A, B, A]) {
        await inbound(app, t.session, { from: t.letter === 'A' ? '+255700000101' : '+255700000202', text: `to ${t.letter}` });
        await settled(app);
      }
      const actual: Record<string, unknown> = {};
      for (const { p, a, b, all } of subs) {
        const seeAll = ['admin', 'apiAdmin'].includes(p);
        const letters: string[] = [];
        let allOutcome: string;
        try {
          for (let i = 0; i < (seeAll ? 4 : 2); i++) {
            const event = await all.next(10_000);
            letters.push(event.messageReceived.chat.id === A.chatId ? 'A' : event.messageReceived.chat.id === B.chatId ? 'B' : '?');
          }
          allOutcome = letters.join(',');
        } catch {
          allOutcome = await subscriptionOutcome(all as Subscription<unknown>);
        }
        actual[p] = { a: await subscriptionOutcome(a as Subscription<unknown>), b: await subscriptionOutcome(b as Subscription<unknown>), all: allOutcome };
      }
      const refused = { a: 'CLOSED_4403', b: 'CLOSED_4403', all: 'CLOSED_4403' };
      const ofA = { a: 'OK', b: 'NOT_FOUND', all: 'A,A' };
      expect(actual).toEqual({
        admin: { a: 'OK', b: 'OK', all: 'B,A,B,A' },
        apiAdmin: { a: 'OK', b: 'OK', all: 'B,A,B,A' },
        agentA: ofA,
        viewerA: ofA,
        agentB: { a: 'NOT_FOUND', b: 'OK', all: 'B,B' },
        keyA: ofA,
        oldKeyInOverlap: ofA,
        oldKeyAfterOverlap: refused,
        revoked: refused,
        expired: refused,
      });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
