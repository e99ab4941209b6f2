/**
 * The server side of the query benchmark, in its own process. `bare`: Yoga serving `{ hello }` on
 * node:http, the baseline with the same process model. `app`: the product in production settings
 * (on PostgreSQL when given its URL, else embedded) over seeded sessions, chats and messages.
 */
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { startBenchApp } from '../support/bench-app.ts';
import { reportStopped } from '../support/child.ts';
import { seedInbox } from '../support/seed.ts';
import type { QueryCommand, QueryReply } from './protocol.ts';

const reply = (message: QueryReply) => process.send!(message);
const [mode, databaseUrl] = process.argv.slice(2);

if (mode === 'bare') {
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { hello: String! }', resolvers: { Query: { hello: () => 'world' } } }),
    graphiql: false,
    landingPage: false,
  });
  const server = createServer(yoga);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.on('message', (command: QueryCommand) => {
    if (command.type === 'stop') {
      server.closeAllConnections();
      server.close(() => reportStopped());
    }
  });
  reply({ type: 'ready', url: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
} else if (mode === 'app') {
  const { instance, running } = await startBenchApp(databaseUrl ? { DATABASE_URL: databaseUrl } : {});
  const rows = await seedInbox(running.db.prisma, { sessions: 20, chatsPerSession: 10, messagesPerChat: 5 });
  process.on('message', (command: QueryCommand) => {
    if (command.type === 'stop') void instance.stop().then(() => reportStopped());
  });
  reply({ type: 'ready', url: running.url, rows });
} else throw new Error(`unknown mode ${mode}`);
