/**
 * The provider API (shared/wasender-api.md §3–§7) as a route table: paths, envelopes and status
 * codes per endpoint. Account routes take the personal access token, session routes a session's
 * API key; rules live in the state, outbound and rate-limit modules.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { bearer, type Credentials } from './credentials.ts';
import { HttpError, readJson, readRaw } from './http.ts';
import type { LidDirectory } from './lids.ts';
import type { MediaStore } from './media.ts';
import { digitsOf, type Outbound } from './outbound.ts';
import type { RateLimits } from './rate-limits.ts';
import { createRouter, type Reply, type Route } from './router.ts';
import type { SandboxSession, SessionStore } from './state.ts';
import type { UserDirectory } from './users.ts';
import { validateSend, validateSessionBody, validationError } from './validation.ts';
import type { ErrorWording } from './wording.ts';

export interface ApiDeps {
  store: SessionStore;
  outbound: Outbound;
  rateLimits: RateLimits;
  credentials: Credentials;
  lids: LidDirectory;
  media: MediaStore;
  users: UserDirectory;
  wording: ErrorWording;
  sessionLimit: number;
}

const ok = (data: unknown): Reply => ({ status: 200, body: { success: true, data } });
const PRESENCE_TYPES = ['composing', 'recording', 'available', 'unavailable', 'paused'];

export const sessionScope = (s: SandboxSession) => `session:${s.id}`;

export function createApi(deps: ApiDeps) {
  const { store, outbound, rateLimits, credentials, lids, media, wording } = deps;
  const json = (req: IncomingMessage) => readJson(req, wording);
  const notFound = () => new HttpError(404, { success: false, message: wording.notFound });

  function sessionById(raw: string): SandboxSession {
    const session = /^\d+$/.test(raw) ? store.get(Number(raw)) : null;
    if (!session) throw new HttpError(404, { success: false, message: wording.sessionNotFound });
    return session;
  }

  function paginated(s: SandboxSession, action: 'message-logs' | 'session-logs', query: URLSearchParams): Reply {
    const pageNo = Math.max(1, Number(query.get('page') ?? 1) || 1);
    const perPage = Math.max(1, Math.min(100, Number(query.get('per_page') ?? 10) || 10));
    const status = query.get('status');
    const all =
      action === 'message-logs'
        ? s.messageLogs.filter((l) => !status || l.status === status).map((l) => ({ ...l, id: String(l.id), whatsapp_session_id: String(l.whatsapp_session_id) }))
        : s.sessionLogs;
    const items = [...all].reverse().slice((pageNo - 1) * perPage, pageNo * perPage);
    const lastPage = Math.max(1, Math.ceil(all.length / perPage));
    const base = `/api/whatsapp-sessions/${s.id}/${action}`;
    return ok({
      current_page: pageNo,
      data: items,
      first_page_url: `${base}?page=1`,
      from: items.length ? (pageNo - 1) * perPage + 1 : null,
      last_page: lastPage,
      last_page_url: `${base}?page=${lastPage}`,
      next_page_url: pageNo < lastPage ? `${base}?page=${pageNo + 1}` : null,
      path: base,
      per_page: perPage,
      prev_page_url: pageNo > 1 ? `${base}?page=${pageNo - 1}` : null,
      to: items.length ? (pageNo - 1) * perPage + items.length : null,
      total: all.length,
    });
  }

  /** Routes taking the account's personal access token. */
  const accountRoutes: Route[] = [
    { method: 'GET', pattern: '/auth-check', handler: () => ({ status: 200, body: { success: true, message: 'Authenticated' } }) },
    { method: 'GET', pattern: '/whatsapp-sessions', handler: () => ok(store.list().map((s) => store.publicView(s, false))) },
    {
      method: 'POST',
      pattern: '/whatsapp-sessions',
      async handler({ req }) {
        const body = await json(req);
        if (store.count() >= deps.sessionLimit) throw new HttpError(403, { success: false, message: wording.sessionLimit });
        validateSessionBody(wording, body, true, store.phoneTaken);
        return ok(store.publicView(store.create(body), true));
      },
    },
    {
      method: 'GET',
      pattern: '/whatsapp-sessions/:id',
      handler({ params }) {
        const s = sessionById(params.id!);
        s.reads++;
        return ok(store.publicView(s, true));
      },
    },
    {
      method: 'PUT',
      pattern: '/whatsapp-sessions/:id',
      async handler({ req, params }) {
        const s = sessionById(params.id!);
        const body = await json(req);
        // Repeating the session's own number is no change, not a clash with itself.
        const { phone_number: _own, ...rest } = body;
        validateSessionBody(wording, body.phone_number === s.phone_number ? rest : body, false, store.phoneTaken);
        store.applySettings(s, body);
        return ok(store.publicView(s, true));
      },
    },
    {
      method: 'DELETE',
      pattern: '/whatsapp-sessions/:id',
      handler({ params }) {
        const s = sessionById(params.id!);
        store.remove(s);
        rateLimits.forget(sessionScope(s));
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/whatsapp-sessions/:id/connect',
      handler({ params }) {
        const s = sessionById(params.id!);
        const result = store.connect(s);
        if (result.status === 'connected') return ok({ status: 'connected', message: 'Session already initialized' });
        if (result.status === 'connecting') return ok({ status: 'connecting' });
        return { ...ok({ status: 'NEED_SCAN', qrCode: result.qr }), after: result.report };
      },
    },
    {
      method: 'GET',
      pattern: '/whatsapp-sessions/:id/qrcode',
      handler({ params }) {
        const s = sessionById(params.id!);
        s.qrFetches++;
        if (s.status !== 'need_scan' || !s.qr) throw new HttpError(400, { success: false, message: wording.notInitialized });
        return ok({ qrCode: s.qr });
      },
    },
    {
      method: 'POST',
      pattern: '/whatsapp-sessions/:id/disconnect',
      async handler({ params }) {
        const s = sessionById(params.id!);
        await store.setStatus(s, 'disconnected');
        return ok({ status: 'disconnected', message: 'WhatsApp session disconnected successfully' });
      },
    },
    {
      method: 'POST',
      pattern: '/whatsapp-sessions/:id/restart',
      handler({ params }) {
        const s = sessionById(params.id!);
        if (s.status !== 'connected') throw new HttpError(400, { success: false, message: wording.notConnected });
        store.log(s, 'session_restarted');
        return { status: 200, body: { success: true, message: 'WhatsApp session restarted successfully.' } };
      },
    },
    {
      method: 'POST',
      pattern: '/whatsapp-sessions/:id/regenerate-key',
      handler: ({ params }) => ({ status: 200, body: { success: true, api_key: store.regenerateKey(sessionById(params.id!)) } }),
    },
    { method: 'GET', pattern: '/whatsapp-sessions/:id/message-logs', handler: ({ params, query }) => paginated(sessionById(params.id!), 'message-logs', query) },
    { method: 'GET', pattern: '/whatsapp-sessions/:id/session-logs', handler: ({ params, query }) => paginated(sessionById(params.id!), 'session-logs', query) },
  ];

  const message = (s: SandboxSession, msgId: string) => {
    const found = outbound.find(s, Number(msgId));
    if (!found) throw new HttpError(404, { success: false, message: wording.messageNotFound });
    return found;
  };

  /** Routes taking a session's API key. */
  const sessionRoutes: Route<{ session: SandboxSession }>[] = [
    { method: 'GET', pattern: '/status', handler: ({ session }) => ({ status: 200, body: { status: session.status } }) },
    {
      method: 'GET',
      pattern: '/user',
      handler({ session: s }) {
        if (s.status !== 'connected') throw new HttpError(400, { success: false, message: wording.notConnected });
        return ok({ id: `${digitsOf(s.phone_number)}:12@s.whatsapp.net`, name: s.name, lid: lids.lidOf(digitsOf(s.phone_number)) });
      },
    },
    {
      method: 'POST',
      pattern: '/send-message',
      async handler({ req, session: s }) {
        const body = await json(req);
        validateSend(wording, body);
        if (s.status !== 'connected') throw new HttpError(422, { success: false, message: wording.notConnected });
        rateLimits.checkSend(sessionScope(s), s.account_protection);
        rateLimits.record(sessionScope(s));
        const sent = outbound.send(s, body);
        return ok({ msgId: sent.msgId, jid: String(body.to), status: 'in_progress' });
      },
    },
    {
      method: 'POST',
      pattern: '/messages/read',
      async handler({ req, session: s }) {
        const body = await json(req);
        const key = body.key as Record<string, unknown> | undefined;
        const errors: Record<string, string[]> = {};
        for (const f of ['id', 'remoteJid', 'fromMe']) if (key?.[f] === undefined) errors[`key.${f}`] = [wording.required(`key.${f}`)];
        if (Object.keys(errors).length) throw validationError(wording, errors);
        s.readMarks.push({ id: String(key!.id), remoteJid: String(key!.remoteJid) });
        return ok({ status: 'read' });
      },
    },
    { method: 'GET', pattern: '/messages/:msgId(\\d+)/info', handler: ({ session, params }) => ok(outbound.info(message(session, params.msgId!))) },
    {
      method: 'POST',
      pattern: '/messages/:msgId(\\d+)/resend',
      handler({ session: s, params }) {
        if (!outbound.resend(s, message(s, params.msgId!))) throw new HttpError(400, { success: false, message: wording.notFailed });
        return { status: 200, body: { success: true, message: 'Message resend initiated successfully.' } };
      },
    },
    {
      method: 'PUT',
      pattern: '/messages/:msgId(\\d+)',
      async handler({ req, session, params }) {
        const found = message(session, params.msgId!);
        const body = await json(req);
        if (typeof body.text !== 'string' || !body.text) throw validationError(wording, { text: [wording.required('text')] });
        outbound.edit(found, body.text);
        return ok({ ...outbound.info(found), status: 1 });
      },
    },
    {
      method: 'DELETE',
      pattern: '/messages/:msgId(\\d+)',
      handler({ session, params }) {
        outbound.remove(message(session, params.msgId!));
        return { status: 200, body: { success: true, message: 'Message deleted successfully.' } };
      },
    },
    {
      method: 'POST',
      pattern: '/upload',
      async handler({ req }) {
        let mime = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
        if (mime === 'application/json') {
          const body = await json(req);
          const b64 = typeof body.base64 === 'string' ? body.base64 : '';
          const dataUrl = /^data:([^;]+);base64,/.exec(b64);
          mime = typeof body.mimetype === 'string' ? body.mimetype : (dataUrl?.[1] ?? '');
          if (!b64 || !mime) throw validationError(wording, { base64: [wording.required('base64')] });
        } else if (!(await readRaw(req, wording)).length) throw validationError(wording, { file: [wording.required('file')] });
        const ext = mime.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin';
        return { status: 200, body: { success: true, publicUrl: `https://wasenderapi.com/media/${randomBytes(16).toString('hex')}.${ext}` } };
      },
    },
    {
      method: 'POST',
      pattern: '/decrypt-media',
      handler: async ({ req, session }) => media.decrypt(req, '/decrypt-media', session, await json(req)),
    },
    { method: 'GET', pattern: '/on-whatsapp/:phone', handler: ({ params }) => ok({ exists: /^\+?\d{8,15}$/.test(params.phone!) && deps.users.exists(params.phone!) }) },
    {
      method: 'GET',
      pattern: '/contacts',
      handler({ query }) {
        const contacts: unknown[] = [];
        if (query.get('paginated') !== 'true') return ok(contacts);
        const page = Number(query.get('page') ?? 1);
        const limit = Number(query.get('limit') ?? 20);
        return ok({ items: contacts, pagination: { page, limit, total: 0, totalPages: 0 } });
      },
    },
    {
      method: 'PUT',
      pattern: '/contacts',
      async handler({ req }) {
        const body = await json(req);
        if (typeof body.jid !== 'string') throw validationError(wording, { jid: [wording.required('jid')] });
        return ok({ jid: body.jid, fullName: body.fullName ?? null });
      },
    },
    {
      method: 'GET',
      pattern: '/contacts/:phone',
      handler: ({ params }) => ok({ id: `${digitsOf(params.phone!)}@s.whatsapp.net`, name: null, notify: null, verifiedName: null, imgUrl: null, status: null }),
    },
    { method: 'GET', pattern: '/contacts/:phone/picture', handler: () => ok({ imgUrl: null }) },
    { method: 'POST', pattern: '/contacts/:phone/block', handler: () => ok({ message: 'Contact blocked' }) },
    { method: 'POST', pattern: '/contacts/:phone/unblock', handler: () => ok({ message: 'Contact unblocked' }) },
    {
      method: 'GET',
      pattern: '/lid-from-pn/:pn',
      handler({ params }) {
        const pn = params.pn!;
        if (!pn.endsWith('@s.whatsapp.net')) throw validationError(wording, { pn: [wording.mustEndWith('pn', '@s.whatsapp.net')] });
        return ok({ lid: lids.lidOf(digitsOf(pn)) });
      },
    },
    {
      method: 'GET',
      pattern: '/pn-from-lid/:lid',
      handler({ params }) {
        const lid = params.lid!;
        if (!lid.endsWith('@lid')) throw validationError(wording, { lid: [wording.mustEndWith('lid', '@lid')] });
        const phone = lids.phoneOf(lid);
        if (!phone) throw new HttpError(404, { success: false, message: wording.noPhoneForLid });
        return ok({ pn: `${phone}@s.whatsapp.net` });
      },
    },
    {
      method: 'POST',
      pattern: '/send-presence-update',
      async handler({ req }) {
        const body = await json(req);
        if (typeof body.jid !== 'string' || !PRESENCE_TYPES.includes(String(body.type))) {
          throw validationError(wording, { ...(typeof body.jid !== 'string' ? { jid: [wording.required('jid')] } : {}), type: [wording.selectedInvalid('type')] });
        }
        return ok({ jid: body.jid, type: body.type });
      },
    },
  ];

  /** Routes without credentials: the decrypted files `/decrypt-media` points at. */
  const publicRoutes: Route[] = [{ method: 'GET', pattern: '/decrypted-media/:id', handler: ({ params }) => media.decrypted(params.id!) }];

  const publicRouter = createRouter(publicRoutes);
  const accountRouter = createRouter(accountRoutes);
  const sessionRouter = createRouter(sessionRoutes);

  return {
    /** Whose rate-limit window a call counts against: its session's, else the account's. */
    scopeOf(req: IncomingMessage): string {
      const key = bearer(req);
      const session = key ? store.byApiKey(key) : null;
      return session ? sessionScope(session) : 'account';
    },

    /** Answers one API call (`path` without the `/api` prefix); throws HttpError for error answers. */
    async handle(req: IncomingMessage, path: string, query: URLSearchParams): Promise<Reply> {
      const method = req.method ?? 'GET';
      const open = publicRouter.match(method, path);
      if (open) return open.route.handler({ req, params: open.params, query });
      const account = accountRouter.match(method, path);
      if (account) {
        credentials.requirePat(req);
        rateLimits.record('account');
        return account.route.handler({ req, params: account.params, query });
      }
      // Anything else under the account's paths still asks for the account's token first.
      if (path === '/whatsapp-sessions' || path.startsWith('/whatsapp-sessions/')) {
        credentials.requirePat(req);
        throw notFound();
      }
      const session = credentials.requireSessionKey(req, path);
      const matched = sessionRouter.match(method, path);
      if (!matched) throw notFound();
      return matched.route.handler({ req, params: matched.params, query, session });
    },
  };
}
