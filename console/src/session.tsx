/** One session: live status and QR (with its countdown), actions, settings and the event log. */
import type { ResultOf } from '@graphql-typed-document-node/core';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, describeError, serverNow } from './api.ts';
import { QrCodeUpdated, Session, SessionChanged, SessionDeleted, SessionLogs, UpdateSession } from './documents.ts';
import { SettingsFields, TextField, type Settings } from './form.tsx';
import { SessionHealthPanel } from './health.tsx';
import { BASE } from './router.ts';
import { Heading, SessionActions, useTitle } from './sessions.tsx';
import { Alert, Link, STATUS_LABELS, StatusBadge, Time, useSigned } from './ui.tsx';

type Detail = NonNullable<ResultOf<typeof Session>['session']>;
type Qr = NonNullable<Detail['qrCode']>;
type LogEntry = NonNullable<ResultOf<typeof SessionLogs>['session']>['logs']['nodes'][number];

export function SessionScreen({ id }: { id: string }) {
  const { api, access } = useSigned();
  const [session, setSession] = useState<Detail | null | undefined>(undefined);
  const [qr, setQr] = useState<Qr | null>(null);
  const [gone, setGone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [logVersion, setLogVersion] = useState(0);
  useTitle(session?.name ?? 'Session');

  const apply = useCallback((next: Detail) => {
    setSession(next);
    if (next.status === 'QR_READY' && next.qrCode) setQr(next.qrCode);
    if (next.status !== 'QR_READY') setQr(null);
    setLogVersion((v) => v + 1);
  }, []);

  const load = useCallback(async () => {
    try {
      const { session: found } = await api.request(Session, { id });
      if (found) apply(found);
      else setSession(null);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'NOT_FOUND') setSession(null);
      else setError(describeError(e));
    }
  }, [api, id, apply]);

  useEffect(() => api.subscribe(SessionChanged, { sessionId: id }, { next: (data) => apply(data.sessionStatusChanged) }), [api, id, apply]);
  useEffect(() => api.subscribe(QrCodeUpdated, { sessionId: id }, { next: (data) => setQr(data.qrCodeUpdated) }), [api, id]);
  useEffect(() => api.subscribe(SessionDeleted, { sessionId: id }, { next: () => setGone(true) }), [api, id]);
  useEffect(() => {
    void load();
    return api.onReconnect(() => void load());
  }, [api, load]);

  if (gone || session === null) {
    return (
      <main>
        <Heading>{gone ? 'Session deleted' : 'No such session'}</Heading>
        <p>{gone ? 'This session was deleted.' : 'It does not exist, or your token may not see it.'}</p>
        <Link href={BASE}>All sessions</Link>
      </main>
    );
  }
  if (session === undefined) return <main>{error ? <Alert>{error}</Alert> : <p>Loading…</p>}</main>;

  return (
    <main class="session-screen">
      <p class="back">
        <Link href={BASE}>All sessions</Link>
      </p>
      <div class="title-row start">
        <Heading>{session.name}</Heading>
        <StatusBadge status={session.status} live />
      </div>
      {error && <Alert>{error}</Alert>}
      <dl class="facts">
        <dt>Phone number</dt>
        <dd>{session.phoneNumber}</dd>
        <dt>Provider id</dt>
        <dd>{session.providerSessionId ?? '—'}</dd>
        <dt>Last connected</dt>
        <dd>{session.lastConnectedAt ? <Time value={session.lastConnectedAt} full /> : 'never'}</dd>
        <dt>Created</dt>
        <dd>
          <Time value={session.createdAt} full />
        </dd>
      </dl>
      <SessionActions session={session} onChange={apply} onDeleted={() => setGone(true)} />
      {access.act && (
        <p>
          <Link href={`${BASE}/bulk?session=${encodeURIComponent(session.id)}`}>Bulk send through this session</Link>
        </p>
      )}
      {session.status === 'QR_READY' && <QrPanel qr={qr} />}
      {session.status === 'CONNECTING' && <p class="notice">The phone scanned the code; linking…</p>}
      <SessionHealthPanel sessionId={id} version={logVersion} />
      <SettingsPanel session={session} onSaved={apply} />
      <EventLog sessionId={id} version={logVersion} />
    </main>
  );
}

function QrPanel({ qr }: { qr: Qr | null }) {
  return (
    <section class="card qr" aria-labelledby="qr-heading">
      <h2 id="qr-heading">Link the phone</h2>
      <p>On the phone, open WhatsApp → Settings → Linked devices → Link a device, and scan this code.</p>
      {qr ? (
        <>
          <img src={qr.dataUrl} alt="QR code" width={264} height={264} />
          <Countdown expiresAt={qr.expiresAt} />
        </>
      ) : (
        <p>Waiting for a QR code…</p>
      )}
    </section>
  );
}

function Countdown({ expiresAt }: { expiresAt: string }) {
  const left = () => Math.max(0, Math.round((Date.parse(expiresAt) - serverNow()) / 1000));
  const [seconds, setSeconds] = useState(left);
  useEffect(() => {
    setSeconds(left());
    const timer = setInterval(() => setSeconds(left()), 1000);
    return () => clearInterval(timer);
  }, [expiresAt]);
  return (
    <p class="countdown" role="timer">
      {seconds > 0 ? `Expires in ${seconds} s; a new code replaces it.` : 'This code has expired; a new one is on its way.'}
    </p>
  );
}

function settingsOf(session: Detail): Settings {
  const { accountProtection, logMessages, autoReadMessages, autoRejectCalls } = session;
  return { accountProtection, logMessages, autoReadMessages, autoRejectCalls };
}

function SettingsPanel({ session, onSaved }: { session: Detail; onSaved: (s: Detail) => void }) {
  const { api, access } = useSigned();
  const [name, setName] = useState(session.name);
  const [settings, setSettings] = useState(() => settingsOf(session));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ text: string; failed: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const saved = settingsOf(session);
  // Settings changed elsewhere (or saved here) show as they now are.
  const savedKey = JSON.stringify([session.name, saved]);
  useEffect(() => {
    setName(session.name);
    setSettings(settingsOf(session));
  }, [savedKey]);
  const changed = name !== session.name || Object.entries(settings).some(([key, value]) => saved[key as keyof Settings] !== value);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      const { updateSession } = await api.request(UpdateSession, { input: { id: session.id, name, ...settings } });
      setErrors({});
      onSaved(updateSession);
      setMessage({ text: 'Settings saved.', failed: false });
    } catch (e) {
      setErrors(e instanceof ApiError ? e.fields : {});
      setMessage({ text: describeError(e), failed: true });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" aria-labelledby="settings-heading" onSubmit={submit} noValidate>
      <h2 id="settings-heading">Settings</h2>
      <TextField id="settings-name" label="Name" value={name} onInput={setName} error={errors.name} disabled={!access.manage} />
      <SettingsFields prefix="settings" legend="Options" values={settings} onChange={setSettings} errors={errors} disabled={!access.manage} />
      {message && (
        <p class={message.failed ? 'alert' : 'notice'} role={message.failed ? 'alert' : 'status'}>
          {message.text}
        </p>
      )}
      {access.manage && (
        <button type="submit" disabled={busy || !changed}>
          {busy ? 'Saving…' : 'Save settings'}
        </button>
      )}
    </form>
  );
}

const LOG_LABELS: Record<LogEntry['type'], string> = {
  CREATED: 'Created',
  UPDATED: 'Updated',
  CONNECT_REQUESTED: 'Connect requested',
  QR_GENERATED: 'QR code',
  CONNECTED: 'Connected',
  DISCONNECTED: 'Disconnected',
  RESTARTED: 'Restarted',
  STATUS_CHANGED: 'Status changed',
  API_KEY_ROTATED: 'API key rotated',
  API_KEY_REVEALED: 'API key revealed',
  ERROR: 'Error',
  DELETED: 'Deleted',
};

/** The event log, newest first; the first page is read again whenever the session changes. */
function EventLog({ sessionId, version }: { sessionId: string; version: number }) {
  const { api } = useSigned();
  const [entries, setEntries] = useState<LogEntry[]>([]);
  const [more, setMore] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Where "Older entries" goes on from is set by the first read and by each older page, not by re-reads.
  const started = useRef(false);

  const page = useCallback(
    async (after: string | null) => {
      try {
        const { session } = await api.request(SessionLogs, { id: sessionId, after });
        if (!session) return;
        const { nodes, pageInfo } = session.logs;
        setEntries((list) => {
          if (after) return [...list, ...nodes.filter((n) => !list.some((e) => e.id === n.id))];
          // A fresh first page: new entries on top, older pages already read kept below.
          const fresh = nodes.filter((n) => !list.some((e) => e.id === n.id));
          return [...fresh, ...list];
        });
        if (after || !started.current) setMore(pageInfo.hasNextPage ? (pageInfo.endCursor ?? null) : null);
        started.current = true;
        setError(null);
      } catch (e) {
        setError(describeError(e));
      }
    },
    [api, sessionId],
  );

  useEffect(() => void page(null), [version, sessionId]);

  return (
    <section class="card" aria-labelledby="log-heading">
      <h2 id="log-heading">Event log</h2>
      {error && <Alert>{error}</Alert>}
      <ol class="log">
        {entries.map((entry) => (
          <li key={entry.id} class={entry.type === 'ERROR' ? 'log-error' : ''}>
            <Time value={entry.createdAt} full /> <strong>{LOG_LABELS[entry.type]}</strong>
            {entry.status && <span class="log-status"> ({STATUS_LABELS[entry.status]})</span>}
            <span class="log-message">{entry.message}</span>
          </li>
        ))}
      </ol>
      {more && (
        <button type="button" class="quiet" onClick={() => void page(more)}>
          Older entries
        </button>
      )}
    </section>
  );
}
