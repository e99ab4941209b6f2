/**
 * An async iterator fed by pushes, holding at most `max` unread values. A reader that falls
 * further behind is not buffered without limit: the queue ends (with `overflowError` when given)
 * and `onOverflow` runs, so the owner can tell the reader to resubscribe.
 */
export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  private queue: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private done = false;
  private finishing = false;
  private failure: unknown = null;

  constructor(
    private readonly opts: {
      max: number;
      onOverflow?: () => void;
      /** Reported to the reader in place of the values it missed. */
      overflowError?: () => Error;
      /** Runs once when the queue ends, whatever the reason. */
      onEnd?: () => void;
    },
  ) {}

  get size(): number {
    return this.queue.length;
  }

  push(value: T): void {
    if (this.done || this.finishing) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
    } else if (this.queue.length >= this.opts.max) {
      this.end(this.opts.overflowError?.() ?? null);
      this.opts.onOverflow?.();
    } else this.queue.push(value);
  }

  /** Ends now, dropping what is unread; with an error, the reader's next read throws it. */
  end(error: unknown = null): void {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.failure = error;
    this.opts.onEnd?.();
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) {
      if (error) {
        this.failure = null;
        waiting.reject(error);
      } else waiting.resolve({ value: undefined, done: true });
    }
  }

  /** Ends once what is queued has been read. */
  finish(): void {
    if (this.queue.length === 0) this.end();
    else this.finishing = true;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) {
      const value = this.queue.shift() as T;
      if (this.finishing && this.queue.length === 0) this.end();
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      const failure = this.failure;
      this.failure = null;
      return failure ? Promise.reject(failure) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    this.failure = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
