/** Serves a sandbox on its own port: for `npm run sandbox` and for tests of the client alone. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSandbox, type SandboxOptions } from './sandbox.ts';

export type ServedSandbox = Awaited<ReturnType<typeof serveSandbox>>;

export async function serveSandbox(opts: SandboxOptions & { port?: number; host?: string }) {
  const sandbox = createSandbox(opts);
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://sandbox').pathname;
    void sandbox.handle(req, res, pathname);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  return {
    url,
    /** The provider API base URL to give a client. */
    apiUrl: `${url}/api`,
    controlUrl: `${url}/control`,
    sandbox,
    async close() {
      await sandbox.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
