/**
 * Prisma's errors as the database adapter in use really raises them (PGlite and node-postgres word
 * them differently), translated into the contract's codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPrismaError } from '../../src/lib/prisma-errors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const MISSING = '00000000-0000-7000-8000-000000000000';

describe('Prisma errors in the contract codes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  const failure = async (op: () => Promise<unknown>) => {
    try {
      await op();
    } catch (error) {
      return fromPrismaError(error);
    }
    throw new Error('expected the operation to fail');
  };

  it('translates missing records, unique violations and missing references', async () => {
    const prisma = app.running.db.prisma;
    const session = await prisma.whatsAppSession.create({ data: { name: 'A', phoneNumber: '+255700000001', providerSessionId: 'p-1' } });

    expect(await failure(() => prisma.whatsAppSession.delete({ where: { id: MISSING } }))).toMatchObject({ code: 'NOT_FOUND', message: 'Session not found' });
    expect(await failure(() => prisma.chat.update({ where: { id: MISSING }, data: { name: 'x' } }))).toMatchObject({ code: 'NOT_FOUND', message: 'Chat not found' });

    const duplicate = await failure(() => prisma.whatsAppSession.create({ data: { name: 'B', phoneNumber: '+255700000002', providerSessionId: 'p-1' } }));
    expect(duplicate).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { fields: { providerSessionId: 'is already taken' } } });
    // Of a key scoped by the session, the field named is the one that collided within it.
    await prisma.chat.create({ data: { sessionId: session.id, remoteJid: '255700000003@s.whatsapp.net' } });
    const chat = await failure(() => prisma.chat.create({ data: { sessionId: session.id, remoteJid: '255700000003@s.whatsapp.net' } }));
    expect(chat).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { fields: { remoteJid: 'is already taken' } } });

    const orphan = await failure(() => prisma.sessionLog.create({ data: { sessionId: MISSING, type: 'ERROR', message: 'x' } }));
    expect(orphan).toMatchObject({ code: 'NOT_FOUND', message: 'Session not found' });
    const orphanMessage = await failure(() =>
      prisma.message.create({ data: { sessionId: session.id, chatId: MISSING, direction: 'INBOUND', kind: 'TEXT', status: 'RECEIVED', fromJid: 'x', timestamp: new Date() } }),
    );
    expect(orphanMessage).toMatchObject({ code: 'NOT_FOUND', message: 'Chat not found' });
  });

  it('leaves every other error to be masked', async () => {
    expect(fromPrismaError(new Error('boom'))).toBeNull();
    expect(await failure(() => app.running.db.prisma.$queryRawUnsafe('SELECT * FROM no_such_table'))).toBeNull();
  });
});
