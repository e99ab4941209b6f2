import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The database id inside a global id of `typename`, or null for malformed ids and ids of another type. */
export function parseGlobalId(globalId: string, typename: string): string | null {
  try {
    const { typename: actual, id } = decodeGlobalID(globalId);
    return actual === typename && UUID.test(id) ? id : null;
  } catch {
    return null;
  }
}

export function toGlobalId(typename: string, id: string): string {
  return encodeGlobalID(typename, id);
}
