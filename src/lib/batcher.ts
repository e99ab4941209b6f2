/**
 * Group commit: callers add items one by one and await their own result, while the items are
 * written in batches. A batch starts once the items of the current event-loop turn are in (one
 * `setImmediate`, no timer) and a writer slot is free, and items arriving during a write share the
 * next one. Without that turn, an in-process database (PGlite runs a statement synchronously)
 * would write each request's item alone before the next request is even read.
 */
export interface Batcher<T, R> {
  add(item: T): Promise<R>;
  /** Resolves when everything added so far is written. */
  drain(): Promise<void>;
}

export function createBatcher<T, R>(opts: {
  maxBatch: number;
  /** Batches written at once (e.g. database connections to use). */
  concurrency: number;
  write: (items: T[]) => Promise<R[]>;
}): Batcher<T, R> {
  type Pending = { item: T; resolve: (r: R) => void; reject: (e: unknown) => void };
  let queue: Pending[] = [];
  let active = 0;
  let idle: (() => void)[] = [];
  let scheduled = false;

  const pump = () => {
    while (active < opts.concurrency && queue.length > 0) {
      const batch = queue.slice(0, opts.maxBatch);
      queue = queue.slice(batch.length);
      active++;
      opts
        .write(batch.map((p) => p.item))
        .then(
          (results) => batch.forEach((p, i) => p.resolve(results[i] as R)),
          (error: unknown) => batch.forEach((p) => p.reject(error)),
        )
        .finally(() => {
          active--;
          pump();
          if (active === 0 && queue.length === 0) {
            const waiters = idle;
            idle = [];
            waiters.forEach((w) => w());
          }
        });
    }
  };

  return {
    add(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (scheduled) return;
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          pump();
        });
      });
    },
    drain() {
      if (active === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
