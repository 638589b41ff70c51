/**
 * Immutable artifacts (tarballs, layers, wheels…): every read goes through
 * `serve(key, plan)`: a committed entry is a HIT (entry-read.ts); a request
 * for a key being filled joins that fill; otherwise `plan()` says what to
 * fetch and verify, and the fill pipeline (fill/pipeline.ts) fetches it
 * once (from LAN peers or the upstream, blob-fetch.ts), verifies it and
 * commits it.
 */
import { setMaxListeners } from 'node:events';
import { BlobFetch } from './blob-fetch.js';
import { clusterTurn, underTurn } from './cluster.js';
import { LarderError, notFound } from './errors.js';
import { EntryReader } from './fill/entry-read.js';
import type { ActiveFill } from './fill/fill-job.js';
import { StorageGuard } from './storage-guard.js';
import { NegativeCache } from './single-flight.js';
import type { AccessTracker, CoreDeps } from './deps.js';
import type { ImmutableRequest, ServedBlob } from './served.js';
import type { Entry } from './types.js';

export type { ByteRange, ImmutableRequest, ServedBlob } from './served.js';

/** A fill in flight: its start (undefined: another node filled it, now indexed), and the fill once it started. */
interface Tracked {
  started: Promise<ActiveFill | undefined>;
  /** The plan's request, once it ran. */
  req?: ImmutableRequest;
  fill?: ActiveFill;
}

/** Says what a miss fetches and verifies; called only when the key is neither cached nor being filled. */
export type FillPlan = () => ImmutableRequest | Promise<ImmutableRequest>;

export class BlobCache {
  /** Fills in flight by key; a fill is forgotten only by its own end. */
  private readonly fills = new Map<string, Tracked>();
  private readonly negative = new NegativeCache();
  private readonly controller = new AbortController();
  /** Opens misses (LAN peers, else the upstream) and starts their fills. */
  private readonly fetch: BlobFetch;
  private readonly reads: EntryReader;

  constructor(
    private readonly deps: CoreDeps,
    private readonly access: AccessTracker,
  ) {
    const guard = deps.guard ?? new StorageGuard(deps, { minFree: 0 });
    this.fetch = new BlobFetch(deps, guard, this.negative, this.controller.signal);
    this.reads = new EntryReader(deps, access);
    // Every upstream request listens on this one signal; many in flight is normal, not a leak.
    setMaxListeners(0, this.controller.signal);
  }

  /** Number of upstream fills in flight (a gauge). */
  get inflight(): number {
    return this.fills.size;
  }

  /** Whether misses with a known digest are asked of LAN peers first (an adapter then holds back early upstream requests). */
  get hasPeers(): boolean {
    return this.deps.peers !== undefined;
  }

  /** The committed entry of a key, if any (metadata only: bodies are read through `serve`). */
  peek(key: string): Entry | undefined {
    return this.deps.index.getEntry(key);
  }

  /**
   * Whether a key is committed or being filled now. A request for a key
   * being filled joins that fill without running its own plan, so a
   * protocol that checks a client's access in the plan checks it here.
   */
  known(key: string): boolean {
    return this.peek(key) !== undefined || this.fills.has(key);
  }

  /** The hit path alone: a committed entry's body, or undefined (nothing is fetched). */
  async cached(key: string): Promise<ServedBlob | undefined> {
    const entry = this.deps.index.getEntry(key);
    return entry ? this.reads.open(entry, 'HIT') : undefined;
  }

  /** Serves `req` (a plan that is already known). */
  get(req: ImmutableRequest): Promise<ServedBlob> {
    return this.serve(req.key, () => req);
  }

  /** The one entry point for reading an artifact: hit, join of a fill in flight, or a new fill planned by `plan`. */
  async serve(key: string, plan: FillPlan): Promise<ServedBlob> {
    this.deps.later?.touch();
    const entry = this.deps.index.getEntry(key);
    if (entry) {
      const hit = await this.reads.open(entry, 'HIT');
      if (hit) return hit;
    }
    const pending = this.fills.get(key);
    // A fill whose bytes failed is not joined (its end may still be cleaning up): this request fetches anew.
    if (pending?.fill?.state === 'failed') this.fills.delete(key);
    else if (pending) return this.join(key, pending, plan);
    if (this.negative.has(key, this.deps.clock.now())) throw notFound(key);
    // Registered before the plan runs (it may fetch a packument): concurrent requests join instead of planning again.
    const tracked: Tracked = { started: Promise.resolve(undefined) };
    tracked.started = this.planned(key, plan, tracked);
    this.fills.set(key, tracked);
    const forget = (): void => {
      if (this.fills.get(key) === tracked) this.fills.delete(key);
    };
    tracked.started.then((fill) => {
      if (!fill) return forget();
      tracked.fill = fill;
      void fill.committed.then(forget);
    }, forget);
    const fill = await tracked.started;
    if (!fill) return this.adopted(key);
    return fill.serve('MISS') ?? this.fetch.direct(tracked.req!);
  }

  /**
   * In cluster mode, first the cluster step (an entry another node committed
   * is adopted instead of fetched; else this node waits for its turn); then
   * runs the plan and starts the fill it describes. The turn ends with the fill.
   */
  private async planned(key: string, plan: FillPlan, tracked: Tracked): Promise<ActiveFill | undefined> {
    const turn = this.deps.cluster ? await clusterTurn(this.deps.cluster, key, this.controller.signal) : undefined;
    if (turn === 'indexed') return undefined;
    const run = async (): Promise<ActiveFill> => {
      const req = await plan();
      tracked.req = req;
      if (req.offline) throw new LarderError('E_OFFLINE', `${req.key} is not cached and its remote is offline`);
      return this.fetch.start(req);
    };
    return underTurn(turn, run, (fill) => fill.committed);
  }

  /** An entry adopted from the shared index: its body, read through the blob tiers. */
  private async adopted(key: string): Promise<ServedBlob> {
    const entry = this.deps.index.getEntry(key);
    const hit = entry ? await this.reads.open(entry, 'HIT') : undefined;
    if (!hit) throw new LarderError('E_STORAGE', `${key}: the shared entry's blob could not be read; retry`);
    return hit;
  }

  /** Joins a fill in flight: a MISS while its bytes are still arriving, a HIT once they verified. */
  private async join(key: string, tracked: Tracked, plan: FillPlan): Promise<ServedBlob> {
    // Joining a fill whose bytes already verified costs no upstream traffic: that is a hit.
    const hit = tracked.fill?.state === 'verified';
    const fill = await tracked.started;
    if (!fill) return this.adopted(key);
    if (fill.state === 'failed') {
      // It failed before this request read a byte: fetch anew, as a request arriving now would.
      if (this.fills.get(key) === tracked) this.fills.delete(key);
      return this.serve(key, plan);
    }
    const served = fill.shared ? fill.serve(hit ? 'HIT' : 'MISS') : undefined;
    if (served) {
      // A use like any hit, for eviction's recency: recorded once the blob is indexed.
      void fill.committed.then(() => {
        const entry = this.deps.index.getEntry(key);
        if (entry) this.access.touch(entry.digest);
      });
      return served;
    }
    // A pass-through body (the disk is full) goes to one client: the others fetch their own.
    return this.fetch.direct(await plan());
  }

  /** Stops fills in flight (shutdown). */
  abortAll(): void {
    this.controller.abort();
  }

  /** Waits until fills in flight have settled. */
  async drain(): Promise<void> {
    await this.deps.later?.flush();
    await Promise.all([...this.fills.values()].map((t) => t.started.then((f) => f?.committed).catch(() => undefined)));
  }
}
