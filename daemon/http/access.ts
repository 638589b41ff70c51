/**
 * Client access (`access:` in the config), checked before a protocol
 * request, /metrics, the admin API or the dashboard is answered (not
 * /healthz and /readyz):
 *
 * - `allow`: the networks whose clients may use the port at all; others get
 *   403. Loopback clients always may (the CLI and the tray talk to the
 *   daemon from the same machine).
 * - `anonymous: false`: protocol reads and /metrics need a token of any
 *   scope (admin, replicate or read). Clients send it their usual way, as
 *   `Authorization: Bearer` (npm `_authToken`) or as the password of Basic
 *   auth (pip and Go URL credentials or netrc, `docker login`, Maven
 *   `<server>`, apt `auth.conf`). Without one the answer is 401 in the
 *   protocol's own error format with `WWW-Authenticate: Basic`, which every
 *   one of those clients answers by sending its credentials (an OCI client
 *   sends them as Basic on each request; no token endpoint is needed).
 *
 * The token a client presents is never forwarded upstream (app.ts drops an
 * Authorization header the daemon itself recognises).
 */
import { BlockList, isIP } from 'node:net';
import type { Context } from 'koa';
import { LarderError } from '../core/errors.js';
import type { Principal } from '../admin/auth.js';
import type { ProtocolAdapter } from '../protocols/adapter.js';

export interface AccessPolicy {
  anonymous: boolean;
  /** CIDR networks ("10.0.0.0/8", "fd00::/8") or single addresses. */
  allow: readonly string[];
}

/** The realm of the Basic challenge on a protocol 401. */
export const REALM = 'larder';

/** `a.b.c.d` for an IPv4-mapped IPv6 peer, else the address as given. */
export function peerAddress(raw: string | undefined): string {
  const a = raw ?? '';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  return mapped ? mapped[1]! : a;
}

function isLoopbackPeer(a: string): boolean {
  return a === '::1' || /^127\./.test(a);
}

/** A BlockList of the allowed networks. */
export function allowList(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const n of networks) {
    const [addr = '', bits] = n.split('/');
    const family = isIP(addr);
    if (!family) throw new LarderError('E_CONFIG', `access.allow: ${JSON.stringify(n)} is not an address or network`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

/** The hook app.ts calls; `adapter` is set for a protocol request. */
export function accessCheck(
  policy: AccessPolicy,
  identify: (authorization: string | undefined) => Principal | undefined,
): (ctx: Context, adapter: ProtocolAdapter | undefined) => void {
  const allowed = allowList(policy.allow);
  return (ctx, adapter) => {
    const peer = peerAddress(ctx.req.socket.remoteAddress);
    if (!isLoopbackPeer(peer)) {
      const family = isIP(peer);
      if (!family || !allowed.check(peer, family === 6 ? 'ipv6' : 'ipv4')) {
        throw new LarderError('E_FORBIDDEN', 'this Larder does not serve your network (access.allow)');
      }
    }
    if (policy.anonymous || (!adapter && ctx.path !== '/metrics')) return;
    if (identify(ctx.get('authorization') || undefined)) return;
    ctx.set('www-authenticate', `Basic realm="${REALM}"`);
    throw new LarderError(
      'E_UNAUTHORIZED',
      ctx.get('authorization')
        ? 'the token presented is not valid here (rotated or revoked?)'
        : 'this Larder needs a token: send it as a Bearer token or as the password of Basic auth',
    );
  };
}
