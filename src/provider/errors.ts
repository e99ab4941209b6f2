/** Every failed provider call, typed: callers decide by `code`, never by parsing messages. */
export type ProviderErrorCode =
  | 'UNAUTHORIZED'
  | 'SESSION_LIMIT'
  | 'NOT_FOUND'
  | 'VALIDATION'
  | 'RATE_LIMITED'
  | 'NOT_CONNECTED'
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

/** The error code for a provider answer, from its HTTP status and message. */
export function classify(status: number, message: string, hasFieldErrors: boolean): ProviderErrorCode {
  if (/not connected|not initiali[sz]ed|connect first/i.test(message)) return 'NOT_CONNECTED';
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return /limit|subscription|plan|trial|upgrade/i.test(message) ? 'SESSION_LIMIT' : 'UNAUTHORIZED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'INVALID_STATE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 422 || status === 400) return hasFieldErrors ? 'VALIDATION' : /already|state|status/i.test(message) ? 'INVALID_STATE' : 'VALIDATION';
  if (status >= 500) return 'UNAVAILABLE';
  if (/limit|subscription/i.test(message)) return 'SESSION_LIMIT';
  return 'UNKNOWN';
}
