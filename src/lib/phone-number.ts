/**
 * The E.164 rule, free of dependencies: the server's input schemas and the console's own checks
 * (a bulk send's CSV rows) use this one definition.
 */

/** What people type between digits: spaces, dashes, dots and brackets. */
export function normalizePhone(value: string): string {
  return value.replace(/[\s\-().]/g, '');
}

export const E164_PATTERN = /^\+[1-9]\d{6,14}$/;
export const E164_MESSAGE = 'must be an E.164 phone number such as +255712345678';

/** The E.164 form of what was typed, or null when it is not one. */
export function toE164(value: string): string | null {
  const phone = normalizePhone(value);
  return E164_PATTERN.test(phone) ? phone : null;
}
