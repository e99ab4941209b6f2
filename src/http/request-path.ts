/** The path of a request target, as WHATWG URL parsing gives it. */

/**
 * A target that is already a plain path (letters, digits, `-_./`, no dot segment, no query) is its
 * own pathname: parsing a URL for it was a visible part of a webhook's CPU. Anything else (a query,
 * escapes, dot segments, backslashes) is parsed as before.
 */
// Not `//…`: URL reads that as a host.
const PLAIN_PATH = /^\/(?!\/)[\w\-./]*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

export function pathnameOf(target: string | undefined): string {
  const url = target ?? '/';
  if (PLAIN_PATH.test(url) && !DOT_SEGMENT.test(url)) return url;
  return new URL(url, 'http://localhost').pathname;
}
