/**
 * Yoga: one plugin pipeline for HTTP and WebSocket. Expected failures carry the contract's codes;
 * everything else is masked.
 */
import { randomUUID } from 'node:crypto';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type GraphQLSchema } from 'graphql';
import { PothosValidationError } from '@pothos/core';
import type { IncomingMessage } from 'node:http';
import { createYoga, type GraphiQLOptions, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.ts';
import type { Prisma } from '../lib/database.ts';
import { badInputFromIssues, causedBy, DomainError, RateLimitedError, UnauthenticatedError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { fromPrismaError } from '../lib/prisma-errors.ts';
import { currentRequestContext } from '../lib/request-context.ts';
import { SubscriptionOverflowError, type AppPubSub } from '../lib/pubsub.ts';
import { bearerToken, type Viewer } from '../modules/auth/viewer.ts';
import { isLoopbackRequest } from '../lib/loopback.ts';
import type { Services } from '../services.ts';
import { refusedOperation, useOperationMetrics } from './operation-metrics.ts';
import { armorPlugins, usePageSizeLimit } from './armor.ts';
import { useCompiledQueries } from './compiled-queries.ts';
import { GRAPHIQL_DEFAULT_DOCUMENT, GRAPHIQL_DEFAULT_VARIABLES } from './graphiql-document.ts';

export interface YogaDeps {
  schema: GraphQLSchema;
  prisma: Prisma;
  pubsub: AppPubSub;
  services: Services;
  logger: Logger;
  metrics: Metrics;
  /** GraphiQL and introspection (off in production unless enabled). */
  graphiql: boolean;
  /** The admin token GraphiQL is opened with for requests from this machine (development only). */
  graphiqlToken?: string | null;
}

/** What graphql-ws passes into the context: the viewer resolved once at connection_init. */
export interface WsInitialContext {
  wsViewer?: Viewer | null;
}

function isZodError(error: unknown): error is { issues: { path: PropertyKey[]; message: string }[] } {
  return (
    error instanceof Error && error.name === 'ZodError' && Array.isArray((error as { issues?: unknown }).issues)
  );
}

/** A GraphQL error at the same place as `error`, with a contract code. */
function coded(error: unknown, message: string, extensions: Record<string, unknown>): GraphQLError {
  const base = error instanceof GraphQLError ? error : undefined;
  return new GraphQLError(message, { nodes: base?.nodes, path: base?.path, extensions });
}

/** The contract error for an expected failure, or null for anything that must be masked. */
export function toCodedError(error: unknown): GraphQLError | null {
  // GraphQL's own refusal of the variables (wrong type, missing, out of range, a scalar's parse).
  if (error instanceof GraphQLError && !error.path && /^Variable "\$/.test(error.message)) return coded(error, error.message, { code: 'BAD_USER_INPUT' });
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  // The one place Prisma's errors are translated: none reaches a client raw.
  const domain = isZodError(original) ? badInputFromIssues(original.issues) : (fromPrismaError(original) ?? original);
  if (domain instanceof DomainError) return coded(error, domain.message, { ...domain.extensions, code: domain.code });
  if (original instanceof GraphQLError && original.extensions?.code) return original;
  // Pothos refuses malformed connection arguments (bad cursor, negative first) with this class.
  if (original instanceof PothosValidationError) return coded(error, original.message, { code: 'BAD_USER_INPUT' });
  return null;
}

/**
 * Refuses any operation without a valid token, before execution (HTTP 401; 429 while the caller's
 * address is over its failed-authentication limit), and counts each against its token's rate limit.
 * A refusal is counted in the metrics under its code (the operation never runs).
 */
function useRequireViewer(metrics: Metrics): Plugin<Context> {
  const admit = async (args: Parameters<typeof refusedOperation>[1] & { contextValue: Context }) => {
    const ctx = args.contextValue;
    try {
      if (!ctx.viewer) throw ctx.authRetryAfter ? new RateLimitedError(ctx.authRetryAfter, `Too many failed authentications from this address: try again in ${ctx.authRetryAfter} s`) : new UnauthenticatedError();
      await ctx.services.abuseLimits.countOperation(ctx.viewer);
    } catch (error) {
      refusedOperation(metrics, args, error instanceof DomainError ? error.code : 'INTERNAL_SERVER_ERROR');
      throw error;
    }
  };
  return {
    onExecute: ({ args }) => admit(args),
    onSubscribe: ({ args }) => admit(args),
  };
}

function useNoIntrospection(): Plugin<Context> {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

function graphiqlOptions(token: string | null): GraphiQLOptions {
  const headers = JSON.stringify({ Authorization: `Bearer ${token ?? '<token>'}` }, null, 2);
  return {
    title: 'whatsapp-graphql',
    headers,
    defaultQuery: GRAPHIQL_DEFAULT_DOCUMENT,
    defaultTabs: [{ query: GRAPHIQL_DEFAULT_DOCUMENT, variables: GRAPHIQL_DEFAULT_VARIABLES, headers }],
  };
}

/** GraphiQL's request, when it came over a socket (not through yoga.fetch) from this machine. */
function fromLoopback(serverContext: unknown): boolean {
  const req = (serverContext as { req?: IncomingMessage } | undefined)?.req;
  return req !== undefined && isLoopbackRequest(req);
}

/** The client's address as this server sees it (the peer: a proxy in front is one address for all). */
function clientAddress(serverContext: unknown): string | null {
  return (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket?.remoteAddress ?? null;
}

export function createYogaServer(deps: YogaDeps) {
  const { logger } = deps;
  return createYoga<WsInitialContext & Record<string, unknown>, Context>({
    schema: deps.schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // GraphiQL with its assets inlined: it loads without reaching a CDN. The bundle is ~30 MB of
    // strings in memory, so it is loaded on the first GraphiQL visit, never when GraphiQL is off.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    graphiql: deps.graphiql
      ? (_request, ...serverContext) =>
          graphiqlOptions(deps.graphiqlToken && fromLoopback(serverContext[0]) ? deps.graphiqlToken : null)
      : false,
    logging: {
      debug: (...args) => logger.debug(String(args[0])),
      info: (...args) => logger.info(String(args[0])),
      warn: (...args) => logger.warn(String(args[0])),
      error: (...args) => logger.error({ detail: args.slice(1).map(String) }, String(args[0])),
    },
    maskedErrors: {
      maskError(error, message) {
        const expected = toCodedError(error);
        if (expected) return expected;
        // Not for clients: the subscription hub closes the affected sockets with a resubscribe code.
        if (causedBy(error, SubscriptionOverflowError)) return error as Error;
        const original = error instanceof GraphQLError ? error.originalError : error;
        logger.error({ err: original }, 'unexpected error');
        return coded(error, message, { code: 'INTERNAL_SERVER_ERROR' });
      },
    },
    plugins: [
      ...armorPlugins(),
      useRequireViewer(deps.metrics),
      useOperationMetrics(deps.metrics, (e) => toCodedError(e)?.extensions.code as string | undefined),
      usePageSizeLimit(),
      useCompiledQueries(logger),
      ...(deps.graphiql ? [] : [useNoIntrospection()]),
    ],
    context: async (initial): Promise<Context> => {
      const { viewer, retryAfter } =
        initial.wsViewer !== undefined
          ? { viewer: initial.wsViewer, retryAfter: 0 }
          : await deps.services.abuseLimits.authenticate(
              deps.services.auth.authenticate,
              bearerToken(initial.request.headers.get('authorization')),
              clientAddress(initial),
            );
      return {
        viewer,
        ...(retryAfter ? { authRetryAfter: retryAfter } : {}),
        prisma: deps.prisma,
        pubsub: deps.pubsub,
        services: deps.services,
        requestId: currentRequestContext()?.requestId ?? randomUUID(),
      };
    },
  });
}

export type YogaServer = ReturnType<typeof createYogaServer>;
