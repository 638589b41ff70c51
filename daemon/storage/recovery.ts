/**
 * Start-up reconciliation: sweep temp files, drop index entries whose blobs
 * are gone, drop blob rows without files, and delete blob files no entry
 * references. After a `kill -9` at any moment this restores the invariant
 * "an indexed entry points at a complete, verified blob".
 */
import type { BlobStore, IndexStore } from '../core/ports.js';

export interface RecoveryReport {
  tempSwept: number;
  entriesDropped: number;
  blobRowsDropped: number;
  strayBlobsDeleted: number;
}

export async function reconcile(blobs: BlobStore, index: IndexStore): Promise<RecoveryReport> {
  const report: RecoveryReport = { tempSwept: 0, entriesDropped: 0, blobRowsDropped: 0, strayBlobsDeleted: 0 };
  report.tempSwept = await blobs.sweepTemp();
  const onDisk = new Set<string>();
  for await (const d of blobs.list()) onDisk.add(d);
  const referenced = new Set<string>();
  for (const entry of [...index.entries()]) {
    const needed = [entry.digest, ...Object.values(entry.variants ?? {}).map((v) => v.digest)];
    if (needed.every((d) => onDisk.has(d))) {
      for (const d of needed) referenced.add(d);
    } else {
      await index.deleteEntry(entry.key);
      report.entriesDropped++;
    }
  }
  for (const [digest] of [...index.blobs()]) {
    if (!onDisk.has(digest) || !referenced.has(digest)) {
      await index.deleteBlob(digest);
      report.blobRowsDropped++;
    }
  }
  for (const d of onDisk) {
    if (!referenced.has(d)) {
      await blobs.delete(d);
      report.strayBlobsDeleted++;
    }
  }
  return report;
}
