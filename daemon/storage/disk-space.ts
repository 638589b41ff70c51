/**
 * Free space on the data disk, for the index's write gate: LMDB writes are
 * refused (E_STORAGE_FULL) below a small reserve instead of meeting ENOSPC
 * inside a commit. Deletes are allowed further down, so eviction can still
 * free space on a full disk.
 */
import { statfs } from 'node:fs/promises';
import { LarderError } from '../core/errors.js';

const MIN_RESERVE = 64 * 1024;
const MAX_RESERVE = 8 * 1024 * 1024;

/** The index reserve that goes with a blob reserve of `minFree` bytes. */
export function indexReserve(minFree: number): number {
  return Math.max(MIN_RESERVE, Math.min(MAX_RESERVE, Math.floor(minFree / 2)));
}

/** Bytes available to unprivileged writers on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

export interface FreeSpaceOptions {
  /** A reading older than this is never trusted (ms). */
  maxAgeMs?: number;
  /** Below this estimate every question is a fresh statfs (bytes). */
  margin?: number;
  now?: () => number;
}

/**
 * Free bytes on the data disk without a statfs per write: a reading is
 * reused for `maxAgeMs`, minus every byte the store wrote since, as long as
 * that estimate stays above `margin`. Near a full disk every question is a
 * fresh statfs, so the reserve checks stay exact where they matter.
 */
export class FreeSpace {
  private reading: { at: number; bytes: number } | undefined;
  private consumed = 0;
  private inflight: Promise<number> | undefined;
  private readonly maxAgeMs: number;
  private readonly margin: number;
  private readonly now: () => number;

  constructor(
    private readonly dir: string,
    opts: FreeSpaceOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 1000;
    this.margin = opts.margin ?? 256 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
  }

  /** Counts bytes written to the disk since the last reading. */
  consume(bytes: number): void {
    this.consumed += bytes;
  }

  /** Free bytes now: the estimate when it is recent and far from full, else a statfs. */
  async bytes(): Promise<number> {
    const r = this.reading;
    if (r && this.now() - r.at < this.maxAgeMs) {
      const estimate = r.bytes - this.consumed;
      if (estimate > this.margin) return estimate;
    }
    // Concurrent questions share one statfs.
    this.inflight ??= this.read().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async read(): Promise<number> {
    const before = this.consumed;
    const at = this.now();
    const bytes = await freeBytes(this.dir);
    this.consumed -= before;
    this.reading = { at, bytes };
    return bytes - this.consumed;
  }
}

export class DiskSpace {
  constructor(
    private readonly space: FreeSpace,
    private readonly reserve: number,
  ) {
    if (!Number.isSafeInteger(reserve) || reserve < 0) throw new TypeError(`expected reserve to be a byte count >= 0, got ${reserve}`);
  }

  /** LmdbIndex `beforeWrite`: throws E_STORAGE_FULL when the write could meet a full disk. */
  async beforeIndexWrite(kind: 'put' | 'delete'): Promise<void> {
    const need = kind === 'put' ? this.reserve : Math.floor(this.reserve / 4);
    const free = await this.space.bytes();
    if (free < need) {
      throw new LarderError('E_STORAGE_FULL', `the cache disk is full (${free} bytes free): the index is not written until space is freed`);
    }
  }
}
