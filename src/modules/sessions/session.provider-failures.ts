/**
 * A failed provider call of a session, whoever made it (a mutation, the QR keeper, reconciliation,
 * the inbox): one ERROR session log entry and one log line, so the admin sees in the session's
 * history why something did not happen. The entry says what we made of the failure (the contract's
 * code and remedy) and keeps the provider's HTTP status.
 */
import type { Prisma } from '../../lib/database.ts';
import { DomainError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { SessionStatus } from '../../generated/prisma/enums.ts';
import { ProviderError } from '../../provider/errors.ts';
import { toDomainError, type ProviderCallContext } from '../provider/provider-errors.ts';

export interface FailedCallSession {
  id: string;
  status: SessionStatus;
}

export function createProviderFailureLog(deps: { prisma: Prisma; logger: Logger }) {
  const { prisma, logger } = deps;

  /** Records the failure and returns it in the contract's terms, for the caller to throw or drop. */
  async function recordFailure(session: FailedCallSession, action: string, error: unknown, context: Omit<ProviderCallContext, 'sessionStatus'> = {}) {
    const mapped = toDomainError(error, { ...context, sessionStatus: session.status });
    const message = mapped instanceof Error ? mapped.message : 'unknown error';
    logger.warn({ sessionId: session.id, action, err: error }, 'provider call failed');
    await prisma.sessionLog
      .create({
        data: {
          sessionId: session.id,
          type: 'ERROR',
          status: session.status,
          message: `${action} failed: ${message}`,
          details: {
            ...(mapped instanceof DomainError ? { code: mapped.code } : {}),
            ...(error instanceof ProviderError ? { providerStatus: error.status } : {}),
          },
        },
      })
      // The session may be gone meanwhile; the log line above still tells.
      .catch((e: unknown) => logger.warn({ sessionId: session.id, err: e }, 'could not write session log'));
    return mapped;
  }

  /** Runs a provider call of a session; a failure is recorded and thrown in the contract's terms. */
  async function callProvider<T>(session: FailedCallSession, action: string, fn: () => Promise<T>, context: Omit<ProviderCallContext, 'sessionStatus'> = {}): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw await recordFailure(session, action, error, context);
    }
  }

  return { recordFailure, callProvider };
}
