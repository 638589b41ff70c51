/**
 * Signed peer requests: a daemon never sends the site's peer token to a
 * peer. Each request carries
 *
 *   Authorization: Larder-Peer t=<unix ms>, n=<nonce>, s=<base64url HMAC-SHA256>
 *
 * where the HMAC is keyed by a key derived from `peers.token` and covers the
 * method, the request target (path and query as sent), the timestamp and the
 * nonce. The method is covered so that a HEAD's signature (sent to every
 * peer of a round) cannot be turned into a GET of the blob; the target so it
 * names one blob. A Range header is not covered: the nonce already makes the
 * signature good for one request, and any range of the blob is no more than
 * the signed path grants.
 *
 * The answering side accepts a timestamp within `skewMs` of its clock and
 * each nonce once while its timestamp is acceptable (remembered in a map
 * pruned by time and capped), so a captured header is good for one request
 * within about a minute and is refused after it. Pure: node:crypto only.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const PEER_AUTH_SCHEME = 'Larder-Peer';
const LABEL = 'larder peer request signing v1';
const HEADER = /^Larder-Peer t=(\d{1,15}), n=([A-Za-z0-9_-]{16,64}), s=([A-Za-z0-9_-]{43})$/;

/** The signing key of a site token (the token itself is never used as a key or sent). */
export function peerKey(token: string): Buffer {
  return createHmac('sha256', token).update(LABEL).digest();
}

function mac(key: Buffer, method: string, target: string, t: string, nonce: string): Buffer {
  return createHmac('sha256', key).update(`${LABEL}\n${method.toUpperCase()}\n${target}\n${t}\n${nonce}`).digest();
}

/** The Authorization header value of one peer request (`target`: path and query, e.g. `/_/peer/v1/blobs/sha256/<hex>`). */
export function signPeerRequest(key: Buffer, method: string, target: string, now = Date.now()): string {
  const t = String(Math.floor(now));
  const n = randomBytes(16).toString('base64url');
  return `${PEER_AUTH_SCHEME} t=${t}, n=${n}, s=${mac(key, method, target, t, n).toString('base64url')}`;
}

/** Why a peer request was refused (for the 401's message; none of it is secret). */
export type PeerAuthRefusal = 'missing' | 'malformed' | 'stale' | 'signature' | 'replayed' | 'busy';

export interface PeerVerifierOptions {
  /** Accepted clock difference either way (ms; default 60 s). */
  skewMs?: number;
  /** At most this many nonces remembered; past it (after pruning) requests are refused as `busy` (default 100 000). */
  maxNonces?: number;
  now?(): number;
}

/** Checks signed peer requests for one site token, remembering the nonces it accepted. */
export class PeerRequestVerifier {
  private readonly key: Buffer;
  readonly skewMs: number;
  private readonly maxNonces: number;
  /** Nonce → until when its timestamp is acceptable (after which a replay is refused as stale anyway). */
  private readonly nonces = new Map<string, number>();
  private lastSweep = 0;

  constructor(
    token: string,
    private readonly o: PeerVerifierOptions = {},
  ) {
    this.key = peerKey(token);
    this.skewMs = o.skewMs ?? 60_000;
    this.maxNonces = o.maxNonces ?? 100_000;
  }

  /** Undefined when the request is signed with the site's key, fresh and not seen before; else why not. */
  check(method: string, target: string, header: string | undefined): PeerAuthRefusal | undefined {
    if (!header) return 'missing';
    const m = HEADER.exec(header);
    if (!m) return 'malformed';
    const t = m[1]!;
    const nonce = m[2]!;
    const now = this.now();
    const at = Number(t);
    if (Math.abs(now - at) > this.skewMs) return 'stale';
    const given = Buffer.from(m[3]!, 'base64url');
    const want = mac(this.key, method, target, t, nonce);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return 'signature';
    this.sweep(now);
    if (this.nonces.has(nonce)) return 'replayed';
    if (this.nonces.size >= this.maxNonces) return 'busy';
    this.nonces.set(nonce, at + this.skewMs);
    return undefined;
  }

  /** How many nonces are remembered now. */
  remembered(): number {
    return this.nonces.size;
  }

  /** Forgets nonces whose timestamps are no longer acceptable: once per skew window, or when the map is full. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.skewMs && this.nonces.size < this.maxNonces) return;
    this.lastSweep = now;
    for (const [n, until] of this.nonces) if (until < now) this.nonces.delete(n);
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }
}
