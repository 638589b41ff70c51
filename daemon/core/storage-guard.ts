/**
 * Disk-full handling for the caches. A full disk must never corrupt the
 * index, and a miss that cannot be stored is still answered (streamed
 * through, verified, not cached).
 *
 * - `minFree` bytes are always left free on the cache disk: a fill whose
 *   announced size would eat into them is not stored, and a fill of unknown
 *   size stops storing once it gets there (the index keeps room to commit).
 * - After the disk was found full (ENOSPC, or the reserve reached), misses
 *   skip the store for `holdMs` and go straight to pass-through.
 * - Before a miss is refused room (and before a fill of unknown size stops
 *   at the reserve), the guard asks `reclaim` to evict unpinned blobs: a
 *   disk that fills below the budget evicts first and passes misses
 *   through only when eviction cannot make the room. One reclaim runs at
 *   a time; misses arriving meanwhile wait for it and look again.
 * - Every miss that could not be stored is reported once through
 *   `events.storageFull` (logged and counted by the composition root).
 */
import { LarderError } from './errors.js';
import { byteLength, type BlobStore, type CacheEvents, type Clock, type TempBlob } from './ports.js';

export interface StorageGuardOptions {
  /** Bytes always left free on the cache disk (0: rely on ENOSPC alone). */
  minFree: number;
  /** How long misses bypass the store after the disk was found full (ms). */
  holdMs?: number;
  /**
   * Evicts to free at least `need` bytes (up to `extra` more); resolves with
   * the bytes freed (0: it could not). Without it a full disk only bypasses.
   */
  reclaim?(need: number, extra: number): Promise<number>;
}

const CHECK_EVERY = 1024 * 1024;

export function storageFullError(what: string): LarderError {
  return new LarderError('E_STORAGE_FULL', `${what}: the cache disk is full; it cannot be stored`, { expose: true });
}

export class StorageGuard {
  private fullUntil = 0;
  private readonly holdMs: number;
  private reclaiming: Promise<number> | undefined;

  constructor(
    private readonly deps: { blobs: BlobStore; clock: Clock; events: CacheEvents },
    private readonly opts: StorageGuardOptions,
  ) {
    if (!Number.isFinite(opts.minFree) || opts.minFree < 0)
      throw new TypeError(`expected opts.minFree to be a size >= 0, got ${opts.minFree}`);
    this.holdMs = opts.holdMs ?? 30_000;
  }

  /** Whether the disk was recently found full (misses go pass-through). */
  isFull(): boolean {
    return this.deps.clock.now() < this.fullUntil;
  }

  /** Enters the "storage full" state for holdMs. */
  markFull(): void {
    this.fullUntil = this.deps.clock.now() + this.holdMs;
  }

  /** Reports one miss that could not be stored. */
  report(key: string): void {
    this.deps.events.storageFull?.(key);
  }

  /** Free bytes on the cache disk now (one statfs), or undefined when the store cannot tell. */
  async free(): Promise<number | undefined> {
    return this.deps.blobs.freeBytes?.().catch(() => undefined);
  }

  /**
   * Whether `size` more bytes (unknown: 0) may be stored now. False when the
   * disk is in the full state, or when storing would go below the reserve;
   * reaching the reserve itself enters the full state.
   */
  async room(size: number | undefined): Promise<boolean> {
    if (this.isFull()) return false;
    const free = await this.freeAfterReclaim(size ?? 0);
    if (free === undefined) return true;
    if (free <= this.opts.minFree) {
      this.markFull();
      return false;
    }
    return free - (size ?? 0) > this.opts.minFree;
  }

  /**
   * Free bytes, after asking eviction for room when storing `size` more
   * would reach the reserve. A reclaim already running is waited for, and
   * then one more is asked for if that was not enough.
   */
  private async freeAfterReclaim(size: number): Promise<number | undefined> {
    let free = await this.free();
    for (let attempt = 0; attempt < 2 && this.opts.reclaim && free !== undefined; attempt++) {
      const need = this.opts.minFree + size - free + 1;
      if (need <= 0) break;
      const joined = this.reclaiming !== undefined;
      this.reclaiming ??= this.opts
        .reclaim(need, CHECK_EVERY)
        .catch(() => 0)
        .finally(() => (this.reclaiming = undefined));
      const freed = await this.reclaiming;
      if (!joined && freed === 0) break;
      free = await this.free();
    }
    return free;
  }

  /** A temp file whose writes fail with E_STORAGE_FULL before they reach the reserve. */
  guardTemp(temp: TempBlob, key: string): TempBlob {
    let nextCheck = CHECK_EVERY;
    const guard = this;
    return {
      get path() {
        return temp.path;
      },
      get written() {
        return temp.written;
      },
      async write(data) {
        const bytes = byteLength(data);
        if (temp.written + bytes >= nextCheck) {
          nextCheck = temp.written + bytes + CHECK_EVERY;
          const free = await guard.freeAfterReclaim(bytes + CHECK_EVERY);
          if (free !== undefined && free - bytes <= guard.opts.minFree) {
            guard.markFull();
            throw storageFullError(key);
          }
        }
        try {
          await temp.write(data);
        } catch (err) {
          if (isNoSpace(err)) guard.markFull();
          throw err;
        }
      },
      read: (into, position, length) => temp.read(into, position, length),
      commit: (digest) => temp.commit(digest),
      abort: () => temp.abort(),
      release: () => temp.release(),
    };
  }
}

/**
 * Whether an error means a committed blob is not there (BlobStore reads of a
 * missing digest fail with the file system's ENOENT, kept as it is).
 */
export function isBlobMissing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT';
}

/** Whether an error means the disk (or quota) is full. */
export function isNoSpace(err: unknown): boolean {
  if (err instanceof LarderError) return err.code === 'E_STORAGE_FULL';
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
