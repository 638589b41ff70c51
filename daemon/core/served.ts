/**
 * What the immutable-artifact cache is asked (ImmutableRequest) and what it
 * answers (ServedBlob): shared by the blob cache, the fill pipeline and the
 * HTTP cache, and by every adapter that serves artifacts.
 */
import type { Readable } from 'node:stream';
import type { LarderError } from './errors.js';
import type { UpstreamResponse } from './ports.js';
import type { CacheState, Entry, ExpectedDigest } from './types.js';

export interface ImmutableRequest {
  key: string;
  /** Digests the protocol supplies; sha256 is always computed for the CAS address. */
  expected: ExpectedDigest[];
  expectedSize?: number;
  maxBytes?: number;
  mediaType?: string;
  meta?: Entry['meta'];
  /** Do not contact the upstream (offline remote / mode). */
  offline?: boolean;
  negativeTtlMs?: number;
  /**
   * Opens the upstream response. Called at most once per fill, and once more
   * when a LAN peer's transfer broke off: then `from` asks for the bytes from
   * that offset on (`Range: bytes=<from>-`) where the remote supports ranges
   * for this key; any answer but a matching 206 is taken as the whole body.
   */
  fetch(signal: AbortSignal, from?: number): Promise<UpstreamResponse>;
}

export interface ByteRange {
  start: number;
  end: number;
}

/**
 * One answer of the cache: what it is and how to read it. Hits, fills in
 * progress, bodies held in memory and pass-through bodies all look alike.
 */
export interface ServedBlob {
  state: CacheState;
  /** Total size when known (always for HIT). */
  size: number | undefined;
  mediaType: string | undefined;
  /** `sha256:<hex>` once known. */
  digest: string | undefined;
  /** Opens the body or an inclusive byte range of it. A failed or wrong body errors the stream instead of ending it. */
  open(range?: ByteRange): Readable;
  /**
   * Resolves (never rejects) once a miss is committed and indexed, with
   * undefined, or once it failed, with the error that stopped it (HIT: at
   * once). Waiting asks a commit put off behind the answer (write-behind.ts)
   * to run now.
   */
  done(): Promise<LarderError | undefined>;
}

/** Request headers of an ImmutableRequest's `fetch(signal, from)`: a Range from `from` on (identity encoding, so offsets are the body's), or none. */
export function resumeHeaders(from: number | undefined): Record<string, string> {
  return from === undefined || from <= 0 ? {} : { range: `bytes=${from}-`, 'accept-encoding': 'identity' };
}
