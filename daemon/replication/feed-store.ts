/**
 * Where the pin change feed keeps its records: the port {@link PinFeed}
 * reads and appends through, and its single-daemon implementation, a
 * durable table (LMDB in production) keyed by the 16-digit sequence number.
 * Cluster mode puts the feed in etcd instead (daemon/cluster/etcd-feed.ts),
 * so every node serves the same sequence.
 */
import type { FeedRecord } from '../admin/contract.js';
import type { KvTable } from '../core/ports.js';

/** A change to append: the store gives it its sequence number and time. */
export type FeedEvent = Omit<FeedRecord, 'seq' | 'at'>;

export interface FeedStore {
  /** Sequence number of the newest record a reader can see (0 when empty). */
  readonly head: number;
  /** False until the records were read once (etcd unreachable since start): head and reads mean nothing yet. */
  readonly loaded: boolean;
  /** Records after `since` (exclusive), oldest first, without gaps. */
  since(since: number, limit: number): FeedRecord[];
  /**
   * Whether other nodes append to this sequence too (cluster mode): this node's copy may lag, so a
   * reader ahead of its head is ahead of this node, not a reader of a feed that restarted.
   */
  readonly shared: boolean;
  /** Whether records right after `since` were dropped by retention (that reader must start over). */
  trimmed(since: number): boolean;
  /** Appends one record; resolves once it is durable (undefined: a duplicate the store skipped). */
  append(rec: FeedEvent): Promise<FeedRecord | undefined>;
  /** Calls `fn` with the new head whenever records become visible. */
  onAppend(fn: (head: number) => void): void;
}

export const feedKey = (seq: number): string => seq.toString().padStart(16, '0');

/** The feed of a single daemon: a table of its own, no retention limit. */
export class TableFeedStore implements FeedStore {
  private seq = 0;
  private durable = 0;
  private readonly listeners: Array<(head: number) => void> = [];
  /** Appends are serialized so sequence numbers hit the table in order. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly table: KvTable<FeedRecord>) {
    for (const [, r] of table.range({ reverse: true, limit: 1 })) this.seq = r.seq;
    this.durable = this.seq;
  }

  get head(): number {
    return this.durable;
  }

  readonly loaded = true;
  readonly shared = false;

  since(since: number, limit: number): FeedRecord[] {
    const out: FeedRecord[] = [];
    for (const [, r] of this.table.range({ start: feedKey(Math.max(0, since) + 1), limit })) out.push(r);
    return out;
  }

  trimmed(): boolean {
    return false;
  }

  append(rec: FeedEvent): Promise<FeedRecord> {
    const full: FeedRecord = { seq: ++this.seq, at: Date.now(), kind: rec.kind, ref: rec.ref };
    if (rec.resolved !== undefined) full.resolved = rec.resolved;
    const write = this.tail.then(() => this.table.put(feedKey(full.seq), full));
    this.tail = write.catch(() => undefined);
    return write.then(() => {
      this.durable = Math.max(this.durable, full.seq);
      for (const fn of this.listeners) fn(this.durable);
      return full;
    });
  }

  onAppend(fn: (head: number) => void): void {
    this.listeners.push(fn);
  }
}
