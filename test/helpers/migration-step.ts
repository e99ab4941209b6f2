/**
 * A database as the release before a migration left it: every migration before the named one is
 * applied, the test writes the rows that release could hold, then applies the one migration.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MIGRATIONS_DIR } from '../../src/app.ts';
import { openDatabase, type Database } from '../../src/lib/database.ts';
import { deployMigrations } from '../../src/lib/migrations.ts';
import { createTestDatabase } from './database.ts';

export interface MigrationStep {
  db: Database;
  /** The migration under test (its directory name). */
  name: string;
  /** Applies it; resolves to the migrations that ran. */
  apply(): Promise<string[]>;
  close(): Promise<void>;
}

/** `suffix`: the end of the migration's directory name, e.g. `_unique_session_phone`. */
export async function beforeMigration(suffix: string): Promise<MigrationStep> {
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const name = names.find((n) => n.endsWith(suffix));
  if (!name) throw new Error(`no migration ends with ${suffix}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'wg-migration-step-'));
  const test = await createTestDatabase({ empty: true });
  const db = await openDatabase({ databaseUrl: test.url, dataDir: 'memory://' });
  const close = async () => {
    await db.close();
    await test.drop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const earlier of names.filter((n) => n < name)) await cp(path.join(MIGRATIONS_DIR, earlier), path.join(dir, earlier), { recursive: true });
    await cp(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), path.join(dir, 'migration_lock.toml'));
    await db.withMigrationAdapter((f) => deployMigrations(f, dir));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    db,
    name,
    async apply() {
      await cp(path.join(MIGRATIONS_DIR, name), path.join(dir, name), { recursive: true });
      return db.withMigrationAdapter((f) => deployMigrations(f, dir));
    },
    close,
  };
}
