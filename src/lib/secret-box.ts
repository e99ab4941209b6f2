/**
 * The deployment's secret box: its keys from the configuration, and the look-up hash key it keeps
 * sealed in the database, so that rotating ENCRYPTION_KEY leaves every keyed hash valid.
 */
import { randomBytes } from 'node:crypto';
import { createSecretBox, derivedLookupKey, loadOrCreateDevKey, type SecretBox } from './crypto.ts';
import type { Prisma } from './database.ts';

export const LOOKUP_HASH_SECRET = 'lookup-hash';

export async function openSecretBox(prisma: Prisma, keys: { current: Buffer; previous: readonly Buffer[] }): Promise<SecretBox> {
  // Only seals and opens the stored key; its own hash key is never used.
  const sealer = createSecretBox({ ...keys, lookupKey: Buffer.alloc(32) });
  let row = await prisma.serverSecret.findUnique({ where: { name: LOOKUP_HASH_SECRET } });
  if (!row) {
    // The hashes stored before this row existed were made with the key derived from the current
    // encryption key: keep that one (every process derives the same, so a race stores one value).
    await prisma.serverSecret.createMany({
      data: [{ name: LOOKUP_HASH_SECRET, valueEncrypted: sealer.encrypt(derivedLookupKey(keys.current).toString('hex')) }],
      skipDuplicates: true,
    });
    row = await prisma.serverSecret.findUniqueOrThrow({ where: { name: LOOKUP_HASH_SECRET } });
  }
  let lookupKey: Buffer;
  try {
    lookupKey = Buffer.from(sealer.decrypt(row.valueEncrypted), 'hex');
  } catch (error) {
    throw new Error(`ENCRYPTION_KEY cannot read the secrets stored in the database (${(error as Error).message})`);
  }
  return createSecretBox({ ...keys, lookupKey });
}

/**
 * The keys in force: ENCRYPTION_KEY (with ENCRYPTION_KEY_PREVIOUS for reading), or in development
 * the key generated into DATA_DIR (a fresh one for an in-memory DATA_DIR).
 */
export async function encryptionKeys(config: { encryptionKey: Buffer | null; previousEncryptionKeys: Buffer[]; dataDir: string }) {
  const current =
    config.encryptionKey ?? (config.dataDir.startsWith('memory://') ? randomBytes(32) : await loadOrCreateDevKey(config.dataDir));
  return { current, previous: config.previousEncryptionKeys };
}
