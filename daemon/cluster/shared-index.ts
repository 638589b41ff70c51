/**
 * This node's index as a local cache of the cluster's shared index (in S3,
 * next to the blobs: see the README's "Outgrowing one machine"). Every
 * entry this node commits is published after its local write; a key this
 * node lacks is adopted from the shared index on a miss. Deletes stay
 * local: evicting this node's disk tier must not make the others forget.
 *
 * Digests the cluster's eviction removed (its notices) are remembered for
 * the notices' lifetime: an entry read from S3 just before the leader
 * deleted it, and stored here after the notice was handled, would otherwise
 * outlive its blob. Such an entry is not adopted (a miss: fetched again).
 */
import type { SharedIndex } from '../core/cluster.js';
import type { IndexStore, IndexUsage } from '../core/ports.js';
import { entryDigests } from '../core/eviction.js';
import type { BlobMeta, Entry } from '../core/types.js';

/** How long an eviction notice counts (its etcd lease, etcd-evicted.ts), and how many are kept. */
const EVICTED_MS = 300_000;
const EVICTED_MAX = 10_000;

/** Where published entries go (S3EntryStore in production). */
export interface EntryStore {
  put(entry: Entry): Promise<void>;
  get(key: string): Promise<Entry | undefined>;
}

export interface SharedIndexHooks {
  /** Publishing or reading a shared entry failed (the local index is unaffected). */
  failed(op: 'publish' | 'adopt', err: unknown): void;
  /** An entry was adopted from the shared index. */
  adopted?(entry: Entry): void;
}

/** The blob rows of an entry: its body and its variants (all in the shared blob tier). */
export function rowsOf(entry: Entry, now: number): Array<[string, BlobMeta]> {
  const rows = new Map<string, BlobMeta>([[entry.digest, { size: entry.size, createdAt: now, lastAccess: now }]]);
  for (const v of Object.values(entry.variants ?? {})) rows.set(v.digest, { size: v.size, createdAt: now, lastAccess: now });
  return [...rows];
}

export class SharedIndexStore implements IndexStore, SharedIndex {
  readonly usage?: () => IndexUsage;
  /** Digests the cluster evicted from S3 lately → when the notice came (oldest first). */
  private readonly evictedAt = new Map<string, number>();

  constructor(
    private readonly local: IndexStore,
    private readonly shared: EntryStore,
    private readonly hooks: SharedIndexHooks,
    private readonly now: () => number = Date.now,
  ) {
    const usage = local.usage?.bind(local);
    if (usage) this.usage = usage;
  }

  getEntry(key: string): Entry | undefined {
    return this.local.getEntry(key);
  }

  /** Writes locally, then publishes (a failed publish is reported, not thrown: the entry is then this node's only). */
  async putEntry(entry: Entry, blobs: Array<[string, BlobMeta]>): Promise<void> {
    for (const d of entryDigests(entry)) this.evictedAt.delete(d); // committed again by this node
    await this.local.putEntry(entry, blobs);
    await this.shared.put(entry).catch((err: unknown) => this.hooks.failed('publish', err));
  }

  /** The cluster evicted `digest` from S3 (a notice): entries that need it are not adopted for a while. */
  evicted(digest: string): void {
    this.evictedAt.delete(digest);
    this.evictedAt.set(digest, this.now());
    const old = this.now() - EVICTED_MS;
    for (const [d, at] of this.evictedAt) {
      if (at >= old && this.evictedAt.size <= EVICTED_MAX) break;
      this.evictedAt.delete(d);
    }
  }

  private lately(entry: Entry): boolean {
    const old = this.now() - EVICTED_MS;
    return entryDigests(entry).some((d) => (this.evictedAt.get(d) ?? 0) > old);
  }

  async adopt(key: string): Promise<Entry | undefined> {
    let entry: Entry | undefined;
    try {
      entry = await this.shared.get(key);
      if (!entry || this.lately(entry)) return undefined;
      await this.local.putEntry(entry, rowsOf(entry, this.now()));
      // A notice handled while the entry was being stored found nothing to drop: drop it here.
      if (this.lately(entry)) {
        await this.local.deleteEntry(key);
        return undefined;
      }
    } catch (err) {
      this.hooks.failed('adopt', err);
      return undefined;
    }
    this.hooks.adopted?.(entry);
    return entry;
  }

  deleteEntry(key: string): Promise<void> {
    return this.local.deleteEntry(key);
  }

  getBlob(digest: string): BlobMeta | undefined {
    return this.local.getBlob(digest);
  }

  deleteBlob(digest: string): Promise<void> {
    return this.local.deleteBlob(digest);
  }

  touchBlobs(touches: Map<string, number>): Promise<void> {
    return this.local.touchBlobs(touches);
  }

  entries(prefix?: string): Iterable<Entry> {
    return this.local.entries(prefix);
  }

  blobs(): Iterable<[string, BlobMeta]> {
    return this.local.blobs();
  }

  close(): Promise<void> {
    return this.local.close();
  }
}
