/**
 * Rotating ENCRYPTION_KEY: the new key alone cannot read what the old one sealed (start-up says
 * so); with the old one as ENCRYPTION_KEY_PREVIOUS everything reads; `rotate-encryption-key`
 * re-seals every sealed value of every table under the new key, after which the new key alone
 * serves the same secrets, tokens and sessions.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { encryptionKeyId } from '../../src/lib/crypto.ts';
import { withDeployment } from '../../scripts/deployment.ts';
import { resealSecrets } from '../../src/modules/system/encryption-rotation.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { CreateSession } from '../sessions/documents.ts';
import { CreateApiToken, RevealSessionApiKey, ViewerQuery } from './documents.ts';
import { dumpDatabase } from '../helpers/dump.ts';

const oldKey = randomBytes(32).toString('hex');
const newKey = randomBytes(32).toString('hex');

/** The key ids of every sealed value in the database. */
function sealedKeyIds(dump: string): string[] {
  return [...new Set([...dump.matchAll(/\bv(\d):(?:([0-9a-f]{12}):)?[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:/g)].map((m) => m[2] ?? `v${m[1]} without key id`))].sort();
}

describe('encryption key rotation', () => {
  let db: TestDatabase;
  let dataDir: string;
  const env = (keys: Record<string, string>) => ({ DATA_DIR: dataDir, ...keys });
  const start = (keys: Record<string, string>) => startTestApp({ databaseUrl: db.url, env: env(keys) });
  let app: TestApp | undefined;
  let sessionId: string;
  let apiKey: string;
  let token: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'wg-rotation-'));
  });
  afterAll(async () => {
    await app?.stop();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('re-seals everything under the new key while the old one is still read', async () => {
    app = await start({ ENCRYPTION_KEY: oldKey });
    const { createSession } = await app.data(CreateSession, { input: { name: 'Sealed', phoneNumber: '+255700000888' } });
    sessionId = createSession.id;
    apiKey = (await app.data(RevealSessionApiKey, { id: sessionId })).revealSessionApiKey;
    token = (await app.data(CreateApiToken, { input: { name: 'partner', role: 'VIEWER', sessionIds: [sessionId] } })).createApiToken.token;
    expect(sealedKeyIds(await dumpDatabase(app.running.db.prisma))).toEqual([encryptionKeyId(Buffer.from(oldKey, 'hex'))]);
    await app.stop();
    app = undefined;

    // The new key alone cannot read what the old one sealed, and says which variable helps.
    await expect(start({ ENCRYPTION_KEY: newKey })).rejects.toThrow(/ENCRYPTION_KEY/);

    // Both: the service runs and reads every old value, sealing new ones under the new key.
    app = await start({ ENCRYPTION_KEY: newKey, ENCRYPTION_KEY_PREVIOUS: oldKey });
    expect((await app.data(RevealSessionApiKey, { id: sessionId })).revealSessionApiKey).toBe(apiKey);
    expect((await app.execute(ViewerQuery, {}, { token })).data?.viewer.role).toBe('VIEWER');
    await app.stop();
    app = undefined;

    const config = loadConfig({ ...env({ ENCRYPTION_KEY: newKey, ENCRYPTION_KEY_PREVIOUS: oldKey }), ...(db.url ? { DATABASE_URL: db.url } : {}) });
    const { resealed } = await withDeployment(config, ({ prisma, secrets }) => resealSecrets({ prisma, secrets }));
    expect(resealed).toBeGreaterThanOrEqual(3); // API key, webhook secret, look-up hash key
    // A second run finds nothing left.
    expect((await withDeployment(config, ({ prisma, secrets }) => resealSecrets({ prisma, secrets }))).resealed).toBe(0);

    // The new key alone now serves the same secrets and tokens.
    app = await start({ ENCRYPTION_KEY: newKey });
    expect(sealedKeyIds(await dumpDatabase(app.running.db.prisma))).toEqual([encryptionKeyId(Buffer.from(newKey, 'hex'))]);
    expect((await app.data(RevealSessionApiKey, { id: sessionId })).revealSessionApiKey).toBe(apiKey);
    expect((await app.execute(ViewerQuery, {}, { token })).data?.viewer.role).toBe('VIEWER');
  }, 180_000); // four starts and two migration runs on a file database
});
