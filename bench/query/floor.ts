/**
 * `npx tsx bench/query/floor.ts [postgres|embedded] [rounds]`: what the inbox query's layers cost on
 * their own, beside the whole request (bench/query/probe.ts): the same SQL statement straight
 * through the driver (`pg`, or PGlite in-process), the response's data through `JSON.stringify`,
 * and graphql-js executing the same document over that data with default resolvers (no Pothos, no
 * Prisma, no Yoga). CPU per request in this process, best batch of ten. Not part of `npm run bench`.
 * `FLOOR_SETUP=<sql>` runs a statement first (e.g. an index to try), `FLOOR_PLAN=1` prints the plan.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { PGlite } from '@electric-sql/pglite';
import { buildSchema, execute, parse } from 'graphql';
import pg from 'pg';
import { startBenchApp, BENCH_ADMIN_TOKEN } from '../support/bench-app.ts';
import { seedInbox } from '../support/seed.ts';
import { INBOX_QUERY } from '../query.ts';
import { withDatabase } from '../support/services.ts';

const [database = 'embedded', rounds = '200'] = process.argv.slice(2);

/** The inbox's statement as the app sends it, caught on its way to the driver. */
let captured: { text: string; values: unknown[]; options?: unknown } | null = null;
const isInbox = (text: string) => text.includes('JOIN LATERAL') && text.includes('FROM chats c');
const pgQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const config = args[0] as { text?: string; values?: unknown[] } | string;
  const text = typeof config === 'string' ? config : (config.text ?? '');
  if (!captured && isInbox(text)) captured = { text, values: (typeof config === 'string' ? args[1] : config.values) as unknown[] };
  return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pgQuery;
let pglite: PGlite | null = null;
const pgliteQuery = PGlite.prototype.query;
PGlite.prototype.query = function (this: PGlite, text: string, values?: unknown[], options?: unknown) {
  if (!captured && isInbox(text)) {
    captured = { text, values: values ?? [], options };
    pglite = this;
  }
  return pgliteQuery.call(this, text, values, options as never);
} as typeof pgliteQuery;

/** CPU milliseconds per call of `fn`, best batch of ten. */
async function cpuPerCall(fn: () => unknown): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  let best = Infinity;
  for (let done = 0; done < Number(rounds); done += 10) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < 10; i++) await fn();
    const used = process.cpuUsage(cpu);
    best = Math.min(best, (used.user + used.system) / 1000 / 10);
  }
  return best;
}

/** CPU milliseconds per call spent by `client`'s PostgreSQL backend (same machine: /proc), over many calls. */
async function backendCpuPerCall(client: pg.Client, fn: () => Promise<unknown>): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const ticks = async () => {
    const fields = (await readFile(`/proc/${rows[0]!.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (1/100 s)
  };
  const calls = Number(rounds) * 5;
  const before = await ticks();
  for (let i = 0; i < calls; i++) await fn();
  return ((await ticks()) - before) * 10 / calls;
}

async function floor(databaseUrl: string | null) {
  const { instance, running } = await startBenchApp(databaseUrl ? { DATABASE_URL: databaseUrl } : {});
  await seedInbox(running.db.prisma, { sessions: 20, chatsPerSession: 10, messagesPerChat: 5 });
  const body = JSON.stringify({ query: INBOX_QUERY });
  const request = async () => {
    const res = await running.yoga.fetch(`${running.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_ADMIN_TOKEN}` }, body });
    return res.text();
  };
  const response = JSON.parse(await request()) as { data: Record<string, unknown> };
  if (!captured) throw new Error('the inbox statement was not seen');
  const statement: { text: string; values: unknown[]; options?: unknown } = captured;

  const figures: Record<string, number> = {};
  figures['whole request (yoga.fetch)'] = await cpuPerCall(request);
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    if (process.env.FLOOR_SETUP) await client.query(process.env.FLOOR_SETUP);
    figures['SQL through pg, rows parsed'] = await cpuPerCall(() => client.query({ text: statement.text, values: statement.values }));
    figures['SQL: CPU of its PostgreSQL backend (not this process)'] = await backendCpuPerCall(client, () => client.query({ text: statement.text, values: statement.values }));
    // FLOOR_PLAN=1: the statement's plan, to see where PostgreSQL spends its share.
    if (process.env.FLOOR_PLAN) {
      const text = await client.query({ text: `EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, values: statement.values });
      console.log(statement.text, statement.values, '\n', text.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'));
    }
    await client.end();
  } else {
    if (process.env.FLOOR_SETUP) await pglite!.exec(process.env.FLOOR_SETUP);
    if (process.env.FLOOR_PLAN) {
      const plan = await pglite!.query<Record<string, string>>(`EXPLAIN ANALYZE ${statement.text}`, statement.values);
      console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
    }
    figures['SQL through PGlite, rows parsed'] = await cpuPerCall(() => pglite!.query(statement.text, statement.values, statement.options as never));
  }
  figures['JSON.stringify of the response'] = await cpuPerCall(() => JSON.stringify(response));
  const schema = buildSchema(await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8'));
  const document = parse(INBOX_QUERY);
  figures['graphql-js execute over the data, default resolvers'] = await cpuPerCall(() => execute({ schema, document, rootValue: response.data }));
  figures['graphql-js execute + JSON.stringify'] = await cpuPerCall(() => JSON.stringify(execute({ schema, document, rootValue: response.data })));
  for (const [name, ms] of Object.entries(figures)) console.log(`${ms.toFixed(3).padStart(8)} ms  ${name}`);
  console.log(`(load ${os.loadavg()[0]!.toFixed(1)})`);
  await instance.stop();
}

if (database === 'postgres') await withDatabase('floor', floor);
else await floor(null);
