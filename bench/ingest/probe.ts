/**
 * `npx tsx bench/ingest/probe.ts [postgres|embedded] [webhooks]`: signed `messages.upsert` webhooks
 * from 64 concurrent senders into the product, in-process: webhooks/s answered, messages/s applied,
 * CPU per webhook, and each SQL statement's count and time per webhook (time on the embedded
 * database only, where statements run in this process). For profiling (PROBE_PROFILE=<file>) and
 * checking a change quickly; not part of `npm run bench`.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { statementCount, statementReport, statements } from '../support/statement-log.ts';
import { startBenchApp } from '../support/bench-app.ts';
import { withDatabase } from '../support/services.ts';
import { KeepAliveSender } from './keep-alive-sender.ts';
import { upsert } from './webhooks.ts';

const [database = 'embedded', count = '2000'] = process.argv.slice(2);
async function probe(databaseUrl: string | null) {
  const { instance, running, session } = await startBenchApp(databaseUrl ? { DATABASE_URL: databaseUrl } : {});
  const total = Number(count);
  const senders = Array.from({ length: 64 }, () => new KeepAliveSender(new URL(`${running.url}/api/whatsapp/webhook`), { 'x-webhook-signature': session.webhookSecret }));
  const send = (sender: KeepAliveSender, i: number) => sender.post(JSON.stringify({ ...upsert(i), sessionId: session.apiKey }));
  for (let i = 0; i < 64; i++) await send(senders[i]!, total + i);
  while ((await running.db.prisma.message.count()) < 64) await new Promise((r) => setTimeout(r, 20));
  const inspector = process.env.PROBE_PROFILE ? new Session() : null;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
  }
  statements.clear();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    senders.map(async (sender) => {
      for (let i = next++; i < total; i = next++) {
        const status = await send(sender, i);
        if (status !== 200) throw new Error(`webhook answered ${status}`);
      }
    }),
  );
  const acknowledged = performance.now();
  const answeredAfter = statementCount();
  while ((await running.db.prisma.message.count()) < total + 64) await new Promise((r) => setTimeout(r, 20));
  const applied = performance.now();
  const used = process.cpuUsage(cpu);
  if (inspector) {
    const { profile } = await inspector.post('Profiler.stop');
    await writeFile(process.env.PROBE_PROFILE!, JSON.stringify(profile));
  }
  for (const sender of senders) sender.close();
  console.log(
    `${database}: ${Math.round(total / ((acknowledged - started) / 1000))} webhooks/s answered, ${Math.round(total / ((applied - started) / 1000))} messages/s applied; ` +
      `${((used.user + used.system) / 1000 / total).toFixed(2)} ms CPU per webhook; load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  for (const line of statementReport(total, 'webhook')) console.log(line);
  console.log(`statements until answered: ${(answeredAfter / total).toFixed(2)} per webhook`);
  await instance.stop();
}

if (database === 'postgres') await withDatabase('probe', probe);
else await probe(null);
