/**
 * What one daemon knows of its LAN peers, kept bounded: which are left out
 * (dropped) and until when, what each did (hits, bytes, failures), when each
 * was last listed, and how many HEAD rounds running each stayed silent.
 * Listed peers are never forgotten; a drop stays until it expires, even for
 * a forgotten peer, so a peer cannot shed its drop by leaving the list.
 */

export type PeerFailure = 'integrity' | 'transfer' | 'slow' | 'refused' | 'unreachable';

/** What is known of one peer (admin API). */
export interface PeerHealth {
  url: string;
  /** Asked now; false while it is dropped after a failure. */
  healthy: boolean;
  /** Until when it is left out (epoch ms), when dropped. */
  droppedUntil?: number;
  lastFailure?: { reason: PeerFailure; at: number };
  /** Misses it filled whole (verified), and the verified bytes it sent. */
  hits: number;
  bytes: number;
  failures: number;
}

/** What one peer did since this daemon started. */
type PeerTally = Pick<PeerHealth, 'hits' | 'bytes' | 'failures' | 'lastFailure'>;

export interface PeerBookOptions {
  /** A peer no longer listed for this long is forgotten, its tally with it (ms; default 1 h). */
  forgetMs?: number;
  /** At most this many peers are remembered; past it, unlisted ones listed longest ago are forgotten (default 1024). */
  maxRemembered?: number;
  /** At most this many peers are asked per HEAD round, those with the most hits first (default 8). */
  maxAsked?: number;
  /** A peer silent past a timely budget this many rounds running is dropped as unreachable (default 3). */
  silentRounds?: number;
}

export class PeerBook {
  /** Peer → time until which it is not asked; cleared only once expired. */
  private readonly dropped = new Map<string, number>();
  /** Peer → what it did; forgotten once it has not been listed for `forgetMs`, or past `maxRemembered`. */
  private readonly stats = new Map<string, PeerTally>();
  /** Peer → when it was last listed (what forgetting goes by). */
  private readonly seen = new Map<string, number>();
  /** Peer → HEAD rounds running in which it was still silent when the budget ran out on time, and when the last ended. */
  private readonly silent = new Map<string, { n: number; endedAt: number }>();
  private lastPrune = 0;
  /** Rotates which of equally good peers are asked first when more than `maxAsked` are healthy. */
  private round = 0;

  constructor(private readonly o: PeerBookOptions) {}

  /** Notes the peers listed now (in list order, returned as given). */
  listed(urls: string[], now: number): string[] {
    for (const u of urls) this.seen.set(u, now);
    this.prune(now, new Set(urls));
    return urls;
  }

  isDropped(peer: string, now: number): boolean {
    return (this.dropped.get(peer) ?? 0) > now;
  }

  health(url: string, now: number): PeerHealth {
    const until = this.dropped.get(url) ?? 0;
    return { url, healthy: until <= now, ...(until > now ? { droppedUntil: until } : {}), ...this.stat(url, now) };
  }

  /** How many peers are remembered (listed now or lately). */
  remembered(): number {
    return this.seen.size;
  }

  /** The peers asked in one round: at most `maxAsked`, those that filled most misses first, rotating among equals. */
  toAsk(healthy: string[]): string[] {
    const max = this.o.maxAsked ?? 8;
    if (healthy.length <= max) return healthy;
    const start = this.round++ % healthy.length;
    const rotated = [...healthy.slice(start), ...healthy.slice(0, start)];
    const hits = (p: string): number => this.stats.get(p)?.hits ?? 0;
    return rotated.sort((a, b) => hits(b) - hits(a)).slice(0, max);
  }

  failed(peer: string, reason: PeerFailure, now: number, until: number): void {
    this.silent.delete(peer);
    this.dropped.set(peer, until);
    const s = this.stat(peer, now);
    s.failures++;
    s.lastFailure = { reason, at: now };
  }

  served(peer: string, bytes: number, whole: boolean, now: number): void {
    const s = this.stat(peer, now);
    if (whole) s.hits++;
    s.bytes += bytes;
  }

  /** The peer answered a HEAD: its silent rounds start over. */
  answered(peer: string): void {
    this.silent.delete(peer);
  }

  /**
   * A round (from `startedAt` to `endedAt`, monotonic ms) in which `peer` said nothing within a
   * timely budget; true once it is to be dropped. Rounds that overlap the last one counted (misses
   * asked at once, as `npm ci` does) count once: one busy moment of the peer is not three rounds.
   */
  silentRound(peer: string, startedAt: number, endedAt: number): boolean {
    const last = this.silent.get(peer);
    if (last && startedAt < last.endedAt) return false;
    const n = (last?.n ?? 0) + 1;
    if (n >= (this.o.silentRounds ?? 3)) return true;
    this.silent.set(peer, { n, endedAt });
    return false;
  }

  /**
   * Forgets peers not listed for `forgetMs` (laptops that left the office),
   * at most once a second, and past `maxRemembered` (a discovery flood) the
   * unlisted ones listed longest ago, so the maps stay bounded on a
   * long-running daemon. Expired drops are cleared here too.
   */
  private prune(now: number, listed: ReadonlySet<string>): void {
    const cap = this.o.maxRemembered ?? 1024;
    const over = this.seen.size > cap && this.seen.size > listed.size;
    if (now - this.lastPrune < 1_000 && !over) return;
    this.lastPrune = now;
    const forgetMs = this.o.forgetMs ?? 3_600_000;
    for (const [url, at] of this.seen) if (now - at > forgetMs) this.forget(url);
    for (const [url, until] of this.dropped) if (until <= now) this.dropped.delete(url);
    if (this.seen.size <= cap) return;
    const unlisted = [...this.seen].filter(([url]) => !listed.has(url));
    const oldest = unlisted.sort((a, b) => a[1] - b[1]).slice(0, this.seen.size - cap);
    for (const [url] of oldest) this.forget(url);
  }

  private forget(url: string): void {
    this.seen.delete(url);
    this.stats.delete(url);
    this.silent.delete(url);
  }

  private stat(peer: string, now: number): PeerTally {
    let s = this.stats.get(peer);
    if (!s) {
      s = { hits: 0, bytes: 0, failures: 0 };
      this.stats.set(peer, s);
      if (!this.seen.has(peer)) this.seen.set(peer, now);
    }
    return s;
  }
}
