/**
 * Where deliveries may go. A webhook URL is chosen by an admin but fetched by the server, so by default it may not
 * point inside the network the server sits in: only public unicast addresses are delivered to, whether written as an
 * address or reached through a name. The check runs when a subscription is made and again before every delivery, and
 * the delivery's own connection resolves the name through deliveryLookup, which refuses an internal address again.
 */
import { lookup as lookupAll } from 'node:dns/promises';
import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Deny by default: only a public unicast address may be delivered to, as ipaddr.js names the ranges (loopback, private,
 * link-local, carrier-grade NAT, unique-local, multicast, reserved and documentation ranges, and the IPv6 forms that
 * carry an IPv4 address: NAT64, 6to4, Teredo, SIIT, IPv4-compatible, all refused), and in IPv6 only the global unicast
 * block `2000::/3`. An IPv4 address mapped into IPv6 (`::ffff:7f00:1`) is judged as the IPv4 address it is. A blocklist
 * of our own let `::127.0.0.1`, `64:ff9b::7f00:1`, `2002:7f00:1::` and `::ffff:0:127.0.0.1` through (a review's finding).
 */
export function isInternalAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() !== 'unicast';
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().range() !== 'unicast';
  // Only the global unicast block is public: ipaddr.js calls the IPv4-compatible `::7f00:1` (`::127.0.0.1` as a URL
  // writes it) and the rest of `::/8` unicast, which a re-test got through.
  return !v6.match(GLOBAL_UNICAST) || v6.range() !== 'unicast';
}

const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * The DNS lookup a delivery's connection makes (`lookup` of `http.request`): the name is resolved once, at connect, and
 * refused there when any address it gives is internal, so a name re-pointed between the check and the connection (DNS
 * rebinding) reaches nothing inside. `allowPrivate` lets every address through.
 */
export const INTERNAL_TARGET = 'EINTERNALTARGET';

export function deliveryLookup(allowPrivate: boolean) {
  return (
    hostname: string,
    options: LookupOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    lookup(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const internal = allowPrivate ? undefined : addresses.find((a) => isInternalAddress(a.address));
      if (internal)
        return callback(
          Object.assign(new Error(`the host ${hostname} is ${internal.address}, an internal address`), {
            code: INTERNAL_TARGET,
          }),
          [],
        );
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      if (!first)
        return callback(Object.assign(new Error(`the host ${hostname} does not resolve`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
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
    addresses = isIP(host) ? [host] : (await lookupAll(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return { problem: `the host ${host} does not resolve`, allowed: ALLOWED };
  }
  const internal = addresses.find(isInternalAddress);
  return internal ? { problem: `the host ${host} is ${internal}, an internal address`, allowed: ALLOWED } : null;
}
