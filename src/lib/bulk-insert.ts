/**
 * Many rows in one INSERT with all of them in one JSON parameter (`jsonb_to_recordset`), skipping
 * rows that hit a unique constraint. Prisma's createMany builds arguments per row and value; this
 * statement's cost barely grows with the batch, which is what the webhook and inbox hot paths need.
 * One JSON text rather than an array parameter per column: the driver escaped every element of an
 * array (a jsonb payload character by character), a visible part of a webhook's CPU.
 */
import { uuidv7 } from './uuid.ts';
import { SQL_UTC_NOW } from './database.ts';
import type { RawExecutor } from './plain-sql.ts';

/**
 * A column filled per row: its PostgreSQL type, and optionally the type it is cast to on insert
 * (enums). A `jsonb` column's value is JSON text as JSON.stringify writes it (it is placed in the
 * statement's JSON as it is), or null.
 */
export interface BulkColumn<Row> {
  type: 'uuid' | 'text' | 'boolean' | 'jsonb' | 'timestamp(3)';
  castTo?: string;
  value: (row: Row) => unknown;
}

/** One row as a JSON object: `id`, then `c0`, `c1`… in the columns' order. */
function rowJson<Row>(row: Row, columns: [string, BulkColumn<Row>][]): string {
  let json = `{"id":"${uuidv7()}"`;
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]![1];
    const value = column.value(row);
    json += `,"c${i}":${value === null || value === undefined ? 'null' : column.type === 'jsonb' ? (value as string) : JSON.stringify(value)}`;
  }
  return `${json}}`;
}


export interface BulkInsert<Row> {
  table: string;
  rows: readonly Row[];
  columns: Record<string, BulkColumn<Row>>;
  /** The same value for every row (e.g. the session), passed once. */
  shared?: Record<string, { type: 'uuid' | 'text'; value: unknown }>;
  /** Columns of the unique constraint whose conflicts are skipped. */
  conflictOn: string[];
  returning?: string[];
  /** Whether the table has Prisma's `updatedAt` column (set to now); default true. */
  updatedAt?: boolean;
}

/**
 * The INSERT statement alone, its parameters appended to `params`: for a caller that runs it as a
 * part (a CTE) of a larger statement, saving a round trip. No rows make an INSERT of nothing.
 */
export function bulkInsertSql<Row>(opts: BulkInsert<Row>, params: unknown[]): string {
  const quote = (name: string) => `"${name}"`;
  const perRow = Object.entries(opts.columns);
  const shared = Object.entries(opts.shared ?? {});
  const param = (value: unknown, type: string) => `$${params.push(value)}::${type}`;

  const rows = param(`[${opts.rows.map((row) => rowJson(row, perRow)).join(',')}]`, 'jsonb');
  const columns = ['id uuid', ...perRow.map(([, c], i) => `c${i} ${c.type}`)];
  const sharedValues = shared.map(([, s]) => param(s.value, s.type));
  const stamped = opts.updatedAt ?? true;
  const names = ['id', ...perRow.map(([name]) => name), ...shared.map(([name]) => name), ...(stamped ? ['updatedAt'] : [])];
  const selected = [
    'u.id',
    ...perRow.map(([, c], i) => (c.castTo ? `u.c${i}::${c.castTo}` : `u.c${i}`)),
    ...sharedValues,
    ...(stamped ? [SQL_UTC_NOW] : []),
  ];
  return `INSERT INTO ${opts.table} (${names.map(quote).join(', ')})
    SELECT ${selected.join(', ')} FROM jsonb_to_recordset(${rows}) AS u(${columns.join(', ')})
    ON CONFLICT (${opts.conflictOn.map(quote).join(', ')}) DO NOTHING
    ${opts.returning ? `RETURNING ${opts.returning.map(quote).join(', ')}` : ''}`;
}

export async function bulkInsert<Row, Returned = never>(db: Pick<RawExecutor, '$queryRawUnsafe'>, opts: BulkInsert<Row>): Promise<Returned[]> {
  if (opts.rows.length === 0) return [];
  const params: unknown[] = [];
  const sql = bulkInsertSql(opts, params);
  return db.$queryRawUnsafe<Returned[]>(sql, ...params);
}
