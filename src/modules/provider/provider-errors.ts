/** Provider failures in the contract's codes, with the remedy in the message. */
import { ProviderError } from '../../provider/errors.ts';
import { BadUserInputError, DomainError } from '../../lib/errors.ts';
import type { SessionStatus } from '../../generated/prisma/enums.ts';
import { invalidStateError } from '../sessions/session.rules.ts';

/** What the caller knows about a failed call; the provider's words never decide the code. */
export interface ProviderCallContext {
  /** The session's status when the call was made: a refusal of an action on it is explained by it. */
  sessionStatus?: SessionStatus;
  /** The call carried the user's input, so field errors are theirs to fix (create, update). */
  userInput?: boolean;
}

const FIELD_NAMES: Record<string, string> = {
  phone_number: 'phoneNumber',
  name: 'name',
  account_protection: 'accountProtection',
  log_messages: 'logMessages',
  read_incoming_messages: 'autoReadMessages',
  auto_reject_calls: 'autoRejectCalls',
};

export function toDomainError(error: unknown, context: ProviderCallContext = {}): unknown {
  if (!(error instanceof ProviderError)) return error;
  const detail = error.message ? ` (provider: ${error.message})` : '';
  switch (error.code) {
    case 'UNAUTHORIZED':
      return new DomainError(
        'PROVIDER_UNAUTHORIZED',
        `The provider rejected the API token: update the token in the provider settings${detail}`,
      );
    case 'SESSION_LIMIT':
      return new DomainError(
        'SESSION_LIMIT_REACHED',
        `The provider plan's session limit is reached: upgrade the plan or delete unused sessions${detail}`,
      );
    case 'RATE_LIMITED':
      return new DomainError('PROVIDER_RATE_LIMITED', `The provider is rate limiting requests: retry after ${error.retryAfter ?? 60} seconds${detail}`, {
        retryAfter: error.retryAfter ?? 60,
      });
    case 'VALIDATION':
    case 'REFUSED':
    case 'INVALID_STATE': {
      // An action on a session that carries no input of its own can be refused only for the
      // session's state, whatever the provider's words (or field list) say.
      if (error.code === 'INVALID_STATE' || (context.sessionStatus && !context.userInput)) return invalidState(context.sessionStatus, detail);
      const fields: Record<string, string> = {};
      for (const [field, messages] of Object.entries(error.fields ?? {})) {
        fields[FIELD_NAMES[field] ?? field] = messages[0] ?? 'is invalid';
      }
      return new BadUserInputError(Object.keys(fields).length ? fields : { input: error.message }, `The provider refused the input${detail}`);
    }
    case 'NOT_FOUND':
      return new DomainError('NOT_FOUND', `The provider does not know this session any more${detail}`);
    default:
      return new DomainError(
        'PROVIDER_UNAVAILABLE',
        `The provider did not answer successfully; try again in a moment${detail}`,
      );
  }
}

function invalidState(status: SessionStatus | undefined, detail: string): DomainError {
  if (!status) return new DomainError('INVALID_STATE', `The provider refused the action in the session's current state${detail}`);
  return invalidStateError(status, `The provider refused the action for a session that is ${status}${detail}`);
}
