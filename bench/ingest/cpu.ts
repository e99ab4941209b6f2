/**
 * `npx tsx bench/ingest/cpu.ts [postgres|embedded] [webhooks]`: the ingest suite's product run alone
 * (its server in a process of its own, as in the suite), with the CPU per webhook of the server, of
 * PostgreSQL's backends and of the senders, until answered and until applied. For A/B runs of a
 * change on a shared machine, where the rates are noise and the CPU per webhook is not.
 */
import os from 'node:os';
import { withDatabase } from '../support/services.ts';
import { productRun, type CpuPerWebhook } from './product-run.ts';

const [database = 'postgres', count = '8000'] = process.argv.slice(2);
const ms = (cpu: CpuPerWebhook) =>
  `server ${cpu.server.toFixed(3)}, PostgreSQL ${cpu.backend === null ? 'n/a' : cpu.backend.toFixed(3)}, senders ${cpu.senders.toFixed(3)}`;
const run = await (database === 'postgres' ? withDatabase('ingest_cpu', (url) => productRun(url, Number(count), 64)) : productRun(null, Number(count), 64));
console.log(
  `${database}: ${Math.round(run.acknowledgedPerSecond)} webhooks/s answered, ${Math.round(run.appliedPerSecond)}/s applied; ` +
    `ms of CPU per webhook until answered: ${ms(run.atAcknowledged)}; until applied: ${ms(run.atApplied)}; load ${os.loadavg()[0]!.toFixed(1)}`,
);
