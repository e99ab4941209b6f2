/**
 * Secrets at rest: AES-256-GCM with a random IV per value, and keyed hashes for look-ups by secret.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const VERSION = 'v1';

export interface SecretBox {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** Deterministic keyed hash, for finding a row by a secret without storing the secret. */
  keyedHash(value: string): string;
  /** Signs and checks values for one purpose (its own subkey): links we hand out and take back. */
  signer(purpose: string): Signer;
}

export interface Signer {
  /** An HMAC-SHA256 of `data`, base64url. */
  sign(data: string): string;
  /** Whether `signature` is sign(data), compared in constant time. */
  verify(data: string, signature: string): boolean;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('encryption key must be 32 bytes');
  // Separate subkeys so the hash never reveals anything about the cipher key.
  const encKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'whatsapp-graphql/encrypt', 32));
  const macKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'whatsapp-graphql/lookup-hash', 32));
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', encKey, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
    },
    decrypt(sealed) {
      const [version, iv, tag, ct] = sealed.split(':');
      if (version !== VERSION || !iv || !tag || ct === undefined) throw new Error('unrecognised ciphertext');
      const decipher = createDecipheriv('aes-256-gcm', encKey, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    },
    keyedHash(value) {
      return createHmac('sha256', macKey).update(value).digest('hex');
    },
    signer(purpose) {
      const signKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `whatsapp-graphql/sign/${purpose}`, 32));
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
