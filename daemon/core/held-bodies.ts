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
