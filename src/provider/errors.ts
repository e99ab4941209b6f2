/** Every failed provider call, typed: callers decide by `code`, never by parsing messages. */
export type ProviderErrorCode =
  | 'UNAUTHORIZED'
  | 'SESSION_LIMIT'
  | 'NOT_FOUND'
  | 'VALIDATION'
  /** A 400/422 naming no field: the provider would not do it now, which the caller's context explains. */
  | 'REFUSED'
  | 'RATE_LIMITED'
  | 'INVALID_STATE'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'BAD_RESPONSE'
  | 'UNKNOWN';

export interface RateLimitInfo {
  limit: number | null;
  remaining: number | null;
  /** When the window resets (ms since epoch), whichever meaning the header used. */
  resetAt: number | null;
}

export class ProviderError extends Error {
  readonly status: number;
  readonly code: ProviderErrorCode;
  readonly fields: Record<string, string[]> | undefined;
  /** Seconds to wait before trying again (429). */
  readonly retryAfter: number | undefined;
  readonly rateLimit: RateLimitInfo | undefined;

  constructor(opts: {
    status: number;
    code: ProviderErrorCode;
    message: string;
    fields?: Record<string, string[]>;
    retryAfter?: number;
    rateLimit?: RateLimitInfo;
  }) {
    super(opts.message);
    this.name = 'ProviderError';
    this.status = opts.status;
    this.code = opts.code;
    this.fields = opts.fields;
    this.retryAfter = opts.retryAfter;
    this.rateLimit = opts.rateLimit;
  }
}

/**
 * The error code for a provider answer, from its HTTP status alone. The provider's sentences are
 * not documented and vary (shared/wasender-api.md §1.3), so they are carried in messages but never
 * decide: what a refusal means is for the caller to say, from the action and the session's state.
 */
export function classify(status: number, hasFieldErrors: boolean): ProviderErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'SESSION_LIMIT';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'INVALID_STATE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 400 || status === 422) return hasFieldErrors ? 'VALIDATION' : 'REFUSED';
  if (status >= 500) return 'UNAVAILABLE';
  return 'UNKNOWN';
}
