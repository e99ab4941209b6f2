/** Who is calling: resolved once per request or WebSocket connection from the bearer token. */
export type Role = 'ADMIN' | 'AGENT' | 'VIEWER';

export interface Viewer {
  /** The API token's id; null for the ADMIN_TOKEN from the environment. */
  tokenId: string | null;
  role: Role;
  /** Sessions this viewer may see; null means every session. */
  sessionIds: readonly string[] | null;
}

export function canSeeSession(viewer: Viewer, sessionId: string): boolean {
  return viewer.sessionIds === null || viewer.sessionIds.includes(sessionId);
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
