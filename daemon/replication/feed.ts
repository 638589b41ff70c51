/**
 * The pin change feed: every pin added, removed or re-resolved, appended
 * with a sequence number and a time to a {@link FeedStore} (this daemon's
 * durable table, or etcd in cluster mode), read by child daemons with long polls (`since` → records after it, or a
 * wait for the next append).
 */
import { EventEmitter } from 'node:events';
import type { KvTable } from '../core/ports.js';
import type { FeedRecord } from '../admin/contract.js';
import { type FeedEvent, type FeedStore, TableFeedStore } from './feed-store.js';

export class PinFeed {
  private readonly appended = new EventEmitter();
  private closed = false;
  private readonly store: FeedStore;

  /** A feed over `store`, or over a durable table of this daemon's own. */
  constructor(store: FeedStore | KvTable<FeedRecord>) {
    this.store = 'append' in store ? store : new TableFeedStore(store);
    this.appended.setMaxListeners(0);
    this.store.onAppend((seq) => this.appended.emit('record', seq));
  }

  /** Sequence number of the newest durable record (0 when empty). */
  get head(): number {
    return this.store.head;
  }

  /** Appends one record; resolves once it is durable (undefined: the cluster already had it). */
  append(rec: FeedEvent): Promise<FeedRecord | undefined> {
    return this.store.append(rec);
  }

  /** False while the feed could not be read yet (cluster mode with etcd unreachable since start). */
  get loaded(): boolean {
    return this.store.loaded;
  }

  /** Whether other nodes append to this sequence (cluster mode): a reader ahead of this node's head is not a sign of a reset. */
  get shared(): boolean {
    return this.store.shared;
  }

  /** Whether records right after `since` are gone (retention): that reader has to replay from the start. */
  trimmed(since: number): boolean {
    return since > 0 && this.store.trimmed(since);
  }

  /** Records after `since` (exclusive), oldest first. */
  since(since: number, limit = 100): FeedRecord[] {
    return this.store.since(since, limit);
  }

  /** The record right after `since` (the oldest one a reader at `since` has not seen). */
  next(since: number): FeedRecord | undefined {
    return this.since(since, 1)[0];
  }

  /**
   * Records after `since`, waiting up to `waitMs` for one to be appended when
   * there is none yet. Returns early (possibly empty) on `signal` or close().
   */
  async poll(since: number, waitMs: number, signal?: AbortSignal, limit = 100): Promise<FeedRecord[]> {
    const now = this.since(since, limit);
    if (now.length || waitMs <= 0 || this.closed) return now;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.appended.off('record', onRecord);
        this.appended.off('close', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const onRecord = (seq: number): void => {
        if (seq > since) done();
      };
      const timer = setTimeout(done, waitMs);
      this.appended.on('record', onRecord);
      this.appended.once('close', done);
      signal?.addEventListener('abort', done, { once: true });
    });
    return this.since(since, limit);
  }

  /** Whether close() was called (the daemon is shutting down). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends every waiting poll (shutdown) and refuses to wait from now on. */
  close(): void {
    this.closed = true;
    this.appended.emit('close');
  }
}
