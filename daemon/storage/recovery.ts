/**
 * Start-up reconciliation, in time independent of the cache's size.
 *
 * The commit order (temp file → fsync → rename into the store → index row)
 * means a crash at any moment can leave only two kinds of debris: temp
 * files, and blob files that no index row names (renamed, not yet indexed).
 *
 * - Temp files are swept before the daemon answers (one directory).
 * - Orphan blob files are found afterwards, in the background: the store's
 *   listing is streamed, each name is checked against the index (one read),
 *   the event loop gets a turn every batch, and nothing is collected, so
 *   memory stays flat whatever the blob count. Only files older than this
 *   start are deleted: a fill of this run renames first and indexes just
 *   after, and must not lose its blob in between.
 * - An entry whose blob file is missing (damage from outside) is not looked
 *   for here: the core drops it when it is opened (reads fail with ENOENT).
 */
import { setImmediate as yieldTurn } from 'node:timers/promises';
import type { BlobStore, IndexStore } from '../core/ports.js';

export interface RecoveryReport {
  tempSwept: number;
  /** Always 0 now: start-up no longer walks the entries (see above); kept so the report keeps its shape. */
  entriesDropped: number;
  /** Always 0 now: unreferenced rows are collected by eviction's GC. */
  blobRowsDropped: number;
  /** Orphan blob files (no index row, written before this start) deleted by the background scan. */
  strayBlobsDeleted: number;
}

/** What the orphan scan needs from a store: its listing, and when a blob file was last written. */
export type OrphanSource = Pick<BlobStore, 'list' | 'delete'> & { modifiedAt(digest: string): Promise<number | undefined> };

/** The part done before the daemon answers: sweeps temp files. */
export async function sweepAtStart(blobs: Pick<BlobStore, 'sweepTemp'>): Promise<RecoveryReport> {
  return { tempSwept: await blobs.sweepTemp(), entriesDropped: 0, blobRowsDropped: 0, strayBlobsDeleted: 0 };
}

export interface OrphanScanOptions {
  /** Blob files last written before this time (ms) may be orphans; later ones belong to this run. */
  before: number;
  /** Names checked between two turns of the event loop. */
  batch?: number;
  onOrphan?(digest: string): void;
}

/** The background scan for orphan blob files; adds what it deletes to `report`. */
export class OrphanScan {
  readonly done: Promise<RecoveryReport>;
  private readonly stopping = new AbortController();
  /** Blob names looked at so far. */
  scanned = 0;

  constructor(
    private readonly blobs: OrphanSource,
    private readonly index: Pick<IndexStore, 'getBlob'>,
    readonly report: RecoveryReport,
    private readonly opts: OrphanScanOptions,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<RecoveryReport> {
    const batch = Math.max(1, this.opts.batch ?? 256);
    const signal = this.stopping.signal;
    await yieldTurn(); // the daemon's start-up first
    for await (const digest of this.blobs.list()) {
      if (signal.aborted) break;
      if (++this.scanned % batch === 0) await yieldTurn();
      if (this.index.getBlob(digest)) continue;
      const at = await this.blobs.modifiedAt(digest);
      // Looked at again just before deleting: a commit of the same digest may have indexed it meanwhile.
      if (at === undefined || at >= this.opts.before || this.index.getBlob(digest) || signal.aborted) continue;
      await this.blobs.delete(digest);
      this.report.strayBlobsDeleted++;
      this.opts.onOrphan?.(digest);
    }
    return this.report;
  }

  /** Stops the scan (at the next name) and waits for it. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.done.catch(() => undefined);
  }
}
