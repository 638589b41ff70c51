/**
 * A committed blob (or a range of it) as a stream, read positionally.
 *
 * Read as any Readable, each chunk is a fresh buffer. Sent with `sendTo`
 * (the HTTP layer does, for every cached body), chunks come from a small
 * shared pool and go back to it once the socket reports them written, so
 * serving multi-MB artifacts to many clients allocates nothing in the
 * steady state. (A fresh 64 KiB buffer per chunk is memory outside V8's
 * heap that only a full collection frees: 32 clients pulling a 6 MiB
 * tarball took the daemon from about 110 to over 200 MiB.)
 */
import { Readable, type Writable } from 'node:stream';
import type { BlobReader } from '../ports.js';

const CHUNK = 64 * 1024;
/** Idle buffers kept for reuse (4 MiB). */
const POOL_MAX = 64;
const pool: Buffer[] = [];

/** Bytes the pool holds now (for tests). */
export function pooledBytes(): number {
  return pool.length * CHUNK;
}

/** A CHUNK-sized buffer from the pool (or a new one); give it back with `giveBack` once the socket wrote it. */
export function pooledChunk(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
}

/** Returns a buffer of `pooledChunk` to the pool. */
export function giveBack(buf: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

/** Writes the first `n` bytes of a pooled chunk to `dest`; the chunk goes back to the pool once written. Returns `write`'s answer. */
export function writePooled(dest: Writable, buf: Buffer, n: number): boolean {
  return dest.write(n === buf.length ? buf : buf.subarray(0, n), (err) => {
    if (!err) giveBack(buf);
  });
}

/** A stream that can write itself to a socket through pooled buffers (the HTTP layer prefers that to piping). */
export interface Sendable {
  sendTo(dest: Writable): Promise<number>;
}

export function isSendable(s: unknown): s is Sendable & Readable {
  return s instanceof Readable && typeof (s as Partial<Sendable>).sendTo === 'function';
}

export class BlobReadStream extends Readable {
  private reader: Promise<BlobReader> | undefined;
  private pos: number;
  private taken = false;

  /** Bytes [start, end] (inclusive) of the blob `open` opens. */
  constructor(
    private readonly open: () => Promise<BlobReader>,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: CHUNK });
    this.pos = start;
  }

  private handle(): Promise<BlobReader> {
    this.reader ??= this.open();
    return this.reader;
  }

  override _read(size: number): void {
    void (async () => {
      try {
        if (this.pos > this.end) {
          this.push(null);
          return;
        }
        const len = Math.min(Math.max(size, CHUNK), this.end + 1 - this.pos);
        const buf = Buffer.allocUnsafe(len);
        const n = await (await this.handle()).read(buf, this.pos, len);
        if (n <= 0) throw new Error(`the blob ended at ${this.pos} of ${this.end + 1} bytes`);
        this.pos += n;
        this.push(n === len ? buf : buf.subarray(0, n));
      } catch (err) {
        this.destroy(err as Error);
      }
    })();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const reader = this.reader;
    if (!reader) {
      cb(err);
      return;
    }
    reader
      .then((r) => r.close())
      .then(
        () => cb(err),
        () => cb(err),
      );
  }

  /**
   * Writes the bytes to `dest` through reused buffers, waiting for `drain`
   * when it is full, and ends it. Resolves with the bytes handed over;
   * rejects when `dest` went away or the blob is shorter than expected (the
   * caller destroys `dest`). The stream is used up either way.
   */
  async sendTo(dest: Writable): Promise<number> {
    if (this.taken || this.readableFlowing !== null) throw new Error('a blob stream is read once');
    this.taken = true;
    let sent = 0;
    try {
      const reader = await this.handle();
      while (this.pos <= this.end) {
        if (dest.destroyed) throw new Error('the client went away');
        const buf = pooledChunk();
        const n = await reader.read(buf, this.pos, Math.min(CHUNK, this.end + 1 - this.pos));
        if (n <= 0) throw new Error(`the blob ended at ${this.pos} of ${this.end + 1} bytes`);
        this.pos += n;
        sent += n;
        const more = writePooled(dest, buf, n);
        if (!more) await drained(dest);
      }
      dest.end();
      return sent;
    } finally {
      this.destroy();
    }
  }
}

/**
 * A body held in memory (a hot-cache hit, a small fill) as a stream. Sent
 * with `sendTo` it is handed to the socket in one write: no pipeline, so no
 * abort controller, listeners or per-chunk objects per answer, which under
 * load lived long enough to be promoted and filled the old generation.
 */
export class BufferStream extends Readable {
  private taken = false;

  constructor(private readonly body: Buffer) {
    super();
  }

  override _read(): void {
    if (this.body.length > 0) this.push(this.body);
    this.push(null);
  }

  /** Writes the body to `dest` and ends it; resolves with its length, rejects when `dest` is gone. Used up either way. */
  async sendTo(dest: Writable): Promise<number> {
    if (this.taken || this.readableFlowing !== null) throw new Error('a body stream is read once');
    this.taken = true;
    try {
      if (dest.destroyed) throw new Error('the client went away');
      dest.end(this.body);
      return this.body.length;
    } finally {
      this.destroy();
    }
  }
}

/** Resolves on `drain`, or on `close` (the next iteration sees the destroyed destination). */
export function drained(dest: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      dest.off('drain', done);
      dest.off('close', done);
      resolve();
    };
    dest.on('drain', done);
    dest.on('close', done);
  });
}
