/** A real graphql-ws client over `ws`, with subscriptions as awaitable queues. */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ADMIN_TOKEN } from './app.ts';

export interface WsClient {
  client: Client;
  subscribe<TData, TVars extends Record<string, unknown>>(document: TypedDocumentNode<TData, TVars>, variables?: TVars): Subscription<TData>;
  close(): Promise<void>;
}

export interface Subscription<T> {
  /** The next event, or a failure after `timeoutMs`. */
  next(timeoutMs?: number): Promise<T>;
  /** Every event received so far and not yet taken by next(). */
  pending(): T[];
  errors: unknown[];
  completed: boolean;
  unsubscribe(): void;
}

export function connectWs(httpUrl: string, opts: { token?: string | null } = {}): WsClient {
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
  return {
    client,
    subscribe<TData, TVars extends Record<string, unknown>>(document: TypedDocumentNode<TData, TVars>, variables?: TVars) {
      const queue: TData[] = [];
      let waiter: ((v: TData) => void) | null = null;
      let failer: ((e: unknown) => void) | null = null;
      const sub: Subscription<TData> = {
        errors: [],
        completed: false,
        next(timeoutMs = 5_000) {
          const ready = queue.shift();
          if (ready !== undefined) return Promise.resolve(ready);
          if (sub.errors.length) return Promise.reject(sub.errors[0]);
          return new Promise<TData>((resolve, reject) => {
            const timer = setTimeout(() => {
              waiter = null;
              reject(new Error(`no subscription event within ${timeoutMs} ms`));
            }, timeoutMs);
            waiter = (v) => {
              clearTimeout(timer);
              resolve(v);
            };
            failer = (e) => {
              clearTimeout(timer);
              reject(e);
            };
          });
        },
        pending: () => queue.splice(0),
        unsubscribe: () => dispose(),
      };
      const dispose = client.subscribe<TData>(
        { query: print(document), variables },
        {
          next(result) {
            if (result.errors?.length) {
              sub.errors.push(result.errors);
              failer?.(new Error(JSON.stringify(result.errors)));
              return;
            }
            const value = result.data as TData;
            if (waiter) {
              const w = waiter;
              waiter = null;
              w(value);
            } else queue.push(value);
          },
          error(error) {
            sub.errors.push(error);
            failer?.(error);
          },
          complete() {
            sub.completed = true;
          },
        },
      );
      return sub;
    },
    async close() {
      await client.dispose();
    },
  };
}
