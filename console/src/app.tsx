/** Sign-in, the frame around every screen, and which screen a path shows. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AdminScreen } from './admin.tsx';
import { checkToken, createApi, describeError, type LinkStatus } from './api.ts';
import { BulkScreen } from './bulk.tsx';
import { Viewer } from './documents.ts';
import { InboxScreen } from './inbox.tsx';
import { BASE, useLocation } from './router.ts';
import { SessionScreen } from './session.tsx';
import { SessionsScreen } from './sessions.tsx';
import { accessFor, Alert, Link, SignedIn, type Access } from './ui.tsx';

const TOKEN_KEY = 'whatsapp-graphql.token';
/** Set by "Sign out", so the development token does not sign this tab in again. */
const SIGNED_OUT_KEY = 'whatsapp-graphql.signed-out';

type State = { phase: 'starting' } | { phase: 'signed-out'; error?: string } | { phase: 'signed-in'; token: string; access: Access };

async function devToken(): Promise<string | null> {
  if (sessionStorage.getItem(SIGNED_OUT_KEY)) return null;
  const response = await fetch(`${BASE}/dev-token`).catch(() => null);
  if (!response?.ok) return null;
  return ((await response.json()) as { token: string | null }).token;
}

export function App() {
  const [state, setState] = useState<State>({ phase: 'starting' });

  async function signIn(token: string, remembered: boolean): Promise<void> {
    try {
      const data = await checkToken(token, Viewer);
      if (!data) {
        if (remembered) sessionStorage.removeItem(TOKEN_KEY);
        return setState({ phase: 'signed-out', ...(remembered ? {} : { error: 'That token was not accepted.' }) });
      }
      sessionStorage.setItem(TOKEN_KEY, token);
      sessionStorage.removeItem(SIGNED_OUT_KEY);
      setState({ phase: 'signed-in', token, access: accessFor(data.viewer) });
    } catch (error) {
      setState({ phase: 'signed-out', error: describeError(error) });
    }
  }

  useEffect(() => {
    void (async () => {
      const token = sessionStorage.getItem(TOKEN_KEY) ?? (await devToken());
      if (token) await signIn(token, true);
      else setState({ phase: 'signed-out' });
    })();
  }, []);

  const signOut = (reason?: string) => {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.setItem(SIGNED_OUT_KEY, '1');
    setState({ phase: 'signed-out', ...(reason ? { error: reason } : {}) });
  };

  if (state.phase === 'starting') return <p class="starting">Loading…</p>;
  if (state.phase === 'signed-out') return <SignIn error={state.error} onSubmit={(token) => signIn(token, false)} />;
  return <Shell key={state.token} token={state.token} access={state.access} onSignOut={signOut} />;
}

function SignIn({ error, onSubmit }: { error?: string | undefined; onSubmit: (token: string) => Promise<void> }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => field.current?.focus(), [error]);
  return (
    <main class="sign-in">
      <h1>Sign in</h1>
      <p>Sign in with an API token (or the admin token the server printed when it started).</p>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          await onSubmit(token.trim());
          setBusy(false);
        }}
      >
        <label for="token">Token</label>
        <input
          id="token"
          ref={field}
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={token}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'token-error' : undefined}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        {error && (
          <p id="token-error" class="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

/** The parts of the console, by the first segment of their path (the sessions list is the console's root). */
const AREAS = ['sessions', 'inbox', 'bulk', 'admin'] as const;
type Area = (typeof AREAS)[number];

const LINK_LABELS: Record<LinkStatus, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' };

function Shell({ token, access, onSignOut }: { token: string; access: Access; onSignOut: (reason?: string) => void }) {
  const api = useMemo(() => createApi(token, () => onSignOut('The token is no longer accepted. Sign in again.')), [token]);
  useEffect(() => () => api.close(), [api]);
  const [link, setLink] = useState<LinkStatus>('connecting');
  useEffect(() => api.onStatus(setLink), [api]);
  const signed = useMemo(() => ({ api, access }), [api, access]);
  const { path } = useLocation();
  const area = AREAS.find((a) => path === `${BASE}/${a}` || path.startsWith(`${BASE}/${a}/`)) ?? 'sessions';
  const current = (name: Area) => (area === name ? ('page' as const) : undefined);

  return (
    <SignedIn.Provider value={signed}>
      <header class="top">
        <nav aria-label="Console">
          <Link href={BASE} aria-current={current('sessions')}>
            Sessions
          </Link>
          <Link href={`${BASE}/inbox`} aria-current={current('inbox')}>
            Inbox
          </Link>
          {access.act && (
            <Link href={`${BASE}/bulk`} aria-current={current('bulk')}>
              Bulk send
            </Link>
          )}
          {access.role === 'ADMIN' && (
            <Link href={`${BASE}/admin`} aria-current={current('admin')}>
              Admin
            </Link>
          )}
        </nav>
        <p class={`link link-${link}`} role="status">
          {LINK_LABELS[link]}
        </p>
        <p class="role">{access.role.toLowerCase()}</p>
        <button type="button" class="quiet" onClick={() => onSignOut()}>
          Sign out
        </button>
      </header>
      <Screen path={path} />
    </SignedIn.Provider>
  );
}

function Screen({ path }: { path: string }) {
  const session = new RegExp(`^${BASE}/sessions/([^/]+)$`).exec(path);
  const chat = new RegExp(`^${BASE}/inbox/([^/]+)$`).exec(path);
  const job = new RegExp(`^${BASE}/bulk/([^/]+)$`).exec(path);
  if (path === BASE) return <SessionsScreen />;
  if (session?.[1]) return <SessionScreen id={decodeURIComponent(session[1])} />;
  if (path === `${BASE}/inbox`) return <InboxScreen chatId={null} />;
  if (chat?.[1]) return <InboxScreen chatId={decodeURIComponent(chat[1])} />;
  if (path === `${BASE}/bulk`) return <BulkScreen jobId={null} />;
  if (job?.[1]) return <BulkScreen jobId={decodeURIComponent(job[1])} />;
  if (path === `${BASE}/admin`) return <AdminScreen />;
  return <NotFound />;
}

function NotFound() {
  return (
    <main>
      <h1>Not found</h1>
      <Alert>There is no such screen.</Alert>
      <Link href={BASE}>Back to the sessions</Link>
    </main>
  );
}
