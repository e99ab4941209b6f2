/**
 * In development without ADMIN_TOKEN, an admin token is generated so a first run can be used at
 * once. It lives in DATA_DIR (mode 0600) so it stays the same across restarts, as the development
 * encryption key does; with an in-memory DATA_DIR it lives only as long as the process.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomToken } from './crypto.ts';

export const DEV_ADMIN_TOKEN_FILE = 'admin.token';

export async function loadOrCreateDevAdminToken(dataDir: string): Promise<string> {
  const fresh = `dev-${randomToken(24)}`;
  if (dataDir.startsWith('memory://')) return fresh;
  const file = path.join(dataDir, DEV_ADMIN_TOKEN_FILE);
  const existing = (await readFile(file, 'utf8').catch(() => ''))?.trim();
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true });
  // 'wx': when another process wins the race to create it, use its token.
  await writeFile(file, fresh + '\n', { mode: 0o600, flag: 'wx' }).catch(() => {});
  return (await readFile(file, 'utf8')).trim();
}
