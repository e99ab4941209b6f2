/**
 * The provider's two credential kinds (shared/wasender-api.md §1.2): the account's personal access
 * token for `/whatsapp-sessions*` and `/auth-check`, a session's API key for everything else, both
 * as `Authorization: Bearer …`, refused with the 401 bodies of §1.3.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.ts';
import type { SandboxSession, SessionStore } from './state.ts';
import type { ErrorWording } from './wording.ts';

export function bearer(req: IncomingMessage): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1] ?? null;
}

export function createCredentials(deps: { personalAccessToken: string; store: SessionStore; wording: ErrorWording }) {
  const { store, wording } = deps;
  return {
    requirePat(req: IncomingMessage) {
      if (bearer(req) !== deps.personalAccessToken) throw new HttpError(401, { success: false, message: wording.patRequired });
    },
    /** The session whose API key the request carries; `/status` words an unknown key its own way. */
    requireSessionKey(req: IncomingMessage, path: string): SandboxSession {
      const key = bearer(req);
      if (!key) throw new HttpError(401, { success: false, message: wording.apiKeyRequired });
      const session = store.byApiKey(key);
      if (!session) throw new HttpError(401, { success: false, message: path === '/status' ? wording.unknownStatusKey : wording.unknownApiKey });
      return session;
    },
  };
}

export type Credentials = ReturnType<typeof createCredentials>;
