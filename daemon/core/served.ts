/**
 * What the immutable-artifact cache is asked (ImmutableRequest) and what it
 * answers (ServedBlob): shared by the blob cache, the pass-through path and
 * the HTTP cache, and by every adapter that serves artifacts.
 */
import type { Readable } from 'node:stream';
import type { BlobReader, UpstreamResponse } from './ports.js';
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
  /** Opens the upstream response. Called at most once per fill. */
  fetch(signal: AbortSignal): Promise<UpstreamResponse>;
}

export interface ByteRange {
  start: number;
  end: number;
}

export interface ServedBlob {
  state: CacheState;
  /** Total size when known (always for HIT). */
  size: number | undefined;
  mediaType: string | undefined;
  /** `sha256:<hex>` once known. */
  digest: string | undefined;
  /** The whole body when it is in memory (fast path for small hits). */
  body?: Buffer | undefined;
  /** Opens the body or a range of it. */
  open(range?: ByteRange): Readable;
  /** Positional reads of the committed blob, when it is on disk (a sender can reuse its buffers). */
  reader?: () => Promise<BlobReader>;
  /** Resolves when a MISS fill is committed and indexed (HIT: immediately); never rejects. */
  done: Promise<void>;
  /** Asks for a commit put off while clients are busy (see write-behind.ts) to happen now. */
  commitNow?(): void;
}
