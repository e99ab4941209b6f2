/**
 * Control endpoints: they stand in for the phone and for WhatsApp users, inject faults and show
 * the sandbox's state. Each answers after every webhook it triggered has been answered.
 */
import type { IncomingMessage } from 'node:http';
import type { Faults } from './faults.ts';
import { HttpError, readJson } from './http.ts';
import { CHAT_KINDS, type Inbound, type InboundMessage } from './inbound.ts';
import type { MediaStore } from './media.ts';
import type { Outbound } from './outbound.ts';
import { createRouter, type Reply, type Route } from './router.ts';
import type { SandboxSession, SessionStatus, SessionStore } from './state.ts';
import type { UserDirectory } from './users.ts';
import type { Deliver } from './webhooks.ts';
import type { ErrorWording } from './wording.ts';

export interface ControlDeps {
  store: SessionStore;
  outbound: Outbound;
  inbound: Inbound;
  media: MediaStore;
  faults: Faults;
  deliver: Deliver;
  users: UserDirectory;
  wording: ErrorWording;
}

const DROP_STATUSES: SessionStatus[] = ['disconnected', 'logged_out', 'expired'];

export function createControl(deps: ControlDeps) {
  const { store, outbound, inbound, media, faults, deliver } = deps;
  const json = (req: IncomingMessage) => readJson(req, deps.wording);

  function sessionOf(raw: string): SandboxSession {
    const s = store.get(Number(raw));
    if (!s) throw new HttpError(404, { message: `No sandbox session ${raw}` });
    return s;
  }

  function requireConnected(s: SandboxSession) {
    if (s.status !== 'connected') throw new HttpError(409, { message: `The session is ${s.status}, not connected` });
  }

  /** `messages.upsert` carries an array; the `*.received` events one object. */
  function deliverMessage(s: SandboxSession, event: string, message: InboundMessage) {
    return deliver(s, event, { messages: event === 'messages.upsert' ? [message.payload] : message.payload });
  }

  const routes: Route[] = [
    {
      method: 'POST',
      pattern: '/faults',
      async handler({ req }) {
        return { status: 201, body: { faults: faults.add(await json(req)) } };
      },
    },
    {
      method: 'DELETE',
      pattern: '/faults',
      handler() {
        faults.clear();
        return { status: 200, body: { cleared: true } };
      },
    },
    {
      method: 'GET',
      pattern: '/state',
      handler: () => ({
        status: 200,
        body: {
          sessions: store.list().map((s) => ({
            id: s.id,
            name: s.name,
            status: s.status,
            qr: s.qr,
            webhook_url: s.webhook_url,
            read_marks: s.readMarks,
            reads: s.reads,
            qr_fetches: s.qrFetches,
            decrypt_media_calls: s.decryptMediaCalls,
            sent_messages: outbound.sentBy(s),
          })),
        },
      }),
    },
    {
      method: 'GET',
      pattern: '/media/:id',
      handler: ({ params }) => media.bytesOf(params.id!),
    },
    {
      method: 'POST',
      pattern: '/not-on-whatsapp',
      async handler({ req }) {
        const phones = (await json(req)).phones;
        if (!Array.isArray(phones) || phones.some((p) => typeof p !== 'string')) throw new HttpError(422, { message: 'phones must be a list of numbers' });
        deps.users.markAbsent(phones as string[]);
        return { status: 200, body: { absent: phones } };
      },
    },
    {
      method: 'POST',
      pattern: '/sessions/:id/scan',
      async handler({ params }) {
        const s = sessionOf(params.id!);
        if (s.status !== 'need_scan') throw new HttpError(409, { message: `Nothing to scan: the session is ${s.status}` });
        await store.scan(s);
        return { status: 200, body: { status: s.status } };
      },
    },
    {
      method: 'POST',
      pattern: '/sessions/:id/drop',
      async handler({ req, params }) {
        const s = sessionOf(params.id!);
        const status = String((await json(req)).status ?? 'disconnected');
        if (!DROP_STATUSES.includes(status as SessionStatus)) throw new HttpError(422, { message: `status must be ${DROP_STATUSES.join(', ')}` });
        await store.setStatus(s, status as SessionStatus);
        return { status: 200, body: { status: s.status } };
      },
    },
    {
      method: 'POST',
      pattern: '/sessions/:id/inbound',
      async handler({ req, params }) {
        const s = sessionOf(params.id!);
        const body = await json(req);
        requireConnected(s);
        const message = inbound.message(body);
        const { events, ignoredBy } = CHAT_KINDS[message.kind];
        if (ignoredBy && s[ignoredBy]) return { status: 200, body: { id: message.id, ignored: true } };
        for (const event of events) await deliverMessage(s, event, message);
        return { status: 200, body: { id: message.id } };
      },
    },
    {
      method: 'POST',
      pattern: '/sessions/:id/from-phone',
      async handler({ req, params }) {
        const s = sessionOf(params.id!);
        const body = await json(req);
        requireConnected(s);
        const message = inbound.fromPhone(s, body);
        await deliverMessage(s, 'messages.upsert', message);
        return { status: 200, body: { id: message.id } };
      },
    },
    {
      method: 'POST',
      pattern: '/sessions/:id/receipt',
      async handler({ req, params }) {
        const s = sessionOf(params.id!);
        const body = await json(req);
        const id = String(body.id ?? '');
        const status = Number(body.status ?? 3);
        const message = outbound.byKeyId(id);
        if (message) message.status = status;
        await deliver(s, 'messages.update', { update: { status }, key: { remoteJid: message?.key.remoteJid ?? 'unknown@s.whatsapp.net', id, fromMe: true } });
        return { status: 200, body: { id, status } };
      },
    },
    {
      method: 'POST',
      pattern: '/sessions/:id/webhook',
      async handler({ req, params }) {
        const s = sessionOf(params.id!);
        const body = await json(req);
        if (!s.webhook_url) throw new HttpError(409, { message: 'The session has no webhook URL' });
        if (typeof body.event !== 'string') throw new HttpError(422, { message: 'event is required' });
        const status = await deliver(s, body.event, body.data ?? null, {
          timestamp: typeof body.timestamp === 'number' || body.timestamp === null ? body.timestamp : undefined,
          withoutSessionId: body.withoutSessionId === true,
        });
        return { status: 200, body: { status } };
      },
    },
  ];

  const router = createRouter(routes);

  return {
    /** Answers one control call (`path` without the `/control` prefix). */
    async handle(req: IncomingMessage, path: string, query: URLSearchParams): Promise<Reply> {
      const matched = router.match(req.method ?? 'GET', path);
      if (!matched) throw new HttpError(404, { message: 'Unknown control endpoint' });
      return matched.route.handler({ req, params: matched.params, query });
    },
  };
}
