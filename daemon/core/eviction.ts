/**
 * Byte-budget eviction and garbage collection over the ports.
 *
 * - Usage is the sum of blob rows. Above the high watermark, blobs that no
 *   pinned entry needs are evicted least-recently-used first ("used" = last
 *   time a client pulled it, from batched access times) until usage is under
 *   the low watermark. Every entry that needs an evicted blob goes with it.
 * - GC removes blob rows and files that no entry references (old revisions
 *   of documents), after a grace period so a commit in progress is safe.
 */
import type { BlobStore, HotCache, IndexStore } from './ports.js';
import type { Entry } from './types.js';

export interface Budget {
  maxBytes: number;
  /** Fractions of maxBytes. */
  high: number;
  low: number;
}

export interface Removal {
  digest: string;
  bytes: number;
  keys: string[];
  reason: 'evict' | 'gc' | 'operator' | 'scrub';
}

export interface MaintenanceDeps {
  blobs: BlobStore;
  index: IndexStore;
  hot: HotCache;
  /** Entry keys that must never be evicted (pinned closures). */
  protectedKeys(): Set<string>;
  onRemoved?(r: Removal): void | Promise<void>;
  now?(): number;
}

export function entryDigests(e: Entry): string[] {
  return [e.digest, ...Object.values(e.variants ?? {}).map((v) => v.digest)];
}

/** digest → keys of the entries that need it. */
export function referencesByDigest(index: IndexStore): Map<string, string[]> {
  const refs = new Map<string, string[]>();
  for (const e of index.entries()) {
    for (const d of entryDigests(e)) {
      const list = refs.get(d);
      if (list) list.push(e.key);
      else refs.set(d, [e.key]);
    }
  }
  return refs;
}

export function usage(index: IndexStore): { bytes: number; blobs: number } {
  let bytes = 0;
  let blobs = 0;
  for (const [, m] of index.blobs()) {
    bytes += m.size;
    blobs++;
  }
  return { bytes, blobs };
}

export class Maintenance {
  constructor(private readonly deps: MaintenanceDeps) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Removes one blob, its row, and every entry that needs it. */
  async removeBlob(digest: string, keys: string[], reason: Removal['reason']): Promise<Removal> {
    const { index, blobs, hot } = this.deps;
    const bytes = index.getBlob(digest)?.size ?? 0;
    for (const k of keys) await index.deleteEntry(k);
    await index.deleteBlob(digest);
    await blobs.delete(digest);
    hot.delete(digest);
    const r: Removal = { digest, bytes, keys, reason };
    await this.deps.onRemoved?.(r);
    return r;
  }

  /** Evicts LRU unpinned blobs until usage ≤ target bytes. */
  async evictTo(targetBytes: number): Promise<{ removed: number; bytes: number }> {
    const { index } = this.deps;
    let { bytes: used } = usage(index);
    if (used <= targetBytes) return { removed: 0, bytes: 0 };
    const refs = referencesByDigest(index);
    const protectedDigests = new Set<string>();
    for (const key of this.deps.protectedKeys()) {
      const e = index.getEntry(key);
      if (e) for (const d of entryDigests(e)) protectedDigests.add(d);
    }
    const candidates = [...index.blobs()].filter(([d]) => !protectedDigests.has(d)).sort((a, b) => a[1].lastAccess - b[1].lastAccess);
    let removed = 0;
    let freed = 0;
    for (const [digest] of candidates) {
      if (used <= targetBytes) break;
      // Entries that need this blob may also need pinned ones: never drop a pinned entry.
      const keys = refs.get(digest) ?? [];
      const r = await this.removeBlob(digest, keys, 'evict');
      used -= r.bytes;
      freed += r.bytes;
      removed++;
    }
    return { removed, bytes: freed };
  }

  /** Enforces the budget: only acts above the high watermark. */
  async enforce(budget: Budget): Promise<{ removed: number; bytes: number }> {
    const { bytes } = usage(this.deps.index);
    if (bytes <= budget.maxBytes * budget.high) return { removed: 0, bytes: 0 };
    return this.evictTo(Math.floor(budget.maxBytes * budget.low));
  }

  /** Collects blobs no entry references (older than `graceMs`). */
  async gc(graceMs = 60_000): Promise<{ removed: number; bytes: number }> {
    const { index } = this.deps;
    const refs = referencesByDigest(index);
    const cutoff = this.now() - graceMs;
    let removed = 0;
    let bytes = 0;
    for (const [digest, meta] of [...index.blobs()]) {
      if (refs.has(digest) || meta.createdAt > cutoff) continue;
      const r = await this.removeBlob(digest, [], 'gc');
      removed++;
      bytes += r.bytes;
    }
    return { removed, bytes };
  }
}
