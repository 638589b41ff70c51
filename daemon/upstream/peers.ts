/**
 * LAN peers as a PeerSource: a HEAD to every healthy peer at once within a
 * short budget, the first positive answer wins, then a GET from that peer.
 * A peer that refuses the token, cannot be reached, or sent bytes that did
 * not verify is dropped for a while and counted by reason.
 */
import type { PeerOffer, PeerSource, UpstreamClient, UpstreamResponse } from '../core/ports.js';
import type { ExpectedDigest } from '../core/types.js';

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
  /** A transfer that sends nothing for this long (ms), or under minBytesPerSec past it, is given up. */
  stallMs?: number;
  minBytesPerSec?: number;
  now?(): number;
  onServed?(peer: string, bytes: number, whole: boolean): void;
  onFailure?(peer: string, reason: PeerFailure): void;
  onResumed?(how: 'range' | 'restart'): void;
}

export class LanPeers implements PeerSource {
  /** Peer → time until which it is not asked. */
  private readonly dropped = new Map<string, number>();
  /** Peer → what it did (kept while it is listed; a few hundred peers at most). */
  private readonly stats = new Map<string, PeerTally>();
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
    return list.map((p) => p.replace(/\/+$/, ''));
  }

  private stat(peer: string): PeerTally {
    let s = this.stats.get(peer);
    if (!s) {
      s = { hits: 0, bytes: 0, failures: 0 };
      this.stats.set(peer, s);
    }
    return s;
  }

  async offer(digest: ExpectedDigest, maxBytes: number, signal: AbortSignal): Promise<PeerOffer | undefined> {
    const peers = this.healthy();
    if (peers.length === 0 || signal.aborted) return undefined;
    const path = `/_/peer/v1/blobs/${digest.algo}/${digest.hex}`;
    const peer = await this.firstHolder(peers, path, maxBytes, signal);
    if (!peer) return undefined;
    let res: UpstreamResponse;
    try {
      res = await this.o.client.request({
        url: peer + path,
        headers: this.auth(),
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

  /** HEADs every peer at once; the first that holds the blob (within maxBytes), or undefined once all answered or the budget ran out. */
  private firstHolder(peers: string[], path: string, maxBytes: number, signal: AbortSignal): Promise<string | undefined> {
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    signal.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(stop, this.budgetMs);
    let pending = peers.length;
    return new Promise<string | undefined>((resolve) => {
      const settle = (winner: string | undefined): void => {
        if (winner === undefined && --pending > 0) return;
        clearTimeout(timer);
        signal.removeEventListener('abort', stop);
        resolve(winner);
        // The other HEADs are not needed any more (nothing is counted against their peers).
        if (winner !== undefined) ac.abort();
      };
      for (const peer of peers) {
        this.o.client.request({ url: peer + path, method: 'HEAD', headers: this.auth(), signal: ac.signal, timeoutMs: this.budgetMs }).then(
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

  private auth(): Record<string, string> {
    return { authorization: `Bearer ${this.o.token}` };
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }
}
