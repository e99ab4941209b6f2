import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
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
