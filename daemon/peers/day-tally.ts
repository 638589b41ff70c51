/**
 * Today's immutable-blob misses and how many of them LAN peers filled whole
 * (the tray's "41 % of today's misses served by peers"). Counts start again
 * at local midnight; nothing is persisted (a restart starts the day at 0).
 */
import type { PeersToday } from '../admin/contract.js';

export class PeerDayTally {
  private day: string;
  private misses = 0;
  private fromPeers = 0;

  constructor(private readonly now: () => number = Date.now) {
    this.day = this.dayOf(now());
  }

  /** An immutable blob was filled (from the upstream or peers). */
  miss(): void {
    this.roll();
    this.misses++;
  }

  /** A fill came whole from a peer (counted as a miss too, by `miss`). */
  peer(): void {
    this.roll();
    this.fromPeers++;
  }

  today(): PeersToday {
    this.roll();
    return { misses: this.misses, fromPeers: Math.min(this.fromPeers, this.misses) };
  }

  private roll(): void {
    const day = this.dayOf(this.now());
    if (day === this.day) return;
    this.day = day;
    this.misses = 0;
    this.fromPeers = 0;
  }

  private dayOf(t: number): string {
    return new Date(t).toDateString();
  }
}
