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
import type { MemoryLease } from './memory-budget.js';
import { DocumentStore, type Written } from './document-store.js';
import { FILL_FACTOR, readBody } from './read-body.js';
import { isNoSpace } from './storage-guard.js';
import { NegativeCache, SingleFlight } from './single-flight.js';
import { header, isAbsent, isUpstreamFailure, upstreamStatusError } from './upstream-status.js';
import type { AccessTracker, CoreDeps } from './deps.js';
import type { UpstreamResponse } from './ports.js';
import type { CacheState, Derived, Entry, Validators, VariantRef } from './types.js';

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

export interface ServedDocument {
  state: CacheState;
  entry: Entry;
}

export class DocumentCache {
  private readonly flights = new SingleFlight<ServedDocument>();
  private readonly negative = new NegativeCache();
  private readonly controller = new AbortController();
  /** The documents' bodies: written behind the answer, held in memory when the disk is full, read back. */
  private readonly store: DocumentStore;

  constructor(
    private readonly deps: CoreDeps,
    access: AccessTracker,
  ) {
    this.store = new DocumentStore(deps, access);
    // Every upstream request listens on this one signal; many in flight is normal, not a leak.
    setMaxListeners(0, this.controller.signal);
  }

  get inflight(): number {
    return this.flights.size;
  }

  /** Returns a fresh enough entry, revalidating or fetching it as needed. */
  async get(req: DocumentRequest, opts: { forceRefresh?: boolean } = {}): Promise<ServedDocument> {
    this.deps.later?.touch();
    let entry = this.store.lookup(req.key);
    if (entry && this.store.damaged(entry)) {
      // A body of it was found missing on disk: fetched anew, as if never cached.
      await this.store.drop(req.key, entry);
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
    const entry = this.store.lookup(key);
    return entry !== undefined && entry.expiresAt > this.deps.clock.now();
  }

  /** Reads a variant body (memory first, then the disk; see DocumentStore.variant). */
  variant(ref: VariantRef): Promise<Buffer> {
    return this.store.variant(ref);
  }

  /** The stored raw upstream document. */
  raw(entry: Entry): Promise<Buffer> {
    return this.store.raw(entry);
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
      const raw = await this.store.raw(current);
      const s = await this.store.save(req, await req.derive(raw), raw, current.validators ?? {}, current.fetchedAt, current.expiresAt);
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
        if (this.store.lookup(req.key)?.digest !== current.digest) return this.refresh(req, undefined);
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
      const stored = await this.store.save(req, await req.derive(raw), raw, validators, now, now + req.ttlMs);
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

  /** Waits until every document write in flight has ended (shutdown, tests). */
  drain(): Promise<void> {
    return this.store.drain();
  }

  abortAll(): void {
    this.controller.abort();
  }
}
