/**
 * Package records by file name, from a subdir's repodata.json, with one
 * streaming scan serving many lookups: lookups for the same document that
 * arrive while a scan runs (a client downloads packages in parallel) wait
 * for it to end and are then answered by one next scan together. Nothing
 * of the document is kept in memory beyond one scan's chunk and record.
 */
import type { Readable } from 'node:stream';
import type { CacheState } from '../../core/types.js';
import { type PackageRecord, scanRecords } from './record-scan.js';

/** A document opened for a scan, and how the cache answered it. */
export interface Opened {
  stream: Readable;
  state: CacheState;
}

/** A lookup's answer: the record (undefined when not listed) and the state of the document it was read from. */
export interface Found {
  record: PackageRecord | undefined;
  state: CacheState;
}

interface Batch {
  wanted: Map<string, Array<(r: Found) => void>>;
  failed: Array<(err: unknown) => void>;
}

export class RecordLookup {
  /** The batch still collecting names, by document. */
  private readonly open = new Map<string, Batch>();
  /** The scan running, by document. */
  private readonly running = new Map<string, Promise<void>>();

  /** The record of `file` in the document `doc` (opened by `read` when its batch runs); undefined when not listed. */
  find(doc: string, file: string, read: () => Promise<Opened>): Promise<Found> {
    return new Promise((resolve, reject) => {
      let batch = this.open.get(doc);
      if (!batch) {
        const fresh: Batch = { wanted: new Map(), failed: [] };
        batch = fresh;
        this.open.set(doc, fresh);
        const before = this.running.get(doc) ?? Promise.resolve();
        const run = before.then(() => this.run(doc, fresh, read));
        this.running.set(doc, run);
        void run.finally(() => {
          if (this.running.get(doc) === run) this.running.delete(doc);
        });
      }
      const waiting = batch.wanted.get(file) ?? [];
      waiting.push(resolve);
      batch.wanted.set(file, waiting);
      batch.failed.push(reject);
    });
  }

  private async run(doc: string, batch: Batch, read: () => Promise<Opened>): Promise<void> {
    // Lets the lookups of this tick join before the scan starts.
    await new Promise<void>((r) => setImmediate(r));
    if (this.open.get(doc) === batch) this.open.delete(doc);
    try {
      const opened = await read();
      const found = await scanRecords(opened.stream, new Set(batch.wanted.keys()));
      for (const [file, waiting] of batch.wanted) for (const w of waiting) w({ record: found.get(file), state: opened.state });
    } catch (err) {
      for (const f of batch.failed) f(err);
    }
  }
}
