/** Offline replacement for `prisma migrate deploy|status|dev --create-only`. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/lib/database.ts';
import { createMigration, deployMigrations, migrationStatus } from '../src/lib/migrations.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const migrationsDir = path.join(root, 'prisma/migrations');
const [command, ...rest] = process.argv.slice(2);

async function main(): Promise<number> {
  if (command === 'create') {
    const dir = await createMigration({ migrationsDir, schemaPath: path.join(root, 'prisma/schema.prisma'), name: rest.join('_') });
    console.log(dir ? `Created ${path.relative(root, dir)}/migration.sql` : 'No schema changes: no migration created.');
    return 0;
  }
  if (command !== 'deploy' && command !== 'status') {
    console.error('usage: migrate.ts deploy | status | create <name>');
    return 2;
  }
  const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: process.env.DATA_DIR ?? '.data' });
  try {
    if (command === 'deploy') {
      const applied = await db.withMigrationAdapter((factory) => deployMigrations(factory, migrationsDir));
      console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations.');
      return 0;
    }
    const status = await db.withMigrationAdapter((factory) => migrationStatus(factory, migrationsDir));
    console.log(JSON.stringify(status, null, 2));
    return status.history || status.failedMigrationNames.length ? 1 : 0;
  } finally {
    await db.close();
  }
}

// The wasm engine leaves a timer pending: exit explicitly.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
