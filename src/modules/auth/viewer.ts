/**
 * Who is calling, and what they may do. Resolved once per request or WebSocket connection from the
 * bearer token; the schema declares the same rules with scope-auth, and services assert them again
 * on writes (`assertCanSee`, `assertCanAct`, `assertAdmin`).
 */
import { ForbiddenError, NotFoundError } from '../../lib/errors.ts';

export type Role = 'ADMIN' | 'AGENT' | 'VIEWER';

export interface Viewer {
  /** The API token's id; null for the ADMIN_TOKEN from the environment. */
  tokenId: string | null;
  role: Role;
  /** Sessions this viewer may see; null means every session. */
  sessionIds: readonly string[] | null;
  /**
   * When the credential stops being valid by itself (the token's expiry, or the end of the overlap
   * for a rotated-out value), in epoch ms; null or absent: not by itself.
   */
  validUntil?: number | null;
}

export function canSeeSession(viewer: Viewer, sessionId: string): boolean {
  return viewer.sessionIds === null || viewer.sessionIds.includes(sessionId);
}

/** Acting on a session's inbox (sending, marking read): ADMIN and AGENT, within their sessions. */
export function canActOnSession(viewer: Viewer, sessionId: string): boolean {
  return viewer.role !== 'VIEWER' && canSeeSession(viewer, sessionId);
}

/** NOT_FOUND for a session outside the viewer's scope: its existence is not revealed. */
export function assertCanSee(viewer: Viewer, sessionId: string, what = 'Session'): void {
  if (!canSeeSession(viewer, sessionId)) throw new NotFoundError(what);
}

/** NOT_FOUND outside the scope; FORBIDDEN for a read-only viewer. */
export function assertCanAct(viewer: Viewer, sessionId: string, what = 'Session'): void {
  assertCanSee(viewer, sessionId, what);
  if (viewer.role === 'VIEWER') throw new ForbiddenError('This token is read-only');
}

/** Provider settings, session set-up, tokens: admins only. */
export function assertAdmin(viewer: Viewer): void {
  if (viewer.role !== 'ADMIN') throw new ForbiddenError('Only an admin token may do this');
}

/** Prisma `where` for the sessions a viewer may see (by session id column `field`). */
export function visibleSessionIds(viewer: Viewer | null): { in: string[] } | undefined {
  if (!viewer) return { in: [] };
  return viewer.sessionIds ? { in: [...viewer.sessionIds] } : undefined;
}

/** A stable key for the viewer's access, so identical subscriptions can share work. */
export function accessKey(viewer: Viewer): string {
  return `${viewer.role}:${viewer.sessionIds === null ? '*' : [...viewer.sessionIds].sort().join(',')}`;
}

export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}
