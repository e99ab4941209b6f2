/**
 * Reads on the embedded database returned as one JSON text of all their rows, parsed natively. PGlite
 * hands every value of a result over through its protocol reader in JavaScript, which costs more
 * than running the statement (the inbox's page of 100 chats with their last messages: about half
 * its CPU); one text value and `JSON.parse` cost about half as much. A statement is described once
 * (its columns and their types) and packed only when JSON gives each column as a row of the plain
 * read would: text, uuid, enums, booleans, int2/int4, json/jsonb as they are, int8 and `timestamp`
 * through the given parsers. Any other column type is read as usual. A packed statement runs
 * prepared (pglite-prepared.ts): planned once, not on every call.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { PlainRows } from './plain-sql.ts';
import type { PglitePrepared } from './pglite-prepared.ts';

const BOOL = 16;
const INT8 = 20;
const INT2 = 21;
const INT4 = 23;
const TEXT = 25;
const JSON_OID = 114;
const VARCHAR = 1043;
const TIMESTAMP = 1114;
const UUID = 2950;
const JSONB = 3802;
/** Types whose JSON is the value a plain read gives. */
const AS_IS = new Set([BOOL, INT2, INT4, TEXT, JSON_OID, VARCHAR, UUID, JSONB]);
/** Types read from their text in JSON by the caller's parser (int8 as text: JSON numbers lose precision). */
const PARSED = new Set([INT8, TIMESTAMP]);
/** json_build_array takes at most 100 arguments. */
const MAX_COLUMNS = 100;
/** The packed statement answers one text column: nothing to parse. */
const NO_PARSERS = { parsers: {} };
/** Statements described and remembered; any further one is read as usual. */
const MAX_STATEMENTS = 64;

interface Packing {
  sql: string;
  names: string[];
  /** Per column: its parser, or undefined when its JSON value is the value. */
  parsers: (((text: string) => unknown) | undefined)[];
}

export function packedReads(db: PGlite, prepared: PglitePrepared, parsers: Record<number, (text: string) => unknown>) {
  const packings = new Map<string, Packing | null>();
  const enums = new Set<number>();

  async function packingOf(sql: string): Promise<Packing | null> {
    const known = packings.get(sql);
    if (known !== undefined || packings.size >= MAX_STATEMENTS) return known ?? null;
    const { resultFields } = await db.describeQuery(sql);
    const unknownTypes = resultFields.map((f) => f.dataTypeID).filter((t) => !AS_IS.has(t) && !PARSED.has(t) && !enums.has(t));
    if (unknownTypes.length) {
      const found = await db.query<{ oid: number }>(`SELECT oid::int FROM pg_type WHERE oid = ANY($1::oid[]) AND typtype = 'e'`, [unknownTypes]);
      for (const { oid } of found.rows) enums.add(oid);
    }
    const packable = resultFields.length <= MAX_COLUMNS && resultFields.every((f) => AS_IS.has(f.dataTypeID) || PARSED.has(f.dataTypeID) || enums.has(f.dataTypeID));
    const packing: Packing | null = packable
      ? {
          // The rows keep the statement's order: they are aggregated as its ORDER BY returns them.
          sql: `SELECT coalesce(json_agg(json_build_array(${resultFields
            .map((f) => `q.${quoted(f.name)}${f.dataTypeID === INT8 ? '::text' : ''}`)
            .join(', ')})), '[]')::text AS rows FROM (${sql}) q`,
          names: resultFields.map((f) => f.name),
          parsers: resultFields.map((f) => (PARSED.has(f.dataTypeID) ? parsers[f.dataTypeID] : undefined)),
        }
      : null;
    packings.set(sql, packing);
    return packing;
  }

  /** The rows of `sql` as arrays (PlainRows), packed when its columns allow; null when it must be read as usual. */
  return async function read(sql: string, values: unknown[]): Promise<PlainRows | null> {
    const packing = await packingOf(sql);
    if (!packing) return null;
    const packed = prepared.run<{ rows: string }>(packing.sql, values, NO_PARSERS, false) ?? db.query<{ rows: string }>(packing.sql, values);
    const rows = JSON.parse((await packed).rows[0]!.rows) as unknown[][];
    const { parsers: columnParsers } = packing;
    for (let i = 0; i < columnParsers.length; i++) {
      const parse = columnParsers[i];
      if (!parse) continue;
      for (const row of rows) if (row[i] !== null) row[i] = parse(row[i] as string);
    }
    return { columns: packing.names, rows };
  };
}

function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
