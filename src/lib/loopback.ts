import type { IncomingMessage } from 'node:http';

/**
 * A request made on this machine to this machine: from a loopback address, not passed on by a proxy
 * (which would make every client look local), and addressed to a loopback name, so a page whose
 * domain was made to resolve to 127.0.0.1 (DNS rebinding) is not answered as one of ours. Only these
 * are given the development admin token.
 */
export function isLoopbackRequest(req: IncomingMessage): boolean {
  if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) return false;
  const address = req.socket.remoteAddress ?? '';
  if (!(address === '::1' || /^(::ffff:)?127\./.test(address))) return false;
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}
