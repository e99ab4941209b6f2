import type { Prisma } from '../../lib/database.ts';
import { safeEqual, sha256Hex } from '../../lib/crypto.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Viewer } from './viewer.ts';

export interface AuthService {
  /** The viewer for a bearer token, or null when the token is unknown, revoked or expired. */
  authenticate(token: string | null): Promise<Viewer | null>;
  /** The viewer an API token stands for, by its id, while it is neither revoked nor expired. */
  viewerOfToken(tokenId: string): Promise<Viewer | null>;
}

function viewerOf(row: { id: string; role: Viewer['role']; sessionIds: string[] }): Viewer {
  return { tokenId: row.id, role: row.role, sessionIds: row.sessionIds.length ? row.sessionIds : null };
}

export function createAuthService(deps: { prisma: Prisma; adminToken: string | null; clock: Clock }): AuthService {
  const { prisma, adminToken, clock } = deps;
  return {
    async authenticate(token) {
      if (!token) return null;
      if (adminToken && safeEqual(token, adminToken)) return { tokenId: null, role: 'ADMIN', sessionIds: null };
      const hash = sha256Hex(token);
      const now = new Date(clock.now());
      const row = await prisma.apiToken.findFirst({
        where: {
          revokedAt: null,
          AND: [
            { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
            { OR: [{ tokenHash: hash }, { previousTokenHash: hash, previousTokenValidUntil: { gt: now } }] },
          ],
        },
        select: { id: true, role: true, sessionIds: true },
      });
      return row && viewerOf(row);
    },
    async viewerOfToken(tokenId) {
      const now = new Date(clock.now());
      const row = await prisma.apiToken.findFirst({
        where: { id: tokenId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
        select: { id: true, role: true, sessionIds: true },
      });
      return row && viewerOf(row);
    },
  };
}
