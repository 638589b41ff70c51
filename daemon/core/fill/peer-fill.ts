/**
 * A miss asked of LAN peers before the upstream. Only a digest the protocol
 * already knows (from metadata it verified itself) is asked for; the peer's
 * body is read whole through the same Verifier as an upstream body before
 * anything of it reaches a client or the store, so a peer that sends wrong
 * bytes costs a delay, never an error: it is reported (and dropped by the
 * peer source) and the fill goes on from the upstream.
 */
import type { PeerSource, UpstreamResponse } from '../ports.js';
import { toLarderError } from '../errors.js';
import type { ExpectedDigest } from '../types.js';
import { bufferStream } from './pipeline.js';
import { readVerified, type FillSpec } from './verify.js';

/** Largest peer body verified in memory; larger blobs come from the upstream (for now). */
export const PEER_MAX_BYTES = 64 * 1024 * 1024;

/** The digest a peer is asked for: sha256 (the CAS address) when known, else sha512 (npm integrity). */
export function peerDigest(expected: readonly ExpectedDigest[]): ExpectedDigest | undefined {
  return expected.find((e) => e.algo === 'sha256') ?? expected.find((e) => e.algo === 'sha512');
}

/**
 * A verified body from a peer, as a 200 response the fill pipeline takes
 * like an upstream's; undefined when no peer had it or its bytes failed.
 */
export async function fromPeers(peers: PeerSource, spec: FillSpec, signal: AbortSignal): Promise<UpstreamResponse | undefined> {
  const digest = peerDigest(spec.expected);
  if (!digest) return undefined;
  const limit = Math.min(spec.maxBytes ?? PEER_MAX_BYTES, PEER_MAX_BYTES);
  if (spec.expectedSize !== undefined && spec.expectedSize > limit) return undefined;
  let offer: Awaited<ReturnType<PeerSource['offer']>>;
  try {
    offer = await peers.offer(digest, limit, signal);
  } catch {
    return undefined;
  }
  if (!offer) return undefined;
  try {
    const { body, result } = await readVerified(offer.res.body, { ...spec, maxBytes: limit });
    peers.served(offer.peer, result.size);
    // Only the verified bytes are taken from the peer: no header of its answer reaches the entry.
    return { status: 200, headers: { 'content-length': String(body.length) }, body: bufferStream(body), url: offer.res.url };
  } catch (err) {
    offer.res.body.destroy();
    peers.failed(offer.peer, toLarderError(err).code === 'E_INTEGRITY' ? 'integrity' : 'transfer');
    return undefined;
  }
}
