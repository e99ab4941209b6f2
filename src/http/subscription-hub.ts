/**
 * Shared subscription execution. Subscribers with the same operation, variables and access share
 * one execution: each event is resolved once per distinct subscription, not once per subscriber.
 * Every subscriber reads through a bounded queue; one that falls too far behind is cut off instead
 * of growing memory without limit.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { BoundedQueue } from '../lib/bounded-queue.ts';
import { causedBy } from '../lib/errors.ts';
import { SubscriptionOverflowError } from '../lib/pubsub.ts';

type Source = AsyncIterable<ExecutionResult> | ExecutionResult;

interface Group {
  key: string | null;
  /** Each subscriber's queue, and what to tell it when the execution falls behind. */
  listeners: Map<BoundedQueue<ExecutionResult>, () => void>;
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
   * shares. `onOverflow` is called when this subscriber's queue is full, `onExecutionOverflow` when
   * the shared execution itself fell behind its events: either way the subscriber should
   * resubscribe from its last cursor.
   */
  subscribe(
    key: string | null,
    start: () => Promise<Source> | Source,
    onOverflow: () => void,
    onExecutionOverflow: () => void,
  ): AsyncIterableIterator<ExecutionResult>;
  stats(): HubStats;
}

function isAsyncIterable(value: Source): value is AsyncIterable<ExecutionResult> {
  return typeof (value as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator] === 'function';
}

export function createSubscriptionHub(opts: { maxQueue: number }): SubscriptionHub {
  const groups = new Map<string, Group>();
  let privateGroups = 0;
  let subscribers = 0;

  function leave(group: Group, listener: BoundedQueue<ExecutionResult>) {
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
        for (const l of group.listeners.keys()) l.push(source);
      } else {
        group.iterator = source[Symbol.asyncIterator]();
        if (group.finished) {
          void group.iterator.return?.();
          return;
        }
        for (;;) {
          const next = await group.iterator.next();
          if (next.done || group.finished) break;
          for (const l of group.listeners.keys()) l.push(next.value);
        }
      }
    } catch (error) {
      if (causedBy(error, SubscriptionOverflowError)) {
        for (const [l, onExecutionOverflow] of [...group.listeners]) {
          l.end();
          onExecutionOverflow();
        }
        return;
      }
      const reported = error instanceof GraphQLError ? error : new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      const result: ExecutionResult = { errors: [reported] };
      for (const l of group.listeners.keys()) l.push(result);
    } finally {
      if (group.key !== null && groups.get(group.key) === group) groups.delete(group.key);
      group.finished = true;
      for (const l of [...group.listeners.keys()]) l.finish();
    }
  }

  return {
    subscribe(key, start, onOverflow, onExecutionOverflow) {
      let group = key !== null ? groups.get(key) : undefined;
      const fresh = !group;
      if (!group) {
        group = { key, listeners: new Map(), iterator: null, finished: false };
        if (key !== null) groups.set(key, group);
        else privateGroups++;
      }
      const g = group;
      const listener: BoundedQueue<ExecutionResult> = new BoundedQueue({ max: opts.maxQueue, onOverflow, onEnd: () => leave(g, listener) });
      g.listeners.set(listener, onExecutionOverflow);
      subscribers++;
      if (fresh) void pump(g, start);
      return listener;
    },
    stats: () => ({ executions: groups.size + privateGroups, subscribers }),
  };
}
