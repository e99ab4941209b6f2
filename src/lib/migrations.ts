/**
 * Prisma migrations without Prisma's native engine: the schema engine's WebAssembly build, driven
 * through a driver adapter. Writes `_prisma_migrations` exactly as `prisma migrate deploy` does, so
 * a machine that has the native engine can take over the same database.
 */
import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import { pgliteAdapterFactory } from './database.ts';

const require = createRequire(import.meta.url);
const NO_FILTERS = { externalTables: [], externalEnums: [] };
const LOCKFILE = 'migration_lock.toml';

let engineModule: Promise<typeof import('@prisma/schema-engine-wasm/schema_engine_bg')> | undefined;

/** Node 20 cannot `import` a .wasm file, so the wasm-bindgen glue is wired by hand, once. */
function loadEngineModule() {
  engineModule ??= (async () => {
    const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown };
    g.PRISMA_WASM_PANIC_REGISTRY ??= { set_message: (message: string) => { lastPanic = message; } };
    const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')), 'schema_engine_bg.wasm');
    const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), { './schema_engine_bg.js': bg as never });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
    return bg;
  })();
  return engineModule;
}
let lastPanic: string | undefined;

async function withEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  datamodel: [string, string] | undefined,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const bg = await loadEngineModule();
  const engine = await bg.SchemaEngine.new(
    { datamodels: datamodel ? [datamodel] : undefined },
    () => {},
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  try {
    return await fn(engine);
  } catch (error) {
    throw toMigrationError(error);
  } finally {
    engine.free();
  }
}

export class MigrationError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

function toMigrationError(error: unknown): Error {
  if (error instanceof Error) return error;
  const e = error as { message?: string; error_code?: string; meta?: unknown } | undefined;
  return new MigrationError(e?.message ?? lastPanic ?? String(error), e?.error_code);
}

export async function loadMigrations(migrationsDir: string): Promise<MigrationList> {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const migrationDirectories = await Promise.all(
    dirs.map(async (dir) => ({
      path: dir,
      migrationFile: {
        path: 'migration.sql',
        content: await readFile(path.join(migrationsDir, dir, 'migration.sql'), 'utf8').then(
          (value) => ({ tag: 'ok' as const, value }),
          (err: Error) => ({ tag: 'error' as const, value: err.message }),
        ),
      },
    })),
  );
  const lockContent = await readFile(path.join(migrationsDir, LOCKFILE), 'utf8').catch(() => null);
  return {
    baseDir: migrationsDir,
    lockfile: { path: LOCKFILE, content: lockContent },
    migrationDirectories,
    shadowDbInitScript: '',
  };
}

/** Applies pending migrations; returns the names applied. A failed one is recorded unfinished (P3009 next time). */
export async function deployMigrations(factory: SqlMigrationAwareDriverAdapterFactory, migrationsDir: string) {
  const migrationsList = await loadMigrations(migrationsDir);
  return withEngine(factory, undefined, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList, filters: NO_FILTERS });
    return out.appliedMigrationNames;
  });
}

export async function migrationStatus(factory: SqlMigrationAwareDriverAdapterFactory, migrationsDir: string) {
  const migrationsList = await loadMigrations(migrationsDir);
  return withEngine(factory, undefined, (engine) =>
    engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters: NO_FILTERS }),
  );
}

/**
 * Writes a new migration with the SQL that takes the existing migrations to `schema.prisma`.
 * The diff replays the migrations into a throwaway in-memory PGlite (its own shadow database), so no
 * server is needed. Returns the new directory, or null when the schema has not changed.
 */
export async function createMigration(opts: { migrationsDir: string; schemaPath: string; name: string; now?: Date }) {
  const name = opts.name.trim().toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (!name) throw new MigrationError('A migration needs a name: npm run migrate:create -- <name>');
  const schema = await readFile(opts.schemaPath, 'utf8');
  const migrationsList = await loadMigrations(opts.migrationsDir);
  const scratch = new PGlite();
  try {
    const result = await withEngine(pgliteAdapterFactory(scratch), [opts.schemaPath, schema], (engine) =>
      engine.diff({
        from: migrationsList.migrationDirectories.length
          ? { tag: 'migrations', ...migrationsList }
          : { tag: 'empty' },
        to: { tag: 'schemaDatamodel', files: [{ path: opts.schemaPath, content: schema }] },
        script: true,
        exitCode: true,
        filters: NO_FILTERS,
      }),
    );
    if (result.exitCode !== 2 || !result.stdout?.trim()) return null;
    const stamp = (opts.now ?? new Date()).toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const dir = path.join(opts.migrationsDir, `${stamp}_${name}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'migration.sql'), result.stdout);
    await writeFile(
      path.join(opts.migrationsDir, LOCKFILE),
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
    return dir;
  } finally {
    await scratch.close();
  }
}
