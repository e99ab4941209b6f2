/**
 * Health figures over the last 24 hours: a session's (`WhatsAppSession.health`) on its screen, and
 * the totals of every session the token sees (`analytics`, one day-long point) on the sessions
 * screen. Each figure is a <data> element holding the API's value, shown in words.
 */
import type { ResultOf } from '@graphql-typed-document-node/core';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { describeError, serverNow } from './api.ts';
import { HealthTotals, SessionHealth } from './documents.ts';
import { Alert, useSigned } from './ui.tsx';

type Figures = NonNullable<ResultOf<typeof SessionHealth>['session']>['health'];

const percent = (share: number | null) => (share === null ? 'nothing sent' : `${Math.round(share * 1000) / 10} %`);

function duration(seconds: number | null): string {
  if (seconds === null) return 'none yet';
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** The figures shown, in order: the API's field, its label, how it reads. */
const FIGURES: { key: keyof Figures; label: string; show: (value: never) => string }[] = [
  { key: 'uptimePercent', label: 'Uptime', show: (v: number) => `${Math.round(v * 10) / 10} %` },
  { key: 'deliveryRate', label: 'Delivery rate', show: percent },
  { key: 'readRate', label: 'Read rate', show: percent },
  { key: 'medianDeliverySeconds', label: 'Median delivery time', show: duration },
  { key: 'medianResponseSeconds', label: 'Median response time', show: duration },
  { key: 'sent', label: 'Sent', show: String },
  { key: 'delivered', label: 'Delivered', show: String },
  { key: 'read', label: 'Read', show: String },
  { key: 'failed', label: 'Failed', show: String },
  { key: 'received', label: 'Received', show: String },
  { key: 'unanswered', label: 'Unanswered', show: String },
  { key: 'disconnects', label: 'Disconnects', show: String },
];

function FigureList({ figures }: { figures: Figures }) {
  return (
    <dl class="figures">
      {FIGURES.map(({ key, label, show }) => (
        <div key={key}>
          <dt>{label}</dt>
          <dd>
            <data value={figures[key] === null ? '' : String(figures[key])}>{show(figures[key] as never)}</data>
          </dd>
        </div>
      ))}
    </dl>
  );
}

function HealthCard({ heading, figures, error, onRefresh }: { heading: string; figures: Figures | null; error: string | null; onRefresh: () => void }) {
  const id = heading.toLowerCase().replace(/\W+/g, '-');
  return (
    <section class="card health" aria-labelledby={id}>
      <div class="title-row">
        <h2 id={id}>{heading}</h2>
        <button type="button" class="quiet" onClick={onRefresh}>
          Refresh
        </button>
      </div>
      {error && <Alert>{error}</Alert>}
      {figures ? <FigureList figures={figures} /> : !error && <p>Loading…</p>}
    </section>
  );
}

/** A session's health; read again when `version` changes (the session's status moved). */
export function SessionHealthPanel({ sessionId, version }: { sessionId: string; version: number }) {
  const { api } = useSigned();
  const [figures, setFigures] = useState<Figures | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const { session } = await api.request(SessionHealth, { id: sessionId });
      if (session) setFigures(session.health);
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }, [api, sessionId]);
  useEffect(() => void load(), [load, version]);
  return <HealthCard heading="Health, last 24 hours" figures={figures} error={error} onRefresh={() => void load()} />;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Every session the token sees, together. */
export function HealthTotalsPanel() {
  const { api } = useSigned();
  const [figures, setFigures] = useState<Figures | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const to = new Date(serverNow());
      const { analytics } = await api.request(HealthTotals, { from: new Date(to.getTime() - DAY_MS).toISOString(), to: to.toISOString() });
      setFigures(analytics[0] ?? null);
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }, [api]);
  useEffect(() => void load(), [load]);
  return <HealthCard heading="All sessions, last 24 hours" figures={figures} error={error} onRefresh={() => void load()} />;
}
