/**
 * Loads asked for one parent at a time while a request executes, sent to the database together:
 * each key is queued under its request (the GraphQL context) and its group (the arguments that must
 * match to share a statement, e.g. a page size), and once the resolvers of the current turn have
 * run (one `setImmediate`, so keys queued after a parent's promise settles still join) every group
 * goes to `load` with its distinct keys in one call. Nothing is shared between requests, and nothing
 * is cached: each call asks the database again.
 */
export type BatchLoad<R, P, K, V> = (request: R, params: P, keys: K[]) => Promise<Map<K, V>>;

interface Group<P, K, V> {
  params: P;
  waiters: Map<K, { resolve: (value: V | undefined) => void; reject: (error: unknown) => void }[]>;
}

export function requestBatch<R extends object, P, K, V>(load: BatchLoad<R, P, K, V>) {
  const queued = new WeakMap<R, Map<string, Group<P, K, V>>>();

  const flush = (request: R) => {
    const groups = queued.get(request)!;
    queued.delete(request);
    for (const { params, waiters } of groups.values()) {
      load(request, params, [...waiters.keys()]).then(
        (found) => {
          for (const [key, list] of waiters) for (const w of list) w.resolve(found.get(key));
        },
        (error: unknown) => {
          for (const list of waiters.values()) for (const w of list) w.reject(error);
        },
      );
    }
  };

  /** The value loaded for `key` (undefined when there is none), batched with the request's other keys of the same `groupKey`. */
  return (request: R, key: K, params: P, groupKey: string): Promise<V | undefined> =>
    new Promise((resolve, reject) => {
      let groups = queued.get(request);
      if (!groups) {
        groups = new Map();
        queued.set(request, groups);
        setImmediate(flush, request);
      }
      let group = groups.get(groupKey);
      if (!group) groups.set(groupKey, (group = { params, waiters: new Map() }));
      const list = group.waiters.get(key);
      if (list) list.push({ resolve, reject });
      else group.waiters.set(key, [{ resolve, reject }]);
    });
}
