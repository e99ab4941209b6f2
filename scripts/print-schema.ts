/** Prints the sorted SDL to schema.graphql; with --check, fails when the committed file differs. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { buildSchema } from '../src/graphql/schema.ts';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema.graphql');
const sdl = printSchema(buildSchema()) + '\n';

if (process.argv.includes('--check')) {
  const committed = await readFile(file, 'utf8').catch(() => '');
  if (committed !== sdl) {
    console.error('schema.graphql is out of date: run `npm run schema` and commit the result.');
    process.exit(1);
  }
  console.log('schema.graphql is up to date.');
} else {
  await writeFile(file, sdl);
  console.log(`Wrote ${path.relative(process.cwd(), file)}`);
}
