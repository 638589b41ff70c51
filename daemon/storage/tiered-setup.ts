/** Builds the two-tier blob store (this disk in front of a shared S3 bucket) for the composition root. */
import { join } from 'node:path';
import type { BlobStore } from '../core/ports.js';
import { loadDaemonId } from './daemon-id.js';
import type { FsBlobStore } from './fs-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';
import type { S3Settings } from './s3-client.js';
import { countS3Errors, S3Health } from './s3-health.js';
import { TieredBlobStore } from './tiered-blob-store.js';

/**
 * The S3 tier's spool files live in `<dataDir>/s3-tmp` and its temporary
 * objects under `tmp/<daemon id>/`; the bucket is created when missing.
 */
export async function tieredStore(local: FsBlobStore, s3: S3Settings, dataDir: string): Promise<TieredBlobStore> {
  const id = await loadDaemonId(local.paths);
  const remote = new S3BlobStore(s3, { spoolDir: join(dataDir, 's3-tmp'), id });
  await remote.init();
  return new TieredBlobStore(local, remote);
}

/**
 * With the S3 tier: its health probe, started, and its failed requests
 * reported to `onError` (by operation). Undefined for a store without S3.
 */
export function s3Monitor(blobs: BlobStore, onError: (op: string) => void): S3Health | undefined {
  if (!(blobs instanceof TieredBlobStore)) return undefined;
  countS3Errors(blobs.remote.client, onError);
  const health = new S3Health(blobs.remote.client, blobs.remote.bucket);
  health.start();
  return health;
}
