/**
 * One number, one session: a number another session uses is refused before the provider is asked,
 * so nothing is made there. The provider refuses a number it already holds itself, so the case that
 * reaches us is a number whose provider session went away (deleted in the provider's dashboard).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beforeMigration } from '../helpers/migration-step.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { CreateSession, ListSessions, newSession } from './documents.ts';

describe('one number, one session', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.stop();
  });

  /** The provider's sessions, as its dashboard lists them. */
  async function providerSessions() {
    const sandbox = app.running.sandbox!;
    const res = await fetch(`${sandbox.baseUrl}/whatsapp-sessions`, { headers: { authorization: `Bearer ${sandbox.token}` } });
    return ((await res.json()) as { data: { id: number; phone_number: string }[] }).data;
  }

  it('refuses a number another session uses with BAD_USER_INPUT on phoneNumber, making nothing at the provider', async () => {
    const { createSession: first } = await app.data(CreateSession, newSession('Sales', '+255711000042'));
    // Gone at the provider (its dashboard), still ours: the provider alone would take the number again.
    const sandbox = app.running.sandbox!;
    const removed = await fetch(`${sandbox.baseUrl}/whatsapp-sessions/${first.providerSessionId}`, { method: 'DELETE', headers: { authorization: `Bearer ${sandbox.token}` } });
    expect(removed.ok).toBe(true);
    expect(await providerSessions()).toEqual([]);

    // Written differently, the same E.164 number.
    const again = await app.execute(CreateSession, newSession('Sales again', '+255 711 000 042'));
    expect(again.data).toBeNull();
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { phoneNumber: 'is already used by another session' } });
    expect(again.errors?.[0]?.message).toContain('phoneNumber');
    expect(await providerSessions()).toEqual([]);
    const { sessions } = await app.data(ListSessions, {});
    expect(sessions.edges.map((e) => e.node.name)).toEqual(['Sales']);

    // Another number is fine.
    const { createSession: other } = await app.data(CreateSession, newSession('Support', '+255711000043'));
    expect(other.phoneNumber).toBe('+255711000043');
  });
});

describe('the migration that makes numbers unique', () => {
  it('names the sessions that already share a number instead of failing on a bare unique violation', async () => {
    const step = await beforeMigration('_unique_session_phone');
    const { db } = step;
    try {
      const first = '0193a000-0000-7000-8000-0000000000b1';
      const second = '0193a000-0000-7000-8000-0000000000b2';
      await db.prisma.$executeRawUnsafe(
        `INSERT INTO whatsapp_sessions (id, name, "phoneNumber", "updatedAt") VALUES ($1, 'One', '+255700003000', now()), ($2, 'Two', '+255700003000', now())`,
        first,
        second,
      );

      const failure = await step.apply().then(() => null, (e: unknown) => e as Error);
      expect(failure?.message).toContain('Several sessions use one phone number: +255700003000');
      expect(failure?.message).toContain(first);
      expect(failure?.message).toContain(second);
    } finally {
      await step.close();
    }
  });
});
