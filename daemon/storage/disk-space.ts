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

export class DiskSpace {
  constructor(
    private readonly dir: string,
    private readonly reserve: number,
  ) {
    if (!Number.isSafeInteger(reserve) || reserve < 0) throw new TypeError(`expected reserve to be a byte count >= 0, got ${reserve}`);
  }

  /** LmdbIndex `beforeWrite`: throws E_STORAGE_FULL when the write could meet a full disk. */
  async beforeIndexWrite(kind: 'put' | 'delete'): Promise<void> {
    const need = kind === 'put' ? this.reserve : Math.floor(this.reserve / 4);
    const free = await freeBytes(this.dir);
    if (free < need) {
      throw new LarderError('E_STORAGE_FULL', `the cache disk is full (${free} bytes free): the index is not written until space is freed`);
    }
  }
}
