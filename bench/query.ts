/**
 * What a frontend team feels first: the inbox's first screen, as one GraphQL request over HTTP,
 * with auth and no cache, against a bare Yoga `{ hello }` server with the same process model
 * (node:http, one process), on PostgreSQL and on the embedded database. `viewer` alone and
 * `sessions` alone show where the cost lies. Servers run in a child process each; the load (a fixed
 * number of keep-alive connections, each sending its next request when the last is answered) runs here.
 */
import http from 'node:http';
import { BENCH_ADMIN_TOKEN } from './support/bench-app.ts';
import { startChild } from './support/child.ts';
import { attempt, compared, type BenchResult, type Outcome } from './support/result.ts';
import { requirePostgres, withDatabase } from './support/services.ts';
import type { QueryCommand, QueryReply } from './query/protocol.ts';

/** What an inbox shows first: each session, its five latest chats and each chat's last message. */
export const INBOX_QUERY = `query Inbox {
  sessions(first: 20) {
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id name phoneNumber status
        chats(first: 5) {
          pageInfo { hasNextPage endCursor }
          edges {
            node {
              id name phoneNumber unreadCount lastMessageAt
              lastMessage { id direction status text timestamp }
            }
          }
        }
      }
    }
  }
}`;
const SESSIONS_QUERY = `query Sessions { sessions(first: 20) { pageInfo { hasNextPage endCursor } edges { node { id name phoneNumber status } } } }`;
const VIEWER_QUERY = `query Viewer { viewer { role allSessions } }`;
const HELLO_QUERY = `{ hello }`;

interface Load {
  connections: number;
  warmUpMs: number;
  durationMs: number;
}

function request(agent: http.Agent, url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Requests per second answered 200 without errors, `load.connections` at a time. */
async function throughput(serverUrl: string, query: string, load: Load, check: (data: unknown) => void): Promise<number> {
  const url = `${serverUrl}/graphql`;
  const body = JSON.stringify({ query });
  const agent = new http.Agent({ keepAlive: true, maxSockets: load.connections });
  try {
    const first = await request(agent, url, body);
    const parsed = JSON.parse(first.text) as { data?: unknown; errors?: unknown };
    if (first.status !== 200 || parsed.errors) throw new Error(`${first.status}: ${first.text.slice(0, 300)}`);
    check(parsed.data);
    let counting = false;
    let answered = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const res = await request(agent, url, body);
        if (res.status !== 200 || res.text.includes('"errors"')) throw new Error(`${res.status}: ${res.text.slice(0, 300)}`);
        if (counting) answered++;
      }
    };
    const workers = Array.from({ length: load.connections }, worker);
    await new Promise((r) => setTimeout(r, load.warmUpMs));
    counting = true;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, load.durationMs));
    const rate = answered / ((performance.now() - started) / 1000);
    stop = true;
    await Promise.all(workers);
    return rate;
  } finally {
    agent.destroy();
  }
}

/** The first screen must carry what it promises, or its speed means nothing. */
function checkInbox(data: unknown) {
  const sessions = (data as { sessions: { edges: { node: { chats: { edges: { node: { lastMessage: unknown } }[] } } }[] } }).sessions.edges;
  const chats = sessions.flatMap((s) => s.node.chats.edges);
  if (sessions.length !== 20 || chats.length !== 100 || chats.some((c) => !c.node.lastMessage)) {
    throw new Error(`the inbox query returned ${sessions.length} sessions and ${chats.length} chats, not 20 and 100 with their last messages`);
  }
}

/*
 * Both servers run as a deployment runs them, with NODE_ENV=production in their environment: the
 * libraries read it there (graphql-js checks every type test against other copies of itself otherwise).
 */
const SERVER_ENV = { NODE_ENV: 'production' };

async function withServer<T>(args: string[], fn: (url: string) => Promise<T>): Promise<T> {
  const child = startChild<QueryCommand, QueryReply>(new URL('./query/server.ts', import.meta.url), args, SERVER_ENV);
  try {
    const ready = await child.receive('ready');
    return await fn(ready.url);
  } finally {
    await child.stop();
  }
}

type Query = 'viewer' | 'sessions' | 'inbox';
/** Each app figure with the bare server's, measured just before it: on a shared machine the load moves. */
type Figures = Record<Query, { app: Outcome<number>; bare: Outcome<number> }>;
const QUERIES: Record<Query, { document: string; check: (data: unknown) => void }> = {
  viewer: { document: VIEWER_QUERY, check: () => {} },
  sessions: { document: SESSIONS_QUERY, check: () => {} },
  inbox: { document: INBOX_QUERY, check: checkInbox },
};

async function appFigures(databaseUrl: 'postgres' | null, bareUrl: Outcome<string>, load: Load): Promise<Figures> {
  const figures = {} as Figures;
  const run = (database: string | null) =>
    withServer(database ? ['app', database] : ['app'], async (url) => {
      for (const [name, { document, check }] of Object.entries(QUERIES) as [Query, (typeof QUERIES)[Query]][]) {
        const bare = bareUrl.ok ? await attempt('bare Yoga { hello }', () => throughput(bareUrl.value, HELLO_QUERY, load, () => {})) : bareUrl;
        figures[name] = { bare, app: await attempt(name, () => throughput(url, document, load, check)) };
      }
    });
  const started = await attempt(databaseUrl ? 'the app on PostgreSQL' : 'the embedded app', () => (databaseUrl ? withDatabase('query', (url) => run(url)) : run(null)));
  if (!started.ok) for (const name of Object.keys(QUERIES) as Query[]) figures[name] ??= { bare: started, app: started };
  return figures;
}

export async function queryBenchmarks(): Promise<BenchResult[]> {
  const load: Load = {
    connections: Number(process.env.BENCH_QUERY_CONNECTIONS ?? 8),
    warmUpMs: 1_000,
    durationMs: Number(process.env.BENCH_QUERY_SECONDS ?? 3) * 1000,
  };
  const bare = startChild<QueryCommand, QueryReply>(new URL('./query/server.ts', import.meta.url), ['bare'], SERVER_ENV);
  try {
    const bareUrl = await attempt('bare Yoga { hello }', async () => (await bare.receive('ready')).url);
    const postgres = await attempt('PostgreSQL', requirePostgres);
    const failed = (o: Outcome<unknown> & { ok: false }) => ({ bare: o, app: o });
    const onPostgres: Figures = postgres.ok ? await appFigures('postgres', bareUrl, load) : { viewer: failed(postgres), sessions: failed(postgres), inbox: failed(postgres) };
    const embedded = await appFigures(null, bareUrl, load);
    const results: BenchResult[] = [];
    for (const [database, figures] of [['PostgreSQL', onPostgres], ['the embedded database', embedded]] as const) {
      results.push(
        compared(
          { name: `inbox first screen on ${database}: 20 sessions × 5 chats with their last message`, unit: 'req/s', target: { kind: 'ratio-at-least', value: 0.35 } },
          figures.inbox.bare,
          figures.inbox.app,
        ),
        compared({ name: `viewer alone on ${database}`, unit: 'req/s' }, figures.viewer.bare, figures.viewer.app),
        compared({ name: `sessions(first: 20) alone on ${database}`, unit: 'req/s' }, figures.sessions.bare, figures.sessions.app),
      );
    }
    return results;
  } finally {
    await bare.stop();
  }
}
