/**
 * The embedded database has no autovacuum: the app gathers the planner's statistics itself, so
 * tables that grew are known to have grown (and their indexes get used).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { usingPostgres } from '../helpers/database.ts';
import { connectedSession } from '../helpers/inbox.ts';

describe.skipIf(usingPostgres)('embedded database statistics', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ embeddedMaintenanceMs: 300 });
  });
  afterAll(() => app.stop());

  it('counts the rows of a table that grew, after the next maintenance round', async () => {
    const session = await connectedSession(app, 'Statistics');
    const prisma = app.running.db.prisma;
    await prisma.chat.createMany({
      data: Array.from({ length: 500 }, (_, i) => ({ sessionId: session.dbId, remoteJid: `2557441${String(i).padStart(5, '0')}@s.whatsapp.net` })),
    });
    const estimate = async () => Number((await prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT reltuples::int AS n FROM pg_class WHERE relname = 'chats'`))[0]!.n);
    await eventually(async () => (await estimate()) >= 500, 10_000);
  });
});
