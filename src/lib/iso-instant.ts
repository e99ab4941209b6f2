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

/**
 * A `timestamp(3)` column's text, which holds UTC, as the API prints it. PostgreSQL writes
 * `2026-11-25 10:00:00.12` (JSON writes a `T`), its fraction's trailing zeros dropped; anything else
 * (a year past 9999, BC) becomes a Date, printed as before.
 */
export function isoInstantOfTimestamp(text: string): Instant {
  const separator = text.charCodeAt(10);
  if (text.length >= 19 && text.length <= 23 && (separator === 32 || separator === 84) && (text.length === 19 || text.charCodeAt(19) === 46)) {
    const date = text.slice(0, 10);
    const time = text.slice(11);
    switch (text.length) {
      case 19:
        return `${date}T${time}.000Z`;
      case 21:
        return `${date}T${time}00Z`;
      case 22:
        return `${date}T${time}0Z`;
      case 23:
        return `${date}T${time}Z`;
    }
  }
  return new Date(`${text.replace(' ', 'T')}Z`);
}
