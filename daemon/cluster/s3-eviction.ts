/**
 * Eviction of the shared S3 tier, decided once for the cluster: only the
 * node elected through etcd runs a pass, and only after etcd confirms it
 * still leads (etcd unreachable: nobody evicts S3; the pass is counted as
 * skipped). A pass acts above the high watermark of `storage.s3.maxSize`
 * and removes blobs, oldest use first, until usage is under the low one.
 *
 * - Never evicted: a blob any entry of a pinned closure needs (the cluster's
 *   pin set, read anew from etcd before the pass), or one written within
 *   the grace period (a commit whose entry is not published yet).
 * - "Use" is the later of the object's last write in S3 and this node's
 *   own last access to the blob (other nodes' reads are not seen).
 * - No pass while a pin's closure is being warmed (a `warming` marker in
 *   etcd: its keys are not in the pin set yet), nor while an entry object
 *   cannot be read (its blobs might be pinned): the pass is skipped.
 * - Just before a blob goes, its object is looked at again (HEAD): one
 *   written again since the listing, or within the grace, stays; etcd is
 *   asked again whether this node leads when a third of the lease TTL has
 *   passed since it last said so, whether a warm began, and whether a pin
 *   was written since the pin set was read (a warm that began and ended
 *   in between, or a bundle import, leaves no marker): then the pass stops.
 * - Every shared entry that needs a blob is deleted before the blob, so no
 *   node adopts an entry whose body is gone; then the nodes are told
 *   (`evicted`) so they drop their local copies of those entries.
 */
import type { Entry } from '../core/types.js';
import { entryDigests } from '../core/eviction.js';

export interface Bucket {
  blobs(): AsyncIterable<{ digest: string; size: number; modified: number }>;
  entries(): AsyncIterable<{ key: string; etag: string }>;
  /** The entry an entry object holds: undefined when it is gone, 'unreadable' when it is not an entry of a known form. */
  entry(objectKey: string): Promise<Entry | undefined | 'unreadable'>;
  /** When the blob's object was last written, epoch ms (undefined: gone). */
  modified(digest: string): Promise<number | undefined>;
  remove(objectKey: string): Promise<void>;
  blobKey(digest: string): string;
}

export interface S3EvictionDeps {
  bucket: Bucket;
  budget: { maxBytes: number; high: number; low: number };
  /** True when this node leads and etcd confirms it now. */
  confirm(): Promise<boolean>;
  /** Whether this node still holds leadership (checked between removals; no etcd call). */
  leading(): boolean;
  /** How long a confirmation holds during a pass (a third of the lease TTL). */
  confirmEveryMs: number;
  /** Whether any node is warming a pin's closure now (throws when etcd cannot be read). */
  warming(): Promise<boolean>;
  /** Reads the cluster's pin set anew: the entry keys it protects and the etcd revision of that read (throws when etcd cannot be read). */
  pinnedKeys(): Promise<{ keys: Set<string>; revision: bigint }>;
  /** Whether a pin was written after etcd revision `revision` (throws when etcd cannot be read). */
  pinsWrittenSince(revision: bigint): Promise<boolean>;
  /** This node's last access to a blob, if it has one. */
  localAccess(digest: string): number | undefined;
  /** Tells every node that `digest` left the S3 tier with the entries `keys`. */
  evicted(digest: string, keys: string[]): Promise<void>;
  graceMs: number;
  now?(): number;
}

export interface S3PassResult {
  ran: boolean;
  /**
   * Why the pass did not run: not the leader, etcd unreachable, a closure
   * being warmed, or an unreadable entry object; 'pins': it stopped early
   * because a pin was written during it (`removed` counts what went before).
   */
  skipped?: 'member' | 'etcd' | 'warming' | 'unreadable' | 'pins';
  /** The entry objects that could not be read (skipped: 'unreadable'). */
  unreadable?: string[];
  usedBytes?: number;
  removed: number;
  bytes: number;
}

export class S3Eviction {
  /** Parsed entry objects of earlier passes, by object key (refetched when the ETag changes). */
  private readonly seen = new Map<string, { etag: string; entry: Entry | undefined | 'unreadable' }>();
  /** Bytes in the S3 tier at the last pass of this node (undefined before one). */
  usedBytes: number | undefined;

  constructor(private readonly d: S3EvictionDeps) {}

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }

  async pass(): Promise<S3PassResult> {
    if (!(await this.d.confirm())) return { ran: false, skipped: this.d.leading() ? 'etcd' : 'member', removed: 0, bytes: 0 };
    let confirmedAt = this.now();
    const blobs = new Map<string, { size: number; modified: number }>();
    let used = 0;
    for await (const b of this.d.bucket.blobs()) {
      blobs.set(b.digest, b);
      used += b.size;
    }
    this.usedBytes = used;
    const { maxBytes, high, low } = this.d.budget;
    if (used <= maxBytes * high) return { ran: true, usedBytes: used, removed: 0, bytes: 0 };
    let pinned: Set<string>;
    let pinRevision: bigint;
    try {
      // Markers first: a warm that ends after this read has stored its keys before the pin set is read.
      if (await this.d.warming()) return { ran: false, skipped: 'warming', usedBytes: used, removed: 0, bytes: 0 };
      ({ keys: pinned, revision: pinRevision } = await this.d.pinnedKeys());
    } catch {
      return { ran: false, skipped: 'etcd', usedBytes: used, removed: 0, bytes: 0 };
    }
    const { entries, unreadable } = await this.readEntries();
    if (unreadable.length) return { ran: false, skipped: 'unreadable', unreadable, usedBytes: used, removed: 0, bytes: 0 };
    const refs = new Map<string, string[]>(); // digest → entry object keys
    const protectedDigests = new Set<string>();
    for (const [objectKey, e] of entries) {
      for (const d of entryDigests(e)) {
        const list = refs.get(d);
        if (list) list.push(objectKey);
        else refs.set(d, [objectKey]);
        if (pinned.has(e.key)) protectedDigests.add(d);
      }
    }
    const fresh = this.now() - this.d.graceMs;
    const order = [...blobs]
      .filter(([d, b]) => !protectedDigests.has(d) && b.modified < fresh)
      .map(([d, b]) => [d, Math.max(b.modified, this.d.localAccess(d) ?? 0), b.size] as const)
      .sort((a, b) => a[1] - b[1]);
    const target = maxBytes * low;
    let removed = 0;
    let bytes = 0;
    let stopped: 'pins' | undefined;
    for (const [digest, , size] of order) {
      if (used - bytes <= target) break;
      if (!this.d.leading()) break; // leadership lost mid-pass: the next leader decides the rest
      if (this.now() - confirmedAt > this.d.confirmEveryMs) {
        if (!(await this.d.confirm())) break;
        confirmedAt = this.now();
      }
      // Markers, then pins (in this order: a warm stores its pin before its marker goes). Either: keys not in `pinned`.
      if (await this.d.warming().catch(() => true)) break;
      if (await this.d.pinsWrittenSince(pinRevision).catch(() => true)) {
        stopped = 'pins';
        break;
      }
      const listed = blobs.get(digest)?.modified ?? 0;
      const modified = await this.d.bucket.modified(digest);
      if (modified === undefined || modified > listed || modified >= this.now() - this.d.graceMs) continue; // gone, or written again
      const objectKeys = refs.get(digest) ?? [];
      const keys: string[] = [];
      for (const k of objectKeys) {
        const e = entries.get(k);
        if (e) keys.push(e.key);
        await this.d.bucket.remove(k);
        this.seen.delete(k);
        entries.delete(k);
      }
      await this.d.bucket.remove(this.d.bucket.blobKey(digest));
      await this.d.evicted(digest, keys);
      removed++;
      bytes += size;
    }
    this.usedBytes = used - bytes;
    return { ran: true, ...(stopped && { skipped: stopped }), usedBytes: used - bytes, removed, bytes };
  }

  /** Every shared entry, by object key (entries unchanged since the last pass are not fetched again). */
  private async readEntries(): Promise<{ entries: Map<string, Entry>; unreadable: string[] }> {
    const out = new Map<string, Entry>();
    const unreadable: string[] = [];
    const listed = new Set<string>();
    for await (const o of this.d.bucket.entries()) {
      listed.add(o.key);
      let known = this.seen.get(o.key);
      if (!known || known.etag !== o.etag) {
        known = { etag: o.etag, entry: await this.d.bucket.entry(o.key) };
        this.seen.set(o.key, known);
      }
      if (known.entry === 'unreadable') unreadable.push(o.key);
      else if (known.entry) out.set(o.key, known.entry);
    }
    for (const k of [...this.seen.keys()]) if (!listed.has(k)) this.seen.delete(k);
    return { entries: out, unreadable };
  }
}
