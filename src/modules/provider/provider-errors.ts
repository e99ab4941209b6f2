/** Provider failures in the contract's codes, with the remedy in the message. */
import { ProviderError } from '../../provider/errors.ts';
import { BadUserInputError, DomainError } from '../../lib/errors.ts';

const FIELD_NAMES: Record<string, string> = {
  phone_number: 'phoneNumber',
  name: 'name',
  account_protection: 'accountProtection',
  log_messages: 'logMessages',
  read_incoming_messages: 'autoReadMessages',
  auto_reject_calls: 'autoRejectCalls',
};

export function toDomainError(error: unknown): unknown {
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
    case 'VALIDATION': {
      const fields: Record<string, string> = {};
      for (const [field, messages] of Object.entries(error.fields ?? {})) {
        fields[FIELD_NAMES[field] ?? field] = messages[0] ?? 'is invalid';
      }
      return new BadUserInputError(Object.keys(fields).length ? fields : { input: error.message }, `The provider refused the input${detail}`);
    }
    case 'NOT_FOUND':
      return new DomainError('NOT_FOUND', `The provider does not know this session any more${detail}`);
    case 'NOT_CONNECTED':
    case 'INVALID_STATE':
      return new DomainError('INVALID_STATE', `The provider refused the action in the session's current state${detail}`);
    default:
      return new DomainError(
        'PROVIDER_UNAVAILABLE',
        `The provider did not answer successfully; try again in a moment${detail}`,
      );
  }
}
