/** Message cursors: opaque to clients, ordered for us (the message's commit-ordered sequence). */
const PREFIX = 'm:';

export function encodeMessageCursor(seq: bigint | string): string {
  return Buffer.from(PREFIX + seq.toString()).toString('base64url');
}

/** The sequence inside a cursor, or null when it is not one of ours. */
export function decodeMessageCursor(cursor: string): bigint | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) return null;
  const digits = text.slice(PREFIX.length);
  return /^\d{1,19}$/.test(digits) ? BigInt(digits) : null;
}
