/** What the command-line scripts share: the deployment's database (migrated) and secret box. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from '../src/config.ts';
import type { SecretBox } from '../src/lib/crypto.ts';
import { openDatabase, type Prisma } from '../src/lib/database.ts';
import { deployMigrations } from '../src/lib/migrations.ts';
import { encryptionKeys, openSecretBox } from '../src/lib/secret-box.ts';

const migrationsDir = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), 'prisma/migrations');

export async function withDeployment<T>(config: AppConfig, run: (d: { prisma: Prisma; secrets: SecretBox }) => Promise<T>): Promise<T> {
  const db = await openDatabase({ databaseUrl: config.databaseUrl ?? undefined, dataDir: config.dataDir });
  try {
    await db.withMigrationAdapter((factory) => deployMigrations(factory, migrationsDir));
    const secrets = await openSecretBox(db.prisma, await encryptionKeys(config));
    return await run({ prisma: db.prisma, secrets });
  } finally {
    await db.close();
  }
}

/** Runs a script's work and exits with its code (the migration engine leaves a timer pending). */
export function runAgainstDeployment(config: AppConfig, run: (d: { prisma: Prisma; secrets: SecretBox }) => Promise<number>): void {
  withDeployment(config, run).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
