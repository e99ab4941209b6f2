import { decodeGlobalID } from '@pothos/plugin-relay';
import { BadUserInputError } from '../lib/errors.ts';
import { isUuid } from '../lib/uuid.ts';

/** The database id inside a global id of `typename`, or null for malformed ids and ids of another type. */
export function parseGlobalId(globalId: string, typename: string): string | null {
  try {
    const { typename: actual, id } = decodeGlobalID(globalId);
    return actual === typename && isUuid(id) ? id : null;
  } catch {
    return null;
  }
}

/** Scratch bytes for encoding ids: a page prints hundreds, and a Buffer made for each was garbage. */
const scratch = Buffer.allocUnsafe(256);

/** Pothos' global id (base64 of `typename:id`, as its relay plugin encodes it), without a Buffer per id. */
export function toGlobalId(typename: string, id: string): string {
  const text = `${typename}:${id}`;
  // UTF-8 takes at most three bytes per UTF-16 unit: a text that may not fit takes Buffer's own way.
  if (text.length * 3 > scratch.length) return Buffer.from(text).toString('base64');
  return scratch.toString('base64', 0, scratch.write(text, 0, 'utf8'));
}

/**
 * The row id a connection's parsed cursor carries (Pothos' connection helpers parse it), or
 * BAD_USER_INPUT: it goes into SQL as a uuid.
 */
export function cursorUuid(cursor: { id?: unknown } | undefined, args: { after?: string | null }): string | null {
  if (!cursor) return null;
  if (isUuid(cursor.id)) return cursor.id;
  throw new BadUserInputError({ [args.after != null ? 'after' : 'before']: 'is not a cursor of this connection' });
}
