/** The product with one connected session, for the ingest benchmark (IPC-driven): on PostgreSQL when given its URL, else embedded. */
import { startBenchApp } from '../support/bench-app.ts';
import { reportStopped } from '../support/child.ts';
import type { IngestCommand, IngestReply } from './protocol.ts';

const reply = (message: IngestReply) => process.send!(message);
const databaseUrl = process.argv[2];
const { instance, running, session } = await startBenchApp(databaseUrl ? { DATABASE_URL: databaseUrl } : {});
process.on('message', (command: IngestCommand) => {
  if (command.type === 'count') {
    void running.db.prisma.message.count({ where: { sessionId: session.id } }).then((messages) => reply({ type: 'count', messages }));
  } else if (command.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    reply({ type: 'cpu', ms: (user + system) / 1000 });
  } else if (command.type === 'stop') void instance.stop().then(() => reportStopped());
});
reply({ type: 'ready', url: running.url, apiKey: session.apiKey, webhookSecret: session.webhookSecret, sessionId: session.id });
