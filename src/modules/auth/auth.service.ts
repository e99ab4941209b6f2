/**
 * API tokens: minted, rotated with an overlap and revoked here; stored as keyed hashes only.
 * Authenticated tokens are cached for a short while in each process, and every process drops a
 * token from its cache (and re-checks the sockets it opened) when it is revoked or rotated.
 */
import { z } from 'zod';
import type { ApiToken } from '../../generated/prisma/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { randomToken, safeEqual, sha256Hex, type SecretBox } from '../../lib/crypto.ts';
import type { Prisma } from '../../lib/database.ts';
import { badInputFromIssues, BadUserInputError, InvalidStateError, NotFoundError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { followEvents, type AppPubSub } from '../../lib/pubsub.ts';
import { assertAdmin, type Role, type Viewer } from './viewer.ts';

/** How long an authenticated token is trusted without asking the database (revocation drops it at once). */
const CACHE_MS = 30_000;
/** lastUsedAt is written at most this often per token and process: not one write per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 86_400;
const MAX_ROTATION_OVERLAP_SECONDS = 30 * 86_400;
const TOKEN_PREFIX = 'wgt_';

const CreateTokenInput = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  role: z.enum(['ADMIN', 'AGENT', 'VIEWER']),
  sessionIds: z.array(z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'names a session that does not exist')).min(1, 'must name at least one session; omit it for every session').max(1000).nullish(),
  expiresAt: z.date().nullish(),
});

export interface MintedToken {
  /** The plain token: shown this once, never stored. */
  token: string;
  apiToken: ApiToken;
}

export interface AuthService {
  /** The viewer for a bearer token, or null when the token is unknown, revoked or expired. */
  authenticate(token: string | null): Promise<Viewer | null>;
  createToken(actor: Viewer, input: { name: string; role: Role; sessionIds?: string[] | null; expiresAt?: Date | null }): Promise<MintedToken>;
  /** A new value; the old one stays valid for `overlapSeconds` (default a day), then ends. */
  rotateToken(actor: Viewer, id: string, overlapSeconds?: number | null): Promise<MintedToken>;
  /** Ends the token at once, in every process. */
  revokeToken(actor: Viewer, id: string): Promise<ApiToken>;
  /** The viewer an API token stands for, by its id, while it is neither revoked nor expired. */
  viewerOfToken(tokenId: string): Promise<Viewer | null>;
  /** Runs `listener` with the id of each token revoked or rotated (in any process); null: any may have been. */
  onTokenChanged(listener: (tokenId: string | null) => void): () => void;
  close(): Promise<void>;
}

interface CachedViewer {
  viewer: Viewer;
  cachedUntil: number;
}

export function createAuthService(deps: { prisma: Prisma; adminToken: string | null; clock: Clock; secrets: SecretBox; pubsub: AppPubSub; logger: Logger }): AuthService {
  const { prisma, adminToken, clock, secrets, pubsub, logger } = deps;
  const hashOf = (token: string) => secrets.keyedHash(`api-token:${token}`);
  const cache = new Map<string, CachedViewer>();
  const lastUsedWritten = new Map<string, number>();
  const listeners = new Set<(tokenId: string | null) => void>();

  function dropCached(tokenId: string | null) {
    for (const [hash, entry] of cache) if (tokenId === null || entry.viewer.tokenId === tokenId) cache.delete(hash);
    for (const listener of listeners) listener(tokenId);
  }
  const stopFollowing = followEvents(pubsub, ['apiTokenChanged'], (event) => dropCached(event.tokenId), () => dropCached(null));

  function touch(tokenId: string, now: number) {
    const last = lastUsedWritten.get(tokenId);
    if (last !== undefined && now - last < LAST_USED_RESOLUTION_MS) return;
    lastUsedWritten.set(tokenId, now);
    // Other processes write it too: only when it is older than the resolution.
    void prisma.apiToken
      .updateMany({
        where: { id: tokenId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now - LAST_USED_RESOLUTION_MS) } }] },
        data: { lastUsedAt: new Date(now) },
      })
      .catch((error: unknown) => logger.warn({ tokenId, err: error }, 'could not record token use'));
  }

  async function lookUp(token: string, hash: string, now: number): Promise<Viewer | null> {
    // Tokens stored before keyed hashing carry a plain sha256: found by it once, then re-hashed.
    const legacy = sha256Hex(token);
    const row = await prisma.apiToken.findFirst({
      where: { OR: [{ tokenHash: { in: [hash, legacy] } }, { previousTokenHash: { in: [hash, legacy] } }] },
      select: { id: true, role: true, sessionIds: true, tokenHash: true, previousTokenHash: true, previousTokenValidUntil: true, expiresAt: true, revokedAt: true },
    });
    if (!row || row.revokedAt) return null;
    const current = row.tokenHash === hash || row.tokenHash === legacy;
    if (!current && !(row.previousTokenValidUntil && row.previousTokenValidUntil.getTime() > now)) return null;
    if (row.expiresAt && row.expiresAt.getTime() <= now) return null;
    if (row.tokenHash === legacy) await prisma.apiToken.updateMany({ where: { id: row.id, tokenHash: legacy }, data: { tokenHash: hash } });
    if (row.previousTokenHash === legacy) await prisma.apiToken.updateMany({ where: { id: row.id, previousTokenHash: legacy }, data: { previousTokenHash: hash } });
    const ends = [row.expiresAt?.getTime(), current ? undefined : row.previousTokenValidUntil!.getTime()].filter((t): t is number => t !== undefined);
    return { tokenId: row.id, role: row.role, sessionIds: row.sessionIds.length ? row.sessionIds : null, validUntil: ends.length ? Math.min(...ends) : null };
  }

  function mint(): { token: string; hash: string; hint: string } {
    const token = TOKEN_PREFIX + randomToken(32);
    return { token, hash: hashOf(token), hint: token.slice(-4) };
  }

  async function load(id: string): Promise<ApiToken> {
    const row = await prisma.apiToken.findUnique({ where: { id } });
    if (!row) throw new NotFoundError('API token');
    return row;
  }

  function changed(tokenId: string) {
    pubsub.publish('apiTokenChanged', { tokenId });
  }

  return {
    async authenticate(token) {
      if (!token) return null;
      if (adminToken && safeEqual(token, adminToken)) return { tokenId: null, role: 'ADMIN', sessionIds: null, validUntil: null };
      const now = clock.now();
      const hash = hashOf(token);
      const cached = cache.get(hash);
      let viewer: Viewer | null;
      if (cached && cached.cachedUntil > now && (cached.viewer.validUntil ?? Infinity) > now) {
        viewer = cached.viewer;
      } else {
        cache.delete(hash);
        viewer = await lookUp(token, hash, now);
        if (viewer) cache.set(hash, { viewer, cachedUntil: now + CACHE_MS });
      }
      if (viewer?.tokenId) touch(viewer.tokenId, now);
      return viewer;
    },

    async createToken(actor, raw) {
      assertAdmin(actor);
      const parsed = CreateTokenInput.safeParse(raw);
      if (!parsed.success) throw badInputFromIssues(parsed.error.issues);
      const input = parsed.data;
      const sessionIds = [...new Set(input.sessionIds ?? [])];
      if (input.role === 'ADMIN' && sessionIds.length) throw new BadUserInputError({ sessionIds: 'an ADMIN token covers every session: omit sessionIds' });
      if (input.expiresAt && input.expiresAt.getTime() <= clock.now()) throw new BadUserInputError({ expiresAt: 'must be in the future' });
      if (sessionIds.length) {
        const found = await prisma.whatsAppSession.count({ where: { id: { in: sessionIds } } });
        if (found !== sessionIds.length) throw new BadUserInputError({ sessionIds: 'names a session that does not exist' });
      }
      const { token, hash, hint } = mint();
      const apiToken = await prisma.apiToken.create({
        data: { name: input.name, role: input.role, sessionIds, expiresAt: input.expiresAt ?? null, tokenHash: hash, tokenHint: hint },
      });
      logger.info({ tokenId: apiToken.id, role: apiToken.role, sessions: sessionIds.length || 'all', by: actor.tokenId ?? 'ADMIN_TOKEN' }, 'API token created');
      return { token, apiToken };
    },

    async rotateToken(actor, id, overlapSeconds) {
      assertAdmin(actor);
      const overlap = overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS;
      if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_ROTATION_OVERLAP_SECONDS) {
        throw new BadUserInputError({ overlapSeconds: `must be a whole number of seconds from 0 to ${MAX_ROTATION_OVERLAP_SECONDS}` });
      }
      const before = await load(id);
      if (before.revokedAt) throw new InvalidStateError('The token is revoked: create a new one');
      const { token, hash, hint } = mint();
      const now = clock.now();
      // Over the value read, so two rotations at once cannot both keep "their" old value.
      const { count } = await prisma.apiToken.updateMany({
        where: { id, tokenHash: before.tokenHash, revokedAt: null },
        data: {
          tokenHash: hash,
          tokenHint: hint,
          previousTokenHash: overlap > 0 ? before.tokenHash : null,
          previousTokenValidUntil: overlap > 0 ? new Date(now + overlap * 1000) : null,
        },
      });
      if (count !== 1) throw new InvalidStateError('The token changed meanwhile (rotated or revoked): read it again');
      changed(id);
      logger.info({ tokenId: id, overlapSeconds: overlap, by: actor.tokenId ?? 'ADMIN_TOKEN' }, 'API token rotated');
      return { token, apiToken: await load(id) };
    },

    async revokeToken(actor, id) {
      assertAdmin(actor);
      await load(id);
      await prisma.apiToken.updateMany({
        where: { id, revokedAt: null },
        data: { revokedAt: new Date(clock.now()), previousTokenHash: null, previousTokenValidUntil: null },
      });
      changed(id);
      logger.info({ tokenId: id, by: actor.tokenId ?? 'ADMIN_TOKEN' }, 'API token revoked');
      return load(id);
    },

    async viewerOfToken(tokenId) {
      const now = clock.now();
      const row = await prisma.apiToken.findFirst({
        where: { id: tokenId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date(now) } }] },
        select: { id: true, role: true, sessionIds: true, expiresAt: true },
      });
      return row && { tokenId: row.id, role: row.role, sessionIds: row.sessionIds.length ? row.sessionIds : null, validUntil: row.expiresAt?.getTime() ?? null };
    },

    onTokenChanged(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },

    close: () => stopFollowing(),
  };
}
