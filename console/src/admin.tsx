/** The admin screen (ADMIN tokens only): the provider integration and the API tokens. */
import type { ResultOf } from '@graphql-typed-document-node/core';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, describeError } from './api.ts';
import { ProviderSettings, SetProviderToken } from './documents.ts';
import type { ProviderTokenSource } from './generated/graphql.ts';
import { Heading, useTitle } from './sessions.tsx';
import { TokensPanel } from './tokens.tsx';
import { Alert, Time, useSigned } from './ui.tsx';

type Provider = ResultOf<typeof ProviderSettings>['providerSettings'];

export function AdminScreen() {
  const { access } = useSigned();
  useTitle('Admin');
  if (access.role !== 'ADMIN') {
    return (
      <main>
        <Heading>Admin</Heading>
        <p class="note">Only an admin token may see this screen.</p>
      </main>
    );
  }
  return (
    <main>
      <Heading>Admin</Heading>
      <ProviderPanel />
      <TokensPanel />
    </main>
  );
}

const SOURCES: Record<ProviderTokenSource, string> = {
  SANDBOX: 'the built-in sandbox’s own token',
  ENVIRONMENT: 'WASENDER_API_TOKEN in the environment',
  DATABASE: 'set here, stored encrypted',
  NONE: 'none: provider calls fail until one is set',
};

function ProviderPanel() {
  const { api } = useSigned();
  const [provider, setProvider] = useState<Provider | null>(null);
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.request(ProviderSettings, {}).then(
      ({ providerSettings }) => setProvider(providerSettings),
      (e: unknown) => setError(describeError(e)),
    );
  }, [api]);

  const verify = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setFieldError(null);
    setNotice(null);
    try {
      const { setProviderToken } = await api.request(SetProviderToken, { token: token.trim() });
      setProvider(setProviderToken);
      setToken('');
      setNotice('The provider accepted the token; it is stored, encrypted.');
    } catch (e) {
      if (e instanceof ApiError && e.fields.token) setFieldError(e.fields.token);
      else setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="provider-heading">
      <h2 id="provider-heading">Provider</h2>
      {error && <Alert>{error}</Alert>}
      {!provider && !error && <p>Loading…</p>}
      {provider && (
        <>
          <dl class="facts">
            <dt>Provider</dt>
            <dd>{provider.sandbox ? 'Built-in sandbox (no real WhatsApp traffic)' : 'WasenderAPI'}</dd>
            <dt>API address</dt>
            <dd>{provider.baseUrl}</dd>
            <dt>Token</dt>
            <dd>{provider.tokenHint ? `…${provider.tokenHint}` : 'none'}</dd>
            <dt>Token from</dt>
            <dd>{SOURCES[provider.source]}</dd>
            <dt>Verified</dt>
            <dd>{provider.verifiedAt ? <Time value={provider.verifiedAt} full /> : 'not yet'}</dd>
          </dl>
          {provider.sandbox ? (
            <p class="note">The built-in sandbox stands in for the provider: there is no token to set or verify while it is on.</p>
          ) : (
            <form onSubmit={verify} noValidate aria-label="Set the provider token">
              <div class="field">
                <label for="provider-token">Provider token</label>
                <p id="provider-token-hint" class="hint">
                  The personal access token from WasenderAPI. It is checked with the provider before it is stored, and never shown again.
                  {provider.source === 'ENVIRONMENT' && ' WASENDER_API_TOKEN in the environment still takes precedence.'}
                </p>
                <input
                  id="provider-token"
                  type="password"
                  autoComplete="off"
                  value={token}
                  aria-invalid={fieldError ? true : undefined}
                  aria-describedby={`provider-token-hint${fieldError ? ' provider-token-error' : ''}`}
                  onInput={(event) => setToken(event.currentTarget.value)}
                />
                {fieldError && (
                  <p id="provider-token-error" class="field-error">
                    {fieldError}
                  </p>
                )}
              </div>
              {notice && (
                <p class="notice" role="status">
                  {notice}
                </p>
              )}
              <button type="submit" disabled={busy || !token.trim()}>
                {busy ? 'Verifying…' : 'Verify and save'}
              </button>
            </form>
          )}
        </>
      )}
    </section>
  );
}
