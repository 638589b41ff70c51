/**
 * A BlobStore in memory, for unit tests: the same contract as FsBlobStore
 * (test/conformance/blob-store.suite.ts runs both), nothing on disk.
 * Digests are checked as DataPaths checks them; a missing blob fails with
 * code ENOENT, as the file system does; `capacity` (bytes) makes
 * `freeBytes` and ENOSPC behave like a small disk.
 */
import { Readable } from 'node:stream';
import { LarderError } from '../core/errors.js';
import { byteLength, type BlobReader, type BlobStore, type TempBlob } from '../core/ports.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function checkDigest(digest: string): void {
  if (!DIGEST.test(digest)) throw new LarderError('E_BAD_REQUEST', `not a storable digest: ${JSON.stringify(digest.slice(0, 80))}`);
}

function errno(code: 'ENOENT' | 'ENOSPC', what: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}

interface Stored {
  body: Buffer;
  at: number;
}

class MemoryTemp implements TempBlob {
  private buf = Buffer.alloc(0);
  written = 0;
  private committed = false;

  constructor(
    readonly path: string,
    private readonly store: MemoryBlobStore,
  ) {}

  async write(data: Buffer | readonly Buffer[]): Promise<void> {
    const n = byteLength(data);
    this.store.take(n);
    if (this.written + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.written + n, this.buf.length * 2, 4096));
      this.buf.copy(next, 0, 0, this.written);
      this.buf = next;
    }
    for (const b of Buffer.isBuffer(data) ? [data] : data) this.written += b.copy(this.buf, this.written);
  }

  async read(into: Buffer, position: number, length: number): Promise<number> {
    if (position >= this.written) return 0;
    return this.buf.copy(into, 0, position, Math.min(this.written, position + length));
  }

  async commit(digest: string): Promise<void> {
    checkDigest(digest);
    if (!this.store.temps.delete(this.path)) throw errno('ENOENT', `temp ${this.path} is gone`);
    this.store.give(this.written); // the temp's bytes become the blob's (put takes them again)
    this.store.put(digest, Buffer.from(this.buf.subarray(0, this.written)));
    this.committed = true;
  }

  async abort(): Promise<void> {
    if (!this.committed && this.store.temps.delete(this.path)) this.store.give(this.written);
  }

  async release(): Promise<void> {}
}

export class MemoryBlobStore implements BlobStore {
  readonly temps = new Map<string, MemoryTemp>();
  private readonly blobs = new Map<string, Stored>();
  /** Quarantined blobs, kept for inspection. */
  readonly quarantined = new Map<string, Buffer>();
  private used = 0;
  private seq = 0;

  constructor(private readonly opts: { capacity?: number; now?: () => number } = {}) {}

  /** Counts `n` more bytes against the capacity (ENOSPC beyond it). */
  take(n: number): void {
    if (this.opts.capacity !== undefined && this.used + n > this.opts.capacity) throw errno('ENOSPC', 'no space left in the memory store');
    this.used += n;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }

  /** Stores a committed body (an existing blob of the same digest is replaced, as a rename does). */
  put(digest: string, body: Buffer): void {
    this.take(body.length);
    const prev = this.blobs.get(digest);
    if (prev) this.give(prev.body.length);
    this.blobs.set(digest, { body, at: this.opts.now?.() ?? Date.now() });
  }

  private get(digest: string): Buffer {
    checkDigest(digest);
    const b = this.blobs.get(digest);
    if (!b) throw errno('ENOENT', `no blob ${digest}`);
    return b.body;
  }

  async stat(digest: string): Promise<number | undefined> {
    checkDigest(digest);
    return this.blobs.get(digest)?.body.length;
  }

  createReadStream(digest: string, range?: { start: number; end: number }): Readable {
    checkDigest(digest);
    const b = this.blobs.get(digest)?.body;
    if (!b) {
      const r = new Readable({ read() {} });
      process.nextTick(() => r.destroy(errno('ENOENT', `no blob ${digest}`)));
      return r;
    }
    return Readable.from([range ? b.subarray(range.start, range.end + 1) : b], { objectMode: false });
  }

  async openReader(digest: string): Promise<BlobReader> {
    const b = this.get(digest);
    return {
      read: async (into, position, length) => (position >= b.length ? 0 : b.copy(into, 0, position, Math.min(b.length, position + length))),
      close: async () => undefined,
    };
  }

  async readAll(digest: string): Promise<Buffer> {
    return Buffer.from(this.get(digest));
  }

  async writeAll(digest: string, body: Buffer): Promise<void> {
    checkDigest(digest);
    this.put(digest, Buffer.from(body));
  }

  async createTemp(): Promise<TempBlob> {
    const t = new MemoryTemp(`memory:tmp/${++this.seq}`, this);
    this.temps.set(t.path, t);
    return t;
  }

  async delete(digest: string): Promise<void> {
    checkDigest(digest);
    const b = this.blobs.get(digest);
    if (!b) return;
    this.blobs.delete(digest);
    this.give(b.body.length);
  }

  async quarantine(digest: string): Promise<void> {
    checkDigest(digest);
    const b = this.blobs.get(digest);
    if (!b) return;
    this.blobs.delete(digest);
    this.quarantined.set(digest, b.body);
  }

  async sweepTemp(): Promise<number> {
    const n = this.temps.size;
    for (const t of [...this.temps.values()]) await t.abort();
    return n;
  }

  async *list(): AsyncIterable<string> {
    for (const d of [...this.blobs.keys()].sort()) if (this.blobs.has(d)) yield d;
  }

  /** When a blob was committed (ms); see storage/recovery.ts. */
  async modifiedAt(digest: string): Promise<number | undefined> {
    return this.blobs.get(digest)?.at;
  }

  async freeBytes(): Promise<number> {
    return this.opts.capacity === undefined ? Number.MAX_SAFE_INTEGER : this.opts.capacity - this.used;
  }
}
