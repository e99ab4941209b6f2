/** The sessions screen: every session with a live status badge, its actions, and the create form. */
import type { ResultOf } from '@graphql-typed-document-node/core';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, describeError } from './api.ts';
import { ConnectSession, CreateSession, DeleteSession, DisconnectSession, RestartSession, Sessions, SessionsChanged, SessionDeleted } from './documents.ts';
import { SettingsFields, TextField, type Settings } from './form.tsx';
import { HealthTotalsPanel } from './health.tsx';
import type { SessionAction } from './generated/graphql.ts';
import { BASE, navigate } from './router.ts';
import { ACTION_LABELS, Alert, Link, StatusBadge, useSigned } from './ui.tsx';

export type SessionSummary = ResultOf<typeof Sessions>['sessions']['nodes'][number];

export function useTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · whatsapp-graphql`;
  }, [title]);
}

/** Puts the keyboard and screen reader at the top of a screen when it opens. */
export function Heading({ children }: { children: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus({ preventScroll: true }), []);
  return (
    <h1 ref={heading} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function SessionsScreen() {
  const { api, access } = useSigned();
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [more, setMore] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  useTitle('Sessions');

  const upsert = useCallback((session: SessionSummary) => {
    setSessions((list) => {
      if (!list) return list;
      const index = list.findIndex((s) => s.id === session.id);
      return index < 0 ? [...list, session] : list.map((s) => (s.id === session.id ? { ...s, ...session } : s));
    });
  }, []);
  const remove = useCallback((id: string) => setSessions((list) => list?.filter((s) => s.id !== id) ?? list), []);

  const load = useCallback(async () => {
    try {
      const { sessions: page } = await api.request(Sessions, { after: null });
      setSessions(page.nodes);
      setMore(page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }, [api]);

  const loadMore = async () => {
    try {
      const { sessions: page } = await api.request(Sessions, { after: more });
      setSessions((list) => [...(list ?? []), ...page.nodes.filter((n) => !list?.some((s) => s.id === n.id))]);
      setMore(page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
    } catch (e) {
      setError(describeError(e));
    }
  };

  useEffect(() => api.subscribe(SessionsChanged, {}, { next: (data) => upsert(data.sessionStatusChanged) }), [api, upsert]);
  useEffect(() => api.subscribe(SessionDeleted, {}, { next: (data) => remove(data.sessionDeleted) }), [api, remove]);
  useEffect(() => {
    void load();
    return api.onReconnect(() => void load());
  }, [api, load]);

  return (
    <main>
      <div class="title-row">
        <Heading>Sessions</Heading>
        {access.manage && !creating && (
          <button type="button" onClick={() => (setCreating(true), setNotice(null))}>
            New session
          </button>
        )}
      </div>
      {!access.manage && <p class="note">Your token may look but not change sessions.</p>}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {creating && (
        <CreateForm
          onCancel={() => setCreating(false)}
          onCreated={(session) => {
            upsert(session);
            setCreating(false);
            setNotice(`Session “${session.name}” created. Connect it to link the phone.`);
          }}
        />
      )}
      {error && <Alert>{error}</Alert>}
      {sessions === null && !error && <p>Loading sessions…</p>}
      {sessions?.length === 0 && <p>No sessions yet.{access.manage ? ' Create one to link a WhatsApp number.' : ''}</p>}
      {sessions && sessions.length > 0 && (
        <ul class="sessions">
          {sessions.map((session) => (
            <li key={session.id}>
              <SessionCard session={session} onChange={upsert} onDeleted={remove} />
            </li>
          ))}
        </ul>
      )}
      {more && (
        <button type="button" class="quiet" onClick={loadMore}>
          More sessions
        </button>
      )}
      {sessions && sessions.length > 0 && <HealthTotalsPanel />}
    </main>
  );
}

function SessionCard({ session, onChange, onDeleted }: { session: SessionSummary; onChange: (s: SessionSummary) => void; onDeleted: (id: string) => void }) {
  const headingId = `session-${session.id}`;
  return (
    <article class="card session" aria-labelledby={headingId}>
      <div class="session-head">
        <h2 id={headingId}>
          <Link href={`${BASE}/sessions/${encodeURIComponent(session.id)}`}>{session.name}</Link>
        </h2>
        <StatusBadge status={session.status} />
      </div>
      <p class="phone">{session.phoneNumber}</p>
      <SessionActions session={session} onChange={onChange} onDeleted={onDeleted} />
    </article>
  );
}

type Changed = ResultOf<typeof ConnectSession>['connectSession'];

/** The session's availableActions as buttons, for tokens that may manage sessions. Connect opens the session's screen, where the QR is. */
export function SessionActions({ session, onChange, onDeleted }: { session: SessionSummary; onChange: (s: Changed) => void; onDeleted: (id: string) => void }) {
  const { api, access } = useSigned();
  const [busy, setBusy] = useState<SessionAction | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!access.manage) return null;
  const here = `${BASE}/sessions/${encodeURIComponent(session.id)}`;

  const run = async (action: SessionAction) => {
    setBusy(action);
    setError(null);
    try {
      if (action === 'DELETE') {
        await api.request(DeleteSession, { id: session.id });
        onDeleted(session.id);
        if (location.pathname === here) navigate(BASE);
        return;
      }
      const id = session.id;
      const changed =
        action === 'CONNECT'
          ? (await api.request(ConnectSession, { id })).connectSession
          : action === 'DISCONNECT'
            ? (await api.request(DisconnectSession, { id })).disconnectSession
            : (await api.request(RestartSession, { id })).restartSession;
      onChange(changed);
      if (action === 'CONNECT') navigate(here);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(null);
      setConfirming(false);
    }
  };

  if (confirming) {
    return (
      <div class="actions confirm" role="group" aria-label={`Delete ${session.name}?`}>
        <p>Delete “{session.name}” here and at the provider? Its chats and messages go with it.</p>
        <button type="button" class="danger" disabled={busy !== null} onClick={() => run('DELETE')}>
          Yes, delete
        </button>
        <button type="button" class="quiet" onClick={() => setConfirming(false)}>
          Keep it
        </button>
      </div>
    );
  }
  return (
    <div class="actions">
      {session.availableActions.map((action) => (
        <button
          key={action}
          type="button"
          class={action === 'DELETE' ? 'danger quiet' : action === 'CONNECT' ? '' : 'quiet'}
          disabled={busy !== null}
          aria-describedby={error ? `${session.id}-action-error` : undefined}
          onClick={() => (action === 'DELETE' ? setConfirming(true) : run(action))}
        >
          {busy === action ? `${ACTION_LABELS[action]}…` : ACTION_LABELS[action]}
        </button>
      ))}
      {error && (
        <p id={`${session.id}-action-error`} class="alert" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

const NEW_SETTINGS: Settings = { accountProtection: true, logMessages: true, autoReadMessages: false, autoRejectCalls: false };

function CreateForm({ onCreated, onCancel }: { onCreated: (s: SessionSummary) => void; onCancel: () => void }) {
  const { api } = useSigned();
  const [name, setName] = useState('');
  const [phoneNumber, setPhoneNumber] = useState('');
  const [settings, setSettings] = useState(NEW_SETTINGS);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const firstField = useRef<HTMLInputElement | null>(null);
  const fields = useRef<Record<string, HTMLInputElement | null>>({});
  useEffect(() => firstField.current?.focus(), []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      const { createSession } = await api.request(CreateSession, { input: { name, phoneNumber: phoneNumber.trim(), ...settings } });
      onCreated(createSession);
    } catch (e) {
      const fieldErrors = e instanceof ApiError ? e.fields : {};
      setErrors(fieldErrors);
      const unplaced = Object.keys(fieldErrors).filter((key) => !['name', 'phoneNumber', ...Object.keys(NEW_SETTINGS)].includes(key));
      if (!Object.keys(fieldErrors).length || unplaced.length) setFailure(describeError(e));
      const first = ['name', 'phoneNumber'].find((key) => fieldErrors[key]);
      if (first) fields.current[first]?.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card create" aria-labelledby="create-heading" onSubmit={submit} noValidate>
      <h2 id="create-heading">New session</h2>
      <TextField
        id="new-name"
        label="Name"
        hint="For people, e.g. “Sales”."
        value={name}
        onInput={setName}
        error={errors.name}
        inputRef={(element) => ((firstField.current = element), (fields.current.name = element))}
      />
      <TextField
        id="new-phone"
        label="Phone number"
        hint="With the country code, e.g. +255712345678."
        type="tel"
        autoComplete="tel"
        value={phoneNumber}
        onInput={setPhoneNumber}
        error={errors.phoneNumber}
        inputRef={(element) => (fields.current.phoneNumber = element)}
      />
      <SettingsFields prefix="new" legend="Settings" values={settings} onChange={setSettings} errors={errors} />
      {failure && <Alert>{failure}</Alert>}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create'}
        </button>
        <button type="button" class="quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
