/**
 * The pin change feed: every pin added, removed or re-resolved, appended
 * with a sequence number and a time to a durable table (LMDB in production),
 * read by child daemons with long polls (`since` → records after it, or a
 * wait for the next append).
 */
import { EventEmitter } from 'node:events';
import type { KvTable } from '../core/ports.js';
import type { FeedRecord } from '../admin/contract.js';

const key = (seq: number): string => seq.toString().padStart(16, '0');

export class PinFeed {
  private seq = 0;
  private durable = 0;
  private readonly appended = new EventEmitter();
  private closed = false;
  /** Appends are serialized so sequence numbers hit the table in order. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly table: KvTable<FeedRecord>) {
    for (const [, r] of table.range({ reverse: true, limit: 1 })) this.seq = r.seq;
    this.durable = this.seq;
    this.appended.setMaxListeners(0);
  }

  /** Sequence number of the newest durable record (0 when empty). */
  get head(): number {
    return this.durable;
  }

  /** Appends one record; resolves once it is durable. */
  append(rec: Omit<FeedRecord, 'seq' | 'at'>): Promise<FeedRecord> {
    const full: FeedRecord = { seq: ++this.seq, at: Date.now(), kind: rec.kind, ref: rec.ref };
    if (rec.resolved !== undefined) full.resolved = rec.resolved;
    const write = this.tail.then(() => this.table.put(key(full.seq), full));
    this.tail = write.catch(() => undefined);
    return write.then(() => {
      this.durable = Math.max(this.durable, full.seq);
      this.appended.emit('record', full.seq);
      return full;
    });
  }

  /** Records after `since` (exclusive), oldest first. */
  since(since: number, limit = 100): FeedRecord[] {
    const out: FeedRecord[] = [];
    for (const [, r] of this.table.range({ start: key(Math.max(0, since) + 1), limit })) out.push(r);
    return out;
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
