/**
 * Keeps the storage budget between the periodic checks: a commit that takes
 * usage past the high watermark starts eviction at once, and a disk that
 * runs short of space below the budget asks for room (`reclaim`). Every
 * eviction goes through one queue, so one runs at a time; commits arriving
 * while one runs coalesce into at most one more run.
 */
import type { Budget, Maintenance } from './eviction.js';
import type { IndexUsage } from './ports.js';

export interface EvictionResult {
  removed: number;
  bytes: number;
}

export interface BudgetKeeperDeps {
  maintenance: Pick<Maintenance, 'enforce' | 'reclaim'>;
  budget: Budget;
  /** Current usage (the index's running total: cheap). */
  usage(): IndexUsage;
  /** Told about every run that removed something, and every failure. */
  onEvicted?(r: EvictionResult, why: 'budget' | 'disk'): void;
  onError?(err: unknown): void;
}

const NONE: EvictionResult = { removed: 0, bytes: 0 };

export class BudgetKeeper {
  private queue: Promise<unknown> = Promise.resolve();
  private running: Promise<EvictionResult> | undefined;
  private pending = false;
  private stopped = false;

  constructor(private readonly deps: BudgetKeeperDeps) {}

  private get high(): number {
    return this.deps.budget.maxBytes * this.deps.budget.high;
  }

  /** Whether usage is past the high watermark now. */
  over(u: IndexUsage = this.deps.usage()): boolean {
    return u.bytes > this.high;
  }

  /** A commit added bytes: enforce at once when that took usage past the high watermark. */
  grew(u: IndexUsage): void {
    if (!this.stopped && this.over(u)) this.enforce().catch(() => undefined); // reported through onError
  }

  /** Enforces the budget now, or joins the run in progress (which then checks once more). */
  enforce(): Promise<EvictionResult> {
    if (this.stopped) return Promise.resolve(NONE);
    if (this.running) {
      this.pending = true;
      return this.running;
    }
    const run = this.exclusive(async () => {
      const total = { ...NONE };
      do {
        this.pending = false;
        const r = await this.deps.maintenance.enforce(this.deps.budget);
        total.removed += r.removed;
        total.bytes += r.bytes;
      } while (this.pending && !this.stopped && this.over());
      if (total.removed) this.deps.onEvicted?.(total, 'budget');
      return total;
    });
    this.running = run.finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * Frees at least `need` bytes of disk by evicting unpinned blobs (up to
   * `extra` more, so the next miss does not evict again); resolves with the
   * bytes freed, 0 when eviction cannot make that room. Never rejects.
   */
  reclaim(need: number, extra = 0): Promise<number> {
    if (this.stopped || need <= 0) return Promise.resolve(0);
    return this.exclusive(async () => {
      const r = this.stopped ? NONE : await this.deps.maintenance.reclaim(need, extra);
      if (r.removed) this.deps.onEvicted?.(r, 'disk');
      return r.bytes;
    }).catch(() => 0);
  }

  /** No new runs; resolves once the one in progress is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue;
  }

  /** Runs `fn` after every eviction queued before it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch((err: unknown) => this.deps.onError?.(err));
    return run;
  }
}
