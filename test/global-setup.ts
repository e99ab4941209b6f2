/**
 * Once per run, a database with every migration applied, which each test database starts as
 * (replaying the migrations for each of hundreds of test apps took most of their start): on
 * PostgreSQL a template database, embedded a dumped data directory. The apps still migrate at
 * start and find nothing to do; the start from nothing is proved by test/foundation/migrations
 * and first-run, which do not use it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { MIGRATIONS_DIR } from '../src/app.ts';
import { openDatabase, pgliteAdapterFactory } from '../src/lib/database.ts';
import { deployMigrations } from '../src/lib/migrations.ts';
import { withDatabase } from './helpers/database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** PostgreSQL: the migrated database new test databases are copied from. */
    migratedTemplateDatabase: string | null;
    /** Embedded: a tarball of a migrated PGlite data directory. */
    migratedDataDirFile: string | null;
  }
}

export default async function setup(project: TestProject) {
  const base = process.env.DATABASE_URL;
  if (base) {
    const name = `wg_template_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: withDatabase(base, 'postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
      const db = await openDatabase({ databaseUrl: withDatabase(base, name) });
      try {
        await db.withMigrationAdapter((f) => deployMigrations(f, MIGRATIONS_DIR));
      } finally {
        await db.close();
      }
    } catch (error) {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
      throw error;
    }
    project.provide('migratedTemplateDatabase', name);
    project.provide('migratedDataDirFile', null);
    return async () => {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    };
  }

  const dir = await mkdtemp(path.join(tmpdir(), 'wg-migrated-'));
  const file = path.join(dir, 'pgdata.tar');
  const db = new PGlite();
  try {
    await deployMigrations(pgliteAdapterFactory(db), MIGRATIONS_DIR);
    // Uncompressed: each test app loads it, and unpacking costs more than reading.
    await writeFile(file, Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()));
  } finally {
    await db.close();
  }
  project.provide('migratedTemplateDatabase', null);
  project.provide('migratedDataDirFile', file);
  return () => rm(dir, { recursive: true, force: true });
}
