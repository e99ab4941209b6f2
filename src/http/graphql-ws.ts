/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's port, executed through Yoga's
 * envelop so both transports share context and plugins.
 */
import type { Server } from 'node:http';
import { createHash } from 'node:crypto';
import { BREAK, Kind, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, handleProtocols } from 'graphql-ws';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { YogaServer } from '../graphql/yoga.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { AbuseLimits } from '../modules/auth/abuse-limits.ts';
import type { AuthService } from '../modules/auth/auth.service.ts';
import { accessKey, type Viewer } from '../modules/auth/viewer.ts';
import { Connection, type ConnectionDeps } from './graphql-ws-connection.ts';
import { createSubscriptionHub } from './subscription-hub.ts';

export { CLOSE_OVERLOADED, CLOSE_SLOW_CONSUMER, CONNECTION_INIT_TIMEOUT_MS, MAX_BUFFERED_BYTES, MAX_OPERATIONS_PER_CONNECTION } from './graphql-ws-connection.ts';

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

/** How often open connections are checked for credentials that ran out by themselves. */
const CREDENTIAL_CHECK_MS = 1_000;

export function attachGraphqlWs(opts: { server: Server; yoga: YogaServer; auth: AuthService; abuseLimits: AbuseLimits; clock: Clock; logger: Logger; path?: string }) {
  const wss = new WebSocketServer({ server: opts.server, path: opts.path ?? '/graphql', maxPayload: 1024 * 1024, handleProtocols });
  const hub = createSubscriptionHub();
  const deps: ConnectionDeps = {
    yoga: opts.yoga,
    hub,
    auth: opts.auth,
    abuseLimits: opts.abuseLimits,
    logger: opts.logger,
    shareKey: (args, viewer) => shareKey(args.schema, args.document, args.operationName, args.variableValues, viewer),
  };
  const forbid = (connection: Connection) => {
    connection.credential = null;
    connection.close(CloseCode.Forbidden, 'Forbidden');
  };
  const stopWatchingTokens = opts.auth.onTokenChanged((tokenId) => {
    // One look-up per token value, however many sockets hold it (after a gap: every token at once).
    const holders = new Map<string, Connection[]>();
    for (const connection of connections.values()) {
      const credential = connection.credential;
      if (!credential || (tokenId !== null && credential.tokenId !== tokenId)) continue;
      holders.set(credential.token, [...(holders.get(credential.token) ?? []), connection]);
    }
    for (const [token, held] of holders) {
      void opts.auth.authenticate(token).then(
        (viewer) => {
          for (const connection of held) {
            if (!connection.credential) continue;
            if (viewer) connection.credential.validUntil = viewer.validUntil ?? null;
            else forbid(connection);
          }
        },
        (error: unknown) => opts.logger.warn({ tokenId: held[0]!.credential?.tokenId, err: error }, 'could not check a connection\'s token again'),
      );
    }
  });
  const expiry = setInterval(() => {
    const now = opts.clock.now();
    for (const connection of connections.values()) {
      const validUntil = connection.credential?.validUntil;
      if (validUntil != null && validUntil <= now) forbid(connection);
    }
  }, CREDENTIAL_CHECK_MS);
  expiry.unref();
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
    socket.on('close', forget);
    if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) return socket.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
    connections.set(socket, new Connection(socket, request.socket.remoteAddress ?? null, deps));
    socket.on('message', deliver);
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
 * Listeners are shared functions that find their connection by socket, not closures: with
 * thousands of idle subscribers, each closure (and each name the TypeScript loader attaches to it)
 * is memory.
 */
const connections = new Map<WebSocket, Connection>();
const answeredPing = new WeakSet<WebSocket>();
function markAnswered(this: WebSocket) {
  answeredPing.add(this);
}
function closeOnError(this: WebSocket) {
  this.close(CloseCode.InternalServerError, 'Internal server error');
}
function deliver(this: WebSocket, data: RawData) {
  connections.get(this)?.receive(String(data));
}
function forget(this: WebSocket) {
  const connection = connections.get(this);
  connections.delete(this);
  connection?.closed();
}
