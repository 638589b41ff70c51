/**
 * LAN peers as a PeerSource: a HEAD to every healthy peer at once within a
 * short budget, the first positive answer wins, then a GET from that peer.
 * A peer that refuses the token, cannot be reached, or sent bytes that did
 * not verify is dropped for a while and counted by reason.
 */
import type { PeerOffer, PeerSource, UpstreamClient, UpstreamResponse } from '../core/ports.js';
import type { ExpectedDigest } from '../core/types.js';
import { peerKey, signPeerRequest } from '../peers/request-signature.js';

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

export interface LanPeersOptions {
  /** Base URLs of the other daemons, e.g. http://10.1.0.2:7420; a function when discovery keeps the list. */
  peers: readonly string[] | (() => readonly string[]);
  token: string;
  client: UpstreamClient;
  /** Time the HEADs may take altogether when nobody has the blob (ms). */
  budgetMs?: number;
  /** Idle timeout of a peer's GET (ms): a peer that stalls costs at most this. */
  transferTimeoutMs?: number;
  /** How long a failed peer is left out (ms). */
  dropMs?: number;
  /** A peer no longer listed for this long is forgotten, its tally with it (ms; default 1 h). */
  forgetMs?: number;
  /** At most this many peers are remembered; past it, those listed longest ago are forgotten (default 1024). */
  maxRemembered?: number;
  /** A transfer that sends nothing for this long (ms), or under minBytesPerSec past it, is given up. */
  stallMs?: number;
  minBytesPerSec?: number;
  now?(): number;
  onServed?(peer: string, bytes: number, whole: boolean): void;
  onFailure?(peer: string, reason: PeerFailure): void;
  onResumed?(how: 'range' | 'restart'): void;
  onFellBack?(e: PeerFallback): void;
  /** A HEAD round ended: a peer holds it, nobody does, or the budget ran out first; and how long it took (ms). */
  onAsked?(outcome: 'held' | 'none' | 'budget', ms: number): void;
}

/** A broken-off peer transfer that went on from the upstream (PeerSource.fellBack). */
export type PeerFallback = Parameters<NonNullable<PeerSource['fellBack']>>[0];

export class LanPeers implements PeerSource {
  /** Peer → time until which it is not asked. */
  private readonly dropped = new Map<string, number>();
  /** Peer → what it did; forgotten once it has not been listed for `forgetMs`, or past `maxRemembered`. */
  private readonly stats = new Map<string, PeerTally>();
  /** Peer → when it was last listed (what forgetting goes by). */
  private readonly seen = new Map<string, number>();
  private lastPrune = 0;
  private readonly budgetMs: number;
  readonly stallMs: number | undefined;
  readonly minBytesPerSec: number | undefined;

  constructor(private readonly o: LanPeersOptions) {
    this.budgetMs = o.budgetMs ?? 100;
    this.stallMs = o.stallMs;
    this.minBytesPerSec = o.minBytesPerSec;
  }

  /** The peers asked now (not dropped). */
  healthy(): string[] {
    const now = this.now();
    return this.listed().filter((p) => (this.dropped.get(p) ?? 0) <= now);
  }

  /** Every listed peer with its health, in list order. */
  health(): PeerHealth[] {
    const now = this.now();
    return this.listed().map((url) => {
      const until = this.dropped.get(url) ?? 0;
      const s = this.stat(url);
      return { url, healthy: until <= now, ...(until > now ? { droppedUntil: until } : {}), ...s };
    });
  }

  private listed(): string[] {
    const list = typeof this.o.peers === 'function' ? this.o.peers() : this.o.peers;
    const urls = list.map((p) => p.replace(/\/+$/, ''));
    const now = this.now();
    for (const u of urls) this.seen.set(u, now);
    this.prune(now);
    return urls;
  }

  /** How many peers are remembered (listed now or lately). */
  remembered(): number {
    return this.seen.size;
  }

  /**
   * Forgets peers not listed for `forgetMs` (laptops that left the office),
   * at most once a second, and the longest unseen ones past `maxRemembered`
   * (a discovery flood), so the maps stay bounded on a long-running daemon.
   */
  private prune(now: number): void {
    const cap = this.o.maxRemembered ?? 1024;
    if (now - this.lastPrune < 1_000 && this.seen.size <= cap) return;
    this.lastPrune = now;
    const forgetMs = this.o.forgetMs ?? 3_600_000;
    for (const [url, at] of this.seen) if (now - at > forgetMs) this.forget(url);
    if (this.seen.size <= cap) return;
    const oldest = [...this.seen].sort((a, b) => a[1] - b[1]).slice(0, this.seen.size - cap);
    for (const [url] of oldest) this.forget(url);
  }

  private forget(url: string): void {
    this.seen.delete(url);
    this.stats.delete(url);
    this.dropped.delete(url);
  }

  private stat(peer: string): PeerTally {
    let s = this.stats.get(peer);
    if (!s) {
      s = { hits: 0, bytes: 0, failures: 0 };
      this.stats.set(peer, s);
      if (!this.seen.has(peer)) this.seen.set(peer, this.now());
    }
    return s;
  }

  async offer(digest: ExpectedDigest, maxBytes: number, signal: AbortSignal): Promise<PeerOffer | undefined> {
    const peers = this.healthy();
    if (peers.length === 0 || signal.aborted) return undefined;
    const path = `/_/peer/v1/blobs/${digest.algo}/${digest.hex}`;
    const t0 = this.now();
    const { peer, expired } = await this.firstHolder(peers, path, maxBytes, signal);
    this.o.onAsked?.(peer ? 'held' : expired ? 'budget' : 'none', this.now() - t0);
    if (!peer) return undefined;
    let res: UpstreamResponse;
    try {
      res = await this.o.client.request({
        url: peer + path,
        headers: this.auth('GET', path),
        signal,
        timeoutMs: this.o.transferTimeoutMs ?? 5_000,
      });
    } catch {
      this.failed(peer, 'unreachable');
      return undefined;
    }
    if (res.status !== 200) {
      res.body.resume();
      this.failed(peer, res.status === 401 || res.status === 403 ? 'refused' : 'transfer');
      return undefined;
    }
    return { peer, res };
  }

  failed(peer: string, reason: PeerFailure): void {
    const now = this.now();
    this.dropped.set(peer, now + (this.o.dropMs ?? 60_000));
    const s = this.stat(peer);
    s.failures++;
    s.lastFailure = { reason, at: now };
    this.o.onFailure?.(peer, reason);
  }

  served(peer: string, bytes: number, whole: boolean): void {
    const s = this.stat(peer);
    if (whole) s.hits++;
    s.bytes += bytes;
    this.o.onServed?.(peer, bytes, whole);
  }

  resumed(how: 'range' | 'restart'): void {
    this.o.onResumed?.(how);
  }

  fellBack(e: PeerFallback): void {
    this.o.onFellBack?.(e);
  }

  /** HEADs every peer at once; the first that holds the blob (within maxBytes), or undefined once all answered or the budget ran out. */
  private firstHolder(
    peers: string[],
    path: string,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<{ peer: string | undefined; expired: boolean }> {
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    signal.addEventListener('abort', stop, { once: true });
    let expired = false;
    // The budget is for the peers' answers, not for this process's event loop: when the timer
    // fires late (a busy loop), answers that arrived meanwhile are read first (the poll phase
    // runs before setImmediate), and only then are the HEADs still out given up.
    const timer = setTimeout(() => {
      setImmediate(() => {
        expired = true;
        stop();
      });
    }, this.budgetMs);
    let pending = peers.length;
    return new Promise((resolve) => {
      const settle = (winner: string | undefined): void => {
        if (winner === undefined && --pending > 0) return;
        clearTimeout(timer);
        signal.removeEventListener('abort', stop);
        resolve({ peer: winner, expired });
        // The other HEADs are not needed any more (nothing is counted against their peers).
        if (winner !== undefined) ac.abort();
      };
      for (const peer of peers) {
        // The round's own timer gives up on the HEADs; the client's timeout is only a backstop past it.
        const timeoutMs = this.budgetMs + 1_000;
        this.o.client.request({ url: peer + path, method: 'HEAD', headers: this.auth('HEAD', path), signal: ac.signal, timeoutMs }).then(
          (res) => {
            res.body.resume();
            const length = Number(res.headers['content-length']);
            if (res.status === 401 || res.status === 403) this.failed(peer, 'refused');
            settle(res.status === 200 && !(length > maxBytes) && !ac.signal.aborted ? peer : undefined);
          },
          () => {
            // Past the budget a peer is only slow; an error before it means it is gone.
            if (!ac.signal.aborted) this.failed(peer, 'unreachable');
            settle(undefined);
          },
        );
      }
    });
  }

  /** A signature good for this one request (the token itself is never sent to a peer). */
  private auth(method: 'GET' | 'HEAD', path: string): Record<string, string> {
    this.key ??= peerKey(this.o.token);
    return { authorization: signPeerRequest(this.key, method, path) };
  }
  private key: Buffer | undefined;

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }
}
