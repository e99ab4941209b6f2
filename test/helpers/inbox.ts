/** A connected session to receive messages on, and ways to make WhatsApp users write to it. */
import { CreateSession, ConnectSession } from '../sessions/documents.ts';
import { eventually, type TestApp } from './app.ts';
import { control } from './sandbox.ts';

export interface ConnectedSession {
  /** The GraphQL (global) id. */
  id: string;
  /** The database id, for looking at rows directly. */
  dbId: string;
  providerSessionId: string;
}

export function databaseId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!;
}

let phoneCounter = 0;

export async function connectedSession(app: TestApp, name = 'Inbox', opts: { accountProtection?: boolean } = {}): Promise<ConnectedSession> {
  phoneCounter++;
  const { createSession } = await app.data(CreateSession, {
    input: { name, phoneNumber: `+2557${String(10_000_000 + phoneCounter * 7919 + Math.floor(Math.random() * 1000)).slice(-8)}`, accountProtection: opts.accountProtection ?? false },
  });
  await app.data(ConnectSession, { id: createSession.id });
  await control(app, createSession.providerSessionId!, 'scan');
  await settled(app);
  return { id: createSession.id, dbId: databaseId(createSession.id), providerSessionId: createSession.providerSessionId! };
}

/** A WhatsApp user writes to the session; resolves to WhatsApp's message id. */
export async function inbound(app: TestApp, session: ConnectedSession, body: Record<string, unknown>): Promise<string> {
  const result = await control(app, session.providerSessionId, 'inbound', body);
  return result.id as string;
}

/** Replays a real-shaped provider event through the sandbox (signed, enveloped, posted). */
export async function replay(app: TestApp, session: ConnectedSession, event: string, data: unknown, timestamp?: number) {
  const result = await control(app, session.providerSessionId, 'webhook', { event, data, ...(timestamp ? { timestamp } : {}) });
  return result.status as number;
}

/** Waits until every acknowledged webhook has been applied. */
export async function settled(app: TestApp) {
  await eventually(async () => {
    await app.running.services.webhookProcessor.idle();
    const pending = await app.running.db.prisma.webhookEvent.count({ where: { processedAt: null } });
    return pending === 0;
  });
}

/** POSTs a body to the webhook route as the provider would. */
export function postWebhook(app: TestApp, body: string, headers: Record<string, string> = {}, path = '/api/whatsapp/webhook') {
  return fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

/** A real-shaped `messages.received` envelope for the session with this API key. */
export function textEvent(apiKey: string, id: string) {
  return JSON.stringify({
    event: 'messages.received',
    timestamp: Math.floor(Date.now() / 1000),
    sessionId: apiKey,
    data: {
      messages: {
        key: { id, fromMe: false, remoteJid: '255755000001@s.whatsapp.net', cleanedSenderPn: '255755000001' },
        messageBody: 'forged?',
        message: { conversation: 'forged?' },
      },
    },
  });
}
