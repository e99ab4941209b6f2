/**
 * Shared subscription execution. Subscribers with the same operation, variables and access share
 * one execution: each event is resolved once per distinct subscription, not once per subscriber.
 * Every subscriber reads through a bounded queue; one that falls too far behind is cut off instead
 * of growing memory without limit.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';

type Source = AsyncIterable<ExecutionResult> | ExecutionResult;

interface Group {
  key: string | null;
  listeners: Set<Listener>;
  iterator: AsyncIterator<ExecutionResult> | null;
  finished: boolean;
}

export interface HubStats {
  /** Executions running (distinct subscriptions). */
  executions: number;
  subscribers: number;
}

export interface SubscriptionHub {
  /**
   * Joins the execution for `key` (starting it with `start` if there is none); a null key never
   * shares. `onOverflow` is called when this subscriber's queue is full.
   */
  subscribe(key: string | null, start: () => Promise<Source> | Source, onOverflow: () => void): AsyncIterableIterator<ExecutionResult>;
  stats(): HubStats;
}

class Listener implements AsyncIterableIterator<ExecutionResult> {
  private queue: ExecutionResult[] = [];
  private waiting: ((r: IteratorResult<ExecutionResult>) => void) | null = null;
  private done = false;

  constructor(
    private readonly maxQueue: number,
    private readonly onOverflow: () => void,
    private readonly onLeave: (l: Listener) => void,
  ) {}

  push(result: ExecutionResult) {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: result, done: false });
    } else if (this.queue.length >= this.maxQueue) {
      this.end();
      this.onOverflow();
    } else this.queue.push(result);
  }

  end() {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.onLeave(this);
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
  }

  /** Ends after what is queued has been read. */
  finish() {
    if (this.queue.length === 0) this.end();
    else this.queue.push(FINISHED);
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    const value = this.queue.shift();
    if (value === FINISHED) {
      this.end();
      return Promise.resolve({ value: undefined, done: true });
    }
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

const FINISHED: ExecutionResult = Object.freeze({});

function isAsyncIterable(value: Source): value is AsyncIterable<ExecutionResult> {
  return typeof (value as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator] === 'function';
}

export function createSubscriptionHub(opts: { maxQueue: number }): SubscriptionHub {
  const groups = new Map<string, Group>();
  let privateGroups = 0;
  let subscribers = 0;

  function leave(group: Group, listener: Listener) {
    if (!group.listeners.delete(listener)) return;
    subscribers--;
    if (group.listeners.size > 0) return;
    if (group.key !== null) groups.delete(group.key);
    else privateGroups--;
    if (!group.finished) {
      group.finished = true;
      void group.iterator?.return?.();
    }
  }

  async function pump(group: Group, start: () => Promise<Source> | Source) {
    try {
      const source = await start();
      if (!isAsyncIterable(source)) {
        for (const l of group.listeners) l.push(source);
      } else {
        group.iterator = source[Symbol.asyncIterator]();
        if (group.finished) {
          void group.iterator.return?.();
          return;
        }
        for (;;) {
          const next = await group.iterator.next();
          if (next.done || group.finished) break;
          for (const l of group.listeners) l.push(next.value);
        }
      }
    } catch (error) {
      const reported = error instanceof GraphQLError ? error : new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      const result: ExecutionResult = { errors: [reported] };
      for (const l of group.listeners) l.push(result);
    } finally {
      if (group.key !== null && groups.get(group.key) === group) groups.delete(group.key);
      group.finished = true;
      for (const l of [...group.listeners]) l.finish();
    }
  }

  return {
    subscribe(key, start, onOverflow) {
      let group = key !== null ? groups.get(key) : undefined;
      const fresh = !group;
      if (!group) {
        group = { key, listeners: new Set(), iterator: null, finished: false };
        if (key !== null) groups.set(key, group);
        else privateGroups++;
      }
      const g = group;
      const listener = new Listener(opts.maxQueue, onOverflow, (l) => leave(g, l));
      g.listeners.add(listener);
      subscribers++;
      if (fresh) void pump(g, start);
      return listener;
    },
    stats: () => ({ executions: groups.size + privateGroups, subscribers }),
  };
}
