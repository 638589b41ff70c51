/**
 * One client's view of a streaming fill: the bytes [start, end] of a body
 * that is still arriving, released up to what the fill calls safe (all but
 * the last HOLDBACK bytes until the body verified).
 *
 * Read as any Readable, bytes still in memory are pushed as they are and
 * bytes already gone to the temp file are read back into fresh buffers.
 * Sent with `sendTo` (the HTTP layer does), bytes from the temp file go
 * through the pool of reused buffers of blob-stream.ts instead: a client
 * slower than the upstream reads most of a large layer back from the file,
 * and a fresh buffer per chunk is memory outside V8's heap that only a full
 * collection frees.
 */
import { Readable, type Writable } from 'node:stream';
import type { LarderError } from '../errors.js';
import { drained, pooledChunk, writePooled } from './blob-stream.js';

const READ_CHUNK = 256 * 1024;

/** What a reader needs of the fill it follows. */
export interface GrowingBody {
  readonly state: 'running' | 'verified' | 'failed';
  readonly error: LarderError | undefined;
  /** Bytes readers may have now. */
  readonly safe: number;
  /** Bytes received in all. */
  readonly received: number;
  /** Up to `len` bytes at `pos` still in memory, else undefined. */
  held(pos: number, len: number): Buffer | undefined;
  /** Reads bytes the temp file already holds. */
  readFile(into: Buffer, pos: number, len: number): Promise<number>;
  on(event: 'progress', fn: () => void): unknown;
  off(event: 'progress', fn: () => void): unknown;
  /** The reader is done (ended or destroyed); called once. */
  readerGone(): void;
}

type Step = { kind: 'bytes'; stop: number } | { kind: 'end' } | { kind: 'wait' } | { kind: 'failed'; error: LarderError | undefined };

export class FillReadStream extends Readable {
  private pos: number;
  private waiting = false;
  private busy = false;
  private taken = false;
  private gone = false;
  private readonly onProgress = (): void => {
    if (this.waiting) {
      this.waiting = false;
      this.wake?.();
      if (!this.taken) void this.pump();
    }
  };
  private wake: (() => void) | undefined;

  constructor(
    private readonly fill: GrowingBody,
    start: number,
    private readonly end: number | undefined,
  ) {
    super({ highWaterMark: READ_CHUNK });
    this.pos = start;
    fill.on('progress', this.onProgress);
  }

  /** What can be done at `pos` now. */
  private step(): Step {
    const { fill, end } = this;
    if (fill.state === 'failed') return { kind: 'failed', error: fill.error };
    // A range's last byte waits for verification too: a short range must not end cleanly before the body verified.
    const stop = end === undefined ? fill.safe : Math.min(fill.safe, fill.state === 'verified' ? end + 1 : end);
    if (this.pos < stop) return { kind: 'bytes', stop };
    const complete = fill.state === 'verified' && (end === undefined ? this.pos >= fill.received : this.pos > end);
    return complete ? { kind: 'end' } : { kind: 'wait' };
  }

  override _read(): void {
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy || this.destroyed) return;
    this.busy = true;
    try {
      for (;;) {
        const s = this.step();
        if (s.kind === 'failed') return void this.destroy(s.error);
        if (s.kind === 'end') {
          this.push(null);
          this.finish();
          return;
        }
        if (s.kind === 'wait') {
          this.waiting = true;
          return;
        }
        const len = Math.min(s.stop - this.pos, READ_CHUNK);
        let chunk = this.fill.held(this.pos, len);
        if (!chunk) {
          const buf = Buffer.allocUnsafe(len);
          const n = await this.fill.readFile(buf, this.pos, len);
          if (this.destroyed) return;
          chunk = n === len ? buf : buf.subarray(0, n);
        }
        this.pos += chunk.length;
        if (!this.push(chunk)) return;
      }
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Writes the bytes to `dest` as they become safe and ends it; resolves
   * with the bytes handed over, rejects when the fill failed or `dest` went
   * away (the caller destroys `dest`). The stream is used up either way.
   */
  async sendTo(dest: Writable): Promise<number> {
    if (this.taken || this.readableFlowing !== null) throw new Error('a fill stream is read once');
    this.taken = true;
    let sent = 0;
    try {
      for (;;) {
        if (dest.destroyed) throw new Error('the client went away');
        const s = this.step();
        if (s.kind === 'failed') throw s.error ?? new Error('the fill failed');
        if (s.kind === 'end') break;
        if (s.kind === 'wait') {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            this.waiting = true;
            dest.once('close', resolve);
          });
          dest.off('close', this.wake!);
          this.wake = undefined;
          continue;
        }
        let more: boolean;
        const held = this.fill.held(this.pos, s.stop - this.pos);
        if (held) {
          more = dest.write(held);
          this.pos += held.length;
          sent += held.length;
        } else {
          const buf = pooledChunk();
          const n = await this.fill.readFile(buf, this.pos, Math.min(buf.length, s.stop - this.pos));
          if (n <= 0) throw new Error(`the temp file ended at ${this.pos}`);
          this.pos += n;
          sent += n;
          more = writePooled(dest, buf, n);
        }
        if (!more) await drained(dest);
      }
      dest.end();
      return sent;
    } finally {
      this.destroy();
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.finish();
    cb(err);
  }

  private finish(): void {
    if (this.gone) return;
    this.gone = true;
    this.fill.off('progress', this.onProgress);
    this.fill.readerGone();
  }
}
