/** API tokens stored as the auth service reads them (hashed), for tests of what a token may see. */
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../src/lib/crypto.ts';
import type { TestApp } from './app.ts';

export async function createApiTokenRow(app: TestApp, opts: { role?: 'ADMIN' | 'AGENT' | 'VIEWER'; sessionIds?: string[]; name?: string } = {}) {
  const token = `wgt_${randomBytes(24).toString('base64url')}`;
  const row = await app.running.db.prisma.apiToken.create({
    data: { name: opts.name ?? 'test token', tokenHash: sha256Hex(token), tokenHint: token.slice(-4), role: opts.role ?? 'VIEWER', sessionIds: opts.sessionIds ?? [] },
  });
  return { token, id: row.id };
}
