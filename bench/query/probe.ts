/**
 * `npx tsx bench/query/probe.ts [postgres|embedded] [requests]`: the inbox query run in-process, one at
 * a time, with the SQL statements it costs counted: for profiling (`node --cpu-prof`) and for
 * checking a change quickly. `postgres` runs in a fresh database of its own (DATABASE_URL's server).
 * Not part of `npm run bench`.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import pg from 'pg';
import { startBenchApp, BENCH_ADMIN_TOKEN } from '../support/bench-app.ts';
import { seedInbox } from '../support/seed.ts';
import { withDatabase } from '../support/services.ts';
import { inboxQuerySender } from './inbox-sender.ts';

const [database = 'embedded', count = '300'] = process.argv.slice(2);
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  if (process.env.PROBE_SQL && statements <= 3) console.log(String((args[0] as { text?: string }).text ?? args[0]).slice(0, 6000), '\n');
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;
async function probe(databaseUrl: string | null) {
  const { instance, running } = await startBenchApp(databaseUrl ? { DATABASE_URL: databaseUrl } : {});
  await seedInbox(running.db.prisma, { sessions: 20, chatsPerSession: 10, messagesPerChat: 5 });
  const send = inboxQuerySender(running, BENCH_ADMIN_TOKEN);
  statements = 100;
  const first = await send();
  // PROBE_OUTPUT=<file>: the response, to compare two builds' answers.
  if (process.env.PROBE_OUTPUT) await writeFile(process.env.PROBE_OUTPUT, first);
  statements = 0;
  await send();
  for (let i = 0; i < 20; i++) await send();
  statements = 0;
  // PROBE_PROFILE=<file>: a CPU profile of the measured requests alone (not start-up or seeding).
  const inspector = process.env.PROBE_PROFILE ? new Session() : null;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
  }
  // PROBE_ALLOCATIONS=<file>: a sampling heap profile of the measured requests (what allocates, by bytes).
  const allocations = process.env.PROBE_ALLOCATIONS ? new Session() : null;
  if (allocations) {
    allocations.connect();
    await allocations.post('HeapProfiler.enable');
    await allocations.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  // Best batch of ten: on a busy machine the quietest moment says most about our own cost.
  const started = performance.now();
  let bestMs = Infinity;
  const cpuPerBatch: number[] = [];
  for (let done = 0; done < Number(count); done += 10) {
    const cpu = process.cpuUsage();
    const at = performance.now();
    for (let i = 0; i < 10; i++) await send();
    const used = process.cpuUsage(cpu);
    cpuPerBatch.push((used.user + used.system) / 1000 / 10);
    bestMs = Math.min(bestMs, (performance.now() - at) / 10);
  }
  cpuPerBatch.sort((a, b) => a - b);
  const cpuMs = cpuPerBatch[0]!;
  const medianCpuMs = cpuPerBatch[Math.floor(cpuPerBatch.length / 2)]!;
  const ms = (performance.now() - started) / Number(count);
  if (allocations) {
    const { profile } = await allocations.post('HeapProfiler.stopSampling');
    await writeFile(process.env.PROBE_ALLOCATIONS!, JSON.stringify(profile));
    allocations.disconnect();
  }
  if (inspector) {
    const { profile } = await inspector.post('Profiler.stop');
    await writeFile(process.env.PROBE_PROFILE!, JSON.stringify(profile));
    inspector.disconnect();
  }
  console.log(`${ms.toFixed(2)} ms per request, best ${bestMs.toFixed(2)} ms (${cpuMs.toFixed(2)} ms of CPU in this process, median ${medianCpuMs.toFixed(2)}, load ${os.loadavg()[0]!.toFixed(1)}), ${(statements / Number(count)).toFixed(1)} pg statements per request (0 on the embedded database), ${first.length} bytes`);
  await instance.stop();
}

if (database === 'postgres') await withDatabase('probe', probe);
else await probe(null);
