/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's port, executed through Yoga's
 * envelop so both transports share context and plugins.
 */
import type { Server } from 'node:http';
import { createHash } from 'node:crypto';
import { Kind, type DocumentNode, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { toCodedError, type YogaServer } from '../graphql/yoga.ts';
import type { AuthService } from '../modules/auth/auth.service.ts';
import { accessKey, bearerToken, type Viewer } from '../modules/auth/viewer.ts';
import { createSubscriptionHub } from './subscription-hub.ts';

/** A client whose unsent frames exceed this is too slow to keep up and is closed. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
export const CLOSE_SLOW_CONSUMER = 4429;
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
};

export function attachGraphqlWs(opts: { server: Server; yoga: YogaServer; auth: AuthService; path?: string }) {
  const wss = new WebSocketServer({ server: opts.server, path: opts.path ?? '/graphql', maxPayload: 1024 * 1024 });
  const hub = createSubscriptionHub({ maxQueue: MAX_QUEUED_RESULTS });
  const disposable = useServer<Record<string, unknown>, Extra>(
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
        return hub.subscribe(root.shareKey, () => root.subscribe(args) as never, root.onOverflow);
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
            onOverflow: () => ctx.extra.socket.close(CLOSE_SLOW_CONSUMER, 'Client cannot keep up'),
          } satisfies EnvelopedRoot,
        };
        return args;
      },
      onNext(ctx) {
        if (ctx.extra.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          ctx.extra.socket.close(CLOSE_SLOW_CONSUMER, 'Client cannot keep up');
        }
      },
    },
    wss,
  );
  return {
    wss,
    hub,
    async close() {
      for (const client of wss.clients) client.terminate();
      await disposable.dispose();
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
}
