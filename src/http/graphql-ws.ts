/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's port, executed through Yoga's
 * envelop so both transports share context and plugins.
 */
import type { Server } from 'node:http';
import { createHash } from 'node:crypto';
import { Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { toCodedError, type YogaServer } from '../graphql/yoga.ts';
import type { AuthService } from '../modules/auth/auth.service.ts';
import { accessKey, bearerToken, type Viewer } from '../modules/auth/viewer.ts';
import { createSubscriptionHub } from './subscription-hub.ts';

/** A client whose unsent frames exceed this is too slow to keep up and is closed. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
export const CLOSE_SLOW_CONSUMER = 4429;
/** The server could not process a subscription's events as fast as they came (WebSocket "Try Again Later"). */
export const CLOSE_OVERLOADED = 1013;
/** Ping period; a client that has not answered by the next ping is dropped. */
const KEEP_ALIVE_MS = 12_000;
/** Results a subscriber may have waiting before it counts as too slow. */
export const MAX_QUEUED_RESULTS = 1_000;

/** Root fields whose events are the same for everyone who asks the same way. */
const SHAREABLE_FIELDS = new Set(['sessionStatusChanged', 'qrCodeUpdated', 'messageReceived', 'messageUpdated', 'chatUpdated']);

/**
 * The key under which identical subscriptions share one execution, or null when this one must run
 * alone (a replay from a cursor is different for each subscriber).
 */
export function shareKey(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined, viewer: Viewer): string | null {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations.find((o) => !operationName || o.name?.value === operationName);
  if (!operation || operation.operation !== 'subscription') return null;
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || !SHAREABLE_FIELDS.has(selection.name.value)) return null;
    const after = selection.arguments?.find((a) => a.name.value === 'after');
    if (after && !(after.value.kind === Kind.NULL || (after.value.kind === Kind.VARIABLE && variables?.[after.value.name.value] == null))) return null;
  }
  return createHash('sha256')
    .update(JSON.stringify([operation.loc?.source.body ?? '', operationName ?? null, variables ?? {}, accessKey(viewer)]))
    .digest('base64url');
}

type Extra = {
  socket: WebSocket;
  request: import('node:http').IncomingMessage;
  viewer?: Viewer;
  /** Serialized payloads of `next` messages on their way out (see `onNext`). */
  outgoing: Map<number, string>;
};

/**
 * A result is serialized once however many subscribers share it: `onNext` hands graphql-ws a
 * tiny placeholder naming the serialized payload, and `send` splices the payload in.
 */
const serializedResults = new WeakMap<ExecutionResult, string>();
function serializeResult(result: ExecutionResult): string {
  let json = serializedResults.get(result);
  if (json === undefined) {
    const { errors, ...rest } = result;
    json = JSON.stringify(errors ? { ...rest, errors: errors.map((e) => e.toJSON()) } : rest);
    serializedResults.set(result, json);
  }
  return json;
}
const PLACEHOLDER_KEY = '~serialized';
let placeholderSeq = 0;
const NEXT_WITH_PLACEHOLDER = /^(\{"id":"(?:[^"\\]|\\.)*","type":"next","payload":)\{"~serialized":(\d+)\}\}$/;
function withPayload(data: string, outgoing: Map<number, string>): string {
  const match = outgoing.size > 0 ? NEXT_WITH_PLACEHOLDER.exec(data) : null;
  if (!match) return data;
  const seq = Number(match[2]);
  const payload = outgoing.get(seq);
  outgoing.delete(seq);
  return payload === undefined ? data : `${match[1]}${payload}}`;
}

export function attachGraphqlWs(opts: { server: Server; yoga: YogaServer; auth: AuthService; path?: string }) {
  const wss = new WebSocketServer({ server: opts.server, path: opts.path ?? '/graphql', maxPayload: 1024 * 1024 });
  const hub = createSubscriptionHub({ maxQueue: MAX_QUEUED_RESULTS });
  const server = makeServer<Record<string, unknown>, Extra>(
    {
      async onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        const header = params.authorization ?? params.Authorization;
        const viewer = await opts.auth.authenticate(bearerToken(header));
        if (!viewer) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.viewer = viewer;
        return true;
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => {
        const root = args.rootValue as EnvelopedRoot;
        return hub.subscribe(root.shareKey, () => root.subscribe(args) as never, root.onOverflow, root.onExecutionOverflow);
      },
      async onSubscribe(ctx, _id, payload) {
        const { schema, execute, subscribe, contextFactory, parse, validate } = opts.yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          wsViewer: ctx.extra.viewer ?? null,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [toCodedError(error) ?? (error as import('graphql').GraphQLError)];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: {
            execute,
            subscribe,
            shareKey: ctx.extra.viewer ? shareKey(document, payload.operationName, payload.variables, ctx.extra.viewer) : null,
            onOverflow: () => ctx.extra.socket.close(CLOSE_SLOW_CONSUMER, 'Too slow: resubscribe from your last cursor'),
            onExecutionOverflow: () => ctx.extra.socket.close(CLOSE_OVERLOADED, 'Overloaded: resubscribe from your last cursor'),
          } satisfies EnvelopedRoot,
        };
        return args;
      },
      onNext(ctx, _id, _payload, _args, result) {
        if (ctx.extra.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          ctx.extra.socket.close(CLOSE_SLOW_CONSUMER, 'Too slow: resubscribe from your last cursor');
        }
        const seq = ++placeholderSeq;
        ctx.extra.outgoing.set(seq, serializeResult(result));
        return { [PLACEHOLDER_KEY]: seq } as ExecutionResult;
      },
    },
  );
  wss.options.handleProtocols = handleProtocols;
  wss.on('connection', (socket, request) => {
    const outgoing = new Map<number, string>();
    const failed = () => socket.close(CloseCode.InternalServerError, 'Internal server error');
    socket.once('error', failed);
    let alive = true;
    socket.on('pong', () => (alive = true));
    const keepAlive = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, KEEP_ALIVE_MS);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            const frame = withPayload(data, outgoing);
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(frame, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (message) => {
            handle(String(message)).catch(failed);
          }),
      },
      { socket, request, outgoing },
    );
    socket.once('close', (code, reason) => {
      clearInterval(keepAlive);
      outgoing.clear();
      void closed(code, String(reason));
    });
  });
  return {
    wss,
    hub,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

type OperationResult = ReturnType<NonNullable<import('graphql-ws').ServerOptions['execute']>>;
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
  shareKey: string | null;
  onOverflow: () => void;
  onExecutionOverflow: () => void;
}
