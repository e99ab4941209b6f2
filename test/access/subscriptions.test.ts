/**
 * Many sessions, many scoped subscribers, shared executions: subscribers with the same role and
 * scope share one execution whatever their token, and no event of another session ever reaches
 * anyone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound, type ConnectedSession } from '../helpers/inbox.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import { MessageReceived } from '../inbox/documents.ts';
import { CreateApiToken } from './documents.ts';

describe('scoped subscribers on shared executions', () => {
  let app: TestApp;
  let sessions: ConnectedSession[];
  const clients: WsClient[] = [];
  beforeAll(async () => {
    app = await startTestApp();
    sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await connectedSession(app, `S${i}`));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app?.stop();
  });

  it('runs one execution per role and scope, and gives each subscriber only its sessions\' messages', async () => {
    const mint = async (name: string, scope: ConnectedSession[] | null) =>
      (await app.data(CreateApiToken, { input: { name, role: 'VIEWER', ...(scope ? { sessionIds: scope.map((s) => s.id) } : {}) } })).createApiToken.token;
    const subscribers: { scope: number[]; token: string }[] = [];
    for (const [i, session] of sessions.entries()) {
      for (let k = 0; k < 3; k++) subscribers.push({ scope: [i], token: await mint(`S${i} #${k}`, [session]) });
    }
    for (let k = 0; k < 2; k++) subscribers.push({ scope: [0, 1], token: await mint(`S0+S1 #${k}`, [sessions[1]!, sessions[0]!]) });
    for (let k = 0; k < 2; k++) subscribers.push({ scope: [0, 1, 2, 3], token: await mint(`all #${k}`, null) });
    subscribers.push({ scope: [0, 1, 2, 3], token: ADMIN_TOKEN });

    const feeds = subscribers.map((s) => {
      const ws = connectWs(app.url, { token: s.token });
      clients.push(ws);
      return { ...s, feed: ws.subscribe(MessageReceived, {}) };
    });
    await eventually(() => app.running.liveStats().subscribers === feeds.length, 10_000);
    // One per distinct access: 4 single sessions, the pair (in any order), VIEWER of all, the admin.
    expect(app.running.liveStats().executions).toBe(4 + 1 + 1 + 1);

    // Rounds 0 and 1 are checked; round 2 closes them, so that any event of theirs that leaked would
    // have arrived before a subscriber's own round-2 messages.
    for (let round = 0; round < 3; round++) {
      for (const [i, session] of sessions.entries()) await inbound(app, session, { from: `+25570000${i}${round}11`, text: `S${i}-${round}` });
    }
    for (const { scope, feed } of feeds) {
      const texts: string[] = [];
      for (let n = 0; n < scope.length * 3; n++) texts.push((await feed.next(15_000)).messageReceived.text!);
      expect(texts.sort()).toEqual(scope.flatMap((i) => [`S${i}-0`, `S${i}-1`, `S${i}-2`]).sort());
    }
    expect(feeds.flatMap(({ feed }) => feed.errors)).toEqual([]);
  });
});
