/**
 * Expected failures, each with the contract's error code. Services throw these; the GraphQL layer
 * turns them into coded GraphQL errors and masks everything else.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'INVALID_STATE'
  | 'SESSION_LIMIT_REACHED'
  | 'PROVIDER_UNAUTHORIZED'
  | 'PROVIDER_RATE_LIMITED'
  | 'PROVIDER_UNAVAILABLE'
  | 'RATE_LIMITED';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'You are not allowed to do this') {
    super('FORBIDDEN', message);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'A valid bearer token is required') {
    super('UNAUTHENTICATED', message, { http: { status: 401 } });
  }
}

/** Our own per-token (or per-address) limit: try again after `retryAfter` seconds. */
export class RateLimitedError extends DomainError {
  constructor(readonly retryAfter: number, message = `Too many requests: try again in ${retryAfter} s`) {
    super('RATE_LIMITED', message, { retryAfter, http: { status: 429, headers: { 'retry-after': String(retryAfter) } } });
  }
}

export class InvalidStateError extends DomainError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super('INVALID_STATE', message, extensions);
  }
}

/** `fields` maps each bad input field (dotted path) to its message. */
export class BadUserInputError extends DomainError {
  constructor(readonly fields: Record<string, string>, message?: string) {
    super('BAD_USER_INPUT', message ?? `Invalid input: ${Object.entries(fields).map(([f, m]) => `${f} ${m}`).join('; ')}`, { fields });
  }
}

/** Turns zod issues into `BadUserInputError` with one message per field. */
export function badInputFromIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): BadUserInputError {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join('.') || 'input';
    fields[key] ??= issue.message;
  }
  return new BadUserInputError(fields);
}

/** Whether `error`, or an error it wraps (GraphQL's originalError, or cause), is a `type`. */
export function causedBy(error: unknown, type: abstract new (...args: never[]) => Error): boolean {
  for (let e = error, depth = 0; e && depth < 10; depth++) {
    if (e instanceof type) return true;
    const wrapper = e as { originalError?: unknown; cause?: unknown };
    e = wrapper.originalError ?? wrapper.cause;
  }
  return false;
}
