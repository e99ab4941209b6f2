/**
 * The console's link to the server: GraphQL over HTTP for queries and mutations, one graphql-ws
 * connection for everything live. The connection is kept open and retried forever; a subscription
 * that resumes (messageReceived) is sent again with `after` moved to the last event it saw.
 */
import { createClient, type Client } from 'graphql-ws/client';
import type { Document } from './graphql.ts';

export interface ErrorShape {
  message: string;
  extensions?: { code?: string; fields?: Record<string, string>; [key: string]: unknown };
}

/** A GraphQL answer with errors: `fields` holds the bad inputs by their path under the input ("phoneNumber", "poll.options.1"). */
export class ApiError extends Error {
  readonly code: string | undefined;
  readonly fields: Record<string, string>;
  constructor(readonly errors: ErrorShape[]) {
    super(errors.map((e) => e.message).join('; ') || 'The request failed.');
    this.code = errors[0]?.extensions?.code;
    this.fields = {};
    for (const error of errors) {
      for (const [path, message] of Object.entries(error.extensions?.fields ?? {})) {
        this.fields[path.replace(/^input\./, '')] ??= message;
      }
    }
  }
}

/** The error for a field or anything inside it ("poll.options" also finds "poll.options.1"). */
export function fieldError(fields: Record<string, string>, name: string): string | undefined {
  if (fields[name]) return fields[name];
  const inner = Object.keys(fields).find((key) => key.startsWith(`${name}.`));
  return inner ? fields[inner] : undefined;
}

/** What a person should read for a failure. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'INTERNAL_SERVER_ERROR') return 'Something went wrong on the server. Try again.';
    return error.message;
  }
  if (error instanceof TypeError) return 'The server cannot be reached. Check the connection and try again.';
  return error instanceof Error ? error.message : String(error);
}

export type LinkStatus = 'connecting' | 'live' | 'reconnecting';

export interface Handlers<Result, Variables> {
  next(data: Result): void;
  error?(error: ApiError): void;
  /** Variables to send instead if the connection drops and the subscription is sent again. */
  resume?(data: Result): Partial<Variables>;
}

export interface Api {
  request<Result, Variables>(document: Document<Result, Variables>, variables: Variables): Promise<Result>;
  subscribe<Result, Variables>(document: Document<Result, Variables>, variables: Variables, handlers: Handlers<Result, Variables>): () => void;
  /** Called with each change of the live link, and at once with the current state. */
  onStatus(listener: (status: LinkStatus) => void): () => void;
  /** Called each time the live link is back after a drop: refetch what has no replay. */
  onReconnect(listener: () => void): () => void;
  close(): void;
}

/** Close codes meaning the token is not (or no longer) accepted. */
const REFUSED = new Set([4401, 4403]);

export function createApi(token: string, onRefused: () => void): Api {
  const authorization = `Bearer ${token}`;
  // Told once: a retry already under way when the token was refused (or the page let go of this
  // link) is refused again, and must not sign out whoever signed in since.
  let ended = false;
  const refused = () => {
    if (ended) return;
    ended = true;
    onRefused();
  };
  let status: LinkStatus = 'connecting';
  const statusListeners = new Set<(status: LinkStatus) => void>();
  const reconnectListeners = new Set<() => void>();
  const setStatus = (next: LinkStatus) => {
    status = next;
    for (const listener of statusListeners) listener(next);
  };

  const client: Client = createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: { authorization },
    lazy: false,
    keepAlive: 15_000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    // Quick at first (a restart behind a load balancer), then every few seconds.
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(300 * 2 ** retries, 5_000) + Math.random() * 300)),
    on: {
      connected: (_socket, _payload, wasRetry) => {
        setStatus('live');
        if (wasRetry) for (const listener of reconnectListeners) listener();
      },
      closed: (event) => {
        if (REFUSED.has((event as CloseEvent).code)) refused();
        else setStatus('reconnecting');
      },
    },
  });

  return {
    async request(document, variables) {
      const { data, errors, status } = await post(authorization, document, variables);
      if (errors?.length) {
        const error = new ApiError(errors);
        if (error.code === 'UNAUTHENTICATED') refused();
        throw error;
      }
      if (data == null) throw new ApiError([{ message: `The server answered ${status}.` }]);
      return data;
    },

    subscribe(document, variables, handlers) {
      // graphql-ws sends this same payload again after a reconnect: moving `after` in it resumes.
      const payload = { query: String(document), variables: { ...variables } as Record<string, unknown> };
      return client.subscribe(payload, {
        next(result) {
          if (result.errors?.length) return handlers.error?.(new ApiError(result.errors as ErrorShape[]));
          if (!result.data) return;
          const data = result.data as never;
          if (handlers.resume) Object.assign(payload.variables, handlers.resume(data));
          handlers.next(data);
        },
        error(error) {
          handlers.error?.(Array.isArray(error) ? new ApiError(error as ErrorShape[]) : new ApiError([{ message: 'The live link failed.' }]));
        },
        complete() {},
      });
    },

    onStatus(listener) {
      statusListeners.add(listener);
      listener(status);
      return () => statusListeners.delete(listener);
    },

    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },

    close() {
      ended = true;
      // A connection attempt still under way is refused as it is dropped (after a revoked token, a
      // 4403): nothing to report once the page has let go of the link.
      Promise.resolve(client.dispose()).catch(() => {});
    },
  };
}

/** How far this device's clock is behind the server's (from the Date header; ignored within 2 s, its resolution). */
let skewMs = 0;

/** The server's time as well as this device can tell: countdowns to server times use it. */
export function serverNow(): number {
  return Date.now() + skewMs;
}

async function post<Result, Variables>(authorization: string, document: Document<Result, Variables>, variables: Variables) {
  const sent = Date.now();
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization },
    body: JSON.stringify({ query: String(document), variables }),
  });
  const date = Date.parse(response.headers.get('date') ?? '');
  if (!Number.isNaN(date)) {
    const skew = date + 500 - (sent + Date.now()) / 2;
    skewMs = Math.abs(skew) > 2_000 ? skew : 0;
  }
  const body = (await response.json().catch(() => ({}))) as { data?: Result | null; errors?: ErrorShape[] };
  return { data: body.data, errors: body.errors, status: response.status };
}

/** What the token may do, or null when it is not accepted. */
export async function checkToken<Result>(token: string, document: Document<Result, Record<string, never>>): Promise<Result | null> {
  const { data, errors, status } = await post(`Bearer ${token}`, document, {});
  if (status === 401 || errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) return null;
  if (errors?.length) throw new ApiError(errors);
  if (data == null) throw new ApiError([{ message: `The server answered ${status}.` }]);
  return data;
}
