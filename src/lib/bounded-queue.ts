/**
 * An async iterator fed by pushes, holding at most `max` unread values. A reader that falls
 * further behind is not buffered without limit: the queue ends, and the reader's next read throws
 * `overflowError`, so it can resubscribe from where it was.
 */
export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  private queue: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private done = false;
  private failure: unknown = null;

  constructor(
    private readonly opts: {
      max: number;
      overflowError: () => Error;
      /** Runs once when the queue ends, whatever the reason. */
      onEnd?: () => void;
    },
  ) {}

  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
    } else if (this.queue.length >= this.opts.max) this.end(this.opts.overflowError());
    else this.queue.push(value);
  }

  /** Ends now, dropping what is unread; with an error, the reader's next read throws it. */
  private end(error: unknown = null): void {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.failure = error;
    this.opts.onEnd?.();
    const waiting = this.waiting;
    this.waiting = null;
    if (!waiting) return;
    this.failure = null;
    if (error) waiting.reject(error);
    else waiting.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift() as T, done: false });
    if (this.done) {
      const failure = this.failure;
      this.failure = null;
      return failure ? Promise.reject(failure) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
