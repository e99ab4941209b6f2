/**
 * The schema builder: plugins, scalars and auth scopes. It defines no types; modules do.
 */
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import './sync-global-ids.ts';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import type { Context } from '../context.ts';
import { canSeeSession } from '../modules/auth/viewer.ts';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../lib/errors.ts';
import { isIsoInstant } from '../lib/iso-instant.ts';
import { assertNodesVisible } from './node-access.ts';
import { ownProperty } from './own-property.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  AuthScopes: {
    authenticated: boolean;
    admin: boolean;
    /** May act on sessions (send, mark read), not only read them. */
    agent: boolean;
    /** May see this session (by database id): for fields taking a session. */
    session: string;
  };
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      authenticated: ctx.viewer !== null,
      admin: ctx.viewer?.role === 'ADMIN',
      agent: ctx.viewer?.role === 'ADMIN' || ctx.viewer?.role === 'AGENT',
      session: (sessionId: string) => ctx.viewer !== null && canSeeSession(ctx.viewer, sessionId),
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.viewer ? new ForbiddenError() : new UnauthenticatedError(),
  },
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: true,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
    maxConnectionSize: 100,
    defaultConnectionSize: 20,
  },
  relay: {
    nodeQueryOptions: {
      authScopes: { authenticated: true },
      resolve: async (_root, args, ctx, _info, resolveNode) => {
        await assertNodesVisible(ctx, [args.id]);
        const node = await resolveNode(args.id);
        if (!node) throw new NotFoundError('Node');
        return node;
      },
    },
    nodesQueryOptions: {
      authScopes: { authenticated: true },
      resolve: async (_root, args, ctx, _info, resolveNodes) => {
        await assertNodesVisible(ctx, args.ids);
        return resolveNodes(args.ids);
      },
    },
    clientMutationId: 'omit',
    cursorType: 'String',
    // A connection's page info and edges and an edge's node are reads of their own property: no resolver runs for them.
    pageInfoFieldOptions: ownProperty('pageInfo'),
    edgesFieldOptions: ownProperty('edges'),
    nodeFieldOptions: ownProperty('node'),
    nodesOnConnection: true,
  },
});

builder.scalarType('DateTime', {
  description: 'An instant in ISO-8601, UTC, with milliseconds: 2026-11-25T10:00:00.000Z.',
  // Plain reads give instants already printed (iso-instant.ts): passed through, not parsed and printed again.
  serialize: (value) => {
    if (typeof value === 'string' && isIsoInstant(value)) return value;
    const date = value instanceof Date ? value : new Date(value as string);
    return date.toISOString();
  },
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
    return date;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
});

builder.queryType({ description: 'Read the sessions, chats and messages you may see.' });
builder.mutationType({ description: 'Change sessions, chats and settings.' });
builder.subscriptionType({ description: 'Live updates over graphql-ws.' });
