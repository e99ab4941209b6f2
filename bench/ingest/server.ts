/** The product on PostgreSQL with one connected session, for the ingest benchmark (IPC-driven). */
import { startBenchApp } from '../support/bench-app.ts';
import { reportStopped } from '../support/child.ts';
import type { IngestCommand, IngestReply } from './protocol.ts';

const reply = (message: IngestReply) => process.send!(message);
const { instance, running, session } = await startBenchApp({ DATABASE_URL: process.argv[2]! });
process.on('message', (command: IngestCommand) => {
  if (command.type === 'stop') void instance.stop().then(() => reportStopped());
});
reply({ type: 'ready', url: running.url, apiKey: session.apiKey, webhookSecret: session.webhookSecret, sessionId: session.id });
