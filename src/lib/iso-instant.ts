/**
 * Instants as the API prints them (ISO-8601, UTC, milliseconds: 2026-11-25T10:00:00.120Z), made
 * from a `timestamp(3)` column's text without a Date: the inbox's first screen prints about 200 of
 * them, and parsing each into a Date only to format it again was a few percent of its CPU.
 */

/** An instant of the API, or a Date (printed the same way). */
export type Instant = Date | string;

const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Whether `value` is already an instant exactly as the API prints it. */
export function isIsoInstant(value: string): boolean {
  return ISO_INSTANT.test(value);
}

/** What completes a timestamp's text of 19 + i characters: the fraction's missing digits and the zone. */
const FRACTION_ENDS = ['.000Z', '', '00Z', '0Z', 'Z'];

/** `timestamp(3)` text as written by PostgreSQL (ISO style), read as the UTC it holds. */
export function utcTimestamp(text: string): Date {
  return new Date(`${text.replace(' ', 'T')}Z`);
}

/**
 * A `timestamp(3)` column's text, which holds UTC, as the API prints it. PostgreSQL writes
 * `2026-11-25 10:00:00.12` (JSON writes a `T`), its fraction's trailing zeros dropped; anything else
 * (a year past 9999, BC) becomes a Date, printed as before.
 */
export function isoInstantOfTimestamp(text: string): Instant {
  const length = text.length;
  const separator = text.charCodeAt(10);
  if (length >= 19 && length <= 23 && length !== 20 && (separator === 32 || separator === 84) && (length === 19 || text.charCodeAt(19) === 46)) {
    // One new string and one concatenation: this runs for every instant of a page.
    const iso = separator === 84 ? text : text.replace(' ', 'T');
    return iso + FRACTION_ENDS[length - 19]!;
  }
  return utcTimestamp(text);
}
