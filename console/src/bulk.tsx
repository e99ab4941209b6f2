/**
 * Bulk send: recipients from a pasted or uploaded CSV and a template, every row checked before
 * anything is sent (here with the server's rules, then by the server), and a job's progress live
 * from bulkSendProgress with Pause, Resume and Cancel as its status allows.
 */
import type { ResultOf } from '@graphql-typed-document-node/core';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, describeError, serverNow } from './api.ts';
import { preview, readRecipients, type RowProblem } from './csv.ts';
import { BulkSend, BulkSendProgress, CancelBulkSend, PauseBulkSend, RecentBulkSends, ResumeBulkSend, Sessions, StartBulkSend } from './documents.ts';
import { TextAreaField } from './form.tsx';
import type { BulkSendStatus } from './generated/graphql.ts';
import { BASE, navigate, useLocation } from './router.ts';
import { Heading, useTitle, type SessionSummary } from './sessions.tsx';
import { Alert, Link, STATUS_LABELS, Time, useSigned } from './ui.tsx';

type Job = NonNullable<ResultOf<typeof BulkSend>['bulkSend']>;

export function BulkScreen({ jobId }: { jobId: string | null }) {
  return jobId ? <JobProgress key={jobId} jobId={jobId} /> : <NewBulkSend />;
}

const TEMPLATE_HINT = '{{name}} becomes each row’s name. With a header line, other columns fill {{column}} too.';
const CSV_HINT = 'One recipient a line: phone,name (e.g. +255712345678,Asha). A header line is optional; put a name holding a comma in double quotes.';

function NewBulkSend() {
  const { api, access } = useSigned();
  const { params } = useLocation();
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [sessionId, setSessionId] = useState(params.get('session') ?? '');
  const [template, setTemplate] = useState('');
  const [csv, setCsv] = useState('');
  const [serverProblems, setServerProblems] = useState<RowProblem[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const problemsHeading = useRef<HTMLHeadingElement>(null);
  useTitle('Bulk send');

  useEffect(() => {
    api.request(Sessions, { after: null }).then(
      ({ sessions: page }) => {
        setSessions(page.nodes);
        setSessionId((id) => id || (page.nodes.find((s) => s.status === 'CONNECTED') ?? page.nodes[0])?.id || '');
      },
      (e: unknown) => setFailure(describeError(e)),
    );
  }, [api]);

  const read = useMemo(() => readRecipients(csv, template), [csv, template]);
  // What the server said applies to the rows it was given: editing them clears it.
  useEffect(() => setServerProblems([]), [csv, template]);
  const problems = [...read.problems, ...serverProblems];

  const upload = async (file: File | undefined) => {
    if (!file) return;
    setCsv(await file.text());
  };

  const start = async (event: Event) => {
    event.preventDefault();
    setFailure(null);
    const local: Record<string, string> = {};
    if (!template.trim()) local.template = 'must not be blank';
    if (!read.recipients.length && !read.problems.length) local.recipients = 'must name at least one recipient';
    setErrors(local);
    if (Object.keys(local).length) return;
    if (read.problems.length) return problemsHeading.current?.focus();
    setBusy(true);
    try {
      const { startBulkSend } = await api.request(StartBulkSend, { input: { sessionId, template, recipients: read.recipients } });
      navigate(`${BASE}/bulk/${encodeURIComponent(startBulkSend.id)}`);
    } catch (e) {
      const fields = e instanceof ApiError ? e.fields : {};
      const rows: RowProblem[] = [];
      const other: Record<string, string> = {};
      for (const [path, message] of Object.entries(fields)) {
        const row = /^recipients\.(\d+)\.(\w+)/.exec(path);
        const index = row ? Number(row[1]) : -1;
        if (row && read.lines[index] !== undefined) rows.push({ line: read.lines[index]!, text: read.recipients[index]!.phone, reason: `${row[2]} ${message}` });
        else other[path] = message;
      }
      setServerProblems(rows);
      setErrors(other);
      if (rows.length) problemsHeading.current?.focus();
      const placed = (key: string) => key === 'template' || key === 'recipients';
      if (!Object.keys(fields).length || Object.keys(other).some((key) => !placed(key))) setFailure(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  if (!access.act) {
    return (
      <main>
        <Heading>Bulk send</Heading>
        <p class="note">Your token may not send messages.</p>
      </main>
    );
  }
  const first = read.recipients[0];
  return (
    <main>
      <Heading>Bulk send</Heading>
      <form class="card bulk" aria-label="New bulk send" onSubmit={start} noValidate>
        {sessions && sessions.length === 0 && <p>There is no session to send through.</p>}
        <div class="field">
          <label for="bulk-session">Session</label>
          <select id="bulk-session" value={sessionId} onChange={(event) => setSessionId(event.currentTarget.value)}>
            {sessions?.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({STATUS_LABELS[s.status]})
              </option>
            ))}
          </select>
        </div>
        <TextAreaField id="bulk-template" label="Message template" hint={TEMPLATE_HINT} value={template} onInput={setTemplate} error={errors.template} />
        <TextAreaField id="bulk-csv" label="Recipients (CSV)" hint={CSV_HINT} rows={6} value={csv} onInput={setCsv} error={errors.recipients} />
        <div class="field">
          <label for="bulk-file">Or upload a CSV file</label>
          <input id="bulk-file" type="file" accept=".csv,text/csv,text/plain" onChange={(event) => void upload(event.currentTarget.files?.[0])} />
        </div>
        <p class="summary" role="status">
          {read.recipients.length} {read.recipients.length === 1 ? 'recipient' : 'recipients'} ready
          {read.repeated > 0 && `; ${read.repeated} repeated ${read.repeated === 1 ? 'phone is' : 'phones are'} sent once`}
          {problems.length > 0 && `; ${problems.length} ${problems.length === 1 ? 'row' : 'rows'} to fix`}
        </p>
        {problems.length > 0 && (
          <section class="problems" aria-labelledby="bulk-problems">
            <h2 id="bulk-problems" ref={problemsHeading} tabIndex={-1}>
              Rows to fix (nothing is sent until every row is good)
            </h2>
            <ul>
              {problems.map((p) => (
                <li key={`${p.line}:${p.reason}`}>
                  <strong>Line {p.line}</strong>
                  {p.text && <code>{p.text}</code>}: {p.reason}
                </li>
              ))}
            </ul>
          </section>
        )}
        {first && template.trim() && (
          <p class="preview">
            <span class="hint">First message, to {first.phone}:</span> {preview(template, first)}
          </p>
        )}
        {failure && <Alert>{failure}</Alert>}
        <button type="submit" disabled={busy || !sessionId}>
          {busy ? 'Starting…' : 'Start sending'}
        </button>
      </form>
      {sessionId && <RecentJobs key={sessionId} sessionId={sessionId} />}
    </main>
  );
}

type RecentJob = NonNullable<ResultOf<typeof RecentBulkSends>['session']>['bulkSends']['nodes'][number];

/** The chosen session's latest bulk sends, each a link to its progress. */
function RecentJobs({ sessionId }: { sessionId: string }) {
  const { api } = useSigned();
  const [jobs, setJobs] = useState<RecentJob[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    api.request(RecentBulkSends, { id: sessionId }).then(
      ({ session }) => setJobs(session?.bulkSends.nodes ?? []),
      (e: unknown) => setFailure(describeError(e)),
    );
  }, [api, sessionId]);
  return (
    <section class="card" aria-labelledby="recent-bulk">
      <h2 id="recent-bulk">Recent bulk sends</h2>
      {failure && <Alert>{failure}</Alert>}
      {jobs && jobs.length === 0 && <p class="note">None through this session yet.</p>}
      {jobs && jobs.length > 0 && (
        <ul class="recent-jobs">
          {jobs.map((job) => (
            <li key={job.id}>
              <Link href={`${BASE}/bulk/${encodeURIComponent(job.id)}`}>{job.template}</Link>
              <span class="hint">
                {' '}
                {JOB_STATUS[job.status]} · {job.sent} of {job.total} sent{job.failed > 0 && `, ${job.failed} failed`} · <Time value={job.createdAt} full />
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const JOB_STATUS: Record<BulkSendStatus, string> = {
  QUEUED: 'Queued',
  RUNNING: 'Sending',
  PAUSED: 'Paused',
  COMPLETED: 'Completed',
  CANCELLED: 'Cancelled',
};

/** The status in words; a paused job says why ("Paused by a user", "The session is DISCONNECTED: …"). */
function statusText(job: Job): string {
  if (job.status !== 'PAUSED' || !job.pausedReason) return JOB_STATUS[job.status];
  return job.pausedReason.startsWith('Paused') ? job.pausedReason : `Paused: ${job.pausedReason}`;
}

function JobProgress({ jobId }: { jobId: string }) {
  const { api, access } = useSigned();
  const [job, setJob] = useState<Job | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  useTitle('Bulk send');

  useEffect(() => {
    api.request(BulkSend, { id: jobId }).then(
      ({ bulkSend }) => setJob((current) => current ?? bulkSend),
      (e: unknown) => (e instanceof ApiError && e.code === 'NOT_FOUND' ? setJob(null) : setError(describeError(e))),
    );
    return api.subscribe(BulkSendProgress, { jobId }, { next: (data) => setJob(data.bulkSendProgress), error: (e) => setError(describeError(e)) });
  }, [api, jobId]);

  const act = async (action: 'pause' | 'resume' | 'cancel') => {
    setBusy(true);
    setError(null);
    try {
      const id = jobId;
      setJob(
        action === 'pause'
          ? (await api.request(PauseBulkSend, { id })).pauseBulkSend
          : action === 'resume'
            ? (await api.request(ResumeBulkSend, { id })).resumeBulkSend
            : (await api.request(CancelBulkSend, { id })).cancelBulkSend,
      );
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  if (job === null) {
    return (
      <main>
        <Heading>No such bulk send</Heading>
        <p>It does not exist, or your token may not see its session.</p>
        <Link href={`${BASE}/bulk`}>New bulk send</Link>
      </main>
    );
  }
  if (!job) return <main>{error ? <Alert>{error}</Alert> : <p>Loading…</p>}</main>;

  const done = job.sent + job.failed;
  const percent = job.total ? Math.floor((done / job.total) * 100) : 100;
  const open = job.status !== 'COMPLETED' && job.status !== 'CANCELLED';
  return (
    <main>
      <p class="back">
        <Link href={`${BASE}/bulk?session=${encodeURIComponent(job.session.id)}`}>New bulk send</Link>
      </p>
      <Heading>Bulk send</Heading>
      <p>
        Through <Link href={`${BASE}/sessions/${encodeURIComponent(job.session.id)}`}>{job.session.name}</Link>, started <Time value={job.createdAt} full />.
      </p>
      <blockquote class="template">{job.template}</blockquote>
      <section class="card" aria-labelledby="progress-heading">
        <h2 id="progress-heading">Progress</h2>
        <p class={`job-status job-${job.status.toLowerCase()}`} role="status">
          {statusText(job)}
        </p>
        <label for="bulk-progress" class="visually-hidden">
          Messages done
        </label>
        <progress id="bulk-progress" max={job.total} value={done} />
        <p class="progress-text">
          <strong>{percent} %</strong> · {done} of {job.total} done
        </p>
        <dl class="facts counts">
          <dt>Sent</dt>
          <dd>{job.sent}</dd>
          <dt>Delivered</dt>
          <dd>{job.delivered}</dd>
          <dt>Read</dt>
          <dd>{job.read}</dd>
          <dt>Failed</dt>
          <dd>{job.failed}</dd>
          <dt>Waiting</dt>
          <dd>{job.queued}</dd>
          <dt>{job.finishedAt ? 'Finished' : 'Estimated finish'}</dt>
          <dd>{job.finishedAt ? <Time value={job.finishedAt} full /> : job.estimatedFinishAt ? <Finish at={job.estimatedFinishAt} /> : '—'}</dd>
        </dl>
        {error && <Alert>{error}</Alert>}
        {access.act && open && !confirming && (
          <div class="actions">
            {job.status === 'PAUSED' ? (
              <button type="button" disabled={busy} onClick={() => act('resume')}>
                Resume
              </button>
            ) : (
              <button type="button" class="quiet" disabled={busy} onClick={() => act('pause')}>
                Pause
              </button>
            )}
            <button type="button" class="danger quiet" disabled={busy} onClick={() => setConfirming(true)}>
              Cancel
            </button>
          </div>
        )}
        {confirming && (
          <div class="actions confirm" role="group" aria-label="Cancel this bulk send?">
            <p>Stop for good? The {job.queued} messages still waiting will never be sent.</p>
            <button type="button" class="danger" disabled={busy} onClick={() => act('cancel')}>
              Yes, cancel
            </button>
            <button type="button" class="quiet" onClick={() => setConfirming(false)}>
              Keep sending
            </button>
          </div>
        )}
      </section>
    </main>
  );
}

/** When the last message should leave, and how long that is from now. */
function Finish({ at }: { at: string }) {
  const left = () => Math.max(0, Math.round((Date.parse(at) - serverNow()) / 1000));
  const [seconds, setSeconds] = useState(left);
  useEffect(() => {
    setSeconds(left());
    const timer = setInterval(() => setSeconds(left()), 1000);
    return () => clearInterval(timer);
  }, [at]);
  return (
    <>
      <Time value={at} full /> ({seconds < 60 ? `about ${seconds} s` : `about ${Math.round(seconds / 60)} min`})
    </>
  );
}
