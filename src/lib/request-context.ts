/**
 * The request being handled, carried through every await: the logger stamps its id on each line
 * written on its behalf (GraphQL operation, webhook, provider call), without passing it around.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** A caller's `x-request-id` is kept when it is a sane token; otherwise a new id is made. */
export function requestIdFrom(header: string | string[] | null | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^[\w.:-]{1,128}$/.test(value) ? value : randomUUID();
}

export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Runs background work started from within a request as work of its own. */
export function outsideRequest<T>(fn: () => T): T {
  return storage.exit(fn);
}
