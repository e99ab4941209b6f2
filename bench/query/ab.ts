/**
 * `node --preserve-symlinks --import tsx bench/query/ab.ts <other checkout> [postgres|embedded] [rounds]`
 * (`--preserve-symlinks` when its node_modules links to this one: each build then has its own modules): the inbox query on this
 * checkout and on another (e.g. a worktree of main) in one process, alternating batches of ten, each
 * on its own app and database: both see the same load, which on a shared machine moves more between
 * two runs than most changes do. Prints CPU per request of each (median and best batch) and checks
 * that both answer the same (ids and instants aside). Not part of `npm run bench`.
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { withDatabase } from '../support/services.ts';
import { inboxQuerySender } from './inbox-sender.ts';

const [other, database = 'postgres', rounds = '40'] = process.argv.slice(2);
if (!other) throw new Error('usage: bench/query/ab.ts <other checkout> [postgres|embedded] [rounds]');

type Send = () => Promise<string>;

async function start(root: string, databaseUrl: string | null): Promise<{ send: Send; stop: () => Promise<void> }> {
  const { startBenchApp, BENCH_ADMIN_TOKEN } = (await import(pathToFileURL(path.join(root, 'bench/support/bench-app.ts')).href)) as typeof import('../support/bench-app.ts');
  const { seedInbox } = (await import(pathToFileURL(path.join(root, 'bench/support/seed.ts')).href)) as typeof import('../support/seed.ts');
  const { instance, running } = await startBenchApp(databaseUrl ? { DATABASE_URL: databaseUrl } : {});
  await seedInbox(running.db.prisma, { sessions: 20, chatsPerSession: 10, messagesPerChat: 5 });
  const send = inboxQuerySender(running, BENCH_ADMIN_TOKEN);
  return { send, stop: () => instance.stop() };
}

/** The response with its ids and instants (which differ between two seedings) numbered in order of appearance. */
function normalised(text: string): string {
  const seen = new Map<string, string>();
  return JSON.stringify(JSON.parse(text), (key, value: unknown) => {
    if (typeof value !== 'string') return value;
    if (['id', 'cursor', 'startCursor', 'endCursor'].includes(key) || /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value)) {
      if (!seen.has(value)) seen.set(value, `#${seen.size}`);
      return key.endsWith('ursor') || key === 'id' ? seen.get(value) : 'instant';
    }
    return value;
  });
}

async function cpuPerRequest(send: Send): Promise<number> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < 10; i++) await send();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / 10;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function compare(urls: [string | null, string | null]) {
  const builds = { this: await start(path.resolve(import.meta.dirname, '../..'), urls[0]), other: await start(path.resolve(other!), urls[1]) };
  try {
    const [mine, theirs] = [normalised(await builds.this.send()), normalised(await builds.other.send())];
    console.log(mine === theirs ? 'same answer' : `DIFFERENT ANSWERS:\n${mine.slice(0, 2000)}\n${theirs.slice(0, 2000)}`);
    for (let i = 0; i < 30; i++) await Promise.all([builds.this.send(), builds.other.send()]);
    const cpu = { this: [] as number[], other: [] as number[] };
    const load = [os.loadavg()[0]!];
    for (let round = 0; round < Number(rounds); round++) {
      // Each side first every other round: neither always runs right after the other's garbage.
      const order = round % 2 === 0 ? (['this', 'other'] as const) : (['other', 'this'] as const);
      for (const side of order) cpu[side].push(await cpuPerRequest(builds[side].send));
    }
    load.push(os.loadavg()[0]!);
    for (const side of ['other', 'this'] as const) {
      console.log(`${side.padEnd(5)} CPU per request: median ${median(cpu[side]).toFixed(2)} ms, best ${Math.min(...cpu[side]).toFixed(2)} ms`);
    }
    console.log(`this / other: median ${(median(cpu.this) / median(cpu.other)).toFixed(2)}, best ${(Math.min(...cpu.this) / Math.min(...cpu.other)).toFixed(2)} (load ${load.map((l) => l.toFixed(1)).join(' → ')})`);
  } finally {
    await builds.this.stop();
    await builds.other.stop();
  }
}

if (database === 'postgres') await withDatabase('ab_this', (a) => withDatabase('ab_other', (b) => compare([a, b])));
else await compare([null, null]);
