/**
 * The metadata index in LMDB: `entries` (request key → Entry) and `blobs`
 * (digest → BlobMeta), written together in one transaction so a crash
 * never leaves an entry without its blob row.
 *
 * LMDB must never meet a full disk (lmdb-js can abort the process after a
 * failed commit): every write first asks `beforeWrite`, which refuses with
 * E_STORAGE_FULL while the disk is below the index reserve.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { IndexStore, KvTable, TableStore } from '../core/ports.js';
import { LarderError } from '../core/errors.js';
import type { BlobMeta, Entry } from '../core/types.js';

export interface LmdbIndexOptions {
  mapSize?: number;
  /** Called before every write; throws (E_STORAGE_FULL) to refuse it. */
  beforeWrite?(kind: 'put' | 'delete'): Promise<void>;
}

const noop = (): void => undefined;

export class LmdbIndex implements IndexStore, TableStore {
  private readonly root: RootDatabase;
  private readonly entriesDb: Database<Entry, string>;
  private readonly blobsDb: Database<BlobMeta, string>;
  private closed = false;

  constructor(
    path: string,
    private readonly opts: LmdbIndexOptions = {},
  ) {
    this.root = open({ path, compression: false, mapSize: opts.mapSize ?? 2 * 1024 ** 3 });
    this.entriesDb = this.root.openDB<Entry, string>({ name: 'entries', cache: { validated: true } });
    this.blobsDb = this.root.openDB<BlobMeta, string>({ name: 'blobs' });
  }

  /** Runs one write after the space check; a failed commit's side promises are handled here. */
  private async write(kind: 'put' | 'delete', fn: () => Promise<unknown>): Promise<void> {
    // A late write (a task finishing during shutdown) must not reach a closed environment.
    if (this.closed) throw new LarderError('E_SHUTTING_DOWN', 'the index is closed');
    await this.opts.beforeWrite?.(kind);
    if (this.closed) throw new LarderError('E_SHUTTING_DOWN', 'the index is closed');
    try {
      await fn();
    } catch (err) {
      (err as { commitError?: Promise<unknown> }).commitError?.catch(noop);
      this.root.committed.then(noop, noop);
      throw err;
    }
  }

  getEntry(key: string): Entry | undefined {
    return this.entriesDb.get(key);
  }

  async putEntry(entry: Entry, blobs: Array<[string, BlobMeta]>): Promise<void> {
    await this.write('put', () =>
      this.root.transaction(() => {
        for (const [digest, meta] of blobs) {
          const prev = this.blobsDb.get(digest);
          void this.blobsDb.put(digest, prev ? { ...meta, createdAt: prev.createdAt } : meta);
        }
        void this.entriesDb.put(entry.key, entry);
      }),
    );
  }

  async deleteEntry(key: string): Promise<void> {
    await this.write('delete', () => this.entriesDb.remove(key));
  }

  getBlob(digest: string): BlobMeta | undefined {
    return this.blobsDb.get(digest);
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.write('delete', () => this.blobsDb.remove(digest));
  }

  async touchBlobs(touches: Map<string, number>): Promise<void> {
    await this.write('put', () =>
      this.root.transaction(() => {
        for (const [digest, at] of touches) {
          const prev = this.blobsDb.get(digest);
          if (prev && prev.lastAccess < at) void this.blobsDb.put(digest, { ...prev, lastAccess: at });
        }
      }),
    );
  }

  *entries(prefix?: string): Iterable<Entry> {
    const range = prefix ? { start: prefix, end: `${prefix}\uffff` } : {};
    for (const { value } of this.entriesDb.getRange(range)) yield value;
  }

  *blobs(): Iterable<[string, BlobMeta]> {
    for (const { key, value } of this.blobsDb.getRange({})) yield [key, value];
  }

  table<T>(name: string): KvTable<T> {
    if (name === 'entries' || name === 'blobs') throw new TypeError(`expected a table name other than ${name}`);
    const db = this.root.openDB<T, string>({ name });
    return {
      get: (key) => db.get(key),
      put: (key, value) => this.write('put', () => db.put(key, value)),
      remove: (key) => this.write('delete', () => db.remove(key)),
      range: (opts = {}) => {
        const it = db.getRange({ start: opts.start, end: opts.end, reverse: opts.reverse, limit: opts.limit });
        return (function* () {
          for (const { key, value } of it) yield [key, value] as [string, T];
        })();
      },
    };
  }

  /** Counts without reading values. */
  counts(): { entries: number; blobs: number } {
    return { entries: this.entriesDb.getCount(), blobs: this.blobsDb.getCount() };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.root.flushed;
    await this.root.close();
  }
}
