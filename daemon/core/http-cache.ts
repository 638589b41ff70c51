/**
 * A streaming HTTP cache for generic remotes: files of any size, immutable
 * or mutable, stored in the CAS with the upstream's validators and caching
 * headers in their index entry.
 *
 * - Immutable entries are served forever (verified once, like BlobCache).
 * - Mutable entries follow RFC 9111/5861 (see http-freshness.ts): fresh →
 *   HIT; stale → conditional request (304 refreshes the entry, 200 streams a
 *   new body through a Fill and replaces it); within stale-while-revalidate
 *   → STALE now, refreshed in the background; upstream failure → STALE when
 *   allowed; `no-store`/`private` → streamed through, not stored (BYPASS).
 * - One upstream exchange per key at a time: concurrent requests join the
 *   revalidation or read the growing temp file of the fill.
 */
import { clusterTurn, underTurn } from './cluster.js';
import { LarderError, notFound, toLarderError } from './errors.js';
import { NegativeCache } from './single-flight.js';
import { drain, isAbsent, isUpstreamFailure, upstreamStatusError } from './upstream-status.js';
import { expiresAt, isStorable, staleOnErrorAllowed, staleWhileRevalidateUntil } from './http-freshness.js';
import { announcedSize } from './blob-cache.js';
import type { AccessTracker, CoreDeps } from './deps.js';
import { EntryReader } from './fill/entry-read.js';
import { verifyingStream } from './fill/verify.js';
import { FillPipeline, type ActiveFill } from './fill/pipeline.js';
import type { UpstreamResponse } from './ports.js';
import type { ServedBlob } from './served.js';
import { IMMUTABLE_EXPIRY, type CacheState, type Entry, type ExpectedDigest, type Validators } from './types.js';
import { capped, freshnessHeaders, revalidated, storedFields } from './http-entry.js';
import { StorageGuard, isNoSpace } from './storage-guard.js';

export interface HttpCacheRequest {
  key: string;
  /** How errors name the file (default: the key). */
  label?: string;
  /** Immutable files are never revalidated. */
  immutable: boolean;
  /** Freshness lifetime when the upstream gives none; caps the Last-Modified heuristic. */
  fallbackTtlMs: number;
  /** Upper bound on freshness whatever the upstream says (0: revalidate every use). */
  maxTtlMs?: number;
  /** Digests the protocol knows in advance (path, sidecar, index file). */
  expected?: readonly ExpectedDigest[];
  expectedSize?: number;
  /** Digests announced by the response itself (e.g. `x-checksum-sha1`). */
  expectFromResponse?(res: UpstreamResponse): ExpectedDigest[];
  maxBytes?: number;
  offline?: boolean;
  negativeTtlMs?: number;
  meta?: Entry['meta'];
  /** Runs after a new body is committed (not after a 304), before followers see the new entry. */
  onCommitted?(entry: Entry, previous: Entry | undefined): Promise<void> | void;
  /** Opens the upstream response; `validators` are empty for unconditional requests. */
  fetch(validators: Validators, signal: AbortSignal): Promise<UpstreamResponse>;
}

/** What the client is told about the representation. */
export interface ClientView {
  etag?: string;
  lastModified?: string;
  mediaType?: string;
}

export type HttpServed =
  | ({ kind: 'cached'; state: CacheState; blob: ServedBlob } & ClientView)
  | { kind: 'bypass'; state: 'BYPASS'; response: UpstreamResponse };

type Outcome =
  | { kind: 'entry'; entry: Entry; state: 'HIT' | 'REVALIDATED' | 'STALE' }
  | { kind: 'fill'; fill: ActiveFill; view: ClientView }
  | { kind: 'bypass'; take(): UpstreamResponse | undefined };

interface Flight {
  outcome: Promise<Outcome>;
  /** Settles once the exchange is over (fills: committed or failed). */
  settled: Promise<void>;
  /** The outcome once known. */
  resolved?: Outcome;
}

export class HttpCache {
  private readonly flights = new Map<string, Flight>();
  private readonly negative = new NegativeCache();
  private readonly controller = new AbortController();
  private readonly pipeline: FillPipeline;
  private readonly reads: EntryReader;

  constructor(
    private readonly deps: CoreDeps,
    access: AccessTracker,
  ) {
    this.pipeline = new FillPipeline(deps, deps.guard ?? new StorageGuard(deps, { minFree: 0 }));
    this.reads = new EntryReader(deps, access);
  }

  /** Upstream exchanges in flight (a gauge). */
  get inflight(): number {
    return this.flights.size;
  }

  async get(req: HttpCacheRequest, retried = false): Promise<HttpServed> {
    const { index, clock, events } = this.deps;
    const inflight = this.flights.get(req.key);
    if (inflight?.resolved?.kind === 'fill' && inflight.resolved.fill.state === 'verified') {
      // Every byte is in and verified, only the commit is left: answer from the committed entry.
      this.deps.later?.urgent();
      await inflight.settled;
      return this.get(req);
    }
    const entry = index.getEntry(req.key);
    const now = clock.now();
    if (entry) {
      const fresh = req.immutable || entry.expiresAt > now;
      const cc = typeof entry.meta?.cacheControl === 'string' ? entry.meta.cacheControl : undefined;
      const swr = !fresh && !req.offline && now <= staleWhileRevalidateUntil(cc, entry.expiresAt) && !this.flights.has(req.key);
      if (fresh || req.offline || swr) {
        const served = await this.fromEntry(entry, fresh ? 'HIT' : 'STALE');
        if (served) {
          if (swr) {
            this.flight(req, entry).catch(() => undefined);
            events.staleServed?.(req.key, 'stale-while-revalidate');
          }
          return served;
        }
        // The blob is gone: fetched again below as if never cached.
        return this.get(req);
      }
    } else if (!this.flights.has(req.key)) {
      if (this.negative.has(req.key, now)) throw notFound(req.label ?? req.key);
      if (req.offline) throw new LarderError('E_OFFLINE', `${req.label ?? req.key} is not cached and its remote is offline`);
    }
    const outcome = await this.flight(req, entry);
    if (outcome.kind === 'entry') return (await this.fromEntry(outcome.entry, outcome.state)) ?? this.get(req);
    if (outcome.kind === 'fill') {
      if (outcome.fill.state === 'failed') {
        // It failed before this request read a byte (its end may still be cleaning up): fetch anew, once.
        if (retried) throw new LarderError('E_UPSTREAM', `${req.label ?? req.key}: the upstream transfer failed`);
        await outcome.fill.committed;
        return this.get(req, true);
      }
      const blob = outcome.fill.serve('MISS');
      if (blob) return { kind: 'cached', state: blob.state, blob, ...outcome.view };
      // A pass-through body (the disk is full) goes to one client: the others fetch their own.
      return { kind: 'bypass', state: 'BYPASS', response: await this.direct(req) };
    }
    const taken = outcome.take();
    const response = taken ? verified(req, taken) : await this.direct(req);
    return { kind: 'bypass', state: 'BYPASS', response };
  }

  /** Resolves when the exchange in flight for `key` (if any) has committed or failed. */
  pending(key: string): Promise<void> | undefined {
    const flight = this.flights.get(key);
    if (flight) this.deps.later?.urgent();
    return flight?.settled;
  }

  peek(key: string): Entry | undefined {
    return this.deps.index.getEntry(key);
  }

  entries(prefix: string): Iterable<Entry> {
    return this.deps.index.entries(prefix);
  }

  /** Reads a stored body whole (small index files). */
  read(entry: Entry): Promise<Buffer> {
    return this.deps.blobs.readAll(entry.digest);
  }

  /** Forgets an entry (its blob stays until garbage collection). */
  remove(key: string): Promise<void> {
    return this.deps.index.deleteEntry(key);
  }

  /** Marks a mutable entry stale so its next use revalidates. */
  async expire(key: string): Promise<void> {
    const entry = this.deps.index.getEntry(key);
    if (entry && !entry.immutable) await this.deps.index.putEntry({ ...entry, expiresAt: 0 }, []);
  }

  abortAll(): void {
    this.controller.abort();
  }

  async drain(): Promise<void> {
    await Promise.all([...this.flights.values()].map((f) => f.settled));
  }

  /** A committed entry's body; undefined when its blob is gone (the entry was dropped). */
  private async fromEntry(entry: Entry, state: CacheState): Promise<HttpServed | undefined> {
    const blob: ServedBlob | undefined = await this.reads.open(entry, state);
    if (!blob) return undefined;
    const v = entry.validators ?? {};
    return { kind: 'cached', state, blob, etag: v.etag, lastModified: v.lastModified, mediaType: entry.mediaType };
  }

  private flight(req: HttpCacheRequest, entry: Entry | undefined): Promise<Outcome> {
    const existing = this.flights.get(req.key);
    if (existing) return existing.outcome;
    let settle!: () => void;
    const flight: Flight = { outcome: this.refresh(req, entry), settled: new Promise<void>((r) => (settle = r)) };
    this.flights.set(req.key, flight);
    const finish = (): void => {
      if (this.flights.get(req.key) === flight) this.flights.delete(req.key);
      settle();
    };
    flight.outcome.then((o) => {
      flight.resolved = o;
      return o.kind === 'fill' ? o.fill.committed.then(finish) : finish();
    }, finish);
    return flight.outcome;
  }

  /**
   * In cluster mode a key this node lacks is first adopted from the shared
   * index (fresh: a HIT; stale: revalidated) or else filled in this node's
   * turn, which ends with the fill.
   */
  private async refresh(req: HttpCacheRequest, entry: Entry | undefined): Promise<Outcome> {
    const { cluster, index, clock } = this.deps;
    if (entry || !cluster) return this.exchange(req, entry);
    const turn = await clusterTurn(cluster, req.key, this.controller.signal);
    const adopted = turn === 'indexed' ? index.getEntry(req.key) : undefined;
    if (adopted && (req.immutable || adopted.expiresAt > clock.now())) return { kind: 'entry', entry: adopted, state: 'HIT' };
    if (adopted || turn === 'indexed') return this.exchange(req, adopted);
    return underTurn(
      turn,
      () => this.exchange(req, undefined),
      (o) => (o.kind === 'fill' ? o.fill.committed : undefined),
    );
  }

  /** One upstream exchange: unconditional, or conditional on the entry's validators. */
  private async exchange(req: HttpCacheRequest, entry: Entry | undefined): Promise<Outcome> {
    const { clock, index } = this.deps;
    let res: UpstreamResponse;
    try {
      res = await req.fetch(entry && !req.immutable ? (entry.validators ?? {}) : {}, this.controller.signal);
    } catch (err) {
      return this.failed(req, entry, toLarderError(err));
    }
    const received = clock.now();
    if (res.status === 304 && entry) {
      drain(res);
      const updated = revalidated(entry, res, req.fallbackTtlMs, received);
      updated.expiresAt = capped(req.maxTtlMs, updated.expiresAt, received);
      // A full disk only costs the new expiry: the stored entry is still complete.
      await index.putEntry(updated, []).catch((err: unknown) => {
        if (!isNoSpace(err)) throw err;
      });
      return { kind: 'entry', entry: updated, state: 'REVALIDATED' };
    }
    if (isAbsent(res.status)) {
      drain(res);
      this.negative.add(req.key, received + (req.negativeTtlMs ?? 30_000));
      if (entry) await index.deleteEntry(req.key);
      throw notFound(req.label ?? req.key);
    }
    if (res.status !== 200) return this.failed(req, entry, upstreamStatusError(req.label ?? req.key, res));
    this.negative.delete(req.key);
    if (!isStorable(freshnessHeaders(res))) {
      if (entry) await index.deleteEntry(req.key);
      let taken = false;
      return {
        kind: 'bypass',
        take: () => {
          if (taken) return undefined;
          taken = true;
          return res;
        },
      };
    }
    const expectedSize = announcedSize(req.expectedSize, res);
    if (expectedSize !== undefined && req.maxBytes !== undefined && expectedSize > req.maxBytes) {
      res.body.destroy();
      throw new LarderError('E_UPSTREAM', `${req.key}: ${expectedSize} bytes exceeds the limit of ${req.maxBytes}`);
    }
    const previous = entry;
    const ttl = req.immutable ? undefined : req.fallbackTtlMs;
    const expiry = ttl === undefined ? IMMUTABLE_EXPIRY : capped(req.maxTtlMs, expiresAt(freshnessHeaders(res), ttl, received), received);
    const fields = storedFields(req.key, res, { received, expiry, immutable: req.immutable, meta: req.meta });
    const fill = await this.pipeline.start({
      spec: {
        key: req.key,
        expected: [...(req.expected ?? []), ...(req.expectFromResponse?.(res) ?? [])],
        expectedSize,
        maxBytes: req.maxBytes,
      },
      res,
      fields,
      onCommitted: (committed) => req.onCommitted?.(committed, previous),
    });
    const view: ClientView = { etag: fields.validators?.etag, lastModified: fields.validators?.lastModified, mediaType: fields.mediaType };
    return { kind: 'fill', fill, view };
  }

  private failed(req: HttpCacheRequest, entry: Entry | undefined, e: LarderError): Outcome {
    const cc = typeof entry?.meta?.cacheControl === 'string' ? entry.meta.cacheControl : undefined;
    if (entry && isUpstreamFailure(e) && staleOnErrorAllowed(cc, entry.expiresAt, this.deps.clock.now())) {
      this.deps.events.staleServed?.(req.key, e.code);
      return { kind: 'entry', entry, state: 'STALE' };
    }
    throw e;
  }

  /** A second, uncached request for a follower of a bypassed (no-store) exchange. */
  private async direct(req: HttpCacheRequest): Promise<UpstreamResponse> {
    const res = await req.fetch({}, this.controller.signal);
    if (res.status === 200) return verified(req, res);
    if (isAbsent(res.status)) {
      drain(res);
      throw notFound(req.label ?? req.key);
    }
    throw upstreamStatusError(req.label ?? req.key, res);
  }
}

/**
 * An answer streamed through unstored (no-store, or a second client while the
 * disk is full), verified on the fly when the protocol knows a digest or a
 * size: a wrong body fails the transfer instead of ending cleanly.
 */
function verified(req: HttpCacheRequest, res: UpstreamResponse): UpstreamResponse {
  const expected = [...(req.expected ?? []), ...(req.expectFromResponse?.(res) ?? [])];
  if (expected.length === 0 && req.expectedSize === undefined) return res;
  const spec = { key: req.key, expected, expectedSize: announcedSize(req.expectedSize, res), maxBytes: req.maxBytes };
  return { ...res, body: verifyingStream(res.body, spec) };
}
