/**
 * Logs: pino lines, secrets redacted by path (our own ids kept), errors with their stack, and every
 * line written for one request (GraphQL operation, webhook, provider call) stamped with its id.
 */
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.ts';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectedSession, inbound } from '../helpers/inbox.ts';
import { control, providerSession } from '../helpers/sandbox.ts';
import { CreateSession, newSession, RotateKey } from '../sessions/documents.ts';

type Line = Record<string, unknown> & { msg: string; level: string; requestId?: string };

function capture() {
  const lines: Line[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Line) } });
  return { lines, logger };
}

describe('log lines', () => {
  it('redacts credentials by where they sit, and keeps our own ids', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        sessionId: 'our-session-id',
        headers: { authorization: 'Bearer secret-token', 'x-webhook-signature': 'secret-signature', 'content-type': 'application/json' },
        envelope: { event: 'messages.upsert', sessionId: 'secret-api-key' },
        provider: { apiKey: 'secret-key-2', token: 'secret-token-2' },
      },
      'webhook',
    );
    const text = JSON.stringify(lines);
    for (const secret of ['secret-token', 'secret-signature', 'secret-api-key', 'secret-key-2', 'secret-token-2']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'webhook',
      sessionId: 'our-session-id',
      headers: { authorization: '[redacted]', 'content-type': 'application/json' },
      envelope: { event: 'messages.upsert', sessionId: '[redacted]' },
    });
  });

  it('logs an error with its type, message and stack', () => {
    const { lines, logger } = capture();
    logger.error({ err: new TypeError('boom') }, 'failed');
    expect(lines[0]!.err).toMatchObject({ type: 'TypeError', message: 'boom', stack: expect.stringContaining('logging.test.ts') });
  });
});

describe('a request in the logs', () => {
  const { lines, logger } = capture();
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ logger });
  });
  afterAll(() => app.stop());

  const post = (body: unknown, requestId: string) =>
    fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, 'x-request-id': requestId },
      body: JSON.stringify(body),
    });

  it('stamps the request id on the lines of the provider calls an operation makes', async () => {
    const res = await post({ query: print(CreateSession), variables: newSession('Logged', '+255700000901') }, 'req-create-1');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-create-1');
    const ofRequest = lines.filter((l) => l.requestId === 'req-create-1');
    expect(ofRequest.filter((l) => l.msg === 'provider call').map((l) => l.path)).toEqual(['/whatsapp-sessions']);
    // Fields of one line never leak into the next line of the same request.
    expect(ofRequest.filter((l) => l.msg !== 'provider call' && 'path' in l)).toEqual([]);
  });

  it('gives a request without an id one of its own, and returns it', async () => {
    const res = await fetch(`${app.url}/api/whatsapp/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': 'wrong' },
      body: JSON.stringify({ event: 'messages.upsert', sessionId: 'not-a-key', data: {} }),
    });
    expect(res.status).toBe(401);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.find((l) => l.msg.startsWith('webhook refused') && l.requestId === requestId)).toBeDefined();
  });

  it("never writes a session's credentials or a token, through a session's life", async () => {
    const session = await connectedSession(app, 'Secretive');
    await inbound(app, session, { from: '+255700000902', text: 'hello' });
    const before = (await providerSession(app, session.providerSessionId))!;
    await app.data(RotateKey, { id: session.id });
    const after = (await providerSession(app, session.providerSessionId))!;
    await control(app, session.providerSessionId, 'drop', { status: 'disconnected' });
    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of [before.api_key, before.webhook_secret, after.api_key, ADMIN_TOKEN, app.running.sandbox!.token]) {
      expect(text).not.toContain(secret);
    }
  });
});
