import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
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

export function toGlobalId(typename: string, id: string): string {
  return encodeGlobalID(typename, id);
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
