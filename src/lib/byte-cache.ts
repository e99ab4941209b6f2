/**
 * A least-recently-used cache bounded by the bytes it holds, not by its number of entries: taking
 * a value in makes room by dropping the values used longest ago. A value larger than `maxEntryBytes`
 * is never kept (it would push out everything else).
 */
export interface ByteCache {
  get(key: string): Buffer | undefined;
  /** Keeps `value` if it fits; says whether it was kept. */
  set(key: string, value: Buffer): boolean;
  delete(key: string): void;
  /** Bytes held now. */
  readonly size: number;
}

export function createByteCache(opts: { maxBytes: number; maxEntryBytes?: number }): ByteCache {
  const entries = new Map<string, Buffer>();
  const maxEntry = Math.min(opts.maxBytes, opts.maxEntryBytes ?? opts.maxBytes);
  let size = 0;

  function remove(key: string) {
    const old = entries.get(key);
    if (!old) return;
    entries.delete(key);
    size -= old.length;
  }

  return {
    get(key) {
      const value = entries.get(key);
      if (value === undefined) return undefined;
      // Map keeps insertion order: moving the entry to the end marks it used last.
      entries.delete(key);
      entries.set(key, value);
      return value;
    },
    set(key, value) {
      remove(key);
      if (value.length > maxEntry) return false;
      for (const [oldest, old] of entries) {
        if (size + value.length <= opts.maxBytes) break;
        entries.delete(oldest);
        size -= old.length;
      }
      entries.set(key, value);
      size += value.length;
      return true;
    },
    delete: remove,
    get size() {
      return size;
    },
  };
}
