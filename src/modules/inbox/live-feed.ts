/**
 * Replay-then-live without a gap or a duplicate. The live subscription is opened first and buffers
 * while stored items after the cursor are replayed page by page; then buffered and later live
 * items are passed on only if they lie beyond the last replayed position. This is exact because
 * positions are assigned in commit order (see the inbox service).
 */
export async function* liveAfterReplay<T>(opts: {
  live: AsyncIterable<T>;
  seqOf: (item: T) => bigint;
  replayPage: (after: bigint, limit: number) => Promise<T[]>;
  after: bigint;
  pageSize?: number;
}): AsyncGenerator<T> {
  const pageSize = opts.pageSize ?? 200;
  const iterator = opts.live[Symbol.asyncIterator]();
  // Start listening before reading the store, so nothing committed meanwhile is missed.
  const first = iterator.next();
  let position = opts.after;
  try {
    for (;;) {
      const page = await opts.replayPage(position, pageSize);
      for (const item of page) {
        position = opts.seqOf(item);
        yield item;
      }
      if (page.length < pageSize) break;
    }
    let pending: Promise<IteratorResult<T>> | null = first;
    let caughtUp = false;
    for (;;) {
      const next: IteratorResult<T> = await (pending ?? iterator.next());
      pending = null;
      if (next.done) return;
      const seq = opts.seqOf(next.value);
      if (seq <= position) continue;
      if (!caughtUp) {
        // A remote pub/sub may start listening a moment after the request: fetch anything that
        // committed in that moment before the first live item.
        caughtUp = true;
        for (;;) {
          const page = (await opts.replayPage(position, pageSize)).filter((item) => opts.seqOf(item) < seq);
          for (const item of page) {
            position = opts.seqOf(item);
            yield item;
          }
          if (page.length < pageSize) break;
        }
      }
      position = seq;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}
