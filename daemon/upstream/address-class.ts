/**
 * Where an upstream may send Larder: a redirect or an OCI token realm that
 * points at a loopback, link-local or private address is refused unless the
 * remote itself is on such an address. Addresses are ranked public <
 * private (RFC 1918, link-local, CGNAT, ULA) < loopback; a target may be no
 * more private than the origin that sent Larder there. A public registry
 * therefore cannot point Larder at 127.0.0.1 or 169.254.169.254; a LAN
 * registry may point at the LAN but not at the machine itself; a remote on
 * loopback (every test upstream) may point anywhere.
 *
 * Names are resolved (every address counts, the most private wins) when the
 * check runs; the connection resolves again, so a name whose answer changes
 * between the two is not caught (an accepted gap; literal addresses and
 * stable names are).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { LarderError } from '../core/errors.js';

export type AddressClass = 'public' | 'private' | 'loopback';

const RANK: Record<AddressClass, number> = { public: 0, private: 1, loopback: 2 };

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addSubnet('0.0.0.0', 8, 'ipv4'); // 0.0.0.0 reaches this machine on Linux
loopback.addAddress('::1', 'ipv6');
loopback.addAddress('::', 'ipv6');

const lan = new BlockList();
for (const [net, bits] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['169.254.0.0', 16], // link-local (cloud metadata services)
  ['100.64.0.0', 10], // carrier-grade NAT
] as const) {
  lan.addSubnet(net, bits, 'ipv4');
}
lan.addSubnet('fc00::', 7, 'ipv6'); // unique local
lan.addSubnet('fe80::', 10, 'ipv6'); // link-local

/** The class of one literal address (IPv4, IPv6, IPv4-mapped IPv6). */
export function classifyAddress(address: string): AddressClass {
  let a = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) a = mapped[1]!;
  const family = isIP(a) === 6 ? 'ipv6' : 'ipv4';
  if (loopback.check(a, family)) return 'loopback';
  if (lan.check(a, family)) return 'private';
  return 'public';
}

/** Resolves a host name to its addresses (tests give their own). */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** The class of a URL's host: a literal is classified, a name resolved (a name that does not resolve is public: nothing to reach). */
export async function hostClass(hostname: string, resolve: Resolver = systemResolver): Promise<AddressClass> {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
  if (isIP(h)) return classifyAddress(h);
  let addresses: string[];
  try {
    addresses = await resolve(h);
  } catch {
    return 'public';
  }
  return addresses.map(classifyAddress).reduce<AddressClass>((worst, c) => (RANK[c] > RANK[worst] ? c : worst), 'public');
}

/**
 * Refuses `target` (a redirect's Location or a token realm) when its address
 * is more private than `origin`'s (the remote that sent Larder there).
 */
export async function checkTarget(
  what: string,
  target: string | URL,
  origin: string | URL,
  resolve: Resolver = systemResolver,
): Promise<void> {
  const t = new URL(target);
  const o = new URL(origin);
  if (t.host === o.host) return;
  const [tc, oc] = await Promise.all([hostClass(t.hostname, resolve), hostClass(o.hostname, resolve)]);
  if (RANK[tc] <= RANK[oc]) return;
  throw new LarderError(
    'E_UPSTREAM',
    `upstream ${what} to a ${tc === 'loopback' ? 'loopback' : 'private or link-local'} address refused: the remote itself is on a ${oc} address`,
    { details: { refused: what } },
  );
}
