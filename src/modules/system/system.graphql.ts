import { builder } from '../../graphql/builder.ts';

const Role = builder.enumType('Role', {
  description: 'What a token may do: ADMIN everything, AGENT read and act on its sessions, VIEWER read.',
  values: ['ADMIN', 'AGENT', 'VIEWER'] as const,
});

const ViewerRef = builder
  .objectRef<{ role: 'ADMIN' | 'AGENT' | 'VIEWER'; sessionIds: readonly string[] | null }>('Viewer')
  .implement({
    description: 'The caller, as its token identifies it.',
    fields: (t) => ({
      role: t.field({ type: Role, description: 'The token\'s role.', resolve: (v) => v.role }),
      allSessions: t.boolean({
        description: 'Whether the token may see every session (otherwise only those it is scoped to).',
        resolve: (v) => v.sessionIds === null,
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
