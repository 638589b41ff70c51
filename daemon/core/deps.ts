/** What the cache core needs from the outside world, bundled for constructors. */
import type { ClusterPorts } from './cluster.js';
import type { MemoryBudget } from './memory-budget.js';
import type { BlobStore, CacheEvents, Clock, HotCache, IndexStore, PeerSource } from './ports.js';
import type { StorageGuard } from './storage-guard.js';
import type { WriteBehind } from './write-behind.js';

export interface CoreDeps {
  blobs: BlobStore;
  index: IndexStore;
  hot: HotCache;
  clock: Clock;
  events: CacheEvents;
  /** Bodies up to this size are kept in the hot cache when read. */
  hotMaxBody: number;
  /** Disk-full handling shared by the caches (default: one per cache, no reserve, ENOSPC only). */
  guard?: StorageGuard;
  /** Disk work put off while clients are busy (default: none, done at once). */
  later?: WriteBehind;
  /** LAN peers asked for immutable blobs of known digest before the upstream (default: none). */
  peers?: PeerSource;
  /** Bytes and fill slots shared by document fills and request bodies (default: unbounded). */
  memory?: MemoryBudget;
  /** Cluster mode: the shared index and cross-node single-flight (default: a single daemon). */
  cluster?: ClusterPorts;
}

/** Batches last-access updates so a hit never writes to the index synchronously. */
export class AccessTracker {
  /**
   * Digest → ms since `base`: a small integer, which a Map stores without
   * allocating, where an epoch time would be a fresh heap number per hit that
   * lives until the flush (promoted, then garbage in the old generation).
   */
  private pending = new Map<string, number>();
  private base = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: Pick<CoreDeps, 'index' | 'clock'>,
    private readonly flushMs = 30_000,
  ) {}

  touch(digest: string): void {
    const now = this.deps.clock.now();
    if (this.pending.size === 0) this.base = now;
    this.pending.set(digest, now - this.base);
    if (!this.timer) {
      // A failed batch (e.g. a full disk) only loses access times, never an entry.
      this.timer = setTimeout(() => void this.flush().catch(() => undefined), this.flushMs);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = new Map<string, number>();
    for (const [digest, offset] of this.pending) batch.set(digest, this.base + offset);
    this.pending = new Map();
    await this.deps.index.touchBlobs(batch);
  }
}
