/**
 * The child side of pin-set replication: long-polls the parent's feed from
 * the last applied sequence number (kept in a durable table, so restarts and
 * outages resume where they left off, with backoff), and applies records in
 * order: `add` pins locally (the closure is fetched through the parent),
 * `remove` unpins, `resolve` re-resolves so the new closure is fetched. The
 * applied sequence only advances once a record's closure is in the cache.
 *
 * Lag: 0 when caught up; else seconds since the oldest parent change not yet
 * applied (parent clock, corrected for skew). While the parent cannot be
 * reached, at least the seconds since it last confirmed we were caught up.
 */
import { LarderError, toLarderError } from '../core/errors.js';
import type { KvTable } from '../core/ports.js';
import type { FeedPage, FeedRecord, Pin, ReplicationStatus } from '../admin/contract.js';

/** What the sync needs of the pin manager. */
export interface PinTarget {
  byRef(ref: string): Pick<Pin, 'id' | 'status' | 'resolved' | 'source' | 'error'> | undefined;
  add(ref: string, opts: { source: Pin['source']; actor: string }): Promise<Pin>;
  remove(id: string, actor?: string): Promise<void>;
  refresh(id: string, initial?: boolean): Promise<void>;
}

export interface FeedSource {
  poll(since: number, waitSeconds: number, signal: AbortSignal): Promise<FeedPage>;
}

export interface SyncState {
  parentId?: string;
  appliedSeq: number;
  parentSeq: number;
  /** When the parent last confirmed we had everything (local clock, ms). */
  confirmedAt?: number;
}

export interface SyncOptions {
  parentUrl: string;
  feed: FeedSource;
  pins: PinTarget;
  state: KvTable<SyncState>;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  /** Long-poll length asked of the parent, seconds (default 20). */
  waitSeconds?: number;
  backoffMs?: { min: number; max: number };
}

const STATE_KEY = 'state';

export class ReplicationSync {
  private st: SyncState;
  private readonly startedAt = Date.now();
  private connected = false;
  private lastContactAt: number | undefined;
  private lastError: string | undefined;
  private offsetMs = 0;
  /** Parent time of the oldest known record not applied yet. */
  private pendingAt: number | undefined;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly o: SyncOptions) {
    this.st = o.state.get(STATE_KEY) ?? { appliedSeq: 0, parentSeq: 0 };
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }

  status(now = Date.now()): ReplicationStatus {
    const s: ReplicationStatus = {
      parent: this.o.parentUrl,
      appliedSeq: this.st.appliedSeq,
      parentSeq: Math.max(this.st.parentSeq, this.st.appliedSeq),
      lagSeconds: this.lag(now),
      connected: this.connected,
    };
    if (this.lastContactAt !== undefined) s.lastContactAt = this.lastContactAt;
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  private lag(now: number): number {
    let ms = this.pendingAt !== undefined ? now + this.offsetMs - this.pendingAt : 0;
    if (!this.connected) ms = Math.max(ms, now - (this.st.confirmedAt ?? this.startedAt));
    return Math.max(0, Math.round(ms / 1000));
  }

  private async save(patch: Partial<SyncState>): Promise<void> {
    this.st = { ...this.st, ...patch };
    await this.o.state.put(STATE_KEY, this.st);
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    const { min, max } = this.o.backoffMs ?? { min: 500, max: 8_000 };
    let backoff = min;
    while (!signal.aborted) {
      let page: FeedPage;
      try {
        page = await this.o.feed.poll(this.st.appliedSeq, this.o.waitSeconds ?? 20, signal);
      } catch (err) {
        if (signal.aborted) break;
        this.connected = false;
        this.lastError = toLarderError(err).message;
        await sleep(backoff, signal);
        backoff = Math.min(max, backoff * 2);
        continue;
      }
      this.connected = true;
      this.lastContactAt = Date.now();
      this.offsetMs = page.now - this.lastContactAt;
      if (this.st.parentId !== undefined && (page.daemon !== this.st.parentId || page.head < this.st.appliedSeq)) {
        this.o.log.warn(
          { parent: this.o.parentUrl, was: this.st.parentId, now: page.daemon, head: page.head },
          'replication: the parent feed was reset or replaced; replaying it from the start',
        );
        await this.save({ parentId: page.daemon, appliedSeq: 0, parentSeq: page.head });
        continue;
      }
      if (this.st.parentId === undefined) await this.save({ parentId: page.daemon });
      try {
        await this.applyPage(page);
        this.lastError = undefined;
        backoff = min;
      } catch (err) {
        if (signal.aborted) break;
        const e = toLarderError(err);
        this.lastError = `${e.code}: ${e.message}`;
        this.o.log.warn(
          { parent: this.o.parentUrl, err: this.lastError, appliedSeq: this.st.appliedSeq },
          'replication: could not apply a parent change; retrying',
        );
        await sleep(backoff, signal);
        backoff = Math.min(max, backoff * 2);
      }
    }
  }

  private async applyPage(page: FeedPage): Promise<void> {
    const records = page.records.filter((r) => r.seq > this.st.appliedSeq);
    this.pendingAt = records[0]?.at;
    await this.save({ parentSeq: Math.max(page.head, records.at(-1)?.seq ?? 0) });
    for (const [i, rec] of records.entries()) {
      if (this.controller.signal.aborted) return;
      this.pendingAt = rec.at;
      await this.apply(rec, records.slice(i + 1));
      const caughtUp = rec.seq >= this.st.parentSeq;
      await this.save({ appliedSeq: rec.seq, ...(caughtUp ? { confirmedAt: Date.now() } : {}) });
      this.pendingAt = records[i + 1]?.at;
    }
    if (this.st.appliedSeq >= page.head) {
      this.pendingAt = undefined;
      await this.save({ confirmedAt: Date.now() });
    }
  }

  /** Applies one record; throws when its closure could not be fetched (the record is retried). */
  private async apply(rec: FeedRecord, later: FeedRecord[]): Promise<void> {
    const { pins, log } = this.o;
    const current = pins.byRef(rec.ref);
    if (rec.kind === 'remove') {
      if (current?.source === 'parent') await pins.remove(current.id, 'parent');
      return;
    }
    // A later record about the same reference decides its final state.
    if (later.some((r) => r.ref === rec.ref)) return;
    if (!current) {
      try {
        await pins.add(rec.ref, { source: 'parent', actor: 'parent' });
      } catch (err) {
        const e = toLarderError(err);
        if (e.code !== 'E_BAD_REQUEST') throw e;
        // A reference this daemon cannot pin at all (no adapter for it): nothing will ever change that.
        log.warn({ ref: rec.ref, err: e.message }, 'replication: cannot pin a parent reference here; skipped');
        return;
      }
    } else if (current.status !== 'ok' || (rec.resolved !== undefined && current.resolved !== rec.resolved)) {
      await pins.refresh(current.id, current.resolved === undefined);
    }
    const after = pins.byRef(rec.ref);
    if (!after || rec.resolved === undefined) return; // unpinned meanwhile, or the parent could not resolve it either
    if (after.status === 'ok' && after.resolved === rec.resolved) return;
    const why =
      after.status === 'ok' ? `resolved to ${after.resolved ?? '?'}, the parent has ${rec.resolved}` : (after.error ?? after.status);
    throw new LarderError('E_UPSTREAM', `${rec.ref}: ${why}`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
