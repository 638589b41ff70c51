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
import type { AccessTracker, CoreDeps } from './deps.js';
import { LarderError, notFound } from './errors.js';
import { EntryReader } from './fill/entry-read.js';
import { FillPipeline } from './fill/pipeline.js';
import { type ClientView, direct, type ExchangeContext, exchange, type HttpCacheRequest, type Outcome, verified } from './http-exchange.js';
import { staleWhileRevalidateUntil } from './http-freshness.js';
import type { UpstreamResponse } from './ports.js';
import type { ServedBlob } from './served.js';
import { NegativeCache } from './single-flight.js';
import { StorageGuard } from './storage-guard.js';
import type { CacheState, Entry } from './types.js';

export type HttpServed =
  | ({ kind: 'cached'; state: CacheState; blob: ServedBlob } & ClientView)
  | { kind: 'bypass'; state: 'BYPASS'; response: UpstreamResponse };

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
  private readonly x: ExchangeContext;
  private readonly reads: EntryReader;

  constructor(
    private readonly deps: CoreDeps,
    access: AccessTracker,
  ) {
    const pipeline = new FillPipeline(deps, deps.guard ?? new StorageGuard(deps, { minFree: 0 }));
    this.x = { deps, negative: this.negative, pipeline, signal: this.controller.signal };
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
      return { kind: 'bypass', state: 'BYPASS', response: await direct(this.x, req) };
    }
    const taken = outcome.take();
    const response = taken ? verified(req, taken) : await direct(this.x, req);
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
    if (entry || !cluster) return exchange(this.x, req, entry);
    const turn = await clusterTurn(cluster, req.key, this.controller.signal);
    const adopted = turn === 'indexed' ? index.getEntry(req.key) : undefined;
    if (adopted && (req.immutable || adopted.expiresAt > clock.now())) return { kind: 'entry', entry: adopted, state: 'HIT' };
    if (adopted || turn === 'indexed') return exchange(this.x, req, adopted);
    return underTurn(
      turn,
      () => exchange(this.x, req, undefined),
      (o) => (o.kind === 'fill' ? o.fill.committed : undefined),
    );
  }
}
