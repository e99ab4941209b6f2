import { builder } from '../../graphql/builder.ts';
import type { ProviderSettingsView } from './provider-settings.service.ts';

const ProviderTokenSourceEnum = builder.enumType('ProviderTokenSource', {
  description: 'Where the provider token in use comes from.',
  values: {
    ENVIRONMENT: { description: 'WASENDER_API_TOKEN (overrides a stored token).' },
    DATABASE: { description: 'Set by an admin through setProviderToken.' },
    SANDBOX: { description: 'The built-in provider sandbox, with its own token (a stored token is not used while it is on).' },
    NONE: { description: 'No token: provider calls fail until one is set.' },
  } as const,
});

const ProviderSettingsRef = builder.objectRef<ProviderSettingsView>('ProviderSettings').implement({
  description: 'The WasenderAPI integration. The token itself is never returned.',
  fields: (t) => ({
    configured: t.exposeBoolean('configured', { description: 'A token is available.' }),
    tokenHint: t.exposeString('tokenHint', { nullable: true, description: 'The token\'s last four characters.' }),
    baseUrl: t.exposeString('baseUrl', { description: 'The provider API base URL in use.' }),
    sandbox: t.exposeBoolean('sandbox', { description: 'The built-in sandbox stands in for the provider.' }),
    source: t.expose('source', { type: ProviderTokenSourceEnum, description: 'Where the token in use comes from.' }),
    verifiedAt: t.expose('verifiedAt', { type: 'DateTime', nullable: true, description: 'When the stored token was last verified with the provider.' }),
  }),
});

builder.queryField('providerSettings', (t) =>
  t.field({
    type: ProviderSettingsRef,
    description: 'The provider integration (admins).',
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.services.providerSettings.view(),
  }),
);

builder.mutationField('setProviderToken', (t) =>
  t.field({
    type: ProviderSettingsRef,
    description:
      'Stores the provider\'s personal access token, encrypted, after verifying it with the provider. Refused with INVALID_STATE while the built-in sandbox stands in for the provider.',
    authScopes: { admin: true },
    args: { token: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.providerSettings.setToken(args.token),
  }),
);
