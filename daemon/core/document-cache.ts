/**
 * Mutable documents (packuments, tag lists, index pages…): kept with their
 * upstream validators, revalidated after a TTL with If-None-Match /
 * If-Modified-Since (concurrent revalidations coalesce), derived once per
 * upstream change into named variants, and served stale when the upstream
 * fails. When the disk is full, a new document is answered from memory
 * (state BYPASS) without being stored.
 */
import { setMaxListeners } from 'node:events';
import { LarderError, notFound, toLarderError } from './errors.js';
import { sha256Hex } from './digest.js';
import { readVerified } from './fill/verify.js';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import type { MemoryLease } from './memory-budget.js';
import { HeldBodies, LiveBodies } from './held-bodies.js';
import { writeLater } from './write-behind.js';
import { StorageGuard, isBlobMissing, isNoSpace, storageFullError } from './storage-guard.js';
import { NegativeCache, SingleFlight } from './single-flight.js';
import { header, isAbsent, isUpstreamFailure, upstreamStatusError } from './upstream-status.js';
import type { AccessTracker, CoreDeps } from './deps.js';
import type { UpstreamResponse } from './ports.js';
import type { BlobMeta, CacheState, Entry, Validators, VariantRef } from './types.js';

export interface DerivedVariant {
  body: Buffer;
  mediaType: string;
}

export interface Derived {
  variants: Record<string, DerivedVariant>;
  meta?: Entry['meta'];
}

export interface DocumentRequest {
  key: string;
  ttlMs: number;
  offline?: boolean;
  negativeTtlMs?: number;
  maxBytes?: number;
  /** Identifies the derivation (code version + settings such as publicUrl). */
  deriveTag: string;
  fetch(validators: Validators, signal: AbortSignal): Promise<UpstreamResponse>;
  derive(raw: Buffer): Derived | Promise<Derived>;
}

/**
 * Bytes a document fill holds per byte of document while it is read, parsed
 * and derived (the chunks and their concatenation, the parsed object, the
 * derived forms); measured on an 18 MiB packument: about 7x at the peak.
 */
const FILL_FACTOR = 6;
/** A fill's lease grows in steps of this many document bytes. */
const FILL_STEP = 1024 * 1024;

/** Bodies being written to disk, and their size (held against the memory budget until written). */
interface Written {
  done: Promise<void>;
  bytes: number;
}

export interface ServedDocument {
  state: CacheState;
  entry: Entry;
}

export class DocumentCache {
  private readonly flights = new SingleFlight<ServedDocument>();
  private readonly negative = new NegativeCache();
  private readonly controller = new AbortController();
  private readonly guard: StorageGuard;
  /** Documents that could not be stored (disk full), answered from memory. */
  private readonly held: HeldBodies;
  /** Entries whose bodies are still being written (served from `unwritten` meanwhile), by key. */
  private readonly writing = new Map<string, { entry: Entry; done: Promise<void> }>();
  private readonly unwritten = new Map<string, Buffer>();
  /** Bodies read from disk that are still referenced somewhere (being sent), by digest. */
  private readonly live = new LiveBodies();
  /** Digests found missing on disk when read (their entries are fetched anew on next use). */
  private readonly missing = new Set<string>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly access: AccessTracker,
  ) {
    this.guard = deps.guard ?? new StorageGuard(deps, { minFree: 0 });
    this.held = new HeldBodies(deps.clock);
    // Every upstream request listens on this one signal; many in flight is normal, not a leak.
    setMaxListeners(0, this.controller.signal);
  }

  get inflight(): number {
    return this.flights.size;
  }

  /** Returns a fresh enough entry, revalidating or fetching it as needed. */
  async get(req: DocumentRequest, opts: { forceRefresh?: boolean } = {}): Promise<ServedDocument> {
    this.deps.later?.touch();
    let entry = this.lookup(req.key);
    if (entry && this.damaged(entry)) {
      // A body of it was found missing on disk: fetched anew, as if never cached.
      // Marked healthy again only once the entry is gone (a full disk may refuse the delete).
      const dropped = await this.deps.index.deleteEntry(req.key).then(
        () => true,
        () => false,
      );
      if (dropped) for (const d of bodiesOf(entry)) this.missing.delete(d);
      entry = undefined;
    }
    const now = this.deps.clock.now();
    if (entry && entry.deriveTag === req.deriveTag && entry.expiresAt > now && !opts.forceRefresh) {
      return { state: 'HIT', entry };
    }
    if (!entry && this.negative.has(req.key, now)) throw notFound(req.key);
    return this.flights.run(req.key, () => this.shared(req, entry));
  }

  /** Cluster mode: a document this node lacks is adopted from the shared index (a fresh one is a hit), else refreshed. */
  private async shared(req: DocumentRequest, entry: Entry | undefined): Promise<ServedDocument> {
    const adopted = entry ?? (await this.deps.cluster?.index.adopt(req.key));
    if (!entry && adopted && adopted.deriveTag === req.deriveTag && adopted.expiresAt > this.deps.clock.now()) {
      return { state: 'HIT', entry: adopted };
    }
    return this.refresh(req, adopted);
  }

  /** Whether `key` would be answered without contacting the upstream (a fresh entry). */
  isFresh(key: string): boolean {
    const entry = this.lookup(key);
    return entry !== undefined && entry.expiresAt > this.deps.clock.now();
  }

  /** The newest entry of `key`: one answered and still being written, else the indexed one. */
  private lookup(key: string): Entry | undefined {
    return this.writing.get(key)?.entry ?? this.deps.index.getEntry(key);
  }

  /**
   * Reads a variant body: the hot cache first, then a body some client is
   * still being sent (documents too large for the hot cache, such as a
   * packument of tens of MB, are shared, never read once per client), then
   * the disk (one read for concurrent requests).
   */
  async variant(ref: VariantRef): Promise<Buffer> {
    this.access.touch(ref.digest);
    const hit = this.deps.hot.get(ref.digest) ?? this.unwritten.get(ref.digest) ?? this.held.get(ref.digest) ?? this.live.get(ref.digest);
    if (hit) return hit;
    const body = await this.live.read(ref.digest, () => this.readStored(ref.digest));
    if (body.length <= this.deps.hotMaxBody) this.deps.hot.set(ref.digest, body);
    return body;
  }

  /** The stored raw upstream document. */
  async raw(entry: Entry): Promise<Buffer> {
    return this.unwritten.get(entry.digest) ?? this.held.get(entry.digest) ?? this.readStored(entry.digest);
  }

  /** Reads a stored body; a missing one marks its entry damaged (start-up does not walk the store). */
  private async readStored(digest: string): Promise<Buffer> {
    try {
      return await this.deps.blobs.readAll(digest);
    } catch (err) {
      if (!isBlobMissing(err)) throw err;
      this.missing.add(digest);
      throw new LarderError('E_STORAGE', 'a cached document is missing from the disk; it is fetched again on the next request', {
        cause: err,
      });
    }
  }

  private damaged(entry: Entry): boolean {
    return this.missing.size > 0 && bodiesOf(entry).some((d) => this.missing.has(d));
  }

  /**
   * Refreshes under the memory budget: a fill slot, and bytes that grow as
   * the document is read and derived; the bodies stay counted until written.
   */
  private async refresh(req: DocumentRequest, entry: Entry | undefined): Promise<ServedDocument> {
    let lease: MemoryLease | undefined;
    try {
      lease = req.offline ? undefined : await this.deps.memory?.admit(req.key);
    } catch (err) {
      // No room to fill now: a cached copy is better than a 503.
      if (!entry || entry.deriveTag !== req.deriveTag) throw err;
      this.deps.events.staleServed?.(req.key, 'E_BUSY');
      return { state: 'STALE', entry };
    }
    const writes: Written[] = [];
    try {
      return await this.refill(req, entry, lease, writes);
    } finally {
      if (lease) {
        lease.endFill();
        lease.shrink(writes.reduce((n, w) => n + w.bytes, 0));
        void Promise.allSettled(writes.map((w) => w.done)).then(() => lease.release());
      }
    }
  }

  private async refill(
    req: DocumentRequest,
    entry: Entry | undefined,
    lease: MemoryLease | undefined,
    writes: Written[],
  ): Promise<ServedDocument> {
    const { clock, events } = this.deps;
    let current = entry;
    /** `current` lives only in memory (re-derived while the disk is full). */
    let held = false;
    if (current && current.deriveTag !== req.deriveTag) {
      await lease?.grow(current.size * FILL_FACTOR, req.key);
      const s = await this.store(req, await this.raw(current), current.validators ?? {}, current.fetchedAt, current.expiresAt);
      if (s.written) writes.push(s.written);
      current = s.entry;
      held = !s.stored;
    }
    if (req.offline) {
      if (!current) throw new LarderError('E_OFFLINE', `${req.key} is not cached and its remote is offline`);
      return { state: held ? 'BYPASS' : current.expiresAt > clock.now() ? 'HIT' : 'STALE', entry: current };
    }
    let res: UpstreamResponse;
    try {
      res = await req.fetch(current?.validators ?? {}, this.controller.signal);
      if (res.status === 304 && current) {
        res.body.resume();
        const now = clock.now();
        const updated: Entry = { ...current, fetchedAt: now, expiresAt: now + req.ttlMs };
        if (held) return { state: 'BYPASS', entry: updated };
        // Evicted while the upstream was asked: a 304 must not bring back an entry whose bodies are gone.
        // (Returned, not awaited here: a failure of that fetch must reach the caller, not become a STALE answer without bodies.)
        if (this.lookup(req.key)?.digest !== current.digest) return this.refresh(req, undefined);
        // A full disk only costs the new expiry: the stored entry is still complete.
        await this.deps.index.putEntry(updated, []).catch((err: unknown) => {
          if (!isNoSpace(err)) throw err;
        });
        return { state: 'REVALIDATED', entry: updated };
      }
      if (isAbsent(res.status)) {
        res.body.resume();
        this.negative.add(req.key, clock.now() + (req.negativeTtlMs ?? 30_000));
        throw notFound(req.key);
      }
      if (res.status !== 200) throw upstreamStatusError(req.key, res);
      const max = req.maxBytes ?? 256 * 1024 * 1024;
      // An announced size (not compressed) is held at once: fewer fills left half-read for want of room.
      const announced = Number(header(res, 'content-length'));
      if (lease && !header(res, 'content-encoding') && announced > 0 && announced <= max)
        await lease.grow(announced * FILL_FACTOR, req.key);
      const raw = await readBody(res, max, req.key, lease);
      events.upstreamBytes?.(raw.length);
      const validators: Validators = {};
      const etag = header(res, 'etag');
      const lastModified = header(res, 'last-modified');
      if (etag) validators.etag = etag;
      if (lastModified) validators.lastModified = lastModified;
      const now = clock.now();
      const stored = await this.store(req, raw, validators, now, now + req.ttlMs);
      if (stored.written) writes.push(stored.written);
      this.negative.delete(req.key);
      return { state: !stored.stored ? 'BYPASS' : current ? 'REVALIDATED' : 'MISS', entry: stored.entry };
    } catch (err) {
      let e = toLarderError(err);
      // The upstream gave up while this fill waited for memory: busy, not an upstream failure.
      if (lease?.waited && (e.code === 'E_UPSTREAM' || e.code === 'E_UPSTREAM_TIMEOUT')) e = lease.busy(req.key);
      if (current && (isUpstreamFailure(e) || e.code === 'E_STORAGE_FULL' || e.code === 'E_BUSY')) {
        events.staleServed?.(req.key, e.code);
        return { state: 'STALE', entry: current };
      }
      throw e;
    }
  }

  /**
   * Derives the variants and starts writing the raw document and its
   * variants, then their index entry (see `write`); the entry is answered
   * from memory meanwhile. When the disk is full the entry is returned
   * unstored, its bodies held in memory (E_STORAGE_FULL when they do not fit
   * there either).
   */
  private async store(
    req: DocumentRequest,
    raw: Buffer,
    validators: Validators,
    fetchedAt: number,
    expiresAt: number,
  ): Promise<{ entry: Entry; stored: boolean; written?: Written }> {
    const derived = await req.derive(raw);
    const { hot } = this.deps;
    const rawDigest = `sha256:${sha256Hex(raw)}`;
    const rows: Array<[string, BlobMeta]> = [[rawDigest, { size: raw.length, createdAt: fetchedAt, lastAccess: fetchedAt }]];
    const bodies: Array<[string, Buffer]> = [[rawDigest, raw]];
    const variants: Record<string, VariantRef> = {};
    for (const [name, v] of Object.entries(derived.variants)) {
      const hex = sha256Hex(v.body);
      const digest = `sha256:${hex}`;
      bodies.push([digest, v.body]);
      if (v.body.length <= this.deps.hotMaxBody) hot.set(digest, v.body);
      variants[name] = { digest, size: v.body.length, mediaType: v.mediaType, etag: `"${hex.slice(0, 40)}"` };
      rows.push([digest, { size: v.body.length, createdAt: fetchedAt, lastAccess: fetchedAt }]);
    }
    const entry: Entry = {
      key: req.key,
      digest: rawDigest,
      size: raw.length,
      validators,
      fetchedAt,
      expiresAt,
      immutable: false,
      variants,
      deriveTag: req.deriveTag,
      meta: derived.meta,
    };
    const bytes = bodies.reduce((n, [, b]) => n + b.length, 0);
    if (await this.guard.room(bytes)) {
      return { entry, stored: true, written: { done: this.write(entry, bodies, rows), bytes } };
    }
    this.guard.report(req.key);
    if (!this.held.hold(bodies)) throw storageFullError(req.key);
    return { entry, stored: false };
  }

  /**
   * Writes the bodies (each through the commit protocol; they overlap) and
   * then the index entry, after any earlier write of the same key. The
   * client that caused the fetch does not wait for the disk: a mutable
   * document lost to a crash before this ends is simply fetched again. A
   * failed write leaves the bodies held in memory for requests that already
   * have the entry; the next request fetches the document anew.
   */
  private write(entry: Entry, bodies: Array<[string, Buffer]>, rows: Array<[string, BlobMeta]>): Promise<void> {
    const { blobs, index } = this.deps;
    const before = this.writing.get(entry.key)?.done;
    for (const [digest, body] of bodies) this.unwritten.set(digest, body);
    const slot = { entry, done: Promise.resolve() };
    this.writing.set(entry.key, slot);
    const persist = async (): Promise<void> => {
      await Promise.all(bodies.map(([digest, body]) => blobs.writeAll(digest, body)));
      await index.putEntry(entry, rows);
    };
    slot.done = (async () => {
      try {
        await before;
        await writeLater(
          this.deps.later,
          bodies.reduce((n, [, b]) => n + b.length, 0),
          persist,
        );
      } catch (err) {
        this.held.hold(bodies);
        if (isNoSpace(err)) {
          this.guard.markFull();
          this.guard.report(entry.key);
        }
      } finally {
        for (const [digest] of bodies) this.unwritten.delete(digest);
        if (this.writing.get(entry.key) === slot) this.writing.delete(entry.key);
      }
    })();
    return slot.done;
  }

  /** Waits until every document write in flight has ended (shutdown, tests). */
  async drain(): Promise<void> {
    await this.deps.later?.flush();
    await Promise.all([...this.writing.values()].map((w) => w.done));
  }

  abortAll(): void {
    this.controller.abort();
  }
}

/**
 * Reads a whole upstream body through the fill pipeline's verifier, refusing
 * more than `max` bytes (E_UPSTREAM); with a lease, the bytes (times what
 * deriving costs) are held against the memory budget as they arrive.
 */
export async function readBody(res: UpstreamResponse, max: number, what: string, lease?: MemoryLease): Promise<Buffer> {
  const body = lease ? pipeline(res.body, leased(lease, what), () => undefined) : res.body;
  return (await readVerified(body, { key: what, expected: [], maxBytes: max })).body;
}

/** Passes chunks on once the lease holds FILL_FACTOR times the bytes seen. */
function leased(lease: MemoryLease, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      const need = seen * FILL_FACTOR - lease.bytes;
      if (need <= 0) return done(null, chunk);
      lease.grow(Math.max(need, FILL_STEP * FILL_FACTOR), what).then(
        () => done(null, chunk),
        (err: unknown) => done(err as Error),
      );
    },
  });
}

/** The digests of an entry's stored bodies (the raw document and its variants). */
function bodiesOf(entry: Entry): string[] {
  return [entry.digest, ...Object.values(entry.variants ?? {}).map((v) => v.digest)];
}
