/**
 * The metadata index in LMDB: `entries` (request key → Entry) and `blobs`
 * (digest → BlobMeta), written together in one transaction so a crash
 * never leaves an entry without its blob row.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { IndexStore } from '../core/ports.js';
import type { BlobMeta, Entry } from '../core/types.js';

export class LmdbIndex implements IndexStore {
  private readonly root: RootDatabase;
  private readonly entriesDb: Database<Entry, string>;
  private readonly blobsDb: Database<BlobMeta, string>;

  constructor(path: string, opts: { mapSize?: number } = {}) {
    this.root = open({ path, compression: false, mapSize: opts.mapSize ?? 2 * 1024 ** 3 });
    this.entriesDb = this.root.openDB<Entry, string>({ name: 'entries', cache: { validated: true } });
    this.blobsDb = this.root.openDB<BlobMeta, string>({ name: 'blobs' });
  }

  getEntry(key: string): Entry | undefined {
    return this.entriesDb.get(key);
  }

  async putEntry(entry: Entry, blobs: Array<[string, BlobMeta]>): Promise<void> {
    await this.root.transaction(() => {
      for (const [digest, meta] of blobs) {
        const prev = this.blobsDb.get(digest);
        void this.blobsDb.put(digest, prev ? { ...meta, createdAt: prev.createdAt } : meta);
      }
      void this.entriesDb.put(entry.key, entry);
    });
  }

  async deleteEntry(key: string): Promise<void> {
    await this.entriesDb.remove(key);
  }

  getBlob(digest: string): BlobMeta | undefined {
    return this.blobsDb.get(digest);
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.blobsDb.remove(digest);
  }

  async touchBlobs(touches: Map<string, number>): Promise<void> {
    await this.root.transaction(() => {
      for (const [digest, at] of touches) {
        const prev = this.blobsDb.get(digest);
        if (prev && prev.lastAccess < at) void this.blobsDb.put(digest, { ...prev, lastAccess: at });
      }
    });
  }

  *entries(prefix?: string): Iterable<Entry> {
    const range = prefix ? { start: prefix, end: `${prefix}\uffff` } : {};
    for (const { value } of this.entriesDb.getRange(range)) yield value;
  }

  *blobs(): Iterable<[string, BlobMeta]> {
    for (const { key, value } of this.blobsDb.getRange({})) yield [key, value];
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}
