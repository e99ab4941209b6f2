/**
 * API tokens minted as createApiToken mints them, for tests of what a token may see. The scope is
 * written afterwards, so that it may name sessions that do not exist (an outsider's scope).
 */
import type { TestApp } from './app.ts';

export async function createApiTokenRow(app: TestApp, opts: { role?: 'ADMIN' | 'AGENT' | 'VIEWER'; sessionIds?: string[]; name?: string } = {}) {
  const { token, apiToken } = await app.running.services.auth.createToken(
    { tokenId: null, role: 'ADMIN', sessionIds: null },
    { name: opts.name ?? 'test token', role: opts.role ?? 'VIEWER' },
  );
  if (opts.sessionIds?.length) await app.running.db.prisma.apiToken.update({ where: { id: apiToken.id }, data: { sessionIds: opts.sessionIds } });
  return { token, id: apiToken.id };
}
