/**
 * The metadata index in LMDB: `entries` (request key → Entry) and `blobs`
 * (digest → BlobMeta), written together in one transaction so a crash
 * never leaves an entry without its blob row. `totals` keeps the running
 * sum of the blob rows (bytes and count), updated in the transaction that
 * adds or removes a row, so usage is known without walking the rows.
 *
 * LMDB must never meet a full disk (lmdb-js can abort the process after a
 * failed commit): every write first asks `beforeWrite`, which refuses with
 * E_STORAGE_FULL while the disk is below the index reserve.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { IndexStore, IndexUsage, KvTable, TableStore } from '../core/ports.js';
import { LarderError } from '../core/errors.js';
import type { BlobMeta, Entry } from '../core/types.js';

export interface LmdbIndexOptions {
  mapSize?: number;
  /** Called before every write; throws (E_STORAGE_FULL) to refuse it. */
  beforeWrite?(kind: 'put' | 'delete'): Promise<void>;
}

const noop = (): void => undefined;
const TOTAL = 'blobs';
const RESERVED = new Set(['entries', 'blobs', 'totals']);

export class LmdbIndex implements IndexStore, TableStore {
  private readonly root: RootDatabase;
  private readonly entriesDb: Database<Entry, string>;
  private readonly blobsDb: Database<BlobMeta, string>;
  private readonly totalsDb: Database<IndexUsage, string>;
  private readonly growth = new Set<(u: IndexUsage) => void>();
  private closed = false;

  constructor(
    path: string,
    private readonly opts: LmdbIndexOptions = {},
  ) {
    this.root = open({ path, compression: false, mapSize: opts.mapSize ?? 2 * 1024 ** 3 });
    this.entriesDb = this.root.openDB<Entry, string>({ name: 'entries', cache: { validated: true } });
    this.blobsDb = this.root.openDB<BlobMeta, string>({ name: 'blobs' });
    this.totalsDb = this.root.openDB<IndexUsage, string>({ name: 'totals' });
    if (!this.totalsDb.get(TOTAL)) this.sumOnce();
  }

  /**
   * A data directory written before `totals` existed: sums the blob rows once,
   * in one write transaction (later starts read the stored total).
   */
  private sumOnce(): void {
    this.root.transactionSync(() => {
      let bytes = 0;
      let blobs = 0;
      for (const { value } of this.blobsDb.getRange({})) {
        bytes += value.size;
        blobs++;
      }
      void this.totalsDb.put(TOTAL, { bytes, blobs });
    });
  }

  /** Adds to the stored total; only inside a write transaction. */
  private bump(bytes: number, blobs: number): void {
    if (bytes === 0 && blobs === 0) return;
    const t = this.totalsDb.get(TOTAL) ?? { bytes: 0, blobs: 0 };
    void this.totalsDb.put(TOTAL, { bytes: t.bytes + bytes, blobs: t.blobs + blobs });
  }

  /** Bytes and count of the blob rows (the stored running total: one read). */
  usage(): IndexUsage {
    const t = this.totalsDb.get(TOTAL);
    return t ? { bytes: t.bytes, blobs: t.blobs } : { bytes: 0, blobs: 0 };
  }

  /** Calls `fn` after every commit that added blob bytes, with the new usage; returns an unsubscribe. */
  onGrow(fn: (u: IndexUsage) => void): () => void {
    this.growth.add(fn);
    return () => this.growth.delete(fn);
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
    let added = 0;
    await this.write('put', () =>
      this.root.transaction(() => {
        let count = 0;
        added = 0;
        for (const [digest, meta] of blobs) {
          // Reads inside the transaction see its own writes: a digest listed twice counts once.
          const prev = this.blobsDb.get(digest);
          void this.blobsDb.put(digest, prev ? { ...meta, createdAt: prev.createdAt } : meta);
          added += meta.size - (prev?.size ?? 0);
          if (!prev) count++;
        }
        this.bump(added, count);
        void this.entriesDb.put(entry.key, entry);
      }),
    );
    if (added > 0 && this.growth.size) {
      const u = this.usage();
      for (const fn of this.growth) fn(u);
    }
  }

  async deleteEntry(key: string): Promise<void> {
    await this.write('delete', () => this.entriesDb.remove(key));
  }

  getBlob(digest: string): BlobMeta | undefined {
    return this.blobsDb.get(digest);
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.write('delete', () =>
      this.root.transaction(() => {
        const prev = this.blobsDb.get(digest);
        if (!prev) return;
        void this.blobsDb.remove(digest);
        this.bump(-prev.size, -1);
      }),
    );
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
    if (RESERVED.has(name)) throw new TypeError(`expected a table name other than ${name}`);
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

  /** Counts from the databases' own statistics (no walk over the rows). */
  counts(): { entries: number; blobs: number } {
    return { entries: entryCount(this.entriesDb), blobs: entryCount(this.blobsDb) };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.root.flushed;
    await this.root.close();
  }
}

function entryCount(db: Database<unknown, string>): number {
  const n = (db.getStats() as { entryCount?: unknown }).entryCount;
  return typeof n === 'number' ? n : db.getCount();
}
