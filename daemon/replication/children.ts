/**
 * The parent's view of its children: each daemon that polls the feed, the
 * sequence number it last asked from (everything up to it is applied there),
 * when it was last seen, and its lag, computed from the feed: 0 when it had
 * every record, else the seconds since the oldest record it had not applied.
 * Kept in a durable table so the list survives restarts.
 */
import type { KvTable } from '../core/ports.js';
import type { ChildStatus } from '../admin/contract.js';
import type { PinFeed } from './feed.js';

interface StoredChild {
  id: string;
  lastSeenSeq: number;
  lastSeenAt: number;
}

/** How long after its last poll a child still counts as connected (a poll is open, or one is due). */
const CONNECTED_GRACE_MS = 5_000;
/** Children remembered at most: the ids come from feed polls (any replicate token names its own). */
export const MAX_CHILDREN = 1_000;

export class ChildRegistry {
  private readonly polling = new Map<string, number>();
  private readonly known = new Map<string, StoredChild>();

  constructor(
    private readonly table: KvTable<StoredChild>,
    private readonly feed: PinFeed,
  ) {
    // Least recently seen first (the order `seen` keeps), so the oldest is dropped first when over the bound.
    const stored = [...table.range()].sort(([, a], [, b]) => a.lastSeenAt - b.lastSeenAt);
    for (const [id, c] of stored) this.known.set(id, c);
    this.bound();
  }

  /** Forgets the least recently seen children (not polling now) beyond MAX_CHILDREN. */
  private bound(): void {
    for (const id of this.known.keys()) {
      if (this.known.size <= MAX_CHILDREN) return;
      if (this.polling.has(id)) continue;
      this.known.delete(id);
      void this.table.remove(id).catch(() => undefined);
    }
  }

  /** Records a poll from `id` asking for records after `since`; returns a function to call when the poll ends. */
  seen(id: string, since: number): () => void {
    const c: StoredChild = { id, lastSeenSeq: since, lastSeenAt: Date.now() };
    const prev = this.known.get(id);
    this.known.delete(id);
    this.known.set(id, c);
    if (!prev) this.bound();
    // Writes only when something an operator would see changed, or once a minute.
    if (!prev || prev.lastSeenSeq !== since || c.lastSeenAt - prev.lastSeenAt > 60_000) void this.table.put(id, c).catch(() => undefined);
    this.polling.set(id, (this.polling.get(id) ?? 0) + 1);
    return () => {
      const n = (this.polling.get(id) ?? 1) - 1;
      if (n > 0) this.polling.set(id, n);
      else this.polling.delete(id);
      const cur = this.known.get(id);
      if (cur) cur.lastSeenAt = Date.now();
    };
  }

  list(now = Date.now()): ChildStatus[] {
    return [...this.known.values()]
      .map((c) => {
        const pending = this.feed.next(c.lastSeenSeq);
        const lagSeconds = pending ? Math.max(0, Math.round((now - pending.at) / 1000)) : 0;
        const connected = this.polling.has(c.id) || now - c.lastSeenAt < CONNECTED_GRACE_MS;
        return { id: c.id, lastSeenSeq: c.lastSeenSeq, lastSeenAt: c.lastSeenAt, lagSeconds, connected };
      })
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Largest lag of any child (metrics). */
  maxLag(): number {
    return Math.max(0, ...this.list().map((c) => c.lagSeconds));
  }
}
