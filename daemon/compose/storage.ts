/**
 * Part of the composition root: the store on disk. Creates the data folder,
 * the blob store (with the S3 tier in front of it when `storage.s3` is set),
 * the index and its disk-space reserve, then sweeps what a crash can leave
 * (temp files) before the daemon answers; orphan blobs are found later, in
 * the background (OrphanScan, started once listening).
 */
import { mkdir } from 'node:fs/promises';
import type { LoadedConfig } from '../config/load.js';
import { DiskSpace, FreeSpace, indexReserve } from '../storage/disk-space.js';
import { FsBlobStore } from '../storage/fs-blob-store.js';
import { LmdbIndex } from '../storage/lmdb-index.js';
import { DataPaths } from '../storage/paths.js';
import { sweepAtStart, type RecoveryReport } from '../storage/recovery.js';
import type { S3Health } from '../storage/s3-health.js';
import type { TieredBlobStore } from '../storage/tiered-blob-store.js';

export interface StorageParts {
  paths: DataPaths;
  /** This disk, or this disk in front of the S3 tier. */
  blobs: FsBlobStore | TieredBlobStore;
  index: LmdbIndex;
  /** When the sweep began: blob files older than this and unindexed are orphans. */
  startedAt: number;
  recovery: RecoveryReport;
  /** The S3 tier's health probe (undefined without the tier). */
  s3Monitor(onError: (op: string) => void): S3Health | undefined;
}

export async function openStorage(cfg: LoadedConfig): Promise<StorageParts> {
  const paths = new DataPaths(cfg.dataDir);
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  const freeSpace = new FreeSpace(cfg.dataDir);
  const local = new FsBlobStore(paths, freeSpace);
  await local.init();
  // The S3 tier (and the AWS SDK, several MiB of heap) is loaded only when it is configured.
  const s3Setup = cfg.storage.s3 ? await import('../storage/tiered-setup.js') : undefined;
  const blobs = s3Setup && cfg.storage.s3 ? await s3Setup.tieredStore(local, cfg.storage.s3, cfg.dataDir) : local;
  const space = new DiskSpace(freeSpace, indexReserve(cfg.storage.minFree));
  const index = new LmdbIndex(paths.indexDir, { beforeWrite: (kind) => space.beforeIndexWrite(kind) });
  const startedAt = Date.now();
  const recovery = await sweepAtStart(blobs);
  return { paths, blobs, index, startedAt, recovery, s3Monitor: (onError) => s3Setup?.s3Monitor(blobs, onError) };
}
