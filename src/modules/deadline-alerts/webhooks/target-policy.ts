/**
 * Where deliveries may go. A webhook URL is chosen by an admin but fetched by the server, so by default it may not
 * point inside the network the server sits in: loopback, private, link-local (cloud metadata), carrier-grade NAT,
 * unique-local and unspecified addresses are refused, whether written as an address or reached through a name.
 * The check runs when a subscription is made and again before every delivery (a name may be re-pointed).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['192.0.0.0', 24],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  INTERNAL.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv6');

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return INTERNAL.check(address, 'ipv4');
  if (family === 6) {
    // An IPv4 address mapped into IPv6 (::ffff:127.0.0.1) is the IPv4 address.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped ? INTERNAL.check(mapped[1]!, 'ipv4') : INTERNAL.check(address, 'ipv6');
  }
  return true;
}

export type TargetRefusal = { problem: string; allowed: string };

const ALLOWED =
  'an http(s) URL of a host outside loopback, private, link-local and unique-local networks (WEBHOOK_ALLOW_PRIVATE=on allows those)';

/** Null when the URL may be delivered to; else why not. */
export async function checkTarget(url: string, allowPrivate: boolean): Promise<TargetRefusal | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { problem: 'not a URL', allowed: ALLOWED };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return { problem: `the scheme ${parsed.protocol} is not delivered to`, allowed: ALLOWED };
  if (parsed.username || parsed.password)
    return {
      problem: 'credentials in the URL would be logged and shown',
      allowed: `${ALLOWED}, without user or password`,
    };
  if (allowPrivate) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return { problem: `the host ${host} does not resolve`, allowed: ALLOWED };
  }
  const internal = addresses.find(isInternalAddress);
  return internal ? { problem: `the host ${host} is ${internal}, an internal address`, allowed: ALLOWED } : null;
}
