/**
 * Secrets at rest: AES-256-GCM with a random IV per value, each value naming the key it was sealed
 * with, and keyed hashes for look-ups by secret.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** `v1:iv:tag:ct` (before key ids; read with every key in turn) and `v2:kid:iv:tag:ct`. */
const LEGACY_VERSION = 'v1';
const VERSION = 'v2';

export interface SecretBox {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** Deterministic keyed hash, for finding a row by a secret without storing the secret. */
  keyedHash(value: string): string;
  /** The id of the key new values are sealed with. */
  readonly keyId: string;
  /** Whether `sealed` was sealed with another key than the current one (rotation re-seals it). */
  sealedWithOldKey(sealed: string): boolean;
  /**
   * Signs and checks values for one purpose (its own subkey, from the look-up key, so signatures
   * survive rotating the encryption key): links we hand out and take back.
   */
  signer(purpose: string): Signer;
}

export interface Signer {
  /** An HMAC-SHA256 of `data`, base64url. */
  sign(data: string): string;
  /** Whether `signature` is sign(data), compared in constant time. */
  verify(data: string, signature: string): boolean;
}

interface CipherKey {
  id: string;
  encKey: Buffer;
}

/** A short public fingerprint of a key: says which key sealed a value, reveals nothing of it. */
export function encryptionKeyId(key: Buffer): string {
  return createHash('sha256').update('whatsapp-graphql/key-id').update(key).digest('hex').slice(0, 12);
}

function cipherKey(key: Buffer): CipherKey {
  if (key.length !== 32) throw new Error('encryption key must be 32 bytes');
  return { id: encryptionKeyId(key), encKey: Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'whatsapp-graphql/encrypt', 32)) };
}

/**
 * The look-up hash key a deployment had before it was stored on its own: derived from its first
 * encryption key. Stored (sealed) in the database since, so that hashes survive key rotation.
 */
export function derivedLookupKey(key: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'whatsapp-graphql/lookup-hash', 32));
}

export interface KeyRing {
  /** Seals new values. */
  current: Buffer;
  /** Still accepted for reading, while a rotation re-seals what they sealed. */
  previous?: readonly Buffer[];
  /** The keyed-hash key; derived from `current` when not given. */
  lookupKey?: Buffer;
}

export function createSecretBox(keys: Buffer | KeyRing): SecretBox {
  const ring: KeyRing = Buffer.isBuffer(keys) ? { current: keys } : keys;
  const current = cipherKey(ring.current);
  const all = [current, ...(ring.previous ?? []).map(cipherKey)];
  const byId = new Map(all.map((k) => [k.id, k]));
  const macKey = ring.lookupKey ?? derivedLookupKey(ring.current);

  function open(key: CipherKey, iv: string, tag: string, ct: string): string {
    const decipher = createDecipheriv('aes-256-gcm', key.encKey, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }

  return {
    keyId: current.id,
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.encKey, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [VERSION, current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
    },
    decrypt(sealed) {
      const parts = sealed.split(':');
      if (parts[0] === VERSION && parts.length === 5) {
        const key = byId.get(parts[1]!);
        if (!key) throw new Error(`sealed with an unknown encryption key (id ${parts[1]}): set ENCRYPTION_KEY_PREVIOUS to the key it was sealed with`);
        return open(key, parts[2]!, parts[3]!, parts[4]!);
      }
      if (parts[0] === LEGACY_VERSION && parts.length === 4) {
        for (const key of all) {
          try {
            return open(key, parts[1]!, parts[2]!, parts[3]!);
          } catch {
            // the next key, if any
          }
        }
        throw new Error('sealed with an unknown encryption key: set ENCRYPTION_KEY_PREVIOUS to the key it was sealed with');
      }
      throw new Error('unrecognised ciphertext');
    },
    keyedHash(value) {
      return createHmac('sha256', macKey).update(value).digest('hex');
    },
    sealedWithOldKey(sealed) {
      return !sealed.startsWith(`${VERSION}:${current.id}:`);
    },
    signer(purpose) {
      const signKey = Buffer.from(hkdfSync('sha256', macKey, Buffer.alloc(0), `whatsapp-graphql/sign/${purpose}`, 32));
      const sign = (data: string) => createHmac('sha256', signKey).update(data).digest('base64url');
      return {
        sign,
        verify(data, signature) {
          const expected = Buffer.from(sign(data));
          const given = Buffer.from(signature);
          return given.length === expected.length && timingSafeEqual(given, expected);
        },
      };
    },
  };
}

/** The development key lives in DATA_DIR, created on first start, so restarts can read old secrets. */
export async function loadOrCreateDevKey(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, 'encryption.key');
  const existing = await readFile(file, 'utf8').catch(() => null);
  if (existing) return Buffer.from(existing.trim(), 'hex');
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  await writeFile(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' }).catch(async () => {
    // Another process won the race; use its key.
    return;
  });
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
