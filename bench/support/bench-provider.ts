/** Where a benchmark's provider (the sandbox) is: built into the app, or in a process of its own. */
import { randomBytes } from 'node:crypto';
import { startChild } from './child.ts';

export interface BenchProvider {
  /** The provider API's base URL, as WASENDER_BASE_URL takes it. */
  apiUrl: string;
  /** Where the phone and WhatsApp users are faked (`/sessions/<id>/scan`, `/inbound`, …). */
  controlUrl: string;
  /** The account's personal access token. */
  token: string;
}

export type ProviderCommand = { type: 'stop' };
export type ProviderReply = { type: 'ready'; provider: BenchProvider } | { type: 'stopped' };

/** A sandbox on its own port in a child process; `stop()` ends it. */
export async function startProviderProcess() {
  const child = startChild<ProviderCommand, ProviderReply>(new URL('./provider-process.ts', import.meta.url), [`bench-${randomBytes(12).toString('hex')}`]);
  try {
    const { provider } = await child.receive('ready');
    return { provider, stop: () => child.stop() };
  } catch (error) {
    await child.stop();
    throw error;
  }
}
