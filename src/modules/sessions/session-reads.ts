/**
 * The `sessions` connection's page in plain SQL, straight through the driver: through Prisma its
 * query planning and per-value handling cost 0.6–1 ms of the inbox's first screen, several times
 * the statement. A page reads only the columns its request selects (handing each value over from
 * PGlite costs more than finding it). The order, the cursor's position and the empty page after a
 * cursor that is no session are Prisma's cursor pagination's.
 */
import type { Instant } from '../../lib/iso-instant.ts';
import { rowObjects, type PlainSql } from '../../lib/plain-sql.ts';
import type { WhatsAppSession } from '../../generated/prisma/client.ts';
import type { SessionStatus } from '../../generated/prisma/enums.ts';

export type SessionColumn = keyof WhatsAppSession;
type TimestampColumn = { [K in SessionColumn]: WhatsAppSession[K] extends Date | null ? K : never }[SessionColumn];
/** A session as the page reads it: its timestamps as the API prints them (plain-sql.ts). */
export type SessionRow = Omit<WhatsAppSession, TimestampColumn> & { [K in TimestampColumn]: Instant | Extract<WhatsAppSession[K], null> };

export interface SessionPageQuery {
  /** Rows to read: positive reads forward from the cursor, negative backward (a connection's `take`). */
  take: number;
  /** The session the page starts after (forward) or ends before (backward); null from the start or end. */
  cursor: string | null;
  /** The sessions the viewer may see; null: every session. */
  visible: readonly string[] | null;
  status: SessionStatus | null;
  /** The columns to read beside the id. */
  columns: readonly SessionColumn[];
}

export interface SessionReads {
  /** A page of sessions, oldest first (a backward page too). */
  sessionPage(page: SessionPageQuery): Promise<SessionRow[]>;
}

export function createSessionReads({ sql }: { sql: PlainSql }): SessionReads {
  return { sessionPage: (page) => sessionPage(sql, page) };
}

/**
 * The page's statement, its values pushed onto `values` (a statement of its own, or a part of a
 * larger one): its rows in the order read, nearest the cursor first for a backward page.
 */
export function sessionPageSql(page: SessionPageQuery, values: unknown[]): string {
  const backward = page.take < 0;
  const conditions: string[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  const limit = param(Math.abs(page.take));
  if (page.visible !== null) conditions.push(`s.id = ANY(${param(page.visible)}::uuid[])`);
  if (page.status !== null) conditions.push(`s.status = ${param(page.status)}::"SessionStatus"`);
  // Compared with the cursor row's id, as Prisma does: no such session, no rows.
  if (page.cursor !== null) conditions.push(`s.id ${backward ? '<' : '>'} (SELECT id FROM whatsapp_sessions WHERE id = ${param(page.cursor)}::uuid)`);
  return `SELECT ${sessionColumns(page).map((c) => `s."${c}"`).join(', ')} FROM whatsapp_sessions s${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''}
      ORDER BY s.id ${backward ? 'DESC' : 'ASC'} LIMIT ${limit}`;
}

/** The columns a page reads: its id and those asked for. */
export function sessionColumns(page: SessionPageQuery): SessionColumn[] {
  return [...new Set<SessionColumn>(['id', ...page.columns])];
}

async function sessionPage(sql: PlainSql, page: SessionPageQuery): Promise<SessionRow[]> {
  const values: unknown[] = [];
  const rows = rowObjects<SessionRow>(await sql.read(sessionPageSql(page, values), values));
  // A backward page is read nearest the cursor first; a connection lists it oldest first.
  return page.take < 0 ? rows.reverse() : rows;
}
