/**
 * Links to a message's media, handed to one viewer for a few minutes: `<message id>.<viewer>.<expiry>.<signature>`,
 * signed with a subkey of the encryption key. The viewer is the API token's id, or `admin` for the
 * ADMIN_TOKEN of the environment (then the token's fingerprint is signed too, so changing ADMIN_TOKEN
 * ends its links). A link says nothing secret; taking it back re-checks the viewer's access.
 */
import { sha256Hex, type Signer } from '../../lib/crypto.ts';
import type { Viewer } from '../auth/viewer.ts';

const ENV_ADMIN = 'admin';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Expiries are rounded up to this step, so a link asked for again soon after is the same link (browsers cache it). */
const EXPIRY_STEP_MS = 60_000;

export interface MediaLink {
  messageId: string;
  /** The API token's id, or null for the environment's ADMIN_TOKEN. */
  tokenId: string | null;
  expiresAtMs: number;
}

export function createMediaLinks(deps: { signer: Signer; adminToken: string | null }) {
  const adminFingerprint = deps.adminToken ? sha256Hex(deps.adminToken) : null;
  const signed = (messageId: string, viewer: string, expiry: string) =>
    viewer === ENV_ADMIN ? `${messageId}.${viewer}.${expiry}.${adminFingerprint}` : `${messageId}.${viewer}.${expiry}`;

  return {
    issue(messageId: string, viewer: Viewer, nowMs: number, ttlMs: number): { token: string; expiresAtMs: number } {
      const expiresAtMs = Math.ceil((nowMs + ttlMs) / EXPIRY_STEP_MS) * EXPIRY_STEP_MS;
      const who = viewer.tokenId ?? ENV_ADMIN;
      const expiry = (expiresAtMs / 1000).toString(36);
      return { token: `${messageId}.${who}.${expiry}.${deps.signer.sign(signed(messageId, who, expiry))}`, expiresAtMs };
    },

    /** The link's claims when it is ours, intact and not expired; null otherwise. */
    read(token: string, nowMs: number): MediaLink | null {
      const [messageId, who, expiry, signature, ...rest] = token.split('.');
      if (!messageId || !who || !expiry || !signature || rest.length) return null;
      if (!UUID.test(messageId) || (who !== ENV_ADMIN && !UUID.test(who)) || (who === ENV_ADMIN && !adminFingerprint)) return null;
      if (!deps.signer.verify(signed(messageId, who, expiry), signature)) return null;
      const expiresAtMs = parseInt(expiry, 36) * 1000;
      if (!Number.isFinite(expiresAtMs) || expiresAtMs <= nowMs) return null;
      return { messageId, tokenId: who === ENV_ADMIN ? null : who, expiresAtMs };
    },
  };
}
