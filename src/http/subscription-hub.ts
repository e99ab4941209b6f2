/**
 * Shared subscription execution. Subscribers with the same operation, variables and access share
 * one execution, and each result is serialized once: every event is resolved and turned into JSON
 * once per distinct subscription, then written to each subscriber's socket as it is.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { causedBy } from '../lib/errors.ts';
import { SubscriptionOverflowError } from '../lib/pubsub.ts';

type Source = AsyncIterable<ExecutionResult> | ExecutionResult;

/** Where one subscriber's results go. */
export interface SubscriberSink {
  /** Writes one serialized result (the `payload` of a `next` message, UTF-8 JSON). */
  write(payload: Buffer): void;
  /** The shared execution fell behind its events: the subscriber must resubscribe from its cursor. */
  overloaded(): void;
  /** Resolves once the subscriber has read enough of what was written to take more. */
  ready(): Promise<void>;
  /** The execution ended: nothing more will be written. */
  end(): void;
}

interface Group {
  key: string | null;
  subscribers: Set<Subscriber>;
  iterator: AsyncIterator<ExecutionResult> | null;
  finished: boolean;
}

export interface HubStats {
  /** Executions running (distinct subscriptions). */
  executions: number;
  subscribers: number;
  /** Subscribers whose execution has its event stream open: events published now reach them. */
  listening: number;
  /** Subscribers that have ever started listening (only grows): a test waits on it instead of sleeping. */
  started: number;
}

export interface SubscriptionHub {
  /**
   * Joins the execution for `key` (starting it with `start` if there is none); a null key never
   * shares. Results go straight to `sink`, and `sink.end()` when the execution ends; the returned
   * subscriber's `leave()` unsubscribes.
   */
  subscribe(key: string | null, start: () => Promise<Source> | Source, sink: SubscriberSink): Subscriber;
  stats(): HubStats;
}

export function serializeResult(result: ExecutionResult): Buffer {
  const { errors, ...rest } = result;
  return Buffer.from(JSON.stringify(errors ? { ...rest, errors: errors.map((e) => e.toJSON()) } : rest));
}

/** One subscriber's place in a shared execution; `leave()` unsubscribes. */
export class Subscriber {
  private done = false;

  constructor(
    private readonly group: Group,
    readonly sink: SubscriberSink,
    private readonly hub: { leave(group: Group, subscriber: Subscriber): void },
  ) {}

  /** The execution ended (or the subscriber left): tells the sink once. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.hub.leave(this.group, this);
    this.sink.end();
  }

  /** The subscriber goes away: the sink is not told. */
  leave(): void {
    if (this.done) return;
    this.done = true;
    this.hub.leave(this.group, this);
  }
}

function isAsyncIterable(value: Source): value is AsyncIterable<ExecutionResult> {
  return typeof (value as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator] === 'function';
}

export function createSubscriptionHub(): SubscriptionHub {
  const groups = new Map<string, Group>();
  /** Every running execution, shared or not (for the stats). */
  const running = new Set<Group>();
  let privateGroups = 0;
  let subscribers = 0;
  let started = 0;

  function leave(group: Group, subscriber: Subscriber) {
    if (!group.subscribers.delete(subscriber)) return;
    subscribers--;
    if (group.subscribers.size > 0) return;
    if (group.key !== null) groups.delete(group.key);
    else privateGroups--;
    running.delete(group);
    if (!group.finished) {
      group.finished = true;
      void group.iterator?.return?.();
    }
  }

  function broadcast(group: Group, result: ExecutionResult) {
    if (group.subscribers.size === 0) return;
    const payload = serializeResult(result);
    for (const subscriber of group.subscribers) subscriber.sink.write(payload);
  }

  async function pump(group: Group, start: () => Promise<Source> | Source) {
    try {
      const source = await start();
      if (!isAsyncIterable(source)) {
        broadcast(group, source);
      } else {
        group.iterator = source[Symbol.asyncIterator]();
        started += group.subscribers.size;
        if (group.finished) {
          void group.iterator.return?.();
          return;
        }
        for (;;) {
          const next = await group.iterator.next();
          if (next.done || group.finished) break;
          broadcast(group, next.value);
          // A subscriber's own execution (a replay from its cursor) goes at the pace it reads;
          // a shared one never waits for one reader, who is cut off at the byte limit instead.
          if (group.key === null) for (const subscriber of group.subscribers) await subscriber.sink.ready();
        }
      }
    } catch (error) {
      if (causedBy(error, SubscriptionOverflowError)) {
        for (const subscriber of [...group.subscribers]) {
          // Closed first, so the subscriber is not told the subscription completed normally.
          subscriber.sink.overloaded();
          subscriber.end();
        }
        return;
      }
      const reported = error instanceof GraphQLError ? error : new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      broadcast(group, { errors: [reported] });
    } finally {
      if (group.key !== null && groups.get(group.key) === group) groups.delete(group.key);
      running.delete(group);
      group.finished = true;
      for (const subscriber of [...group.subscribers]) subscriber.end();
    }
  }

  const hubSide = { leave };
  return {
    subscribe(key, start, sink) {
      let group = key !== null ? groups.get(key) : undefined;
      const fresh = !group;
      if (!group) {
        group = { key, subscribers: new Set(), iterator: null, finished: false };
        if (key !== null) groups.set(key, group);
        else privateGroups++;
        running.add(group);
      }
      const subscriber = new Subscriber(group, sink, hubSide);
      group.subscribers.add(subscriber);
      subscribers++;
      if (group.iterator) started++;
      if (fresh) void pump(group, start);
      return subscriber;
    },
    stats() {
      let listening = 0;
      for (const group of running) if (group.iterator) listening += group.subscribers.size;
      return { executions: groups.size + privateGroups, subscribers, listening, started };
    },
  };
}
