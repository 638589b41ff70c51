/**
 * Scrub: re-hashes every blob at a bounded rate. A blob that no longer
 * matches its digest is quarantined at once (never served again), the
 * entries that need it are dropped, and `repair` is asked to fetch it again
 * when it was pinned or recently used.
 */
import { createHash } from 'node:crypto';
import { referencesByDigest } from './eviction.js';
import type { BlobStore, HotCache, IndexStore } from './ports.js';
import type { Entry } from './types.js';

/** Progress of the scrub (same shape as the admin API's ScrubStatus). */
export interface ScrubStatus {
  running: boolean;
  lastRunAt?: number;
  lastFinishedAt?: number;
  checked: number;
  corrupt: number;
  repaired: number;
  bytesPerSecond: number;
}

export interface ScrubDeps {
  blobs: BlobStore;
  index: IndexStore;
  hot: HotCache;
  /** Bytes per second at most. */
  bytesPerSecond: number;
  protectedKeys(): Set<string>;
  /** Re-fetches an entry from upstream; resolves true when repaired. */
  repair(entry: Entry): Promise<boolean>;
  onCorrupt?(digest: string, keys: string[]): void | Promise<void>;
  /** Entries used within this many ms are repaired too. */
  recentMs?: number;
}

export class Scrubber {
  readonly status: ScrubStatus;
  private running: Promise<ScrubStatus> | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly deps: ScrubDeps) {
    this.status = { running: false, checked: 0, corrupt: 0, repaired: 0, bytesPerSecond: deps.bytesPerSecond };
  }

  /** Runs one full pass (or joins the one running). */
  run(signal?: AbortSignal): Promise<ScrubStatus> {
    const stop = signal ? AbortSignal.any([signal, this.stopping.signal]) : this.stopping.signal;
    this.running ??= this.pass(stop).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops the pass in progress and waits for it (shutdown). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running?.catch(() => undefined);
  }

  private async hash(digest: string, signal?: AbortSignal): Promise<string> {
    const h = createHash('sha256');
    const started = Date.now();
    let bytes = 0;
    for await (const chunk of this.deps.blobs.createReadStream(digest)) {
      if (signal?.aborted) throw new Error('scrub aborted');
      h.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      const ahead = bytes / this.deps.bytesPerSecond - (Date.now() - started) / 1000;
      if (ahead > 0.01) await new Promise((r) => setTimeout(r, ahead * 1000));
    }
    return `sha256:${h.digest('hex')}`;
  }

  private async pass(signal?: AbortSignal): Promise<ScrubStatus> {
    const { index, blobs, hot } = this.deps;
    Object.assign(this.status, { running: true, lastRunAt: Date.now(), checked: 0, corrupt: 0, repaired: 0 });
    try {
      for (const [digest, meta] of [...index.blobs()]) {
        if (signal?.aborted) break;
        let actual: string;
        try {
          actual = await this.hash(digest, signal);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          actual = 'missing';
        }
        this.status.checked++;
        if (actual === digest) continue;
        this.status.corrupt++;
        const keys = referencesByDigest(index).get(digest) ?? [];
        const entries = keys.map((k) => index.getEntry(k)).filter((e): e is Entry => e !== undefined);
        await blobs.quarantine(digest);
        hot.delete(digest);
        for (const k of keys) await index.deleteEntry(k);
        await index.deleteBlob(digest);
        await this.deps.onCorrupt?.(digest, keys);
        const pinned = this.deps.protectedKeys();
        const recent = Date.now() - (this.deps.recentMs ?? 7 * 86_400_000);
        for (const e of entries) {
          if (!pinned.has(e.key) && meta.lastAccess < recent) continue;
          if (await this.deps.repair(e).catch(() => false)) this.status.repaired++;
        }
      }
    } finally {
      this.status.running = false;
      this.status.lastFinishedAt = Date.now();
    }
    return { ...this.status };
  }
}
