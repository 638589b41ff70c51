/**
 * The LAN peer API, for other Larder daemons of the same site:
 *
 *   HEAD|GET /_/peer/v1/blobs/<sha256|sha512>/<hex>   (Range supported)
 *
 * Answered only from a committed, verified immutable blob (PeerDigestIndex);
 * never triggers an upstream fetch. Each request must be signed with the
 * site's peer token (`Authorization: Larder-Peer …`, peers/request-signature.ts:
 * fresh, not replayed, method and path covered); 401 otherwise. The path is
 * matched whole against a strict pattern before anything is looked up, so
 * no request text reaches the filesystem.
 */
import type { Context } from 'koa';
import { LarderError } from '../core/errors.js';
import type { BlobStore } from '../core/ports.js';
import type { PeerAlgo, PeerDigestIndex } from '../peers/digest-index.js';
import { PEER_AUTH_SCHEME, type PeerRequestVerifier } from '../peers/request-signature.js';
import { writeResponse } from './respond.js';

export const PEER_PREFIX = '/_/peer/v1/';
const BLOB = /^\/_\/peer\/v1\/blobs\/(?:(sha256)\/([0-9a-f]{64})|(sha512)\/([0-9a-f]{128}))$/;

export interface PeerRouteDeps {
  /** Checks the signature of each request (made from the site's peer token). */
  verifier: PeerRequestVerifier;
  digests: PeerDigestIndex;
  blobs: BlobStore;
  /** A blob was sent to a peer (bytes of the body; 0 for HEAD). */
  onServed?(bytes: number): void;
}

/** The `extra` route of the app for `/_/peer/v1/…`. */
export function peerRoutes(d: PeerRouteDeps): (ctx: Context) => Promise<boolean> {
  return async (ctx) => {
    if (!ctx.path.startsWith(PEER_PREFIX)) return false;
    const refused = d.verifier.check(ctx.method, ctx.url, ctx.get('authorization') || undefined);
    if (refused) {
      ctx.set('www-authenticate', `${PEER_AUTH_SCHEME} realm="larder-peer"`);
      throw new LarderError('E_UNAUTHORIZED', `peer request signature required (${refused})`);
    }
    const m = BLOB.exec(ctx.path);
    if (!m) throw new LarderError('E_NOT_FOUND', 'no such peer route');
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD')
      throw new LarderError('E_METHOD_NOT_ALLOWED', 'peer blobs are read with GET or HEAD');
    const algo = (m[1] ?? m[3]) as PeerAlgo;
    const hex = (m[2] ?? m[4])!;
    const digest = d.digests.lookup(algo, hex);
    const size = digest ? await d.blobs.stat(digest) : undefined;
    if (!digest || size === undefined) throw new LarderError('E_NOT_FOUND', 'not held by this peer');
    await new Promise<void>((resolve) => {
      writeResponse(
        ctx,
        {
          status: 200,
          headers: { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' },
          cache: 'HIT',
          body: {
            type: 'blob',
            blob: {
              state: 'HIT',
              size,
              mediaType: 'application/octet-stream',
              digest,
              open: (range) => d.blobs.createReadStream(digest, range),
              done: async () => undefined,
            },
          },
        },
        (w) => {
          d.onServed?.(w.bytes);
          resolve();
        },
      );
    });
    return true;
  };
}
