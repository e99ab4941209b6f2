/** API tokens minted as createApiToken mints them, for tests of what a token may see. */
import type { TestApp } from './app.ts';

export async function createApiTokenRow(app: TestApp, opts: { role?: 'ADMIN' | 'AGENT' | 'VIEWER'; sessionIds?: string[]; name?: string } = {}) {
  const { token, apiToken } = await app.running.services.auth.createToken(
    { tokenId: null, role: 'ADMIN', sessionIds: null },
    { name: opts.name ?? 'test token', role: opts.role ?? 'VIEWER', sessionIds: opts.sessionIds?.length ? opts.sessionIds : null },
  );
  return { token, id: apiToken.id };
}
