/**
 * Bodies kept in memory for a short while instead of on disk: documents
 * fetched while the cache disk is full are answered from here (state
 * BYPASS) without ever being indexed. Bounded in bytes and in time.
 */
import type { Clock } from './ports.js';

export class HeldBodies {
  private readonly bodies = new Map<string, { body: Buffer; until: number }>();
  private bytes = 0;

  constructor(
    private readonly clock: Clock,
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly ttlMs = 60_000,
  ) {}

  /** Keeps every body (by digest), or none when they do not fit; returns whether they were kept. */
  hold(bodies: ReadonlyArray<readonly [string, Buffer]>): boolean {
    const now = this.clock.now();
    for (const [digest, b] of this.bodies) if (b.until <= now) this.drop(digest);
    const size = bodies.reduce((n, [, b]) => n + b.length, 0);
    if (size > this.maxBytes) return false;
    for (const [digest] of this.bodies) {
      if (this.bytes + size <= this.maxBytes) break;
      this.drop(digest);
    }
    for (const [digest, body] of bodies) {
      this.drop(digest);
      this.bodies.set(digest, { body, until: now + this.ttlMs });
      this.bytes += body.length;
    }
    return true;
  }

  get(digest: string): Buffer | undefined {
    const b = this.bodies.get(digest);
    if (!b) return undefined;
    if (b.until <= this.clock.now()) {
      this.drop(digest);
      return undefined;
    }
    return b.body;
  }

  private drop(digest: string): void {
    const b = this.bodies.get(digest);
    if (!b) return;
    this.bodies.delete(digest);
    this.bytes -= b.body.length;
  }
}

/**
 * Bodies read from disk that something still references (a response being
 * written, a parse in progress), found again by digest without holding them
 * alive: a document of tens of MB asked for by many clients at once is
 * read and kept once, not once per client. Concurrent reads of one digest
 * share one read.
 */
export class LiveBodies {
  private readonly refs = new Map<string, WeakRef<Buffer>>();
  private readonly reading = new Map<string, Promise<Buffer>>();
  private readonly collected = new FinalizationRegistry<string>((digest) => {
    if (this.refs.get(digest)?.deref() === undefined) this.refs.delete(digest);
  });

  get(digest: string): Buffer | undefined {
    return this.refs.get(digest)?.deref();
  }

  /** The live body of `digest`, or the result of `read` (one read for concurrent callers), remembered while referenced. */
  read(digest: string, read: () => Promise<Buffer>): Promise<Buffer> {
    const live = this.get(digest);
    if (live) return Promise.resolve(live);
    let pending = this.reading.get(digest);
    if (!pending) {
      pending = read().then((body) => {
        this.refs.set(digest, new WeakRef(body));
        this.collected.register(body, digest);
        return body;
      });
      const p = pending;
      void p
        .finally(() => {
          if (this.reading.get(digest) === p) this.reading.delete(digest);
        })
        .catch(() => undefined);
      this.reading.set(digest, p);
    }
    return pending;
  }
}
