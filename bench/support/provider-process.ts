/**
 * The provider sandbox in a process of its own (IPC-driven, see bench-provider.ts): as in
 * production, its work (sending the webhooks, answering the API) is not charged to our server.
 */
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { reportStopped } from './child.ts';
import type { ProviderCommand, ProviderReply } from './bench-provider.ts';

const token = process.argv[2]!;
const served = await serveSandbox({ personalAccessToken: token });
process.on('message', (command: ProviderCommand) => {
  if (command.type === 'stop') void served.close().then(() => reportStopped());
});
process.send!({ type: 'ready', provider: { apiUrl: served.apiUrl, controlUrl: served.controlUrl, token } } satisfies ProviderReply);
