/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's port, executed through Yoga's
 * envelop so both transports share context and plugins.
 */
import type { Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { toCodedError, type YogaServer } from '../graphql/yoga.ts';
import type { AuthService } from '../modules/auth/auth.service.ts';
import { bearerToken, type Viewer } from '../modules/auth/viewer.ts';

/** A client whose unsent frames exceed this is too slow to keep up and is closed. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
export const CLOSE_SLOW_CONSUMER = 4429;

type Extra = {
  socket: WebSocket;
  request: import('node:http').IncomingMessage;
  viewer?: Viewer;
};

export function attachGraphqlWs(opts: { server: Server; yoga: YogaServer; auth: AuthService; path?: string }) {
  const wss = new WebSocketServer({ server: opts.server, path: opts.path ?? '/graphql', maxPayload: 1024 * 1024 });
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
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
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
          rootValue: { execute, subscribe },
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
}
