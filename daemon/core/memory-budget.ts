/**
 * One byte budget for everything held whole in memory on behalf of a
 * client: request bodies being read and documents being filled (read,
 * parsed, derived, then written). A document fill also takes one of a
 * fixed number of fill slots. What does not fit waits in line for a short
 * while, then fails with E_BUSY (503 with Retry-After), rendered by each
 * protocol in its own error format.
 *
 * A holder grows its lease as bytes arrive; one asking for more than the
 * whole budget gets the whole budget (so it runs alone instead of never).
 * Growing holders are served before new arrivals, oldest first: they
 * already hold bytes that only their completion frees. The oldest holder
 * never gives up waiting to grow (the others give up, or finish, and free
 * their bytes), so holders that all need more cannot stall each other.
 */
import { LarderError } from './errors.js';

export interface MemoryBudgetOptions {
  /** Bytes that may be held at once. */
  maxBytes: number;
  /** Document fills at once. */
  maxFills: number;
  /** How long a request waits for room before E_BUSY. */
  waitMs: number;
  /** Seconds sent in Retry-After (default: the wait, at least 1). */
  retryAfterS?: number;
}

interface Waiter {
  lease: MemoryLease;
  bytes: number;
  slot: boolean;
  /** A holder asking for more (served before new arrivals, oldest first). */
  growth: boolean;
  grant(): void;
  timer: NodeJS.Timeout;
}

export class MemoryBudget {
  private used = 0;
  private slots = 0;
  private readonly queue: Waiter[] = [];
  /** Leases holding bytes or a slot, oldest first. */
  private readonly holders = new Set<MemoryLease>();
  private counter = 0;

  constructor(readonly opts: MemoryBudgetOptions) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.used;
  }

  /** Fills running now. */
  get fills(): number {
    return this.slots;
  }

  /** Requests waiting for room. */
  get waiting(): number {
    return this.queue.length;
  }

  /** A lease on `bytes` (no fill slot): request bodies. */
  async reserve(bytes: number, what: string): Promise<MemoryLease> {
    const lease = new MemoryLease(this, false, this.counter++);
    await this.take(lease, bytes, false, what, false);
    return lease;
  }

  /** A fill slot, with no bytes yet: the lease grows as the document is read. */
  async admit(what: string): Promise<MemoryLease> {
    const lease = new MemoryLease(this, true, this.counter++);
    await this.take(lease, 0, true, what, false);
    return lease;
  }

  /** @internal Grants `bytes` (and a slot) to `lease`, now or after a wait. */
  take(lease: MemoryLease, bytes: number, slot: boolean, what: string, growth: boolean): Promise<void> {
    const want = Math.min(bytes, Math.max(0, this.opts.maxBytes - lease.bytes));
    const grant = (): void => {
      if (lease.released) return; // gave up meanwhile: nothing to hold
      this.used += want;
      lease.bytes += want;
      if (slot) this.slots++;
      this.holders.add(lease);
    };
    if ((this.queue.length === 0 || growth) && this.fits(want, slot)) {
      grant();
      return Promise.resolve();
    }
    lease.waited = true;
    return new Promise<void>((resolve, reject) => {
      const expire = (): void => {
        // The oldest holder keeps waiting: only it is sure to get room, once the others give up or finish.
        if (growth && this.holders.values().next().value === lease) {
          waiter.timer = setTimeout(expire, this.opts.waitMs);
          return;
        }
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(this.busy(what));
        this.pump();
      };
      const waiter: Waiter = {
        lease,
        bytes: want,
        slot,
        growth,
        grant: () => {
          grant();
          resolve();
        },
        timer: setTimeout(expire, this.opts.waitMs),
      };
      // Growth goes before new arrivals, oldest holder first.
      const at = growth ? this.queue.findIndex((w) => !w.growth || w.lease.order > lease.order) : -1;
      if (at >= 0) this.queue.splice(at, 0, waiter);
      else this.queue.push(waiter);
    });
  }

  /** @internal Gives back bytes and/or a slot, and lets waiters in. */
  give(bytes: number, slot: boolean, lease?: MemoryLease): void {
    this.used -= bytes;
    if (slot) this.slots--;
    if (lease) this.holders.delete(lease);
    this.pump();
  }

  private fits(bytes: number, slot: boolean): boolean {
    if (slot && this.slots >= this.opts.maxFills) return false;
    return this.used + bytes <= this.opts.maxBytes;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (!this.fits(next.bytes, next.slot)) return;
      this.queue.shift();
      clearTimeout(next.timer);
      next.grant();
    }
  }

  /** The E_BUSY error (503 with Retry-After) of this budget. */
  busy(what: string): LarderError {
    const retryAfter = this.opts.retryAfterS ?? Math.max(1, Math.ceil(this.opts.waitMs / 1000));
    return new LarderError('E_BUSY', `busy: not enough memory to serve ${what.slice(0, 200)} now; retry shortly`, {
      retryAfter,
      details: { heldBytes: this.used, fills: this.slots },
    });
  }
}

/** Bytes (and maybe a fill slot) held by one request; release exactly once, the rest is idempotent. */
export class MemoryLease {
  /** @internal */
  bytes = 0;
  /** Whether it ever had to wait for room (an upstream may have timed out meanwhile). */
  waited = false;
  private done = false;

  constructor(
    private readonly budget: MemoryBudget,
    private slot: boolean,
    /** @internal Creation order (older holders grow first). */
    readonly order: number,
  ) {}

  get released(): boolean {
    return this.done;
  }

  /** Holds `n` more bytes, waiting ahead of new arrivals; E_BUSY when none free up in time. */
  grow(n: number, what: string): Promise<void> {
    if (this.done || n <= 0) return Promise.resolve();
    return this.budget.take(this, n, false, what, true);
  }

  /** Keeps only `bytes` (a fill that ended holds its bodies until they are written). */
  shrink(bytes: number): void {
    if (this.done || bytes >= this.bytes) return;
    const freed = this.bytes - bytes;
    this.bytes = bytes;
    this.budget.give(freed, false);
  }

  /** E_BUSY for `what`: a request that failed for want of room. */
  busy(what: string): LarderError {
    return this.budget.busy(what);
  }

  /** Gives the fill slot back, keeping the bytes. */
  endFill(): void {
    if (this.done || !this.slot) return;
    this.slot = false;
    this.budget.give(0, true);
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    const bytes = this.bytes;
    this.bytes = 0;
    this.budget.give(bytes, this.slot, this);
    this.slot = false;
  }
}
