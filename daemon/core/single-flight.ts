/** Coalesces concurrent calls for the same key into one promise. */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();

  get size(): number {
    return this.inflight.size;
  }

  /** Runs `fn` unless a call for `key` is already in flight, whose promise is returned instead. */
  run(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing) return existing;
    const p = (async () => {
      try {
        return await fn();
      } finally {
        this.inflight.delete(key);
      }
    })();
    this.inflight.set(key, p);
    return p;
  }
}

/** A bounded, time-limited set of keys known to be absent upstream (404/410). */
export class NegativeCache {
  private readonly until = new Map<string, number>();

  constructor(private readonly maxKeys = 10_000) {}

  has(key: string, now: number): boolean {
    const t = this.until.get(key);
    if (t === undefined) return false;
    if (t > now) return true;
    this.until.delete(key);
    return false;
  }

  add(key: string, until: number): void {
    this.until.delete(key);
    this.until.set(key, until);
    if (this.until.size > this.maxKeys) {
      const oldest = this.until.keys().next().value;
      if (oldest !== undefined) this.until.delete(oldest);
    }
  }

  delete(key: string): void {
    this.until.delete(key);
  }
}
