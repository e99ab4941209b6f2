import { builder } from '../../graphql/builder.ts';
import { parseGlobalId } from '../../graphql/ids.ts';
import { ApiTokenRole } from '../../generated/prisma/enums.ts';
import { BadUserInputError, NotFoundError } from '../../lib/errors.ts';
import type { MintedToken } from './auth.service.ts';
import type { Viewer } from './viewer.ts';

const RoleEnum = builder.enumType('Role', {
  description: 'What a token may do: ADMIN everything, AGENT read and act on the inbox of its sessions (send, mark read), VIEWER read its sessions.',
  // One vocabulary: the database's enum.
  values: Object.values(ApiTokenRole),
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The caller, as its token identifies it.',
  fields: (t) => ({
    role: t.field({ type: RoleEnum, description: 'The token\'s role.', resolve: (v) => v.role }),
    allSessions: t.boolean({
      description: 'Whether the token may see every session (otherwise only those it is scoped to).',
      resolve: (v) => v.sessionIds === null,
    }),
    sessions: t.prismaField({
      type: ['WhatsAppSession'],
      description: 'The sessions the token may see.',
      resolve: (query, v, _args, ctx) =>
        ctx.prisma.whatsAppSession.findMany({ ...query, where: v.sessionIds ? { id: { in: [...v.sessionIds] } } : {}, orderBy: { id: 'asc' } }),
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Who the bearer token belongs to.',
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ctx.viewer!,
  }),
);

builder.prismaNode('ApiToken', {
  id: { field: 'id' },
  description: 'A bearer token for this API (admins only). The token itself is shown once, when made or rotated.',
  authScopes: { admin: true },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Who or what it is for.' }),
    role: t.expose('role', { type: RoleEnum, description: 'What it may do.' }),
    allSessions: t.boolean({ description: 'It may see every session.', select: { sessionIds: true }, resolve: (row) => row.sessionIds.length === 0 }),
    sessions: t.prismaField({
      type: ['WhatsAppSession'],
      description: 'The sessions it is scoped to (empty when allSessions).',
      select: { sessionIds: true },
      resolve: (query, row, _args, ctx) => ctx.prisma.whatsAppSession.findMany({ ...query, where: { id: { in: row.sessionIds } }, orderBy: { id: 'asc' } }),
    }),
    tokenHint: t.exposeString('tokenHint', { description: 'The token\'s last four characters.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it stops working; null: never.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'When it was last used (to the minute).' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked.' }),
    previousValueValidUntil: t.expose('previousTokenValidUntil', {
      type: 'DateTime',
      nullable: true,
      description: 'After a rotation: until when the previous value is still accepted.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was made.' }),
  }),
});

const CreateApiTokenPayloadRef = builder.objectRef<MintedToken>('CreateApiTokenPayload').implement({
  description: 'A token just made or rotated.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The plain token: shown this once, store it now.' }),
    apiToken: t.prismaField({
      type: 'ApiToken',
      description: 'The token\'s record.',
      resolve: (query, minted, _args, ctx) => ctx.prisma.apiToken.findUniqueOrThrow({ ...query, where: { id: minted.apiToken.id } }),
    }),
  }),
});

const CreateApiTokenInputRef = builder.inputType('CreateApiTokenInput', {
  description: 'A new API token.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1–100 characters.' }),
    role: t.field({ type: RoleEnum, required: true }),
    sessionIds: t.idList({ description: 'The sessions it may see (not for ADMIN); omitted: every session. A token scoped to one session is that session\'s API key.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'When it stops working; omitted: never.' }),
  }),
});

function tokenIdFrom(globalId: string): string {
  const id = parseGlobalId(globalId, 'ApiToken');
  if (!id) throw new NotFoundError('API token');
  return id;
}

builder.queryFields((t) => ({
  apiTokens: t.prismaConnection(
    {
      type: 'ApiToken',
      cursor: 'id',
      description: 'Every API token, newest first (admins).',
      authScopes: { admin: true },
      resolve: (query, _root, _args, ctx) => ctx.prisma.apiToken.findMany({ ...query, orderBy: { id: 'desc' } }),
    },
    { name: 'ApiTokenConnection' },
    { name: 'ApiTokenEdge' },
  ),
}));

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreateApiTokenPayloadRef,
    description: 'Makes an API token; the plain token is in the answer, and only there.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateApiTokenInputRef, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const sessionIds = input.sessionIds?.map((globalId) => {
        const id = parseGlobalId(globalId, 'WhatsAppSession');
        if (!id) throw new BadUserInputError({ sessionIds: 'names a session that does not exist' });
        return id;
      });
      return ctx.services.auth.createToken(ctx.viewer!, { ...input, sessionIds });
    },
  }),
  rotateApiToken: t.field({
    type: CreateApiTokenPayloadRef,
    description: 'Issues a new value for the token; the old value stays valid for overlapSeconds (default 86400, one day), then ends.',
    authScopes: { admin: true },
    args: {
      id: t.arg.id({ required: true }),
      overlapSeconds: t.arg.int({ description: 'How long the old value keeps working: 0 ends it at once.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.auth.rotateToken(ctx.viewer!, tokenIdFrom(args.id), args.overlapSeconds),
  }),
  revokeApiToken: t.prismaField({
    type: 'ApiToken',
    description: 'Ends the token at once, in every process; its open WebSocket connections are closed (4403).',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const revoked = await ctx.services.auth.revokeToken(ctx.viewer!, tokenIdFrom(args.id));
      return ctx.prisma.apiToken.findUniqueOrThrow({ ...query, where: { id: revoked.id } });
    },
  }),
}));

