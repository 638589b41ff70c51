/**
 * A miss asked of LAN peers before the upstream. Only a digest the protocol
 * already knows (from metadata it verified itself) is asked for. The peer's
 * body streams into a temp file through the same Verifier as an upstream
 * body; nothing of it reaches a client or the index before the whole body
 * verified, so any size streams (no memory cap) and a peer that sends wrong
 * bytes costs a delay, never an error: it is reported (and dropped by the
 * peer source) and the fill goes on from the upstream.
 *
 * A peer that vanishes mid-transfer, stalls (nothing for `stallMs`) or is
 * slow (under `minBytesPerSec` on average past `stallMs`) is given up; the
 * body then goes on from the upstream by Range from the byte the peer got
 * to, when the upstream answers that range with a matching 206, else from
 * the start. The whole body, peer part and upstream part, is verified
 * against the protocol's digests; a stitched body that does not verify is
 * thrown away and fetched whole from the upstream.
 */
import type { Readable } from 'node:stream';
import { LarderError, toLarderError } from '../errors.js';
import type { PeerSource, TempBlob, UpstreamResponse } from '../ports.js';
import type { ImmutableRequest } from '../served.js';
import type { ExpectedDigest } from '../types.js';
import { Verifier, type FillResult, type FillSpec } from './verify.js';

/** Defaults of a peer transfer's stall and speed floor. */
export const PEER_STALL_MS = 2_000;
export const PEER_MIN_BYTES_PER_SEC = 512 * 1024;

/** What the peers gave: a verified temp file to commit, or the upstream's whole body (a resume it did not honour). */
export type PeerFilled = { kind: 'verified'; temp: TempBlob; result: FillResult } | { kind: 'upstream'; res: UpstreamResponse };

export interface PeerFillDeps {
  peers: PeerSource;
  /** A new temp file in the blob store (guarded for a full disk by the caller). */
  createTemp(): Promise<TempBlob>;
}

/** The digest a peer is asked for: sha256 (the CAS address) when known, else sha512 (npm integrity). */
export function peerDigest(expected: readonly ExpectedDigest[]): ExpectedDigest | undefined {
  return expected.find((e) => e.algo === 'sha256') ?? expected.find((e) => e.algo === 'sha512');
}

/** The body from peers (verified, in a temp file), or undefined: the caller fetches it from the upstream. */
export async function fromPeers(d: PeerFillDeps, req: ImmutableRequest, signal: AbortSignal): Promise<PeerFilled | undefined> {
  const digest = peerDigest(req.expected);
  if (!digest) return undefined;
  const { peers } = d;
  const spec: FillSpec = { key: req.key, expected: req.expected, expectedSize: req.expectedSize, maxBytes: req.maxBytes };
  let offer: Awaited<ReturnType<PeerSource['offer']>>;
  try {
    offer = await peers.offer(digest, req.maxBytes ?? Number.MAX_SAFE_INTEGER, signal);
  } catch {
    return undefined;
  }
  if (!offer) return undefined;
  let temp: TempBlob;
  try {
    temp = await d.createTemp();
  } catch {
    offer.res.body.destroy();
    return undefined;
  }
  const verifier = new Verifier(spec);
  const limits = { stallMs: peers.stallMs ?? PEER_STALL_MS, minBytesPerSec: peers.minBytesPerSec ?? PEER_MIN_BYTES_PER_SEC };
  // When the peer's last byte arrived (or its transfer began): what a break costs is counted from here.
  const last = { at: Date.now() };
  let broke: 'transfer' | 'slow';
  try {
    await copyInto(offer.res.body, temp, verifier, signal, limits, last);
    const result = checkedSize(verifier.finish(), temp);
    peers.served(offer.peer, result.size, true);
    return { kind: 'verified', temp, result };
  } catch (err) {
    // The store failed (disk full, say), not the peer: nothing to resume into.
    if (err instanceof TempWriteFailed) {
      await discard(temp);
      throw err.cause;
    }
    const e = toLarderError(err);
    // Too many bytes, or the wrong ones: this peer's data is wrong, not merely cut short.
    if (e.code === 'E_INTEGRITY' || (spec.maxBytes !== undefined && verifier.bytes > spec.maxBytes)) {
      peers.failed(offer.peer, 'integrity');
      await discard(temp);
      return undefined;
    }
    broke = e.code === 'E_UPSTREAM_TIMEOUT' ? 'slow' : 'transfer';
  }
  // The fill was aborted (shutdown), not broken off by the peer: nothing is counted against it.
  if (signal.aborted) {
    await discard(temp);
    return undefined;
  }
  peers.failed(offer.peer, broke);
  if (verifier.bytes === 0) {
    await discard(temp);
    // Nothing to keep: the caller fetches the whole body, a restart like any other.
    fellBack(peers, { peer: offer.peer, how: 'restart', peerBytes: 0, delayMs: Date.now() - last.at });
    return undefined;
  }
  return resume(d, req, temp, verifier, offer.peer, signal, last.at);
}

/** Goes on from the upstream at the byte the peer got to; the upstream's whole body if it does not answer that range. */
async function resume(
  d: PeerFillDeps,
  req: ImmutableRequest,
  temp: TempBlob,
  verifier: Verifier,
  peer: string,
  signal: AbortSignal,
  lastByteAt: number,
): Promise<PeerFilled | undefined> {
  const from = verifier.bytes;
  let res: UpstreamResponse;
  try {
    res = await req.fetch(signal, from);
  } catch (err) {
    await discard(temp);
    throw err;
  }
  const ranged = res.status === 206 && rangeStart(res) === from;
  // The upstream answered: the break cost the time since the peer's last byte. An error answer
  // is a `retry`: the caller asks the upstream again from the start.
  const how = ranged ? 'range' : res.status === 200 ? 'restart' : 'retry';
  fellBack(d.peers, { peer, how, peerBytes: ranged ? from : 0, delayMs: Date.now() - lastByteAt });
  if (!ranged) {
    await discard(temp);
    if (res.status === 200) return { kind: 'upstream', res };
    res.body.resume();
    return undefined;
  }
  try {
    await copyInto(res.body, temp, verifier, signal);
    const result = checkedSize(verifier.finish(), temp);
    d.peers.served(peer, from, false);
    return { kind: 'verified', temp, result };
  } catch (err) {
    await discard(temp);
    if (err instanceof TempWriteFailed) throw err.cause;
    // The stitched body did not verify (or the upstream broke off too): fetched whole again, by the caller.
    if (toLarderError(err).code === 'E_INTEGRITY') return undefined;
    throw err;
  }
}

/** Reports a fall-back to the upstream: the delay (`fellBack`) and the resume counted by the same `how`. */
function fellBack(peers: PeerSource, e: Parameters<NonNullable<PeerSource['fellBack']>>[0]): void {
  peers.fellBack?.(e);
  peers.resumed?.(e.how);
}

/** The first byte of a 206's Content-Range (`bytes <start>-<end>/<size>`), or undefined. */
function rangeStart(res: UpstreamResponse): number | undefined {
  const raw = res.headers['content-range'];
  const m = typeof raw === 'string' ? /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(raw.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * Appends `body` to `temp` through `verifier`; with `limits`, gives up
 * (E_UPSTREAM_TIMEOUT) when nothing arrives for `stallMs` or the average rate is
 * under `minBytesPerSec` once `stallMs` passed.
 */
async function copyInto(
  body: Readable,
  temp: TempBlob,
  verifier: Verifier,
  signal: AbortSignal,
  limits?: { stallMs: number; minBytesPerSec: number },
  last?: { at: number },
): Promise<void> {
  const started = Date.now();
  const startBytes = verifier.bytes;
  let timer: NodeJS.Timeout | undefined;
  const giveUp = (why: string): void => void body.destroy(new LarderError('E_UPSTREAM_TIMEOUT', why));
  const arm = (): void => {
    if (!limits) return;
    clearTimeout(timer);
    timer = setTimeout(() => giveUp(`peer sent nothing for ${limits.stallMs} ms`), limits.stallMs);
  };
  const onAbort = (): void => void body.destroy(new LarderError('E_SHUTTING_DOWN', 'fill aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  arm();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      arm();
      // The bytes arrived now (a slow temp-file write after them is not the peer's delay).
      if (last) last.at = Date.now();
      // Written before it is hashed: a byte the verifier counted is a byte the temp file holds.
      await temp.write(chunk).catch((err: unknown) => {
        throw new TempWriteFailed(err);
      });
      verifier.update(chunk);
      const ms = Date.now() - started;
      if (limits && ms > limits.stallMs && ((verifier.bytes - startBytes) * 1000) / ms < limits.minBytesPerSec) {
        throw new LarderError('E_UPSTREAM_TIMEOUT', `peer sent under ${limits.minBytesPerSec} bytes/s`);
      }
    }
  } catch (err) {
    body.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** A write to the temp file that failed: the store's error, carried past the peer's error handling. */
class TempWriteFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('temp file write failed');
  }
}

/** The verified result, once the temp file holds exactly the bytes that verified (never commit a short file). */
function checkedSize(result: FillResult, temp: TempBlob): FillResult {
  if (temp.written !== result.size) {
    throw new LarderError('E_INTEGRITY', `the temp file holds ${temp.written} bytes, ${result.size} verified`);
  }
  return result;
}

async function discard(temp: TempBlob): Promise<void> {
  await temp.abort().catch(() => undefined);
  await temp.release().catch(() => undefined);
}
