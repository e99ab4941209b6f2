/**
 * Checks a media URL we are about to hand the provider to fetch: http or https only and, in
 * production, never a loopback, private or link-local address, whether written as an IP literal or
 * as a name that resolves to one (the provider's fetch must not be turned on our own network).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPrivateAddress, isPrivateHost } from './network.ts';

export type ResolveHost = (hostname: string) => Promise<string[]>;

const resolveAll: ResolveHost = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/** Why the URL may not be used for outbound media, or null when it may. */
export async function mediaUrlProblem(value: string, opts: { production: boolean; resolve?: ResolveHost }): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (!opts.production) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isPrivateHost(host)) return 'must not point at a loopback, private or link-local address';
  if (isIP(host)) return null;
  let addresses: string[];
  try {
    addresses = await (opts.resolve ?? resolveAll)(host);
  } catch {
    return 'names a host that does not resolve';
  }
  if (addresses.length === 0) return 'names a host that does not resolve';
  if (addresses.some(isPrivateAddress)) return 'resolves to a loopback, private or link-local address';
  return null;
}
