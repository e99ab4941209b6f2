/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's port, executed through Yoga's
 * envelop so both transports share context and plugins.
 */
import type { Server } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { BREAK, Kind, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { toCodedError, type YogaServer } from '../graphql/yoga.ts';
import { BadUserInputError } from '../lib/errors.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { runWithRequestContext } from '../lib/request-context.ts';
import type { AbuseLimits } from '../modules/auth/abuse-limits.ts';
import type { AuthService } from '../modules/auth/auth.service.ts';
import { accessKey, bearerToken, type Viewer } from '../modules/auth/viewer.ts';
import { createSubscriptionHub, type SubscriberSink } from './subscription-hub.ts';

/** A client whose unsent frames exceed this is too slow to keep up and is closed. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** A replay from a cursor waits while more than this is unsent, so a slow reader is paced, not cut off. */
const PACED_BUFFERED_BYTES = 512 * 1024;
export const CLOSE_SLOW_CONSUMER = 4429;
/** The server could not process a subscription's events as fast as they came (WebSocket "Try Again Later"). */
export const CLOSE_OVERLOADED = 1013;
/** Operations one connection may run at once: a client cannot grow the server's memory without bound. */
export const MAX_OPERATIONS_PER_CONNECTION = 200;
/** A client must authenticate (connection_init) this soon after connecting, or is closed (4408). */
export const CONNECTION_INIT_TIMEOUT_MS = 3_000;
/** Ping period; a client that has not answered by the next ping is dropped. */
const KEEP_ALIVE_MS = 12_000;

/** Root fields whose events are the same for everyone who asks the same way. */
const SHAREABLE_FIELDS = new Set(['sessionStatusChanged', 'sessionDeleted', 'qrCodeUpdated', 'messageReceived', 'messageUpdated', 'chatUpdated', 'chatDeleted']);

/**
 * Whether the document selects a field whose value is made for one viewer (`extensions.perViewer`
 * in the schema, e.g. Message.media.url, a link bound to the caller's token).
 */
export function selectsPerViewerField(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        if (!typeInfo.getFieldDef()?.extensions?.perViewer) return undefined;
        found = true;
        return BREAK;
      },
    }),
  );
  return found;
}

/**
 * The key under which identical subscriptions share one execution, or null when this one must run
 * alone (a replay from a cursor is different for each subscriber). Subscribers share only with the
 * same access, and only with the same token when a per-viewer field is selected.
 */
export function shareKey(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined, viewer: Viewer): string | null {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations.find((o) => !operationName || o.name?.value === operationName);
  if (!operation || operation.operation !== 'subscription') return null;
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || !SHAREABLE_FIELDS.has(selection.name.value)) return null;
    const after = selection.arguments?.find((a) => a.name.value === 'after');
    if (after && !(after.value.kind === Kind.NULL || (after.value.kind === Kind.VARIABLE && variables?.[after.value.name.value] == null))) return null;
  }
  return createHash('sha256')
    .update(JSON.stringify([operation.loc?.source.body ?? '', operationName ?? null, variables ?? {}, accessKey(viewer), selectsPerViewerField(schema, document) ? (viewer.tokenId ?? 'env') : null]))
    .digest('base64url');
}

type Extra = {
  socket: WebSocket;
  /** The client's address, for the failed-authentication limit. */
  address: string | null;
  viewer?: Viewer;
};

/** A connection's credential, checked again when its token is revoked or rotated, or runs out. */
interface Credential {
  token: string;
  tokenId: string;
  validUntil: number | null;
}

/** How often open connections are checked for credentials that ran out by themselves. */
const CREDENTIAL_CHECK_MS = 1_000;

export function attachGraphqlWs(opts: { server: Server; yoga: YogaServer; auth: AuthService; abuseLimits: AbuseLimits; clock: Clock; logger: Logger; path?: string }) {
  const wss = new WebSocketServer({ server: opts.server, path: opts.path ?? '/graphql', maxPayload: 1024 * 1024 });
  const hub = createSubscriptionHub();
  const credentials = new Map<WebSocket, Credential>();
  const forbid = (socket: WebSocket) => {
    credentials.delete(socket);
    socket.close(CloseCode.Forbidden, 'Forbidden');
  };
  const stopWatchingTokens = opts.auth.onTokenChanged((tokenId) => {
    // One look-up per token value, however many sockets hold it (after a gap: every token at once).
    const holders = new Map<string, [WebSocket, Credential][]>();
    for (const entry of credentials) {
      if (tokenId !== null && entry[1].tokenId !== tokenId) continue;
      holders.set(entry[1].token, [...(holders.get(entry[1].token) ?? []), entry]);
    }
    for (const [token, sockets] of holders) {
      void opts.auth.authenticate(token).then(
        (viewer) => {
          for (const [socket, credential] of sockets) {
            if (viewer) credential.validUntil = viewer.validUntil ?? null;
            else forbid(socket);
          }
        },
        (error: unknown) => opts.logger.warn({ tokenId: sockets[0]![1].tokenId, err: error }, 'could not check a connection\'s token again'),
      );
    }
  });
  const expiry = setInterval(() => {
    const now = opts.clock.now();
    for (const [socket, credential] of credentials) if (credential.validUntil !== null && credential.validUntil <= now) forbid(socket);
  }, CREDENTIAL_CHECK_MS);
  expiry.unref();
  const server = makeServer<Record<string, unknown>, Extra>({
    connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
    async onConnect(ctx) {
      const params = ctx.connectionParams ?? {};
      const header = params.authorization ?? params.Authorization;
      const token = bearerToken(header);
      const { viewer } = await opts.abuseLimits.authenticate(opts.auth.authenticate, token, ctx.extra.address);
      if (!viewer) return false; // graphql-ws closes with 4403 Forbidden
      ctx.extra.viewer = viewer;
      if (viewer.tokenId && token) credentials.set(ctx.extra.socket, { token, tokenId: viewer.tokenId, validUntil: viewer.validUntil ?? null });
      return true;
    },
    execute: async (args) => {
      const root = args.rootValue as EnvelopedRoot;
      return root.execute({ ...args, contextValue: await root.context() });
    },
    subscribe: (args) => {
      const { subscribe, context, shareKey, sink } = args.rootValue as EnvelopedRoot;
      // Only the first subscriber of a shared execution needs a context and runs it.
      const start = async () => subscribe({ ...args, contextValue: await context() }) as never;
      const subscriber = hub.subscribe(shareKey, start, sink);
      // graphql-ws holds these arguments as long as the subscription lasts: let the per-request
      // envelop instance go (thousands of idle subscribers would each keep one).
      args.rootValue = null;
      return subscriber;
    },
    onSubscribe(ctx, id, payload) {
      const { socket, viewer } = ctx.extra;
      // graphql-ws has already counted this one in.
      if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS_PER_CONNECTION) {
        return [toCodedError(new BadUserInputError({ subscribe: `at most ${MAX_OPERATIONS_PER_CONNECTION} operations may run at once on one connection` }))!];
      }
      const { schema, execute, subscribe, contextFactory, parse, validate } = opts.yoga.getEnveloped({
        ...ctx,
        socket,
        params: payload,
        wsViewer: viewer ?? null,
      });
      let document;
      try {
        document = parse(payload.query);
      } catch (error) {
        return [toCodedError(error) ?? (error as import('graphql').GraphQLError)];
      }
      const errors = validate(schema, document);
      if (errors.length) return errors;
      const root: EnvelopedRoot = {
        execute,
        subscribe,
        context: contextFactory,
        shareKey: viewer ? shareKey(schema, document, payload.operationName, payload.variables, viewer) : null,
        sink: new SocketSink(socket, id),
      };
      return { schema, operationName: payload.operationName, document, variableValues: payload.variables, rootValue: root } satisfies ExecutionArgs;
    },
  });
  wss.options.handleProtocols = handleProtocols;
  // One timer for every connection: ping each, and drop those that did not answer the last ping.
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients) {
      if (!answeredPing.delete(socket)) socket.terminate();
      else socket.ping();
    }
  }, KEEP_ALIVE_MS);
  keepAlive.unref();
  wss.on('connection', (socket, request) => {
    answeredPing.add(socket);
    socket.on('pong', markAnswered);
    socket.on('error', closeOnError);
    const closed = server.opened(new Connection(socket, opts.logger), { socket, address: request.socket.remoteAddress ?? null });
    socket.once('close', (code, reason) => {
      credentials.delete(socket);
      void closed(code, String(reason));
    });
  });
  return {
    wss,
    hub,
    async close() {
      clearInterval(keepAlive);
      clearInterval(expiry);
      stopWatchingTokens();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/*
 * Per-connection and per-subscription state are classes, not closures: with thousands of idle
 * subscribers, each closure (and each name the TypeScript loader attaches to it) is memory.
 */
const answeredPing = new WeakSet<WebSocket>();
function markAnswered(this: WebSocket) {
  answeredPing.add(this);
}
function closeOnError(this: WebSocket) {
  this.close(CloseCode.InternalServerError, 'Internal server error');
}

/** graphql-ws's view of a `ws` socket. */
class Connection {
  readonly protocol: string;
  constructor(
    private readonly socket: WebSocket,
    private readonly logger: Logger,
  ) {
    this.protocol = socket.protocol;
  }
  send(data: string): Promise<void> {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      if (socket.readyState !== socket.OPEN) return resolve();
      socket.send(data, (error) => (error ? reject(error) : resolve()));
    });
  }
  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }
  onMessage(handle: (data: string) => Promise<void>): void {
    const { socket, logger } = this;
    socket.on('message', (message) =>
      // Each message (a subscribe, with the execution it starts) is one request for the logs.
      runWithRequestContext({ requestId: randomUUID() }, () =>
        void handle(String(message)).catch((error: unknown) => {
          logger.error({ err: error }, 'graphql-ws message handling failed');
          closeOnError.call(socket);
        }),
      ),
    );
  }
}

/** Writes shared, already serialized results to one subscriber as graphql-ws `next` messages. */
const FRAME_END = Buffer.from('}');
const TEXT_FRAME = { binary: false };

class SocketSink implements SubscriberSink {
  private readonly framePrefix: Buffer;
  constructor(
    private readonly socket: WebSocket,
    id: string,
  ) {
    this.framePrefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  }
  write(payload: Buffer): void {
    const socket = this.socket;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return socket.close(CLOSE_SLOW_CONSUMER, 'Too slow: resubscribe from your last cursor');
    // One copy of bytes already encoded, instead of building and encoding a string per subscriber.
    socket.send(Buffer.concat([this.framePrefix, payload, FRAME_END]), TEXT_FRAME);
  }
  overloaded(): void {
    this.socket.close(CLOSE_OVERLOADED, 'Overloaded: resubscribe from your last cursor');
  }
  async ready(): Promise<void> {
    const socket = this.socket;
    while (socket.readyState === socket.OPEN && socket.bufferedAmount > PACED_BUFFERED_BYTES) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

type OperationResult = ReturnType<NonNullable<import('graphql-ws').ServerOptions['execute']>>;
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
  context: () => unknown;
  shareKey: string | null;
  sink: SubscriberSink;
}
