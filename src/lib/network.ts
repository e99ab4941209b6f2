/**
 * Which hosts and addresses are not on the public internet: loopback, private, carrier-grade NAT,
 * link-local and unique-local ranges, and names that never resolve publicly. Used for URLs a remote
 * party must reach (our webhook URL) or that we must never make anyone fetch (outbound media).
 */
import { BlockList, isIP } from 'node:net';

const PRIVATE_ADDRESSES = (() => {
  const list = new BlockList();
  for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
    list.addSubnet(net, bits, 'ipv4');
  }
  for (const [net, bits] of [['::', 127], ['fc00::', 7], ['fe80::', 10]] as const) list.addSubnet(net, bits, 'ipv6');
  return list;
})();

/** Whether an IP literal (v4, v6, v4-mapped v6) is loopback, private or link-local. */
export function isPrivateAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').toLowerCase();
  const version = isIP(ip);
  if (version === 4) return PRIVATE_ADDRESSES.check(ip, 'ipv4');
  if (version === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
    return mapped ? PRIVATE_ADDRESSES.check(mapped[1]!, 'ipv4') : PRIVATE_ADDRESSES.check(ip, 'ipv6');
  }
  return false;
}

/** A host name or IP literal that is not publicly reachable (without resolving names). */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host)) return isPrivateAddress(host);
  // Names that never resolve publicly: localhost, mDNS and internal zones, single labels.
  return host === 'localhost' || /\.(localhost|local|internal)$/.test(host) || !host.includes('.');
}
