/**
 * API tokens (admins): the list, a new token with its role and session scope, rotation with an
 * overlap, and revocation. A token's value is shown once, right after it is made or rotated, with a
 * Copy button; it is kept only in this component's state until "Done".
 */
import type { ResultOf } from '@graphql-typed-document-node/core';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, describeError } from './api.ts';
import { ApiTokens, CreateApiToken, RevokeApiToken, RotateApiToken, Sessions } from './documents.ts';
import { TextField } from './form.tsx';
import type { Role } from './generated/graphql.ts';
import type { SessionSummary } from './sessions.tsx';
import { Alert, Time, useSigned } from './ui.tsx';

type Token = ResultOf<typeof ApiTokens>['apiTokens']['nodes'][number];

const ROLES: Record<Role, { label: string; hint: string }> = {
  ADMIN: { label: 'Admin', hint: 'everything, on every session' },
  AGENT: { label: 'Agent', hint: 'reads and works the inbox: sends, bulk sends, marks read' },
  VIEWER: { label: 'Viewer', hint: 'reads only' },
};

const OVERLAPS = [
  { seconds: 0, label: 'Not at all' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '1 day' },
  { seconds: 604_800, label: '7 days' },
];

interface Secret {
  name: string;
  token: string;
  /** After a rotation: until when the old value works. */
  oldUntil: string | null;
}

export function TokensPanel() {
  const { api } = useSigned();
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [more, setMore] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<Secret | null>(null);

  const page = useCallback(
    async (after: string | null) => {
      try {
        const { apiTokens } = await api.request(ApiTokens, { after });
        setTokens((list) => (after ? [...(list ?? []), ...apiTokens.nodes.filter((n) => !list?.some((t) => t.id === n.id))] : apiTokens.nodes));
        setMore(apiTokens.pageInfo.hasNextPage ? (apiTokens.pageInfo.endCursor ?? null) : null);
        setError(null);
      } catch (e) {
        setError(describeError(e));
      }
    },
    [api],
  );
  useEffect(() => void page(null), [page]);

  const replace = (token: Token) => setTokens((list) => (list?.some((t) => t.id === token.id) ? list.map((t) => (t.id === token.id ? token : t)) : [token, ...(list ?? [])]));

  return (
    <section class="card" aria-labelledby="tokens-heading">
      <div class="title-row">
        <h2 id="tokens-heading">API tokens</h2>
        {!creating && (
          <button type="button" onClick={() => (setCreating(true), setSecret(null))}>
            New token
          </button>
        )}
      </div>
      {secret && <SecretOnce secret={secret} onDone={() => setSecret(null)} />}
      {creating && (
        <CreateTokenForm
          onCancel={() => setCreating(false)}
          onCreated={(token, value) => {
            replace(token);
            setCreating(false);
            setSecret({ name: token.name, token: value, oldUntil: null });
          }}
        />
      )}
      {error && <Alert>{error}</Alert>}
      {tokens?.length === 0 && <p>No API tokens yet.</p>}
      {tokens && tokens.length > 0 && (
        <ul class="tokens">
          {tokens.map((token) => (
            <li key={token.id}>
              <TokenCard token={token} onChange={replace} onSecret={setSecret} />
            </li>
          ))}
        </ul>
      )}
      {more && (
        <button type="button" class="quiet" onClick={() => void page(more)}>
          More tokens
        </button>
      )}
    </section>
  );
}

function SecretOnce({ secret, onDone }: { secret: Secret; onDone: () => void }) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => field.current?.select(), [secret.token]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret.token);
      setCopied('Copied.');
    } catch {
      // No clipboard (a page not on https or localhost): the value is selected for the keyboard.
      field.current?.select();
      setCopied('Selected: copy it with Ctrl+C (⌘C).');
    }
  };
  return (
    <div class="secret" role="region" aria-label="New token value">
      <p class="notice">
        {secret.oldUntil ? `New value for “${secret.name}”.` : `Token “${secret.name}” made.`} Copy it now: it is not shown again.
      </p>
      <label for="secret-value">Token value</label>
      <div class="secret-row">
        <input id="secret-value" ref={field} type="text" readOnly value={secret.token} spellcheck={false} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      {copied && <p role="status">{copied}</p>}
      {secret.oldUntil && (
        <p>
          The old value keeps working until <Time value={secret.oldUntil} full />.
        </p>
      )}
      <button type="button" class="quiet" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

function CreateTokenForm({ onCreated, onCancel }: { onCreated: (token: Token, value: string) => void; onCancel: () => void }) {
  const { api } = useSigned();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('AGENT');
  const [everySession, setEverySession] = useState(true);
  const [chosen, setChosen] = useState<string[]>([]);
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement | null>(null);
  useEffect(() => first.current?.focus(), []);
  useEffect(() => {
    api.request(Sessions, { after: null }).then(
      ({ sessions: page }) => setSessions(page.nodes),
      (e: unknown) => setFailure(describeError(e)),
    );
  }, [api]);
  const scoped = role !== 'ADMIN' && !everySession;

  const submit = async (event: Event) => {
    event.preventDefault();
    setFailure(null);
    if (scoped && !chosen.length) return setErrors({ sessionIds: 'tick at least one session, or choose every session' });
    setBusy(true);
    try {
      const { createApiToken } = await api.request(CreateApiToken, { input: { name, role, ...(scoped ? { sessionIds: chosen } : {}) } });
      onCreated(createApiToken.apiToken, createApiToken.token);
    } catch (e) {
      const fields = e instanceof ApiError ? e.fields : {};
      setErrors(fields);
      if (!Object.keys(fields).length || Object.keys(fields).some((key) => !['name', 'role', 'sessionIds'].includes(key.split('.')[0]!))) setFailure(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const scopeError = errors.sessionIds ?? Object.entries(errors).find(([key]) => key.startsWith('sessionIds.'))?.[1];
  return (
    <form class="token-create" aria-labelledby="new-token-heading" onSubmit={submit} noValidate>
      <h3 id="new-token-heading">New token</h3>
      <TextField id="token-name" label="Name" hint="Who or what it is for, e.g. “Front desk tablet”." value={name} onInput={setName} error={errors.name} inputRef={(el) => (first.current = el)} />
      <fieldset>
        <legend>Role</legend>
        {(Object.keys(ROLES) as Role[]).map((value) => (
          <div class="check" key={value}>
            <input id={`token-role-${value}`} type="radio" name="token-role" checked={role === value} onChange={() => setRole(value)} aria-describedby={`token-role-${value}-hint`} />
            <label for={`token-role-${value}`}>{ROLES[value].label}</label>
            <p id={`token-role-${value}-hint`} class="hint">
              {ROLES[value].hint}
            </p>
          </div>
        ))}
      </fieldset>
      <fieldset disabled={role === 'ADMIN'} aria-describedby={scopeError ? 'token-scope-error' : undefined}>
        <legend>Sessions it may see</legend>
        {role === 'ADMIN' && <p class="hint">An admin token sees every session.</p>}
        <div class="check">
          <input id="token-scope-all" type="radio" name="token-scope" checked={role === 'ADMIN' || everySession} onChange={() => setEverySession(true)} />
          <label for="token-scope-all">Every session</label>
        </div>
        <div class="check">
          <input id="token-scope-some" type="radio" name="token-scope" checked={role !== 'ADMIN' && !everySession} onChange={() => setEverySession(false)} />
          <label for="token-scope-some">Only these sessions</label>
        </div>
        {scoped && (
          <ul class="scope">
            {sessions.map((s) => (
              <li class="check" key={s.id}>
                <input
                  id={`token-session-${s.id}`}
                  type="checkbox"
                  checked={chosen.includes(s.id)}
                  onChange={(event) => setChosen((list) => (event.currentTarget.checked ? [...list, s.id] : list.filter((id) => id !== s.id)))}
                />
                <label for={`token-session-${s.id}`}>
                  {s.name} <span class="phone">{s.phoneNumber}</span>
                </label>
              </li>
            ))}
          </ul>
        )}
        {scopeError && (
          <p id="token-scope-error" class="field-error">
            {scopeError}
          </p>
        )}
      </fieldset>
      {failure && <Alert>{failure}</Alert>}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create token'}
        </button>
        <button type="button" class="quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function TokenCard({ token, onChange, onSecret }: { token: Token; onChange: (t: Token) => void; onSecret: (s: Secret) => void }) {
  const { api } = useSigned();
  const [asking, setAsking] = useState<'rotate' | 'revoke' | null>(null);
  const [overlap, setOverlap] = useState(86_400);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const headingId = `token-${token.id}`;

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      if (asking === 'rotate') {
        const { rotateApiToken } = await api.request(RotateApiToken, { id: token.id, overlapSeconds: overlap });
        onChange(rotateApiToken.apiToken);
        onSecret({ name: token.name, token: rotateApiToken.token, oldUntil: rotateApiToken.apiToken.previousValueValidUntil ?? null });
      } else {
        onChange((await api.request(RevokeApiToken, { id: token.id })).revokeApiToken);
      }
      setAsking(null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <article class={`token${token.revokedAt ? ' revoked' : ''}`} aria-labelledby={headingId}>
      <div class="session-head">
        <h3 id={headingId}>{token.name}</h3>
        <span class={`badge role-${token.role.toLowerCase()}`}>{token.revokedAt ? 'Revoked' : ROLES[token.role].label}</span>
      </div>
      <dl class="facts">
        <dt>Sessions</dt>
        <dd>{token.allSessions ? 'Every session' : token.sessions.map((s) => s.name).join(', ') || 'none left'}</dd>
        <dt>Value ends with</dt>
        <dd>…{token.tokenHint}</dd>
        <dt>Made</dt>
        <dd>
          <Time value={token.createdAt} full />
        </dd>
        <dt>Last used</dt>
        <dd>{token.lastUsedAt ? <Time value={token.lastUsedAt} full /> : 'never'}</dd>
        {token.expiresAt && (
          <>
            <dt>Expires</dt>
            <dd>
              <Time value={token.expiresAt} full />
            </dd>
          </>
        )}
        {token.previousValueValidUntil && !token.revokedAt && (
          <>
            <dt>Old value until</dt>
            <dd>
              <Time value={token.previousValueValidUntil} full />
            </dd>
          </>
        )}
        {token.revokedAt && (
          <>
            <dt>Revoked</dt>
            <dd>
              <Time value={token.revokedAt} full />
            </dd>
          </>
        )}
      </dl>
      {!token.revokedAt && !asking && (
        <div class="actions">
          <button type="button" class="quiet" onClick={() => setAsking('rotate')}>
            Rotate
          </button>
          <button type="button" class="danger quiet" onClick={() => setAsking('revoke')}>
            Revoke
          </button>
        </div>
      )}
      {asking && (
        <div class="actions confirm" role="group" aria-label={asking === 'rotate' ? `Rotate ${token.name}?` : `Revoke ${token.name}?`}>
          {asking === 'rotate' ? (
            <div class="field">
              <label for={`${headingId}-overlap`}>The old value keeps working for</label>
              <select id={`${headingId}-overlap`} value={overlap} onChange={(event) => setOverlap(Number(event.currentTarget.value))}>
                {OVERLAPS.map((o) => (
                  <option key={o.seconds} value={o.seconds}>
                    {o.label}
                  </option>
                ))}
              </select>
            </div>
          ) : (
            <p>Revoke “{token.name}”? Everything using it stops at once.</p>
          )}
          <button type="button" class={asking === 'revoke' ? 'danger' : ''} disabled={busy} onClick={() => void run()}>
            {asking === 'rotate' ? 'Yes, rotate' : 'Yes, revoke'}
          </button>
          <button type="button" class="quiet" onClick={() => setAsking(null)}>
            Keep it
          </button>
        </div>
      )}
      {error && <Alert>{error}</Alert>}
    </article>
  );
}
