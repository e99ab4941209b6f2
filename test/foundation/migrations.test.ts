import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/app.ts';
import { openDatabase, type Database } from '../../src/lib/database.ts';
import { createMigration, deployMigrations } from '../../src/lib/migrations.ts';
import { createTestDatabase, embeddedStart, type TestDatabase } from '../helpers/database.ts';

const SCHEMA = path.resolve(import.meta.dirname, '../../prisma/schema.prisma');
const opened: { db: Database; test: TestDatabase }[] = [];

/**
 * A new database: empty, or with every migration of MIGRATIONS_DIR already applied (as a deployment
 * is before its next release; replaying them all is proved once, by the first test).
 */
async function freshDatabase(opts: { migrated?: boolean } = {}) {
  const test = await createTestDatabase({ empty: !opts.migrated });
  const db = await openDatabase({ databaseUrl: test.url, dataDir: 'memory://', ...(opts.migrated && !test.url ? { embeddedStart: await embeddedStart() } : {}) });
  opened.push({ db, test });
  return db;
}

async function copyOfMigrations() {
  const dir = await mkdtemp(path.join(tmpdir(), 'wg-migrations-'));
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

type MigrationRow = { migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number };

function rows(db: Database) {
  return db.prisma.$queryRawUnsafe<MigrationRow[]>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
  );
}

afterEach(async () => {
  for (const { db, test } of opened.splice(0)) {
    await db.close();
    await test.drop();
  }
});

describe('migrations', () => {
  it('applies every migration once and records it as prisma migrate deploy does', async () => {
    const db = await freshDatabase();
    const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(await db.withMigrationAdapter((f) => deployMigrations(f, MIGRATIONS_DIR))).toEqual(names);

    const recorded = await rows(db);
    expect(recorded.map((r) => r.migration_name)).toEqual(names);
    for (const row of recorded) {
      const sql = await readFile(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).not.toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    // Running again changes nothing.
    expect(await db.withMigrationAdapter((f) => deployMigrations(f, MIGRATIONS_DIR))).toEqual([]);
    expect(await rows(db)).toEqual(recorded);
   }, 120_000); // every migration, one by one

  it('does not record a failing migration as applied, and leaves none of it behind', async () => {
    const db = await freshDatabase({ migrated: true });
    const dir = await copyOfMigrations();
    await mkdir(path.join(dir, '29990101000000_broken'));
    await writeFile(
      path.join(dir, '29990101000000_broken/migration.sql'),
      "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1); -- a ';' in a comment\nSELECT * FROM no_such_table;\n",
    );
    await expect(db.withMigrationAdapter((f) => deployMigrations(f, dir))).rejects.toThrow(/no_such_table/);
    const broken = (await rows(db)).find((r) => r.migration_name === '29990101000000_broken');
    expect(broken?.finished_at).toBeNull();
    const leftovers = await db.prisma.$queryRawUnsafe<unknown[]>("SELECT 1 FROM pg_tables WHERE tablename = 'half_done'");
    expect(leftovers).toEqual([]);
    // The next deploy refuses to go on past a failed migration (Prisma's P3009).
    await expect(db.withMigrationAdapter((f) => deployMigrations(f, dir))).rejects.toThrow(/failed migrations|P3009/i);
  });

  // Replays every migration twice (the shadow database, the diff): grows with their number.
  it('writes a new migration offline after a schema change, which then deploys', { timeout: 120_000 }, async () => {
    const dir = await copyOfMigrations();
    const schemaPath = path.join(dir, 'schema.prisma');
    const schema = await readFile(SCHEMA, 'utf8');
    expect(await createMigration({ migrationsDir: dir, schemaPath: SCHEMA, name: 'nothing' })).toBeNull();

    await writeFile(schemaPath, schema.replace('  imgUrl       String?\n', '  imgUrl       String?\n  nickname     String?\n'));
    const created = await createMigration({ migrationsDir: dir, schemaPath, name: 'Contact nickname', now: new Date('2099-01-02T03:04:05Z') });
    expect(created).toBe(path.join(dir, '20990102030405_contact_nickname'));
    const sql = await readFile(path.join(created!, 'migration.sql'), 'utf8');
    expect(sql).toMatch(/ALTER TABLE "contacts" ADD COLUMN\s+"nickname" TEXT/);

    const db = await freshDatabase({ migrated: true });
    const applied = await db.withMigrationAdapter((f) => deployMigrations(f, dir));
    expect(applied).toEqual(['20990102030405_contact_nickname']);
    await db.prisma.$executeRawUnsafe(`SELECT "nickname" FROM contacts LIMIT 1`);
  });
});
