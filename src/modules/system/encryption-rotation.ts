/**
 * Re-seals every secret at rest under the current ENCRYPTION_KEY (`npm run rotate-encryption-key`),
 * reading old values with ENCRYPTION_KEY_PREVIOUS. Runs while the service runs: each value is
 * replaced only if it is still the one read, so a value the service wrote meanwhile (already under
 * the current key) stays. The keyed hashes do not change: their key is itself a sealed secret.
 */
import type { SecretBox } from '../../lib/crypto.ts';
import type { Prisma } from '../../lib/database.ts';
import type { Logger } from '../../lib/logger.ts';

/** Every sealed column: a new one belongs here (the secrets-at-rest test finds any left behind). */
export const SEALED_COLUMNS = [
  { table: 'whatsapp_sessions', key: 'id', columns: ['apiKeyEncrypted', 'webhookSecretEncrypted'] },
  { table: 'provider_settings', key: 'id', columns: ['tokenEncrypted'] },
  { table: 'server_secrets', key: 'name', columns: ['valueEncrypted'] },
] as const;

const BATCH = 500;

export async function resealSecrets(deps: { prisma: Prisma; secrets: SecretBox; logger?: Logger }): Promise<{ resealed: number }> {
  const { prisma, secrets } = deps;
  let resealed = 0;
  for (const { table, key, columns } of SEALED_COLUMNS) {
    for (const column of columns) {
      const failed = new Set<string>();
      for (;;) {
        const rows = await prisma.$queryRawUnsafe<{ k: string; v: string }[]>(
          `SELECT "${key}"::text AS k, "${column}" AS v FROM "${table}"
           WHERE "${column}" IS NOT NULL AND "${column}" NOT LIKE $1 AND NOT ("${key}"::text = ANY($2::text[]))
           ORDER BY "${key}" LIMIT ${BATCH}`,
          `v2:${secrets.keyId}:%`,
          [...failed],
        );
        if (!rows.length) break;
        for (const row of rows) {
          let plain: string;
          try {
            plain = secrets.decrypt(row.v);
          } catch (error) {
            throw new Error(`${table}.${column} of ${row.k}: ${(error as Error).message}`);
          }
          const updated = await prisma.$executeRawUnsafe(
            `UPDATE "${table}" SET "${column}" = $1 WHERE "${key}"::text = $2 AND "${column}" = $3`,
            secrets.encrypt(plain),
            row.k,
            row.v,
          );
          // Changed meanwhile: the service wrote it anew, under the current key.
          if (updated === 1) resealed++;
          else failed.add(row.k);
        }
      }
      deps.logger?.info({ table, column }, 'secrets re-sealed');
    }
  }
  return { resealed };
}
