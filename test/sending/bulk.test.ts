/**
 * Bulk sends through the outbox, against the sandbox over HTTP: every row validated first, the
 * template filled per recipient, duplicates sent once, progress live; pause, resume and cancel on
 * the injected clock (account protection keeps the job mid-flight); a session that disconnects
 * pauses its jobs until it is connected again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, settled, type ConnectedSession } from '../helpers/inbox.ts';
import { control, sandboxSends } from '../helpers/sandbox.ts';
import { connectWs } from '../helpers/ws.ts';
import { ConnectSession } from '../sessions/documents.ts';
import { BulkSend, BulkSendProgress, CancelBulkSend, PauseBulkSend, ResumeBulkSend, SessionBulkSends, StartBulkSend } from './documents.ts';

/** Provider round trips are slow on a busy machine: wait long enough. */
const waitFor: typeof eventually = (check, timeoutMs = 20_000) => eventually(check, timeoutMs);

describe('bulk sends', () => {
  let app: TestApp;
  let session: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp({ outbox: { settleIntervalMs: 100 } });
    session = await connectedSession(app, 'Promotions');
  });
  afterAll(() => app.stop());

  async function queuedNothing() {
    const prisma = app.running.db.prisma;
    return (await prisma.bulkSendJob.count()) === 0 && (await prisma.outboxMessage.count({ where: { bulkSendJobId: { not: null } } })) === 0;
  }

  it('names every bad row and queues nothing', async () => {
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [
        { template: 'Hi {{name}}', recipients: [{ phone: '+255700000001', name: 'A' }, { phone: '0700 000', name: 'B' }, { phone: '+255700000003', name: 'C' }, { phone: 'x', name: 'D' }] },
        { 'recipients.1.phone': expect.stringContaining('E.164'), 'recipients.3.phone': expect.stringContaining('E.164') },
      ],
      [
        { template: 'Hi {{name}}, code {{code}}', recipients: [{ phone: '+255700000001', name: 'A', variables: { code: 7 } }, { phone: '+255700000002', name: 'B' }] },
        { 'recipients.1.variables': 'has no value for {{code}} used by the template' },
      ],
      [{ template: 'Hi {{name}}', recipients: [{ phone: '+255700000001' }] }, { 'recipients.0.name': 'has no value for {{name}} used by the template' }],
      [{ template: '  ', recipients: [{ phone: '+255700000001' }] }, { template: 'must not be blank' }],
      [{ template: 'Hi', recipients: [] }, { recipients: 'must name at least one recipient' }],
      [
        { template: 'Hi', recipients: Array.from({ length: 10_001 }, (_, i) => ({ phone: `+2557${String(10_000_000 + i)}` })) },
        { recipients: 'must have at most 10000 recipients' },
      ],
      [
        { template: 'Hi', recipients: [{ phone: '+255700000001' }], image: { url: 'https://x.example/a.jpg' }, document: { url: 'https://x.example/a.pdf' } },
        { image: expect.any(String), document: expect.any(String) },
      ],
      [{ template: 'Hi', recipients: [{ phone: '+255700000001' }], image: { url: 'file:///etc/passwd' } }, { 'image.url': 'must be an http or https URL' }],
      [{ template: 'Hi', recipients: [{ phone: '+255700000001', variables: ['not', 'an', 'object'] }] }, { 'recipients.0.variables': expect.any(String) }],
    ];
    for (const [input, fields] of cases) {
      const result = await app.execute(StartBulkSend, { input: { sessionId: session.id, ...(input as { template: string; recipients: { phone: string }[] }) } });
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(input).slice(0, 200)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions?.fields).toEqual(fields);
    }
    // Thousands of bad rows: the first hundred named, the rest counted.
    const many = await app.execute(StartBulkSend, { input: { sessionId: session.id, template: 'Hi', recipients: Array.from({ length: 500 }, () => ({ phone: 'bad' })) } });
    const fields = many.errors?.[0]?.extensions?.fields as Record<string, string>;
    expect(Object.keys(fields)).toHaveLength(101);
    expect(fields.recipients).toBe('500 rows are invalid; the first 100 are named');
    expect(await queuedNothing()).toBe(true);
  });

  it('sends the filled template once per phone, with live progress to COMPLETED and read', async () => {
    const recipients = [
      { phone: '+255788000001', name: 'Asha', variables: { code: 'A1' } },
      { phone: '+255788000002', name: 'Baraka', variables: { code: 'B2' } },
      { phone: '+255788000001', name: 'Asha again', variables: { code: 'XX' } },
      { phone: '+255788000003', variables: { name: 'Chausiku', code: 3 } },
    ];
    const { startBulkSend: job } = await app.data(StartBulkSend, { input: { sessionId: session.id, template: 'Hi {{name}}, your code is {{ code }}.', recipients } });
    expect(job).toMatchObject({ total: 3, status: expect.stringMatching(/QUEUED|RUNNING/), failed: 0 });

    const ws = connectWs(app.url);
    const progress = ws.subscribe(BulkSendProgress, { jobId: job.id });
    // First the job as it is.
    expect((await progress.next(20_000)).bulkSendProgress).toMatchObject({ id: job.id, total: 3 });
    const last = await waitFor(async () => {
      const seen = progress.pending().map((e) => e.bulkSendProgress);
      return seen.find((j) => j.status === 'COMPLETED' && j.read === 3);
    });
    expect(last).toMatchObject({ total: 3, queued: 0, sent: 3, delivered: 3, read: 3, failed: 0, estimatedFinishAt: null });
    const sends = (await sandboxSends(app, session.providerSessionId)).filter((s) => String(s.to).startsWith('+25578800000'));
    expect(sends.map((s) => s.body)).toEqual([
      { to: '+255788000001', text: 'Hi Asha, your code is A1.' },
      { to: '+255788000002', text: 'Hi Baraka, your code is B2.' },
      { to: '+255788000003', text: 'Hi Chausiku, your code is 3.' },
    ]);
    // Each message is in its recipient's chat, linked to the job.
    const messages = await app.running.db.prisma.message.findMany({ where: { bulkSendJobId: Buffer.from(job.id, 'base64').toString().split(':')[1] }, include: { chat: true } });
    expect(messages.map((m) => [m.chat.phoneNumber, m.status]).sort()).toEqual([
      ['+255788000001', 'READ'],
      ['+255788000002', 'READ'],
      ['+255788000003', 'READ'],
    ]);
    await ws.close();
  });

  it('sends an image with the filled template as its caption', async () => {
    const { startBulkSend: job } = await app.data(StartBulkSend, {
      input: { sessionId: session.id, template: 'New stock, {{name}}!', image: { url: 'https://cdn.example.com/stock.jpg' }, recipients: [{ phone: '+255788000101', name: 'Dora' }] },
    });
    await waitFor(async () => (await app.data(BulkSend, { id: job.id })).bulkSend?.status === 'COMPLETED');
    const [send] = (await sandboxSends(app, session.providerSessionId)).filter((s) => s.to === '+255788000101');
    expect(send!.body).toEqual({ to: '+255788000101', imageUrl: 'https://cdn.example.com/stock.jpg', text: 'New stock, Dora!' });
  });

  it("lists a session's bulk sends newest first, page by page", async () => {
    const start = async (template: string, phone: string) =>
      (await app.data(StartBulkSend, { input: { sessionId: session.id, template, recipients: [{ phone, name: 'Eli' }] } })).startBulkSend.id;
    const older = await start('Older list entry, {{name}}', '+255788000201');
    const newer = await start('Newer list entry, {{name}}', '+255788000202');
    const all = (await app.data(SessionBulkSends, { id: session.id, first: 100 })).session!.bulkSends;
    const ids = all.edges.map((e) => e.node.id);
    expect(ids.slice(0, 2)).toEqual([newer, older]);
    expect(all.pageInfo.hasNextPage).toBe(false);

    const first = (await app.data(SessionBulkSends, { id: session.id, first: 1 })).session!.bulkSends;
    expect(first.edges.map((e) => e.node.template)).toEqual(['Newer list entry, {{name}}']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = (await app.data(SessionBulkSends, { id: session.id, first: 1, after: first.pageInfo.endCursor })).session!.bulkSends;
    expect(next.edges.map((e) => e.node.id)).toEqual([older]);

    // A cursor that is not one of ours, garbled or forged to decode to something else, is bad input.
    for (const after of ['garbage', Buffer.from('GPC:S:not-an-id').toString('base64')]) {
      const refused = await app.execute(SessionBulkSends, { id: session.id, first: 1, after });
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('is NOT_FOUND for a job that does not exist', async () => {
    const missing = Buffer.from(`BulkSendJob:${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`).toString('base64');
    expect((await app.execute(BulkSend, { id: missing })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await app.execute(PauseBulkSend, { id: missing })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('bulk sends at the account-protection pace', () => {
  let app: TestApp;
  let session: ConnectedSession;
  beforeAll(async () => {
    app = await startTestApp({ manualClock: true });
    session = await connectedSession(app, 'Paced promotions', { accountProtection: true });
  });
  afterAll(() => app.stop());

  const recipients = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ phone: `${prefix}${i}` }));
  const sentTo = async (prefix: string) => (await sandboxSends(app, session.providerSessionId)).filter((s) => String(s.to).startsWith(prefix)).length;
  const quiet = () => app.running.services.outboxWorker.idle();

  it('estimates the finish from the pace, pauses, resumes and cancels', async () => {
    const clock = app.clock!;
    const { startBulkSend: job } = await app.data(StartBulkSend, { input: { sessionId: session.id, template: 'Sale today', recipients: recipients('+25579100000', 4) } });
    expect(new Date(job.estimatedFinishAt!).getTime()).toBe(clock.now() + 3 * 5_000);
    await waitFor(async () => (await sentTo('+25579100000')) === 1);

    const paused = (await app.data(PauseBulkSend, { id: job.id })).pauseBulkSend;
    expect(paused).toMatchObject({ status: 'PAUSED', pausedReason: 'Paused by a user', estimatedFinishAt: null });
    clock.advance(10_000);
    await quiet();
    expect(await sentTo('+25579100000')).toBe(1);
    expect((await app.execute(PauseBulkSend, { id: job.id })).errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_STATE', status: 'PAUSED', allowedActions: ['RESUME', 'CANCEL'] });

    expect((await app.data(ResumeBulkSend, { id: job.id })).resumeBulkSend.status).toBe('RUNNING');
    await waitFor(async () => (await sentTo('+25579100000')) === 2);
    const cancelled = (await app.data(CancelBulkSend, { id: job.id })).cancelBulkSend;
    expect(cancelled).toMatchObject({ status: 'CANCELLED', total: 4, queued: 0 });
    clock.advance(20_000);
    await quiet();
    expect(await sentTo('+25579100000')).toBe(2);
    expect((await app.execute(ResumeBulkSend, { id: job.id })).errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_STATE', status: 'CANCELLED', allowedActions: [] });
  });

  it('pauses the job of a session that disconnects, saying why, and resumes when it is connected again', async () => {
    const clock = app.clock!;
    clock.advance(5_000);
    const { startBulkSend: job } = await app.data(StartBulkSend, { input: { sessionId: session.id, template: 'Hello again', recipients: recipients('+25579200000', 3) } });
    await waitFor(async () => (await sentTo('+25579200000')) === 1);
    await control(app, session.providerSessionId, 'drop', { status: 'disconnected' });
    await settled(app);
    const paused = await waitFor(async () => {
      const current = (await app.data(BulkSend, { id: job.id })).bulkSend!;
      return current.status === 'PAUSED' ? current : undefined;
    });
    expect(paused.pausedReason).toBe('The session is DISCONNECTED: the job resumes when it is connected again');
    clock.advance(10_000);
    await quiet();
    expect(await sentTo('+25579200000')).toBe(1);

    await app.data(ConnectSession, { id: session.id });
    await control(app, session.providerSessionId, 'scan');
    await settled(app);
    await waitFor(async () => (await app.data(BulkSend, { id: job.id })).bulkSend?.status === 'RUNNING');
    await waitFor(async () => {
      clock.advance(5_000);
      return (await sentTo('+25579200000')) === 3;
    });
    await waitFor(async () => {
      clock.advance(1_000);
      return (await app.data(BulkSend, { id: job.id })).bulkSend?.status === 'COMPLETED';
    });
  });
});
