/**
 * The seams of the cache core. Storage, upstream and clock implementations
 * live outside `core/` and are wired together by the composition root
 * (`daemon/main.ts`). Nothing here imports Koa, got or lmdb.
 */
import type { Readable } from 'node:stream';
import type { BlobMeta, Entry, ExpectedDigest } from './types.js';

/** A temp file being filled; readable while it grows (followers read it positionally). */
/** Bytes in a `TempBlob.write` argument (an array's `length` counts buffers, not bytes). */
export function byteLength(data: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(data)) return data.length;
  let n = 0;
  for (const b of data) n += b.length;
  return n;
}

export interface TempBlob {
  readonly path: string;
  /** Bytes written so far. */
  readonly written: number;
  /** Appends the bytes (several buffers go out in one vectored write, never copied together). */
  write(data: Buffer | readonly Buffer[]): Promise<void>;
  /** Positional read of already-written bytes. Returns the number of bytes read. */
  read(into: Buffer, position: number, length: number): Promise<number>;
  /** fsync, then atomically rename into the CAS under `digest` (`sha256:<hex>`). */
  commit(digest: string): Promise<void>;
  /** Removes the temp file; safe to call more than once and after commit. */
  abort(): Promise<void>;
  /** Closes the handle once every reader is done (after commit or abort). */
  release(): Promise<void>;
}

/** Content-addressed blob storage. */
/** Positional reads of one committed blob (an open file). */
export interface BlobReader {
  read(into: Buffer, position: number, length: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Reads of a digest that is not stored (`createReadStream` through its
 * 'error' event, `readAll`, `openReader`) fail with an error whose `code`
 * is 'ENOENT' (`isBlobMissing` in storage-guard.ts); a digest that is not
 * `sha256:<64 hex>` is refused with LarderError E_BAD_REQUEST. Every
 * implementation passes test/conformance/blob-store.suite.ts.
 */
export interface BlobStore {
  /** Size of a committed blob, or undefined when absent. */
  stat(digest: string): Promise<number | undefined>;
  /** Streams a committed blob, optionally a byte range (inclusive end). */
  createReadStream(digest: string, range?: { start: number; end: number }): Readable;
  /** Opens a committed blob for positional reads (optional: lets a sender reuse its buffers). */
  openReader?(digest: string): Promise<BlobReader>;
  /** Reads a committed blob whole (for small documents). */
  readAll(digest: string): Promise<Buffer>;
  /** Commits a buffer through the same temp → fsync → rename protocol. */
  writeAll(digest: string, body: Buffer): Promise<void>;
  createTemp(): Promise<TempBlob>;
  delete(digest: string): Promise<void>;
  /** Moves a blob out of the store (kept for inspection, never served again). */
  quarantine(digest: string): Promise<void>;
  /** Deletes leftover temp files; returns how many. */
  sweepTemp(): Promise<number>;
  /** Every committed digest. */
  list(): AsyncIterable<string>;
  /** Bytes still free on the store's disk (optional: stores that cannot tell omit it). */
  freeBytes?(): Promise<number>;
}

/** Bytes and count of an index's blob rows. */
export interface IndexUsage {
  bytes: number;
  blobs: number;
}

/** The metadata index (LMDB in production). Reads are synchronous and cheap. */
export interface IndexStore {
  getEntry(key: string): Entry | undefined;
  /** Writes the entry and its blob rows in one transaction. */
  putEntry(entry: Entry, blobs: Array<[string, BlobMeta]>): Promise<void>;
  deleteEntry(key: string): Promise<void>;
  getBlob(digest: string): BlobMeta | undefined;
  deleteBlob(digest: string): Promise<void>;
  /** Records last access times (batched by the caller). */
  touchBlobs(touches: Map<string, number>): Promise<void>;
  entries(prefix?: string): Iterable<Entry>;
  blobs(): Iterable<[string, BlobMeta]>;
  /**
   * The sum of the blob rows, kept as a running total (optional: an index
   * without it is summed by walking `blobs()`, which costs a read per row).
   */
  usage?(): IndexUsage;
  close(): Promise<void>;
}

export interface UpstreamRequest {
  url: string;
  method?: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal;
  /** Per-request timeout for the response headers and idle body, ms. */
  timeoutMs?: number;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** The final URL after redirects. */
  url: string;
}

/**
 * An HTTP client for upstreams. Any status is returned (the body must then be
 * consumed or destroyed by the caller); network failures and timeouts are
 * thrown as LarderError E_UPSTREAM / E_UPSTREAM_TIMEOUT.
 */
export interface UpstreamClient {
  request(req: UpstreamRequest): Promise<UpstreamResponse>;
}

export interface Clock {
  now(): number;
}

/** Hooks the core calls so metrics and logs can observe it without importing it. */
export interface CacheEvents {
  fillStarted?(key: string): void;
  fillFinished?(key: string, outcome: 'ok' | 'integrity' | 'error', bytes: number, ms: number): void;
  staleServed?(key: string, reason: string): void;
  upstreamBytes?(bytes: number): void;
  /** A miss could not be stored because the disk is full (it was streamed through, or refused with 507). */
  storageFull?(key: string): void;
  /** An indexed entry's blob was missing when it was opened; the entry was dropped and will be fetched again. */
  blobMissing?(key: string): void;
  /** An immutable blob was verified, committed and indexed (peers answer from such entries). */
  blobCommitted?(entry: Entry): void;
}

/** A blob a peer offers: its 200 response (body unverified) and who sent it. */
export interface PeerOffer {
  peer: string;
  res: UpstreamResponse;
}

/**
 * Other Larder daemons on the LAN that may hold an immutable blob (lan
 * peers). Only asked for a digest the protocol already knows from metadata
 * it verified; whatever a peer sends is verified by the core like an
 * upstream body, and a peer whose bytes do not verify is reported back.
 */
/** How a broken-off peer transfer went on from the upstream (PeerSource.resumed). */
export type PeerResumeHow = 'range' | 'restart' | 'retry';

export interface PeerSource {
  /** A peer's body for this digest, or undefined (nobody has it within the budget, or it is too large). */
  offer(digest: ExpectedDigest, maxBytes: number, signal: AbortSignal): Promise<PeerOffer | undefined>;
  /** The peer's bytes did not verify, its transfer failed, or it was too slow: it is dropped for a while. */
  failed(peer: string, reason: 'integrity' | 'transfer' | 'slow'): void;
  /** Verified bytes came from this peer: the whole body, or (`whole` false) the part before its transfer broke off. */
  served(peer: string, bytes: number, whole: boolean): void;
  /**
   * A broken-off peer transfer went on from the upstream: by Range from where the peer got, from
   * the start (the upstream answered the Range request with its whole body, or the peer had sent
   * nothing), or `retry`: the upstream answered the Range request with an error, and the fill
   * asks it again from the start. Called once per `fellBack`, with the same `how`.
   */
  resumed?(how: PeerResumeHow): void;
  /**
   * A peer transfer broke off (vanished, cut, stalled, slow) and the fill went on from the
   * upstream (`how` as for `resumed`, keeping `peerBytes` by Range). `delayMs` is what the break
   * cost: from the peer's last byte (or the start of its transfer) until the upstream answered
   * the resume (or, when the peer sent nothing, until the break was seen). It does not count
   * the time the peer's transfer took before its last byte (a slow peer's wasted time).
   */
  fellBack?(e: { peer: string; how: PeerResumeHow; peerBytes: number; delayMs: number }): void;
  /** A peer transfer that sends nothing for this long, or less than `minBytesPerSec` on average after it, is given up (ms). */
  readonly stallMs?: number;
  readonly minBytesPerSec?: number;
}

/** Bounded in-memory cache of small bodies by digest. */
export interface HotCache {
  get(digest: string): Buffer | undefined;
  set(digest: string, body: Buffer): void;
  delete(digest: string): void;
}

/** A small durable key-value table (pins, audit log, jobs, feed). Keys sort as strings. */
export interface KvTable<T> {
  get(key: string): T | undefined;
  put(key: string, value: T): Promise<void>;
  remove(key: string): Promise<void>;
  /** Entries in key order, optionally from `start` (inclusive) and in reverse. */
  range(opts?: { start?: string; end?: string; reverse?: boolean; limit?: number }): Iterable<[string, T]>;
}

/** Opens named tables in the same durable store as the index. */
export interface TableStore {
  table<T>(name: string): KvTable<T>;
}
