/**
 * The provider integration: which token the client uses (WASENDER_API_TOKEN, else the sandbox's
 * while it is on, else the one an admin stored), and the admin's view of it. The stored token is
 * encrypted and never returned; several processes share it through the database.
 */
import type { Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { Prisma } from '../../lib/database.ts';
import { badInputFromIssues, DomainError } from '../../lib/errors.ts';
import { followEvents, type AppPubSub } from '../../lib/pubsub.ts';
import { z } from 'zod';
import { toDomainError } from './provider-errors.ts';

export interface ProviderSettingsView {
  configured: boolean;
  tokenHint: string | null;
  baseUrl: string;
  sandbox: boolean;
  source: 'ENVIRONMENT' | 'DATABASE' | 'SANDBOX' | 'NONE';
  verifiedAt: Date | null;
}

const TokenInput = z.string().trim().min(8, 'must be at least 8 characters').max(500, 'is too long');
const CACHE_MS = 5_000;

export function hint(token: string) {
  return token.slice(-4);
}

export function createProviderSettingsService(deps: {
  prisma: Prisma;
  secrets: SecretBox;
  clock: Clock;
  pubsub: AppPubSub;
  envToken: string | null;
  sandboxToken: string | null;
  baseUrl: string;
  /** Checks a token against the provider; throws ProviderError when it is refused. */
  verifyToken: (token: string) => Promise<void>;
}) {
  const { prisma, secrets, clock } = deps;
  let cached: { token: string | null; at: number } | null = null;
  const forget = () => {
    cached = null;
  };
  const stopFollowing = followEvents(deps.pubsub, ['providerSettingsChanged'], forget, forget);

  async function storedToken(): Promise<string | null> {
    if (cached && clock.now() - cached.at < CACHE_MS) return cached.token;
    const row = await prisma.providerSettings.findUnique({ where: { id: 'default' } });
    const token = row?.tokenEncrypted ? secrets.decrypt(row.tokenEncrypted) : null;
    cached = { token, at: clock.now() };
    return token;
  }

  return {
    /** The personal access token for the next provider call. */
    async currentToken(): Promise<string | null> {
      if (deps.envToken) return deps.envToken;
      // The sandbox knows only its own token: one stored for the real provider must not go there.
      if (deps.sandboxToken !== null) return deps.sandboxToken;
      return storedToken();
    },

    async view(): Promise<ProviderSettingsView> {
      const row = await prisma.providerSettings.findUnique({ where: { id: 'default' } });
      const source = deps.envToken ? 'ENVIRONMENT' : deps.sandboxToken !== null ? 'SANDBOX' : row?.tokenEncrypted ? 'DATABASE' : 'NONE';
      return {
        configured: source !== 'NONE',
        tokenHint: deps.envToken ? hint(deps.envToken) : source === 'DATABASE' ? (row?.tokenHint ?? null) : null,
        baseUrl: deps.baseUrl,
        sandbox: deps.sandboxToken !== null,
        source,
        verifiedAt: source === 'DATABASE' ? (row?.verifiedAt ?? null) : null,
      };
    },

    async setToken(raw: string): Promise<ProviderSettingsView> {
      // The sandbox would accept only its own token, and a stored real token would then be sent to
      // the sandbox: neither is what the admin wants.
      if (deps.sandboxToken !== null) {
        throw new DomainError(
          'INVALID_STATE',
          'The built-in provider sandbox is on, so a provider token cannot be verified or used: set WASENDER_API_TOKEN (or WASENDER_SANDBOX=0) and restart to use the real provider',
          { sandbox: true },
        );
      }
      const parsed = TokenInput.safeParse(raw);
      if (!parsed.success) throw badInputFromIssues(parsed.error.issues.map((i) => ({ ...i, path: ['token'] })));
      const token = parsed.data;
      try {
        await deps.verifyToken(token);
      } catch (error) {
        throw toDomainError(error);
      }
      const data = { tokenEncrypted: secrets.encrypt(token), tokenHint: hint(token), verifiedAt: new Date(clock.now()), baseUrl: deps.baseUrl };
      await prisma.providerSettings.upsert({ where: { id: 'default' }, create: { id: 'default', ...data }, update: data });
      forget();
      deps.pubsub.publish('providerSettingsChanged', {});
      return this.view();
    },

    /** Stops following changes made by other processes (shutdown). */
    close: stopFollowing,
  };
}

export type ProviderSettingsService = ReturnType<typeof createProviderSettingsService>;
