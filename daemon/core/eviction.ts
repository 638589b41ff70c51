/**
 * Byte-budget eviction and garbage collection over the ports.
 *
 * - Usage is the sum of blob rows (the index keeps it as a running total).
 *   Above the high watermark, blobs that no pinned entry needs are evicted
 *   least-recently-used first ("used" = last time a client pulled it, from
 *   batched access times) until usage is under the low watermark. Every entry that needs an evicted blob goes with it.
 * - When the disk runs short of space below the budget, `reclaim` evicts
 *   the same way until the bytes asked for are free (see core/budget.ts).
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
  /** Writes pending access times (batched elsewhere) so LRU order is current. */
  flushAccess?(): Promise<void>;
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

/**
 * When each blob was last used, by entry: a client pulling any form of a
 * document (one variant) uses the whole entry, so its other blobs count as
 * used then too. Blobs no entry needs keep their own access time.
 */
function lastUse(index: IndexStore, refs: Map<string, string[]>): Map<string, number> {
  const own = new Map<string, number>();
  for (const [d, m] of index.blobs()) own.set(d, m.lastAccess);
  const byEntry = new Map<string, number>();
  for (const e of index.entries()) byEntry.set(e.key, Math.max(0, ...entryDigests(e).map((d) => own.get(d) ?? 0)));
  const out = new Map<string, number>();
  for (const [d, keys] of refs) out.set(d, Math.max(own.get(d) ?? 0, ...keys.map((k) => byEntry.get(k) ?? 0)));
  return out;
}

/** Bytes and count of the blob rows: the index's running total, or (an index without one) a walk. */
export function usage(index: IndexStore): { bytes: number; blobs: number } {
  const total = index.usage?.();
  if (total) return total;
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

  /**
   * Evicts LRU unpinned blobs until usage ≤ target bytes. The entries that
   * need an evicted blob go with it, and so do their other blobs (the other
   * forms of a document) once nothing else needs them.
   */
  async evictTo(targetBytes: number): Promise<{ removed: number; bytes: number }> {
    await this.deps.flushAccess?.().catch(() => undefined);
    const { bytes: used } = usage(this.deps.index);
    if (used <= targetBytes) return { removed: 0, bytes: 0 };
    return this.evictLru(used - targetBytes, 0);
  }

  /**
   * Frees at least `need` bytes (and up to `extra` more) by evicting LRU
   * unpinned blobs, for a disk that runs out of space below the budget.
   * Evicts nothing when the unpinned blobs together hold less than `need`:
   * eviction could not make the room, so the cache is kept as it is.
   */
  async reclaim(need: number, extra = 0): Promise<{ removed: number; bytes: number }> {
    if (need <= 0) return { removed: 0, bytes: 0 };
    await this.deps.flushAccess?.().catch(() => undefined);
    return this.evictLru(need + extra, need);
  }

  /** Evicts LRU unpinned blobs until `want` bytes are freed; nothing unless `atLeast` can be. */
  private async evictLru(want: number, atLeast: number): Promise<{ removed: number; bytes: number }> {
    const { index } = this.deps;
    const refs = referencesByDigest(index);
    const protectedDigests = new Set<string>();
    for (const key of this.deps.protectedKeys()) {
      const e = index.getEntry(key);
      if (e) for (const d of entryDigests(e)) protectedDigests.add(d);
    }
    // A blob no pinned entry needs is needed by no pinned entry: its entries may all go.
    const recency = lastUse(index, refs);
    const candidates = [...index.blobs()]
      .filter(([d]) => !protectedDigests.has(d))
      .map(([d, m]) => [d, recency.get(d) ?? m.lastAccess, m.size] as const)
      .sort((a, b) => a[1] - b[1]);
    if (atLeast > 0 && candidates.reduce((n, c) => n + c[2], 0) < atLeast) return { removed: 0, bytes: 0 };
    const droppedKeys = new Set<string>();
    let removed = 0;
    let freed = 0;
    const remove = async (digest: string): Promise<void> => {
      const entries = (refs.get(digest) ?? []).map((k) => index.getEntry(k)).filter((e): e is Entry => e !== undefined);
      const r = await this.removeBlob(
        digest,
        entries.map((e) => e.key),
        'evict',
      );
      for (const e of entries) droppedKeys.add(e.key);
      freed += r.bytes;
      removed++;
      for (const d of new Set(entries.flatMap(entryDigests))) {
        const stillNeeded = (refs.get(d) ?? []).some((k) => !droppedKeys.has(k));
        if (d !== digest && !stillNeeded && !protectedDigests.has(d) && index.getBlob(d)) await remove(d);
      }
    };
    for (const [digest] of candidates) {
      if (freed >= want) break;
      if (index.getBlob(digest)) await remove(digest);
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
