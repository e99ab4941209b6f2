/** Every row of every table of ours, each row cast to text (tables found in the catalog, so new ones are covered). */
import { expect } from 'vitest';
import type { Prisma } from '../../src/lib/database.ts';

export async function dumpDatabase(prisma: Prisma): Promise<string> {
  const tables = await prisma.$queryRawUnsafe<{ name: string }[]>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  expect(tables.map((t) => t.name)).toContain('public.webhook_events');
  let dump = '';
  for (const { name } of tables) {
    const [row] = await prisma.$queryRawUnsafe<{ dump: string | null }[]>(`SELECT string_agg(t::text, E'\\n') AS dump FROM ${name} t`);
    dump += `\n-- ${name}\n${row?.dump ?? ''}`;
  }
  return dump;
}
