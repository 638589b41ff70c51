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
 * Growing holders are served before new arrivals: they already hold bytes
 * that only their completion frees.
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
  bytes: number;
  slot: boolean;
  grant(): void;
  timer: NodeJS.Timeout;
}

export class MemoryBudget {
  private used = 0;
  private slots = 0;
  private readonly queue: Waiter[] = [];

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
    const lease = new MemoryLease(this, false);
    await this.take(lease, bytes, false, what, false);
    return lease;
  }

  /** A fill slot, with no bytes yet: the lease grows as the document is read. */
  async admit(what: string): Promise<MemoryLease> {
    const lease = new MemoryLease(this, true);
    await this.take(lease, 0, true, what, false);
    return lease;
  }

  /** @internal Grants `bytes` (and a slot) to `lease`, now or after a wait. */
  take(lease: MemoryLease, bytes: number, slot: boolean, what: string, first: boolean): Promise<void> {
    const want = Math.min(bytes, Math.max(0, this.opts.maxBytes - lease.bytes));
    const grant = (): void => {
      this.used += want;
      lease.bytes += want;
      if (slot) this.slots++;
    };
    if (this.queue.length === 0 || first) {
      if (this.fits(want, slot)) {
        grant();
        return Promise.resolve();
      }
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes: want,
        slot,
        grant: () => {
          grant();
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(this.busy(what));
          this.pump();
        }, this.opts.waitMs),
      };
      if (first) this.queue.unshift(waiter);
      else this.queue.push(waiter);
    });
  }

  /** @internal Gives back bytes and/or a slot, and lets waiters in. */
  give(bytes: number, slot: boolean): void {
    this.used -= bytes;
    if (slot) this.slots--;
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

  private busy(what: string): LarderError {
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
  private released = false;

  constructor(
    private readonly budget: MemoryBudget,
    private slot: boolean,
  ) {}

  /** Holds `n` more bytes, waiting ahead of new arrivals; E_BUSY when none free up in time. */
  grow(n: number, what: string): Promise<void> {
    if (this.released || n <= 0) return Promise.resolve();
    return this.budget.take(this, n, false, what, true);
  }

  /** Keeps only `bytes` (a fill that ended holds its bodies until they are written). */
  shrink(bytes: number): void {
    if (this.released || bytes >= this.bytes) return;
    const freed = this.bytes - bytes;
    this.bytes = bytes;
    this.budget.give(freed, false);
  }

  /** Gives the fill slot back, keeping the bytes. */
  endFill(): void {
    if (this.released || !this.slot) return;
    this.slot = false;
    this.budget.give(0, true);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const bytes = this.bytes;
    this.bytes = 0;
    this.budget.give(bytes, this.slot);
    this.slot = false;
  }
}
