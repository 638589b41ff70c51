/**
 * LAN peers as a PeerSource: a HEAD to up to `maxAsked` healthy peers at once
 * (those that filled misses first) within a short budget, the first positive
 * answer wins, then a GET from that peer. A peer that refuses the token,
 * cannot be reached, stays silent past the budget round after round, or sent
 * bytes that did not verify is dropped for a while and counted by reason.
 */
import type { PeerOffer, PeerResumeHow, PeerSource, UpstreamClient, UpstreamResponse } from '../core/ports.js';
import type { ExpectedDigest } from '../core/types.js';
import { peerKey, signPeerRequest } from '../peers/request-signature.js';
import { PeerBook, type PeerBookOptions, type PeerFailure, type PeerHealth } from './peer-book.js';

export type { PeerFailure, PeerHealth } from './peer-book.js';

export interface LanPeersOptions extends PeerBookOptions {
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
  onResumed?(how: PeerResumeHow): void;
  onFellBack?(e: PeerFallback): void;
  /** A HEAD round ended: a peer holds it, nobody does, or the budget ran out first; and how long it took (ms). */
  onAsked?(outcome: 'held' | 'none' | 'budget', ms: number): void;
}

/** A broken-off peer transfer that went on from the upstream (PeerSource.fellBack). */
export type PeerFallback = Parameters<NonNullable<PeerSource['fellBack']>>[0];

export class LanPeers implements PeerSource {
  private readonly book: PeerBook;
  private readonly budgetMs: number;
  readonly stallMs: number | undefined;
  readonly minBytesPerSec: number | undefined;

  constructor(private readonly o: LanPeersOptions) {
    this.budgetMs = o.budgetMs ?? 100;
    this.stallMs = o.stallMs;
    this.minBytesPerSec = o.minBytesPerSec;
    this.book = new PeerBook(o);
  }

  /** The peers asked now (not dropped). */
  healthy(): string[] {
    const now = this.now();
    return this.listed().filter((p) => !this.book.isDropped(p, now));
  }

  /** Every listed peer with its health, in list order. */
  health(): PeerHealth[] {
    const now = this.now();
    return this.listed().map((url) => this.book.health(url, now));
  }

  /** How many peers are remembered (listed now or lately). */
  remembered(): number {
    return this.book.remembered();
  }

  private listed(): string[] {
    const list = typeof this.o.peers === 'function' ? this.o.peers() : this.o.peers;
    return this.book.listed(
      list.map((p) => p.replace(/\/+$/, '')),
      this.now(),
    );
  }

  async offer(digest: ExpectedDigest, maxBytes: number, signal: AbortSignal): Promise<PeerOffer | undefined> {
    const peers = this.book.toAsk(this.healthy());
    if (peers.length === 0 || signal.aborted) return undefined;
    const path = `/_/peer/v1/blobs/${digest.algo}/${digest.hex}`;
    const t0 = this.now();
    const { peer, expired } = await this.firstHolder(peers, path, maxBytes, signal);
    // A round the fill's own abort (shutdown) ended says nothing about the peers.
    if (signal.aborted) return undefined;
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
    this.book.failed(peer, reason, now, now + (this.o.dropMs ?? 60_000));
    this.o.onFailure?.(peer, reason);
  }

  served(peer: string, bytes: number, whole: boolean): void {
    this.book.served(peer, bytes, whole, this.now());
    this.o.onServed?.(peer, bytes, whole);
  }

  resumed(how: PeerResumeHow): void {
    this.o.onResumed?.(how);
  }

  fellBack(e: PeerFallback): void {
    this.o.onFellBack?.(e);
  }

  /**
   * HEADs the peers at once; the first that holds the blob (within maxBytes), or undefined once all
   * answered or the budget ran out. A peer still silent when the budget ran out, with the timer on
   * time (not late behind a busy event loop), is counted; `silentRounds` such rounds running drop it.
   */
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
    let done = false;
    const outstanding = new Set(peers);
    const started = performance.now();
    const due = started + this.budgetMs;
    // The budget is for the peers' answers, not for this process's event loop: when the timer
    // fires late (a busy loop), answers that arrived meanwhile are read first (the poll phase
    // runs before setImmediate), and only then are the HEADs still out given up.
    const timer = setTimeout(() => {
      const onTime = performance.now() - due <= Math.max(20, this.budgetMs / 2);
      setImmediate(() => {
        if (done) return;
        expired = true;
        if (onTime && !signal.aborted) {
          const ended = performance.now();
          for (const peer of outstanding) if (this.book.silentRound(peer, started, ended)) this.failed(peer, 'unreachable');
        }
        stop();
      });
    }, this.budgetMs);
    let pending = peers.length;
    return new Promise((resolve) => {
      const settle = (winner: string | undefined): void => {
        if (winner === undefined && --pending > 0) return;
        done = true;
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
            outstanding.delete(peer);
            this.book.answered(peer);
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
