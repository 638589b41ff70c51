/**
 * LAN peers as a PeerSource: a HEAD to every healthy peer at once within a
 * short budget, the first positive answer wins, then a GET from that peer.
 * A peer that refuses the token, cannot be reached, or sent bytes that did
 * not verify is dropped for a while and counted by reason.
 */
import type { PeerOffer, PeerSource, UpstreamClient, UpstreamResponse } from '../core/ports.js';
import type { ExpectedDigest } from '../core/types.js';

export type PeerFailure = 'integrity' | 'transfer' | 'refused' | 'unreachable';

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
  now?(): number;
  onServed?(peer: string, bytes: number): void;
  onFailure?(peer: string, reason: PeerFailure): void;
}

export class LanPeers implements PeerSource {
  /** Peer → time until which it is not asked. */
  private readonly dropped = new Map<string, number>();
  private readonly budgetMs: number;

  constructor(private readonly o: LanPeersOptions) {
    this.budgetMs = o.budgetMs ?? 100;
  }

  /** The peers asked now (not dropped). */
  healthy(): string[] {
    const now = this.now();
    const list = typeof this.o.peers === 'function' ? this.o.peers() : this.o.peers;
    return list.map((p) => p.replace(/\/+$/, '')).filter((p) => (this.dropped.get(p) ?? 0) <= now);
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
    this.dropped.set(peer, this.now() + (this.o.dropMs ?? 60_000));
    this.o.onFailure?.(peer, reason);
  }

  served(peer: string, bytes: number): void {
    this.o.onServed?.(peer, bytes);
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
